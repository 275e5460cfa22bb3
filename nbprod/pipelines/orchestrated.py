"""Pipeline runs whose steps an orchestrator's tasks execute (Airflow: one task per step
calling `nbprod pipelines step-run`), through the same advance code as nbprod's own runs.

The pipeline run is keyed on the orchestrator's run (``logical_run_id``): its id is
derived from it, so whichever task comes first creates it and every later one (a retry,
a parallel root step) finds the same run. A task claims its step's run under the run's
row lock, executes it in its own process and applies the end the way a worker's end is
applied (``advance.end_step`` then ``advance.ready``): values along edges are coerced and
checked identically. Nothing is put in nbprod's queue, so no nbprod worker runs a step.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from nbprod.errors import BadInput
from nbprod.pipelines import advance
from nbprod.pipelines.model import PipelineVersion
from nbprod.pipelines.record import PipelineRun, StepStatus
from nbprod.records import new_run_id

FINAL_WITHOUT_RETRY = ("succeeded", "cancelled")
"""Step run statuses no later try changes (a cancel is the user's: not retried)."""


def pipeline_run_id(pipeline: str, logical_run_id: str, scheduled_for: datetime) -> str:
    """The id of the pipeline run for one orchestrator run: time-sortable by the scheduled
    time like every run id, with 32 bits of a hash of the orchestrator's run id."""
    moment = scheduled_for.astimezone(timezone.utc)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"
    digest = hashlib.sha256(f"{pipeline}\0{logical_run_id}".encode()).hexdigest()[:8]
    return f"{stamp}-{digest}"


def plan(
    version: PipelineVersion,
    *,
    store: str,
    logical_run_id: str,
    scheduled_for: datetime,
    trigger: str,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> PipelineRun:
    """A new pipeline run for an orchestrator run, its first steps ready (not queued)."""
    from nbprod.records import isoformat

    run = advance.plan(version, store=store, trigger=trigger, overrides=overrides)
    run.run_id = pipeline_run_id(version.pipeline, logical_run_id, scheduled_for)
    run.logical_run_id = logical_run_id
    run.scheduled_for = isoformat(scheduled_for.astimezone(timezone.utc))
    advance.ready(run, version)
    return run


def claim(
    run: PipelineRun,
    version: PipelineVersion,
    step: str,
    try_number: int,
    previous: Any = None,
) -> bool:
    """Let try ``try_number`` execute step ``step``: True when the run changed (the step's
    run is now claimed, or an earlier try's success was applied). BadInput (nothing to
    run, no retry helps) for a step that is not ready: still waiting, skipped, failed for
    good, or of a pipeline run that has ended. ``previous``: the run record of the
    step's current run, when an earlier try claimed it and never recorded its end."""
    state = run.steps.get(step)
    if state is None:
        raise BadInput(f"pipeline {run.pipeline} has no step {step!r}")
    if state.status is StepStatus.SUCCEEDED:
        return False
    where = f"step {step} of pipeline run {run.run_id}"
    if state.status is StepStatus.PENDING:
        needs = version.definition.step(step).needs
        waiting = [n for n in needs if run.steps[n].status is not StepStatus.SUCCEEDED]
        raise BadInput(f"{where} waits for {', '.join(waiting)}: nbprod has not seen them succeed")
    if state.status is not StepStatus.QUEUED:
        why = f": {state.error}" if state.error else ""
        hint = ""
        if run.done:
            hint = f" (run it again with `nbprod pipelines rerun {run.run_id} --from {step}`)"
        raise BadInput(f"{where} {state.status.value}{why}{hint}")
    if state.try_number is not None:  # an earlier try died before it recorded the end
        if previous is not None and previous.status.value == "succeeded":
            advance.end_step(run, version, step, state.run_id or "", "succeeded", previous)
            advance.ready(run, version)
            return True
        assert state.run_id is not None
        state.attempts.append(state.run_id)
        state.run_status = previous.status.value if previous is not None else "lost"
        state.run_id = new_run_id()
    state.try_number = try_number
    return True


def finish(
    run: PipelineRun,
    version: PipelineVersion,
    step: str,
    run_id: str,
    status: str,
    record: Any,
    try_number: int,
) -> bool:
    """Apply the end of step ``step``'s run ``run_id``: unless the step's ``retries``
    allow another try (the orchestrator retries it), the step has ended and the steps
    now ready get their values. False when that end was applied already."""
    step_def = version.definition.step(step)
    final = status in FINAL_WITHOUT_RETRY or try_number > step_def.retries
    retry = None if final else new_run_id()
    if not advance.end_step(run, version, step, run_id, status, record, retry):
        return False
    state = run.steps[step]
    state.try_number = None
    if retry is None:
        advance.ready(run, version)
    else:
        advance.settle(run)
    return True
