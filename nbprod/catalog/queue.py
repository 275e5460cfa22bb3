"""The run queue and the fire ledger, in the catalog database.

(Just over 500 lines: every fenced state change of a queued run is here, where one
reading shows that each write checks the claim token.)

Every state change is one short write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL:
row locks), so several schedulers and workers on one catalog never double-fire or
double-claim: a fire is an insert on the (store, job, scheduled_for) primary key, a claim
is an UPDATE that succeeds only while the row is still ``queued``.

Fencing: each claim writes a fresh token on the row. Heartbeats and the end of a run
(``begin_finish``, ``finish``) are UPDATEs conditional on that token and on the row still
being held (``running``, or ``finishing`` once the worker started publishing), so a worker
that was frozen past ``lost_after`` and resumes finds its claim gone and cannot overwrite
what the reaper decided without it. A reaper's ``take_over`` clears the token.
"""

from __future__ import annotations

import os
import platform
import secrets
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from nbprod.catalog import doorbell
from nbprod.catalog.queued import HELD, FireDecision, QueuedRun, QueueState
from nbprod.catalog.schema import fires, queue
from nbprod.catalog.sql import claim_row, reading, writing
from nbprod.catalog.workers import WorkerRows
from nbprod.records import isoformat, parse_iso

QUEUED, RUNNING, FINISHING = QueueState.QUEUED, QueueState.RUNNING, QueueState.FINISHING
DONE, CANCELLED = QueueState.DONE, QueueState.CANCELLED


def iso(moment: datetime) -> str:
    return isoformat(moment)


def worker_id() -> str:
    return f"{platform.node()}:{os.getpid()}"


@dataclass
class Beat:
    """What a heartbeat learnt: whether the claim still holds, and whether to cancel."""

    held: bool
    cancel: bool


@dataclass
class Item:
    """A queue row. ``request`` is the stored payload as read; ``payload`` is it checked."""

    store: str
    run_id: str
    job: str
    state: QueueState
    attempt: int
    logical_run_id: str
    scheduled_for: str | None
    available_at: str
    enqueued_at: str
    started_at: str | None
    heartbeat_at: str | None
    worker: str | None
    cancel_requested: bool
    final_status: str | None
    request: dict[str, Any]
    claim: str | None = None
    progress_at: str | None = None
    cells_done: int | None = None
    cells_total: int | None = None
    waiting_reason: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Item:
        data = dict(row._mapping)
        data.pop("finished_at", None)
        data["state"] = QueueState(data["state"])
        return cls(**data)

    @property
    def payload(self) -> QueuedRun:
        """The payload, checked (CorruptData naming the field when it is not valid)."""
        return QueuedRun.from_dict(self.request, f"queued run {self.run_id}")


class Queue(WorkerRows):
    """The queue, fire ledger and (from WorkerRows) worker rows in a catalog's database.

    Every call is its own transaction (never the catalog's ``transaction``); database
    errors raise CatalogError, as the catalog's own calls do.
    """

    def __init__(self, catalog: Any) -> None:
        self.engine: sa.Engine = catalog.engine
        self.url: str = catalog.url
        self.postgres = self.engine.dialect.name == "postgresql"

    def _write(self) -> AbstractContextManager[sa.Connection]:
        return writing(self.engine, self.url)

    def _read(self) -> AbstractContextManager[sa.Connection]:
        return reading(self.engine, self.url)

    # -- fires ------------------------------------------------------------------------

    def last_fire(self, store: str, job: str) -> datetime | None:
        with self._read() as conn:
            value = conn.execute(
                sa.select(sa.func.max(fires.c.scheduled_for)).where(
                    fires.c.store == store, fires.c.job == job
                )
            ).scalar()
        return parse_iso(value) if value else None

    def record_fire(
        self,
        store: str,
        job: str,
        scheduled_for: datetime,
        *,
        decision: FireDecision | str,
        scheduler: str,
        now: datetime,
        reason: str | None = None,
        enqueue: dict[str, Any] | None = None,
    ) -> bool:
        """Claim one (job, scheduled time); enqueue its run in the same transaction.

        Returns False when another scheduler recorded that fire first (nothing is done).
        """
        stamp = iso(scheduled_for)
        run_id = enqueue["run_id"] if enqueue else None
        row = _queue_row(store, job, now, enqueue) if enqueue else None
        fire = {
            "store": store,
            "job": job,
            "scheduled_for": stamp,
            "decision": FireDecision(decision).value,
            "reason": reason,
            "run_id": run_id,
            "scheduler": scheduler,
            "fired_at": iso(now),
        }
        with self._write() as conn:
            if not claim_row(conn, fires, fire):
                return False  # another scheduler recorded it first
            if row is not None:
                conn.execute(queue.insert().values(**row))
        if row is not None:
            doorbell.ring(self.url)
        return True

    # -- queue ------------------------------------------------------------------------

    def enqueue(
        self,
        store: str,
        job: str,
        now: datetime,
        *,
        run_id: str,
        request: QueuedRun | Mapping[str, Any] | None = None,
        attempt: int = 1,
        logical_run_id: str | None = None,
        scheduled_for: datetime | None = None,
        available_at: datetime | None = None,
    ) -> str:
        """Queue one run (available at ``available_at``, default now); returns its id.

        ``request`` is its payload: a QueuedRun, or the dict form callers built before it
        had a type (checked like a stored one: CorruptData naming a wrong field).
        """
        fields = {
            "run_id": run_id,
            "request": request,
            "attempt": attempt,
            "logical_run_id": logical_run_id,
            "scheduled_for": scheduled_for,
            "available_at": available_at,
        }
        row = _queue_row(store, job, now, fields)
        with self._write() as conn:
            conn.execute(queue.insert().values(**row))
        if available_at is None or available_at <= now:
            doorbell.ring(self.url)  # idle workers claim it now, not at their next poll
        return run_id

    def active_count(self, store: str, job: str) -> int:
        with self._read() as conn:
            return conn.execute(
                sa.select(sa.func.count()).where(
                    queue.c.store == store,
                    queue.c.job == job,
                    queue.c.state.in_((QUEUED, *HELD)),
                )
            ).scalar_one()

    def claim(
        self,
        worker: str,
        now: datetime,
        limits: dict[tuple[str, str], int],
        store: str | None = None,
        only: set[str] | None = None,
    ) -> Item | None:
        """The oldest available item whose job is under its concurrency limit, or None.

        ``limits`` maps (store, job) to the job's concurrency (missing: unlimited);
        ``store`` restricts the worker to one store's runs, ``only`` to given run ids
        (a sweep draining its own runs).
        """
        conditions = [queue.c.state == QUEUED, queue.c.available_at <= iso(now)]
        if store is not None:
            conditions.append(queue.c.store == store)
        if only is not None:
            conditions.append(queue.c.run_id.in_(sorted(only)))
        with self._write() as conn:
            candidates = conn.execute(
                sa.select(queue)
                .where(*conditions)
                .order_by(queue.c.available_at, queue.c.run_id)
                .limit(50)
            ).fetchall()
            for row in candidates:
                limit = limits.get((row.store, row.job))
                if limit is not None:
                    if self.postgres:  # serialise claims per job: a transaction-scoped lock
                        conn.execute(
                            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                            {"k": f"{row.store}|{row.job}"},
                        )
                    running = conn.execute(
                        sa.select(sa.func.count()).where(
                            queue.c.store == row.store,
                            queue.c.job == row.job,
                            queue.c.state.in_(HELD),
                        )
                    ).scalar_one()
                    if running >= limit:
                        continue
                claimed = conn.execute(
                    queue.update()
                    .where(
                        queue.c.store == row.store,
                        queue.c.run_id == row.run_id,
                        queue.c.state == QUEUED,
                    )
                    .values(
                        state=RUNNING,
                        worker=worker,
                        started_at=iso(now),
                        heartbeat_at=iso(now),
                        progress_at=iso(now),
                        claim=secrets.token_hex(8),
                    )
                )
                if claimed.rowcount == 1:
                    fresh = conn.execute(
                        sa.select(queue).where(
                            queue.c.store == row.store, queue.c.run_id == row.run_id
                        )
                    ).one()
                    return Item.from_row(fresh)
        return None

    def _held(self, store: str, run_id: str, claim: str | None) -> list[Any]:
        """WHERE clauses: this row, still held by this claim."""
        return [
            queue.c.store == store,
            queue.c.run_id == run_id,
            queue.c.state.in_(HELD),
            queue.c.claim.is_(None) if claim is None else queue.c.claim == claim,
        ]

    def heartbeat(
        self,
        store: str,
        run_id: str,
        claim: str | None,
        now: datetime,
        *,
        cells_done: int | None = None,
        cells_total: int | None = None,
        progress_at: datetime | None = None,
    ) -> Beat:
        """Refresh a held item's heartbeat (and progress); ``held`` False means fenced."""
        values: dict[str, Any] = {"heartbeat_at": iso(now)}
        if cells_done is not None:
            values.update(cells_done=cells_done, cells_total=cells_total)
        if progress_at is not None:
            values["progress_at"] = iso(progress_at)
        with self._write() as conn:
            updated = conn.execute(
                queue.update().where(*self._held(store, run_id, claim)).values(**values)
            )
            flag = conn.execute(
                sa.select(queue.c.cancel_requested).where(
                    queue.c.store == store, queue.c.run_id == run_id
                )
            ).scalar()
        return Beat(held=updated.rowcount == 1, cancel=bool(flag))

    def holds(self, store: str, run_id: str, claim: str | None) -> bool:
        """Whether the claim still holds the row (a read; the final writes re-check it)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(queue.c.run_id).where(*self._held(store, run_id, claim))
            ).first()
        return row is not None

    def begin_finish(self, store: str, run_id: str, claim: str | None, now: datetime) -> bool:
        """running -> finishing under the claim, before the final record is published.

        Idempotent (a retry after a lost commit succeeds); False means the claim is gone.
        """
        with self._write() as conn:
            updated = conn.execute(
                queue.update()
                .where(*self._held(store, run_id, claim))
                .values(state=FINISHING, heartbeat_at=iso(now))
            )
        return updated.rowcount == 1

    def finish(
        self, store: str, run_id: str, claim: str | None, status: str, now: datetime
    ) -> bool:
        """End a held item with ``status``; False when the claim was fenced (nothing changed).

        A retry after a commit whose answer was lost (the connection broke) sees its own
        ending and returns True.
        """
        with self._write() as conn:
            updated = conn.execute(
                queue.update()
                .where(*self._held(store, run_id, claim))
                .values(state=DONE, final_status=status, finished_at=iso(now))
            )
            if updated.rowcount == 1:
                return True
            row = conn.execute(
                sa.select(queue.c.state, queue.c.claim, queue.c.final_status).where(
                    queue.c.store == store, queue.c.run_id == run_id
                )
            ).first()
        return bool(
            row is not None
            and claim is not None
            and (row.state, row.claim, row.final_status) == (DONE, claim, status)
        )

    def get(self, store: str, run_id: str) -> Item | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(queue).where(queue.c.store == store, queue.c.run_id == run_id)
            ).first()
        return Item.from_row(row) if row else None

    def find(self, run_id: str) -> Item | None:
        """An item in any store by run id or unique prefix."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(queue).where(queue.c.run_id.like(f"{run_id}%")).limit(2)
            ).fetchall()
        exact = [r for r in rows if r.run_id == run_id]
        if exact or len(rows) == 1:
            return Item.from_row((exact or rows)[0])
        return None

    def request_cancel(self, store: str, run_id: str, now: datetime) -> str:
        """Cancel a queued item at once, or flag a running one for its worker.

        Returns the item's state after the request: cancelled, running or done.
        """
        with self._write() as conn:
            row = conn.execute(
                sa.select(queue.c.state).where(queue.c.store == store, queue.c.run_id == run_id)
            ).first()
            if row is None:
                return "missing"
            if row.state == QUEUED:
                conn.execute(
                    queue.update()
                    .where(queue.c.store == store, queue.c.run_id == run_id)
                    .values(
                        state=CANCELLED,
                        final_status="cancelled",
                        finished_at=iso(now),
                        cancel_requested=True,
                    )
                )
                return CANCELLED
            if row.state in HELD:
                conn.execute(
                    queue.update()
                    .where(queue.c.store == store, queue.c.run_id == run_id)
                    .values(cancel_requested=True)
                )
            return RUNNING if row.state == FINISHING else row.state

    def running(self) -> list[Item]:
        """Held items: running, or finishing (publishing their final record)."""
        with self._read() as conn:
            rows = conn.execute(sa.select(queue).where(queue.c.state.in_(HELD))).fetchall()
        return [Item.from_row(r) for r in rows]

    def stale(self, now: datetime, lost_after: float) -> list[Item]:
        """Held items whose heartbeat is older than ``lost_after`` seconds."""
        cutoff = iso(now - timedelta(seconds=lost_after))
        with self._read() as conn:
            rows = conn.execute(
                sa.select(queue).where(queue.c.state.in_(HELD), queue.c.heartbeat_at < cutoff)
            ).fetchall()
        return [Item.from_row(r) for r in rows]

    def take_over(self, item: Item, now: datetime, status: str) -> bool:
        """End a held item whose worker is gone (as ``status``), unless it came back.

        Conditional on the state, claim and heartbeat the reaper saw; clears the claim, so
        the worker's later heartbeat, ``begin_finish`` or ``finish`` is refused (fenced).
        """
        with self._write() as conn:
            done = conn.execute(
                queue.update()
                .where(
                    *self._held(item.store, item.run_id, item.claim),
                    queue.c.state == item.state,
                    queue.c.heartbeat_at == item.heartbeat_at,
                )
                .values(state=DONE, final_status=status, finished_at=iso(now), claim=None)
            )
        return done.rowcount == 1

    def correct_final(self, store: str, run_id: str, status: str) -> None:
        """Set a taken-over item's final status to what its store record says it was."""
        with self._write() as conn:
            conn.execute(
                queue.update()
                .where(
                    queue.c.store == store,
                    queue.c.run_id == run_id,
                    queue.c.state == DONE,
                    queue.c.claim.is_(None),
                )
                .values(final_status=status)
            )

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(queue.c.state, sa.func.count()).group_by(queue.c.state)
            ).fetchall()
        return {state: count for state, count in rows}

    def due(self, now: datetime, limit: int = 500) -> list[Item]:
        """Queued rows whose time has come, oldest first: what an executor hands out."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(queue)
                .where(queue.c.state == QUEUED, queue.c.available_at <= iso(now))
                .order_by(queue.c.available_at, queue.c.run_id)
                .limit(limit)
            ).fetchall()
        return [Item.from_row(r) for r in rows]

    def set_waiting(self, store: str, run_id: str, reason: str | None) -> None:
        """Note why a queued run is not handed out (None: it is again)."""
        with self._write() as conn:
            conn.execute(
                queue.update()
                .where(queue.c.store == store, queue.c.run_id == run_id, queue.c.state == QUEUED)
                .values(waiting_reason=reason[:200] if reason else None)
            )

    def items(self, states: tuple[str, ...], limit: int = 100) -> list[Item]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(queue)
                .where(queue.c.state.in_(states))
                .order_by(queue.c.available_at, queue.c.run_id)
                .limit(limit)
            ).fetchall()
        return [Item.from_row(r) for r in rows]


def _queue_row(store: str, job: str, now: datetime, fields: dict[str, Any]) -> dict[str, Any]:
    available = fields.get("available_at") or now
    return {
        "store": store,
        "run_id": fields["run_id"],
        "job": job,
        "state": QUEUED,
        "attempt": fields.get("attempt", 1),
        "logical_run_id": fields.get("logical_run_id") or fields["run_id"],
        "scheduled_for": iso(fields["scheduled_for"]) if fields.get("scheduled_for") else None,
        "available_at": iso(available),
        "enqueued_at": iso(now),
        "cancel_requested": False,
        "request": _payload(fields.get("request")),
    }


def _payload(request: QueuedRun | Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored JSON of a payload; a dict (as callers built them) is checked first."""
    if request is None:
        return {}
    if not isinstance(request, QueuedRun):
        request = QueuedRun.from_dict(request, "the run to queue")
    return request.to_dict()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
