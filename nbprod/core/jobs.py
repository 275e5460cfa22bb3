"""Job operations for every face (CLI, REST, Python API): apply, list, show, run, pause,
delete, and saving a job from the JupyterLab dialog's form.

Every function takes the :class:`~nbprod.core.workspace.Workspace` it works in first and
raises typed errors (:class:`~nbprod.errors.FieldError` naming the field, ``NotFound``,
``Conflict``), so the faces only parse input and format the answer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, FieldError
from nbprod.jobs.model import JobDefinition, JobVersion
from nbprod.jobs.service import ApplyResult, JobNotFound


def _definition_store(ws: Workspace, definition: JobDefinition) -> Any:
    """The store a definition names itself, else the workspace's."""
    if not definition.store:
        return ws.store
    from nbprod.store import open_store

    return open_store(definition.store)


def apply_job(ws: Workspace, path: str | os.PathLike[str]) -> ApplyResult:
    """Validate a YAML definition and store it as a new version if anything changed."""
    from nbprod.jobs.definition import load_definition

    return apply_definition(ws, load_definition(path), source=str(path))


def apply_definition(ws: Workspace, definition: JobDefinition, source: str = "job") -> ApplyResult:
    """Check a validated definition against its notebook and store it as a new version if
    anything changed (what `nbprod jobs apply` and the REST API both do)."""
    from nbprod.jobs import service
    from nbprod.jobs.definition import check_against_notebook

    source_bytes, _ = check_against_notebook(definition, source)
    store = _definition_store(ws, definition)
    result = service.apply(definition, store, source_bytes)
    paused = definition.paused
    if paused is None and result.created and result.version.version == 1:
        paused = False
    if paused is not None:
        service.write_state(store, definition.name, paused=paused)
    ws.catalog.index_job_version(store.url, result.version)
    if paused is not None:
        ws.catalog.set_paused(store.url, definition.name, paused)
    return result


@dataclass
class JobView:
    """A job as the faces show it: the latest definition plus what the catalog knows."""

    name: str
    version: int
    definition: JobDefinition
    paused: bool
    next_runs: list[datetime]
    last_status: str | None = None
    last_run_id: str | None = None
    last_started_at: str | None = None
    runs_total: int = 0
    runs_succeeded: int = 0
    warning: str | None = None
    broken: str | None = None
    """Why the stored definition cannot be scheduled (bad schedule, timezone, ...): the
    scheduler skips the job and listings show this instead of failing."""
    versions: list[JobVersion] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "paused": self.paused,
            "schedule": self.definition.schedule,
            "timezone": self.definition.timezone,
            "next_runs": [t.isoformat() for t in self.next_runs],
            "last_status": self.last_status,
            "last_run_id": self.last_run_id,
            "last_started_at": self.last_started_at,
            "runs_total": self.runs_total,
            "runs_succeeded": self.runs_succeeded,
            "warning": self.warning,
            "broken": self.broken,
            "definition": self.definition.to_dict(),
            "versions": [v.to_dict() for v in self.versions],
        }


def _view(summary: Any, next_count: int = 1) -> JobView:
    from nbprod.jobs.definition import stored_problem
    from nbprod.jobs.service import next_fire_times

    broken = stored_problem(summary.definition)
    definition = _readable(summary) if broken else JobDefinition.from_dict(summary.definition)
    next_times: list[datetime] = []
    if not (broken or summary.paused):
        try:
            next_times = next_fire_times(definition, next_count)
        except Exception as exc:  # noqa: BLE001 - one bad job must not break the listing
            broken = f"cannot compute its fire times: {type(exc).__name__}: {exc}"
    return JobView(
        name=summary.name,
        version=summary.latest_version,
        definition=definition,
        paused=summary.paused,
        broken=broken,
        next_runs=next_times,
        last_status=summary.last_status,
        last_run_id=summary.last_run_id,
        last_started_at=summary.last_started_at,
        runs_total=summary.runs_total,
        runs_succeeded=summary.runs_succeeded,
    )


def _readable(summary: Any) -> JobDefinition:
    """A broken stored definition as far as it can be shown."""
    try:
        return JobDefinition.from_dict(summary.definition)
    except Exception:  # noqa: BLE001
        data = summary.definition if isinstance(summary.definition, dict) else {}
        return JobDefinition(
            name=summary.name,
            notebook=str(data.get("notebook", "?")),
            schedule=str(summary.schedule) if summary.schedule else None,
            timezone=str(summary.timezone),
        )


def list_jobs(ws: Workspace) -> list[JobView]:
    return [_view(s) for s in ws.catalog.jobs(ws.store.url)]


def show_job(ws: Workspace, name: str, next_count: int = 3) -> JobView:
    """A job with its versions; JobNotFound (a NotFound) for an unknown one."""
    from nbprod.jobs.service import working_copy_differs

    url = ws.store.url
    summary = ws.catalog.job(url, name)
    if summary is None or summary.latest_version is None:  # None: runs, no definition
        raise JobNotFound(f"no job {name!r} in {url} (see `nbprod jobs list`)")
    view = _view(summary, next_count)
    try:
        view.versions = ws.catalog.job_versions(url, name)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:  # hand-written rows
        view.broken = view.broken or f"unreadable versions: {type(exc).__name__}: {exc}"
    if view.versions and not view.broken:
        view.warning = working_copy_differs(view.versions[-1])
    return view


def job_history(ws: Workspace, name: str) -> list[JobVersion]:
    return show_job(ws, name, next_count=0).versions


def next_runs(ws: Workspace, name: str, count: int = 5) -> list[datetime]:
    from nbprod.jobs.service import next_fire_times

    if not 0 <= count <= 1000:
        raise FieldError(f"count must be from 0 to 1000, got {count}", "count")
    view = show_job(ws, name, next_count=0)
    if view.broken:
        raise BadInput(f"job {name!r} is broken: {view.broken}")
    return next_fire_times(view.definition, count)


def prepare_job_run(
    ws: Workspace,
    name: str,
    *,
    cli_parameters: Sequence[tuple[str, str]] = (),
    parameter_files: Sequence[str] = (),
    parameter_yaml: Sequence[str] = (),
    parameters: dict[str, Any] | None = None,
    version: int | None = None,
    trigger: str = "job",
    **extra: Any,
) -> Any:
    """A run request for a job version (default: the latest): its pinned snapshot, its
    parameters overlaid with the overrides (validated against the snapshot's schema).

    ``extra`` passes run identity through (run_id, attempt, scheduled_for, ...).
    """
    from nbprod.jobs.service import pinned_version, prepare_version_run

    pinned = pinned_version(ws.catalog, ws.store.url, name, version)
    return prepare_version_run(
        pinned,
        settings=ws.settings,
        store=ws.store,
        parameters=parameters,
        cli_parameters=cli_parameters,
        parameter_files=parameter_files,
        parameter_yaml=parameter_yaml,
        trigger=trigger,
        **extra,
    )


def set_paused(ws: Workspace, name: str, paused: bool) -> JobView:
    """Pause or resume a job (store state first, then the catalog); the job as it is now."""
    from nbprod.jobs.service import write_state

    show_job(ws, name, next_count=0)  # raises JobNotFound
    write_state(ws.store, name, paused=paused)
    ws.catalog.set_paused(ws.store.url, name, paused)
    return show_job(ws, name)
