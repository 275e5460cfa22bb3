"""One step of a pipeline run driven by an external orchestrator (``nbprod pipelines
step-run``, the task of an exported Airflow DAG): claim the step for a try, prepare its run
from the pinned snapshot, apply its end (docs/airflow.md, Pipelines).

The orchestrator, not nbprod's queue, decides when a step runs; the claim and the end go
through the same pipeline-run change as the queue's steps, so a step is run once per try.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.pipelines.model import PipelineVersion
from nbprod.pipelines.record import PipelineRun


@dataclass
class StepStart:
    """What `pipelines step-run` executes: step ``step`` of pipeline run ``run``, its run
    ``request`` (None: the step succeeded already, nothing to run)."""

    run: PipelineRun
    version: PipelineVersion
    step: str
    try_number: int
    request: Any = None

    @property
    def run_id(self) -> str | None:
        return self.run.steps[self.step].run_id


def start_step(
    ws: Workspace,
    name: str,
    step: str,
    *,
    version: int,
    logical_run_id: str,
    scheduled_for: str,
    attempt: int = 1,
    trigger: str = "airflow",
    parameters: Any = None,
) -> StepStart:
    """Claim step ``step`` of the pipeline run for an orchestrator's run (created by the
    first task that asks: ``logical_run_id`` keys it) for try ``attempt``; its run request,
    prepared from the pinned snapshot with the values its upstream steps' scraps gave.
    ``parameters``: step → parameter → value overrides, checked always, used by the task
    that creates the pipeline run (every task of one orchestrator run passes the same).
    BadInput when the step cannot run (no retry helps): unknown, waiting, skipped, failed
    (an edge's value did not fit), or of a pipeline run that has ended."""
    from nbprod.catalog.pipelines import change_pipeline_run, create_pipeline_run_once
    from nbprod.catalog.pipelines import get_pipeline_run as lookup
    from nbprod.catalog.queue import utcnow
    from nbprod.errors import BadInput
    from nbprod.pipelines import orchestrated
    from nbprod.pipelines.advance import typed_overrides
    from nbprod.pipelines.record import write_run
    from nbprod.pipelines.versions import get_version
    from nbprod.records import parse_iso

    pinned = get_version(ws.store, name, version)
    names = [s.name for s in pinned.definition.steps]
    if step not in names:
        raise BadInput(
            f"pipeline {name} version {version} has no step {step!r} (steps: {', '.join(names)})"
        )
    typed = typed_overrides(pinned, parameters) if parameters else {}
    url = ws.store.url
    moment = parse_iso(scheduled_for)
    run_id = orchestrated.pipeline_run_id(name, logical_run_id, moment)
    publish = lambda r: write_run(ws.store, r)  # noqa: E731
    current = lookup(ws.catalog, url, run_id)
    if current is None:
        planned = orchestrated.plan(
            pinned,
            store=url,
            logical_run_id=logical_run_id,
            scheduled_for=moment,
            trigger=trigger,
            overrides=typed,
        )
        created = create_pipeline_run_once(ws.catalog, planned, utcnow(), publish)
        current = planned if created else lookup(ws.catalog, url, run_id)
        assert current is not None
    if current.version != version:
        raise BadInput(
            f"pipeline run {run_id} runs version {current.version} of {name}, not {version}"
        )
    state = current.steps.get(step)
    previous = None
    if state is not None and state.try_number is not None and state.run_id:
        previous = ws.catalog.get_run(url, state.run_id)
    seen = previous.run_id if previous is not None else None

    def change(run: PipelineRun) -> list[Any] | None:
        now_state = run.steps[step]
        known = previous if now_state.run_id == seen else None
        return [] if orchestrated.claim(run, pinned, step, attempt, known) else None

    run = change_pipeline_run(ws.catalog, url, run_id, change, utcnow(), publish)
    assert run is not None
    started = StepStart(run, pinned, step, attempt)
    if run.steps[step].status.value == "queued":
        started.request = _step_request(ws, run, pinned, step, attempt)
    return started


def _step_request(
    ws: Workspace, run: PipelineRun, version: PipelineVersion, step: str, attempt: int
) -> Any:
    """The run request of a claimed step: what a worker would prepare from its queued
    run (``advance``'s request: pinned snapshot, tags, the pipeline link)."""
    from nbprod.jobs.versions import prepare_snapshot_run
    from nbprod.pipelines.advance import step_request
    from nbprod.store import layout

    state = run.steps[step]
    queued = step_request(run, version.definition.step(step), version, state)
    return prepare_snapshot_run(
        queued,
        store=ws.store,
        settings=ws.settings,
        job=layout.step_job(run.pipeline, step),
        run_id=state.run_id,
        attempt=attempt,
        scheduled_for=run.scheduled_for,
        logical_run_id=run.logical_run_id,
    )


def finish_step(ws: Workspace, started: StepStart, status: str) -> PipelineRun:
    """Apply the end of a claimed step's run (``status``: its final status) to its
    pipeline run: the next try of the step, or its end and the steps now ready."""
    from nbprod.catalog.pipelines import change_pipeline_run
    from nbprod.catalog.queue import utcnow
    from nbprod.pipelines import orchestrated
    from nbprod.pipelines.record import write_run

    run_id = started.run_id
    assert run_id is not None
    record = ws.catalog.get_run(ws.store.url, run_id)
    if record is not None:
        status = record.status.value

    def change(run: PipelineRun) -> list[Any] | None:
        changed = orchestrated.finish(
            run, started.version, started.step, run_id, status, record, started.try_number
        )
        return [] if changed else None

    run = change_pipeline_run(
        ws.catalog,
        ws.store.url,
        started.run.run_id,
        change,
        utcnow(),
        lambda r: write_run(ws.store, r),
    )
    assert run is not None
    return run
