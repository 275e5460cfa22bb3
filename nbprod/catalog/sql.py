"""What every catalog module shares: connections whose errors become CatalogError, and
portable upserts.

One mapping for all: a database failure (connection lost, disk full, read-only file,
locked) reaches callers as ``CatalogError`` naming the catalog, with the driver's
exception as its cause, whether it came from the runs index, the jobs, the queue or the
leases; ``transient`` tells a worker which of them are worth waiting out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from nbprod.errors import CatalogError

CHUNK = 500
"""Rows per IN (...) list / insert batch: well under every backend's parameter limit."""


def reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's first line (no SQL, no parameters: they may be long or private)."""
    text = str(exc.orig or exc).strip()
    return text.splitlines()[0] if text else type(exc.orig or exc).__name__


@contextmanager
def reading(engine: sa.Engine, label: str) -> Iterator[sa.Connection]:
    """A connection for reads; database errors raise CatalogError."""
    try:
        with engine.connect() as conn:
            yield conn
    except sa.exc.DBAPIError as exc:
        raise CatalogError(f"catalog {label}: {reason(exc)}") from exc


@contextmanager
def writing(engine: sa.Engine, label: str) -> Iterator[sa.Connection]:
    """One write transaction (SQLite: BEGIN IMMEDIATE); database errors raise CatalogError."""
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(nbprod_write=True)
            with conn.begin():
                yield conn
    except sa.exc.DBAPIError as exc:
        raise CatalogError(f"catalog {label}: {reason(exc)}") from exc


def transient(exc: BaseException) -> bool:
    """A connection or availability failure (worth retrying), not a bad statement."""
    if isinstance(exc, CatalogError):
        exc = exc.__cause__ or exc
        if isinstance(exc, CatalogError):
            return True
    if isinstance(exc, sa.exc.IntegrityError | sa.exc.ProgrammingError):
        return False
    return isinstance(exc, sa.exc.DBAPIError | sa.exc.TimeoutError)


class Connected:
    """Connections of one catalog; calls made inside ``transaction`` share its connection."""

    def __init__(self, engine: sa.Engine, label: str) -> None:
        self.engine = engine
        self.url = label
        """The URL with any password hidden, for messages."""
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction for every catalog call made inside it (on this thread).

        Callers change the store inside it: if that fails, the catalog rolls back too.
        Nested uses join the outer transaction.
        """
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._write() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        outer = getattr(self._local, "conn", None)
        if outer is not None:
            yield outer
            return
        with writing(self.engine, self.url) as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        outer = getattr(self._local, "conn", None)
        if outer is not None:
            yield outer
            return
        with reading(self.engine, self.url) as conn:
            yield conn


def safe_text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters."""
    return value.replace("\x00", "\ufffd") if value else value


def upsert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, replacing any with the same primary key."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    insert = _dialect_insert(conn)
    if insert is None:  # other backends: portable, if not race-free
        for row in rows:
            conn.execute(table.delete().where(*(table.c[k] == row[k] for k in keys)))
        conn.execute(table.insert(), rows)
        return
    stmt = insert(table)
    update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)


def claim_row(conn: sa.Connection, table: sa.Table, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its primary key is taken; whether this call inserted it. The
    claim a fire ledger makes: whoever inserts the key does the work, once."""
    key = [column == row[column.name] for column in table.primary_key.columns]
    if conn.execute(sa.select(*table.primary_key.columns).where(*key)).first() is not None:
        return False
    try:
        conn.execute(table.insert().values(**row))
    except sa.exc.IntegrityError:
        return False  # PostgreSQL: a concurrent transaction inserted it first
    return True


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose primary key is not there yet; leave existing ones alone."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    insert = _dialect_insert(conn)
    if insert is None:
        for row in rows:
            present = conn.execute(
                sa.select(sa.literal(1)).where(*(table.c[k] == row[k] for k in keys))
            ).first()
            if present is None:
                conn.execute(table.insert(), [row])
        return
    conn.execute(insert(table).on_conflict_do_nothing(index_elements=keys), rows)


def _dialect_insert(conn: sa.Connection) -> Any:
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        return insert
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    return None
