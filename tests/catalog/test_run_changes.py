"""nbprod.catalog.changes, the source of live updates, on SQLite and PostgreSQL: a run's life
written through the queue and the index as a worker writes it, each step seen by one poll."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from nbprod.catalog.changes import RunState, RunWatcher
from nbprod.catalog.queue import Queue
from nbprod.records import Progress, RunStatus
from tests.catalog.records_factory import make_record

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def watcher(catalog, store_url) -> RunWatcher:
    w = RunWatcher(catalog.engine, catalog.url, store_url)
    assert w.poll() == []  # the baseline
    return w


def test_a_queued_run_is_seen_at_each_step_to_its_end(catalog, store_url):
    queue = Queue(catalog)
    w = watcher(catalog, store_url)
    record = make_record(1, status="running", store=store_url)
    run_id, job = record.run_id, record.job

    queue.enqueue(store_url, job, NOW, run_id=run_id)
    assert w.poll() == [RunState(run_id, job, "queued")]
    assert w.poll() == []  # nothing changed, nothing said

    item = queue.claim("w1", NOW, {})
    assert item is not None and item.run_id == run_id
    assert w.poll() == [RunState(run_id, job, "starting")]

    record.progress = Progress(cells_total=4, cells_done=0)
    catalog.index_run(store_url, record)  # the runner's `running` announcement
    assert w.poll() == [RunState(run_id, job, "running", 0, 4)]

    queue.heartbeat(store_url, run_id, item.claim, NOW, cells_done=2, cells_total=4)
    assert w.poll() == [RunState(run_id, job, "running", 2, 4)]
    record.progress = Progress(cells_total=4, cells_done=3)
    catalog.index_run(store_url, record)
    assert w.poll() == [RunState(run_id, job, "running", 3, 4)]

    queue.begin_finish(store_url, run_id, item.claim, NOW)
    assert w.poll() == []
    final = dataclasses.replace(
        record, status=RunStatus.SUCCEEDED, progress=Progress(cells_total=4, cells_done=4)
    )
    catalog.index_run(store_url, final)  # indexed before the queue row is closed
    assert w.poll() == [RunState(run_id, job, "succeeded", 4, 4)]
    queue.finish(store_url, run_id, item.claim, "succeeded", NOW)
    assert w.poll() == []  # it left the set already ended: said once


def test_a_cancelled_queued_run_and_a_direct_run_end_too(catalog, store_url):
    queue = Queue(catalog)
    w = watcher(catalog, store_url)
    queued = make_record(1, status="running", store=store_url)
    queue.enqueue(store_url, queued.job, NOW, run_id=queued.run_id)
    direct = make_record(2, job="adhoc", status="running", store=store_url)  # `nbprod exec`
    catalog.index_run(store_url, direct)
    assert w.poll() == sorted(
        [
            RunState(queued.run_id, queued.job, "queued"),
            RunState(direct.run_id, "adhoc", "running"),
        ],
        key=lambda s: s.run_id,
    )

    queue.request_cancel(store_url, queued.run_id, NOW)
    catalog.index_run(store_url, dataclasses.replace(direct, status=RunStatus.FAILED))
    assert w.poll() == sorted(
        [
            RunState(queued.run_id, queued.job, "cancelled"),
            RunState(direct.run_id, "adhoc", "failed"),
        ],
        key=lambda s: s.run_id,
    )
    assert w.poll() == []


def test_other_stores_runs_are_not_seen(catalog, store_url):
    queue = Queue(catalog)
    w = watcher(catalog, store_url)
    other = make_record(1, status="running", store="file:///stores/other")
    queue.enqueue("file:///stores/other", other.job, NOW, run_id=other.run_id)
    catalog.index_run("file:///stores/other", other)
    assert w.poll() == []
