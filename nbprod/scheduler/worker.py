"""A worker process: claim queued runs from the catalog and execute them through the core.

One run at a time per process (a kernel is a process of its own; parallelism comes from
more workers, here or on other machines sharing the catalog and store). While a run
executes, a heartbeat thread refreshes it in the catalog and picks up cancel requests.
Signals: SIGTERM drains (finish the current run, then exit); SIGINT cancels the current
run (its output is stored) and exits.

Each claim carries a fencing token (see fence.py): a worker whose claim was taken over
while it was frozen or cut off stops its kernel and publishes no final record. The writes
that end a run wait out a catalog outage (durable.py) instead of crashing the worker.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from nbprod.catalog.queue import Queue, utcnow, worker_id
from nbprod.catalog.queued import QueuedRun, RunKind
from nbprod.catalog.sql import transient
from nbprod.config import Settings
from nbprod.errors import NbprodError
from nbprod.notify import end_event
from nbprod.scheduler.durable import persist
from nbprod.scheduler.ending import run_ended
from nbprod.scheduler.events import event
from nbprod.scheduler.fence import Fence, FencedStore


class Worker:
    def __init__(
        self,
        settings: Settings,
        catalog: Any,
        *,
        burst: bool = False,
        poll: float = 0.5,
        only: set[str] | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.queue = Queue(catalog)
        self.burst = burst
        self.poll = poll
        self.name = name or worker_id()
        self.only = only
        self.draining = threading.Event()
        self.control: Any = None
        self.cancel_pending = False
        self.bell: Any = None
        self.warm: Any = None
        """A warm_kernels.WarmKernels while processing the queue (the next run's kernel)."""
        """A doorbell.Listener while idle-waiting: a queued run wakes the worker at once."""

    def install_signals(self) -> None:
        def drain(signum: int, frame: Any) -> None:
            self.draining.set()
            self._wake()

        def cancel(signum: int, frame: Any) -> None:
            self.draining.set()
            self._wake()
            self.cancel_pending = True  # a run being prepared is cancelled once it has control
            if self.control is not None:
                self.control.stop("cancel")

        signal.signal(signal.SIGTERM, drain)
        signal.signal(signal.SIGINT, cancel)

    def _wake(self) -> None:
        bell = self.bell
        if bell is not None:
            bell.wake()

    def _idle(self, seconds: float) -> None:
        """Wait for the next poll, a ring of the doorbell (a run was queued) or a stop."""
        bell = self.bell
        if bell is None or self.draining.is_set():
            self.draining.wait(seconds)
        else:
            bell.wait(seconds)

    def run_forever(self) -> int:
        """Process items until drained (or, in burst mode, until the queue is empty)."""
        from nbprod.catalog.doorbell import Listener

        event("worker_started", worker=self.name)
        if not self.burst:
            self.bell = Listener(self.queue.url)
        if self.settings.warm_kernels:
            from nbprod.warm_kernels import WarmKernels

            # A burst worker ends when the queue is empty: no kernel for a run not queued.
            wanted = self._more_due if self.burst else None
            self.warm = WarmKernels(self.settings.spool_dir, wanted=wanted)
        try:
            return self._loop()
        finally:
            bell, self.bell = self.bell, None
            if bell is not None:
                bell.close()
            warm, self.warm = self.warm, None
            if warm is not None:
                warm.close()

    def _more_due(self) -> bool:
        try:
            return bool(self.queue.due(utcnow(), limit=1))  # the run just taken is not queued
        except Exception:  # noqa: BLE001 - only a guess: start the kernel anyway
            return True

    def _loop(self) -> int:
        done = 0
        delay = self.poll
        while not self.draining.is_set():
            try:
                self.queue.worker_beat(self.name, utcnow(), "idle", None)
                item = self.queue.claim(
                    self.name, utcnow(), self.catalog.concurrency_limits(), only=self.only
                )
            except Exception as exc:
                if not transient(exc):
                    raise
                # A catalog outage: wait it out (nothing is held), do not exit.
                event("catalog_unavailable", worker=self.name, error=str(exc).splitlines()[0])
                self.draining.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = self.poll
            if item is None:
                if self.burst:
                    break
                self._idle(self.poll)
                continue
            self.execute(item)
            done += 1
        try:
            self.queue.worker_beat(self.name, utcnow(), "stopped", None)
        except Exception as exc:  # noqa: BLE001 - leaving anyway; `status` ages it out
            event("worker_beat_failed", worker=self.name, error=str(exc).splitlines()[0])
        event("worker_stopped", worker=self.name, runs=done)
        return done

    def run_one(self, store: str, run_id: str) -> str | None:
        """Claim exactly this run and execute it (a cluster executor's task); its final
        status, or None when the catalog did not give the claim (claimed elsewhere,
        cancelled, its job at its concurrency limit, not due yet)."""
        item = self.queue.claim(
            self.name,
            utcnow(),
            self.catalog.concurrency_limits(),
            store=store,
            only={run_id},
        )
        if item is None:
            return None
        try:
            return self.execute(item)
        finally:
            try:
                self.queue.worker_beat(self.name, utcnow(), "idle", None)
            except Exception as exc:  # noqa: BLE001 - informative only
                event("worker_beat_failed", worker=self.name, error=str(exc).splitlines()[0])

    def execute(self, item: Any) -> str:
        """Run one claimed item to its end; returns the final status (``fenced`` when the
        claim was taken over and this worker's ending was not recorded)."""
        event(
            "claimed",
            worker=self.name,
            job=item.job,
            run_id=item.run_id,
            attempt=item.attempt,
            scheduled_for=item.scheduled_for,
            claim=item.claim,
        )
        fence = Fence(self.queue, item)
        # Beat from the claim on: importing the engine and preparing the run (reading the
        # snapshot from the store) take seconds, and must not look like a dead worker. The
        # beat goes on until the ending is recorded (it may wait for the catalog).
        beating = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(item, fence, beating), daemon=True)
        beat.start()
        try:
            return self._execute(item, fence)
        finally:
            beating.set()
            beat.join()
            self.control = None

    def _execute(self, item: Any, fence: Fence) -> str:
        from nbprod.engine import RunControl
        from nbprod.runner import run

        try:
            self.queue.worker_beat(self.name, utcnow(), "running", item.run_id)
        except Exception as exc:  # noqa: BLE001 - informative only
            event("worker_beat_failed", worker=self.name, error=str(exc).splitlines()[0])
        if self.warm is not None:
            self.warm.last_was_warm = False
        try:
            notifications = item.payload.notifications
            request = prepare_item(item, self.settings, self.catalog)
        except NbprodError as exc:
            event("unrunnable", job=item.job, run_id=item.run_id, error=str(exc))
            fence.ending = True
            if not self._finish(item, "failed"):
                fence.mark_fenced("the claim was gone before the run started")
                return "fenced"
            run_ended(self.queue, item, "failed", utcnow(), catalog=self.catalog, retry=False)
            return "failed"
        store = FencedStore(request.store, fence, request.job, request.run_id)
        request.store = store
        request.autosave_to_store = True  # a reaper on another machine keeps the partial
        self.control = RunControl(kill_grace=self.settings.kill_grace)
        if (self.cancel_pending or fence.fenced()) and self.control.reason is None:
            self.control.stop("cancel")
        _notify("on_start", None, notifications, self.settings, item)

        def on_progress(done: int, total: int) -> None:
            fence.progress.cells_done, fence.progress.cells_total = done, total
            fence.progress.at = utcnow()

        try:
            result = run(
                request,
                on_record=self._indexer(store.url, fence),
                on_progress=on_progress,
                control=self.control,
                handle_signals=False,
                kernels=self.warm,
            )
        except Exception as exc:  # a crash of the core must not leave a ghost `running`
            event("run_crashed", run_id=item.run_id, error=f"{type(exc).__name__}: {exc}")
            return self._end_crashed(item, fence, exc)
        status = result.record.status.value
        if not fence.enter_finishing() or not fence.publishing():
            return self._fenced(item, fence, result, store)
        persist(
            lambda: self.catalog.index_run(store.url, result.record),
            "index_run",
            run_id=item.run_id,
        )
        now = utcnow()
        fence.ending = True
        if not self._finish(item, status, now):
            return self._fenced(item, fence, result, store)
        event(
            "finished",
            worker=self.name,
            job=item.job,
            run_id=item.run_id,
            status=status,
            attempt=item.attempt,
            duration_s=result.record.duration_s,
            warm_kernel=bool(self.warm is not None and self.warm.last_was_warm),
        )
        run_ended(self.queue, item, status, now, catalog=self.catalog)
        _notify(
            end_event(status),
            result.record,
            notifications,
            self.settings,
            item,
            result.output_location,
        )
        return status

    def _finish(self, item: Any, status: str, now: Any = None) -> bool:
        """Record the ending under the claim, across a catalog outage; False: fenced."""
        when = now or utcnow()
        try:
            return persist(
                lambda: self.queue.finish(item.store, item.run_id, item.claim, status, when),
                "finish",
                run_id=item.run_id,
            )
        except Exception as exc:
            # The store holds the final record; the reaper adopts it (never overwriting).
            event("catalog_gave_up", action="finish", run_id=item.run_id, error=str(exc))
            raise

    def _indexer(self, store_url: str, fence: Fence) -> Any:
        """The runner's on_record: index ``running`` records while the claim holds; the
        final one is indexed by ``_execute`` (with retries), and only if it was published."""

        def on_record(record: Any) -> None:
            if record.status.value == "running" and not fence.fenced():
                self.catalog.index_run(store_url, record)

        return on_record

    def _fenced(self, item: Any, fence: Fence, result: Any, store: FencedStore) -> str:
        """The claim was taken over: nothing of this ending is final; keep it aside."""
        from nbprod.scheduler.lost import settle_fenced

        fence.mark_fenced("the claim was taken over")
        if result.spooled_to is not None:
            _fence_spool(result.spooled_to, fence)
        event(
            "fenced_run_ended",
            worker=self.name,
            run_id=item.run_id,
            job=item.job,
            own_status=result.record.status.value,
            kept=",".join(store.kept_aside) or "nothing",
        )
        settle_fenced(item, self.settings, self.catalog)
        return "fenced"

    def _end_crashed(self, item: Any, fence: Fence, exc: BaseException) -> str:
        """The core raised: end the run as ``lost`` now (its partial output kept)."""
        from nbprod.scheduler.lost import mark_lost

        if not fence.enter_finishing():
            return "fenced"
        now = utcnow()
        reason = f"the run crashed in its worker: {type(exc).__name__}: {exc}"
        try:
            record = mark_lost(item, self.settings, self.catalog, now, reason=reason)
            status = record.status.value
        except Exception as err:  # noqa: BLE001 - the store is down: the queue still ends
            event("lost_record_failed", run_id=item.run_id, error=str(err))
            status = "lost"
        fence.ending = True
        if not self._finish(item, status, now):
            return "fenced"
        run_ended(self.queue, item, status, now, catalog=self.catalog)
        return status

    def _heartbeat(self, item: Any, fence: Fence, stop: threading.Event) -> None:
        while not stop.wait(self.settings.heartbeat_seconds):
            progress = fence.progress
            try:
                beat = self.queue.heartbeat(
                    item.store,
                    item.run_id,
                    item.claim,
                    utcnow(),
                    cells_done=progress.cells_done if progress.cells_total else None,
                    cells_total=progress.cells_total or None,
                    progress_at=progress.at,
                )
            except Exception as exc:  # a busy catalog must not kill the run
                event("heartbeat_failed", run_id=item.run_id, error=str(exc).splitlines()[0])
                continue
            try:
                self.queue.worker_beat(self.name, utcnow(), "running", item.run_id)
            except Exception as exc:  # noqa: BLE001 - informative only
                event("worker_beat_failed", worker=self.name, error=str(exc).splitlines()[0])
            if not beat.held:
                if fence.ending:
                    return
                # Taken over while this worker was frozen or cut off: another attempt may
                # be running the notebook already. Stop the kernel now, publish nothing.
                fence.mark_fenced("heartbeat refused: the run was taken over")
                control = self.control
                if control is not None:
                    control.stop("cancel")
                    control.kill()
                return
            if beat.cancel and self.control is not None and self.control.reason is None:
                event("cancel_requested", run_id=item.run_id, job=item.job)
                self.control.stop("cancel")


def _fence_spool(folder: Any, fence: Fence) -> None:
    """A fenced run left in the spool (store down): rename its run objects to their
    non-final names and drop its record, so that `nbprod store flush` publishes no ending."""
    from nbprod import spool
    from nbprod.store import layout

    manifest = spool.Manifest.load(folder)
    item = fence.item
    prefix = layout.run_prefix(item.job, item.run_id) + "/"
    record = layout.record_key(item.job, item.run_id)
    uploads = []
    for upload in manifest.uploads:
        if upload.key == record:
            continue
        if upload.key.startswith(prefix):
            upload.key = fence.aside(upload.key)
        uploads.append(upload)
    manifest.uploads = uploads
    manifest.save(folder)


def prepare_item(item: Any, settings: Settings, catalog: Any = None) -> Any:
    """The RunRequest for a queued item: the pinned job version, or a stored snapshot.

    ``catalog``: the worker's own, open already (the item's settings differ from the
    worker's in the store only); otherwise one is opened for the read."""
    from dataclasses import replace

    from nbprod.catalog import open_catalog
    from nbprod.jobs.versions import pinned_version, prepare_version_run
    from nbprod.store import open_store

    payload = item.payload
    item_settings = (
        settings if settings.store == item.store else replace(settings, store=item.store)
    )
    if payload.kind is RunKind.SNAPSHOT:
        return _prepare_snapshot(item, payload, item_settings)
    store = open_store(item_settings.store)
    if catalog is not None:
        pinned = pinned_version(catalog, store.url, item.job, payload.job_version)
    else:
        opened = open_catalog(item_settings)
        try:
            pinned = pinned_version(opened, store.url, item.job, payload.job_version)
        finally:
            opened.close()
    return prepare_version_run(
        pinned,
        settings=item_settings,
        store=store,
        parameters=payload.parameters,
        trigger=payload.trigger.value,
        run_id=item.run_id,
        attempt=item.attempt,
        scheduled_for=item.scheduled_for,
        logical_run_id=item.logical_run_id,
    )


def _prepare_snapshot(item: Any, payload: QueuedRun, settings: Settings) -> Any:
    """A queued run of a stored notebook snapshot (no job definition), e.g. a sweep's."""
    from nbprod.jobs.versions import prepare_snapshot_run
    from nbprod.store import open_store

    return prepare_snapshot_run(
        payload,
        store=open_store(item.store),
        settings=settings,
        job=item.job,
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
