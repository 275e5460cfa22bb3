"""Catalog fixtures: a real PostgreSQL server for the session, catalogs on both backends."""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, wait_for_port

BACKENDS = ["sqlite", "postgresql"]


class PostgresServer:
    """``postgres`` from Debian's package, in a throw-away data folder, on 127.0.0.1.

    The server refuses to run as root, so under root it runs as the ``postgres`` user.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="nbprod-pg-"))  # not under pytest's 0700 tmp
        self.data = self.base / "data"
        self.proc: subprocess.Popen | None = None
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root needs a 'postgres' user") from None
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def _demote(self, die_with_parent: bool) -> Callable[[], None]:
        user = self.user

        def preexec() -> None:
            if user is not None:
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
            if die_with_parent:
                # After setuid: changing credentials clears the parent-death signal.
                ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)

        return preexec

    def start(self) -> PostgresServer:
        init = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]
        done = subprocess.run(
            init, capture_output=True, text=True, preexec_fn=self._demote(False), timeout=120
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        return self._launch()

    def halt(self) -> None:
        """Stop the server for real (a fast shutdown: clients are cut off), keeping its
        data for :meth:`restart` — a catalog outage."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)

    def restart(self) -> PostgresServer:
        """Start a halted server again, on the same port and data."""
        return self._launch()

    def _launch(self) -> PostgresServer:
        self.proc = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.data),
                "-F",  # no fsync: a test server
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.base / "server.log", "ab"),  # noqa: SIM115
            preexec_fn=self._demote(True),
        )
        try:
            wait_for_port(self.port, timeout=30)
            self._wait_ready(timeout=60)
        except RuntimeError:
            log = (self.base / "server.log").read_text(errors="replace")
            self.stop()
            raise RuntimeError(f"postgres did not start:\n{log}") from None
        return self

    def _wait_ready(self, timeout: float) -> None:
        """The port opens before the server accepts connections ("starting up" while it
        replays its log): wait for ``pg_isready``, as clients would otherwise fail."""
        deadline = time.monotonic() + timeout
        ready = [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"]
        while subprocess.run(ready, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("postgres did not accept connections")
            time.sleep(0.2)

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.base, ignore_errors=True)


def _postgres_bindir() -> Path | None:
    """``$NBPROD_POSTGRES_BIN`` if set, else the newest Debian install."""
    if os.environ.get("NBPROD_POSTGRES_BIN"):
        bindir = Path(os.environ["NBPROD_POSTGRES_BIN"])
        return bindir if (bindir / "postgres").is_file() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _postgres_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL server binaries not found in $NBPROD_POSTGRES_BIN or "
            "/usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
        if os.environ.get("NBPROD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"NBPROD_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """One database shared by the session's tests; each test uses its own store key."""
    return postgres_server.create_database("nbprod")


@pytest.fixture(params=BACKENDS)
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store_url() -> str:
    """A store URL unique to the test: catalogs on a shared database stay independent."""
    return f"file:///stores/{uuid.uuid4().hex}"


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Any]:
    from nbprod.catalog.db import Catalog

    opened = Catalog.open(catalog_url)
    yield opened
    opened.close()


@pytest.fixture(params=BACKENDS)
def fresh_catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database nobody has opened yet (PostgreSQL: a new database per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh' / 'catalog.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"fresh_{uuid.uuid4().hex[:12]}")
