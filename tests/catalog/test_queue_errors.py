"""The queue's and leases' database failures reach callers as CatalogError, as the catalog's do.

Real failures: a SQLite file on a filesystem remounted read-only, a PostgreSQL server
stopped under an open queue, a duplicate run id. A worker waits out only the transient ones.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from nbprod.catalog import lease
from nbprod.catalog.db import Catalog
from nbprod.catalog.queue import Queue
from nbprod.catalog.sql import transient
from nbprod.errors import CatalogError

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
STORE = "file:///stores/errors"


def _writes(catalog: Catalog) -> dict[str, Callable[[], Any]]:
    """One call of every kind of queue and lease write, on a queue with one claimed run."""
    queue = Queue(catalog)
    return {
        "enqueue": lambda: queue.enqueue(STORE, "job", NOW, run_id="r-new"),
        "record_fire": lambda: queue.record_fire(
            STORE,
            "job",
            NOW,
            decision="queued",
            scheduler="s",
            now=NOW,
            enqueue={"run_id": "r-fired"},
        ),
        "claim": lambda: queue.claim("w:1", NOW, {}),
        "heartbeat": lambda: queue.heartbeat(STORE, "r-held", "token", NOW),
        "finish": lambda: queue.finish(STORE, "r-held", "token", "succeeded", NOW),
        "request_cancel": lambda: queue.request_cancel(STORE, "r-held", NOW),
        "worker_beat": lambda: queue.worker_beat("w:1", NOW, "idle", None),
        "lease_beat": lambda: lease.beat(catalog.engine, "s:1", STORE, "external", "active", NOW),
        "get": lambda: queue.get(STORE, "r-held"),
        "lease_alive": lambda: lease.alive(catalog.engine, STORE, NOW, 60),
    }


def _assert_all_catalog_errors(catalog: Catalog, label: str) -> None:
    for name, call in _writes(catalog).items():
        with pytest.raises(CatalogError) as caught:
            call()
        assert str(caught.value).startswith(f"catalog {label}: "), (name, caught.value)
        assert transient(caught.value), name  # a worker waits such an outage out


@pytest.fixture
def readonly_mount(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_queue_writes_on_a_read_only_sqlite_file_raise_catalog_error(readonly_mount: Path):
    url = f"sqlite:///{readonly_mount / 'catalog.db'}"
    catalog = Catalog.open(url)
    Queue(catalog).enqueue(STORE, "job", NOW, run_id="r-held")
    catalog.engine.dispose()  # no file open for writing: the remount is allowed
    subprocess.run(["mount", "-o", "remount,ro", str(readonly_mount)], check=True)
    try:
        _assert_all_catalog_errors(catalog, url)
    finally:
        catalog.close()


@pytest.fixture
def own_postgres() -> Iterator[Any]:
    """A PostgreSQL server of this test alone: it is stopped under the queue."""
    from tests.catalog.conftest import PostgresServer, _postgres_bindir

    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


def test_queue_writes_on_a_stopped_postgres_raise_catalog_error(own_postgres: Any):
    url = own_postgres.create_database("queue_errors")
    catalog = Catalog.open(url)
    queue = Queue(catalog)
    queue.enqueue(STORE, "job", NOW, run_id="r-held")
    assert queue.get(STORE, "r-held") is not None  # the pool holds a live connection
    own_postgres.halt()  # a real stop: every connection is cut
    try:
        _assert_all_catalog_errors(catalog, catalog.url)
    finally:
        catalog.close()


def test_a_duplicate_run_id_is_a_catalog_error_not_worth_retrying(catalog: Catalog, store_url):
    queue = Queue(catalog)
    queue.enqueue(store_url, "job", NOW, run_id="r-twice")
    with pytest.raises(CatalogError, match=re.escape(f"catalog {catalog.url}: ")) as caught:
        queue.enqueue(store_url, "job", NOW, run_id="r-twice")
    assert not transient(caught.value)  # a bad statement: retrying cannot help
    assert [i.run_id for i in queue.items(("queued",)) if i.store == store_url] == ["r-twice"]
