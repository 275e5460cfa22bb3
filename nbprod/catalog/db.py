"""The catalog: a SQL index of one or more stores' jobs and runs.

Only an index: every row is derived from files in a store (run.json, job version files,
state.json), so ``nbprod.catalog.sync.rebuild`` can recreate it exactly. Writes are
upserts, so indexing the same record twice, or from two processes, is harmless.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nbprod.catalog import schema
from nbprod.catalog.engine import create_engine
from nbprod.catalog.jobs import JobIndex
from nbprod.catalog.runs import RunIndex
from nbprod.catalog.sql import reason
from nbprod.errors import CatalogError


class Catalog(RunIndex, JobIndex):
    """The index of one or more stores' runs and jobs in one database."""

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> Catalog:
        """Connect, creating or migrating the schema when needed."""
        engine, label = create_engine(url)
        try:
            with engine.connect():
                pass
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            raise CatalogError(f"cannot open catalog {label}: {reason(exc)}") from None
        from nbprod.catalog.migrate import ensure_current

        try:
            ensure_current(engine, label)
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            raise CatalogError(f"cannot migrate catalog {label}: {reason(exc)}") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, label)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- whole store ----------------------------------------------------------------------

    def clear(self, store: str) -> None:
        """Forget everything indexed for one store (other stores are untouched)."""
        with self._write() as conn:
            for table in schema.TABLES:
                conn.execute(table.delete().where(table.c.store == store))

    def dump(self, store: str) -> dict[str, list[dict[str, Any]]]:
        """Every row of the store in every table, in primary-key order (JSON-able)."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self._read() as conn:
            for table in schema.TABLES:
                stmt = (
                    sa.select(table)
                    .where(table.c.store == store)
                    .order_by(*table.primary_key.columns)
                )
                out[table.name] = [dict(row) for row in conn.execute(stmt).mappings()]
        return out
