"""The catalog's pipeline runs: their index, and the one transaction that advances one.

A pipeline run's row holds its record (``PipelineRun.to_dict()``) as the store does. When a
step's run ends, the row is locked, the record changed and written back, and the next
steps' runs queued, all in one write transaction: two steps ending at once advance the
run one after the other, and a second advance for the same ending finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from nbprod.catalog.schema import pipeline_fires, pipeline_runs, pipelines, queue
from nbprod.catalog.sql import claim_row, upsert

if TYPE_CHECKING:
    from datetime import datetime

    from nbprod.pipelines.record import PipelineRun, QueuedStep


def _row(store: str, run: PipelineRun) -> dict[str, Any]:
    return {
        "store": store,
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "version": run.version,
        "status": run.status.value,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "record": run.to_dict(),
    }


def _record(row: Any) -> PipelineRun:
    from nbprod.pipelines.record import PipelineRun

    return PipelineRun.from_dict(row.record)


def index_pipeline_runs(catalog: Any, store: str, runs: Iterable[PipelineRun]) -> None:
    """Insert or replace pipeline runs (a catalog sync from the store's records)."""
    rows = [_row(store, run) for run in runs]
    if rows:
        with catalog._write() as conn:
            upsert(conn, pipeline_runs, rows)


def get_pipeline_run(catalog: Any, store: str, run_id: str) -> PipelineRun | None:
    with catalog._read() as conn:
        row = conn.execute(
            sa.select(pipeline_runs.c.record).where(
                pipeline_runs.c.store == store, pipeline_runs.c.run_id == run_id
            )
        ).first()
    return _record(row) if row is not None else None


def indexed_pipeline_runs(catalog: Any, store: str) -> set[str]:
    """Every pipeline run id the catalog holds for the store (a sync adds the others)."""
    with catalog._read() as conn:
        rows = conn.execute(sa.select(pipeline_runs.c.run_id).where(pipeline_runs.c.store == store))
        return {r.run_id for r in rows}


def pipeline_run_ids(catalog: Any, store: str, prefix: str, limit: int = 2) -> list[str]:
    """Run ids starting with ``prefix`` (at most ``limit``), for unique-prefix lookups."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    with catalog._read() as conn:
        rows = conn.execute(
            sa.select(pipeline_runs.c.run_id)
            .where(
                pipeline_runs.c.store == store,
                pipeline_runs.c.run_id.like(f"{escaped}%", escape="\\"),
            )
            .order_by(pipeline_runs.c.run_id)
            .limit(limit)
        )
        return [r.run_id for r in rows]


def list_pipeline_runs(
    catalog: Any, store: str, pipeline: str | None = None, limit: int = 20
) -> list[PipelineRun]:
    """Newest first."""
    stmt = sa.select(pipeline_runs.c.record).where(pipeline_runs.c.store == store)
    if pipeline is not None:
        stmt = stmt.where(pipeline_runs.c.pipeline == pipeline)
    stmt = stmt.order_by(pipeline_runs.c.run_id.desc()).limit(limit)
    with catalog._read() as conn:
        return [_record(row) for row in conn.execute(stmt)]


def create_pipeline_run(
    catalog: Any,
    run: PipelineRun,
    steps: list[QueuedStep],
    now: datetime,
    publish: Callable[[PipelineRun], None],
) -> None:
    """Index a new pipeline run and queue its first steps in one transaction;
    ``publish`` (the store write) runs inside it: if it fails, nothing is queued."""
    with catalog._write() as conn:
        conn.execute(pipeline_runs.insert().values(**_row(run.store, run)))
        _enqueue(conn, run.store, steps, now)
        publish(run)
    _ring(catalog, steps)


def create_pipeline_run_once(
    catalog: Any, run: PipelineRun, now: datetime, publish: Callable[[PipelineRun], None]
) -> bool:
    """Index a new pipeline run whose id is derived from an orchestrator's run (none of
    its steps queued); False when a run with that id exists (a concurrent or earlier task
    created it): the primary key is the fence."""
    with catalog._write() as conn:
        exists = conn.execute(
            sa.select(pipeline_runs.c.run_id).where(
                pipeline_runs.c.store == run.store, pipeline_runs.c.run_id == run.run_id
            )
        ).first()
        if exists is not None:
            return False
        try:
            conn.execute(pipeline_runs.insert().values(**_row(run.store, run)))
        except sa.exc.IntegrityError:
            return False  # PostgreSQL: a concurrent task inserted it first
        publish(run)
    return True


def change_pipeline_run(
    catalog: Any,
    store: str,
    run_id: str,
    change: Callable[[PipelineRun], list[QueuedStep] | None],
    now: datetime,
    publish: Callable[[PipelineRun], None],
) -> PipelineRun | None:
    """Lock the run's row, apply ``change`` to its record and, unless it returned None
    (nothing to do), write the row, queue the steps it returned and ``publish`` the
    record, in one transaction. The run as it is now; None for an unknown run."""
    with catalog._write() as conn:
        stmt = sa.select(pipeline_runs.c.record).where(
            pipeline_runs.c.store == store, pipeline_runs.c.run_id == run_id
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()  # SQLite: BEGIN IMMEDIATE locked the database
        if row is None:
            return None
        run = _record(row)
        steps = change(run)
        if steps is None:
            return run
        conn.execute(
            pipeline_runs.update()
            .where(pipeline_runs.c.store == store, pipeline_runs.c.run_id == run_id)
            .values(**{k: v for k, v in _row(store, run).items() if k not in ("store", "run_id")})
        )
        _enqueue(conn, store, steps, now)
        publish(run)
    _ring(catalog, steps)
    return run


def _enqueue(conn: sa.Connection, store: str, steps: list[QueuedStep], now: datetime) -> None:
    from nbprod.catalog.queue import _queue_row

    for step in steps:
        row = _queue_row(store, step.job, now, {"run_id": step.run_id, "request": step.request})
        conn.execute(queue.insert().values(**row))


def _ring(catalog: Any, steps: list[QueuedStep]) -> None:
    if steps:
        from nbprod.catalog import doorbell

        doorbell.ring(catalog.url)


# -- pipelines and their fires (what the scheduler reads and claims) ---------------------


@dataclass
class PipelineSummary:
    """A pipeline as the scheduler sees it: its latest definition and its pause state."""

    name: str
    latest_version: int
    paused: bool
    definition: dict[str, Any]
    created_at: str
    """When its first version was applied: no fire before it."""


def index_pipeline(
    catalog: Any,
    store: str,
    name: str,
    version: int,
    definition: dict[str, Any],
    *,
    created_at: str,
    updated_at: str,
    paused: bool | None = None,
) -> None:
    """Insert or update a pipeline's row; ``paused`` None keeps the row's (a new one is
    active)."""
    with catalog._write() as conn:
        current = conn.execute(
            sa.select(pipelines.c.paused).where(
                pipelines.c.store == store, pipelines.c.name == name
            )
        ).first()
        keep = bool(current.paused) if current is not None else False
        row = {
            "store": store,
            "name": name,
            "latest_version": version,
            "paused": keep if paused is None else bool(paused),
            "schedule": definition.get("schedule"),
            "definition": definition,
            "created_at": created_at,
            "updated_at": updated_at,
        }
        upsert(conn, pipelines, [row])


def set_pipeline_paused(catalog: Any, store: str, name: str, paused: bool) -> bool:
    """Whether the pipeline has a row to pause or resume."""
    with catalog._write() as conn:
        done = conn.execute(
            pipelines.update()
            .where(pipelines.c.store == store, pipelines.c.name == name)
            .values(paused=bool(paused))
        )
        return bool(done.rowcount)


def pipeline_summaries(catalog: Any, store: str) -> list[PipelineSummary]:
    stmt = sa.select(pipelines).where(pipelines.c.store == store).order_by(pipelines.c.name)
    with catalog._read() as conn:
        return [
            PipelineSummary(
                name=row.name,
                latest_version=row.latest_version,
                paused=bool(row.paused),
                definition=dict(row.definition),
                created_at=row.created_at,
            )
            for row in conn.execute(stmt)
        ]


def last_pipeline_fire(catalog: Any, store: str, pipeline: str) -> str | None:
    """The newest recorded scheduled time (ISO) of the pipeline, fired or skipped."""
    with catalog._read() as conn:
        return conn.execute(
            sa.select(sa.func.max(pipeline_fires.c.scheduled_for)).where(
                pipeline_fires.c.store == store, pipeline_fires.c.pipeline == pipeline
            )
        ).scalar()


def record_pipeline_fire(
    catalog: Any,
    store: str,
    pipeline: str,
    scheduled_for: str,
    *,
    decision: str,
    scheduler: str,
    now: datetime,
    reason: str | None = None,
    start: tuple[PipelineRun, list[QueuedStep], Callable[[PipelineRun], None]] | None = None,
) -> bool:
    """Claim one (pipeline, scheduled time), and with ``start`` (the new run, its first
    steps, the store write) create that pipeline run in the same transaction. False when
    another scheduler recorded the fire first: nothing is done."""
    from nbprod.catalog.queue import iso

    run = start[0] if start else None
    fire = {
        "store": store,
        "pipeline": pipeline,
        "scheduled_for": scheduled_for,
        "decision": decision,
        "reason": reason,
        "run_id": run.run_id if run is not None else None,
        "scheduler": scheduler,
        "fired_at": iso(now),
    }
    with catalog._write() as conn:
        if not claim_row(conn, pipeline_fires, fire):
            return False  # another scheduler recorded it first
        if start is not None:
            run, steps, publish = start
            conn.execute(pipeline_runs.insert().values(**_row(store, run)))
            _enqueue(conn, store, steps, now)
            publish(run)
    if start is not None:
        _ring(catalog, start[1])
    return True


def active_pipeline_runs(catalog: Any, store: str, pipeline: str | None = None) -> list[str]:
    """Ids of the pipeline runs not done yet (queued or running), oldest first."""
    stmt = sa.select(pipeline_runs.c.run_id).where(
        pipeline_runs.c.store == store, pipeline_runs.c.finished_at.is_(None)
    )
    if pipeline is not None:
        stmt = stmt.where(pipeline_runs.c.pipeline == pipeline)
    with catalog._read() as conn:
        return [row.run_id for row in conn.execute(stmt.order_by(pipeline_runs.c.run_id))]
