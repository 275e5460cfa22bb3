"""`nbprod export airflow` in process: the file's mapping and determinism, the refusals, the
mark that keeps nbprod's schedulers off an exported job, and `jobs run`'s orchestrator
flags. The real Airflow runs the files in test_real_airflow.py."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from nbprod.jobs.airflow import render, unmapped
from nbprod.jobs.model import JobDefinition, JobVersion

JOB_YAML = """\
name: daily-sales
notebook: {notebook}
schedule: "0 7 * * *"
timezone: Europe/Berlin
retries: 2
retry_delay: 30s
timeout: 30m
concurrency: 3
overlap: queue
catchup: all
tags: [team-a, sales]
description: Sales of the day
"""


def _version(**fields: object) -> JobVersion:
    fields = {"schedule": "0 7 * * *", **fields}
    definition = JobDefinition(name="j", notebook="/nb.ipynb", **fields)
    return JobVersion("j", 4, "2026-11-30T12:34:56.789Z", definition, "ab" * 32, "nb.ipynb")


def _job(tmp_path: Path, make_notebook, cli_inproc, yaml: str = JOB_YAML, name: str = "job"):
    notebook = make_notebook("print(days)", parameters="days = 7", name=f"{name}.ipynb")
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.format(notebook=notebook))
    done = cli_inproc("jobs", "apply", str(path))
    assert done.returncode == 0, done.stderr
    return path


def test_an_exported_job_is_a_readable_deterministic_dag_and_marked_airflow_s(
    tmp_path: Path, make_notebook, cli_inproc
) -> None:
    _job(tmp_path, make_notebook, cli_inproc)
    dags = tmp_path / "dags"
    first = cli_inproc("export", "airflow", "daily-sales", "-o", str(dags))
    assert first.returncode == 0, first.stderr
    assert "now scheduled by Airflow" in first.stdout
    path = dags / "nbprod_daily_sales.py"
    text = path.read_text()
    compile(text, str(path), "exec")  # valid Python
    for line in (
        "# Airflow DAG for the nbprod job daily-sales, version 2.",
        'JOB = "daily-sales"',
        "VERSION = 2",
        'description="Sales of the day",',
        'schedule=CronTriggerTimetable("0 7 * * *", timezone="Europe/Berlin"),',
        "catchup=True,  # job catchup: all",
        "max_active_runs=3,  # job concurrency",
        'tags=["nbprod", "sales", "team-a"],',
        "retries=2,  # job retries",
        "retry_delay=timedelta(seconds=30),  # job retry_delay",
        "retry_exponential_backoff=True,",
        "execution_timeout=timedelta(seconds=1800 + 300),",
        "from airflow.sdk import DAG, get_current_context, task",
        "#   - catchup_window (one day) - Airflow (catchup=True) runs every missed fire",
    ):
        assert line in text, line
    assert 'tz="Europe/Berlin")' in text and "start_date=pendulum.datetime(" in text
    # The same job version gives the same bytes: no clock, no machine in the file.
    again = cli_inproc("export", "airflow", "--all", "-o", str(dags))
    assert again.returncode == 0, again.stderr
    assert "(unchanged)" in again.stdout and "now scheduled" not in again.stdout
    assert path.read_text() == text

    history = cli_inproc("jobs", "history", "daily-sales")
    assert 'scheduled_by: null → "airflow"' in history.stdout
    show = cli_inproc("jobs", "show", "daily-sales")
    assert "scheduled by Airflow (exported 20" in show.stdout, show.stdout
    listing = cli_inproc("jobs", "list")
    assert "(Europe/Berlin) by airflow" in listing.stdout
    rows = json.loads(cli_inproc("jobs", "list", "--json").stdout)
    assert rows[0]["scheduled_by"] == "airflow"
    shown = json.loads(cli_inproc("jobs", "show", "daily-sales", "--json").stdout)
    assert shown["scheduled_since"] == shown["versions"][-1]["created_at"]


def test_each_policy_maps_or_is_said_lost() -> None:
    latest = render(_version(), store_url="file:///s").text
    assert "catchup=False,  # job catchup: latest" in latest
    assert "retries=0,  # job retries" in latest and "retry_delay" not in latest
    assert "execution_timeout" not in latest
    assert "overlap: skip - a fire while 1 run(s) are running waits" in latest
    assert 'start_date=pendulum.datetime(2026, 11, 30, 12, 34, 56, tz="UTC"),' in latest
    none = _version(catchup="none", overlap="queue", notifications={"on_failure": []})
    lost = unmapped(none)
    assert [item.split(" - ")[0] for item in lost] == ["catchup: none", "notifications"]
    berlin = render(_version(timezone="Europe/Berlin", retry_delay=1.5, retries=1), store_url="x")
    assert 'pendulum.datetime(2026, 11, 30, 13, 34, 56, tz="Europe/Berlin")' in berlin.text
    assert "retry_delay=timedelta(seconds=1.5)" in berlin.text
    on_demand = render(_version(schedule=None), store_url="x").text
    assert "    schedule=None," in on_demand and "overlap" not in on_demand
    paused = render(_version(), store_url="x", paused=True).text
    assert "is_paused_upon_creation=True," in paused
    quoted = render(_version(description='say "hi"\n\\ ok'), store_url="x").text
    assert 'description="say \\"hi\\"\\n\\\\ ok",' in quoted
    assert render(_version(), store_url="file:///s").text == latest  # deterministic


def test_refusals_change_nothing(tmp_path: Path, make_notebook, cli_inproc) -> None:
    _job(tmp_path, make_notebook, cli_inproc)
    seconds = JOB_YAML.replace('"0 7 * * *"', '"* * * * * */10"').replace("daily-sales", "fast")
    _job(tmp_path, make_notebook, cli_inproc, seconds, name="fast")
    dags = tmp_path / "dags"
    a_file = tmp_path / "file.txt"
    a_file.write_text("")
    for args, message in (
        (["no-such-job"], "no job or pipeline 'no-such-job'"),
        (["daily-sales", "fast"], "has a seconds field"),
        (["--all"], "has a seconds field"),
        (["--all", "--tag", "nobody"], "no job tagged 'nobody'"),
        (["daily-sales", "--all"], "give job or pipeline names or --all"),
        (["daily-sales", "--tag", "sales"], "--tag goes with --all"),
        ([], "give job or pipeline names or --all"),
    ):
        done = cli_inproc("export", "airflow", *args, "-o", str(dags))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
    done = cli_inproc("export", "airflow", "daily-sales", "-o", str(a_file))
    assert done.returncode == 2 and "is not a directory" in done.stderr
    assert not dags.exists()
    listing = json.loads(cli_inproc("jobs", "list", "--json").stdout)
    assert {(j["name"], j["version"], j["scheduled_by"]) for j in listing} == {
        ("daily-sales", 1, None),
        ("fast", 1, None),
    }
    undo = cli_inproc("export", "undo", "daily-sales")
    assert undo.returncode == 2 and "scheduled by nbprod already" in undo.stderr
    # --tag picks the jobs with that tag only.
    other = JOB_YAML.replace("daily-sales", "other").replace("[team-a, sales]", "[ops]")
    _job(tmp_path, make_notebook, cli_inproc, other, name="other")
    done = cli_inproc("export", "airflow", "--all", "--tag", "ops", "-o", str(dags), "--json")
    assert done.returncode == 0, done.stderr
    assert [e["job"] for e in json.loads(done.stdout)] == ["other"]
    assert sorted(p.name for p in dags.iterdir()) == ["nbprod_other.py"]


def test_nbprod_s_scheduler_leaves_an_exported_job_to_airflow(
    tmp_path: Path, make_notebook, cli_inproc
) -> None:
    from nbprod.catalog.queue import QUEUED, utcnow
    from nbprod.config import Settings
    from nbprod.core import Workspace
    from nbprod.scheduler.daemon import Scheduler

    every_minute = JOB_YAML.replace('"0 7 * * *"', '"* * * * *"').replace("catchup: all", "")
    kept = _job(tmp_path, make_notebook, cli_inproc, every_minute, name="kept")
    other = every_minute.replace("daily-sales", "nbprod-own")
    _job(tmp_path, make_notebook, cli_inproc, other, name="own")
    assert cli_inproc("export", "airflow", "daily-sales", "-o", str(tmp_path)).returncode == 0

    def fired(minutes: int) -> set[str]:
        with Workspace(Settings.load()) as ws:
            scheduler = Scheduler(ws.settings, ws.catalog, executor=None)
            scheduler.fire_due(utcnow() + timedelta(minutes=minutes))
            return {item.job for item in ws.queue.items((QUEUED,))}

    assert fired(2) == {"nbprod-own"}  # the embedded JupyterLab scheduler is this class too
    # `nbprod export undo` takes the job back, its catch-up counting from then (not
    # from nbprod's last fire, before Airflow's: `catchup: latest` would re-run a fire) ...
    undo = cli_inproc("export", "undo", "daily-sales")
    assert undo.returncode == 0, undo.stderr
    with Workspace(Settings.load()) as ws:
        handed = ws.queue.last_fire(ws.store.url, "daily-sales")
    assert handed is not None and abs((utcnow() - handed).total_seconds()) < 60
    assert fired(4) == {"nbprod-own", "daily-sales"}
    # ... and so does applying the definition again (it has no scheduled_by).
    assert cli_inproc("export", "airflow", "daily-sales", "-o", str(tmp_path)).returncode == 0
    assert cli_inproc("jobs", "apply", str(kept)).returncode == 0
    with Workspace(Settings.load()) as ws, ws.queue.engine.connect() as conn:
        import sqlalchemy as sa

        from nbprod.catalog.schema import fires

        reasons = conn.execute(sa.select(fires.c.reason).where(fires.c.job == "daily-sales"))
        handovers = [r for (r,) in reasons if r == "scheduled by airflow until this moment"]
    assert len(handovers) == 2  # the undo's and the apply's
    shown = json.loads(cli_inproc("jobs", "show", "daily-sales", "--json").stdout)
    assert shown["scheduled_by"] is None and shown["version"] == 5


def test_jobs_run_takes_an_orchestrator_s_context(
    tmp_path: Path, make_notebook, cli_inproc, cli
) -> None:
    _job(tmp_path, make_notebook, cli_inproc)
    for flag, value, field in (
        ("--trigger", "schedule", "--trigger"),
        ("--trigger", "Air flow", "--trigger"),
        ("--attempt", "0", "--attempt"),
        ("--scheduled-for", "tomorrow", "--scheduled-for"),
        ("--scheduled-for", "2026-12-02T07:00:00", "--scheduled-for"),  # no offset
        ("--logical-run-id", "a\nb", "--logical-run-id"),
        ("--version", "9", "no version 9"),
    ):
        done = cli_inproc("jobs", "run", "daily-sales", flag, value)
        assert done.returncode == 2, (flag, value, done.stderr)
        assert field in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = cli(
        *("jobs", "run", "daily-sales", "--version", "1", "--json", "--trigger", "dagster"),
        *("--attempt", "3", "--scheduled-for", "2026-12-02T07:00:00+01:00"),
        *("--logical-run-id", "scheduled__2026-12-02T06:00:00+00:00"),
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["trigger"], record["attempt"], record["job_version"]) == ("dagster", 3, 1)
    assert record["scheduled_for"] == "2026-12-02T06:00:00.000Z"
    assert record["logical_run_id"] == "scheduled__2026-12-02T06:00:00+00:00"


@pytest.mark.parametrize("value", ["cron", 1, True])
def test_scheduled_by_accepts_only_known_schedulers(tmp_path: Path, value: object) -> None:
    from nbprod.errors import BadInput
    from nbprod.jobs.definition import validate_definition

    notebook = tmp_path / "nb.ipynb"
    notebook.write_text("{}")
    data = {"name": "j", "notebook": str(notebook), "scheduled_by": value}
    with pytest.raises(BadInput, match="'scheduled_by' must be one of airflow"):
        validate_definition(data, base_dir=tmp_path)
    data["scheduled_by"] = "airflow"
    assert validate_definition(data, base_dir=tmp_path).scheduled_by == "airflow"


def test_a_name_that_is_a_job_and_a_pipeline_is_refused_unless_said_which(
    tmp_path: Path, make_notebook, cli_inproc
) -> None:
    _job(tmp_path, make_notebook, cli_inproc)
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        f"name: daily-sales\nschedule: '@daily'\nsteps:\n  - name: only\n"
        f"    notebook: {tmp_path / 'notebooks' / 'job.ipynb'}\n"
    )
    applied = cli_inproc("pipelines", "apply", str(pipeline))
    assert applied.returncode == 0, applied.stderr
    dags = tmp_path / "dags"
    done = cli_inproc("export", "airflow", "daily-sales", "-o", str(dags))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "is both a job and a pipeline" in done.stderr and "--pipeline daily-sales" in done.stderr
    both = cli_inproc(
        "export", "airflow", "--job", "daily-sales", "--pipeline", "daily-sales", "-o", str(dags)
    )
    assert both.returncode == 2 and "share the DAG file" in both.stderr
    assert not dags.exists()  # nothing written, nothing marked
    done = cli_inproc("export", "airflow", "--pipeline", "daily-sales", "-o", str(dags), "--json")
    assert done.returncode == 0, done.stderr
    (item,) = json.loads(done.stdout)
    assert (item["kind"], item["pipeline"], item["version"], item["marked"]) == (
        "pipeline",
        "daily-sales",
        2,
        True,
    )
    text = (dags / "nbprod_daily_sales.py").read_text()
    assert 'PIPELINE = "daily-sales"' in text and '"pipelines", "step-run"' in text
    assert 'CronTriggerTimetable("0 0 * * *", timezone="UTC")' in text
    again = cli_inproc("export", "airflow", "--pipeline", "daily-sales", "-o", str(dags), "--json")
    assert json.loads(again.stdout)[0]["changed"] is False  # the same version, the same bytes
    job = cli_inproc("export", "airflow", "--job", "daily-sales", "-o", str(dags))
    assert job.returncode == 2 and "pipeline 'daily-sales' is exported to Airflow" in job.stderr
    undo = cli_inproc("export", "undo", "daily-sales")  # the one of that name in Airflow
    assert undo.returncode == 0, undo.stderr
    assert undo.stdout.strip() == "pipeline daily-sales version 3: scheduled by nbprod again"
    shown = json.loads(cli_inproc("pipelines", "show", "daily-sales", "--json").stdout)
    assert shown["definition"]["scheduled_by"] is None
    again = cli_inproc("export", "undo", "daily-sales")
    assert (
        again.returncode == 2 and "job 'daily-sales' is scheduled by nbprod already" in again.stderr
    )
