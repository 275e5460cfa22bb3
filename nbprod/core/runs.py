"""Run operations: execute and index, list, show, rerun, delete.

Every face reaches runs through these functions (the CLI and the Python API through
:mod:`nbprod.api`, the REST API and the browse UI directly), so a run looks the same
whichever face asks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.core.workspace import Workspace
from nbprod.records import RunRecord, RunStatus

if TYPE_CHECKING:
    from nbprod.runner import Run, RunRequest


def run(
    ws: Workspace,
    request: RunRequest,
    *,
    progress_bar: bool = False,
    log_output: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    index: bool = True,
    control: Any = None,
    handle_signals: bool = True,
    on_start: Callable[[RunRequest], None] | None = None,
) -> Run:
    """Execute a prepared request and index its record in the catalog (start and end).

    The catalog is opened on the first record (in the run's helper thread, overlapping the
    kernel's start), not before the run.
    """
    from nbprod.runner import run as run_request

    on_record = None
    if index:

        def on_record(record: RunRecord) -> None:
            ws.catalog.index_run(request.store.url, record)

    return run_request(
        request,
        progress_bar=progress_bar,
        log_output=log_output,
        on_progress=on_progress,
        on_record=on_record,
        control=control,
        handle_signals=handle_signals,
        on_start=on_start,
    )


def list_runs(
    ws: Workspace,
    *,
    job: str | None = None,
    status: RunStatus | str | Sequence[str] | None = None,
    limit: int | None = 50,
    offset: int = 0,
    since: str | None = None,
    until: str | None = None,
    tag: str | None = None,
    params: Sequence[str] = (),
    scraps: Sequence[str] = (),
    error: str | None = None,
) -> list[RunRecord]:
    """Runs from the catalog, newest first, filtered (see :func:`nbprod.api.list_runs`)."""
    from nbprod.catalog.query import RunFilter, parse_condition, parse_when

    statuses = [status] if isinstance(status, str | RunStatus) else list(status or [])
    query = RunFilter(
        job=job,
        status=[RunStatus(s).value for s in statuses],
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
        tag=tag,
        params=[parse_condition(c) for c in params],
        scraps=[parse_condition(c) for c in scraps],
        error=error,
        limit=limit or None,
        offset=offset,
    )
    return ws.catalog.query_runs(ws.store.url, query)


def list_queued(
    ws: Workspace, *, job: str | None = None, limit: int | None = 50
) -> list[dict[str, Any]]:
    """Runs waiting in the queue for a worker, oldest first (`runs list --status queued`).

    Queued runs have no run record yet (a record is written when a worker starts them), so
    they come from the catalog's queue, not from the runs index.
    """
    from nbprod.scheduler.queue import QUEUED

    store_url = ws.store.url
    items = ws.queue.items((QUEUED,), limit=100_000)
    chosen = [i for i in items if i.store == store_url and (job is None or i.job == job)]
    views = [
        {
            "run_id": i.run_id,
            "job": i.job,
            "status": QUEUED,
            "attempt": i.attempt,
            "enqueued_at": i.enqueued_at,
            "available_at": i.available_at,
            "scheduled_for": i.scheduled_for,
            "parameters": dict((i.request or {}).get("parameters") or {}),
        }
        for i in chosen
    ]
    return views[:limit] if limit else views


def list_runs_from_store(
    ws: Workspace, *, job: str | None = None, limit: int | None = 50
) -> list[RunRecord]:
    """The same listing read from the store alone (slow on big stores; no catalog needed)."""
    from itertools import islice

    from nbprod.history import iter_runs

    runs = iter_runs(ws.store, job=job)
    return list(islice(runs, limit)) if limit else list(runs)


def get_run(ws: Workspace, run_id: str) -> RunRecord:
    """A run by id or unique id prefix: from the catalog, else from the store."""
    from nbprod.history import find_run

    record = ws.catalog.get_run(ws.store.url, run_id)
    return record if record is not None else find_run(ws.store, run_id)


def rerun(
    ws: Workspace,
    run_id: str,
    *,
    cli_parameters: Sequence[tuple[str, str]] = (),
    parameters: Mapping[str, Any] | None = None,
    progress_bar: bool = False,
    prepare_only: bool = False,
) -> Any:
    """Run the stored snapshot of ``run_id`` again with its parameters (plus overrides)."""
    from nbprod.jobs.service import materialize_snapshot
    from nbprod.runner import prepare

    original = get_run(ws, run_id)
    path = materialize_snapshot(
        ws.store, original.notebook.sha256, original.notebook.name, ws.settings.home / "snapshots"
    )
    given = {name: original.parameters[name] for name in original.parameters_given}
    given.update(parameters or {})
    cwd = original.cwd if original.cwd and Path(original.cwd).is_dir() else None
    request = prepare(
        path,
        settings=ws.settings,
        parameters=given,
        cli_parameters=cli_parameters,
        job=original.job,
        kernel=original.kernel,
        cwd=cwd,
        timeout=original.timeout_s,
        cell_timeout=original.cell_timeout_s,
        trigger="rerun",
        job_version=original.job_version,
        rerun_of=original.run_id,
        tags=original.tags,
        source_path=original.notebook.path,
    )
    return request if prepare_only else run(ws, request, progress_bar=progress_bar)


def delete_runs(
    ws: Workspace, records: Sequence[RunRecord], *, notes: list[str] | None = None
) -> list[RunRecord]:
    """Delete runs from the store and the catalog together (never one without the other).

    Every run is planned before any is deleted: one that cannot go whole refuses the lot.
    ``notes`` collects one line per leftover or interrupted deletion completed.
    """
    from nbprod.retention import delete_run, finish_deletions, plan_delete

    store, catalog = ws.store, ws.catalog
    found = notes if notes is not None else []
    found += finish_deletions(store, catalog)
    removals = [plan_delete(store, record) for record in records]
    for record, removal in zip(records, removals, strict=True):
        found += delete_run(store, catalog, record, removal)
    return list(records)
