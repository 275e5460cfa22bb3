"""The initial catalog: jobs, job_versions, runs, run_values.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written out in full rather than imported from nbprod.catalog.schema: a migration must keep
creating what it created when later revisions change the live schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _key(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("store", _key(1024), primary_key=True),
        sa.Column("name", _key(100), primary_key=True),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("schedule", sa.String(200), nullable=True),
        sa.Column("timezone", sa.String(100), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("notebook_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _key(40), nullable=False),
        sa.Column("updated_at", _key(40), nullable=False),
    )
    op.create_table(
        "job_versions",
        sa.Column("store", _key(1024), primary_key=True),
        sa.Column("job", _key(100), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", _key(40), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("notebook_sha256", sa.String(64), nullable=False),
        sa.Column("notebook_name", sa.String(200), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("store", _key(1024), primary_key=True),
        sa.Column("run_id", _key(40), primary_key=True),
        sa.Column("job", _key(100), nullable=False),
        sa.Column("status", _key(20), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("job_version", sa.Integer, nullable=True),
        sa.Column("rerun_of", _key(40), nullable=True),
        sa.Column("started_at", _key(40), nullable=True),
        sa.Column("finished_at", _key(40), nullable=True),
        sa.Column("duration_s", sa.Float, nullable=True),
        sa.Column("error_text", sa.Text, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_index("ix_runs_store_job_run_id", "runs", ["store", "job", "run_id"])
    op.create_index("ix_runs_store_status_run_id", "runs", ["store", "status", "run_id"])
    op.create_table(
        "run_values",
        sa.Column("store", _key(1024), primary_key=True),
        sa.Column("run_id", _key(40), primary_key=True),
        sa.Column("kind", _key(10), primary_key=True),
        sa.Column("name", _key(200), primary_key=True),
        sa.Column("value_text", _key(256), nullable=False),
        sa.Column("value_num", sa.Float, nullable=True),
    )
    op.create_index("ix_run_values_lookup", "run_values", ["store", "kind", "name", "value_text"])


def downgrade() -> None:
    op.drop_table("run_values")
    op.drop_table("runs")
    op.drop_table("job_versions")
    op.drop_table("jobs")
