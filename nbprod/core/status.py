"""What the scheduler is doing, for `nbprod status`: queued and running runs, workers, lag.

The report reaps first (a run whose process is known gone is ended as ``lost``), so what
it shows is what is really running.
"""

from __future__ import annotations

from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.records import RunRecord


def scheduler_status(ws: Workspace, *, stalled_after: float = 600.0) -> dict[str, Any]:
    """Queued and running runs, workers and lag, for `nbprod status`.

    Runs whose process is known gone are reaped first (as ``lost``). A running run whose
    cells made no progress for ``stalled_after`` seconds is flagged ``stalled``; one whose
    worker stopped beating for ``lost_after``, ``stale``. ``unmanaged`` lists running runs
    outside the queue (``nbprod exec``), whose owner only their record names.
    """
    from nbprod.catalog.queue import QUEUED, parse_iso, utcnow
    from nbprod.scheduler.lost import reap_orphans, settle_lost, worker_gone

    settings, catalog, queue = ws.settings, ws.catalog, ws.queue
    now = utcnow()
    store_url = ws.store.url
    try:
        for item in queue.running():
            if worker_gone(item.worker, item.started_at):
                settle_lost(queue, item, settings, catalog, now)
        reap_orphans(settings, catalog, store_url, now)
    except Exception as exc:  # noqa: BLE001 - a report must not fail on its clean-up
        import logging

        logging.getLogger("nbprod").warning("could not reap orphaned runs: %s", exc)
    queued = queue.items((QUEUED,), limit=1000)
    running = queue.running()
    due = [i for i in queued if parse_iso(i.available_at) <= now]
    lag = max((now - parse_iso(i.available_at)).total_seconds() for i in due) if due else 0.0
    held = {i.run_id for i in running}
    unmanaged = [
        _unmanaged_view(r, now)
        for r in catalog.query_runs(store_url, _running_filter())
        if r.run_id not in held
    ]
    return {
        "counts": queue.counts(),
        "queued": [_item_view(i, now) for i in queued[:50]],
        "running": [
            _item_view(i, now, settings.lost_after, stalled_after)
            for i in sorted(running, key=lambda i: (i.started_at or "", i.run_id))
        ],
        "unmanaged": unmanaged,
        "workers": [_worker_view(w, now, settings.lost_after) for w in queue.workers()],
        "lag_s": round(lag, 3),
    }


def _running_filter() -> Any:
    from nbprod.catalog.query import RunFilter

    return RunFilter(status=["running"], limit=200)


def _unmanaged_view(record: RunRecord, now: Any) -> dict[str, Any]:
    from nbprod.catalog.queue import parse_iso

    started = parse_iso(record.started_at) if record.started_at else None
    return {
        "run_id": record.run_id,
        "job": record.job,
        "owner": f"{record.host.get('hostname')}:{record.host.get('pid')}",
        "running_s": round((now - started).total_seconds(), 1) if started else None,
        "cells_done": record.progress.cells_done,
        "cells_total": record.progress.cells_total,
    }


def _worker_view(row: dict[str, Any], now: Any, lost_after: float) -> dict[str, Any]:
    """A worker row; one silent for longer than ``lost_after`` (killed, host gone) is
    ``gone`` whatever it last said (it cannot say ``stopped`` once killed)."""
    from nbprod.catalog.queue import parse_iso

    age = (now - parse_iso(row["heartbeat_at"])).total_seconds()
    view = {**row, "heartbeat_age_s": round(age, 1)}
    if row["state"] != "stopped" and age > lost_after:
        view["state"] = "gone"
    return view


def _item_view(
    item: Any, now: Any, lost_after: float | None = None, stalled_after: float | None = None
) -> dict[str, Any]:
    from nbprod.catalog.queue import parse_iso

    def age(stamp: str | None) -> float | None:
        return round((now - parse_iso(stamp)).total_seconds(), 1) if stamp else None

    view = {
        "run_id": item.run_id,
        "job": item.job,
        "state": item.state,
        "attempt": item.attempt,
        "scheduled_for": item.scheduled_for,
        "available_at": item.available_at,
        "worker": item.worker,
        "running_s": age(item.started_at),
        "cancel_requested": item.cancel_requested,
        "waiting_reason": item.waiting_reason,
    }
    if lost_after is not None:
        quiet = age(item.progress_at or item.started_at)
        heartbeat = age(item.heartbeat_at)
        view.update(
            cells_done=item.cells_done,
            cells_total=item.cells_total,
            progress_at=item.progress_at,
            no_progress_s=quiet,
            heartbeat_age_s=heartbeat,
            stale=heartbeat is not None and heartbeat > lost_after,
            stalled=quiet is not None and stalled_after is not None and quiet > stalled_after,
        )
    return view
