"""Advancing a pipeline run against a real catalog (SQLite, and a real PostgreSQL where
its binaries are installed) and store, in process: a step's end is applied once (however
often, or from however many threads, it is reported), and a cancel before a step starts
skips what follows it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nbprod.catalog.queue import utcnow
from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core.pipelines import apply_pipeline, get_pipeline_run, run_pipeline
from nbprod.scheduler.ending import run_ended
from tests.catalog.conftest import postgres_server, postgres_url  # noqa: F401 - fixtures

FAN_IN = """
name: fan-in
steps:
  - {name: a, notebook: nb.ipynb}
  - {name: b, notebook: nb.ipynb}
  - {name: c, notebook: nb.ipynb, needs: [a, b]}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def ws(request, nbprod_env, make_notebook, tmp_path: Path, monkeypatch):
    if request.param == "postgresql":
        monkeypatch.setenv("NBPROD_CATALOG", request.getfixturevalue("postgres_url"))
    make_notebook("pass", parameters="x: int = 1")
    path = tmp_path / "notebooks" / "fan-in.yaml"
    path.write_text(FAN_IN)
    with Workspace(Settings.load()) as workspace:
        apply_pipeline(workspace, path)
        yield workspace


def _end(ws: Workspace, run_id: str, status: str = "succeeded"):
    """Claim and finish one queued step run, as a worker does; the queue item."""
    item = ws.queue.claim("test-worker", utcnow(), {}, only={run_id})
    assert item is not None, f"{run_id} was not claimable"
    assert ws.queue.finish(item.store, item.run_id, item.claim, status, utcnow())
    return item


def _queued_jobs(ws: Workspace) -> list[str]:
    return sorted(i.job for i in ws.queue.items(("queued",), limit=1000) if i.store == ws.store.url)


def test_a_step_end_reported_twice_is_applied_once(ws):
    run = run_pipeline(ws, "fan-in")
    assert _queued_jobs(ws) == ["fan-in.a", "fan-in.b"]
    a = _end(ws, run.steps["a"].run_id)
    run_ended(ws.queue, a, "succeeded", utcnow(), catalog=ws.catalog)
    once = get_pipeline_run(ws, run.run_id)
    assert once.steps["a"].status.value == "succeeded"
    assert once.status.value == "running"
    run_ended(ws.queue, a, "succeeded", utcnow(), catalog=ws.catalog)
    assert get_pipeline_run(ws, run.run_id) == once  # nothing changed, not even updated_at
    assert _queued_jobs(ws) == ["fan-in.b"]  # c waits for b


def test_two_steps_ending_at_once_queue_their_common_step_once(ws):
    run = run_pipeline(ws, "fan-in")
    items = [_end(ws, run.steps[name].run_id) for name in ("a", "b")]
    start = threading.Barrier(len(items) * 2)

    def report(item):
        from nbprod.catalog import open_catalog
        from nbprod.catalog.queue import Queue

        catalog = open_catalog(ws.settings)  # one connection pool per "worker"
        try:
            start.wait()
            run_ended(Queue(catalog), item, "succeeded", utcnow(), catalog=catalog)
        finally:
            catalog.close()

    threads = [threading.Thread(target=report, args=(i,)) for i in items for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _queued_jobs(ws) == ["fan-in.c"]
    now = get_pipeline_run(ws, run.run_id)
    assert [now.steps[n].status.value for n in "abc"] == ["succeeded", "succeeded", "queued"]
    # the store holds what the catalog holds
    from nbprod.pipelines.record import PipelineRun
    from nbprod.store import layout

    stored = PipelineRun.from_json(ws.store.get(layout.pipeline_run_key("fan-in", run.run_id)))
    assert stored == now

    c = _end(ws, now.steps["c"].run_id)
    run_ended(ws.queue, c, "succeeded", utcnow(), catalog=ws.catalog)
    assert get_pipeline_run(ws, run.run_id).status.value == "succeeded"


def test_cancelling_a_queued_step_skips_what_follows(ws):
    from nbprod.core.queueing import cancel_run

    run = run_pipeline(ws, "fan-in")
    assert "before it started" in cancel_run(ws, run.steps["a"].run_id)
    now = get_pipeline_run(ws, run.run_id)
    assert now.steps["a"].status.value == "failed"
    assert now.steps["a"].run_status == "cancelled"
    assert now.steps["c"].status.value == "skipped"
    assert now.status.value == "running"  # b is still queued
    b = _end(ws, now.steps["b"].run_id)
    run_ended(ws.queue, b, "succeeded", utcnow(), catalog=ws.catalog)
    assert get_pipeline_run(ws, run.run_id).status.value == "failed"
    assert _queued_jobs(ws) == []


def test_a_retry_is_not_the_steps_end(ws, tmp_path):
    path = tmp_path / "notebooks" / "retry.yaml"
    path.write_text(
        "name: retried\nsteps:\n  - {name: a, notebook: nb.ipynb, retries: 1, retry_delay: 0}\n"
        "  - {name: b, notebook: nb.ipynb, needs: [a]}\n"
    )
    apply_pipeline(ws, path)
    run = run_pipeline(ws, "retried")
    first = _end(ws, run.steps["a"].run_id, "failed")
    retry = run_ended(ws.queue, first, "failed", utcnow(), catalog=ws.catalog)
    assert retry is not None
    now = get_pipeline_run(ws, run.run_id)
    assert now.steps["a"].status.value == "queued" and now.steps["a"].run_id == retry
    assert now.steps["a"].attempts == [first.run_id]
    second = _end(ws, retry)
    assert run_ended(ws.queue, second, "succeeded", utcnow(), catalog=ws.catalog) is None
    assert get_pipeline_run(ws, run.run_id).steps["b"].status.value == "queued"


def test_cancelling_a_pipeline_run_cancels_its_queued_steps_and_skips_the_rest(ws):
    from nbprod.core.pipelines import cancel_pipeline_run
    from nbprod.errors import Conflict

    run = run_pipeline(ws, "fan-in")
    said = cancel_pipeline_run(ws, run.run_id)
    assert [line.split(":")[0] for line in said] == ["a", "b"]
    now = get_pipeline_run(ws, run.run_id)
    assert now.status.value == "failed"
    assert [now.steps[n].status.value for n in "abc"] == ["failed", "failed", "skipped"]
    assert _queued_jobs(ws) == []
    with pytest.raises(Conflict, match="has already ended"):
        cancel_pipeline_run(ws, run.run_id)


def test_two_root_tasks_of_one_orchestrator_run_share_one_pipeline_run(ws):
    """Airflow starts both root steps' tasks at once: the first creates the pipeline run
    (the primary key fences the second), both claim their step, nothing enters nbprod's
    queue, and the step that needs both is ready once both ended."""
    from nbprod.core.pipeline_steps import finish_step, start_step
    from nbprod.core.pipelines import list_pipeline_runs

    started, errors = {}, []
    barrier = threading.Barrier(2)

    def task(step: str) -> None:
        try:
            with Workspace(Settings.load()) as own:
                barrier.wait()
                started[step] = start_step(
                    own,
                    "fan-in",
                    step,
                    version=1,
                    logical_run_id="scheduled__2026-12-03T05:00:00+00:00",
                    scheduled_for="2026-12-03T05:00:00Z",
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=task, args=(s,)) for s in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    (run,) = list_pipeline_runs(ws, "fan-in")
    assert started["a"].run.run_id == started["b"].run.run_id == run.run_id
    assert run.trigger == "airflow" and run.logical_run_id.startswith("scheduled__")
    assert started["a"].request is not None and started["b"].request is not None
    assert _queued_jobs(ws) == []  # Airflow's tasks run the steps, not nbprod's workers
    finish_step(ws, started["a"], "succeeded")
    assert get_pipeline_run(ws, run.run_id).steps["c"].status.value == "pending"
    finish_step(ws, started["b"], "succeeded")
    after = get_pipeline_run(ws, run.run_id)
    assert after.steps["c"].status.value == "queued"  # ready for its task
    assert after.steps["a"].try_number is None
    assert _queued_jobs(ws) == []


def test_cancelling_an_orchestrated_run_ends_the_steps_no_task_started(ws):
    from nbprod.core.pipeline_steps import start_step
    from nbprod.core.pipelines import cancel_pipeline_run
    from nbprod.errors import BadInput

    when = {"logical_run_id": "manual__c", "scheduled_for": "2026-12-03T05:00:00Z"}
    started = start_step(ws, "fan-in", "a", version=1, **when)
    said = cancel_pipeline_run(ws, started.run.run_id)
    assert sorted(said) == [
        "a: cancelled before its task ran it",
        "b: cancelled before its task ran it",
    ]
    run = get_pipeline_run(ws, started.run.run_id)
    assert run.status.value == "failed"
    assert [run.steps[n].status.value for n in ("a", "b", "c")] == ["failed", "failed", "skipped"]
    assert run.steps["b"].run_status == "cancelled"
    with pytest.raises(
        BadInput, match=r"step b of pipeline run .* failed: its run ended cancelled"
    ):
        start_step(ws, "fan-in", "b", version=1, **when)
