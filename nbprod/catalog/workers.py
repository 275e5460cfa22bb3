"""Worker rows: each worker process's heartbeat and current run (what ``nbprod status``
shows), in the catalog database next to the queue."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from nbprod.catalog.schema import workers
from nbprod.records import isoformat as iso


class WorkerRows:
    """The Queue's worker methods (a part of ``Queue``; not used alone)."""

    def _read(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def worker_beat(self, worker: str, now: datetime, state: str, run_id: str | None) -> None:
        host, _, pid = worker.rpartition(":")
        with self._write() as conn:
            updated = conn.execute(
                workers.update()
                .where(workers.c.worker == worker)
                .values(heartbeat_at=iso(now), state=state, run_id=run_id)
            )
            if updated.rowcount == 0:
                conn.execute(
                    workers.insert().values(
                        worker=worker,
                        host=host,
                        pid=int(pid or 0),
                        started_at=iso(now),
                        heartbeat_at=iso(now),
                        state=state,
                        run_id=run_id,
                    )
                )

    def workers(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(sa.select(workers).order_by(workers.c.worker)).fetchall()
        return [dict(r._mapping) for r in rows]
