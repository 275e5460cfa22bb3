"""Bring a catalog database to the schema this code expects.

The fast path (every open) is one plain SELECT on ``alembic_version``; alembic itself (~0.2 s
of imports) is loaded only when that revision differs from HEAD_REVISION. Migrations run
under a lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock) so that processes
opening a fresh catalog at once do not race.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from nbprod.catalog.schema import HEAD_REVISION
from nbprod.errors import CatalogError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x6E6270726F64  # "nbprod"


def current_revision(conn: sa.Connection) -> str | None:
    """The database's revision; None for a database alembic never touched."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _quick_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.DBAPIError:
            return None  # no table yet (the connection is rolled back on close)


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """An alembic Config for the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def ensure_current(engine: sa.Engine, label: str) -> None:
    """Create or upgrade the schema when needed; raise CatalogError if the DB is newer."""
    if _quick_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.util import CommandError

    with engine.connect().execution_options(nbprod_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        revision = current_revision(conn)
        if revision == HEAD_REVISION:
            return  # another process migrated while we waited for the lock
        try:
            command.upgrade(alembic_config(conn), "head")
        except CommandError as exc:
            raise CatalogError(
                f"catalog {label} is at schema revision {revision!r}, which this nbprod does "
                f"not know (it expects {HEAD_REVISION!r}): upgrade nbprod, or point "
                "NBPROD_CATALOG at another database"
            ) from exc
