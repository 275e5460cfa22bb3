"""Scheduler leases: which schedulers are alive on a catalog (embedded ones defer to them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _key(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "schedulers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("store", _key(1024), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", _key(40), nullable=False),
        sa.Column("heartbeat_at", _key(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedulers")
