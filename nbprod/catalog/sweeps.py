"""The catalog queries a sweep needs: where each of its runs is in the queue.

A sweep's runs are ordinary queued runs; what is sweep-specific is asking about many run
ids at once (a sweep can have 1000), in chunks that stay under SQL parameter limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbprod.catalog.db import Catalog

CHUNK = 500
"""Run ids per ``IN (...)``: SQLite allows 999 bound parameters in older builds."""


def queue_states(
    catalog: Catalog, store: str, run_ids: Sequence[str]
) -> dict[str, tuple[str, Any]]:
    """run id -> (queue state, final status) for those of ``run_ids`` still in the queue."""
    import sqlalchemy as sa

    from nbprod.catalog.schema import queue

    states: dict[str, tuple[str, Any]] = {}
    with catalog.engine.connect() as conn:
        for start in range(0, len(run_ids), CHUNK):
            chunk = list(run_ids[start : start + CHUNK])
            rows = conn.execute(
                sa.select(queue.c.run_id, queue.c.state, queue.c.final_status).where(
                    queue.c.store == store, queue.c.run_id.in_(chunk)
                )
            )
            states.update({r.run_id: (r.state, r.final_status) for r in rows})
    return states
