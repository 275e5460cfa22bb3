"""Job operations for every face: apply, list, show, run, history, pause."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbprod.config import Settings
from nbprod.jobs.model import JobDefinition, JobVersion
from nbprod.jobs.service import ApplyResult, JobNotFound


def _store_for(settings: Settings, definition: JobDefinition | None = None) -> Any:
    from nbprod.store import open_store

    return open_store(definition.store if definition and definition.store else settings.store)


def apply_job(path: str | os.PathLike[str], *, settings: Settings) -> ApplyResult:
    """Validate a YAML definition and store it as a new version if anything changed."""
    from nbprod.jobs.definition import load_definition

    return apply_definition(load_definition(path), settings=settings, source=str(path))


def apply_definition(
    definition: JobDefinition, *, settings: Settings, source: str = "job"
) -> ApplyResult:
    """Check a validated definition against its notebook and store it as a new version if
    anything changed (what `nbprod jobs apply` and the REST API both do)."""
    from nbprod.api import open_catalog
    from nbprod.jobs import service
    from nbprod.jobs.definition import check_against_notebook

    source_bytes, _ = check_against_notebook(definition, source)
    store = _store_for(settings, definition)
    result = service.apply(definition, store, source_bytes)
    paused = definition.paused
    if paused is None and result.created and result.version.version == 1:
        paused = False
    if paused is not None:
        service.write_state(store, definition.name, paused=paused)
    catalog = open_catalog(settings)
    try:
        catalog.index_job_version(store.url, result.version)
        if paused is not None:
            catalog.set_paused(store.url, definition.name, paused)
    finally:
        catalog.close()
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


def list_jobs(*, settings: Settings) -> list[JobView]:
    from nbprod.api import open_catalog

    catalog = open_catalog(settings)
    try:
        return [_view(s) for s in catalog.jobs(_store_for(settings).url)]
    finally:
        catalog.close()


def show_job(name: str, *, settings: Settings, next_count: int = 3) -> JobView:
    from nbprod.api import open_catalog
    from nbprod.jobs.service import working_copy_differs

    store = _store_for(settings)
    catalog = open_catalog(settings)
    try:
        summary = catalog.job(store.url, name)
        if summary is None or summary.latest_version is None:  # None: runs, no definition
            raise JobNotFound(f"no job {name!r} in {store.url} (see `nbprod jobs list`)")
        view = _view(summary, next_count)
        try:
            view.versions = catalog.job_versions(store.url, name)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:  # hand-written rows
            view.broken = view.broken or f"unreadable versions: {type(exc).__name__}: {exc}"
    finally:
        catalog.close()
    if view.versions and not view.broken:
        view.warning = working_copy_differs(view.versions[-1])
    return view


def job_history(name: str, *, settings: Settings) -> list[JobVersion]:
    return show_job(name, settings=settings, next_count=0).versions


def next_runs(name: str, *, settings: Settings, count: int = 5) -> list[datetime]:
    from nbprod.errors import BadInput
    from nbprod.jobs.service import next_fire_times

    if not 0 <= count <= 1000:
        raise BadInput(f"count must be from 0 to 1000, got {count}")
    view = show_job(name, settings=settings, next_count=0)
    if view.broken:
        raise BadInput(f"job {name!r} is broken: {view.broken}")
    return next_fire_times(view.definition, count)


def prepare_job_run(
    name: str,
    *,
    settings: Settings,
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
    from pathlib import Path

    from nbprod.jobs.service import materialize_snapshot
    from nbprod.runner import prepare

    view = show_job(name, settings=settings, next_count=0)
    chosen = [v for v in view.versions if version is None or v.version == version]
    if not chosen:
        raise JobNotFound(f"job {name!r} has no version {version}")
    pinned = chosen[-1]
    definition = pinned.definition
    from nbprod.errors import BadInput
    from nbprod.jobs.definition import stored_problem

    problem = stored_problem(definition.to_dict())
    if problem:
        raise BadInput(
            f"job {name!r} version {pinned.version} is broken: {problem} "
            "(fix it with `nbprod jobs apply`)"
        )
    store = _store_for(settings)
    path = materialize_snapshot(
        store, pinned.notebook_sha256, pinned.notebook_name, settings.home / "snapshots"
    )
    original_dir = Path(definition.notebook).parent
    return prepare(
        path,
        settings=settings,
        parameters={**definition.parameters, **(parameters or {})},
        cli_parameters=cli_parameters,
        parameter_files=parameter_files,
        parameter_yaml=parameter_yaml,
        job=definition.name,
        kernel=definition.kernel,
        cwd=original_dir if original_dir.is_dir() else None,
        timeout=definition.timeout,
        cell_timeout=definition.cell_timeout,
        trigger=trigger,
        job_version=pinned.version,
        tags=definition.tags,
        source_path=definition.notebook,
        **extra,
    )


def set_paused(name: str, paused: bool, *, settings: Settings) -> None:
    from nbprod.api import open_catalog
    from nbprod.jobs.service import write_state

    show_job(name, settings=settings, next_count=0)  # raises JobNotFound
    store = _store_for(settings)
    write_state(store, name, paused=paused)
    catalog = open_catalog(settings)
    try:
        catalog.set_paused(store.url, name, paused)
    finally:
        catalog.close()
