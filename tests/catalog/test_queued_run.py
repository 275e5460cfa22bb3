"""QueuedRun, the queue payload's type: stored values unchanged, bad payloads named clearly."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from nbprod.catalog.queue import Queue
from nbprod.catalog.queued import HELD, QueuedRun, QueueState, RunKind, Trigger
from nbprod.catalog.schema import queue as queue_table
from nbprod.errors import CorruptData, NbprodError
from nbprod.scheduler.policy import retry_at

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

JOB_PAYLOAD = {  # as nbprod.api.enqueue_job and the scheduler's fires stored it
    "kind": "job",
    "job_version": 3,
    "parameters": {"days": 7, "region": "eu"},
    "trigger": "job",
    "retries": 2,
    "retry_delay": 30.0,
    "notifications": {"on_failure": [{"type": "webhook", "url": "http://127.0.0.1:1/x"}]},
}
SNAPSHOT_PAYLOAD = {  # as nbprod.api.enqueue_notebook stored it (sweeps, the lab)
    "kind": "snapshot",
    "sha256": "ab" * 32,
    "notebook_name": "report.ipynb",
    "source_path": "/work/report.ipynb",
    "parameters": {"lr": 0.1},
    "kernel": "python3",
    "cwd": "/work",
    "timeout": 600.0,
    "cell_timeout": None,
    "tags": ["sweep:s1"],
    "trigger": "sweep",
}


@pytest.mark.parametrize("stored", [JOB_PAYLOAD, SNAPSHOT_PAYLOAD], ids=["job", "snapshot"])
def test_payloads_round_trip_to_the_same_stored_json(stored):
    run = QueuedRun.from_dict(stored)
    assert run.to_dict() == stored
    assert QueuedRun.from_dict(run.to_dict()) == run
    assert json.loads(json.dumps(run.to_dict())) == stored


def test_fields_are_typed_and_defaults_match_what_workers_assumed():
    job = QueuedRun.from_dict(JOB_PAYLOAD)
    assert job.kind is RunKind.JOB and job.trigger is Trigger.JOB and job.job_version == 3
    snapshot = QueuedRun.from_dict(SNAPSHOT_PAYLOAD)
    assert snapshot.kind is RunKind.SNAPSHOT and snapshot.tags == ["sweep:s1"]
    empty = QueuedRun.from_dict({})  # a bare enqueue: a scheduled run of the latest version
    assert (empty.kind, empty.trigger, empty.retries, empty.retry_delay) == (
        RunKind.JOB,
        Trigger.SCHEDULE,
        0,
        60.0,
    )
    bare_snapshot = {"kind": "snapshot", "sha256": "c" * 64, "notebook_name": "n.ipynb"}
    assert QueuedRun.from_dict(bare_snapshot).trigger is Trigger.QUEUE


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({**JOB_PAYLOAD, "retries": "two"}, "field 'retries' must be an integer >= 0, not 'two'"),
        ({**JOB_PAYLOAD, "retries": True}, "field 'retries' must be an integer"),
        ({**JOB_PAYLOAD, "retry_delay": "soon"}, "field 'retry_delay' must be a number"),
        ({**JOB_PAYLOAD, "job_version": 1.5}, "field 'job_version' must be an integer >= 1"),
        ({**JOB_PAYLOAD, "parameters": [1, 2]}, "field 'parameters' must be an object"),
        ({**JOB_PAYLOAD, "kind": "script"}, "field 'kind' must be one of job, snapshot"),
        ({**JOB_PAYLOAD, "trigger": "cron"}, "field 'trigger' must be one of manual, job"),
        ({**SNAPSHOT_PAYLOAD, "tags": "a,b"}, "field 'tags' must be a list of strings"),
        ({**SNAPSHOT_PAYLOAD, "timeout": float("nan")}, "field 'timeout' must be a number"),
        ({k: v for k, v in SNAPSHOT_PAYLOAD.items() if k != "sha256"}, "needs 'sha256'"),
        ({**SNAPSHOT_PAYLOAD, "notebook_name": None}, "needs 'notebook_name'"),
        ({**SNAPSHOT_PAYLOAD, "notebook_name": 7}, "field 'notebook_name' must be a string"),
        ([JOB_PAYLOAD], "the payload is list, not an object"),
    ],
)
def test_a_missing_or_ill_typed_field_is_corrupt_data_naming_it(payload, message):
    with pytest.raises(CorruptData, match="^queued run r1: ") as caught:
        QueuedRun.from_dict(payload, "queued run r1")
    assert message in str(caught.value)
    assert isinstance(caught.value, NbprodError)  # a worker ends such a run as failed


def test_enqueue_takes_a_queued_run_or_the_dicts_callers_build(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "a", NOW, run_id="typed", request=QueuedRun.from_dict(JOB_PAYLOAD))
    queue.enqueue(store_url, "a", NOW, run_id="dict", request=dict(JOB_PAYLOAD))
    queue.enqueue(store_url, "a", NOW, run_id="snap", request=dict(SNAPSHOT_PAYLOAD))
    assert queue.get(store_url, "typed").request == JOB_PAYLOAD  # stored as before
    assert queue.get(store_url, "dict").request == JOB_PAYLOAD
    assert queue.get(store_url, "snap").payload == QueuedRun.from_dict(SNAPSHOT_PAYLOAD)
    with pytest.raises(CorruptData, match="field 'retries'"):
        queue.enqueue(store_url, "a", NOW, run_id="bad", request={"retries": "x"})
    assert queue.get(store_url, "bad") is None  # nothing queued


def test_a_corrupt_stored_payload_is_named_when_read_not_a_key_error(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "a", NOW, run_id="r-bad")
    with catalog.engine.begin() as conn:  # a row edited by hand, or by another version
        conn.execute(
            queue_table.update()
            .where(queue_table.c.store == store_url, queue_table.c.run_id == "r-bad")
            .values(request={"kind": "snapshot", "retries": 1})
        )
    item = queue.claim("w:1", NOW, {}, store=store_url)
    assert item.run_id == "r-bad"
    with pytest.raises(CorruptData, match="^queued run r-bad: a snapshot run needs 'sha256'"):
        _ = item.payload
    with pytest.raises(CorruptData, match="queued run r-bad"):
        retry_at(item, "failed", NOW)


def test_queue_states_are_str_enums_with_the_stored_values(catalog, store_url):
    assert [s.value for s in QueueState] == ["queued", "running", "finishing", "done", "cancelled"]
    assert HELD == ("running", "finishing")
    assert f"{QueueState.RUNNING}" == "running" and str(Trigger.RETRY) == "retry"
    queue = Queue(catalog)
    queue.enqueue(store_url, "a", NOW, run_id="s1")
    item = queue.claim("w:1", NOW, {}, store=store_url)
    assert item.state is QueueState.RUNNING
    assert queue.counts()["running"] >= 1
    with catalog.engine.connect() as conn:
        stored = conn.execute(
            queue_table.select().where(
                queue_table.c.run_id == "s1", queue_table.c.store == store_url
            )
        ).one()
    assert stored.state == "running" and type(stored.state) is str


def test_a_worker_ends_a_run_with_a_corrupt_payload_as_failed(catalog, tmp_path):
    from nbprod.config import Settings
    from nbprod.scheduler.worker import Worker

    store = f"file://{tmp_path / 'store'}"
    settings = Settings.load(
        environ={"NBPROD_HOME": str(tmp_path / "home"), "NBPROD_CONFIG": "/none"}
    )
    settings = replace(settings, store=store)
    queue = Queue(catalog)
    queue.enqueue(store, "a", NOW, run_id="r-corrupt")
    with catalog.engine.begin() as conn:
        conn.execute(
            queue_table.update()
            .where(queue_table.c.store == store, queue_table.c.run_id == "r-corrupt")
            .values(request={"kind": "snapshot", "notebook_name": "n.ipynb"})  # no sha256
        )
    worker = Worker(settings, catalog)
    item = queue.claim(worker.name, NOW, {}, store=store)
    assert worker.execute(item) == "failed"  # was a KeyError that crashed the worker
    ended = queue.get(store, "r-corrupt")
    assert (ended.state, ended.final_status) == ("done", "failed")
