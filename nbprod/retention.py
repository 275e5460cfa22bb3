"""Deleting runs: one at a time or by a retention policy, from store and catalog together.

The catalog row is deleted inside a transaction that commits only after the store objects
are gone, so a store failure leaves both as they were. In the store the record goes
first: a folder without ``run.json`` is no longer a run to any reader, so a crash half-way
leaves only unreferenced files, never a record pointing at missing ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from nbprod.records import RunRecord, RunStatus
from nbprod.store import Store, layout


def delete_run(store: Store, catalog: Any, record: RunRecord) -> None:
    if record.status is RunStatus.RUNNING:
        from nbprod.errors import BadInput

        raise BadInput(f"run {record.run_id} is still running; cancel it first")
    prefix = layout.run_prefix(record.job, record.run_id)
    with catalog.transaction():
        catalog.delete_run(store.url, record.run_id)
        store.delete(layout.record_key(record.job, record.run_id))
        for entry in store.list(prefix):
            if not entry.is_dir:
                store.delete(f"{prefix}/{entry.name}")


@dataclass
class GcPlan:
    job: str
    keep: list[RunRecord]
    delete: list[RunRecord]


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
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
