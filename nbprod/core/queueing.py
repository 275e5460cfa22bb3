"""Queueing runs for the workers, and cancelling them wherever they are.

The queue payloads built here are what :mod:`nbprod.scheduler.worker` reads back; the
cancel strategy reaches a run wherever it is (queued, held by a worker, a foreground
``nbprod exec`` on this host, or a process that is gone).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbprod.core.workspace import Workspace

if TYPE_CHECKING:
    from nbprod.runner import RunRequest


def enqueue_job(
    ws: Workspace,
    name: str,
    *,
    cli_parameters: Sequence[tuple[str, str]] = (),
    parameter_files: Sequence[str] = (),
    parameter_yaml: Sequence[str] = (),
) -> str:
    """Queue one run of a job's latest version for the workers; returns its run id.

    The overrides are validated now (against the pinned snapshot), not when a worker
    picks the run up.
    """
    from nbprod.catalog.queue import utcnow
    from nbprod.catalog.queued import QueuedRun, Trigger
    from nbprod.jobs.versions import pinned_version, prepare_version_run

    pinned = pinned_version(ws.catalog, ws.store.url, name)
    request = prepare_version_run(
        pinned,
        settings=ws.settings,
        store=ws.store,
        cli_parameters=cli_parameters,
        parameter_files=parameter_files,
        parameter_yaml=parameter_yaml,
    )
    return ws.queue.enqueue(
        request.store.url,
        name,
        utcnow(),
        run_id=request.run_id,
        request=QueuedRun.for_job(
            pinned.definition, request.job_version, Trigger.JOB, request.parameters
        ),
    )


def enqueue_notebook(
    ws: Workspace,
    notebook: str | os.PathLike[str],
    parameter_sets: Sequence[Mapping[str, Any]],
    *,
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    report_mode: bool = False,
    tags: Sequence[str] = (),
    trigger: str = "queue",
) -> list[RunRequest]:
    """Queue one run of ``notebook`` per parameter set, for the workers.

    Every set is validated first (nothing is queued if one is wrong); the notebook's
    snapshot is stored once and every run executes that snapshot.
    """
    from datetime import timedelta

    from nbprod.catalog.queue import utcnow
    from nbprod.catalog.queued import QueuedRun, RunKind, Trigger
    from nbprod.records import new_run_id
    from nbprod.runner import prepare
    from nbprod.store import layout

    # Run ids a millisecond apart in the given order: the queue hands runs out by id after
    # their time, so a sweep's runs start in grid order (ids made in one millisecond would
    # sort by their random part).
    first_id = utcnow()
    requests = [
        prepare(
            notebook,
            settings=ws.settings,
            parameters=values,
            job=job,
            kernel=kernel,
            cwd=cwd,
            timeout=timeout,
            cell_timeout=cell_timeout,
            report_mode=report_mode,
            trigger=trigger,
            tags=tags,
            run_id=new_run_id(first_id + timedelta(milliseconds=index)),
        )
        for index, values in enumerate(parameter_sets)
    ]
    if not requests:
        return []
    first = requests[0]
    first.store.put_if_absent(layout.snapshot_key(first.sha256), first.source, "application/json")
    now = utcnow()
    for request in requests:
        ws.queue.enqueue(
            request.store.url,
            request.job,
            now,
            run_id=request.run_id,
            request=QueuedRun(
                kind=RunKind.SNAPSHOT,
                trigger=Trigger(trigger),
                sha256=request.sha256,
                notebook_name=request.notebook_path.name,
                source_path=str(request.notebook_path),
                parameters=request.parameters,
                kernel=request.kernel,
                cwd=str(request.cwd),
                timeout=request.timeout,
                cell_timeout=request.cell_timeout,
                tags=list(request.tags),
                report_mode=request.report_mode,
            ),
        )
    return requests


def cancel_run(ws: Workspace, run_id: str) -> str:
    """Cancel a queued or running run from any process; returns what happened.

    A queued run is cancelled at once; a running one is flagged for its worker (which
    interrupts the kernel and stores the output); a foreground ``nbprod exec`` on this host
    is sent SIGTERM, which cancels it the same way. A run whose process is gone (killed,
    crashed) is ended as ``lost`` on the spot, its partial output kept. A finished run
    raises Conflict; an unknown one RunNotFound.
    """
    import platform
    import signal

    from nbprod.catalog.queue import utcnow
    from nbprod.core.runs import get_run
    from nbprod.errors import BadInput, Conflict, RunNotFound
    from nbprod.records import RunStatus
    from nbprod.scheduler.lost import end_orphan, orphaned

    queue = ws.queue
    item = queue.find(run_id)
    if item is not None:
        state = queue.request_cancel(item.store, item.run_id, utcnow())
        if state == "cancelled":
            from nbprod.scheduler.ending import run_ended

            # it never started: its ending is this cancel (a pipeline's next steps skip)
            run_ended(queue, item, "cancelled", utcnow(), catalog=ws.catalog, retry=False)
        if state == "done":
            raise Conflict(f"run {item.run_id} has already finished ({item.final_status})")
        if state == "running":
            ended = _end_orphaned_item(ws, item)
            if ended:
                return ended
        return {
            "cancelled": f"cancelled {item.run_id} before it started",
            "running": f"cancel requested for {item.run_id}; its worker stops it",
        }.get(state, f"run {item.run_id} is {state}")
    try:
        record = get_run(ws, run_id)
    except RunNotFound:
        raise RunNotFound(f"no queued or running run {run_id!r}") from None
    if record.status is not RunStatus.RUNNING:
        raise Conflict(f"run {record.run_id} has already finished ({record.status.value})")
    host, pid = record.host.get("hostname"), record.host.get("pid")
    if orphaned(record):
        why = f"its process {host}:{pid} was gone when the run was cancelled"
        ended = end_orphan(record, ws.settings, ws.catalog, utcnow(), reason=why)
        if ended is None:
            raise BadInput(
                f"run {record.run_id} ended but its files wait in the spool: "
                "`nbprod store flush` publishes them"
            )
        if ended.status is not RunStatus.LOST:
            return f"run {record.run_id} had already ended ({ended.status.value})"
        return f"run {record.run_id}: its process {pid} is gone; ended it as lost"
    if host != platform.node() or not pid:
        raise BadInput(f"run {record.run_id} runs on {host} outside any worker; cancel it there")
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:  # it ended just now
        raise BadInput(f"run {record.run_id}: its process {pid} is gone") from None
    return f"sent SIGTERM to run {record.run_id} (pid {pid})"


def _end_orphaned_item(ws: Workspace, item: Any) -> str | None:
    """A queued run's worker known gone (this host) or silent past ``lost_after``: nobody
    will act on the cancel flag, so end the run as lost now (no retry: it was cancelled)."""
    from nbprod.catalog.queue import HELD, parse_iso, utcnow
    from nbprod.scheduler.lost import settle_lost, worker_gone

    now = utcnow()
    queue = ws.queue
    fresh = queue.get(item.store, item.run_id)
    if fresh is None or fresh.state not in HELD:
        return None
    silent = (now - parse_iso(fresh.heartbeat_at)).total_seconds() if fresh.heartbeat_at else 0
    if not (worker_gone(fresh.worker, fresh.started_at) or silent > ws.settings.lost_after):
        return None
    why = f"its worker {fresh.worker} was gone when the run was cancelled"
    if not settle_lost(queue, fresh, ws.settings, ws.catalog, now, reason=why):
        return None  # it beat just now: the cancel flag reaches it
    return f"run {item.run_id}: its worker {fresh.worker} is gone; ended it as lost"
