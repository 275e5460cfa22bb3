"""Run operations: execute and index, list, show, rerun, delete, open an output.

Every face reaches runs through these functions (the CLI and the Python API through
:mod:`nbprod.api`, the REST API and the browse UI directly), so a run looks the same
whichever face asks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.core.workspace import Workspace
from nbprod.records import RunRecord, RunStatus

if TYPE_CHECKING:
    from nbprod.catalog.queue import Item
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
    from nbprod.catalog.queue import QUEUED

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
    from nbprod.jobs.versions import materialize_snapshot
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
        report_mode=original.report_mode,
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


# -- what a run is now: one rule for every face ---------------------------------------


@dataclass
class RunEntry:
    """One run as the faces show it: its freshest record, or (no record yet: queued, or
    claimed and starting) its queue item alone. ``item`` is set while the run is in the
    queue (queued or held by a worker)."""

    run_id: str
    record: RunRecord | None
    item: Item | None = None


def freshest(indexed: RunRecord | None, stored: RunRecord | None) -> RunRecord | None:
    """THE freshest-record rule: which of two copies of one run's record is newer.

    The store's copy is the truth the catalog indexes, and a worker (maybe on another
    machine) re-publishes a running run's record there as cells finish. So: a finished
    record beats a running one; of two running records, the one with more cells done
    wins, the store's on a tie. A record missing on one side leaves the other.
    """
    if stored is None or indexed is None:
        return indexed if stored is None else stored
    if indexed.status is not RunStatus.RUNNING:
        return indexed
    if stored.status is not RunStatus.RUNNING:
        return stored
    return stored if stored.progress.cells_done >= indexed.progress.cells_done else indexed


def stored_record(ws: Workspace, job: str, run_id: str) -> RunRecord | None:
    """The store's copy of a run's record; None if missing or unreadable (the catalog's
    copy then stands)."""
    from nbprod.errors import BadInput
    from nbprod.store import layout

    try:
        return RunRecord.from_json(ws.store.get(layout.record_key(job, run_id)))
    except (KeyError, BadInput, ValueError):  # missing, a bad name, CorruptData
        return None


def fresh_record(
    ws: Workspace, indexed: RunRecord | None, job: str, run_id: str
) -> RunRecord | None:
    """The newest knowledge of a run, by :func:`freshest`: the store is read only when the
    catalog has no finished record (a finished record is final)."""
    if indexed is not None and indexed.status is not RunStatus.RUNNING:
        return indexed
    return freshest(indexed, stored_record(ws, job, run_id))


def recent_runs(ws: Workspace, *, job: str | None = None, limit: int = 30) -> list[RunEntry]:
    """Recent runs newest first: the catalog's, merged with the queue's queued and running
    ones (which may have no record yet), each record made fresh by :func:`fresh_record`."""
    from nbprod.catalog.queue import QUEUED, RUNNING

    store_url = ws.store.url
    indexed = {r.run_id: r for r in list_runs(ws, job=job, limit=limit)}
    items = {
        i.run_id: i
        for i in ws.queue.items((QUEUED, RUNNING), limit=200)
        if i.store == store_url and not (job and i.job != job)
    }
    entries = []
    for run_id in sorted(indexed.keys() | items.keys(), reverse=True)[:limit]:
        record, item = indexed.get(run_id), items.get(run_id)
        name = (item or record).job  # type: ignore[union-attr]
        entries.append(RunEntry(run_id, fresh_record(ws, record, name, run_id), item))
    return entries


def show_run(ws: Workspace, run_id: str) -> RunEntry:
    """One run by exact id, fresh (:func:`fresh_record`); a queued run not started yet is
    its queue item. RunNotFound for anything else."""
    from nbprod.errors import RunNotFound
    from nbprod.history import find_run
    from nbprod.store import layout

    if not layout.is_run_id(run_id):
        raise RunNotFound(f"no run {run_id!r} (not a run id)")
    record = ws.catalog.get_run(ws.store.url, run_id)
    if record is None or record.run_id != run_id:
        try:
            record = find_run(ws.store, run_id)
        except RunNotFound:
            record = None
    if record is not None:
        return RunEntry(run_id, fresh_record(ws, record, record.job, run_id))
    item = ws.queue.get(ws.store.url, run_id)
    if item is None:
        raise RunNotFound(f"no run {run_id!r} in {ws.store.url}")
    return RunEntry(run_id, None, item)


OUTPUTS_DIR = "nbprod-outputs"
"""Where read-only copies of output notebooks go, under the folder they are opened in."""


@dataclass
class OpenedOutput:
    path: str
    """The copy's path relative to the folder it was opened in."""
    run_id: str
    status: str
    cell: int | None
    """The failing cell's index in the copy, for a run that failed in a cell."""
    cell_number: int | None = None
    """That cell as its author counts it (the record's ``error.cell_number``)."""
    cell_label: str | None = None
    """``cell 3`` or ``injected parameters``: the failing cell as every face names it."""


def open_output(ws: Workspace, run_id: str, root: str | os.PathLike[str]) -> OpenedOutput:
    """Copy a finished run's output notebook under ``root`` (``nbprod-outputs/JOB/RUN/``),
    read-only, to open in Jupyter.

    Every cell of the copy is marked non-editable and non-deletable (JupyterLab honours
    that), and the file is made read-only; the stored original is never touched. Conflict
    for a run not finished yet, RunNotFound for one without an output notebook.
    """
    import nbformat

    from nbprod.errors import Conflict, RunNotFound
    from nbprod.store import check_key, layout

    record = show_run(ws, run_id).record
    if record is None or record.status is RunStatus.RUNNING:
        state = "running" if record is not None else "queued"
        raise Conflict(f"run {run_id} is still {state}; open it when it ends")
    key = record.artifacts.get("output")
    if not key:
        raise RunNotFound(f"run {run_id} has no output notebook")
    try:
        data = ws.store.get(check_key(key))
    except KeyError:
        raise RunNotFound(f"run {run_id}: its output notebook {key} is not in the store") from None
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    for cell in nb.cells:
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
    nb.metadata["nbprod_output_of"] = run_id
    name = layout.check_file_name(key.rsplit("/", 1)[-1])
    relative = f"{OUTPUTS_DIR}/{record.job}/{run_id}/{name}"
    target = Path(root) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.chmod(target, 0o644)
    target.write_text(nbformat.writes(nb), "utf-8")
    os.chmod(target, 0o444)
    error = record.error
    if error is None:
        return OpenedOutput(relative, run_id, record.status.value, None)
    return OpenedOutput(
        relative, run_id, record.status.value, error.cell_index, error.cell_number, error.cell_label
    )
