"""PostgreSQL specifics on a real server started for the session (Debian's ``postgresql``);
the behaviour suite in test_catalog_sqlite.py also runs against it. Plus what both backends
must survive: a fresh catalog opened by several processes at once, a newer schema."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from nbprod.catalog.db import Catalog
from nbprod.catalog.query import RunFilter
from nbprod.catalog.schema import HEAD_REVISION, metadata
from nbprod.errors import CatalogError
from tests.catalog.records_factory import make_record
from tests.conftest import REPO

TABLES = {"jobs", "job_versions", "runs", "run_values", "pipeline_runs", "pipelines"}
SCHEDULER_TABLES = {"fires", "pipeline_fires", "queue", "workers", "schedulers"}


def test_migrations_from_an_empty_postgres_database(postgres_server):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = postgres_server.create_database(f"empty_{uuid.uuid4().hex[:12]}")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    catalog = Catalog.open(url)
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == TABLES | SCHEDULER_TABLES | {
            "alembic_version"
        }
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert version == HEAD_REVISION
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        collations = dict(
            conn.execute(
                sa.text(
                    "SELECT column_name, collation_name FROM information_schema.columns "
                    "WHERE table_name = 'runs' AND column_name IN ('run_id', 'started_at')"
                )
            ).all()
        )
        assert collations == {"run_id": "C", "started_at": "C"}
        kinds = dict(
            conn.execute(
                sa.text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'runs' AND column_name IN ('record', 'tags')"
                )
            ).all()
        )
        assert kinds == {"record": "json", "tags": "json"}
    catalog.close()
    engine.dispose()


def test_text_order_is_byte_order_on_postgres(postgres_url: str):
    """Mixed case and punctuation sort the same as on SQLite (C collation)."""
    store = f"file:///stores/{uuid.uuid4().hex}"
    catalog = Catalog.open(postgres_url)
    for minutes, region in enumerate(["b", "B", "a-c", "ac", "_x"]):
        catalog.index_run(store, make_record(minutes, params={"region": region}))
    found = catalog.query_runs(store, RunFilter(params=[("region", "<", "a")]))
    assert sorted(r.parameters["region"] for r in found) == ["B", "_x"]
    catalog.close()


WORKER = """
import sys
from nbprod.catalog.db import Catalog
from tests.catalog.records_factory import make_record

url, store, worker = sys.argv[1], sys.argv[2], int(sys.argv[3])
catalog = Catalog.open(url)
for i in range(15):
    shared = make_record(i, params={"i": i, "worker": worker})
    shared.run_id = f"20261101T0800{i:02d}000Z-{0:08x}"
    own = make_record(i)
    own.run_id = f"20261101T0800{i:02d}000Z-{worker + 1:08x}"
    catalog.index_runs(store, [shared, own])
    catalog.count_runs(store)
catalog.close()
"""


def test_processes_share_a_fresh_catalog(fresh_catalog_url: str):
    """Four processes open a never-migrated catalog at once and index overlapping runs."""
    store = "file:///stores/shared"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, fresh_catalog_url, store, str(worker)],
            cwd=REPO,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(4)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, errors
    catalog = Catalog.open(fresh_catalog_url)
    assert catalog.count_runs(store) == 15 * 5
    dumped = catalog.dump(store)
    assert len([v for v in dumped["run_values"] if v["name"] == "worker"]) == 15
    catalog.close()


def test_a_newer_schema_is_a_clear_error(fresh_catalog_url: str):
    Catalog.open(fresh_catalog_url).close()
    engine = sa.create_engine(fresh_catalog_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(CatalogError, match="upgrade nbprod"):
        Catalog.open(fresh_catalog_url)
