"""The run-change stream ``GET /nbprod/api/events`` (server-sent events) of a real Jupyter
server subprocess: authenticated like every route, a run pushed from queued to its end, a
catalog write from another process pushed within a fraction of a second, one watcher for
every client that stops when the last one leaves, and off when configured off."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from nbprod.config import Settings
from tests.lab.conftest import TOKEN, LabServer

EVENTS = "/nbprod/api/events"


class Stream:
    """An SSE client reading in a thread: (arrival time, event, data) on ``events``."""

    def __init__(self, server: LabServer, path: str = EVENTS, token: str | None = TOKEN):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        headers = {"Accept": "text/event-stream"}
        if token is not None:
            headers["Authorization"] = f"token {token}"
        self.conn.request("GET", path, headers=headers)
        self.sock = self.conn.sock  # the connection lets go of it when the response is read
        self.response = self.conn.getresponse()
        self.events: queue.Queue[tuple[float, str, Any]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        if self.response.status == 200:
            self.reader.start()

    def _read(self) -> None:
        event, data = "message", ""
        try:
            while True:
                line = self.response.readline()
                if not line:
                    return
                text = line.decode().rstrip("\r\n")
                if text.startswith("event:"):
                    event = text[6:].strip()
                elif text.startswith("data:"):
                    data += text[5:].strip()
                elif not text and data:
                    self.events.put((time.monotonic(), event, json.loads(data)))
                    event, data = "message", ""
        except (OSError, ValueError, AttributeError, http.client.HTTPException):  # closed
            return

    def next(self, timeout: float = 60) -> tuple[float, str, Any]:
        return self.events.get(timeout=timeout)

    def ready(self) -> None:
        assert self.next()[1] == "ready"

    def until(self, run_id: str, statuses: set[str], timeout: float = 120) -> list[dict]:
        """This run's events up to the first one with a status in ``statuses``."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            _, event, data = self.next(max(deadline - time.monotonic(), 0.1))
            if event == "run" and data["run_id"] == run_id:
                seen.append(data)
                if data["status"] in statuses:
                    return seen

    def close(self) -> None:
        # Shut the socket down first: closing the response waits for the reader thread's
        # readline, which would otherwise return only at the server's next keepalive (15 s).
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer(tmp_path_factory.mktemp("lab-events")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def quiet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """No embedded scheduler: what the test writes to the queue stays as written."""
    server = LabServer(
        tmp_path_factory.mktemp("lab-events-quiet"),
        extra_env={"NBPROD_EMBEDDED_SCHEDULER": "off"},
    ).start()
    yield server
    server.stop()


def test_the_stream_requires_the_token(lab_server: LabServer):
    for token in (None, "wrong-token"):
        stream = Stream(lab_server, token=token)
        assert stream.response.status == 403, token
        assert json.loads(stream.response.read())["status"] == 403
        stream.close()
    # The browser's EventSource sends no header: the token as a query argument works.
    stream = Stream(lab_server, f"{EVENTS}?token={TOKEN}", token=None)
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    stream.ready()
    stream.close()


def test_a_run_is_pushed_from_queued_to_succeeded(lab_server: LabServer):
    stream = Stream(lab_server)
    stream.ready()
    answer = lab_server.post("/nbprod/api/runs", {"path": "trivial.ipynb", "name": "pushed"})
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    seen = stream.until(run_id, {"succeeded", "failed", "lost", "kernel_died"})
    stream.close()
    statuses = [s["status"] for s in seen]
    assert statuses[-1] == "succeeded", seen
    assert statuses[0] in ("queued", "starting", "running"), seen
    assert all(s["job"] == "pushed" for s in seen)
    final = seen[-1]
    assert final["cells_total"] > 0 and final["cells_done"] == final["cells_total"]
    assert lab_server.get(f"/nbprod/api/runs/{run_id}").json()["status"] == "succeeded"


def _queue(server: LabServer, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str, Any]:
    from nbprod.catalog import open_catalog
    from nbprod.catalog.queue import Queue

    for name in ("NBPROD_HOME", "NBPROD_CONFIG"):
        monkeypatch.setenv(name, server.env[name])
    catalog = open_catalog(Settings.load())
    return Queue(catalog), lab_store(server), catalog


def lab_store(server: LabServer) -> str:
    return server.get("/nbprod/api/info").json()["store"]


def test_a_catalog_write_from_another_process_is_pushed_promptly(
    quiet_server: LabServer, monkeypatch: pytest.MonkeyPatch
):
    from nbprod.records import new_run_id

    q, store, catalog = _queue(quiet_server, monkeypatch)
    streams = [Stream(quiet_server), Stream(quiet_server)]
    for stream in streams:
        stream.ready()
    delays = []
    try:
        for _ in range(5):
            run_id = new_run_id()
            written = time.monotonic()
            q.enqueue(store, "written", datetime.now(timezone.utc), run_id=run_id)
            for stream in streams:  # both streams, from the one watcher
                arrived, event, data = stream.next(30)
                assert (event, data["run_id"], data["status"]) == ("run", run_id, "queued")
                delays.append(arrived - written)
            q.request_cancel(store, run_id, datetime.now(timezone.utc))
            for stream in streams:
                assert stream.next(30)[2]["status"] == "cancelled"
    finally:
        for stream in streams:
            stream.close()
        catalog.close()
    print(f"catalog commit -> event: median {statistics.median(delays) * 1000:.0f} ms")
    # Polled every 100 ms: about 50 ms on average; generous for a loaded 2-core machine.
    assert statistics.median(delays) < 0.5, delays


def live(server: LabServer) -> dict:
    return server.get("/nbprod/api/info").json()["live_events"]


def wait_for(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_one_watcher_for_every_client_stopping_with_the_last(quiet_server: LabServer):
    wait_for(lambda: live(quiet_server)["state"] == "idle")  # nobody watches: no polling
    first, second = Stream(quiet_server), Stream(quiet_server)
    first.ready()
    second.ready()
    assert live(quiet_server) == {"state": "watching", "clients": 2, "interval_s": 0.1}
    first.close()
    wait_for(lambda: live(quiet_server)["clients"] == 1)
    assert live(quiet_server)["state"] == "watching"
    second.close()
    wait_for(lambda: live(quiet_server) == {"state": "idle", "clients": 0, "interval_s": 0.1})


def test_live_events_off_answers_503(tmp_path):
    server = LabServer(
        tmp_path,
        extra_env={"NBPROD_LIVE_EVENTS": "off", "NBPROD_EMBEDDED_SCHEDULER": "off"},
    ).start()
    try:
        answer = server.get(EVENTS)
        assert answer.status_code == 503
        assert "NBPROD_LIVE_EVENTS=off" in answer.json()["message"]
        assert live(server) == {"state": "off"}
    finally:
        server.stop()


def test_a_connected_stream_ends_when_the_server_stops(tmp_path):
    server = LabServer(tmp_path, extra_env={"NBPROD_EMBEDDED_SCHEDULER": "off"}).start()
    stream = Stream(server)
    stream.ready()
    started = time.monotonic()
    server.stop()
    assert server.proc.returncode == 0
    assert time.monotonic() - started < 25  # not held open by the stream (SIGKILL at 30 s)
    stream.reader.join(10)
    assert not stream.reader.is_alive()  # the stream was ended, not left hanging
    stream.close()
