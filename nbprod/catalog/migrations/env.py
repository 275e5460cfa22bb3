"""Alembic environment for the catalog; run through nbprod.catalog.migrate.

The caller passes an open connection in ``config.attributes["connection"]`` (already inside
the transaction that holds the migration lock). Without one (the ``alembic`` command line),
``sqlalchemy.url`` from the config is used.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from nbprod.catalog.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_online()
