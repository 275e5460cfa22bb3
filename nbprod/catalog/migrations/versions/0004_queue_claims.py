"""Queue claims and progress: fencing tokens for workers, and when a run last progressed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _key(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("queue") as batch:
        batch.add_column(sa.Column("claim", sa.String(40), nullable=True))
        batch.add_column(sa.Column("progress_at", _key(40), nullable=True))
        batch.add_column(sa.Column("cells_done", sa.Integer, nullable=True))
        batch.add_column(sa.Column("cells_total", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue") as batch:
        for name in ("cells_total", "cells_done", "progress_at", "claim"):
            batch.drop_column(name)
