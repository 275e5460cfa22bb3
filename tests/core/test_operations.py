"""Queueing, status and maintenance in nbprod.core, on a real SQLite catalog and a local
store (records built directly; no kernel runs)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import timedelta

import pytest

from nbprod.catalog.queue import QUEUED, utcnow
from nbprod.config import Settings
from nbprod.core import Workspace, maintenance, queueing, runs, status
from nbprod.errors import ParameterError
from nbprod.records import NotebookInfo, RunRecord, RunStatus, isoformat, new_run_id
from nbprod.store import layout
from tests.conftest import write_notebook


@pytest.fixture
def ws(tmp_path):
    settings = Settings.load({"store": str(tmp_path / "store"), "home": str(tmp_path / "home")})
    with Workspace(settings) as workspace:
        yield workspace


def stored(ws, status="succeeded", *, minutes_ago=0.0, job="report", host=None) -> RunRecord:
    """A record in the store (its folder and record.json) and in the catalog."""
    moment = utcnow() - timedelta(minutes=minutes_ago)
    rec = RunRecord(
        run_id=new_run_id(moment),
        job=job,
        status=RunStatus(status),
        notebook=NotebookInfo(path=f"/nb/{job}.ipynb", name=f"{job}.ipynb", sha256="0" * 64),
        kernel="python3",
        store=ws.store.url,
        created_at=isoformat(moment),
        started_at=isoformat(moment),
        host=host or {},
    )
    ws.store.put(layout.record_key(job, rec.run_id), rec.to_json().encode())
    ws.catalog.index_run(ws.store.url, rec)
    return rec


def test_enqueue_notebook_validates_every_set_then_queues_one_snapshot(ws, tmp_path):
    nb = write_notebook(tmp_path / "report.ipynb", "print(days)", parameters="days = 1")

    with pytest.raises(ParameterError):
        queueing.enqueue_notebook(ws, nb, [{"days": 2}, {"days": "many"}])
    assert ws.queue.items((QUEUED,)) == []  # all or none

    requests = queueing.enqueue_notebook(ws, nb, [{"days": 2}, {"days": 3}], trigger="lab")

    items = {i.run_id: i for i in ws.queue.items((QUEUED,))}
    assert sorted(items) == sorted(r.run_id for r in requests)
    payloads = [items[r.run_id].request for r in requests]
    assert [p["parameters"] for p in payloads] == [{"days": 2}, {"days": 3}]
    assert {p["kind"] for p in payloads} == {"snapshot"} and payloads[0]["trigger"] == "lab"
    assert ws.store.exists(layout.snapshot_key(payloads[0]["sha256"]))
    queued = runs.list_queued(ws)
    assert [q["run_id"] for q in queued] == [r.run_id for r in requests]  # in the given order
    assert queued[0]["parameters"] == {"days": 2}


def test_status_reports_the_queue_and_reaps_a_run_whose_process_is_gone(ws):
    waiting = new_run_id(utcnow())
    ws.queue.enqueue(ws.store.url, "report", utcnow(), run_id=waiting, request={})
    here = {"hostname": platform.node()}
    alive = stored(ws, "running", host={**here, "pid": os.getpid()})  # an `nbprod exec`
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    gone = stored(ws, "running", minutes_ago=1, host={**here, "pid": int(ended.stdout)})

    report = status.scheduler_status(ws)

    assert report["counts"].get("queued") == 1
    assert [q["run_id"] for q in report["queued"]] == [waiting]
    assert [u["run_id"] for u in report["unmanaged"]] == [alive.run_id]
    assert runs.get_run(ws, gone.run_id).status is RunStatus.LOST


def test_gc_keeps_the_newest_runs_and_deletes_the_rest_from_store_and_catalog(ws):
    old, middle, new = (stored(ws, minutes_ago=m) for m in (30, 20, 10))

    (plan,) = maintenance.gc(ws, keep_last=1, dry_run=True)
    assert [r.run_id for r in plan.keep] == [new.run_id]
    assert {r.run_id for r in plan.delete} == {middle.run_id, old.run_id}
    assert len(runs.list_runs(ws)) == 3  # a dry run deletes nothing

    maintenance.gc(ws, keep_last=1, dry_run=False)
    assert [r.run_id for r in runs.list_runs(ws)] == [new.run_id]
    assert not ws.store.exists(layout.record_key("report", old.run_id))


def test_rebuild_reindexes_the_catalog_from_the_store(ws):
    kept = stored(ws)
    ws.catalog.delete_run(ws.store.url, kept.run_id)
    assert runs.list_runs(ws) == []

    maintenance.catalog_rebuild(ws)

    assert [r.run_id for r in runs.list_runs(ws)] == [kept.run_id]
