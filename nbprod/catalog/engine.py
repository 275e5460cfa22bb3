"""Opening a catalog database: URL checks, driver options, SQLite's multi-process setup."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from nbprod.errors import BadInput, CatalogError, brief


def check_url(text: str, where: str) -> str:
    """``text`` if it is a URL SQLAlchemy parses, with a dialect it knows; else BadInput
    starting with ``where`` (no connection is made: a settings check)."""
    hint = "use a SQLAlchemy URL such as sqlite:////path/catalog.db or postgresql://host/db"
    try:
        url = sa.engine.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise BadInput(f"{where}: invalid catalog URL {brief(text)}: {hint}") from None
    try:
        url.get_dialect()
    except sa.exc.NoSuchModuleError:
        label = url.render_as_string(hide_password=True)
        raise BadInput(f"{where}: unknown database dialect in {brief(label)}") from None
    return text


def create_engine(url: str) -> tuple[sa.Engine, str]:
    """An engine for ``url`` and the URL with its password hidden (for messages).

    BadInput for a URL that is not one or names a driver that is not installed.
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise BadInput(
            f"invalid catalog URL {url!r}: use a SQLAlchemy URL such as "
            "sqlite:////path/catalog.db or postgresql+psycopg2://user@host/dbname"
        ) from None
    label = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": 10}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not parsed.database.startswith("file:"):
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CatalogError(f"cannot create {folder} for catalog {label}: {exc}") from None
    try:
        engine = sa.create_engine(parsed, json_serializer=json_dumps, **kwargs)
    except sa.exc.NoSuchModuleError:
        raise BadInput(f"unsupported catalog URL {label!r}: unknown database dialect") from None
    except ImportError as exc:
        raise BadInput(
            f"catalog URL {label!r} needs a database driver that is not installed ({exc.name})"
        ) from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine, label


BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for another process's lock


def _configure_sqlite(engine: sa.Engine) -> None:
    """WAL + busy timeout: several processes (CLI, scheduler, server) share one file.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's begin emits
    the BEGIN: deferred for readers, IMMEDIATE for writers (a deferred writer that meets a
    concurrent commit fails at once instead of waiting for the busy timeout).
    """

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        use_wal(cursor, BUSY_TIMEOUT)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("nbprod_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def use_wal(cursor: sqlite3.Cursor, timeout: float) -> None:
    """Put the database in WAL mode, retrying for up to ``timeout`` seconds when locked.

    Switching a fresh (rollback-journal) file to WAL needs its exclusive lock. When several
    processes open a new catalog at once, each holds a shared lock while it asks for the
    exclusive one; SQLite sees a deadlock and answers "database is locked" at once, without
    calling the busy handler, so the busy timeout does not help here. The mode is checked
    first because it is stored in the file: once one process has switched, the others have
    nothing to do.
    """
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def json_dumps(value: Any) -> str:
    """JSON every backend accepts: NaN and infinities (valid in Python's JSON, e.g. a YAML
    ``.nan`` parameter, rejected by PostgreSQL) become null in the index."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
