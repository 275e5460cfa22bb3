"""Pipeline runs against the catalog and the store: start one, apply a step's end,
reconcile one whose step ended unseen.

Every change goes through ``catalog.pipelines.change_pipeline_run`` (the row locked, the
record changed, the next steps queued, the store copy written, in one transaction), so
a change is applied once however many processes try it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nbprod.notify import end_event
from nbprod.pipelines import advance
from nbprod.pipelines.model import PipelineVersion
from nbprod.pipelines.record import PipelineRun, StepStatus, write_run
from nbprod.scheduler.events import event


def start(
    catalog: Any,
    store: Any,
    version: PipelineVersion,
    *,
    overrides: dict[str, dict[str, Any]] | None = None,
    trigger: str = "manual",
    reuse: PipelineRun | None = None,
    rerun_from: str | None = None,
) -> PipelineRun:
    """A new pipeline run with its first ready steps queued."""
    from nbprod.catalog.pipelines import create_pipeline_run
    from nbprod.catalog.queue import utcnow

    run = advance.plan(
        version,
        store=store.url,
        overrides=overrides,
        trigger=trigger,
        reuse=reuse,
        rerun_from=rerun_from,
    )
    queued = advance.ready(run, version)
    create_pipeline_run(catalog, run, queued, utcnow(), lambda r: write_run(store, r))
    event("pipeline_started", pipeline=run.pipeline, pipeline_run=run.run_id, queued=len(queued))
    notify_started(run, version)
    return run


def notify_started(run: PipelineRun, version: PipelineVersion) -> None:
    """A new pipeline run's ``on_start``, and its end at once when nothing could run (an
    edge's value did not fit at the start)."""
    notify(run, version, "on_start")
    if run.done:
        notify(run, version, end_event(run.status.value))


def notify(run: PipelineRun, version: PipelineVersion, event_name: str) -> None:
    """The pipeline's ``notifications`` for ``event_name``; a failing notifier is logged and
    never fails the pipeline."""
    notifications = version.definition.notifications or {}
    if not notifications.get(event_name):
        return
    try:
        from nbprod.config import Settings
        from nbprod.notify import send_pipeline

        deliveries = send_pipeline(event_name, run, notifications, settings=Settings.load())
    except Exception as exc:  # noqa: BLE001 - a bad mail setting must not stop the pipeline
        event("notify_failed", pipeline_run=run.run_id, error=str(exc))
        return
    for delivery in deliveries:
        event(
            "notified",
            pipeline_run=run.run_id,
            notify_event=event_name,
            target=delivery.target,
            ok=delivery.ok,
            error=delivery.error,
        )


def step_ended(
    catalog: Any,
    store_url: str,
    link: dict[str, str],
    run_id: str,
    status: str,
    retry: str | None,
    now: datetime,
) -> PipelineRun | None:
    """Apply the end of step ``link["step"]``'s run ``run_id`` (final: ``retry`` None) to
    its pipeline run: queue the steps now ready, skip what cannot run, settle the status.
    Idempotent: a second call for the same ending changes nothing."""
    from nbprod.catalog.pipelines import change_pipeline_run, get_pipeline_run
    from nbprod.pipelines.versions import get_version
    from nbprod.store import open_store

    current = get_pipeline_run(catalog, store_url, link["run_id"])
    state = current.steps.get(link["step"]) if current is not None else None
    if state is None or state.status is not StepStatus.QUEUED or state.run_id != run_id:
        return current  # applied already, or not this pipeline's current run of the step
    store = open_store(store_url)
    version = get_version(store, link["name"], current.version)
    record = catalog.get_run(store_url, run_id)

    ended = []  # whether this change (under the row's lock) is the one that ended the run

    def change(run: PipelineRun) -> list[Any] | None:
        before = run.done
        if not advance.end_step(run, version, link["step"], run_id, status, record, retry):
            return None
        queued = [] if retry is not None else advance.ready(run, version)
        ended[:] = [run.done and not before]
        return queued

    run = change_pipeline_run(
        catalog, store_url, link["run_id"], change, now, lambda r: write_run(store, r)
    )
    if run is not None and ended and ended[0]:
        notify(run, version, end_event(run.status.value))
    if run is not None:
        event(
            "pipeline_advanced",
            pipeline=run.pipeline,
            pipeline_run=run.run_id,
            step=link["step"],
            run_id=run_id,
            step_status=status,
            retry=retry,
            status=run.status.value,
        )
    return run


def reconcile(catalog: Any, store_url: str, run_id: str, now: datetime) -> PipelineRun | None:
    """Apply the ends of steps whose run is over in the queue but not in the pipeline run
    (its worker died between the two): what a waiting ``pipelines run`` does each tick."""
    from nbprod.catalog.pipelines import get_pipeline_run
    from nbprod.catalog.queue import Queue
    from nbprod.catalog.queued import QueueState
    from nbprod.scheduler.policy import retry_at

    run = get_pipeline_run(catalog, store_url, run_id)
    if run is None or run.done:
        return run
    queue = Queue(catalog)
    for name, state in list(run.steps.items()):
        if state.status is not StepStatus.QUEUED or state.run_id is None:
            continue
        item = queue.get(store_url, state.run_id)
        if item is None or item.state not in (QueueState.DONE, QueueState.CANCELLED):
            continue
        final = item.final_status or "cancelled"
        if retry_at(item, final, now) is not None:
            continue  # its retry is queued by the worker that ended it
        link = {"name": run.pipeline, "run_id": run.run_id, "step": name}
        run = step_ended(catalog, store_url, link, state.run_id, final, None, now) or run
    return run
