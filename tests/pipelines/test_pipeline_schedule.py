"""Pipelines on their schedules: one pipeline run per scheduled time, however many
schedulers; catch-up, pause/resume and overlap as for jobs.

The fire logic runs here on two in-process schedulers sharing one catalog with a clock
moved by the test (fast, exact times); the proof with real parts is two `nbprod scheduler`
processes firing a pipeline every 3 s with real workers and kernels, stopped by SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from nbprod.catalog.queue import iso, parse_iso
from nbprod.catalog.schema import pipeline_fires, queue
from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core.pipelines import (
    apply_pipeline,
    cancel_pipeline_run,
    get_pipeline_run,
    set_pipeline_paused,
)
from nbprod.records import utcnow
from nbprod.scheduler.cron import fire_times
from nbprod.scheduler.daemon import Scheduler
from nbprod.scheduler.pipeline_fires import OVERLAP_REASON
from tests.conftest import GLUE, invoke_inproc
from tests.scheduler.test_daemons import Env, wait_until


def _pipeline(make_notebook, folder: Path, schedule: str, name: str = "nightly") -> Path:
    make_notebook(GLUE + "glue('rows', days * 10)", parameters="days: int = 1", name="load.ipynb")
    make_notebook(GLUE + "glue('got', rows)", parameters="rows: int = 0", name="use.ipynb")
    path = folder / f"{name}.yaml"
    path.write_text(
        f"""
name: {name}
schedule: "{schedule}"
timezone: Europe/Berlin
steps:
  - name: load
    notebook: load.ipynb
  - name: use
    notebook: use.ipynb
    needs: [load]
    parameters_from: {{rows: load.rows}}
"""
    )
    return path


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def _rows(ws: Workspace, table: Any, *where: Any) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    with ws.catalog.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(*where))]


def test_two_schedulers_fire_a_pipeline_once_per_time_with_overlap_pause_and_catchup(
    nbprod_env, make_notebook, tmp_path: Path
):
    settings = Settings.load()
    with Workspace(settings) as ws:
        result = apply_pipeline(ws, _pipeline(make_notebook, tmp_path / "notebooks", "0 6 * * *"))
        definition = result.version.definition
        times = list(islice(fire_times(definition, utcnow()), 6))
        clock = Clock(times[0] + timedelta(seconds=1))
        a = Scheduler(settings, ws.catalog, None, clock=clock)
        b = Scheduler(settings, ws.catalog, None, clock=clock)
        a.tick()
        b.tick()  # the same time again, from the other scheduler: nothing

        ledger = _rows(ws, pipeline_fires, pipeline_fires.c.pipeline == "nightly")
        assert [(f["scheduled_for"], f["decision"]) for f in ledger] == [(iso(times[0]), "queued")]
        run_id = ledger[0]["run_id"]
        (queued,) = _rows(ws, queue, queue.c.state == "queued")
        assert queued["job"] == "nightly.load"  # the first step, linked to the pipeline run
        assert queued["request"]["pipeline"] == {
            "name": "nightly",
            "run_id": run_id,
            "step": "load",
        }
        started = get_pipeline_run(ws, run_id)
        assert started.trigger == "schedule" and started.scheduled_for == iso(times[0])

        # The next day's fire while that run still waits for a worker: skipped (overlap).
        clock.moment = times[1] + timedelta(seconds=1)
        a.tick()
        b.tick()
        ledger = _rows(ws, pipeline_fires, pipeline_fires.c.pipeline == "nightly")
        assert [(f["decision"], f["reason"]) for f in ledger][1:] == [("skipped", OVERLAP_REASON)]

        # Paused: nothing fires; resumed after two missed days: catch-up latest fires the
        # newest only and records the others as skipped.
        cancel_pipeline_run(ws, run_id)
        set_pipeline_paused(ws, "nightly", True)
        clock.moment = times[2] + timedelta(seconds=1)
        a.tick()
        assert len(_rows(ws, pipeline_fires, pipeline_fires.c.pipeline == "nightly")) == 2
        set_pipeline_paused(ws, "nightly", False)
        clock.moment = times[4] + timedelta(seconds=1)
        b.tick()
        a.tick()
        ledger = sorted(
            _rows(ws, pipeline_fires, pipeline_fires.c.pipeline == "nightly"),
            key=lambda f: f["scheduled_for"],
        )
        assert [(parse_iso(f["scheduled_for"]), f["decision"]) for f in ledger] == [
            (times[0], "queued"),
            (times[1], "skipped"),
            (times[2], "skipped"),
            (times[3], "skipped"),
            (times[4], "queued"),
        ]
        assert "catchup latest" in ledger[2]["reason"]

    # The pause state and the pipeline's row come back from the store alone.
    with Workspace(settings) as ws:
        set_pipeline_paused(ws, "nightly", True)
    rebuilt = invoke_inproc(["catalog", "rebuild"], env=nbprod_env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    with Workspace(settings) as ws:
        from nbprod.catalog.pipelines import pipeline_summaries

        (summary,) = pipeline_summaries(ws.catalog, ws.store.url)
        assert summary.name == "nightly" and summary.paused is True
        assert summary.created_at == result.version.created_at
        clock = Clock(times[5] + timedelta(seconds=1))
        Scheduler(settings, ws.catalog, None, clock=clock).tick()
        assert len(_rows(ws, pipeline_fires, pipeline_fires.c.pipeline == "nightly")) == 5


def test_pipelines_pause_and_resume_through_the_cli(cli_inproc, make_notebook, tmp_path: Path):
    path = _pipeline(make_notebook, tmp_path / "notebooks", "0 6 * * 1-5")
    assert cli_inproc("pipelines", "apply", str(path)).returncode == 0
    shown = cli_inproc("pipelines", "show", "nightly").stdout
    assert "fired by `nbprod scheduler`" in shown and shown.count("  next     ") == 3
    paused = cli_inproc("pipelines", "pause", "nightly")
    assert paused.returncode == 0 and paused.stdout.strip() == "pipeline nightly paused (version 1)"
    assert "paused" in cli_inproc("pipelines", "list").stdout
    assert "  next     " not in cli_inproc("pipelines", "show", "nightly").stdout
    assert cli_inproc("pipelines", "resume", "nightly").returncode == 0
    unknown = cli_inproc("pipelines", "pause", "no-such")
    assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1


@pytest.fixture
def world(nbprod_env, tmp_path: Path, make_notebook):
    env = Env(nbprod_env, tmp_path, make_notebook)
    try:
        yield env
    finally:
        env.cleanup()


def test_two_scheduler_processes_fire_each_scheduled_time_once(world: Env, make_notebook):
    path = _pipeline(make_notebook, world.tmp / "notebooks", "* * * * * */3", name="often")
    world.ok("pipelines", "apply", str(path))
    a = world.start("scheduler", "--workers", "1")
    b = world.start("scheduler", "--workers", "1")

    def succeeded() -> list[dict[str, Any]]:
        listed = json.loads(world.ok("pipelines", "show", "often", "--json"))["runs"]
        return [r for r in listed if r["status"] == "succeeded"]

    wait_until(lambda: len(succeeded()) >= 3, 120, "3 succeeded pipeline runs", interval=1)
    world.ok("pipelines", "pause", "often")
    for daemon in (a, b):
        daemon.signal(signal.SIGINT)
    for daemon in (a, b):
        assert daemon.wait(30) == 0, daemon.log()

    ledger = sorted(
        world.rows(pipeline_fires, pipeline_fires.c.pipeline == "often"),
        key=lambda f: f["scheduled_for"],
    )
    moments = [parse_iso(f["scheduled_for"]) for f in ledger]
    assert len(moments) == len(set(moments)) >= 3
    # one row per scheduled time: a contiguous 3 s grid (fired or skipped), no duplicate
    gaps = [later - earlier for earlier, later in zip(moments, moments[1:], strict=False)]
    assert set(gaps) == {timedelta(seconds=3)}, moments
    started = [f["run_id"] for f in ledger if f["decision"] == "queued"]
    assert len(started) == len(set(started)) >= 3
    for run in json.loads(world.ok("pipelines", "show", "often", "--json"))["runs"]:
        assert run["run_id"] in started and run["trigger"] == "schedule"
        if run["status"] == "succeeded":
            use = next(s for s in run["steps"] if s["name"] == "use")
            assert use["inputs"]["rows"]["value"] == 10  # the scrap, typed
    # only these two schedulers fired (the catalog, not luck, kept them apart)
    assert {f["scheduler"] for f in ledger} <= {
        f"{os.uname().nodename}:{p}" for p in (a.pid, b.pid)
    }


def test_a_pipeline_exported_to_airflow_is_not_fired_by_nbprod(
    nbprod_env, make_notebook, tmp_path: Path
):
    from nbprod.core.export import export_airflow, take_back_any

    settings = Settings.load()
    with Workspace(settings) as ws:
        result = apply_pipeline(ws, _pipeline(make_notebook, tmp_path / "notebooks", "0 6 * * *"))
        times = list(islice(fire_times(result.version.definition, utcnow()), 3))
        (done,) = export_airflow(ws, ["nightly"], out_dir=tmp_path / "dags")
        assert (done.kind, done.version, done.marked) == ("pipeline", 2, True)
        clock = Clock(times[0] + timedelta(seconds=1))
        Scheduler(settings, ws.catalog, None, clock=clock).tick()
        assert _rows(ws, pipeline_fires, pipeline_fires.c.pipeline == "nightly") == []
        assert _rows(ws, queue, queue.c.state == "queued") == []
        # taken back: nbprod fires it again at its next time; the time Airflow had is
        # not run again (catch-up latest skips it)
        assert take_back_any(ws, "nightly") == ("pipeline", 3)
        clock.moment = times[1] + timedelta(seconds=1)
        Scheduler(settings, ws.catalog, None, clock=clock).tick()
        fired = sorted(
            _rows(ws, pipeline_fires, pipeline_fires.c.pipeline == "nightly"),
            key=lambda f: f["scheduled_for"],
        )
        assert [(parse_iso(f["scheduled_for"]), f["decision"]) for f in fired] == [
            (times[0], "skipped"),
            (times[1], "queued"),
        ]
