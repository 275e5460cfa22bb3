"""A worker process: claim queued runs from the catalog and execute them through the core.

One run at a time per process (a kernel is a process of its own; parallelism comes from
more workers, here or on other machines sharing the catalog and store). While a run
executes, a heartbeat thread refreshes it in the catalog and picks up cancel requests.
Signals: SIGTERM drains (finish the current run, then exit); SIGINT cancels the current
run (its output is stored) and exits.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from nbprod.config import Settings
from nbprod.errors import NbprodError
from nbprod.scheduler import policy
from nbprod.scheduler.events import event
from nbprod.scheduler.queue import Queue, utcnow, worker_id


class Worker:
    def __init__(
        self,
        settings: Settings,
        catalog: Any,
        *,
        burst: bool = False,
        poll: float = 0.5,
        only: set[str] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.queue = Queue(catalog)
        self.burst = burst
        self.poll = poll
        self.name = worker_id()
        self.only = only
        self.draining = threading.Event()
        self.control: Any = None
        self.cancel_pending = False

    def install_signals(self) -> None:
        def drain(signum: int, frame: Any) -> None:
            self.draining.set()

        def cancel(signum: int, frame: Any) -> None:
            self.draining.set()
            self.cancel_pending = True  # a run being prepared is cancelled once it has control
            if self.control is not None:
                self.control.stop("cancel")

        signal.signal(signal.SIGTERM, drain)
        signal.signal(signal.SIGINT, cancel)

    def run_forever(self) -> int:
        """Process items until drained (or, in burst mode, until the queue is empty)."""
        event("worker_started", worker=self.name)
        done = 0
        while not self.draining.is_set():
            self.queue.worker_beat(self.name, utcnow(), "idle", None)
            limits = self._limits()
            item = self.queue.claim(self.name, utcnow(), limits, only=self.only)
            if item is None:
                if self.burst:
                    break
                self.draining.wait(self.poll)
                continue
            self.execute(item)
            done += 1
        self.queue.worker_beat(self.name, utcnow(), "stopped", None)
        event("worker_stopped", worker=self.name, runs=done)
        return done

    def _limits(self) -> dict[tuple[str, str], int]:
        from nbprod.catalog.schema import jobs

        with self.catalog.engine.connect() as conn:
            rows = conn.execute(
                jobs.select().with_only_columns(jobs.c.store, jobs.c.name, jobs.c.definition)
            ).fetchall()
        return {(r.store, r.name): int((r.definition or {}).get("concurrency") or 1) for r in rows}

    def execute(self, item: Any) -> str:
        """Run one claimed item to its end; returns the final status."""
        event(
            "claimed",
            worker=self.name,
            job=item.job,
            run_id=item.run_id,
            attempt=item.attempt,
            scheduled_for=item.scheduled_for,
        )
        # Beat from the claim on: importing the engine and preparing the run (reading the
        # snapshot from the store) take seconds, and must not look like a dead worker.
        beating = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(item, beating), daemon=True)
        beat.start()
        notifications = item.request.get("notifications") or {}
        try:
            from nbprod.api import run
            from nbprod.engine import RunControl

            self.queue.worker_beat(self.name, utcnow(), "running", item.run_id)
            try:
                request = prepare_item(item, self.settings)
            except NbprodError as exc:
                self.queue.finish(item.store, item.run_id, item.claim, "failed", utcnow())
                event("unrunnable", job=item.job, run_id=item.run_id, error=str(exc))
                return "failed"
            self.control = RunControl(kill_grace=self.settings.kill_grace)
            if self.cancel_pending and self.control.reason is None:
                self.control.stop("cancel")
            _notify("on_start", None, notifications, self.settings, item)
            result = run(request, control=self.control, handle_signals=False)
        finally:
            beating.set()
            beat.join()
        status = result.record.status.value
        now = utcnow()
        self.queue.finish(item.store, item.run_id, item.claim, status, now)
        event(
            "finished",
            worker=self.name,
            job=item.job,
            run_id=item.run_id,
            status=status,
            attempt=item.attempt,
            duration_s=result.record.duration_s,
        )
        self.control = None
        policy.enqueue_retry(self.queue, item, status, now)
        _notify(
            "on_success" if status == "succeeded" else "on_failure",
            result.record,
            notifications,
            self.settings,
            item,
            result.output_location,
        )
        return status

    def _heartbeat(self, item: Any, stop: threading.Event) -> None:
        while not stop.wait(self.settings.heartbeat_seconds):
            try:
                cancel = self.queue.heartbeat(item.store, item.run_id, item.claim, utcnow()).cancel
                self.queue.worker_beat(self.name, utcnow(), "running", item.run_id)
            except Exception as exc:  # a busy catalog must not kill the run
                event("heartbeat_failed", run_id=item.run_id, error=str(exc))
                continue
            if cancel and self.control is not None and self.control.reason is None:
                event("cancel_requested", run_id=item.run_id, job=item.job)
                self.control.stop("cancel")


def prepare_item(item: Any, settings: Settings) -> Any:
    """The RunRequest for a queued item: the pinned job version, or a stored snapshot."""
    from dataclasses import replace

    from nbprod.jobs.actions import prepare_job_run

    request = item.request
    item_settings = (
        settings if settings.store == item.store else replace(settings, store=item.store)
    )
    if request.get("kind") == "snapshot":
        return _prepare_snapshot(item, item_settings)
    return prepare_job_run(
        item.job,
        settings=item_settings,
        parameters=request.get("parameters") or {},
        version=request.get("job_version"),
        trigger=request.get("trigger", "schedule"),
        run_id=item.run_id,
        attempt=item.attempt,
        scheduled_for=item.scheduled_for,
        logical_run_id=item.logical_run_id,
    )


def _prepare_snapshot(item: Any, settings: Settings) -> Any:
    """A queued run of a stored notebook snapshot (no job definition), e.g. a sweep's."""
    from pathlib import Path

    from nbprod.jobs.service import materialize_snapshot
    from nbprod.runner import prepare
    from nbprod.store import open_store

    request = item.request
    path = materialize_snapshot(
        open_store(item.store),
        request["sha256"],
        request["notebook_name"],
        settings.home / "snapshots",
    )
    cwd = request.get("cwd")
    return prepare(
        path,
        settings=settings,
        parameters=request.get("parameters") or {},
        job=item.job,
        kernel=request.get("kernel"),
        cwd=cwd if cwd and Path(cwd).is_dir() else None,
        timeout=request.get("timeout"),
        cell_timeout=request.get("cell_timeout"),
        trigger=request.get("trigger", "queue"),
        tags=request.get("tags") or [],
        source_path=request.get("source_path"),
        run_id=item.run_id,
        attempt=item.attempt,
        scheduled_for=item.scheduled_for,
        logical_run_id=item.logical_run_id,
    )


def _notify(
    event_name: str,
    record: Any,
    notifications: dict,
    settings: Settings,
    item: Any,
    output_location: str | None = None,
) -> None:
    if not notifications.get(event_name):
        return
    try:
        from nbprod.notify import send

        if record is None:
            from nbprod.scheduler.lost import placeholder_record

            record = placeholder_record(item, "running")
        deliveries = send(
            event_name, record, notifications, settings=settings, output_location=output_location
        )
        for delivery in deliveries:
            event(
                "notified",
                run_id=item.run_id,
                notify_event=event_name,
                target=delivery.target,
                ok=delivery.ok,
                error=delivery.error,
            )
    except Exception as exc:  # a failing notifier never fails the run
        event("notify_failed", run_id=item.run_id, error=str(exc))
