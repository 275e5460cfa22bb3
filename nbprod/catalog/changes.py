"""What changed about a store's runs since the last look: the source of live updates.

Workers in other processes (maybe other machines) write the catalog; a server that pushes
run changes to browsers needs to notice their writes promptly and cheaply. A
:class:`RunWatcher` keeps the state of the runs in flight (queued, starting, running with
cells done/total) and, on each :meth:`~RunWatcher.poll`, answers the runs whose state
differs, including the terminal state of those that left the set. Each poll is two or three
small index-backed reads (the queue's rows by state, the runs' rows by store and status), so
it can run every ~100 ms on one connection whatever the number of browsers watching.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from nbprod.catalog.queued import QueueState
from nbprod.catalog.schema import queue, runs
from nbprod.catalog.sql import reading

_ACTIVE = (QueueState.QUEUED.value, QueueState.RUNNING.value, QueueState.FINISHING.value)


@dataclass(frozen=True)
class RunState:
    """A run as the live views show it: status (``queued``, ``starting``, ``running`` or a
    terminal status) and cells done/total."""

    run_id: str
    job: str
    status: str
    cells_done: int = 0
    cells_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _progress(record: Any) -> tuple[int, int]:
    progress = (record or {}).get("progress") or {}
    return int(progress.get("cells_done") or 0), int(progress.get("cells_total") or 0)


def active_runs(engine: sa.Engine, label: str, store: str) -> dict[str, RunState]:
    """The store's runs in flight: queued or held in the queue, or ``running`` in the index."""
    with reading(engine, label) as conn:
        held = conn.execute(
            sa.select(
                queue.c.run_id,
                queue.c.job,
                queue.c.state,
                queue.c.cells_done,
                queue.c.cells_total,
            ).where(queue.c.state.in_(_ACTIVE), queue.c.store == store)
        ).fetchall()
        running = conn.execute(
            sa.select(runs.c.run_id, runs.c.job, runs.c.record).where(
                runs.c.store == store, runs.c.status == "running"
            )
        ).fetchall()
        states: dict[str, RunState] = {}
        for row in running:
            done, total = _progress(row.record)
            states[row.run_id] = RunState(row.run_id, row.job, "running", done, total)
        unknown = []
        for row in held:
            known = states.get(row.run_id)
            if known is not None:
                # The heartbeat's count may be newer than the last indexed record's.
                done = max(known.cells_done, row.cells_done or 0)
                total = max(known.cells_total, row.cells_total or 0)
                states[row.run_id] = RunState(row.run_id, row.job, "running", done, total)
            elif row.state == QueueState.QUEUED.value:
                states[row.run_id] = RunState(row.run_id, row.job, "queued")
            else:
                unknown.append(row)
        # Held with no running record: not started yet, or already ended in the index
        # (the worker indexes the final record before it closes the queue row).
        ended = _indexed(conn, store, [row.run_id for row in unknown])
        for row in unknown:
            states[row.run_id] = ended.get(row.run_id) or RunState(
                row.run_id, row.job, "starting", row.cells_done or 0, row.cells_total or 0
            )
    return states


def _indexed(conn: sa.Connection, store: str, run_ids: list[str]) -> dict[str, RunState]:
    if not run_ids:
        return {}
    rows = conn.execute(
        sa.select(runs.c.run_id, runs.c.job, runs.c.status, runs.c.record).where(
            runs.c.store == store, runs.c.run_id.in_(run_ids)
        )
    ).fetchall()
    return {r.run_id: RunState(r.run_id, r.job, r.status, *_progress(r.record)) for r in rows}


def run_states(engine: sa.Engine, label: str, store: str, run_ids: Iterable[str]) -> list[RunState]:
    """The current state of these runs (those the catalog knows): the index's record,
    else the queue row's final status (a queued run cancelled before it started)."""
    ids = sorted(set(run_ids))
    if not ids:
        return []
    with reading(engine, label) as conn:
        found = _indexed(conn, store, ids)
        rest = [i for i in ids if i not in found]
        if rest:
            rows = conn.execute(
                sa.select(queue.c.run_id, queue.c.job, queue.c.state, queue.c.final_status).where(
                    queue.c.store == store, queue.c.run_id.in_(rest)
                )
            ).fetchall()
            for r in rows:
                status = r.final_status or ("queued" if r.state == "queued" else "starting")
                found[r.run_id] = RunState(r.run_id, r.job, status)
    return [found[i] for i in ids if i in found]


class RunWatcher:
    """Successive looks at one store's runs in flight; each :meth:`poll` answers what
    changed since the previous one (nothing on the first: that one is the baseline)."""

    def __init__(self, engine: sa.Engine, label: str, store: str) -> None:
        self.engine, self.label, self.store = engine, label, store
        self.previous: dict[str, RunState] | None = None

    def poll(self) -> list[RunState]:
        current = active_runs(self.engine, self.label, self.store)
        previous, self.previous = self.previous, current
        if previous is None:
            return []
        changed = [s for run_id, s in sorted(current.items()) if previous.get(run_id) != s]
        gone = previous.keys() - current.keys()
        ended = run_states(self.engine, self.label, self.store, gone)
        return changed + [s for s in ended if previous[s.run_id] != s]
