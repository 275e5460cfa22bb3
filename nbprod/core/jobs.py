"""Job operations for every face (CLI, REST, Python API): apply, list, show, run, pause,
delete (saving a job from the JupyterLab dialog's form is ``core/job_form.py``).

Every function takes the :class:`~nbprod.core.workspace.Workspace` it works in first and
raises typed errors (:class:`~nbprod.errors.FieldError` naming the field, ``NotFound``,
``Conflict``), so the faces only parse input and format the answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, FieldError
from nbprod.jobs.model import JobDefinition, JobVersion
from nbprod.jobs.versions import ApplyResult, JobNotFound


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
    from nbprod.jobs import versions
    from nbprod.jobs.definition import check_against_notebook

    source_bytes, _ = check_against_notebook(definition, source)
    store = _definition_store(ws, definition)
    before = ws.catalog.job(store.url, definition.name)
    result = versions.apply(definition, store, source_bytes)
    if before is not None and before.definition.get("scheduled_by") and result.created:
        handed_back(ws, store.url, definition.name, before.definition["scheduled_by"])
    paused = definition.paused
    if paused is None and result.created and result.version.version == 1:
        paused = False
    if paused is not None:
        versions.write_state(store, definition.name, paused=paused)
    ws.catalog.index_job_version(store.url, result.version)
    if paused is not None:
        ws.catalog.set_paused(store.url, definition.name, paused)
    return result


def handed_back(ws: Workspace, store_url: str, job: str, by: str) -> None:
    """Record in the fire ledger that ``by`` fired the job until now, so that nbprod's
    catch-up starts here instead of re-running a fire the other scheduler already ran."""
    from nbprod.catalog.queue import utcnow
    from nbprod.catalog.queued import FireDecision

    now = utcnow()
    ws.queue.record_fire(
        store_url,
        job,
        now,
        decision=FireDecision.SKIPPED,
        scheduler=f"export:{by}",
        now=now,
        reason=f"scheduled by {by} until this moment",
    )


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
    scheduled_since: str | None = None
    """When the external scheduler (``definition.scheduled_by``) took the job; shown
    with the versions (``show_job``)."""

    @property
    def scheduled_by(self) -> str | None:
        """Who fires the job besides manual runs: None for nbprod, else ``airflow``."""
        return self.definition.scheduled_by

    drifted: bool | None = None
    """Whether the working copy's cells differ from the pinned snapshot (core.drift)."""

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
            "scheduled_by": self.scheduled_by,
            "scheduled_since": self.scheduled_since,
            "definition": self.definition.to_dict(),
            "versions": [v.to_dict() for v in self.versions],
            "drifted": self.drifted,
        }


def _view(summary: Any, next_count: int = 1) -> JobView:
    from nbprod.jobs.definition import stored_problem
    from nbprod.jobs.versions import next_fire_times

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
    from nbprod.jobs.drift import drifted

    views = []
    for summary in ws.catalog.jobs(ws.store.url):
        view = _view(summary)
        notebook = (summary.definition or {}).get("notebook") if summary.definition else None
        view.drifted = drifted(ws.store, notebook, summary.notebook_sha256)
        views.append(view)
    return views


def show_job(ws: Workspace, name: str, next_count: int = 3) -> JobView:
    """A job with its versions; JobNotFound (a NotFound) for an unknown one."""
    from nbprod.jobs.versions import working_copy_differs

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
        from nbprod.jobs.versions import scheduled_since

        view.warning = working_copy_differs(view.versions[-1])
        view.scheduled_since = scheduled_since(view.versions)
    return view


def job_history(ws: Workspace, name: str) -> list[JobVersion]:
    return show_job(ws, name, next_count=0).versions


def next_runs(ws: Workspace, name: str, count: int = 5) -> list[datetime]:
    from nbprod.jobs.versions import next_fire_times

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
    from nbprod.jobs.versions import pinned_version, prepare_version_run

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
    from nbprod.jobs.versions import write_state

    show_job(ws, name, next_count=0)  # raises JobNotFound
    write_state(ws.store, name, paused=paused)
    ws.catalog.set_paused(ws.store.url, name, paused)
    return show_job(ws, name)


@dataclass
class DeletedJob:
    """What ``delete_job`` removed: the job's definition, and its runs still queued."""

    name: str
    cancelled_queued: list[str]


def delete_job(ws: Workspace, name: str) -> DeletedJob:
    """Remove a job's definition (all versions and its state) from the store and the
    catalog, and drop its queued runs. Its past runs stay (as runs of an ad-hoc job).

    JobNotFound (nothing changed) for a name that is no job in this store."""
    from nbprod.catalog.queue import QUEUED, utcnow
    from nbprod.store import layout

    show_job(ws, name, next_count=0)  # JobNotFound for an unknown job
    store = ws.store
    prefix = layout.job_versions_prefix(name)
    for entry in list(store.list(prefix)):
        if not entry.is_dir:
            store.delete(f"{prefix}/{entry.name}")
    ws.catalog.delete_job(store.url, name)
    dropped = []
    for item in ws.queue.items((QUEUED,), limit=10000):
        if item.store == store.url and item.job == name:
            if ws.queue.request_cancel(item.store, item.run_id, utcnow()) == "cancelled":
                dropped.append(item.run_id)
    return DeletedJob(name, dropped)


def run_job_now(ws: Workspace, name: str, parameters: Mapping[str, Any] | None = None) -> str:
    """Queue one run of a job's latest version with parameter overrides (form text, typed
    like ``-p NAME VALUE``); returns its run id.

    The overrides are checked against the pinned snapshot's schema (what the run executes,
    not the working copy on disk), each error naming ``parameters.<name>``."""
    from nbprod.core.notebooks import parse_parameters
    from nbprod.core.queueing import enqueue_job

    texts = dict(parameters or {})
    if texts:
        parse_parameters(pinned_schema(ws, name), texts)  # field-level errors first
    return enqueue_job(ws, name, cli_parameters=list(texts.items()))


def pinned_schema(ws: Workspace, name: str, version: int | None = None) -> Any:
    """The parameter schema of a job version's pinned snapshot (default: the latest)."""
    from nbprod.core.notebooks import schema_of
    from nbprod.jobs.versions import materialize_snapshot, pinned_version

    pinned = pinned_version(ws.catalog, ws.store.url, name, version)
    path = materialize_snapshot(
        ws.store, pinned.notebook_sha256, pinned.notebook_name, ws.settings.home / "snapshots"
    )
    return schema_of(path)


def workers_alive(ws: Workspace) -> bool:
    """Whether some worker beat recently (an embedded or external scheduler's, or one's own)."""
    from nbprod.catalog.queue import parse_iso, utcnow

    now = utcnow()
    return any(
        w["state"] != "stopped"
        and (now - parse_iso(w["heartbeat_at"])).total_seconds() < ws.settings.lost_after
        for w in ws.queue.workers()
    )


OWN_TRIGGERS = ("schedule", "retry", "rerun", "sweep", "queue", "lab")
"""Triggers only nbprod itself sets: an orchestrator claiming one would mislead listings."""


def orchestrated_run(
    *,
    trigger: str | None = None,
    attempt: int | None = None,
    scheduled_for: str | None = None,
    logical_run_id: str | None = None,
) -> dict[str, Any]:
    """The run identity an external orchestrator hands `nbprod jobs run` (Airflow: its try
    number, logical date and run id), checked; the keyword arguments for prepare_job_run.
    Each try of one orchestrator run is an attempt of one logical nbprod run."""
    import re

    from nbprod.records import isoformat, parse_iso

    extra: dict[str, Any] = {}
    if trigger is not None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", trigger) or trigger in OWN_TRIGGERS:
            raise FieldError(
                f"--trigger must be a lowercase name (like airflow) other than "
                f"{', '.join(OWN_TRIGGERS)}, got {trigger!r}",
                "trigger",
            )
        extra["trigger"] = trigger
    if attempt is not None:
        if not 1 <= attempt <= 100_000:
            raise FieldError(f"--attempt must be from 1 to 100000, got {attempt}", "attempt")
        extra["attempt"] = attempt
    if scheduled_for is not None:
        try:
            moment = parse_iso(scheduled_for.strip())
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise FieldError(
                "--scheduled-for must be an ISO 8601 time with its UTC offset "
                f"(2026-12-01T07:00:00+01:00), got {scheduled_for!r}",
                "scheduled_for",
            )
        extra["scheduled_for"] = isoformat(moment)
    if logical_run_id is not None:
        if not 0 < len(logical_run_id) <= 250 or not logical_run_id.isprintable():
            raise FieldError(
                "--logical-run-id must be 1 to 250 printable characters", "logical_run_id"
            )
        extra["logical_run_id"] = logical_run_id
    return extra
