"""An exported pipeline: one DAG, one task per step, in a real Airflow 3 (its own virtualenv,
tests/airflow/conftest.py). The file compiles and its tasks follow ``needs``; `airflow dags
test` runs the three steps through nbprod, a scrap arrives downstream with its type and the
pipeline run record ends `succeeded`; a failing middle step fails its task and the last one
never runs; an unknown name is refused in one line."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.airflow.conftest import Airflow
from tests.conftest import GLUE, write_notebook

pytestmark = pytest.mark.timeout(900)

PIPELINE = """\
name: {name}
schedule: "0 6 * * *"
timezone: Europe/Berlin
tags: [airflow-pipeline-test]
steps:
  - name: extract
    notebook: extract.ipynb
    parameters: {{days: 7}}
  - name: train
    notebook: train.ipynb
    needs: [extract]
    parameters_from: {{rows: extract.row_count}}
    parameters: {{fail: {fail}}}
    retries: {retries}
    retry_delay: 1
  - name: report
    notebook: report.ipynb
    needs: [train]
    parameters_from: {{accuracy: train.accuracy}}
"""


def _fire_after(days: int) -> datetime:
    """06:00 in Berlin ``days`` days from now (a fire time after the DAG's start date)."""
    berlin = datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=days)
    return berlin.replace(hour=6, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


LOGICAL = _fire_after(1).isoformat()


@pytest.fixture(scope="module")
def exported(airflow: Airflow, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    """Two pipelines on the same notebooks: ``ml`` succeeds, ``ml-broken``'s train step
    raises (retries 1). Their DAG files leave the session's DAG folder afterwards (the job
    tests list it)."""
    base = tmp_path_factory.mktemp("pipelines")
    write_notebook(
        base / "extract.ipynb", GLUE + 'glue("row_count", days * 10)', parameters="days = 1"
    )
    write_notebook(
        base / "train.ipynb",
        GLUE + 'glue("rows_type", type(rows).__name__)\n'
        "assert not fail, 'asked to fail'\n"
        'glue("accuracy", rows / 100)',
        parameters="rows = 0\nfail = False",
    )
    write_notebook(
        base / "report.ipynb",
        GLUE + 'glue("accuracy_type", type(accuracy).__name__)',
        parameters="accuracy = 0.0",
    )
    for name, fail, retries in (("ml", "false", 0), ("ml-broken", "true", 1)):
        path = base / f"{name}.yaml"
        path.write_text(PIPELINE.format(name=name, fail=fail, retries=retries))
        applied = airflow.nbprod("pipelines", "apply", str(path))
        assert applied.returncode == 0, applied.stderr
    done = airflow.nbprod(
        "export", "airflow", "ml", "--pipeline", "ml-broken", "-o", str(airflow.dags)
    )
    assert done.returncode == 0, done.stderr
    assert "pipeline ml version 2 -> " in done.stdout and "now scheduled by Airflow" in done.stdout
    yield airflow
    for name in ("nbprod_ml.py", "nbprod_ml_broken.py"):
        (airflow.dags / name).unlink(missing_ok=True)


def _pipeline(world: Airflow, name: str) -> dict:
    shown = world.nbprod("pipelines", "show", name, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _step_record(world: Airflow, job: str, run_id: str) -> dict:
    shown = world.nbprod("runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["job"] == job
    return record


def _tasks(world: Airflow, dag_id: str) -> dict[str, tuple[str, int]]:
    import sqlite3

    with sqlite3.connect(world.home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ?", (dag_id,)
        ).fetchall()
    return {task: (str(state), int(number)) for task, state, number in rows}


def test_the_file_compiles_and_has_one_task_per_step_following_needs(exported: Airflow) -> None:
    path = exported.dags / "nbprod_ml.py"
    text = path.read_text()
    compile(text, str(path), "exec")  # a SyntaxError fails the test
    assert 'PIPELINE = "ml"' in text and "VERSION = 2" in text
    code = (
        "import json, sys\n"
        "from airflow.models.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1], include_examples=False)\n"
        "dag = bag.get_dag('ml')\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},\n"
        "  'tasks': {t.task_id: {'up': sorted(t.upstream_task_ids), 'retries': t.retries}\n"
        "            for t in dag.tasks}, 'tags': sorted(dag.tags)}))\n"
    )
    done = exported.python(code.replace("sys.argv[1]", repr(str(exported.dags))))
    assert done.returncode == 0, done.stderr[-3000:]
    dag = json.loads(done.stdout.strip().splitlines()[-1])
    assert dag["errors"] == {}
    assert dag["tasks"] == {
        "extract": {"up": [], "retries": 0},
        "train": {"up": ["extract"], "retries": 0},
        "report": {"up": ["train"], "retries": 0},
    }
    broken = ast.parse((exported.dags / "nbprod_ml_broken.py").read_text())
    assert broken is not None
    shown = _pipeline(exported, "ml")
    assert shown["definition"]["scheduled_by"] == "airflow"
    assert shown["versions"][-1]["changes"] == ['scheduled_by: null → "airflow"']


def test_dags_test_runs_the_steps_and_passes_a_scrap_with_its_type(exported: Airflow) -> None:
    done = exported.run("dags", "test", "ml", LOGICAL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _tasks(exported, "ml") == {
        "extract": ("success", 1),
        "train": ("success", 1),
        "report": ("success", 1),
    }
    (run,) = _pipeline(exported, "ml")["runs"]
    assert run["status"] == "succeeded" and run["finished_at"]
    assert run["trigger"] == "airflow" and run["logical_run_id"].startswith("manual__")
    assert run["version"] == 2
    steps = {s["name"]: s for s in run["steps"]}
    assert [s["name"] for s in run["steps"]] == ["extract", "train", "report"]
    assert {s["status"] for s in steps.values()} == {"succeeded"}
    assert steps["train"]["inputs"] == {"rows": {"from": "extract.row_count", "value": 70}}
    assert steps["report"]["inputs"] == {"accuracy": {"from": "train.accuracy", "value": 0.7}}
    train = _step_record(exported, "ml.train", steps["train"]["run_id"])
    report = _step_record(exported, "ml.report", steps["report"]["run_id"])
    assert train["scraps"]["rows_type"]["value"] == "int"  # arrived as an int
    assert report["scraps"]["accuracy_type"]["value"] == "float"
    assert train["pipeline"] == {"name": "ml", "run_id": run["run_id"], "step": "train"}
    assert train["logical_run_id"] == run["logical_run_id"]

    # a task Airflow runs again finds the same pipeline run and does not run its step again
    again = exported.nbprod(
        "pipelines", "step-run", "ml", "train", "--version", "2", "--json",
        "--logical-run-id", run["logical_run_id"], "--scheduled-for", LOGICAL, "--attempt", "2",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    said = json.loads(again.stdout)
    assert said == {
        "pipeline_run_id": run["run_id"],
        "step": "train",
        "run_id": steps["train"]["run_id"],
        "status": "succeeded",
        "ran": False,
    }
    assert len(_pipeline(exported, "ml")["runs"]) == 1
    listed = exported.nbprod("runs", "list", "--pipeline", "ml", "--json")
    assert len(json.loads(listed.stdout)) == 3


def test_a_failing_middle_step_fails_its_task_and_the_last_does_not_run(exported: Airflow) -> None:
    exported.run("dags", "test", "ml-broken", LOGICAL)
    tasks = _tasks(exported, "ml-broken")
    assert tasks["extract"] == ("success", 1)
    assert tasks["train"] == ("failed", 2)  # retried once per the step's retries
    assert tasks["report"][0] == "upstream_failed"
    (run,) = _pipeline(exported, "ml-broken")["runs"]
    assert run["status"] == "failed"
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["train"]["status"] == "failed" and len(steps["train"]["attempts"]) == 1
    assert "asked to fail" in steps["train"]["error"]
    assert steps["report"]["status"] == "skipped" and steps["report"]["run_id"] is None
    first = _step_record(exported, "ml-broken.train", steps["train"]["attempts"][0])
    assert (first["status"], first["attempt"]) == ("failed", 1)
    listed = exported.nbprod("runs", "list", "--job", "ml-broken.report", "--json")
    assert json.loads(listed.stdout) == []


def test_exporting_an_unknown_name_exits_2_in_one_line(exported: Airflow, tmp_path: Path) -> None:
    done = exported.nbprod("export", "airflow", "no-such-thing", "-o", str(tmp_path / "dags"))
    assert done.returncode == 2
    assert (
        done.stderr.strip().count("\n") == 0 and "no job or pipeline 'no-such-thing'" in done.stderr
    )
    assert not (tmp_path / "dags").exists()


NEXT_LOGICAL = _fire_after(2).isoformat()


def test_a_dag_run_s_conf_sets_step_parameters_typed_by_nbprod(exported: Airflow) -> None:
    before = len(_pipeline(exported, "ml")["runs"])
    bad = exported.nbprod(
        "pipelines", "step-run", "ml", "extract", "--version", "2", "--logical-run-id", "bad",
        "--scheduled-for", NEXT_LOGICAL, "-y", '{"extract": {"days": "many"}}',
    )  # fmt: skip
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "parameters.extract.days: parameter 'days' expects int" in bad.stderr
    assert len(_pipeline(exported, "ml")["runs"]) == before  # refused before anything ran

    conf = json.dumps({"parameters": {"extract": {"days": 30}}})
    done = exported.run("dags", "test", "ml", NEXT_LOGICAL, "-c", conf)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    newest = _pipeline(exported, "ml")["runs"][0]
    assert newest["status"] == "succeeded"
    assert newest["overrides"] == {"extract": {"days": 30}}
    steps = {s["name"]: s for s in newest["steps"]}
    assert steps["extract"]["parameters"] == {"days": 30}
    assert steps["train"]["inputs"]["rows"]["value"] == 300
