"""What each CLI command may import: a user's first commands stay fast (issue 13).

Every check is a real ``python -X importtime -m nbprod ...`` process: the modules it
imported, threads included, are read from its import log, so a heavy import anywhere on the
path (a module-level import in a module the command reaches) fails the check.
``nbprod --help`` and ``import nbprod.cli`` are checked in test_exec_cli.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_output, write_notebook

SCHEMA_VALIDATION = {"nbformat", "jsonschema", "fastjsonschema", "rfc3987_syntax", "lark"}
"""nbformat and the validation machinery under it (0.1-0.2 s quiet, seconds under load)."""
EXECUTION = {"papermill", "nbclient", "jupyter_client", "zmq", "ipykernel", "IPython"}
"""What executing a notebook needs, and nothing that only looks at one."""
CATALOG = {"sqlalchemy"}
CLOUD = {"boto3", "botocore", "pyarrow", "requests"}
"""papermill's I/O layer (and S3 stores, which a local store never needs)."""

RUN_STEPS = {"nbprod.steps", "nbprod.engine", "nbprod.kernel", "nbprod.publish"}
"""A run's steps: nothing that refuses bad input needs them."""
READ_ONLY = SCHEMA_VALIDATION | EXECUTION | CATALOG | CLOUD | RUN_STEPS
LISTING = SCHEMA_VALIDATION | EXECUTION | CLOUD
"""A listing reads the catalog (SQLAlchemy), never a notebook or a kernel."""


def imported(*args: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, set]:
    """Run ``nbprod ARGS`` under ``-X importtime``: its result and the top-level packages
    of every module it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nbprod", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "nbprod" in modules, done.stderr[-2000:]  # the log was read
    # top-level packages, and nbprod's own modules by their full names
    return done, {m.split(".")[0] for m in modules} | {m for m in modules if "nbprod." in m}


def _message(done: subprocess.CompletedProcess) -> str:
    return "\n".join(ln for ln in done.stderr.splitlines() if not ln.startswith("import time:"))


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "nb.ipynb", "print(n)", parameters="n: int = 1  # a count")


def test_params_reads_a_notebook_without_validation_or_execution_machinery(
    nbprod_env, notebook, tmp_path
):
    done, names = imported("params", str(notebook), env=nbprod_env, cwd=tmp_path)
    assert done.returncode == 0 and "a count" in done.stdout, _message(done)
    assert not names & READ_ONLY, names & READ_ONLY


KERNELSPECS = {"jupyter_client", "zmq", "nbprod.kernel"}
"""Looking a kernel name up needs jupyter_client's kernelspecs (0.1 s), nothing more."""


@pytest.mark.parametrize(
    ("args", "says", "allowed"),
    [
        (("exec", "missing.ipynb"), "notebook not found", set()),
        (("exec", "{nb}", "-p", "unknown", "1"), "unknown parameter 'unknown'", set()),
        (("exec", "{nb}", "-p", "n", "notint"), "parameter 'n' expects int", set()),
        (("exec", "broken.ipynb"), "not a valid notebook", set()),
        (("exec", "{nb}", "--timeout", "-1"), "timeout", set()),
        (("exec", "{nb}", "-k", "no-such-kernel"), "no kernel named", KERNELSPECS),
    ],
)
def test_bad_input_is_refused_before_the_run_machinery_loads(
    nbprod_env, notebook, tmp_path, args, says, allowed
):
    (tmp_path / "broken.ipynb").write_text('{"cells": [', "utf-8")
    argv = [a.format(nb=notebook) for a in args]
    done, names = imported(*argv, env=nbprod_env, cwd=tmp_path)
    assert done.returncode == 2 and says in _message(done), _message(done)
    assert not names & (READ_ONLY - allowed), names & (READ_ONLY - allowed)


@pytest.mark.parametrize("group", ["runs", "jobs"])
def test_listings_read_the_catalog_only(nbprod_env, tmp_path, group):
    store = tmp_path / "store"
    done, names = imported(group, "list", "--store", str(store), env=nbprod_env, cwd=tmp_path)
    assert done.returncode == 0, _message(done)
    assert not names & LISTING, names & LISTING


def test_a_run_imports_neither_ipython_nor_papermills_package(nbprod_env, notebook, tmp_path):
    """jupyter_client's default kernelspec lookup imports IPython (0.25-0.4 s of CPU, in
    the process that only launches the kernel) to find ~/.ipython/kernels; papermill's
    package import is its I/O layer (boto3, pyarrow, requests: 0.5-1.5 s of CPU). A run in a
    local store needs neither: its parameters are rendered by papermill's translators,
    loaded on their own."""
    store = tmp_path / "store"
    done, names = imported(
        "exec", str(notebook), "-p", "n", "5", "--store", str(store), "-q",
        env=nbprod_env,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, _message(done)
    assert {"nbclient", "nbformat", "jupyter_client", "sqlalchemy"} <= names  # it did run
    injected = load_output(done.stdout.strip()).cells[1]
    assert injected.metadata.tags == ["injected-parameters"]
    assert injected.source == "# Parameters\nn = 5\n"  # rendered by papermill's translator
    heavy = {"IPython", "papermill"} | CLOUD
    assert not names & heavy, names & heavy


EXIT_PROBE = """
import gc, sys
gc.disable()  # so that the cycle below is still there at exit, not collected by an import


class Cycle:
    def __del__(self):
        sys.stderr.write("collected at exit\\n")


cycle = Cycle()
cycle.me = cycle
del cycle
if sys.argv[1] == "cli":
    from nbprod.cli import main

    main(["--help"])
"""


def test_the_command_leaves_its_objects_to_the_os_at_exit(tmp_path):
    """A run's process ends holding nbclient, zmq, SQLAlchemy and their objects: Python's
    collection over them at exit took 0.3-1 s after the command was done. The command
    freezes the collector at exit; a plain interpreter still collects (the probe works)."""
    probe = tmp_path / "probe.py"
    probe.write_text(EXIT_PROBE)
    plain = subprocess.run([sys.executable, str(probe), "plain"], capture_output=True, text=True)
    assert "collected at exit" in plain.stderr
    command = subprocess.run([sys.executable, str(probe), "cli"], capture_output=True, text=True)
    assert command.returncode == 0 and "exec" in command.stdout
    assert "collected at exit" not in command.stderr
