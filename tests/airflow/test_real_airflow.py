"""Exported jobs in a real Airflow 3 (its own virtualenv, tests/airflow/conftest.py): the files
parse, `airflow dags test` leaves nbprod runs with Airflow's context, failures retry per the
job's policy, bad parameters fail without a retry, and Airflow's fire times across a DST
change are nbprod's. `airflow dags test` takes ~40 s here: each check below is one run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.airflow.conftest import Airflow
from tests.conftest import write_notebook

pytestmark = pytest.mark.timeout(900)

JOB = """\
name: {name}
notebook: {notebook}
schedule: "0 7 * * *"
timezone: Europe/Berlin
parameters: {{fail: {fail}}}
retries: {retries}
retry_delay: 1
tags: [airflow-test]
"""


def _fire_after(days: int) -> datetime:
    """07:00 in Berlin (a fire time of the jobs) ``days`` days from now, in UTC: after the
    exported DAGs' start date (the export's moment), or Airflow makes the run no task."""
    berlin = datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=days)
    return berlin.replace(hour=7, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


FIRE, NEXT_FIRE = _fire_after(1), _fire_after(2)
LOGICAL, NEXT_LOGICAL = FIRE.isoformat(), NEXT_FIRE.isoformat()
SCHEDULED_FOR = FIRE.strftime("%Y-%m-%dT%H:%M:%S.000Z")
"""How nbprod's record writes LOGICAL."""


@pytest.fixture(scope="module")
def exported(airflow: Airflow, tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """Two jobs on one notebook exported into Airflow's DAG folder: ``report`` succeeds
    (retries 2), ``failing`` raises (retries 1)."""
    base = tmp_path_factory.mktemp("jobs")
    notebook = write_notebook(
        base / "report.ipynb",
        "assert not fail, 'asked to fail'\nprint(days)",
        parameters="days = 7\nfail = False",
    )
    for name, fail, retries in (("report", "false", 2), ("failing", "true", 1)):
        path = base / f"{name}.yaml"
        path.write_text(JOB.format(name=name, notebook=notebook, fail=fail, retries=retries))
        applied = airflow.nbprod("jobs", "apply", str(path))
        assert applied.returncode == 0, applied.stderr
    done = airflow.nbprod(
        "export", "airflow", "--all", "--tag", "airflow-test", "-o", str(airflow.dags)
    )
    assert done.returncode == 0, done.stderr
    return airflow


def test_exported_files_parse_without_import_errors(exported: Airflow) -> None:
    broken = exported.dags / "broken_dag.py"  # proves the listing reports what is wrong
    broken.write_text("from airflow.sdk import DAG\nimport no_such_module_here\n")
    try:
        listed = exported.run("dags", "list-import-errors", "--local", "-o", "json")
    finally:
        broken.unlink()
    assert listed.returncode in (0, 1), listed.stderr[-2000:]
    errors = json.loads(listed.stdout)
    assert [Path(e["filepath"]).name for e in errors] == ["broken_dag.py"], errors
    assert "no_such_module_here" in errors[0]["error"]
    assert sorted(p.name for p in exported.dags.iterdir()) == [
        "nbprod_failing.py",
        "nbprod_report.py",
    ]


def test_dags_test_leaves_an_nbprod_run_with_airflow_s_context(exported: Airflow) -> None:
    done = exported.run("dags", "test", "report", LOGICAL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run,) = exported.runs("report")
    assert run["status"] == "succeeded"
    assert (run["trigger"], run["attempt"], run["job_version"]) == ("airflow", 1, 2)
    assert run["scheduled_for"] == SCHEDULED_FOR
    assert run["logical_run_id"].startswith("manual__")  # Airflow's run id
    assert exported.task_instances("report") == [("success", 1)]


def test_a_failing_notebook_retries_per_policy_then_fails(exported: Airflow) -> None:
    exported.run("dags", "test", "failing", LOGICAL)
    runs = exported.runs("failing")
    assert [(r["attempt"], r["status"], r["trigger"]) for r in runs] == [
        (1, "failed", "airflow"),
        (2, "failed", "airflow"),
    ]
    assert len({r["logical_run_id"] for r in runs}) == 1  # one logical run, two attempts
    assert {r["scheduled_for"] for r in runs} == {SCHEDULED_FOR}
    assert exported.task_instances("failing") == [("failed", 2)]


def test_bad_parameters_fail_without_a_retry(exported: Airflow) -> None:
    before, tries_before = exported.runs("report"), exported.task_instances("report")
    conf = json.dumps({"parameters": {"days": "many"}})
    exported.run("dags", "test", "report", NEXT_LOGICAL, "-c", conf)
    assert exported.runs("report") == before  # nbprod refused before anything ran
    tries = exported.task_instances("report")
    for seen in tries_before:
        tries.remove(seen)
    assert tries == [("failed", 1)]  # the job has retries 2: none was used


DST_FIRES = """
import json, sys
from airflow.models.dagbag import DagBag
from airflow.timetables.base import TimeRestriction
bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
dag = bag.get_dag("report")
restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)
last, fires = None, []
for _ in range(int(sys.argv[2])):
    info = dag.timetable.next_dagrun_info(
        last_automated_data_interval=last, restriction=restriction
    )
    fires.append(info.run_after.isoformat())
    last = info.data_interval
print(json.dumps(fires))
"""


def test_airflow_fires_when_nbprod_would_across_dst(exported: Airflow) -> None:
    count = 200  # daily fires: at least one DST change in Europe/Berlin within 200 days
    nbprod = exported.nbprod("jobs", "next", "report", "-n", str(count))
    assert nbprod.returncode == 0, nbprod.stderr
    ours = [datetime.fromisoformat(line) for line in nbprod.stdout.split()]
    assert {t.utcoffset().total_seconds() for t in ours} == {3600, 7200}  # crosses DST
    code = DST_FIRES.replace("sys.argv[1]", repr(str(exported.dags)))
    code = code.replace("sys.argv[2]", str(count + 1))
    done = exported.python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = [datetime.fromisoformat(t) for t in json.loads(done.stdout.splitlines()[-1])]
    theirs = [t for t in theirs if t >= ours[0]][:count]  # Airflow starts at the export
    assert theirs == ours  # aware datetimes: equal instants
    assert {t.astimezone(ZoneInfo("Europe/Berlin")).hour for t in theirs} == {7}
