"""The scheduler embedded in the Jupyter server: it fires schedules when nothing else runs,
stands by while an external `nbprod scheduler` is alive on the same store, takes over again
when that one stops, and every scheduled time runs exactly once throughout."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nbprod.catalog.lease import EMBEDDED, EXTERNAL, Lease, should_fire
from tests.conftest import _die_with_parent, nbprod_command
from tests.lab.conftest import LabServer

API = "/nbprod/api"


def lease(name: str, kind: str, started: str, state: str = "active") -> Lease:
    return Lease(name, "file:///s", kind, state, "h", 1, started, started)


def test_should_fire_rules():
    me = "h:1:embedded"
    assert should_fire([], me)[0]
    assert should_fire([lease(me, EMBEDDED, "2026-01-01T00:00:00Z")], me)[0]
    fire, why = should_fire(
        [lease(me, EMBEDDED, "2026-01-01T00:00:00Z"), lease("x:2", EXTERNAL, "2026-01-02")], me
    )
    assert not fire and "external scheduler x:2" in why
    older = lease("h:0:embedded", EMBEDDED, "2025-12-31T00:00:00Z")
    fire, why = should_fire([older, lease(me, EMBEDDED, "2026-01-01T00:00:00Z")], me)
    assert not fire and "started first" in why


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def queue_rows(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "catalog.db") as db:
        return db.execute(
            "SELECT run_id, scheduled_for, state FROM queue WHERE job = 'ticker'"
        ).fetchall()


@pytest.fixture
def server(tmp_path: Path):
    lab = LabServer(tmp_path).start()
    yield lab
    lab.stop()


def test_embedded_fires_then_defers_to_an_external_scheduler(server: LabServer):
    state = lambda: server.get(f"{API}/info").json()["embedded_scheduler"]["state"]  # noqa: E731
    wait_for(lambda: state() == "active", 20, "the embedded scheduler to be active")
    created = server.post(
        f"{API}/jobs",
        {"name": "ticker", "path": "trivial.ipynb", "schedule": "* * * * * */3"},
    )
    assert created.status_code == 201, created.text
    wait_for(lambda: [r for r in queue_rows(server.home) if r[2] == "done"], 40, "a scheduled run")

    external = subprocess.Popen(
        [*nbprod_command(), "scheduler", "--workers", "1", "--tick", "0.5"],
        env=server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    try:
        wait_for(lambda: state() == "standby", 20, "the embedded scheduler to stand by")
        reason = server.get(f"{API}/info").json()["embedded_scheduler"]["reason"]
        assert "external scheduler" in reason
        seen = len(queue_rows(server.home))
        wait_for(lambda: len(queue_rows(server.home)) >= seen + 2, 30, "external fires")
    finally:
        external.terminate()
        external.wait(60)
    wait_for(lambda: state() == "active", 20, "the embedded scheduler to take over again")
    seen = len(queue_rows(server.home))
    wait_for(lambda: len(queue_rows(server.home)) >= seen + 1, 30, "embedded fires again")
    assert server.post(f"{API}/jobs/ticker/pause").status_code == 200

    rows = queue_rows(server.home)
    times = Counter(r[1] for r in rows)
    assert times and max(times.values()) == 1, times  # one run per scheduled time
    for stamp in times:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert moment.tzinfo is not None and moment.second % 3 == 0
    assert all(r[1] <= datetime.now(timezone.utc).isoformat() for r in rows)
