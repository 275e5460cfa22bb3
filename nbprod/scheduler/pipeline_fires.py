"""Pipelines on their schedules: one pipeline run per scheduled time, however many
schedulers share the catalog.

A fire is claimed on ``pipeline_fires``' primary key in the transaction that creates the
pipeline run and queues its first steps, so a scheduler that loses the race creates
nothing. Catch-up after downtime follows the pipeline's ``catchup`` as for jobs
(``scheduler/cron.plan_fires``); a fire while a run of the pipeline is still going is
skipped (a pipeline runs one at a time, as a job's default ``concurrency: 1``,
``overlap: skip``). Each tick also settles pipeline runs whose step ended unseen (its
worker died between recording the run and advancing the pipeline).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nbprod.catalog import pipelines as catalog_pipelines
from nbprod.catalog.queue import iso, parse_iso
from nbprod.catalog.queued import FireDecision
from nbprod.errors import BadInput
from nbprod.scheduler.cron import plan_fires
from nbprod.scheduler.events import event

OVERLAP_REASON = "overlap: a run of the pipeline is still going"


class PipelineFirer:
    """The pipelines' half of a scheduler's tick (``scheduler/daemon.Scheduler``)."""

    def __init__(self, catalog: Any, store_url: str, scheduler: str) -> None:
        self.catalog = catalog
        self.store_url = store_url
        self.scheduler = scheduler
        self._broken: dict[str, str] = {}
        """pipeline -> why it cannot be fired (logged once per reason)."""

    def fire_due(self, now: datetime) -> list[str]:
        """Fire every due time of every active scheduled pipeline; the new run ids."""
        started = []
        for summary in catalog_pipelines.pipeline_summaries(self.catalog, self.store_url):
            definition = summary.definition
            if summary.paused or not definition.get("schedule"):
                continue
            if definition.get("scheduled_by"):  # exported: another scheduler fires it
                continue
            try:  # one broken pipeline must not stop the others (or the jobs)
                started += self._fire(summary, now)
            except Exception as exc:  # noqa: BLE001
                reason = str(exc) if isinstance(exc, BadInput) else f"{type(exc).__name__}: {exc}"
                if self._broken.get(summary.name) != reason:
                    event("pipeline_fire_failed", pipeline=summary.name, reason=reason)
                self._broken[summary.name] = reason
            else:
                self._broken.pop(summary.name, None)
        return started

    def _fire(self, summary: Any, now: datetime) -> list[str]:
        from nbprod.pipelines.model import PipelineDefinition

        definition = PipelineDefinition.from_dict(summary.definition)
        last = catalog_pipelines.last_pipeline_fire(self.catalog, self.store_url, summary.name)
        plan = plan_fires(
            definition,
            last_fire=parse_iso(last) if last else None,
            active_since=parse_iso(summary.created_at),
            now=now,
        )
        for moment, reason in plan.skip:
            self._skip(summary.name, moment, reason, now)
        started = []
        for moment in plan.fire:
            run_id = self._start(summary, moment, now)
            if run_id:
                started.append(run_id)
        return started

    def _skip(self, pipeline: str, moment: datetime, reason: str, now: datetime) -> None:
        if catalog_pipelines.record_pipeline_fire(
            self.catalog,
            self.store_url,
            pipeline,
            iso(moment),
            decision=FireDecision.SKIPPED.value,
            reason=reason,
            scheduler=self.scheduler,
            now=now,
        ):
            event("skipped", pipeline=pipeline, scheduled_for=moment.isoformat(), reason=reason)

    def _start(self, summary: Any, moment: datetime, now: datetime) -> str | None:
        from nbprod.pipelines import advance
        from nbprod.pipelines.record import write_run
        from nbprod.pipelines.versions import get_version
        from nbprod.store import open_store

        name = summary.name
        if catalog_pipelines.active_pipeline_runs(self.catalog, self.store_url, name):
            self._skip(name, moment, OVERLAP_REASON, now)
            return None
        store = open_store(self.store_url)
        version = get_version(store, name, summary.latest_version)
        run = advance.plan(version, store=self.store_url, trigger="schedule")
        run.scheduled_for = iso(moment)
        queued = advance.ready(run, version)
        won = catalog_pipelines.record_pipeline_fire(
            self.catalog,
            self.store_url,
            name,
            iso(moment),
            decision=FireDecision.QUEUED.value,
            scheduler=self.scheduler,
            now=now,
            start=(run, queued, lambda r: write_run(store, r)),
        )
        if not won:
            return None  # another scheduler fired it
        from nbprod.pipelines.runs import notify_started

        notify_started(run, version)
        event(
            "pipeline_fired",
            pipeline=name,
            scheduled_for=moment.isoformat(),
            pipeline_run=run.run_id,
            queued=len(queued),
            lag_s=round((now - moment).total_seconds(), 3),
        )
        return run.run_id

    def settle(self, now: datetime) -> None:
        """Apply step ends no worker applied (it died between recording and advancing)."""
        from nbprod.pipelines.runs import reconcile

        for run_id in catalog_pipelines.active_pipeline_runs(self.catalog, self.store_url):
            reconcile(self.catalog, self.store_url, run_id, now)
