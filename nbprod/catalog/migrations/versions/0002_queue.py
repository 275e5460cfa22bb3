"""The scheduler's tables: fires (exactly once per scheduled time), queue, workers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _key(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fires",
        sa.Column("store", _key(1024), primary_key=True),
        sa.Column("job", _key(100), primary_key=True),
        sa.Column("scheduled_for", _key(40), primary_key=True),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("run_id", _key(40), nullable=True),
        sa.Column("scheduler", sa.String(200), nullable=False),
        sa.Column("fired_at", _key(40), nullable=False),
    )
    op.create_table(
        "queue",
        sa.Column("store", _key(1024), primary_key=True),
        sa.Column("run_id", _key(40), primary_key=True),
        sa.Column("job", _key(100), nullable=False),
        sa.Column("state", _key(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("logical_run_id", _key(40), nullable=False),
        sa.Column("scheduled_for", _key(40), nullable=True),
        sa.Column("available_at", _key(40), nullable=False),
        sa.Column("enqueued_at", _key(40), nullable=False),
        sa.Column("started_at", _key(40), nullable=True),
        sa.Column("finished_at", _key(40), nullable=True),
        sa.Column("heartbeat_at", _key(40), nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("final_status", sa.String(20), nullable=True),
        sa.Column("request", sa.JSON, nullable=False),
    )
    op.create_index("ix_queue_state_available", "queue", ["state", "available_at"])
    op.create_index("ix_queue_store_job_state", "queue", ["store", "job", "state"])
    op.create_table(
        "workers",
        sa.Column("worker", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", _key(40), nullable=False),
        sa.Column("heartbeat_at", _key(40), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("run_id", _key(40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_index("ix_queue_store_job_state", "queue")
    op.drop_index("ix_queue_state_available", "queue")
    op.drop_table("queue")
    op.drop_table("fires")
