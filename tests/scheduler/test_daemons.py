"""The scheduler and workers as real processes: real signals, real kernels, one catalog.

Every daemon is the installed ``nbprod`` console script in a subprocess; results are read
back through the CLI (``runs list --json``, ``status --json``, called in the test's process:
they start no kernel), the run records in the store and the catalog's ``fires`` / ``queue``
tables.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nbformat
import sqlalchemy as sa
import yaml

from nbprod.catalog.schema import fires, queue, workers
from tests.conftest import _die_with_parent, free_port, invoke_inproc, nbprod_command

# -- helpers ---------------------------------------------------------------------------

FAST = {
    "NBPROD_HEARTBEAT_SECONDS": "0.5",
    "NBPROD_AUTOSAVE_SECONDS": "0.5",
    "NBPROD_LOST_AFTER": "3",
    "NBPROD_KILL_GRACE": "1",
    "NBPROD_SHUTDOWN_GRACE": "10",
}


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def every_2s(moments: list[datetime]) -> bool:
    """Sorted fire times form a contiguous 2 s grid: no gap, no duplicate."""
    return all(y - x == timedelta(seconds=2) for x, y in zip(moments, moments[1:], strict=False))


def pid_alive(pid: int) -> bool:
    """Running and not a zombie (an orphan's zombie may linger if PID 1 does not reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Daemon:
    """One `nbprod ...` process in its own session, output captured to a file."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.args = args
        self.log_path = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [*nbprod_command(), *args],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"nbprod {' '.join(self.args)} still running after {timeout}s:\n{self.log()}"
            ) from None

    def stop(self) -> None:
        """Cleanup: SIGINT, then kill the whole session."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)


class Env:
    """One test's nbprod world: home, CLI, daemons, catalog reads; cleans up after itself."""

    def __init__(self, base: dict[str, str], tmp_path: Path, make_notebook: Callable) -> None:
        self.tmp = tmp_path
        self.env = {**base, **FAST}
        self.home = Path(base["NBPROD_HOME"])
        self.store = self.home / "store"
        self.make_notebook = make_notebook
        self.daemons: list[Daemon] = []
        self.engine: sa.Engine | None = None

    # processes

    def cli(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*nbprod_command(), *args],
            env={**self.env, **env},
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *args: str, timeout: float = 60) -> str:
        """A command that starts no kernel (jobs apply/run --queue, runs list/cancel/delete,
        status, sweeps show), run in this process: the tests poll these, and a console script
        costs ~1 s of CPU per call. `cli` keeps the real process for the rest."""
        done = invoke_inproc(args, env=self.env, cwd=self.tmp, timeout=timeout)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def start(self, *args: str, **env: str) -> Daemon:
        log = self.tmp / f"daemon-{len(self.daemons)}-{args[0]}.log"
        daemon = Daemon(list(args), {**self.env, **env}, self.tmp, log)
        self.daemons.append(daemon)
        return daemon

    def cleanup(self) -> None:
        for daemon in self.daemons:
            daemon.stop()
        # Orphans of this test (workers of a SIGKILLed scheduler, kernels of a SIGKILLed
        # worker) carry this test's NBPROD_HOME in their environment.
        marker = f"NBPROD_HOME={self.home}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in environ:
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self.engine is not None:
            self.engine.dispose()

    # jobs

    def job(self, name: str, *cells: str, **fields: Any) -> str:
        notebook = self.make_notebook(*cells, name=f"{name}.ipynb")
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"name": name, "notebook": str(notebook), **fields}))
        self.ok("jobs", "apply", str(path))
        return name

    def enqueue(self, job: str) -> str:
        out = self.ok("jobs", "run", job, "--queue", "--json")
        return json.loads(out)["run_id"]

    # results

    def runs(self, job: str | None = None) -> list[dict[str, Any]]:
        args = ["runs", "list", "--json", "-n", "0"] + (["--job", job] if job else [])
        return json.loads(self.ok(*args))

    def status(self) -> dict[str, Any]:
        return json.loads(self.ok("status", "--json"))

    def record(self, job: str, run_id: str) -> dict[str, Any] | None:
        path = self.store / job / run_id / "run.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def final_record(self, job: str, run_id: str, timeout: float) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            record = self.record(job, run_id)
            return record if record and record["status"] != "running" else None

        return wait_until(ended, timeout, f"run {run_id} to end")

    def output(self, record: dict[str, Any]) -> nbformat.NotebookNode:
        path = self.store / record["artifacts"]["output"]
        assert path.is_file(), f"no stored output for {record['run_id']}"
        return nbformat.read(str(path), as_version=4)

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        if self.engine is None:
            self.engine = sa.create_engine(f"sqlite:///{self.home / 'catalog.db'}")
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(table).where(*where))
            return [dict(r._mapping) for r in result]

    def wait_partial(self, run_id: str, name: str, text: str, timeout: float = 30) -> None:
        """Until the run's autosaved partial output (in the spool) shows ``text`` printed."""
        partial = self.home / "spool" / run_id / name

        def shows() -> bool:
            try:
                return text in outputs_text(nbformat.read(str(partial), as_version=4))
            except Exception:  # not written yet, or caught mid-write
                return False

        wait_until(shows, timeout, f"{text!r} in the partial output of {run_id}")

    def queue_row(self, run_id: str) -> dict[str, Any] | None:
        found = self.rows(queue, queue.c.run_id == run_id)
        return found[0] if found else None

    def running_row(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        def running() -> dict[str, Any] | None:
            row = self.queue_row(run_id)
            return row if row and row["state"] == "running" else None

        return wait_until(running, timeout, f"run {run_id} to be claimed")

    def finished_row(self, run_id: str, timeout: float = 10) -> dict[str, Any]:
        """The queue row once it is final: a worker publishes run.json before it finishes
        the row (the ``finishing`` state between), so a live worker's row lags the record."""

        def final() -> dict[str, Any] | None:
            row = self.queue_row(run_id)
            return row if row and row["final_status"] else None

        return wait_until(final, timeout, f"the queue row of {run_id} to be final")


def outputs_text(nb: nbformat.NotebookNode) -> str:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") if isinstance(out.get("text"), str) else "")
            texts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(texts)


def worker_pid(row: dict[str, Any]) -> int:
    return int(row["worker"].rpartition(":")[2])


TRIVIAL = "print('tick')"
SLEEP_LONG = "import time\nfor _ in range(600):\n    time.sleep(0.1)"


# -- 1. two schedulers, one catalog -------------------------------------------------------


def test_two_schedulers_fire_each_scheduled_time_once(world: Env) -> None:
    job = world.job("every2s", TRIVIAL, schedule="* * * * * */2")
    a = world.start("scheduler", "--workers", "1")
    b = world.start("scheduler", "--workers", "1")
    time.sleep(10)
    # a loaded machine runs fewer of them (the others are skipped: overlap), so give it time
    wait_until(
        lambda: sum(r["status"] == "succeeded" for r in world.runs(job)) >= 3,
        40,
        "3 succeeded runs",
        interval=1,
    )
    for daemon in (a, b):
        daemon.signal(signal.SIGINT)
    for daemon in (a, b):
        assert daemon.wait(15) == 0, daemon.log()

    runs = world.runs(job)
    scheduled = [r["scheduled_for"] for r in runs]
    assert all(scheduled), runs
    assert len(scheduled) == len(set(scheduled)), sorted(scheduled)
    assert sum(r["status"] == "succeeded" for r in runs) >= 3, [r["status"] for r in runs]
    assert not [r for r in runs if r["status"] == "running"]

    ledger = sorted(world.rows(fires, fires.c.job == job), key=lambda f: f["scheduled_for"])
    moments = [parse_ts(f["scheduled_for"]) for f in ledger]
    assert len(moments) == len(set(moments))
    # one row per scheduled time: a contiguous 2 s grid, no gap and no duplicate
    assert every_2s(moments), moments
    assert len(moments) >= 4
    queued = {f["run_id"] for f in ledger if f["decision"] == "queued"}
    # every queued fire ran, but one queued just before the stop (workers drain: no new claim)
    left = {q["run_id"] for q in world.rows(queue, queue.c.job == job, queue.c.state == "queued")}
    assert {r["run_id"] for r in runs} == queued - left
    assert len(left) <= 1
    # only these two schedulers fired (the catalog, not luck, kept them apart)
    assert {f["scheduler"] for f in ledger} <= {
        f"{os.uname().nodename}:{p}" for p in (a.pid, b.pid)
    }


# -- 2. a worker killed mid-run -----------------------------------------------------------


def test_killed_worker_run_is_lost_with_partial_output_then_retried(world: Env) -> None:
    marker = world.tmp / "first-attempt-was-here"
    job = world.job(
        "fragile",
        "print('first', 'cell', 'says', 'hello')",
        f"import os, time\nfrom pathlib import Path\nmarker = Path({str(marker)!r})\n"
        "first = not marker.exists()\nmarker.touch()\n"
        "if first:\n    time.sleep(60)\nprint('done')",
        schedule="* * * * * */2",
        retries=1,
        retry_delay=1,
    )
    scheduler = world.start("scheduler", "--workers", "1")
    first = wait_until(
        lambda: world.rows(queue, queue.c.job == job), 20, "the first fire to be queued"
    )[0]
    world.ok("jobs", "pause", job)  # one fire is enough
    row = world.running_row(first["run_id"])
    world.wait_partial(first["run_id"], "fragile.ipynb", "first cell says hello")
    wait_until(marker.exists, 20, "the second cell to start its long sleep")
    os.kill(worker_pid(row), signal.SIGKILL)

    lost = world.final_record(job, first["run_id"], 20)
    assert lost["status"] == "lost"
    assert lost["error"]["ename"] == "Lost"
    assert "first cell says hello" in outputs_text(world.output(lost))

    def second_attempt() -> dict[str, Any] | None:
        again = [r for r in world.runs(job) if r["attempt"] == 2 and r["status"] != "running"]
        return again[0] if again else None

    retry = wait_until(second_attempt, 30, "the second attempt to end")
    assert retry["status"] == "succeeded", retry
    assert retry["logical_run_id"] == lost["logical_run_id"] == first["run_id"]
    assert retry["scheduled_for"] == lost["scheduled_for"] == first["scheduled_for"]
    assert retry["trigger"] == "retry"

    # `status` does not count the killed worker as alive once it stopped beating
    dead = wait_until(
        lambda: [w for w in world.status()["workers"] if w["worker"] == row["worker"]][0],
        10,
        "the killed worker in status",
    )
    wait_until(
        lambda: (
            [w for w in world.status()["workers"] if w["worker"] == row["worker"]][0]["state"]
            == "gone"
        ),
        10,
        f"status to report {dead['worker']} gone",
    )
    assert f"{row['worker']}  " not in world.ok("status")

    scheduler.signal(signal.SIGINT)
    assert scheduler.wait(20) == 0, scheduler.log()
    runs = world.runs(job)
    assert sorted(r["attempt"] for r in runs) == [1, 2], runs
    assert not [r for r in runs if r["status"] == "running"]
    assert not world.rows(queue, queue.c.state == "running")


def test_a_cancelled_run_whose_worker_dies_is_not_retried(world: Env) -> None:
    job = world.job("doomed", "print('cancel', 'me')", SLEEP_LONG, retries=2, retry_delay=1)
    run_id = world.enqueue(job)
    # lost_after 10 s, not 3: `runs cancel` must get in before the reaper, and a CLI call
    # took over 3 s on a loaded machine
    scheduler = world.start("scheduler", "--workers", "1", NBPROD_LOST_AFTER="10")
    row = world.running_row(run_id)
    world.wait_partial(run_id, "doomed.ipynb", "cancel me")
    pid = worker_pid(row)
    os.kill(pid, signal.SIGSTOP)  # the worker cannot see the cancel request...
    assert "cancel requested" in world.ok("runs", "cancel", run_id)
    os.kill(pid, signal.SIGKILL)  # ...and never will
    record = world.final_record(job, run_id, 40)
    assert record["status"] == "lost"
    assert "cancel me" in outputs_text(world.output(record))
    time.sleep(1)  # a retry is queued with the lost record (available a second later)
    scheduler.signal(signal.SIGINT)
    assert scheduler.wait(20) == 0, scheduler.log()
    assert [r["run_id"] for r in world.runs(job)] == [run_id]
    assert [r["run_id"] for r in world.rows(queue, queue.c.job == job)] == [run_id]
    assert "retry_queued" not in scheduler.log()


# -- 3. a scheduler killed and restarted: catch-up ---------------------------------------


def test_restarted_scheduler_catches_up_per_policy(world: Env) -> None:
    policies = {"catchup-latest": "latest", "catchup-none": "none"}
    for name, catchup in policies.items():
        world.job(name, TRIVIAL, schedule="* * * * * */2", catchup=catchup)
    names = list(policies)
    a = world.start("scheduler", "--workers", "2")
    wait_until(lambda: len(world.rows(fires)) >= 4, 20, "first fires of both jobs")
    workers_of_a = wait_until(
        lambda: len(world.rows(workers)) == 2 and world.rows(workers), 10, "a's workers"
    )

    def calm() -> bool:
        """No run waits in the queue, and the next fire is not imminent."""
        if world.rows(queue, queue.c.state == "queued"):
            return False
        last = max(parse_ts(f["scheduled_for"]) for f in world.rows(fires))
        return datetime.now(timezone.utc) - last < timedelta(seconds=1.3)

    wait_until(calm, 30, "a moment with nothing queued", interval=0.05)
    a.signal(signal.SIGKILL)
    assert a.wait(5) == -signal.SIGKILL
    killed_at = time.monotonic()
    # its workers are told (parent-death signal), finish what they run and exit by themselves
    for w in workers_of_a:
        wait_until(lambda w=w: not pid_alive(w["pid"]), 20, f"worker {w['worker']} to exit")
        final = world.rows(workers, workers.c.worker == w["worker"])[0]
        assert final["state"] == "stopped"
    before = {(f["job"], f["scheduled_for"]) for f in world.rows(fires)}
    time.sleep(max(0.0, 7 - (time.monotonic() - killed_at)))

    b = world.start("scheduler", "--workers", "1")
    b_name = f"{os.uname().nodename}:{b.pid}"
    wait_until(
        lambda: world.rows(fires, fires.c.scheduler == b_name), 20, "the new scheduler to fire"
    )
    time.sleep(1.5)
    b.signal(signal.SIGINT)
    assert b.wait(20) == 0, b.log()

    for job in names:
        ledger = world.rows(fires, fires.c.job == job)
        moments = sorted(parse_ts(f["scheduled_for"]) for f in ledger)
        assert len(moments) == len(set(moments))
        assert every_2s(moments), (job, moments)
        # the downtime's fires: what B recorded in its first tick
        by_b = [f for f in ledger if f["scheduler"] == b_name]
        first_tick = min(f["fired_at"] for f in by_b)
        catch_up = sorted(
            (f for f in by_b if f["fired_at"] == first_tick), key=lambda f: f["scheduled_for"]
        )
        assert not {(job, f["scheduled_for"]) for f in catch_up} & before
        skipped = [f for f in catch_up if f["decision"] == "skipped"]
        ran = [f for f in catch_up if f["decision"] == "queued"]
        assert len(skipped) >= 2, catch_up
        assert all("catchup" in (f["reason"] or "") for f in skipped), skipped
        if policies[job] == "latest":
            assert [f["scheduled_for"] for f in ran] == [catch_up[-1]["scheduled_for"]], catch_up
        else:  # none: every missed fire skipped; only a fire that is still on time runs
            for f in ran:
                late = parse_ts(f["fired_at"]) - parse_ts(f["scheduled_for"])
                assert f is catch_up[-1] and late <= timedelta(seconds=2), catch_up

        runs = world.runs(job)
        scheduled = [r["scheduled_for"] for r in runs]
        assert len(scheduled) == len(set(scheduled)), sorted(scheduled)
        assert {r["run_id"] for r in runs} <= {f["run_id"] for f in ledger if f["run_id"]}
        assert not [r for r in runs if r["status"] == "running"]


# -- 4. timeout ---------------------------------------------------------------------------


def test_timeout_on_a_worker(world: Env) -> None:
    # 6 s: the run timeout counts from the kernel start, which takes seconds on a busy machine
    job = world.job("slow", "print('has', 'started')", "import time\ntime.sleep(60)", timeout=6)
    run_id = world.enqueue(job)
    started = time.monotonic()
    done = world.cli("worker", "--burst", timeout=40)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    record = world.record(job, run_id)
    assert record["status"] == "timed_out", record
    assert "has started" in outputs_text(world.output(record))
    assert world.queue_row(run_id)["final_status"] == "timed_out"


# -- 5. cancel from another process -------------------------------------------------------


def test_cancel_a_running_run_from_another_process(world: Env) -> None:
    job = world.job("sleeper", "print('before', 'the', 'nap')", SLEEP_LONG)
    run_id = world.enqueue(job)
    worker = world.start("worker")
    world.running_row(run_id)
    world.wait_partial(run_id, "sleeper.ipynb", "before the nap")
    asked = time.monotonic()
    out = world.ok("runs", "cancel", run_id[:20])
    assert "cancel requested" in out
    record = world.final_record(job, run_id, 10)
    assert time.monotonic() - asked < 10
    assert record["status"] == "cancelled", record
    assert "before the nap" in outputs_text(world.output(record))
    assert world.finished_row(run_id)["final_status"] == "cancelled"
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0, worker.log()
    # cancelling it again is refused: it has finished
    again = world.cli("runs", "cancel", run_id)
    assert again.returncode == 2 and "already finished" in again.stderr


def test_cancel_a_queued_run_it_never_runs(world: Env) -> None:
    job = world.job("never", "print('should not run')")
    run_id = world.enqueue(job)
    out = world.ok("runs", "cancel", run_id)
    assert "before it started" in out
    done = world.cli("worker", "--burst", timeout=40)
    assert done.returncode == 0, done.stderr
    assert world.record(job, run_id) is None
    assert world.runs(job) == []
    row = world.queue_row(run_id)
    assert (row["state"], row["final_status"], row["started_at"]) == (
        "cancelled",
        "cancelled",
        None,
    )


def test_cancel_a_foreground_exec(world: Env) -> None:
    notebook = world.make_notebook("print('exec', 'started')", SLEEP_LONG, name="fg.ipynb")
    proc = subprocess.Popen(
        [*nbprod_command(), "exec", str(notebook)],
        env=world.env,
        cwd=world.tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_die_with_parent,
        start_new_session=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("run "), first
        run_id = first.split()[1]
        world.wait_partial(run_id, "fg.ipynb", "exec started")
        out = world.ok("runs", "cancel", run_id)
        assert "SIGTERM" in out and str(proc.pid) in out
        assert proc.wait(20) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()
    record = world.record("fg", run_id)
    assert record["status"] == "cancelled"
    assert "exec started" in outputs_text(world.output(record))


# -- 6. notifications ---------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_failure_notifications_from_a_worker(world: Env) -> None:
    handler = type("Hook", (_Hook,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        failing = ["print('about', 'to', 'fail')", "raise ValueError('bad data')"]
        heard = world.job(
            "noisy",
            *failing,
            notifications={
                "on_failure": [{"type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}]
            },
        )
        unheard = world.job(
            "deaf",
            *failing,
            notifications={
                "on_failure": [{"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/x"}]
            },
        )
        first, second = world.enqueue(heard), world.enqueue(unheard)
        done = world.cli("worker", "--burst", timeout=60)
        assert done.returncode == 0, done.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert len(handler.received) == 1, handler.received
    path, body = handler.received[0]
    assert path == "/hook"
    assert body["event"] == "on_failure"
    assert (body["job"], body["run_id"], body["status"]) == (heard, first, "failed")
    assert body["error"]["ename"] == "ValueError" and "bad data" in body["error"]["evalue"]
    for job, run_id in ((heard, first), (unheard, second)):
        record = world.record(job, run_id)
        assert record["status"] == "failed", record
        assert record["error"]["ename"] == "ValueError"
        assert world.queue_row(run_id)["final_status"] == "failed"
    assert "notified" in done.stderr and "ok=false" in done.stderr


# -- 7. graceful shutdown -----------------------------------------------------------------


def test_scheduler_sigterm_cancels_a_long_run_after_the_grace(world: Env) -> None:
    job = world.job("long", "print('long', 'run', 'begins')", SLEEP_LONG)
    run_id = world.enqueue(job)
    scheduler = world.start("scheduler", "--workers", "1", NBPROD_SHUTDOWN_GRACE="2")
    world.running_row(run_id)
    world.wait_partial(run_id, "long.ipynb", "long run begins")
    stopped = time.monotonic()
    scheduler.signal(signal.SIGTERM)
    assert scheduler.wait(20) == 0, scheduler.log()
    assert time.monotonic() - stopped >= 2
    record = world.record(job, run_id)
    assert record["status"] == "cancelled", record
    assert "long run begins" in outputs_text(world.output(record))
    assert world.queue_row(run_id)["final_status"] == "cancelled"


def test_scheduler_sigterm_lets_a_short_run_finish(world: Env) -> None:
    job = world.job("short", "import time\ntime.sleep(2)\nprint('made', 'it')")
    run_id = world.enqueue(job)
    scheduler = world.start("scheduler", "--workers", "1", NBPROD_SHUTDOWN_GRACE="20")
    world.running_row(run_id)
    scheduler.signal(signal.SIGTERM)
    assert scheduler.wait(25) == 0, scheduler.log()
    record = world.record(job, run_id)
    assert record["status"] == "succeeded", record
    assert "made it" in outputs_text(world.output(record))


# -- 8. status ------------------------------------------------------------------------------


def test_status_shows_the_running_run_and_its_worker(world: Env) -> None:
    job = world.job("watched", SLEEP_LONG)
    run_id = world.enqueue(job)
    worker = world.start("worker")
    row = world.running_row(run_id)

    def seen() -> dict[str, Any] | None:
        data = world.status()
        busy = [w for w in data["workers"] if w["state"] == "running" and w["run_id"] == run_id]
        return data if busy and data["running"] else None

    data = wait_until(seen, 15, "status to show the run and its worker")
    (item,) = data["running"]
    assert (item["run_id"], item["job"], item["attempt"]) == (run_id, job, 1)
    assert item["worker"] == row["worker"]
    assert data["counts"].get("running") == 1
    (busy,) = [w for w in data["workers"] if w["worker"] == row["worker"]]
    assert busy["pid"] == worker.pid and busy["heartbeat_age_s"] < 5
    text = world.ok("status")
    assert f"running {run_id}" in text and "workers 1" in text
    worker.signal(signal.SIGINT)  # cancel the current run and exit
    assert worker.wait(20) == 0, worker.log()
    assert world.record(job, run_id)["status"] == "cancelled"
    assert world.status()["running"] == []
