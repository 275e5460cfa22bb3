"""nbprod.catalog.queue, the queue and fire ledger, on SQLite and PostgreSQL: once, only once."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from nbprod.catalog.queue import Queue
from nbprod.catalog.queued import QueuedRun
from nbprod.scheduler.policy import retry_at
from tests.catalog.records_factory import make_version

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def _fire_in_process(url: str, store: str, scheduler: str, result) -> None:
    from nbprod.catalog.db import Catalog

    catalog = Catalog.open(url)
    queue = Queue(catalog)
    won = 0
    for minute in range(20):
        moment = NOW + timedelta(minutes=minute)
        if queue.record_fire(
            store,
            "job",
            moment,
            decision="queued",
            scheduler=scheduler,
            now=NOW,
            enqueue={"run_id": f"{scheduler}-{minute:02d}", "scheduled_for": moment},
        ):
            won += 1
    result.put(won)
    catalog.close()


def test_each_fire_is_recorded_once_across_processes(catalog, catalog_url, store_url):
    ctx = multiprocessing.get_context("spawn")
    result = ctx.Queue()
    procs = [
        ctx.Process(target=_fire_in_process, args=(catalog_url, store_url, f"s{i}", result))
        for i in range(3)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert sum(result.get(timeout=5) for _ in procs) == 20
    queue = Queue(catalog)
    items = queue.items(("queued",), limit=1000)
    mine = [i for i in items if i.store == store_url]
    assert (
        sorted(i.scheduled_for for i in mine) == sorted({i.scheduled_for for i in mine})
        and len(mine) == 20
    )
    assert queue.last_fire(store_url, "job") == NOW + timedelta(minutes=19)


def test_claims_are_exclusive_and_respect_concurrency(catalog, store_url):
    queue = Queue(catalog)
    for n in range(3):
        queue.enqueue(store_url, "limited", NOW, run_id=f"a{n}")
    queue.enqueue(store_url, "free", NOW, run_id="b0")
    limits = {(store_url, "limited"): 1}
    first = queue.claim("w1", NOW, limits, store=store_url)
    second = queue.claim("w2", NOW, limits, store=store_url)
    third = queue.claim("w3", NOW, limits, store=store_url)
    assert first.run_id == "a0" and first.state == "running" and first.worker == "w1"
    assert second.run_id == "b0"  # a1 waits: 'limited' is at its concurrency
    assert third is None
    assert queue.finish(store_url, "a0", first.claim, "succeeded", NOW)
    assert queue.claim("w3", NOW, limits, store=store_url).run_id == "a1"
    assert queue.get(store_url, "a0").final_status == "succeeded"


def test_claim_limits_are_each_defined_jobs_concurrency(catalog, store_url):
    two = make_version("pair", 1)
    two.definition = replace(two.definition, concurrency=2)
    catalog.index_job_version(store_url, two)
    catalog.index_job_version(store_url, make_version("single", 1))
    limits = catalog.concurrency_limits()
    assert limits[(store_url, "pair")] == 2 and limits[(store_url, "single")] == 1
    queue = Queue(catalog)
    for n in range(3):
        queue.enqueue(store_url, "pair", NOW, run_id=f"p{n}")
    claimed = [queue.claim("w", NOW, limits, store=store_url) for _ in range(3)]
    assert [c.run_id if c else None for c in claimed] == ["p0", "p1", None]


def test_future_items_wait_until_available(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="later", available_at=NOW + timedelta(minutes=5))
    assert queue.claim("w", NOW, {}, store=store_url) is None
    assert queue.claim("w", NOW + timedelta(minutes=5), {}, store=store_url).run_id == "later"


def test_cancel_queued_and_running(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="q1")
    queue.enqueue(store_url, "job", NOW, run_id="q2")
    assert queue.request_cancel(store_url, "q1", NOW) == "cancelled"
    claimed = queue.claim("w", NOW, {}, store=store_url)
    assert claimed.run_id == "q2"  # the cancelled one is never handed out
    assert queue.heartbeat(store_url, "q2", claimed.claim, NOW).cancel is False
    assert queue.request_cancel(store_url, "q2", NOW) == "running"
    assert queue.heartbeat(store_url, "q2", claimed.claim, NOW).cancel is True
    assert queue.request_cancel(store_url, "missing", NOW) == "missing"
    assert queue.find("q2").run_id == "q2"


def test_stale_items_are_taken_over_once(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="r1")
    queue.claim("w", NOW, {}, store=store_url)
    later = NOW + timedelta(seconds=40)
    stale = [i for i in queue.stale(later, 30) if i.store == store_url]
    assert [i.run_id for i in stale] == ["r1"]
    assert queue.take_over(stale[0], later, "lost") is True
    assert queue.take_over(stale[0], later, "lost") is False  # a second reaper gets nothing
    assert queue.get(store_url, "r1").final_status == "lost"


def test_a_heartbeat_saves_a_run_from_the_reaper(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="r2")
    claimed = queue.claim("w", NOW, {}, store=store_url)
    seen = [i for i in queue.stale(NOW + timedelta(seconds=40), 30) if i.store == store_url][0]
    queue.heartbeat(store_url, "r2", claimed.claim, NOW + timedelta(seconds=41))
    assert queue.take_over(seen, NOW + timedelta(seconds=42), "lost") is False


def test_retry_backoff_doubles_and_stops():
    class Item:
        payload = QueuedRun(retries=2, retry_delay=10)
        attempt = 1

    item = Item()
    assert retry_at(item, "failed", NOW) == NOW + timedelta(seconds=10)
    item.attempt = 2
    assert retry_at(item, "lost", NOW) == NOW + timedelta(seconds=20)
    item.attempt = 3
    assert retry_at(item, "failed", NOW) is None  # two retries used
    item.attempt = 1
    assert retry_at(item, "succeeded", NOW) is None
    assert retry_at(item, "cancelled", NOW) is None


def test_a_fenced_claim_can_neither_beat_nor_finish(catalog, store_url):
    """A worker frozen past lost_after: the reaper took its row over; when it resumes,
    its heartbeat, begin_finish and finish are refused and change nothing."""
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="f1")
    mine = queue.claim("w", NOW, {}, store=store_url)
    assert mine.claim and queue.heartbeat(store_url, "f1", mine.claim, NOW).held
    later = NOW + timedelta(seconds=40)
    (seen,) = [i for i in queue.stale(later, 30) if i.store == store_url]
    assert queue.take_over(seen, later, "lost")
    beat = queue.heartbeat(store_url, "f1", mine.claim, later + timedelta(seconds=1))
    assert beat.held is False
    assert queue.begin_finish(store_url, "f1", mine.claim, later) is False
    assert queue.finish(store_url, "f1", mine.claim, "succeeded", later) is False
    assert queue.holds(store_url, "f1", mine.claim) is False
    row = queue.get(store_url, "f1")
    assert (row.state, row.final_status, row.claim) == ("done", "lost", None)
    assert row.heartbeat_at == seen.heartbeat_at  # the refused beat wrote nothing


def test_another_claims_token_is_refused(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="f2")
    mine = queue.claim("w", NOW, {}, store=store_url)
    assert not queue.heartbeat(store_url, "f2", "not-my-claim", NOW).held
    assert not queue.finish(store_url, "f2", "not-my-claim", "failed", NOW)
    assert not queue.finish(store_url, "f2", None, "failed", NOW)
    assert queue.get(store_url, "f2").state == "running"
    assert queue.finish(store_url, "f2", mine.claim, "succeeded", NOW)


def test_finishing_is_held_and_finish_is_idempotent(catalog, store_url):
    """running -> finishing -> done under one claim; a retried finish (its commit's answer
    lost in an outage) sees its own ending; a fresh finishing row is not stale."""
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="f3")
    mine = queue.claim("w", NOW, {}, store=store_url)
    assert queue.begin_finish(store_url, "f3", mine.claim, NOW)
    assert queue.begin_finish(store_url, "f3", mine.claim, NOW)  # a retry is harmless
    assert queue.get(store_url, "f3").state == "finishing"
    assert queue.heartbeat(store_url, "f3", mine.claim, NOW + timedelta(seconds=10)).held
    assert not [i for i in queue.stale(NOW + timedelta(seconds=20), 30) if i.store == store_url]
    assert queue.request_cancel(store_url, "f3", NOW) == "running"
    assert queue.finish(store_url, "f3", mine.claim, "succeeded", NOW)
    assert queue.finish(store_url, "f3", mine.claim, "succeeded", NOW)  # the retry
    assert not queue.finish(store_url, "f3", mine.claim, "failed", NOW)  # not its ending
    assert queue.get(store_url, "f3").final_status == "succeeded"


def test_a_stale_finishing_row_is_taken_over(catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="f4")
    mine = queue.claim("w", NOW, {}, store=store_url)
    assert queue.begin_finish(store_url, "f4", mine.claim, NOW)
    (seen,) = [i for i in queue.stale(NOW + timedelta(seconds=40), 30) if i.store == store_url]
    assert seen.state == "finishing"
    assert queue.take_over(seen, NOW + timedelta(seconds=40), "lost")
    assert not queue.finish(store_url, "f4", mine.claim, "succeeded", NOW)


def test_mark_lost_never_overwrites_a_terminal_record(catalog, tmp_path):
    """A worker that published its final record and died before telling the queue: the
    reaper keeps that record, corrects the queue and does not retry a succeeded run."""
    from nbprod.config import Settings
    from nbprod.records import NotebookInfo, RunRecord, RunStatus
    from nbprod.scheduler.lost import mark_lost, settle_lost
    from nbprod.store import layout, open_store

    settings = Settings.load({"store": str(tmp_path / "store")})
    store = open_store(settings.store)
    queue = Queue(catalog)
    for run_id, status in (("t1", RunStatus.SUCCEEDED), ("t2", RunStatus.RUNNING)):
        queue.enqueue(
            store.url, "job", NOW, run_id=run_id, request={"retries": 3, "retry_delay": 1}
        )
        record = RunRecord(
            run_id=run_id,
            job="job",
            status=status,
            notebook=NotebookInfo(path="/nb.ipynb", name="nb.ipynb", sha256="0" * 64),
            kernel="python3",
            store=store.url,
            started_at="2026-11-26T12:00:00.000Z",
        )
        store.put(layout.record_key("job", run_id), record.to_json().encode())
    for _ in range(2):
        queue.claim("w", NOW, {}, store=store.url)
    later = NOW + timedelta(seconds=40)
    stale = {i.run_id: i for i in queue.stale(later, 30) if i.store == store.url}
    assert settle_lost(queue, stale["t1"], settings, catalog, later)
    assert settle_lost(queue, stale["t2"], settings, catalog, later)

    kept = RunRecord.from_json(store.get(layout.record_key("job", "t1")))
    assert kept.status is RunStatus.SUCCEEDED and kept.error is None
    assert queue.get(store.url, "t1").final_status == "succeeded"
    assert catalog.get_run(store.url, "t1").status is RunStatus.SUCCEEDED
    lost = RunRecord.from_json(store.get(layout.record_key("job", "t2")))
    assert lost.status is RunStatus.LOST and lost.error.ename == "Lost"
    assert queue.get(store.url, "t2").final_status == "lost"
    retries = [i for i in queue.items(("queued",)) if i.store == store.url]
    assert [(i.logical_run_id, i.attempt) for i in retries] == [("t2", 2)]  # t1 is not rerun
    # a second mark_lost (another reaper, a late cancel) leaves the lost record as it is
    again = mark_lost(stale["t2"], settings, catalog, later + timedelta(seconds=5))
    assert again.finished_at == lost.finished_at
