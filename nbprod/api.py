"""The public Python API: every face (CLI, REST, UI) calls these functions.

>>> import nbprod
>>> run = nbprod.execute("report.ipynb", {"region": "eu", "days": 7})
>>> run.status, run.output_location
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.records import RunRecord, RunStatus
from nbprod.runner import Run, RunRequest, prepare

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
    from nbprod.runner import run as run_request

    on_record = None
    catalog = None
    if index:
        catalog = _LazyCatalog(request.settings)

        def on_record(record: RunRecord) -> None:
            catalog.get().index_run(request.store.url, record)

    try:
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
    finally:
        if catalog:
            catalog.close()


class _LazyCatalog:
    """Opened on first use (in the run's helper thread, overlapping the kernel's start)."""

    def __init__(self, settings: Settings) -> None:
        import threading

        self.settings = settings
        self._catalog: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._catalog is None:
                self._catalog = open_catalog(self.settings)
            return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()


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
    )
    return run(request, progress_bar=progress_bar, log_output=log_output, on_progress=on_progress)


def notebook_parameters(notebook: str | os.PathLike[str]) -> Any:
    """The typed parameter schema of a notebook's ``parameters`` cell."""
    from nbprod.params import infer_schema
    from nbprod.runner import load_notebook

    return infer_schema(load_notebook(notebook)[2])


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
    from nbprod.catalog.query import RunFilter, parse_condition, parse_when
    from nbprod.store import open_store

    settings = settings or Settings.load()
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
    catalog = open_catalog(settings)
    try:
        return catalog.query_runs(open_store(settings.store).url, query)
    finally:
        catalog.close()


def list_queued(
    *, settings: Settings | None = None, job: str | None = None, limit: int | None = 50
) -> list[dict[str, Any]]:
    """Runs waiting in the queue for a worker, oldest first (`runs list --status queued`).

    Queued runs have no run record yet (a record is written when a worker starts them), so
    they come from the catalog's queue, not from the runs index.
    """
    from nbprod.catalog.queue import QUEUED, Queue
    from nbprod.store import open_store

    settings = settings or Settings.load()
    store_url = open_store(settings.store).url
    catalog = open_catalog(settings)
    try:
        items = Queue(catalog).items((QUEUED,), limit=100_000)
    finally:
        catalog.close()
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
    *, settings: Settings | None = None, job: str | None = None, limit: int | None = 50
) -> list[RunRecord]:
    """The same listing read from the store alone (slow on big stores; no catalog needed)."""
    from itertools import islice

    from nbprod.history import iter_runs
    from nbprod.store import open_store

    settings = settings or Settings.load()
    runs = iter_runs(open_store(settings.store), job=job)
    return list(islice(runs, limit)) if limit else list(runs)


def get_run(run_id: str, *, settings: Settings | None = None) -> RunRecord:
    """A run by id or unique id prefix: from the catalog, else from the store."""
    from nbprod.history import find_run
    from nbprod.store import open_store

    settings = settings or Settings.load()
    store = open_store(settings.store)
    catalog = open_catalog(settings)
    try:
        record = catalog.get_run(store.url, run_id)
    finally:
        catalog.close()
    return record if record is not None else find_run(store, run_id)


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
    from nbprod.jobs.service import materialize_snapshot
    from nbprod.store import open_store

    settings = settings or Settings.load()
    original = get_run(run_id, settings=settings)
    store = open_store(settings.store)
    path = materialize_snapshot(
        store, original.notebook.sha256, original.notebook.name, settings.home / "snapshots"
    )
    given = {name: original.parameters[name] for name in original.parameters_given}
    given.update(parameters or {})
    cwd = original.cwd if original.cwd and Path(original.cwd).is_dir() else None
    request = prepare(
        path,
        settings=settings,
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
    return request if prepare_only else run(request, progress_bar=progress_bar)


@dataclass
class FlushResult:
    run_id: str
    store: str
    published: bool
    error: str | None = None


def flush_spool(
    *, settings: Settings | None = None, run_ids: Sequence[str] = ()
) -> list[FlushResult]:
    """Publish runs kept in the local spool because their store was unreachable."""
    from nbprod import spool
    from nbprod.errors import StoreError
    from nbprod.store import open_store

    settings = settings or Settings.load()
    results = []
    for folder, manifest in spool.pending(Path(settings.spool_dir)):
        if run_ids and manifest.run_id not in run_ids:
            continue
        try:
            spool.publish(
                open_store(manifest.store),
                folder,
                attempts=settings.upload_attempts,
                backoff=settings.upload_backoff,
            )
        except StoreError as exc:
            results.append(FlushResult(manifest.run_id, manifest.store, False, str(exc)))
            continue
        results.append(FlushResult(manifest.run_id, manifest.store, True))
    return results


def delete_runs(
    records: Sequence[RunRecord], *, settings: Settings, notes: list[str] | None = None
) -> list[RunRecord]:
    """Delete runs from the store and the catalog together (never one without the other).

    Every run is planned before any is deleted: one that cannot go whole refuses the lot.
    ``notes`` collects one line per leftover or interrupted deletion completed.
    """
    from nbprod.retention import delete_run, finish_deletions, plan_delete
    from nbprod.store import open_store

    store = open_store(settings.store)
    catalog = open_catalog(settings)
    found = notes if notes is not None else []
    try:
        found += finish_deletions(store, catalog)
        removals = [plan_delete(store, record) for record in records]
        for record, removal in zip(records, removals, strict=True):
            found += delete_run(store, catalog, record, removal)
    finally:
        catalog.close()
    return list(records)


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
    from nbprod.catalog.query import RunFilter
    from nbprod.durations import parse_duration
    from nbprod.errors import DeleteRefused
    from nbprod.jobs.model import JobDefinition
    from nbprod.retention import GcPlan, delete_run, finish_deletions, plan_delete, plan_gc
    from nbprod.store import open_store

    store = open_store(settings.store)
    age_days = parse_duration(older_than, "--older-than") / 86400 if older_than else None
    catalog = open_catalog(settings)
    try:
        policies: dict[str, tuple[int | None, float | None]] = {}
        defined = {s.name: s for s in catalog.jobs(store.url)}
        names = (
            [job]
            if job
            else sorted({r.job for r in catalog.query_runs(store.url, RunFilter(limit=None))})
        )
        for name in names:
            if keep_last is not None or age_days is not None:
                policies[name] = (keep_last, age_days)
            elif name in defined:
                retention = JobDefinition.from_dict(defined[name].definition).retention
                if retention.keep_last is not None or retention.older_than_days is not None:
                    policies[name] = (retention.keep_last, retention.older_than_days)
        plans = []
        found = notes if notes is not None else []
        if dry_run:
            found += [
                f"an interrupted deletion of {prefix} is pending: `nbprod gc` completes it"
                for prefix in store.unfinished_removals()
            ]
        else:
            found += finish_deletions(store, catalog)
        for name, (keep, days) in policies.items():
            runs = catalog.query_runs(store.url, RunFilter(job=name, limit=None))
            kept, doomed = plan_gc(runs, keep_last=keep, older_than_days=days)
            plan = GcPlan(name, kept, doomed)
            plans.append(plan)
            if not dry_run:
                for record in doomed:
                    try:  # a run that cannot go whole is skipped, complete and listed
                        found += delete_run(store, catalog, record, plan_delete(store, record))
                    except DeleteRefused as exc:
                        plan.skipped.append(str(exc))
        return plans
    finally:
        catalog.close()


def catalog_sync(*, settings: Settings, full: bool = False) -> Any:
    """Index what is in the store but not in the catalog (e.g. runs from other machines)."""
    from nbprod.catalog.sync import sync
    from nbprod.store import open_store

    catalog = open_catalog(settings)
    try:
        return sync(catalog, open_store(settings.store), full=full)
    finally:
        catalog.close()


def catalog_rebuild(*, settings: Settings) -> Any:
    """Re-index this store from scratch: the catalog is only ever an index of the store."""
    from nbprod.catalog.sync import rebuild
    from nbprod.store import open_store

    catalog = open_catalog(settings)
    try:
        return rebuild(catalog, open_store(settings.store))
    finally:
        catalog.close()


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
    from nbprod.catalog.queue import Queue, utcnow
    from nbprod.jobs.actions import prepare_job_run

    request = prepare_job_run(
        name,
        settings=settings,
        cli_parameters=cli_parameters,
        parameter_files=parameter_files,
        parameter_yaml=parameter_yaml,
    )
    from nbprod.jobs.actions import show_job

    definition = show_job(name, settings=settings, next_count=0).definition
    catalog = open_catalog(settings)
    try:
        return Queue(catalog).enqueue(
            request.store.url,
            name,
            utcnow(),
            run_id=request.run_id,
            request={
                "kind": "job",
                "job_version": request.job_version,
                "parameters": request.parameters,
                "trigger": "job",
                "retries": definition.retries,
                "retry_delay": definition.retry_delay,
                "notifications": definition.notifications,
            },
        )
    finally:
        catalog.close()


def cancel_run(run_id: str, *, settings: Settings) -> str:
    """Cancel a queued or running run from any process; returns what happened.

    A queued run is cancelled at once; a running one is flagged for its worker (which
    interrupts the kernel and stores the output); a foreground ``nbprod exec`` on this host
    is sent SIGTERM, which cancels it the same way. A run whose process is gone (killed,
    crashed) is ended as ``lost`` on the spot, its partial output kept.
    """
    import os
    import platform
    import signal

    from nbprod.catalog.queue import Queue, utcnow
    from nbprod.errors import BadInput, Conflict, RunNotFound
    from nbprod.scheduler.lost import end_orphan, orphaned

    catalog = open_catalog(settings)
    try:
        queue = Queue(catalog)
        item = queue.find(run_id)
        if item is not None:
            state = queue.request_cancel(item.store, item.run_id, utcnow())
            if state == "done":
                raise Conflict(f"run {item.run_id} has already finished ({item.final_status})")
            if state == "running":
                ended = _end_orphaned_item(queue, item, settings, catalog)
                if ended:
                    return ended
            return {
                "cancelled": f"cancelled {item.run_id} before it started",
                "running": f"cancel requested for {item.run_id}; its worker stops it",
            }.get(state, f"run {item.run_id} is {state}")
        try:
            record = get_run(run_id, settings=settings)
        except RunNotFound:
            raise RunNotFound(f"no queued or running run {run_id!r}") from None
        if record.status is not RunStatus.RUNNING:
            raise Conflict(f"run {record.run_id} has already finished ({record.status.value})")
        host, pid = record.host.get("hostname"), record.host.get("pid")
        if orphaned(record):
            why = f"its process {host}:{pid} was gone when the run was cancelled"
            ended = end_orphan(record, settings, catalog, utcnow(), reason=why)
            if ended is None:
                raise BadInput(
                    f"run {record.run_id} ended but its files wait in the spool: "
                    "`nbprod store flush` publishes them"
                )
            if ended.status is not RunStatus.LOST:
                return f"run {record.run_id} had already ended ({ended.status.value})"
            return f"run {record.run_id}: its process {pid} is gone; ended it as lost"
    finally:
        catalog.close()
    if host != platform.node() or not pid:
        raise BadInput(f"run {record.run_id} runs on {host} outside any worker; cancel it there")
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:  # it ended just now
        raise BadInput(f"run {record.run_id}: its process {pid} is gone") from None
    return f"sent SIGTERM to run {record.run_id} (pid {pid})"


def _end_orphaned_item(queue: Any, item: Any, settings: Settings, catalog: Any) -> str | None:
    """A queued run's worker known gone (this host) or silent past ``lost_after``: nobody
    will act on the cancel flag, so end the run as lost now (no retry: it was cancelled)."""
    from nbprod.catalog.queue import HELD, parse_iso, utcnow
    from nbprod.scheduler.lost import settle_lost, worker_gone

    now = utcnow()
    fresh = queue.get(item.store, item.run_id)
    if fresh is None or fresh.state not in HELD:
        return None
    silent = (now - parse_iso(fresh.heartbeat_at)).total_seconds() if fresh.heartbeat_at else 0
    if not (worker_gone(fresh.worker, fresh.started_at) or silent > settings.lost_after):
        return None
    why = f"its worker {fresh.worker} was gone when the run was cancelled"
    if not settle_lost(queue, fresh, settings, catalog, now, reason=why):
        return None  # it beat just now: the cancel flag reaches it
    return f"run {item.run_id}: its worker {fresh.worker} is gone; ended it as lost"


def scheduler_status(*, settings: Settings, stalled_after: float = 600.0) -> dict[str, Any]:
    """Queued and running runs, workers and lag, for `nbprod status`.

    Runs whose process is known gone are reaped first (as ``lost``). A running run whose
    cells made no progress for ``stalled_after`` seconds is flagged ``stalled``; one whose
    worker stopped beating for ``lost_after``, ``stale``. ``unmanaged`` lists running runs
    outside the queue (``nbprod exec``), whose owner only their record names.
    """
    from nbprod.catalog.queue import QUEUED, Queue, parse_iso, utcnow
    from nbprod.scheduler.lost import reap_orphans, settle_lost, worker_gone
    from nbprod.store import open_store

    catalog = open_catalog(settings)
    try:
        queue = Queue(catalog)
        now = utcnow()
        store_url = open_store(settings.store).url
        try:
            for item in queue.running():
                if worker_gone(item.worker, item.started_at):
                    settle_lost(queue, item, settings, catalog, now)
            reap_orphans(settings, catalog, store_url, now)
        except Exception as exc:  # noqa: BLE001 - a report must not fail on its clean-up
            import logging

            logging.getLogger("nbprod").warning("could not reap orphaned runs: %s", exc)
        queued = queue.items((QUEUED,), limit=1000)
        running = queue.running()
        due = [i for i in queued if parse_iso(i.available_at) <= now]
        lag = max((now - parse_iso(i.available_at)).total_seconds() for i in due) if due else 0.0
        held = {i.run_id for i in running}
        unmanaged = [
            _unmanaged_view(r, now)
            for r in catalog.query_runs(store_url, _running_filter())
            if r.run_id not in held
        ]
        return {
            "counts": queue.counts(),
            "queued": [_item_view(i, now) for i in queued[:50]],
            "running": [
                _item_view(i, now, settings.lost_after, stalled_after)
                for i in sorted(running, key=lambda i: (i.started_at or "", i.run_id))
            ],
            "unmanaged": unmanaged,
            "workers": [_worker_view(w, now, settings.lost_after) for w in queue.workers()],
            "lag_s": round(lag, 3),
        }
    finally:
        catalog.close()


def _running_filter() -> Any:
    from nbprod.catalog.query import RunFilter

    return RunFilter(status=["running"], limit=200)


def _unmanaged_view(record: RunRecord, now: Any) -> dict[str, Any]:
    from nbprod.catalog.queue import parse_iso

    started = parse_iso(record.started_at) if record.started_at else None
    return {
        "run_id": record.run_id,
        "job": record.job,
        "owner": f"{record.host.get('hostname')}:{record.host.get('pid')}",
        "running_s": round((now - started).total_seconds(), 1) if started else None,
        "cells_done": record.progress.cells_done,
        "cells_total": record.progress.cells_total,
    }


def _worker_view(row: dict[str, Any], now: Any, lost_after: float) -> dict[str, Any]:
    """A worker row; one silent for longer than ``lost_after`` (killed, host gone) is
    ``gone`` whatever it last said (it cannot say ``stopped`` once killed)."""
    from nbprod.catalog.queue import parse_iso

    age = (now - parse_iso(row["heartbeat_at"])).total_seconds()
    view = {**row, "heartbeat_age_s": round(age, 1)}
    if row["state"] != "stopped" and age > lost_after:
        view["state"] = "gone"
    return view


def _item_view(
    item: Any, now: Any, lost_after: float | None = None, stalled_after: float | None = None
) -> dict[str, Any]:
    from nbprod.catalog.queue import parse_iso

    def age(stamp: str | None) -> float | None:
        return round((now - parse_iso(stamp)).total_seconds(), 1) if stamp else None

    view = {
        "run_id": item.run_id,
        "job": item.job,
        "state": item.state,
        "attempt": item.attempt,
        "scheduled_for": item.scheduled_for,
        "available_at": item.available_at,
        "worker": item.worker,
        "running_s": age(item.started_at),
        "cancel_requested": item.cancel_requested,
    }
    if lost_after is not None:
        quiet = age(item.progress_at or item.started_at)
        heartbeat = age(item.heartbeat_at)
        view.update(
            cells_done=item.cells_done,
            cells_total=item.cells_total,
            progress_at=item.progress_at,
            no_progress_s=quiet,
            heartbeat_age_s=heartbeat,
            stale=heartbeat is not None and heartbeat > lost_after,
            stalled=quiet is not None and stalled_after is not None and quiet > stalled_after,
        )
    return view


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
    from nbprod.catalog.queue import Queue, utcnow
    from nbprod.store import layout

    requests = [
        prepare(
            notebook,
            settings=settings,
            parameters=values,
            job=job,
            kernel=kernel,
            cwd=cwd,
            timeout=timeout,
            cell_timeout=cell_timeout,
            trigger=trigger,
            tags=tags,
        )
        for values in parameter_sets
    ]
    if not requests:
        return []
    first = requests[0]
    first.store.put_if_absent(layout.snapshot_key(first.sha256), first.source, "application/json")
    catalog = open_catalog(settings)
    try:
        queue = Queue(catalog)
        now = utcnow()
        for request in requests:
            queue.enqueue(
                request.store.url,
                request.job,
                now,
                run_id=request.run_id,
                request={
                    "kind": "snapshot",
                    "sha256": request.sha256,
                    "notebook_name": request.notebook_path.name,
                    "source_path": str(request.notebook_path),
                    "parameters": request.parameters,
                    "kernel": request.kernel,
                    "cwd": str(request.cwd),
                    "timeout": request.timeout,
                    "cell_timeout": request.cell_timeout,
                    "tags": list(request.tags),
                    "trigger": trigger,
                },
            )
    finally:
        catalog.close()
    return requests
