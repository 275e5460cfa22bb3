"""Executors by name: the built-in ones, a plug-in through the entry-point group, refusals."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nbprod.config import Settings
from nbprod.errors import BadInput
from nbprod.executors.base import RunRef
from nbprod.executors.local import ExternalExecutor, LocalExecutor, LocalRuns, OneOffWorkers
from nbprod.executors.registry import executor_names, factory, make_executor


def settings(tmp_path: Path, **values) -> Settings:
    return Settings.load(values, environ={"NBPROD_HOME": str(tmp_path / "home")})


def test_the_local_executor_for_each_use(tmp_path):
    assert isinstance(make_executor(settings(tmp_path)), LocalExecutor)
    assert make_executor(settings(tmp_path), workers=3).capacity == 3
    assert isinstance(make_executor(settings(tmp_path), workers=0), ExternalExecutor)
    refs = [RunRef("file:///s", "r1")]
    assert isinstance(make_executor(settings(tmp_path), runs=refs), OneOffWorkers)
    scoped = make_executor(settings(tmp_path), runs=refs, folder=tmp_path / "sweep", workers=2)
    assert isinstance(scoped, LocalRuns) and scoped.capacity == 2


def test_unknown_names_and_a_dask_executor_without_an_address_are_refused(tmp_path):
    with pytest.raises(BadInput, match=r"unknown executor 'ray' \(known: dask, local\)"):
        make_executor(settings(tmp_path, executor="ray"))
    pytest.importorskip("distributed")
    with pytest.raises(BadInput, match="needs the Dask scheduler's address"):
        make_executor(settings(tmp_path, executor="dask"))
    assert factory(" Dask ").__module__ == "nbprod.executors.dask"


def test_a_plug_in_registers_through_the_entry_point_group(tmp_path):
    """A package's ``[project.entry-points."nbprod.executors"]`` is found by name."""
    site = tmp_path / "site"
    (site / "nbprod_toy-1.0.dist-info").mkdir(parents=True)
    (site / "nbprod_toy-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nbprod-toy\nVersion: 1.0\n"
    )
    (site / "nbprod_toy-1.0.dist-info" / "entry_points.txt").write_text(
        "[nbprod.executors]\ntoy = nbprod_toy:make\n"
    )
    (site / "nbprod_toy.py").write_text(
        textwrap.dedent(
            """
            class Toy:
                name = "toy"
                capacity = 7

                def __init__(self, context):
                    self.context = context

            def make(context):
                return Toy(context)
            """
        )
    )
    code = textwrap.dedent(
        """
        import sys
        from nbprod.config import Settings
        from nbprod.executors.registry import executor_names, make_executor
        settings = Settings.load({"executor": "toy"}, environ={"NBPROD_HOME": sys.argv[1]})
        executor = make_executor(settings, workers=5)
        print(executor_names(), executor.name, executor.capacity, executor.context.workers)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{site}:{':'.join(sys.path)}", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['dask',", "'local',", "'toy']", "toy", "7", "5"]
    assert "toy" not in executor_names()  # not installed in this process
