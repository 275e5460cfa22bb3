"""The REST API's run operations, framework-free (the handlers in api_handlers.py are thin).

The job and notebook operations live in the core (:mod:`nbprod.core.jobs`,
:mod:`nbprod.core.notebooks`); what is left here is the run listing the JupyterLab panel
shows, opening an output notebook under the contents root, and the background worker for
a queued run nobody else would take. Bad input raises :class:`~nbprod.errors.FieldError`
(400, naming the field), unknown things ``NotFound`` (404), clashes ``Conflict`` (409).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.core import queueing, runs
from nbprod.core.workspace import Workspace
from nbprod.errors import Conflict, FieldError, NotFound

__all__ = ["Conflict", "FieldError", "NotFound"]

API_VERSION = "1"
"""Bumped on incompatible changes; the frontend checks it (``GET /nbprod/api/info``)."""

OUTPUTS_DIR = runs.OUTPUTS_DIR
"""Where read-only copies of output notebooks go, under the Jupyter contents root."""

# -- runs -------------------------------------------------------------------------------


def list_runs(settings: Settings, *, job: str | None = None, limit: int = 30) -> list[dict]:
    """Recent runs, newest first, queued and running ones included (core.runs.recent_runs)."""
    if not 1 <= limit <= 500:
        raise FieldError("limit must be between 1 and 500", "limit")
    with Workspace(settings) as ws:
        entries = runs.recent_runs(ws, job=job, limit=limit)
    rows = []
    for entry in entries:
        row = run_row(entry.record) if entry.record is not None else _queued_row(entry.item)
        if entry.item is not None:
            row["cancel_requested"] = entry.item.cancel_requested
        rows.append(row)
    return rows


def _queued_row(item: Any) -> dict[str, Any]:
    return {
        "run_id": item.run_id,
        "job": item.job,
        "status": "queued" if item.state == "queued" else "starting",
        "trigger": (item.request or {}).get("trigger"),
        "attempt": item.attempt,
        "scheduled_for": item.scheduled_for,
        "started_at": None,
        "finished_at": None,
        "duration_s": None,
        "progress": {"cells_done": 0, "cells_total": 0},
        "parameters": (item.request or {}).get("parameters") or {},
        "error": None,
        "output": None,
    }


def run_row(record: Any) -> dict[str, Any]:
    error = None
    if record.error is not None:
        error = {
            "ename": record.error.ename,
            "evalue": record.error.evalue,
            "cell_index": record.error.cell_index,
            "cell_number": record.error.cell_number,
            "cell_label": record.error.cell_label,
        }
    return {
        "run_id": record.run_id,
        "job": record.job,
        "status": record.status.value,
        "trigger": record.trigger,
        "attempt": record.attempt,
        "scheduled_for": record.scheduled_for,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_s": record.duration_s,
        "progress": {
            "cells_done": record.progress.cells_done,
            "cells_total": record.progress.cells_total,
        },
        "parameters": record.parameters,
        "error": error,
        "output": record.artifacts.get("output"),
        "report_mode": record.report_mode,
    }


def get_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """One run, fresh (core.runs.show_run); a queued one as its queue item."""
    with Workspace(settings) as ws:
        entry = runs.show_run(ws, run_id)
    return run_row(entry.record) if entry.record is not None else _queued_row(entry.item)


def cancel_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """Cancel a queued or running run (core.queueing.cancel_run, as `nbprod runs cancel`)."""
    from nbprod.store import layout

    if not layout.is_run_id(run_id):
        raise NotFound(f"no run {run_id!r} (not a run id)")
    with Workspace(settings) as ws:
        message = queueing.cancel_run(ws, run_id)
    return {"run_id": run_id, "message": message}


def open_output(settings: Settings, run_id: str, *, root: str | Path) -> dict[str, Any]:
    """A read-only copy of a run's output notebook under the contents root, for JupyterLab
    (core.runs.open_output, as `nbprod runs open`)."""
    with Workspace(settings) as ws:
        opened = runs.open_output(ws, run_id, root)
    return {
        "path": opened.path,
        "run_id": run_id,
        "status": opened.status,
        "cell": opened.cell,
        "cell_number": opened.cell_number,
        "cell_label": opened.cell_label,
    }


# -- pipelines --------------------------------------------------------------------------


def pipeline_run_summary(view: Any) -> dict[str, Any]:
    """A pipeline run as the Jobs panel shows it (a ``core.pipelines.PipelineRunView``):
    its status, when its first step started, how long it took, each step's live state."""
    from nbprod.records import parse_iso

    run = view.run
    started = [s.started_at for s in run.steps.values() if s.started_at]
    duration = None
    if run.finished_at:
        duration = (parse_iso(run.finished_at) - parse_iso(run.created_at)).total_seconds()
    return {
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "version": run.version,
        "status": view.status,
        "trigger": run.trigger,
        "created_at": run.created_at,
        "started_at": min(started) if started else None,
        "finished_at": run.finished_at,
        "duration_s": duration,
        "steps": {name: view.step_state(name) for name in run.steps},
    }


def pipeline_row(view: Any, latest: Any) -> dict[str, Any]:
    """A pipeline (a ``core.pipelines.PipelineView``) with its latest run's summary."""
    definition = view.version.definition
    return {
        "name": view.name,
        "version": view.version.version,
        "schedule": definition.schedule,
        "timezone": definition.timezone,
        "description": definition.description,
        "tags": definition.tags,
        "steps": [
            {
                "name": step.name,
                "needs": list(step.needs),
                "notebook": view.version.pinned[step.name].notebook_name,
            }
            for step in definition.steps
        ],
        "latest_run": pipeline_run_summary(latest) if latest is not None else None,
    }


def list_pipelines(settings: Settings) -> list[dict[str, Any]]:
    """Every pipeline with its latest run, live (`nbprod pipelines list --json`)."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        return [
            pipeline_row(view, _live(ws, view.last_run)) for view in pipelines.list_pipelines(ws)
        ]


def get_pipeline(settings: Settings, name: str, runs: int = 10) -> dict[str, Any]:
    """A pipeline's definition and its ``runs`` newest runs (`nbprod pipelines show NAME`)."""
    from nbprod.core import pipelines

    if not 1 <= runs <= 100:
        raise FieldError("runs must be between 1 and 100", "runs")
    with Workspace(settings) as ws:
        view = pipelines.show_pipeline(ws, name, runs)
        recent = [pipelines.show_pipeline_run(ws, run.run_id) for run in view.runs]
    row = pipeline_row(view, recent[0] if recent else None)
    row["definition"] = view.version.definition.to_dict()
    row["runs"] = [pipeline_run_summary(run) for run in recent]
    return row


def _live(ws: Workspace, run: Any) -> Any:
    from nbprod.core import pipelines

    return pipelines.show_pipeline_run(ws, run.run_id) if run is not None else None


def get_pipeline_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """A pipeline run with its steps (`nbprod pipelines show RUN_ID --json`) and the
    panel's summary of it."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        view = pipelines.show_pipeline_run(ws, run_id)
    return {**view.to_dict(), **_summary_fields(pipeline_run_summary(view))}


def _summary_fields(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "started_at": summary["started_at"],
        "duration_s": summary["duration_s"],
        "step_states": summary["steps"],
    }


def start_pipeline_run(
    settings: Settings, name: str, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Start a pipeline run (`nbprod pipelines run NAME --no-wait --json`): its first
    steps are queued."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        run = pipelines.run_pipeline_form(ws, name, parameters)
        view = pipelines.show_pipeline_run(ws, run.run_id)
    return {**view.to_dict(), **_summary_fields(pipeline_run_summary(view))}


def cancel_pipeline_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """Cancel a pipeline run's queued and running steps (`nbprod pipelines cancel`)."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        run = pipelines.get_pipeline_run(ws, run_id)
        lines = pipelines.cancel_pipeline_run(ws, run.run_id)
    return {"run_id": run.run_id, "cancelled": lines}


def drain_pipeline_run(settings: Settings, run_id: str) -> None:
    """Execute a pipeline run's steps on the configured executor until it is done, for
    a server with no scheduler's workers (the way `nbprod pipelines run` does)."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        run = pipelines.get_pipeline_run(ws, run_id)
        pipelines.wait_for_run(ws, run, execute=True)


# -- executing queued runs --------------------------------------------------------------


def execute_now(settings: Settings, *run_ids: str) -> None:
    """Have queued runs executed now when no scheduler's workers would take them:
    background burst workers, or tasks on the configured executor's cluster."""
    from nbprod.executors.base import RunRef
    from nbprod.executors.registry import make_executor
    from nbprod.store import open_store

    store = open_store(settings.store).url
    refs = [RunRef(store, run_id) for run_id in run_ids]
    executor = make_executor(settings, runs=refs)
    try:
        executor.submit(refs)
    finally:
        executor.close()


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
