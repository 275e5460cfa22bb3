"""The scheduler loop: fire due jobs and pipelines once, detect lost runs, retry, supervise
workers.

Each tick is a handful of short catalog transactions. Several schedulers may share one
catalog: fires are claimed on a primary key, so each scheduled time runs once; the
reaper's take-over is conditional on the heartbeat it saw, so a lost run is handled once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nbprod.catalog.lease import EXTERNAL, beat
from nbprod.catalog.queue import Queue, parse_iso, utcnow, worker_id
from nbprod.catalog.queued import FireDecision, QueuedRun, Trigger
from nbprod.config import Settings
from nbprod.errors import BadInput
from nbprod.jobs.definition import stored_problem
from nbprod.jobs.model import JobDefinition
from nbprod.records import new_run_id
from nbprod.scheduler.cron import plan_fires
from nbprod.scheduler.events import event
from nbprod.scheduler.lost import reap_orphans, settle_lost, worker_gone
from nbprod.scheduler.pipeline_fires import PipelineFirer
from nbprod.store import open_store


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        catalog: Any,
        executor: Any,
        *,
        tick: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.queue = Queue(catalog)
        self.executor = executor
        self.tick_seconds = tick
        self.clock = clock
        self.store_url = open_store(settings.store).url
        self.name = worker_id()
        self.stopping = threading.Event()
        self._broken: dict[str, str] = {}
        """job -> why it cannot be scheduled (logged once per reason)."""
        self.pipelines = PipelineFirer(catalog, self.store_url, self.name)

    # -- one tick -----------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        self.fire_due(now)
        self.reap(now)
        self.pipelines.fire_due(now)
        self.pipelines.settle(now)

    def fire_due(self, now: datetime) -> list[str]:
        """Record and enqueue every due fire of every active scheduled job."""
        queued = []
        for summary in self.catalog.jobs(self.store_url):
            if summary.paused or not summary.schedule or summary.latest_version is None:
                continue
            if summary.definition.get("scheduled_by"):  # exported: Airflow fires it
                continue
            try:  # one bad job definition must not stop the others (or the reaper)
                queued += self._fire_job(summary, now)
            except Exception as exc:  # noqa: BLE001
                broken = isinstance(exc, BadInput)
                reason = str(exc) if broken else f"{type(exc).__name__}: {exc}"
                if self._broken.get(summary.name) != reason:  # log once, not every tick
                    event(
                        "job_broken" if broken else "job_fire_failed",
                        job=summary.name,
                        reason=reason,
                    )
                self._broken[summary.name] = reason
            else:
                self._broken.pop(summary.name, None)
        return queued

    def _fire_job(self, summary: Any, now: datetime) -> list[str]:
        """Fire one job's due times; BadInput if its stored definition is broken."""
        queued = []
        problem = stored_problem(summary.definition)
        if problem:
            raise BadInput(problem)
        definition = JobDefinition.from_dict(summary.definition)
        plan = plan_fires(
            definition,
            last_fire=self.queue.last_fire(self.store_url, summary.name),
            active_since=parse_iso(summary.created_at),
            now=now,
        )
        if plan.skipped_beyond:
            event(
                "skipped",
                job=summary.name,
                count=plan.skipped_beyond,
                reason="missed: downtime longer than one tick can list",
            )
        for moment, reason in plan.skip:
            if self.queue.record_fire(
                self.store_url,
                summary.name,
                moment,
                decision=FireDecision.SKIPPED,
                reason=reason,
                scheduler=self.name,
                now=now,
            ):
                event("skipped", job=summary.name, scheduled_for=moment.isoformat(), reason=reason)
        for moment in plan.fire:
            run_id = self._fire(summary, definition, moment, now)
            if run_id:
                queued.append(run_id)
        return queued

    def _fire(
        self, summary: Any, definition: JobDefinition, moment: datetime, now: datetime
    ) -> str | None:
        job = summary.name
        if definition.overlap == "skip" and (
            self.queue.active_count(self.store_url, job) >= definition.concurrency
        ):
            if self.queue.record_fire(
                self.store_url,
                job,
                moment,
                decision=FireDecision.SKIPPED,
                reason="overlap: job at its concurrency limit",
                scheduler=self.name,
                now=now,
            ):
                event(
                    "skipped",
                    job=job,
                    scheduled_for=moment.isoformat(),
                    reason="overlap: job at its concurrency limit",
                )
            return None
        run_id = new_run_id(now)
        request = QueuedRun.for_job(definition, summary.latest_version, Trigger.SCHEDULE)
        won = self.queue.record_fire(
            self.store_url,
            job,
            moment,
            decision=FireDecision.QUEUED,
            scheduler=self.name,
            now=now,
            enqueue={"run_id": run_id, "scheduled_for": moment, "request": request},
        )
        if not won:
            return None  # another scheduler fired it
        event(
            "fired",
            job=job,
            scheduled_for=moment.isoformat(),
            run_id=run_id,
            lag_s=round((now - moment).total_seconds(), 3),
        )
        return run_id

    def reap(self, now: datetime) -> list[str]:
        """Mark runs of dead workers lost (keeping their output) and retry them.

        A held row is reaped when its heartbeat is older than ``lost_after`` or its worker
        ran on this host and is gone; then ``nbprod exec`` runs of this host whose process
        is gone (no queue row: only their record says who runs them).
        """
        lost = []
        stale = {i.run_id: i for i in self.queue.stale(now, self.settings.lost_after)}
        for item in self.queue.running():
            if item.run_id in stale or worker_gone(item.worker, item.started_at):
                if settle_lost(self.queue, item, self.settings, self.catalog, now):
                    lost.append(item.run_id)
        lost.extend(reap_orphans(self.settings, self.catalog, self.store_url, now))
        return lost

    # -- the loop -----------------------------------------------------------------------

    def run_forever(self) -> None:
        def stop(signum: int, frame: Any) -> None:
            event("stopping", signal=signal.Signals(signum).name)
            self.stopping.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
        event(
            "scheduler_started",
            scheduler=self.name,
            store=self.store_url,
            catalog=self.catalog.url,
            workers=self.settings.workers,
        )
        self.executor.start()
        try:
            while not self.stopping.is_set():
                safe_beat(self.catalog, self.name, self.store_url, EXTERNAL, "active", utcnow())
                try:
                    self.tick()
                    self.executor.supervise()
                except Exception as exc:  # one bad tick (catalog busy) must not end the loop
                    event("tick_failed", error=f"{type(exc).__name__}: {exc}")
                self.stopping.wait(self.tick_seconds)
        finally:
            event("draining", grace_s=self.settings.shutdown_grace)
            self.executor.stop(self.settings.shutdown_grace)
            safe_beat(self.catalog, self.name, self.store_url, EXTERNAL, "stopped", utcnow())
            event("scheduler_stopped", scheduler=self.name)


def safe_beat(catalog: Any, name: str, store: str, kind: str, state: str, now: datetime) -> None:
    """A lease ``beat`` that never raises (a busy catalog must not stop a scheduler)."""
    try:
        beat(catalog.engine, name, store, kind, state, now)
    except Exception as exc:  # noqa: BLE001
        event("lease_failed", scheduler=name, error=str(exc))
