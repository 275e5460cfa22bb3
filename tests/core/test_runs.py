"""The run operations in nbprod.core.runs, on a real SQLite catalog and a local store.

Records are built directly (no kernel): what is under test is which copy of a run every
face shows, the queue merge, and opening an output.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import nbformat
import pytest

from nbprod.catalog.queue import utcnow
from nbprod.config import Settings
from nbprod.core import Workspace, runs
from nbprod.errors import Conflict, RunNotFound
from nbprod.records import NotebookInfo, Progress, RunRecord, RunStatus, isoformat, new_run_id
from nbprod.store import layout

BASE = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def ws(tmp_path):
    settings = Settings.load({"store": str(tmp_path / "store"), "home": str(tmp_path / "home")})
    with Workspace(settings) as workspace:
        yield workspace


def record(ws, minutes, status="succeeded", cells=0, job="report", output=None) -> RunRecord:
    moment = BASE + timedelta(minutes=minutes)
    return RunRecord(
        run_id=new_run_id(moment),
        job=job,
        status=RunStatus(status),
        notebook=NotebookInfo(path=f"/nb/{job}.ipynb", name=f"{job}.ipynb", sha256="0" * 64),
        kernel="python3",
        store=ws.store.url,
        started_at=isoformat(moment),
        finished_at=None if status == "running" else isoformat(moment + timedelta(seconds=5)),
        progress=Progress(cells_total=5, cells_done=cells),
        artifacts={"output": output} if output else {},
    )


def index(ws, rec: RunRecord) -> None:
    ws.catalog.index_run(ws.store.url, rec)


def publish(ws, rec: RunRecord) -> None:
    ws.store.put(layout.record_key(rec.job, rec.run_id), rec.to_json().encode())


def enqueue(ws, run_id: str, job: str = "report") -> None:
    ws.queue.enqueue(ws.store.url, job, utcnow(), run_id=run_id, request={"trigger": "queue"})


def claim(ws, run_id: str) -> None:
    item = ws.queue.claim("test-worker", utcnow(), {}, only={run_id})
    assert item is not None and item.run_id == run_id


def test_freshest_rule():
    def rec(status, cells):
        return replace(base, status=RunStatus(status), progress=Progress(5, cells))

    base = RunRecord("r", "j", RunStatus.RUNNING, NotebookInfo("p", "n", "s"), "k", "s")
    done, running = rec("succeeded", 5), rec("running", 3)
    assert runs.freshest(running, None) is running
    assert runs.freshest(None, running) is running
    assert runs.freshest(done, rec("running", 4)) is done  # a finished record is final
    assert runs.freshest(running, done) is done
    ahead, behind = rec("running", 4), rec("running", 2)
    assert runs.freshest(behind, ahead) is ahead  # the store's copy, further on
    assert runs.freshest(ahead, behind) is ahead  # a stale store read loses
    same = rec("running", 3)
    assert runs.freshest(running, same) is same  # a tie: the store's copy


def test_listing_merges_queue_catalog_and_store_with_the_freshest_copy(ws):
    finished = record(ws, 1, "failed")
    index(ws, finished)
    publish(ws, finished)

    worker_ahead = record(ws, 2, "running", cells=1)  # a worker re-published 3 cells done
    index(ws, worker_ahead)
    publish(ws, replace(worker_ahead, progress=Progress(5, 3)))
    enqueue(ws, worker_ahead.run_id)
    claim(ws, worker_ahead.run_id)

    ended = record(ws, 3, "running", cells=2)  # `nbprod exec`, not queued: ended since
    index(ws, ended)
    publish(ws, replace(ended, status=RunStatus.SUCCEEDED, progress=Progress(5, 5)))

    stale = record(ws, 4, "running", cells=4)  # the store's copy is behind the catalog's
    index(ws, stale)
    publish(ws, replace(stale, progress=Progress(5, 2)))

    waiting = new_run_id(BASE + timedelta(minutes=5))  # queued: no record anywhere yet
    enqueue(ws, waiting)

    entries = runs.recent_runs(ws, limit=10)

    assert [e.run_id for e in entries] == [
        waiting,
        stale.run_id,
        ended.run_id,
        worker_ahead.run_id,
        finished.run_id,
    ]
    by_id = {e.run_id: e for e in entries}
    assert by_id[waiting].record is None and by_id[waiting].item.state == "queued"
    assert by_id[stale.run_id].record.progress.cells_done == 4
    assert by_id[ended.run_id].record.status is RunStatus.SUCCEEDED
    assert by_id[worker_ahead.run_id].record.progress.cells_done == 3
    assert by_id[worker_ahead.run_id].item.state == "running"
    assert by_id[finished.run_id].record.status is RunStatus.FAILED
    assert by_id[finished.run_id].item is None
    assert [e.run_id for e in runs.recent_runs(ws, limit=2)] == [waiting, stale.run_id]
    assert runs.recent_runs(ws, job="other") == []


def test_rest_listing_and_browse_page_show_the_same_copy(ws):
    """One rule: the REST listing, the REST run and the browse UI's run page agree."""
    from nbprod.server import rest
    from nbprod.server.browse_data import BrowseData

    ahead = record(ws, 1, "running", cells=1)
    index(ws, ahead)
    publish(ws, replace(ahead, progress=Progress(5, 3)))
    stale = record(ws, 2, "running", cells=4)
    index(ws, stale)
    publish(ws, replace(stale, progress=Progress(5, 2)))

    service = BrowseData(ws.settings)
    try:
        for rec, cells in ((ahead, 3), (stale, 4)):
            assert service.fresh_run(rec.run_id).progress.cells_done == cells
            assert rest.get_run(ws.settings, rec.run_id)["progress"]["cells_done"] == cells
            (row,) = [r for r in rest.list_runs(ws.settings) if r["run_id"] == rec.run_id]
            assert row["progress"]["cells_done"] == cells
    finally:
        service.close()


def test_show_run_finds_a_queued_run_and_refuses_unknown_ones(ws):
    waiting = new_run_id(BASE)
    enqueue(ws, waiting)
    entry = runs.show_run(ws, waiting)
    assert entry.record is None and entry.item.run_id == waiting

    with pytest.raises(RunNotFound, match="no run"):
        runs.show_run(ws, new_run_id(BASE + timedelta(minutes=1)))
    with pytest.raises(RunNotFound, match="not a run id"):
        runs.show_run(ws, "../etc")


def test_cancel_of_a_finished_run_raises_conflict(ws):
    from nbprod.core.queueing import cancel_run

    finished = record(ws, 1, "succeeded")
    index(ws, finished)
    publish(ws, finished)
    with pytest.raises(Conflict, match="already finished"):
        cancel_run(ws, finished.run_id)

    waiting = new_run_id(BASE + timedelta(minutes=2))
    enqueue(ws, waiting)
    assert cancel_run(ws, waiting) == f"cancelled {waiting} before it started"
    assert ws.queue.get(ws.store.url, waiting).state == "cancelled"

    done = new_run_id(BASE + timedelta(minutes=4))  # ended by its worker, still in the queue
    enqueue(ws, done)
    claim(ws, done)
    item = ws.queue.get(ws.store.url, done)
    assert ws.queue.finish(ws.store.url, done, item.claim, "succeeded", utcnow())
    with pytest.raises(Conflict, match=r"already finished \(succeeded\)"):
        cancel_run(ws, done)
    with pytest.raises(RunNotFound):
        cancel_run(ws, new_run_id(BASE + timedelta(minutes=3)))


def test_open_output_writes_a_read_only_copy(ws, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    failed = record(ws, 1, "failed")
    key = layout.output_key(failed.job, failed.run_id, "report.ipynb")
    ws.store.put(key, nbformat.writes(nb).encode())
    failed = replace(failed, artifacts={"output": key})
    index(ws, failed)

    root = tmp_path / "lab"
    opened = runs.open_output(ws, failed.run_id, root)

    assert opened.path == f"nbprod-outputs/report/{failed.run_id}/report.ipynb"
    assert opened.status == "failed"
    copy = root / opened.path
    assert not os.stat(copy).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    cell = nbformat.read(copy, as_version=4).cells[0]
    assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
    assert runs.open_output(ws, failed.run_id, root).path == opened.path  # again: replaced

    running = record(ws, 2, "running")
    index(ws, running)
    with pytest.raises(Conflict, match="still running"):
        runs.open_output(ws, running.run_id, root)
    no_output = record(ws, 3, "succeeded")
    index(ws, no_output)
    with pytest.raises(RunNotFound, match="no output notebook"):
        runs.open_output(ws, no_output.run_id, root)
