"""A pipeline run's page: its status and timings, the graph coloured by its steps'
statuses, a row per step (linked to its run page, reused-from, error) and the values
passed along each edge. The run is the core's ``show_pipeline_run`` (what ``nbprod
pipelines show RUN_ID`` prints), with each queued step's live state in the queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbprod.core.pipelines import show_pipeline_run
from nbprod.server.browse_data import BrowseData
from nbprod.server.pipeline_graph import PipelineGraph, layout, states_of
from nbprod.server.views.common import doc, short_value
from nbprod.server.views.pipelines import passed_values, run_duration


@dataclass
class StepRow:
    """One step of the run."""

    name: str = doc("The step's name.")
    status: str = doc("pending, queued, running, succeeded, failed or skipped.")
    run_id: str | None = doc("The step's run (its latest attempt), null if it never ran.")
    linked: bool = doc("Whether its run page exists (the run started).")
    run_status: str | None = doc("The run's own final status (timed_out, cancelled, ...).")
    attempts: list[str] = doc("Run ids of earlier attempts (retried).")
    needs: list[str] = doc("The steps it needs.")
    parameters: dict[str, Any] = doc("What its run was queued with.")
    started_at: str | None = doc("When its run started (ISO 8601 UTC).")
    finished_at: str | None = doc("When its run ended.")
    duration_s: float | None = doc("Wall seconds of its run.")
    reused_from: str | None = doc("The pipeline run whose run of this step was reused.")
    error: str | None = doc("Why it failed or was skipped.")


@dataclass
class PassedValue:
    """A value passed along an edge: an upstream scrap become a downstream parameter."""

    source: str = doc("The upstream step.")
    scrap: str = doc("The scrap it glued.")
    target: str = doc("The downstream step.")
    parameter: str = doc("The parameter it became.")
    value: Any = doc("The value, coerced to the parameter's type.")
    shown: str = doc("The value as JSON text, shortened.")


@dataclass
class PipelineRunContext:
    """A pipeline run's page."""

    run: dict[str, Any] = doc("The whole pipeline run record (docs/pipelines.md).")
    run_id: str = doc("Its id.")
    pipeline: str = doc("The pipeline's name.")
    version: int = doc("The version it ran.")
    status: str = doc("queued, running (once a step's run started), succeeded or failed.")
    trigger: str = doc("What started it: manual, rerun or schedule.")
    created_at: str = doc("When it started (ISO 8601 UTC).")
    finished_at: str | None = doc("When its last step ended.")
    duration_s: float | None = doc("Wall seconds from start to the last step's end.")
    rerun_of: str | None = doc("The pipeline run it reran, if any.")
    rerun_from: str | None = doc("The step that rerun started from.")
    overrides: dict[str, dict[str, Any]] = doc("Step → parameter → value, from -p.")
    graph: PipelineGraph = doc("The steps and edges, coloured by this run's statuses.")
    steps: list[StepRow] = doc("Every step, in run order.")
    passed: list[PassedValue] = doc("The values passed along the edges so far.")
    live: bool = doc("Whether the run goes on (the page may be reloaded for news).")


def build(service: BrowseData, run_id: str) -> PipelineRunContext:
    view = show_pipeline_run(service.workspace, run_id)
    run = view.run
    definition = view.version.definition
    states = states_of(run.steps.values(), view.live)
    steps = []
    for name, step in run.steps.items():
        state = states[name]
        steps.append(
            StepRow(
                name=name,
                status=state.status,
                run_id=step.run_id,
                linked=state.linked,
                run_status=step.run_status,
                attempts=list(step.attempts),
                needs=definition.step(name).needs if name in definition.needs else [],
                parameters=dict(step.parameters),
                started_at=step.started_at,
                finished_at=step.finished_at,
                duration_s=step.duration_s,
                reused_from=step.reused_from,
                error=step.error,
            )
        )
    passed = []
    for name, step in run.steps.items():
        for parameter, edge in step.inputs.items():
            if not isinstance(edge, dict):
                continue
            source, _, scrap = str(edge.get("from", "")).partition(".")
            value = edge.get("value")
            passed.append(
                PassedValue(source, scrap, name, parameter, value, short_value(value, 120))
            )
    return PipelineRunContext(
        run=view.to_dict(),
        run_id=run.run_id,
        pipeline=run.pipeline,
        version=run.version,
        status=view.status,
        trigger=run.trigger,
        created_at=run.created_at,
        finished_at=run.finished_at,
        duration_s=run_duration(run),
        rerun_of=run.rerun_of,
        rerun_from=run.rerun_from,
        overrides=dict(run.overrides),
        graph=layout(definition, states, passed_values(run)),
        steps=steps,
        passed=passed,
        live=not run.done,
    )
