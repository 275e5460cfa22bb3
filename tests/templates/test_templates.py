"""Notebook templates: each executes with its defaults; list / new / --job; the wheel has them.

`templates list`, `new --job` and `jobs apply` are called in this process (`cli_inproc`: no
kernel starts); test_new_refuses_to_overwrite is the proof through the real console script.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

import nbprod
from nbprod.templates import builtin_dir
from tests.conftest import REPO, isolated_env

BUILTINS = ["basic", "data_quality", "report", "train_model"]
UNSET = ("NBPROD_STORE", "NBPROD_KERNEL", "NBPROD_TIMEOUT", "NBPROD_CELL_TIMEOUT")


def test_builtin_templates_are_the_repository_folder_in_a_checkout():
    assert builtin_dir() == REPO / "templates"
    assert sorted(p.stem for p in builtin_dir().glob("*.ipynb")) == BUILTINS


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """A template's run with its defaults, made once per module (in a home of its own):
    test_every_template_runs_with_its_defaults checks it and test_templates_are_deterministic
    compares report's with a second run, so report's kernel starts twice, not three times."""
    made: dict[str, Any] = {}

    def run(name: str) -> Any:
        if name not in made:
            with pytest.MonkeyPatch.context() as patch:
                for var in UNSET:
                    patch.delenv(var, raising=False)
                for var, value in isolated_env(tmp_path_factory.mktemp(name)).items():
                    patch.setenv(var, value)
                made[name] = nbprod.execute(builtin_dir() / f"{name}.ipynb")
        return made[name]

    return run


@pytest.mark.parametrize("name", BUILTINS)
def test_every_template_runs_with_its_defaults(default_run, name: str):
    path = builtin_dir() / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata["nbprod"]["template"]
    assert meta["name"] == name and meta["description"]
    schema = nbprod.notebook_parameters(path)
    assert schema.parameters and all(p.help and p.type != "any" for p in schema.parameters)

    run = default_run(name)
    assert run.status.value == "succeeded", run.record.error
    assert run.record.scraps and all(s["inline"] for s in run.record.scraps.values())
    assert run.record.duration_s < 30


def test_templates_are_deterministic(default_run, nbprod_env):
    path = builtin_dir() / "report.ipynb"
    first, second = default_run("report"), nbprod.execute(path)
    assert first.record.scraps == second.record.scraps
    assert first.record.scraps["total_revenue"]["value"] > 0


def test_dated_templates_default_to_the_day_the_run_executes(default_run):
    today = datetime.date.today().isoformat()
    assert default_run("report").record.scraps["period"]["value"]["end"] == today
    assert default_run("report").record.parameters["end_date"] == ""
    dated = {"report": "end_date", "data_quality": "as_of"}
    for name, param in dated.items():
        schema = nbprod.notebook_parameters(builtin_dir() / f"{name}.ipynb")
        assert next(p for p in schema.parameters if p.name == param).default == "", name


def test_data_quality_fails_the_run_when_a_check_fails(nbprod_env):
    run = nbprod.execute(builtin_dir() / "data_quality.ipynb", {"min_rows": 5000})
    assert run.status.value == "failed" and run.exit_code == 1
    assert run.record.error.ename == "DataQualityError"
    assert "row count" in run.record.error.evalue
    assert run.record.scraps["checks_failed"]["value"] == 1
    assert run.record.scraps["failed_checks"]["value"] == ["row count"]


def test_training_template_records_metrics_and_can_require_accuracy(nbprod_env):
    path = builtin_dir() / "train_model.ipynb"
    run = nbprod.execute(path, {"model": "forest", "n_estimators": 20, "max_depth": 3})
    assert run.status.value == "succeeded", run.record.error
    metrics = {k: v["value"] for k, v in run.record.scraps.items()}
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "n_train", "n_test"} <= set(metrics)
    assert 0.8 < metrics["accuracy"] <= 1.0
    strict = nbprod.execute(path, {"min_accuracy": 0.999})
    assert strict.status.value == "failed" and "below min_accuracy" in strict.record.error.evalue


def test_generator_is_idempotent(tmp_path: Path):
    shutil.copy(REPO / "templates" / "_build.py", tmp_path / "_build.py")
    done = subprocess.run(
        [sys.executable, str(tmp_path / "_build.py")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for name in BUILTINS:
        generated = (tmp_path / f"{name}.ipynb").read_text()
        assert generated == (REPO / "templates" / f"{name}.ipynb").read_text(), name


def test_templates_list(cli_inproc):
    cli = cli_inproc
    done = cli("templates", "list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SOURCE", "READY", "DESCRIPTION"]
    assert all(line.split()[2] == "yes" for line in lines[1:])  # the test env has [templates]
    assert [line.split()[0] for line in lines[1:]] == BUILTINS
    data = json.loads(cli("templates", "list", "--json").stdout)
    assert [t["name"] for t in data] == BUILTINS
    report = data[BUILTINS.index("report")]
    assert report["source"] == "built-in" and "chart" in report["description"]
    assert report["requires"] == ["pandas", "matplotlib"]
    assert report["ready"] and report["missing"] == [] and report["install"] == ""
    assert report["parameters"][0]["name"] == "end_date"


def test_a_template_whose_packages_are_missing_says_what_to_install(cli_inproc, tmp_path: Path):
    folder = tmp_path / "mine"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import nbprod_no_such_dist")]
    requires = ["pandas>=2", "nbprod-no-such-dist>=1"]
    nb.metadata["nbprod"] = {"template": {"name": "needy", "requires": requires}}
    nbformat.write(nb, folder / "needy.ipynb")
    env = {"NBPROD_TEMPLATES": str(folder)}
    listed = cli_inproc("templates", "list", env=env)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("needy"))
    assert "no: needs nbprod-no-such-dist>=1" in row and "pandas" not in row
    assert "not ready: pip install 'nbprod-no-such-dist>=1'" in listed.stdout
    data = {
        t["name"]: t for t in json.loads(cli_inproc("templates", "list", "--json", env=env).stdout)
    }
    assert data["needy"]["ready"] is False and data["needy"]["missing"] == [
        "nbprod-no-such-dist>=1"
    ]
    assert data["basic"]["ready"] is True
    done = cli_inproc("new", str(tmp_path / "n.ipynb"), "-t", "needy", env=env)
    assert done.returncode == 0 and (tmp_path / "n.ipynb").exists()
    assert "before running it: pip install 'nbprod-no-such-dist>=1'" in done.stderr


def test_user_templates_add_and_override_by_name(cli_inproc, tmp_path: Path):
    cli = cli_inproc
    folder = tmp_path / "my-templates"
    folder.mkdir()
    nb = nbformat.read(builtin_dir() / "basic.ipynb", as_version=4)
    nb.metadata["nbprod"]["template"]["description"] = "our own basic notebook"
    nbformat.write(nb, folder / "our_basic.ipynb")  # the name comes from the metadata
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(plain, folder / "etl.ipynb")  # no metadata: the file stem
    nbformat.write(plain, folder / "_draft.ipynb")  # skipped
    env = {"NBPROD_TEMPLATES": str(folder)}
    data = json.loads(cli("templates", "list", "--json", env=env).stdout)
    by_name = {t["name"]: t for t in data}
    assert sorted(by_name) == sorted([*BUILTINS, "etl"])
    assert by_name["basic"]["source"] == "user" and by_name["basic"]["overrides"] is True
    assert by_name["basic"]["description"] == "our own basic notebook"
    assert by_name["etl"]["source"] == "user" and by_name["etl"]["overrides"] is False
    text = cli("templates", "list", env=env).stdout
    assert "user (overrides built-in)" in text

    done = cli("new", str(tmp_path / "mine.ipynb"), "--template", "basic", env=env)
    assert done.returncode == 0, done.stderr
    made = nbformat.read(tmp_path / "mine.ipynb", as_version=4)
    assert made.cells[0].source.startswith("# Notebook title")
    assert made.metadata["nbprod"] == {"created_from_template": "basic"}

    missing = cli("templates", "list", env={"NBPROD_TEMPLATES": str(tmp_path / "nope")})
    assert missing.returncode == 2 and "templates folder not found" in missing.stderr


def test_new_refuses_to_overwrite(cli, tmp_path: Path):
    target = tmp_path / "reports" / "daily.ipynb"
    done = cli("new", str(target), "--template", "report")
    assert done.returncode == 0, done.stderr
    assert target.is_file() and not target.with_name("daily.job.yaml").exists()
    before = target.read_bytes()
    again = cli("new", str(target), "--template", "basic")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"nbprod: error: {target} already exists; not overwriting it"
    ]
    assert target.read_bytes() == before
    unknown = cli("new", str(tmp_path / "x.ipynb"), "--template", "reprot")
    assert unknown.returncode == 2 and "did you mean 'report'?" in unknown.stderr
    assert not (tmp_path / "x.ipynb").exists()
    wrong = cli("new", str(tmp_path / "x.txt"))
    assert wrong.returncode == 2 and "must end in .ipynb" in wrong.stderr


@pytest.mark.parametrize("name", BUILTINS)
def test_new_with_job_writes_a_definition_that_jobs_apply_accepts(cli_inproc, tmp_path: Path, name):
    cli = cli_inproc
    target = tmp_path / f"my_{name}.ipynb"
    done = cli("new", str(target), "--template", name, "--job")
    assert done.returncode == 0, done.stderr
    job_file = target.with_name(f"my_{name}.job.yaml")
    text = job_file.read_text()
    assert '# schedule: "0 7 * * *"' in text
    definition = yaml.safe_load(text)
    # No template pins a day: a scheduled job's runs each cover their own day.
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), text
    schema = nbprod.notebook_parameters(target)
    defaults = {p.name: p.default for p in schema.parameters if p.literal_default}
    assert definition["parameters"] == defaults
    assert definition["notebook"] == target.name and definition["name"] == f"my_{name}"

    applied = cli("jobs", "apply", str(job_file), "--json")
    assert applied.returncode == 0, applied.stderr
    version = json.loads(applied.stdout)
    assert version["created"] is True and version["job"] == f"my_{name}"

    again = cli("new", str(tmp_path / "other.ipynb"), "--template", name, "--job")
    assert again.returncode == 0
    target.unlink()  # the YAML alone also blocks: nothing is written
    blocked = cli("new", str(target), "--template", name, "--job")
    assert blocked.returncode == 2 and "my_" in blocked.stderr and not target.exists()


def test_job_yaml_values_round_trip():
    from nbprod.templates import _yaml_value

    for value in [1e-05, 1.5e20, 0.1, -3, "1:30", "010", "yes", None, True, [1e-7, "a"],
                  {"k": [1, {"x": 2.0}]}, float("inf"), "é"]:  # fmt: skip
        assert yaml.safe_load(f"v: {_yaml_value(value)}")["v"] == value, value


def test_wheel_carries_the_templates(tmp_path: Path):
    """A non-editable install (`pip install .`) resolves the packaged templates."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        # the JupyterLab extension was built by the editable install; this test is about
        # the templates, so the wheel skips re-running npm
        env={**os.environ, "SKIP_JUPYTER_BUILDER": "1"},
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("nbprod-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in BUILTINS:
        assert f"nbprod/_templates/{name}.ipynb" in names
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), wheel],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, nbprod.templates as t; "
            "print(json.dumps([str(t.builtin_dir()), [x.name for x in t.list_templates()]]))",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "NBPROD_CONFIG": "/nonexistent"},
    )
    assert probe.returncode == 0, probe.stderr
    folder, found = json.loads(probe.stdout)
    assert folder == str(site / "nbprod" / "_templates")
    assert found == BUILTINS
