"""Runs whose worker died: detect them, keep what they produced, mark them ``lost``.

The worker's spool folder holds the partial output notebook (autosaved while it ran) and
the kernel log; on the worker's own host they are published with the final record.
"""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nbprod.catalog.queued import QueuedRun, Trigger
from nbprod.config import Settings
from nbprod.records import (
    ErrorInfo,
    NotebookInfo,
    RunRecord,
    RunStatus,
    isoformat,
    parse_iso,
)
from nbprod.scheduler.events import event
from nbprod.store import layout, open_store


def worker_gone(worker: str | None, since: str | None = None) -> bool:
    """True when the worker ``host:pid`` ran on this host and that process is gone.

    ``since`` (ISO) is when the worker was known to be alive: a process with that pid that
    started later is another one (the pid was reused), so the worker is gone too.
    """
    if not worker:
        return False
    host, _, pid = worker.split("#", 1)[0].rpartition(":")  # host:pid, or host:pid#dask-N
    return process_gone(host, int(pid) if pid.isdigit() else None, since)


def process_gone(host: str | None, pid: int | None, since: str | None = None) -> bool:
    """Whether the process ``pid`` on ``host`` is known gone (only this host can tell)."""
    if host != platform.node() or not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    if _is_zombie(pid):
        return True
    started = _process_start(pid)
    if started is None or not since:
        return False
    known_alive = parse_iso(since).timestamp()
    return started > known_alive + 1.0  # a younger process: the pid was reused


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _process_start(pid: int) -> float | None:
    """The process's start time (epoch seconds), from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat: starttime, after pid, comm and state
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, ValueError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def placeholder_record(item: Any, status: str) -> RunRecord:
    """A record for a run that left none in the store (died before it announced itself)."""
    return RunRecord(
        run_id=item.run_id,
        job=item.job,
        status=RunStatus(status),
        notebook=NotebookInfo(path="", name="", sha256=""),
        kernel="",
        store=item.store,
        trigger=item.payload.trigger.value,
        attempt=item.attempt,
        job_version=item.payload.job_version,
        scheduled_for=item.scheduled_for,
        logical_run_id=item.logical_run_id,
        tags=list(item.payload.tags),
        pipeline=item.payload.pipeline,
        created_at=item.enqueued_at,
        started_at=item.started_at,
    )


def mark_lost(
    item: Any,
    settings: Settings,
    catalog: Any,
    now: datetime,
    *,
    reason: str | None = None,
    keep_spool: bool = True,
) -> RunRecord:
    """Publish a ``lost`` record (and the partial output, when this host has it).

    Never overwrites a terminal record: a run whose final record reached the store (its
    worker died after publishing, before the queue heard of it) keeps that record, which
    is returned (and indexed) so that the caller settles the queue with its real status.
    """
    store = open_store(item.store)
    key = layout.record_key(item.job, item.run_id)
    try:
        record = RunRecord.from_json(store.get(key))
    except KeyError:
        record = placeholder_record(item, "lost")
    if record.status not in (RunStatus.RUNNING, RunStatus.LOST):
        catalog.index_run(store.url, record)
        event("lost_skipped", job=item.job, run_id=item.run_id, status=record.status.value)
        return record
    if record.status is RunStatus.LOST and record.finished_at:
        catalog.index_run(store.url, record)
        return record  # already marked (another reaper, or a cancel of the orphan)
    record.status = RunStatus.LOST
    record.finished_at = isoformat(now)
    if record.started_at:
        started = parse_iso(record.started_at)
        record.duration_s = round((now - started).total_seconds(), 3)
    record.error = ErrorInfo(
        "Lost",
        reason or f"worker {item.worker} stopped (no heartbeat since {item.heartbeat_at})",
    )
    folder = settings.spool_dir / item.run_id
    kept = []
    if keep_spool and folder.is_dir() and record.notebook.name:
        partial = folder / record.notebook.name
        if partial.is_file():
            store.put(
                record.artifacts.get("output")
                or layout.output_key(item.job, item.run_id, record.notebook.name),
                partial.read_bytes(),
                "application/x-ipynb+json",
            )
            kept.append("output")
        log = folder / "kernel.log"
        if log.is_file() and log.stat().st_size:
            log_key = layout.kernel_log_key(item.job, item.run_id)
            store.put(log_key, log.read_bytes(), "text/plain")
            record.artifacts["kernel_log"] = log_key
            kept.append("kernel_log")
    if "output" not in kept and record.notebook.name:
        kept.extend(_adopt_autosaved(store, item, record))
    else:
        _remove_quietly(store, layout.partial_key(item.job, item.run_id), item.run_id)
    store.put(key, record.to_json().encode(), "application/json")
    catalog.index_run(store.url, record)
    if keep_spool and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    event(
        "lost",
        job=item.job,
        run_id=item.run_id,
        worker=item.worker,
        heartbeat_at=item.heartbeat_at,
        kept=",".join(kept) or "record only",
    )
    return record


def _adopt_autosaved(store: Any, item: Any, record: RunRecord) -> list[str]:
    """The partial output the worker autosaved to the store (it died elsewhere, so this
    host has no spool copy) becomes the run's output."""
    partial = layout.partial_key(item.job, item.run_id)
    try:
        data = store.get(partial)
    except KeyError:
        return []
    output = record.artifacts.get("output") or layout.output_key(
        item.job, item.run_id, record.notebook.name
    )
    store.put(output, data, "application/x-ipynb+json")
    record.artifacts["output"] = output
    _remove_quietly(store, partial, item.run_id)
    return ["output (autosaved in the store)"]


def _remove_quietly(store: Any, key: str, run_id: str) -> None:
    try:
        store.delete(key)
    except Exception as exc:  # noqa: BLE001 - a left-over partial copy is harmless
        event("partial_not_removed", run_id=run_id, error=str(exc))


def settle_lost(
    queue: Any,
    item: Any,
    settings: Settings,
    catalog: Any,
    now: datetime,
    *,
    reason: str | None = None,
) -> bool:
    """Take a held item over as ``lost``, publish its lost record, queue its retry.

    Returns False when its worker came back (or another reaper won). A final record that
    reached the store first wins: the queue is corrected to its status, and the retry
    policy sees that status, so a run that succeeded is not run again.
    """
    from nbprod.scheduler.ending import run_ended

    if not queue.take_over(item, now, "lost"):
        return False
    status = RunStatus.LOST.value
    try:
        record = mark_lost(item, settings, catalog, now, reason=reason)
        status = record.status.value
        if status != RunStatus.LOST.value:
            queue.correct_final(item.store, item.run_id, status)
    except Exception as exc:  # the store may be down; the queue row is final
        event("lost_record_failed", run_id=item.run_id, error=str(exc))
    run_ended(queue, item, status, now, catalog=catalog, durable=False)
    return True


@dataclass
class OrphanItem:
    """What ``mark_lost`` needs of a run that no queue row holds (an ``nbprod exec``)."""

    store: str
    run_id: str
    job: str
    attempt: int
    logical_run_id: str
    scheduled_for: str | None
    enqueued_at: str
    started_at: str | None
    worker: str
    heartbeat_at: str | None
    payload: QueuedRun
    """Only the trigger is known (from the record); nothing of it is retried."""

    @classmethod
    def of(cls, record: RunRecord, store: str) -> OrphanItem:
        return cls(
            store=store,
            run_id=record.run_id,
            job=record.job,
            attempt=record.attempt,
            logical_run_id=record.logical_run_id or record.run_id,
            scheduled_for=record.scheduled_for,
            enqueued_at=record.created_at,
            started_at=record.started_at,
            worker=owner(record),
            heartbeat_at=record.started_at,
            payload=QueuedRun(trigger=_trigger(record.trigger)),
        )


def _trigger(text: str) -> Trigger:
    """The record's trigger (every one nbprod writes is a Trigger; others read as manual)."""
    return Trigger(text) if text in {t.value for t in Trigger} else Trigger.MANUAL


def owner(record: RunRecord) -> str:
    return f"{record.host.get('hostname')}:{record.host.get('pid')}"


def orphaned(record: RunRecord) -> bool:
    """A ``running`` record whose owning process is known gone (on this host)."""
    pid = record.host.get("pid")
    return record.status is RunStatus.RUNNING and process_gone(
        record.host.get("hostname"),
        int(pid) if isinstance(pid, int) or str(pid).isdigit() else None,
        record.created_at or record.started_at,
    )


def end_orphan(
    record: RunRecord, settings: Settings, catalog: Any, now: datetime, *, reason: str
) -> RunRecord | None:
    """Mark an orphaned run ``lost`` (partial output kept); None if it is not to be touched.

    A run whose finished files wait in this host's spool (the store was down when it
    ended) is left alone: ``nbprod store flush`` publishes its real ending.
    """
    store = open_store(record.store or settings.store)
    if (settings.spool_dir / record.run_id / "manifest.json").is_file():
        return None
    return mark_lost(OrphanItem.of(record, store.url), settings, catalog, now, reason=reason)


def reap_orphans(settings: Settings, catalog: Any, store: str, now: datetime) -> list[str]:
    """End every ``running`` run of ``store`` that nothing holds and whose process is gone.

    Queue rows held by workers are the reaper's (heartbeats); this covers the rest, e.g.
    an ``nbprod exec`` killed with SIGKILL or crashed after announcing its run.
    """
    from nbprod.catalog.query import RunFilter
    from nbprod.catalog.queue import Queue

    candidates = catalog.query_runs(store, RunFilter(status=["running"], limit=None))
    if not candidates:
        return []
    held = {i.run_id for i in Queue(catalog).running()}
    ended = []
    for record in candidates:
        if record.run_id in held or not orphaned(record):
            continue
        try:
            done = end_orphan(
                record,
                settings,
                catalog,
                now,
                reason=f"its process {owner(record)} is gone (it ended without a record)",
            )
        except Exception as exc:  # the store may be down: try again next time
            event("lost_record_failed", run_id=record.run_id, error=str(exc))
            continue
        if done is not None and done.status is RunStatus.LOST:
            ended.append(record.run_id)
    return ended


def settle_fenced(item: Any, settings: Settings, catalog: Any) -> None:
    """After a fenced worker's run ended: store and catalog say what the queue decided.

    The reaper's lost record normally stands untouched; but a ``running`` record of this
    worker that was in flight when it froze may have landed after it: that is put back to
    ``lost`` here, and the catalog re-indexed from the store either way.
    """
    from nbprod.catalog.queue import utcnow
    from nbprod.errors import StoreError
    from nbprod.scheduler.durable import persist

    store = open_store(item.store)
    try:
        record = RunRecord.from_json(store.get(layout.record_key(item.job, item.run_id)))
    except (KeyError, StoreError, ValueError):
        return  # no record to repair (the store was down for the reaper too)
    if record.status is RunStatus.RUNNING:
        event("fenced_record_repaired", run_id=item.run_id, job=item.job)
        record = mark_lost(
            item,
            settings,
            catalog,
            utcnow(),
            reason=f"worker {item.worker} was cut off or frozen; its claim was taken over",
            keep_spool=False,
        )
    persist(lambda: catalog.index_run(store.url, record), "index_run", run_id=item.run_id)
