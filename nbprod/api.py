"""The public Python API: thin functions over :mod:`nbprod.core`.

Each opens one :class:`~nbprod.core.Workspace` for its settings and calls one core
operation; the CLI uses them, the REST API and the browse UI call the core directly, and
nothing under the faces imports this module (tests/test_architecture.py checks).

>>> import nbprod
>>> run = nbprod.execute("report.ipynb", {"region": "eu", "days": 7})
>>> run.status, run.output_location
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nbprod.config import Settings
from nbprod.core import maintenance, queueing, runs
from nbprod.core import status as status_report
from nbprod.core.maintenance import FlushResult
from nbprod.core.workspace import Workspace
from nbprod.records import RunRecord, RunStatus
from nbprod.request import Run, RunRequest
from nbprod.runner import prepare

__all__ = [
    "FlushResult",
    "Run",
    "RunRequest",
    "execute",
    "flush_spool",
    "get_run",
    "list_runs",
    "notebook_parameters",
    "open_catalog",
    "prepare",
    "rerun",
    "run",
]


def open_catalog(settings: Settings) -> Any:
    """The catalog ``settings`` name (close it when done; a Workspace does that for you)."""
    from nbprod.catalog import open_catalog as _open

    return _open(settings)


def run(
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
    """Execute a prepared request and index its record in the catalog (start and end)."""
    with Workspace(request.settings) as ws:
        return runs.run(
            ws,
            request,
            progress_bar=progress_bar,
            log_output=log_output,
            on_progress=on_progress,
            index=index,
            control=control,
            handle_signals=handle_signals,
            on_start=on_start,
        )


def execute(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    store: str | None = None,
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    report_mode: bool = False,
    progress_bar: bool = False,
    log_output: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> Run:
    """Validate, execute and store one run of ``notebook``.

    Raises a BadInput subclass (nothing run, nothing stored) for bad input; otherwise
    returns a Run in a terminal status, whose output notebook is stored in every case.
    """
    settings = settings or Settings.load({"store": store})
    request = prepare(
        notebook,
        settings=settings,
        parameters=parameters,
        job=job,
        kernel=kernel,
        cwd=cwd,
        timeout=timeout,
        cell_timeout=cell_timeout,
        report_mode=report_mode,
    )
    return run(request, progress_bar=progress_bar, log_output=log_output, on_progress=on_progress)


def notebook_parameters(notebook: str | os.PathLike[str]) -> Any:
    """The typed parameter schema of a notebook's ``parameters`` cell."""
    from nbprod.core.notebooks import schema_of

    return schema_of(notebook)


def list_runs(
    *,
    settings: Settings | None = None,
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
    """Runs from the catalog, newest first, filtered.

    ``since``/``until`` take ``7d``, ``12h`` or ISO dates; ``params``/``scraps`` take
    conditions like ``region=eu`` or ``accuracy>=0.9``; ``error`` matches error text.
    """
    with Workspace(settings) as ws:
        return runs.list_runs(
            ws,
            job=job,
            status=status,
            limit=limit,
            offset=offset,
            since=since,
            until=until,
            tag=tag,
            params=params,
            scraps=scraps,
            error=error,
        )


def list_queued(
    *, settings: Settings | None = None, job: str | None = None, limit: int | None = 50
) -> list[dict[str, Any]]:
    """Runs waiting in the queue for a worker, oldest first (`runs list --status queued`)."""
    with Workspace(settings) as ws:
        return runs.list_queued(ws, job=job, limit=limit)


def list_runs_from_store(
    *, settings: Settings | None = None, job: str | None = None, limit: int | None = 50
) -> list[RunRecord]:
    """The same listing read from the store alone (slow on big stores; no catalog needed)."""
    with Workspace(settings) as ws:
        return runs.list_runs_from_store(ws, job=job, limit=limit)


def get_run(run_id: str, *, settings: Settings | None = None) -> RunRecord:
    """A run by id or unique id prefix: from the catalog, else from the store."""
    with Workspace(settings) as ws:
        return runs.get_run(ws, run_id)


def rerun(
    run_id: str,
    *,
    settings: Settings | None = None,
    cli_parameters: Sequence[tuple[str, str]] = (),
    parameters: Mapping[str, Any] | None = None,
    progress_bar: bool = False,
    prepare_only: bool = False,
) -> Any:
    """Run the stored snapshot of ``run_id`` again with its parameters (plus overrides)."""
    with Workspace(settings) as ws:
        return runs.rerun(
            ws,
            run_id,
            cli_parameters=cli_parameters,
            parameters=parameters,
            progress_bar=progress_bar,
            prepare_only=prepare_only,
        )


def flush_spool(
    *, settings: Settings | None = None, run_ids: Sequence[str] = ()
) -> list[FlushResult]:
    """Publish runs kept in the local spool because their store was unreachable."""
    with Workspace(settings) as ws:
        return maintenance.flush_spool(ws, run_ids=run_ids)


def delete_runs(
    records: Sequence[RunRecord], *, settings: Settings, notes: list[str] | None = None
) -> list[RunRecord]:
    """Delete runs from the store and the catalog together (never one without the other).

    Every run is planned before any is deleted: one that cannot go whole refuses the lot.
    ``notes`` collects one line per leftover or interrupted deletion completed.
    """
    with Workspace(settings) as ws:
        return runs.delete_runs(ws, records, notes=notes)


def gc(
    *,
    settings: Settings,
    job: str | None = None,
    keep_last: int | None = None,
    older_than: str | None = None,
    dry_run: bool = True,
    notes: list[str] | None = None,
) -> list[Any]:
    """Apply a retention policy per job; each job's own ``retention`` when none is given.

    Returns one GcPlan per job; deletes only when ``dry_run`` is False. A run that cannot
    be deleted whole is skipped (``GcPlan.skipped``); ``notes`` collects leftovers and
    interrupted deletions completed, one line each.
    """
    with Workspace(settings) as ws:
        return maintenance.gc(
            ws, job=job, keep_last=keep_last, older_than=older_than, dry_run=dry_run, notes=notes
        )


def catalog_sync(*, settings: Settings, full: bool = False) -> Any:
    """Index what is in the store but not in the catalog (e.g. runs from other machines)."""
    with Workspace(settings) as ws:
        return maintenance.catalog_sync(ws, full=full)


def catalog_rebuild(*, settings: Settings) -> Any:
    """Re-index this store from scratch: the catalog is only ever an index of the store."""
    with Workspace(settings) as ws:
        return maintenance.catalog_rebuild(ws)


def enqueue_job(
    name: str,
    *,
    settings: Settings,
    cli_parameters: Sequence[tuple[str, str]] = (),
    parameter_files: Sequence[str] = (),
    parameter_yaml: Sequence[str] = (),
) -> str:
    """Queue one run of a job's latest version for the workers; returns its run id.

    The overrides are validated now (against the pinned snapshot), not when a worker
    picks the run up.
    """
    with Workspace(settings) as ws:
        return queueing.enqueue_job(
            ws,
            name,
            cli_parameters=cli_parameters,
            parameter_files=parameter_files,
            parameter_yaml=parameter_yaml,
        )


def cancel_run(run_id: str, *, settings: Settings) -> str:
    """Cancel a queued or running run from any process; returns what happened.

    A queued run is cancelled at once; a running one is flagged for its worker (which
    interrupts the kernel and stores the output); a foreground ``nbprod exec`` on this host
    is sent SIGTERM, which cancels it the same way. A run whose process is gone (killed,
    crashed) is ended as ``lost`` on the spot, its partial output kept.
    """
    with Workspace(settings) as ws:
        return queueing.cancel_run(ws, run_id)


def scheduler_status(*, settings: Settings, stalled_after: float = 600.0) -> dict[str, Any]:
    """Queued and running runs, workers and lag, for `nbprod status` (see core/status.py)."""
    with Workspace(settings) as ws:
        return status_report.scheduler_status(ws, stalled_after=stalled_after)


def enqueue_notebook(
    notebook: str | os.PathLike[str],
    parameter_sets: Sequence[Mapping[str, Any]],
    *,
    settings: Settings,
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    tags: Sequence[str] = (),
    trigger: str = "queue",
) -> list[RunRequest]:
    """Queue one run of ``notebook`` per parameter set, for the workers.

    Every set is validated first (nothing is queued if one is wrong); the notebook's
    snapshot is stored once and every run executes that snapshot.
    """
    with Workspace(settings) as ws:
        return queueing.enqueue_notebook(
            ws,
            notebook,
            parameter_sets,
            job=job,
            kernel=kernel,
            cwd=cwd,
            timeout=timeout,
            cell_timeout=cell_timeout,
            tags=tags,
            trigger=trigger,
        )


def apply_pipeline(path: str | os.PathLike[str], *, settings: Settings | None = None) -> Any:
    """Validate a pipeline YAML and store it as a new version if anything changed
    (``ApplyResult``: ``version``, ``created``); BadInput before anything is stored."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        return pipelines.apply_pipeline(ws, path)


def run_pipeline(
    name: str,
    parameters: Sequence[str] = (),
    *,
    settings: Settings | None = None,
    wait: bool = True,
) -> Any:
    """Run a pipeline's latest version (``parameters``: ``step.param=value``); with
    ``wait``, until every step has ended (executing the steps here when no scheduler runs).
    Returns its ``PipelineRun``."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        run = pipelines.run_pipeline(ws, name, parameters)
        return pipelines.wait_for_run(ws, run) if wait else run


def get_pipeline_run(run_id: str, *, settings: Settings | None = None) -> Any:
    """A pipeline run (id or unique prefix) with each step's status, run and values."""
    from nbprod.core import pipelines

    with Workspace(settings) as ws:
        return pipelines.get_pipeline_run(ws, run_id)
