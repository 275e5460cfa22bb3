"""The pipelines listing and a pipeline's page: its graph coloured by the latest run,
the run history, and a chart of each step's duration over the recent runs.

The data is the core's (``core.pipelines.list_pipelines``, ``show_pipeline``: the same
as ``nbprod pipelines list`` and ``show NAME``); this module lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbprod.core.pipelines import PipelineView, list_pipelines, show_pipeline, show_pipeline_run
from nbprod.records import parse_iso
from nbprod.server.browse_data import BrowseData
from nbprod.server.charts import Chart, Sample, line_chart
from nbprod.server.pipeline_graph import PipelineGraph, layout, states_of
from nbprod.server.views.common import doc

HISTORY = 50
"""The pipeline page lists (and charts) this many newest runs."""


@dataclass
class PipelineRow:
    """One pipeline in the listing."""

    name: str = doc("The pipeline's name.")
    version: int = doc("Its latest version.")
    description: str = doc("The definition's description.")
    schedule: str | None = doc("Cron expression or preset; null when run on demand only.")
    timezone: str = doc("Timezone of the schedule.")
    paused: bool = doc("Whether its schedule is paused (`nbprod pipelines pause`).")
    next_run: str | None = doc("Next fire time in its timezone (ISO 8601), if scheduled.")
    steps: list[str] = doc("Its steps, in run order.")
    step_count: int = doc("How many steps.")
    tags: list[str] = doc("The pipeline's tags.")
    last_run_id: str | None = doc("Its newest pipeline run, or null.")
    last_status: str | None = doc("That run's status.")
    last_created_at: str | None = doc("When that run was created (ISO 8601 UTC).")


@dataclass
class PipelinesContext:
    """The pipelines listing."""

    store: str = doc("URL of the store being browsed.")
    pipelines: list[PipelineRow] = doc("Every pipeline in the store, by name.")


@dataclass
class PipelineRunRow:
    """One run in a pipeline's history."""

    run_id: str = doc("The pipeline run's id.")
    version: int = doc("The pipeline version it ran.")
    status: str = doc("queued, running, succeeded or failed.")
    trigger: str = doc("What started it: manual, rerun or schedule.")
    created_at: str = doc("When it started (ISO 8601 UTC).")
    finished_at: str | None = doc("When its last step ended, or null.")
    duration_s: float | None = doc("Wall seconds from start to the last step's end.")
    rerun_of: str | None = doc("The pipeline run it reran, if any.")
    counts: dict[str, int] = doc("Its steps per status.")


@dataclass
class VersionRow:
    """One version of the pipeline."""

    version: int = doc("Version number.")
    created_at: str = doc("When it was applied (ISO 8601 UTC).")
    changes: list[str] = doc("What it changed, one line each.")


@dataclass
class PipelineContext:
    """A pipeline's page."""

    pipeline: PipelineRow = doc("The pipeline's summary.")
    definition: dict[str, Any] = doc("The latest version's definition (docs/pipelines.md).")
    versions: list[VersionRow] = doc("Every version, newest first.")
    graph: PipelineGraph = doc("The steps and edges, coloured by the newest run.")
    graph_run_id: str | None = doc("The pipeline run the graph's colours come from.")
    runs: list[PipelineRunRow] = doc(f"The newest {HISTORY} runs, newest first.")
    charts: list[Chart] = doc("Each step's duration over those runs, oldest first.")


def pipeline_row(view: PipelineView, last_status: str | None = None) -> PipelineRow:
    """``last_status``: the newest run's status as shown (``running`` once a step's run
    started, which its record does not say), else the record's."""
    from nbprod.pipelines.graph import order

    definition = view.version.definition
    last = view.last_run
    return PipelineRow(
        name=view.name,
        version=view.version.version,
        description=definition.description,
        schedule=definition.schedule,
        timezone=definition.timezone,
        paused=view.paused,
        next_run=view.next_runs[0].isoformat() if view.next_runs else None,
        steps=order(definition.needs),
        step_count=len(definition.steps),
        tags=list(definition.tags),
        last_run_id=last.run_id if last is not None else None,
        last_status=last_status or (last.status.value if last is not None else None),
        last_created_at=last.created_at if last is not None else None,
    )


def listing(service: BrowseData) -> PipelinesContext:
    rows = []
    for view in list_pipelines(service.workspace):
        status = None
        if view.last_run is not None and not view.last_run.done:
            status = show_pipeline_run(service.workspace, view.last_run.run_id).status
        rows.append(pipeline_row(view, status))
    return PipelinesContext(service.store.url, rows)


def run_row(run: Any) -> PipelineRunRow:
    counts: dict[str, int] = {}
    for step in run.steps.values():
        counts[step.status.value] = counts.get(step.status.value, 0) + 1
    return PipelineRunRow(
        run_id=run.run_id,
        version=run.version,
        status=run.status.value,
        trigger=run.trigger,
        created_at=run.created_at,
        finished_at=run.finished_at,
        duration_s=run_duration(run),
        rerun_of=run.rerun_of,
        counts=counts,
    )


def run_duration(run: Any) -> float | None:
    """Seconds from the run's start to its end (None while it goes on)."""
    if not run.finished_at:
        return None
    seconds = (parse_iso(run.finished_at) - parse_iso(run.created_at)).total_seconds()
    return round(seconds, 3)


def build(service: BrowseData, name: str) -> PipelineContext:
    view = show_pipeline(service.workspace, name, runs=HISTORY)
    definition = view.version.definition
    latest = view.runs[0] if view.runs else None
    states, passed, status = {}, {}, None
    runs = [run_row(run) for run in view.runs]
    if latest is not None:
        shown = show_pipeline_run(service.workspace, latest.run_id)  # queued or running now
        states = states_of(shown.run.steps.values(), shown.live)
        passed = passed_values(shown.run)
        status = runs[0].status = shown.status
    return PipelineContext(
        pipeline=pipeline_row(view, status),
        definition=definition.to_dict(),
        versions=[
            VersionRow(v.version, v.created_at, list(v.changes)) for v in reversed(view.versions)
        ],
        graph=layout(definition, states, passed),
        graph_run_id=latest.run_id if latest is not None else None,
        runs=runs,
        charts=step_charts(view.runs, [s.name for s in definition.steps]),
    )


def passed_values(run: Any) -> dict[tuple[str, str], Any]:
    """(step, parameter) → the value its edge passed, in this run."""
    return {
        (name, parameter): edge.get("value")
        for name, step in run.steps.items()
        for parameter, edge in step.inputs.items()
        if isinstance(edge, dict)
    }


def step_charts(runs: list[Any], steps: list[str]) -> list[Chart]:
    """One duration chart per step, from newest-first pipeline runs: the step's own runs
    (a step reused from an earlier pipeline run did not run again, so it is left out)."""
    series: dict[str, list[Sample]] = {name: [] for name in steps}
    for run in reversed(runs):
        for name, step in run.steps.items():
            if step.duration_s is None or step.run_id is None or step.reused_from:
                continue
            status = step.run_status or step.status.value
            sample = (step.run_id, step.started_at, status, float(step.duration_s))
            series.setdefault(name, []).append(sample)
    return [line_chart(f"{name} duration (s)", values) for name, values in series.items() if values]
