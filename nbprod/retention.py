"""Deleting runs: one at a time or by a retention policy, from store and catalog together.

Every deletion is planned first: the store lists everything in the run's folder without
following links and refuses (DeleteRefused, one line, nothing deleted) what it cannot
remove whole. Then the store removes it and calls back at its safe point to drop the
catalog rows; links are removed as links, never followed. What is guaranteed:

- local store: the run folder is renamed away in one step, so it is whole or gone; the
  catalog rows go right after (the rename is undone if that fails). Files that then refuse
  to go stay in a hidden ``<job>/.deleting-<run-id>.<token>`` folder, reported, and are
  removed by the next ``runs delete`` or ``gc``.
- S3: an intent object is written, the catalog rows dropped, the record deleted (the folder
  stops being a run), then the other objects, then the intent. An interrupted deletion is
  never listed; the next ``runs delete`` or ``gc`` finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from nbprod.errors import BadInput
from nbprod.records import RunRecord, RunStatus, parse_iso
from nbprod.store import Store, layout
from nbprod.store.base import Removal


def plan_delete(store: Store, record: RunRecord) -> Removal:
    """What deleting the run removes; raises (deleting nothing) when it cannot go whole."""
    if record.status is RunStatus.RUNNING:
        raise BadInput(f"run {record.run_id} is still running; cancel it first")
    return store.plan_removal(
        layout.run_prefix(record.job, record.run_id),
        first=(layout.record_key(record.job, record.run_id),),
    )


def delete_run(
    store: Store, catalog: Any, record: RunRecord, removal: Removal | None = None
) -> list[str]:
    """Delete a run whole, store and catalog; returns one line per leftover (if any)."""
    removal = removal or plan_delete(store, record)
    problems = store.remove(removal, lambda: catalog.delete_run(store.url, record.run_id))
    return [_leftovers(record.run_id, problems)] if problems else []


def finish_deletions(store: Store, catalog: Any) -> list[str]:
    """Complete deletions a crash or a fault interrupted; one line per run completed."""
    notes = []
    for prefix in store.unfinished_removals():
        job, _, run_id = prefix.rpartition("/")
        if not layout.is_run_id(run_id):
            continue  # not a run's: not ours to finish
        problems = store.finish_removal(
            prefix,
            lambda rid=run_id: catalog.delete_run(store.url, rid),
            first=(layout.record_key(job, run_id),),
        )
        if problems:
            notes.append(_leftovers(run_id, problems))
        else:
            notes.append(f"finished the interrupted deletion of run {run_id} ({job})")
    return notes


def _leftovers(run_id: str, problems: list[str]) -> str:
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    return (
        f"run {run_id} is deleted, but some of its files would not go ({problems[0]}{more}); "
        "they stay hidden and the next `nbprod gc` or `nbprod runs delete` retries"
    )


@dataclass
class GcPlan:
    job: str
    keep: list[RunRecord]
    delete: list[RunRecord]
    skipped: list[str] = field(default_factory=list)
    """One line per run that could not be deleted whole (left complete and listed)."""


def plan_gc(
    runs: list[RunRecord],
    *,
    keep_last: int | None,
    older_than_days: float | None,
    now: datetime | None = None,
) -> tuple[list[RunRecord], list[RunRecord]]:
    """Split one job's runs (newest first) into (keep, delete).

    The ``keep_last`` newest runs are always kept; of the rest, those older than
    ``older_than_days`` go (or all of them when no age is given). Running runs stay.
    """
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=older_than_days) if older_than_days is not None else None
    keep: list[RunRecord] = []
    delete: list[RunRecord] = []
    terminal_seen = 0
    for record in runs:
        if record.status is RunStatus.RUNNING:
            keep.append(record)
            continue
        terminal_seen += 1
        if keep_last is not None and terminal_seen <= keep_last:
            keep.append(record)
            continue
        if cutoff is not None and _started(record) > cutoff:
            keep.append(record)
            continue
        delete.append(record)
    return keep, delete


def _started(record: RunRecord) -> datetime:
    stamp = record.started_at or record.created_at
    return parse_iso(stamp)
