"""How a pipeline run moves: which steps are ready, what each is queued with, what a
step's end changes. Pure functions over a ``PipelineRun`` and its version; the catalog
transaction around them is ``pipelines/runs.py``'s.

A step is ready when every step it needs succeeded. Its ``parameters_from`` values are
taken from the upstream steps' recorded scraps and coerced to the parameter's type in its
pinned notebook; a value that does not fit, or a scrap the upstream step did not glue,
fails the step before anything is queued (no kernel starts). A failed or skipped step's
descendants are skipped; the run is done when every step is.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from nbprod.catalog.queued import QueuedRun, RunKind, Trigger
from nbprod.errors import BadInput, brief
from nbprod.pipelines.model import PipelineVersion, Step
from nbprod.pipelines.record import (
    ENDED,
    PipelineRun,
    PipelineStatus,
    QueuedStep,
    StepRun,
    StepStatus,
    pipeline_run_tag,
    pipeline_tag,
)
from nbprod.records import isoformat, new_run_id, utcnow
from nbprod.store import layout


def plan(
    version: PipelineVersion,
    *,
    store: str,
    overrides: dict[str, dict[str, Any]] | None = None,
    trigger: str = "manual",
    reuse: PipelineRun | None = None,
    rerun_from: str | None = None,
) -> PipelineRun:
    """A new pipeline run of ``version``, every step pending with its run id assigned.

    With ``reuse`` (a rerun): ``rerun_from`` and its descendants run again; every other
    step that succeeded in ``reuse`` keeps that run's step run and outputs, one that did
    not runs again too (a step ``rerun_from`` needs must have succeeded: BadInput)."""
    from nbprod.pipelines import graph

    now = utcnow()
    definition = version.definition
    again: set[str] = set()
    upstream: set[str] = set()
    if reuse is not None and rerun_from is not None:
        again = {rerun_from} | graph.descendants(definition.needs, rerun_from)
        upstream = graph.ancestors(definition.needs, rerun_from)
    steps: dict[str, StepRun] = {}
    for index, name in enumerate(graph.order(definition.needs)):
        old = reuse.steps.get(name) if reuse is not None and name not in again else None
        if name in upstream and (old is None or old.status is not StepStatus.SUCCEEDED):
            assert reuse is not None
            state = old.status.value if old is not None else "not part of it"
            raise BadInput(
                f"step {name}, which {rerun_from} needs, did not succeed in pipeline run "
                f"{reuse.run_id} ({state}): rerun from {name} or a step before it"
            )
        if old is not None and old.status is StepStatus.SUCCEEDED:
            steps[name] = StepRun(
                name=name,
                status=StepStatus.SUCCEEDED,
                run_id=old.run_id,
                attempts=list(old.attempts),
                run_status=old.run_status,
                parameters=dict(old.parameters),
                inputs=dict(old.inputs),
                outputs=dict(old.outputs),
                started_at=old.started_at,
                finished_at=old.finished_at,
                duration_s=old.duration_s,
                reused_from=old.reused_from or reuse.run_id,
            )
        else:
            # assigned now, so the workers started for the run may claim each step as it is
            # queued; a millisecond apart, so that listings show them in step order
            steps[name] = StepRun(
                name=name, run_id=new_run_id(now + timedelta(milliseconds=index + 1))
            )
    return PipelineRun(
        run_id=new_run_id(now),
        pipeline=version.pipeline,
        version=version.version,
        store=store,
        created_at=isoformat(now),
        updated_at=isoformat(now),
        steps=steps,
        trigger=trigger,
        overrides=overrides or {},
        rerun_of=reuse.run_id if reuse is not None else None,
        rerun_from=rerun_from,
    )


def ready(run: PipelineRun, version: PipelineVersion) -> list[QueuedStep]:
    """Move every pending step whose needs have ended: skipped after a failure, failed
    when an edge's value does not fit, queued otherwise; settles the run's status.
    The runs to queue."""
    definition = version.definition
    queued: list[QueuedStep] = []
    for name, state in run.steps.items():  # in order: a step after the ones it needs
        if state.status is not StepStatus.PENDING:
            continue
        step = definition.step(name)
        needs = [run.steps[n] for n in step.needs]
        broken = [n for n in needs if n.status in (StepStatus.FAILED, StepStatus.SKIPPED)]
        if broken:
            state.status, state.run_id = StepStatus.SKIPPED, None
            state.error = f"step {broken[0].name} {broken[0].status.value}"
            continue
        if any(n.status is not StepStatus.SUCCEEDED for n in needs):
            continue
        try:
            state.inputs = inputs(run, step, version)
        except BadInput as exc:
            state.status, state.run_id = StepStatus.FAILED, None
            state.error = f"{exc}; the step did not start"
            continue
        state.parameters = {
            **step.parameters,
            **run.overrides.get(name, {}),
            **{param: edge["value"] for param, edge in state.inputs.items()},
        }
        state.status = StepStatus.QUEUED
        assert state.run_id is not None
        queued.append(
            QueuedStep(
                layout.step_job(run.pipeline, name),
                state.run_id,
                step_request(run, step, version, state),
            )
        )
    settle(run)
    return queued


def inputs(run: PipelineRun, step: Step, version: PipelineVersion) -> dict[str, dict[str, Any]]:
    """Parameter → ``{"from", "value"}`` for the step's edges, each value coerced to the
    parameter's type; BadInput naming the edge when one does not fit or is missing."""
    from nbprod import params

    schema = version.pinned[step.name].schema
    values: dict[str, dict[str, Any]] = {}
    for param, ref in step.parameters_from.items():
        origin, scrap = step.source(param)
        outputs = run.steps[origin].outputs
        if scrap not in outputs:
            raise BadInput(f"step {origin} glued no scrap {scrap!r} (wanted for {param})")
        kind = schema.get(param) or {"type": "any"}
        target = params.Parameter(
            name=param, type=kind["type"], nullable=bool(kind.get("nullable"))
        )
        try:
            value = params.coerce_value(target, outputs[scrap])
        except BadInput as exc:
            raise BadInput(f"{ref} → {param}: {exc}") from None
        values[param] = {"from": ref, "value": value}
    return values


def step_request(
    run: PipelineRun, step: Step, version: PipelineVersion, state: StepRun
) -> QueuedRun:
    """What a ready step's run is: queued for nbprod's workers, or prepared directly by
    an orchestrator's task (``pipelines/orchestrated.py``)."""
    pin = version.pinned[step.name]
    return QueuedRun(
        kind=RunKind.SNAPSHOT,
        trigger=Trigger.PIPELINE,
        parameters=dict(state.parameters),
        sha256=pin.notebook_sha256,
        notebook_name=pin.notebook_name,
        source_path=step.notebook,
        kernel=step.kernel,
        cwd=str(Path(step.notebook).parent),
        timeout=step.timeout,
        cell_timeout=step.cell_timeout,
        tags=sorted(
            {*version.definition.tags, pipeline_tag(run.pipeline), pipeline_run_tag(run.run_id)}
        ),
        retries=step.retries,
        retry_delay=step.retry_delay,
        resources=dict(step.resources),
        report_mode=step.report_mode,
        pipeline={"name": run.pipeline, "run_id": run.run_id, "step": step.name},
    )


def end_step(
    run: PipelineRun,
    version: PipelineVersion,
    step: str,
    run_id: str,
    status: str,
    record: Any,
    retry: str | None = None,
) -> bool:
    """Record that the step's run ``run_id`` ended with ``status`` (``record``: its run
    record, or None); ``retry``: the run id of its next attempt, if one was queued (then the
    step goes on). False when that ending was recorded already (or is not the step's
    current run): nothing changed."""
    state = run.steps.get(step)
    if state is None or state.status is not StepStatus.QUEUED or state.run_id != run_id:
        return False
    if record is not None:
        state.started_at, state.finished_at = record.started_at, record.finished_at
        state.duration_s = record.duration_s
    state.run_status = status
    if retry is not None:
        state.attempts.append(run_id)
        state.run_id = retry
        return True
    if status != "succeeded":
        state.status = StepStatus.FAILED
        error = record.error.line if record is not None and record.error else None
        state.error = error or f"its run ended {status}"
        return True
    state.status = StepStatus.SUCCEEDED
    _take_outputs(run, version, step, record)
    return True


def _take_outputs(run: PipelineRun, version: PipelineVersion, step: str, record: Any) -> None:
    """Keep the scraps downstream steps take; a step waiting for one it did not glue fails
    now, not when its other needs end."""
    from nbprod.scraps import inline_value

    scraps = (record.scraps if record is not None else None) or {}
    state = run.steps[step]
    for other in version.definition.steps:
        for param in other.parameters_from:
            origin, scrap = other.source(param)
            if origin != step:
                continue
            inline, value = inline_value(scraps.get(scrap))
            if inline:
                state.outputs[scrap] = value
                continue
            waiting = run.steps[other.name]
            if waiting.status is StepStatus.PENDING:
                glued = ", ".join(sorted(scraps)) or "none"
                why = (
                    "is not stored inline (too large, or a display)"
                    if scrap in scraps
                    else "was not glued"
                )
                waiting.status, waiting.run_id = StepStatus.FAILED, None
                waiting.error = (
                    f"step {step} ended without scrap {scrap!r} for {param}: it {why} "
                    f"(its scraps: {glued}); the step did not start"
                )


def settle(run: PipelineRun) -> None:
    """The run's status from its steps'."""
    run.updated_at = isoformat(utcnow())
    states = [s.status for s in run.steps.values()]
    if all(s in ENDED for s in states):
        ok = all(s is StepStatus.SUCCEEDED for s in states)
        run.status = PipelineStatus.SUCCEEDED if ok else PipelineStatus.FAILED
        run.finished_at = run.finished_at or run.updated_at
    elif any(s.status in ENDED and not s.reused_from for s in run.steps.values()):
        run.status = PipelineStatus.RUNNING


def overrides(version: PipelineVersion, texts: list[str]) -> dict[str, dict[str, Any]]:
    """``-p step.param=value`` texts, typed like ``-p NAME VALUE`` by the parameter's type
    in the step's pinned notebook; BadInput for an unknown step or parameter, or one that
    a ``parameters_from`` edge sets."""
    from nbprod import params

    typed: dict[str, dict[str, Any]] = {}
    for text in texts:
        target, sep, value = text.partition("=")
        step_name, dot, param = target.strip().partition(".")
        if not sep or not dot or not step_name or not param:
            raise BadInput(f"-p expects STEP.PARAMETER=VALUE, got {brief(text)}")
        parameter = _settable(version, step_name, param, f"-p {target}")
        try:
            typed.setdefault(step_name, {})[param] = params.parse_cli_value(parameter, value)
        except BadInput as exc:
            raise BadInput(f"-p {target}: {exc}") from None
    return typed


def typed_overrides(version: PipelineVersion, values: Any) -> dict[str, dict[str, Any]]:
    """Step → parameter → value overrides given as data (an Airflow DAG run's conf), each
    value checked against the parameter's type as ``overrides`` does for texts."""
    from nbprod import params

    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise BadInput(
            f"parameters must map each step to its parameters' values, got {brief(values)}"
        )
    typed: dict[str, dict[str, Any]] = {}
    for step_name, given in values.items():
        for param, value in given.items():
            label = f"parameters.{step_name}.{param}"
            parameter = _settable(version, str(step_name), str(param), label)
            try:
                typed.setdefault(step_name, {})[param] = params.coerce_value(parameter, value)
            except BadInput as exc:
                raise BadInput(f"{label}: {exc}") from None
    return typed


def _settable(version: PipelineVersion, step_name: str, param: str, label: str) -> Any:
    """The parameter a run may set on a step (not one an edge sets); BadInput otherwise."""
    from nbprod import params

    definition = version.definition
    names = [s.name for s in definition.steps]
    if step_name not in names:
        raise BadInput(
            f"{label}: pipeline {version.pipeline} has no step {step_name!r} "
            f"(steps: {', '.join(names)})"
        )
    step = definition.step(step_name)
    if param in step.parameters_from:
        raise BadInput(f"{label}: {param} takes its value from {step.parameters_from[param]}")
    kinds = version.pinned[step_name].schema
    if param not in kinds:
        known = ", ".join(k for k in kinds if k not in step.parameters_from) or "none"
        raise BadInput(f"{label}: step {step_name} has no parameter {param!r} (known: {known})")
    kind = kinds[param]
    return params.Parameter(name=param, type=kind["type"], nullable=bool(kind.get("nullable")))
