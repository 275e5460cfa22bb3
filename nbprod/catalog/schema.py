"""The catalog tables, as SQLAlchemy Core (the ORM costs ~40 ms of import on CLI paths).

Every table carries the store URL: one catalog may index several stores. Text columns that
are sorted or range-compared use byte order ("C" collation) on PostgreSQL, so results match
SQLite's and run ids / ISO timestamps sort as plain text.
"""

from __future__ import annotations

import sqlalchemy as sa

HEAD_REVISION = "0006"
"""The alembic revision this code expects; checked on open without importing alembic."""


def text_key(length: int | None = None) -> sa.types.TypeEngine:
    """A string compared byte-wise on every backend."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


VALUE_TEXT_MAX = 256
"""run_values.value_text keeps this many characters: it is for filtering, and a btree
entry must stay small (PostgreSQL rejects index rows over ~2.7 kB)."""
NAME_MAX = 200
"""Longer parameter/scrap/tag names are not indexed (still in the run record)."""

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("name", text_key(100), primary_key=True),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("schedule", sa.String(200), nullable=True),
    sa.Column("timezone", sa.String(100), nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("notebook_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", text_key(40), nullable=False),
    sa.Column("updated_at", text_key(40), nullable=False),
)

job_versions = sa.Table(
    "job_versions",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("job", text_key(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", text_key(40), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("notebook_sha256", sa.String(64), nullable=False),
    sa.Column("notebook_name", sa.String(200), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("run_id", text_key(40), primary_key=True),
    sa.Column("job", text_key(100), nullable=False),
    sa.Column("status", text_key(20), nullable=False),
    sa.Column("trigger", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("job_version", sa.Integer, nullable=True),
    sa.Column("rerun_of", text_key(40), nullable=True),
    sa.Column("started_at", text_key(40), nullable=True),
    sa.Column("finished_at", text_key(40), nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("error_text", sa.Text, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Index("ix_runs_store_job_run_id", "store", "job", "run_id"),
    sa.Index("ix_runs_store_status_run_id", "store", "status", "run_id"),
)

run_values = sa.Table(
    "run_values",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("run_id", text_key(40), primary_key=True),
    sa.Column("kind", text_key(10), primary_key=True),
    sa.Column("name", text_key(NAME_MAX), primary_key=True),
    sa.Column("value_text", text_key(VALUE_TEXT_MAX), nullable=False),
    sa.Column("value_num", sa.Float, nullable=True),
    sa.Index("ix_run_values_lookup", "store", "kind", "name", "value_text"),
)
"""Flattened parameters, scraps and tags: portable filtering without JSON operators.

kind is ``param``, ``scrap`` or ``tag``; value_text is the string itself or its JSON
(sorted keys); value_num is set for ints and floats (not bools), for numeric comparisons.
"""

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("run_id", text_key(40), primary_key=True),
    sa.Column("pipeline", text_key(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", text_key(20), nullable=False),
    sa.Column("created_at", text_key(40), nullable=False),
    sa.Column("finished_at", text_key(40), nullable=True),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Index("ix_pipeline_runs_store_pipeline_run_id", "store", "pipeline", "run_id"),
)
"""One row per pipeline run: the record as in the store (``PipelineRun.to_dict()``). The
row is also the lock a step's end takes to advance its pipeline run."""

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("name", text_key(100), primary_key=True),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("schedule", sa.String(200), nullable=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("created_at", text_key(40), nullable=False),
    sa.Column("updated_at", text_key(40), nullable=False),
)
"""One row per pipeline: its latest version's definition and its pause state (from the
store's version files and ``state.json``), what the scheduler fires from."""

TABLES = (jobs, job_versions, runs, run_values, pipeline_runs, pipelines)
"""The index: everything here is derived from the store (rebuild recreates it)."""

fires = sa.Table(
    "fires",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("job", text_key(100), primary_key=True),
    sa.Column("scheduled_for", text_key(40), primary_key=True),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Column("run_id", text_key(40), nullable=True),
    sa.Column("scheduler", sa.String(200), nullable=False),
    sa.Column("fired_at", text_key(40), nullable=False),
)
"""One row per (job, scheduled time): the primary key is what makes a fire happen once,
however many schedulers share the catalog."""

pipeline_fires = sa.Table(
    "pipeline_fires",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("pipeline", text_key(100), primary_key=True),
    sa.Column("scheduled_for", text_key(40), primary_key=True),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Column("run_id", text_key(40), nullable=True),
    sa.Column("scheduler", sa.String(200), nullable=False),
    sa.Column("fired_at", text_key(40), nullable=False),
)
"""``fires`` for pipelines: one row per (pipeline, scheduled time), the pipeline run it
started inserted in the same transaction."""

queue = sa.Table(
    "queue",
    metadata,
    sa.Column("store", text_key(1024), primary_key=True),
    sa.Column("run_id", text_key(40), primary_key=True),
    sa.Column("job", text_key(100), nullable=False),
    sa.Column("state", text_key(20), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("logical_run_id", text_key(40), nullable=False),
    sa.Column("scheduled_for", text_key(40), nullable=True),
    sa.Column("available_at", text_key(40), nullable=False),
    sa.Column("enqueued_at", text_key(40), nullable=False),
    sa.Column("started_at", text_key(40), nullable=True),
    sa.Column("finished_at", text_key(40), nullable=True),
    sa.Column("heartbeat_at", text_key(40), nullable=True),
    sa.Column("worker", sa.String(200), nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Column("final_status", sa.String(20), nullable=True),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("claim", sa.String(40), nullable=True),
    sa.Column("progress_at", text_key(40), nullable=True),
    sa.Column("cells_done", sa.Integer, nullable=True),
    sa.Column("cells_total", sa.Integer, nullable=True),
    sa.Column("waiting_reason", sa.String(200), nullable=True),
    sa.Index("ix_queue_state_available", "state", "available_at"),
    sa.Index("ix_queue_store_job_state", "store", "job", "state"),
)
"""Runs waiting for or held by a worker. Operational state, not part of the index: the
store cannot recreate it, and rebuild leaves it alone.

``claim`` is the fencing token of the worker holding the row (a new one per claim; cleared
when a reaper takes the row over): heartbeats and the end of a run are conditional on it.
``progress_at``/``cells_done``/``cells_total`` are what the worker's heartbeat last said
about the run's progress (for `nbprod status` to flag a run that makes none).
``waiting_reason`` is an executor's note on a queued run it cannot place (no Dask worker
has the resources the run needs)."""

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("worker", sa.String(200), primary_key=True),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", text_key(40), nullable=False),
    sa.Column("heartbeat_at", text_key(40), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("run_id", text_key(40), nullable=True),
)

schedulers = sa.Table(
    "schedulers",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("store", text_key(1024), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", text_key(40), nullable=False),
    sa.Column("heartbeat_at", text_key(40), nullable=False),
)
"""One row per scheduler process: ``external`` (``nbprod scheduler``) or ``embedded`` (inside
a Jupyter server), with a heartbeat. An embedded scheduler fires only while no external one
is alive on its store (and only the oldest live embedded one does)."""
