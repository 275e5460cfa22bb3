"""Scheduler leases: every scheduler process says it is alive, in the catalog.

``nbprod scheduler`` beats as ``external``; the scheduler embedded in a Jupyter server beats
as ``embedded`` and fires only while no external scheduler is alive on its store and no
older embedded one is. Firing stays exactly-once either way (fires are claimed on a primary
key); the lease only keeps an idle notebook server from doing a daemon's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from nbprod.catalog.schema import schedulers
from nbprod.catalog.sql import reading, writing
from nbprod.records import isoformat

EXTERNAL, EMBEDDED = "external", "embedded"


@dataclass
class Lease:
    name: str
    store: str
    kind: str
    state: str
    host: str
    pid: int
    started_at: str
    heartbeat_at: str


def beat(engine: sa.Engine, name: str, store: str, kind: str, state: str, now: datetime) -> None:
    """Insert or refresh this scheduler's row."""
    host, _, pid = name.rpartition(":")
    stamp = isoformat(now)
    with writing(engine, _label(engine)) as conn:
        updated = conn.execute(
            schedulers.update()
            .where(schedulers.c.name == name)
            .values(store=store, kind=kind, state=state, heartbeat_at=stamp)
        )
        if updated.rowcount == 0:
            conn.execute(
                schedulers.insert().values(
                    name=name,
                    store=store,
                    kind=kind,
                    state=state,
                    host=host,
                    pid=int(pid or 0),
                    started_at=stamp,
                    heartbeat_at=stamp,
                )
            )


def alive(engine: sa.Engine, store: str, now: datetime, within: float) -> list[Lease]:
    """Schedulers of ``store`` that beat in the last ``within`` seconds and did not stop."""
    cutoff = isoformat(now - timedelta(seconds=within))
    with reading(engine, _label(engine)) as conn:
        rows = conn.execute(
            sa.select(schedulers)
            .where(
                schedulers.c.store == store,
                schedulers.c.heartbeat_at >= cutoff,
                schedulers.c.state != "stopped",
            )
            .order_by(schedulers.c.started_at, schedulers.c.name)
        ).fetchall()
    return [Lease(**dict(r._mapping)) for r in rows]


def should_fire(leases: list[Lease], me: str) -> tuple[bool, str]:
    """Whether the embedded scheduler ``me`` fires now, and why (for logs and the API)."""
    external = [lease for lease in leases if lease.kind == EXTERNAL]
    if external:
        return False, f"external scheduler {external[0].name} is alive"
    embedded = [lease for lease in leases if lease.kind == EMBEDDED and lease.state != "stopped"]
    if embedded and embedded[0].name != me:
        return False, f"embedded scheduler {embedded[0].name} started first"
    return True, "no other scheduler is alive"


def _label(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
