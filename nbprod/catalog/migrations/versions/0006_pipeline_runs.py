"""Pipelines: one row per run of a pipeline (its record and the lock its steps take), one
per pipeline (what the scheduler fires from), and the pipelines' fire ledger.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def text_key(length: int) -> sa.types.TypeEngine:
    """Written out, not imported from nbprod.catalog.schema: a migration keeps its shape."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("store", text_key(1024), primary_key=True),
        sa.Column("run_id", text_key(40), primary_key=True),
        sa.Column("pipeline", text_key(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", text_key(20), nullable=False),
        sa.Column("created_at", text_key(40), nullable=False),
        sa.Column("finished_at", text_key(40), nullable=True),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_pipeline_runs_store_pipeline_run_id",
        "pipeline_runs",
        ["store", "pipeline", "run_id"],
    )
    op.create_table(
        "pipelines",
        sa.Column("store", text_key(1024), primary_key=True),
        sa.Column("name", text_key(100), primary_key=True),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("schedule", sa.String(200), nullable=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("created_at", text_key(40), nullable=False),
        sa.Column("updated_at", text_key(40), nullable=False),
    )
    op.create_table(
        "pipeline_fires",
        sa.Column("store", text_key(1024), primary_key=True),
        sa.Column("pipeline", text_key(100), primary_key=True),
        sa.Column("scheduled_for", text_key(40), primary_key=True),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("run_id", text_key(40), nullable=True),
        sa.Column("scheduler", sa.String(200), nullable=False),
        sa.Column("fired_at", text_key(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_fires")
    op.drop_table("pipelines")
    op.drop_index("ix_pipeline_runs_store_pipeline_run_id", "pipeline_runs")
    op.drop_table("pipeline_runs")
