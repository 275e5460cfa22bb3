"""Fencing, catalog outages and orphaned runs, with real processes and real signals.

A worker "on another host" runs in its own UTS namespace (its own hostname) with its own
NBPROD_HOME, sharing only the store and the catalog with the scheduler, as a second
machine would. Side effects are counted in a file the notebook appends to, so "ran
twice" is observed, not inferred.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbprod.catalog.schema import queue, runs, workers
from tests.conftest import _die_with_parent, nbprod_command
from tests.scheduler.test_daemons import (
    Env,
    outputs_text,
    pid_alive,
    wait_until,
    worker_pid,
)


def side_effects(path: Path) -> list[list[str]]:
    """The lines the notebook appended: ``start <kernel pid>`` and ``end <kernel pid>``."""
    if not path.is_file():
        return []
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def counting_cells(effects: Path, flag: Path, first_sleep: float) -> list[str]:
    """A notebook that logs its start and end in ``effects``; the first attempt (no
    ``flag`` yet) sleeps ``first_sleep`` seconds in between."""
    return [
        "print('counting', 'run', 'started')",
        f"import os, time\nfrom pathlib import Path\nflag = Path({str(flag)!r})\n"
        f"first = not flag.exists()\nflag.touch()\n"
        f"with open({str(effects)!r}, 'a') as f:\n    f.write(f'start {{os.getpid()}}\\n')\n"
        f"if first:\n    time.sleep({first_sleep})",
        f"import os\nwith open({str(effects)!r}, 'a') as f:\n"
        "    f.write(f'end {os.getpid()}\\n')",
    ]


# -- 1. a frozen worker on another host is fenced ------------------------------------------


def test_a_frozen_worker_on_another_host_cannot_overwrite_the_lost_record(world: Env) -> None:
    effects, flag = world.tmp / "effects.txt", world.tmp / "first-attempt"
    job = world.job("frozen", *counting_cells(effects, flag, 40), retries=1, retry_delay=1)
    run_id = world.enqueue(job)
    far_home = world.tmp / "far-home"
    far_env = {
        **world.env,
        "NBPROD_HOME": str(far_home),
        "NBPROD_STORE": str(world.store),
        "NBPROD_CATALOG": f"sqlite:///{world.home / 'catalog.db'}",
    }
    script = "hostname far-host && exec " + " ".join(nbprod_command()) + " worker"
    log = (world.tmp / "far-worker.log").open("wb")
    far = subprocess.Popen(
        ["unshare", "--uts", "sh", "-c", script],
        env=far_env,
        cwd=world.tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
        start_new_session=True,
    )
    try:
        row = world.running_row(run_id)
        assert row["worker"].startswith("far-host:"), row
        assert worker_pid(row) == far.pid  # `exec`: the worker is the unshared process
        wait_until(lambda: side_effects(effects), 30, "the first attempt to start")
        (start,) = side_effects(effects)
        kernel_pid = int(start[1])

        # Only now the scheduler (reaper) and a local worker for the retry.
        os.kill(far.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        scheduler = world.start("scheduler", "--workers", "1")
        lost = world.final_record(job, run_id, 30)
        assert lost["status"] == "lost", lost

        def retried() -> dict[str, Any] | None:
            again = [r for r in world.runs(job) if r["attempt"] == 2 and r["status"] != "running"]
            return again[0] if again else None

        retry = wait_until(retried, 60, "the second attempt to end")
        assert retry["status"] == "succeeded", retry
        time.sleep(max(0.0, 12 - (time.monotonic() - stopped)))  # frozen >> lost_after (3 s)
        os.kill(far.pid, signal.SIGCONT)

        # The resumed worker finds its claim gone: it stops its kernel and publishes nothing.
        wait_until(lambda: not pid_alive(kernel_pid), 30, "the fenced worker's kernel to stop")
        far_name = row["worker"]
        wait_until(
            lambda: world.rows(workers, workers.c.worker == far_name)[0]["state"] == "idle",
            30,
            "the resumed worker to be done with its old claim",
        )
        assert world.record(job, run_id)["status"] == "lost"
        folder = world.store / job / run_id
        fenced = sorted(folder.glob("frozen.fenced-*.ipynb"))
        far.send_signal(signal.SIGTERM)
        assert far.wait(30) == 0, (world.tmp / "far-worker.log").read_text()
        scheduler.signal(signal.SIGINT)
        assert scheduler.wait(30) == 0, scheduler.log()
    finally:
        if far.poll() is None:
            os.kill(far.pid, signal.SIGCONT)
            os.killpg(far.pid, signal.SIGKILL)
            far.wait(10)
        log.close()

    far_log = (world.tmp / "far-worker.log").read_text()
    assert "fenced" in far_log, far_log
    record = world.record(job, run_id)
    assert record["status"] == "lost", record  # not rewritten by the resumed worker
    assert world.rows(runs, runs.c.run_id == run_id)[0]["status"] == "lost"
    row = world.queue_row(run_id)
    assert (row["state"], row["final_status"]) == ("done", "lost")
    # the notebook ran as many times as there were attempts, and finished only once
    attempts = sorted(r["attempt"] for r in world.runs(job))
    assert attempts == [1, 2], world.runs(job)
    kinds = [kind for kind, _ in side_effects(effects)]
    assert kinds.count("start") == 2 and kinds.count("end") == 1, side_effects(effects)
    # the stale worker's output is kept under a name no reader takes for the final one
    (kept,) = fenced
    assert "counting run started" in outputs_text(json_notebook(kept))
    assert not (folder / "frozen.ipynb").exists() or kept.name != "frozen.ipynb"
    assert "retry_queued" not in far_log


def json_notebook(path: Path) -> Any:
    import nbformat

    return nbformat.reads(path.read_text(), as_version=4)


# -- 2. the catalog goes away while a run ends ----------------------------------------------


@pytest.fixture
def own_postgres() -> Iterator[Any]:
    """A PostgreSQL server of this test alone: it is stopped and started again."""
    from tests.catalog.conftest import PostgresServer, _postgres_bindir

    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_catalog_outage_as_a_run_ends_is_waited_out(world: Env, own_postgres: Any) -> None:
    import sqlalchemy as sa

    url = own_postgres.create_database("outage")
    world.env["NBPROD_CATALOG"] = url
    world.engine = sa.create_engine(url, pool_pre_ping=True)
    effects, release = world.tmp / "effects.txt", world.tmp / "release"
    job = world.job(
        "outlast",
        "print('waiting', 'for', 'release')",
        f"import time\nfrom pathlib import Path\nwhile not Path({str(release)!r}).exists():\n"
        "    time.sleep(0.1)",
        f"with open({str(effects)!r}, 'a') as f:\n    f.write('ran\\n')",
        retries=1,
        retry_delay=1,
    )
    run_id = world.enqueue(job)
    lost_after = 15.0
    scheduler = world.start("scheduler", "--workers", "1", NBPROD_LOST_AFTER=str(lost_after))
    world.running_row(run_id)
    world.wait_partial(run_id, "outlast.ipynb", "waiting for release")

    world.engine.dispose()
    own_postgres.halt()  # a real stop: every connection is cut
    halted = time.monotonic()
    release.touch()  # the last cell runs and the run ends while the catalog is away
    wait_until(effects.is_file, 20, "the last cell to run")
    time.sleep(max(0.0, 7 - (time.monotonic() - halted)))
    own_postgres.restart()
    outage = time.monotonic() - halted
    assert outage < lost_after

    def ended() -> dict[str, Any] | None:
        try:
            row = world.queue_row(run_id)
        except sa.exc.OperationalError:
            return None
        return row if row and row["state"] == "done" else None

    row = wait_until(ended, 60, "the run's ending to reach the catalog")
    assert row["final_status"] == "succeeded", row
    record = world.record(job, run_id)
    assert record["status"] == "succeeded", record
    time.sleep(lost_after / 3)  # a reaper that took it for lost would act by now
    scheduler.signal(signal.SIGINT)
    assert scheduler.wait(30) == 0, scheduler.log()

    log = scheduler.log()
    assert "catalog_retry" in log, log  # the worker did meet the outage at the run's end
    assert "lost" not in [line.split()[2] for line in log.splitlines() if len(line.split()) > 2]
    assert world.record(job, run_id)["status"] == "succeeded"
    assert [(r["run_id"], r["status"]) for r in world.runs(job)] == [(run_id, "succeeded")]
    assert [q["run_id"] for q in world.rows(queue, queue.c.job == job)] == [run_id]
    assert effects.read_text() == "ran\n"  # executed once, not again by a retry


# -- 3. orphaned `running` records: nothing holds them, their process is gone ------------------

SLEEP_LONG = "import time\nfor _ in range(600):\n    time.sleep(0.1)"


class Exec:
    """A foreground `nbprod exec` in its own session; its run id from its first line."""

    def __init__(self, world: Env, name: str) -> None:
        self.job = Path(name).stem
        notebook = world.make_notebook(f"print('{self.job}', 'started')", SLEEP_LONG, name=name)
        self.proc = subprocess.Popen(
            [*nbprod_command(), "exec", str(notebook)],
            env=world.env,
            cwd=world.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        first = self.proc.stdout.readline()
        assert first.startswith("run "), first
        self.run_id = first.split()[1]
        world.wait_partial(self.run_id, name, f"{self.job} started")
        wait_until(
            lambda: [r for r in world.runs(self.job) if r["status"] == "running"],
            20,
            f"{self.run_id} indexed as running",
        )

    def kill(self) -> None:
        """SIGKILL the exec process only (its kernel, in a session of its own, lives on)."""
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()


def test_a_killed_exec_is_ended_by_cancel_then_deleted(world: Env) -> None:
    run = Exec(world, "ghost.ipynb")
    run.kill()
    assert world.record(run.job, run.run_id)["status"] == "running"
    refused = world.cli("runs", "delete", "--yes", run.run_id)
    assert refused.returncode == 2 and "still running" in refused.stderr, refused.stderr

    out = world.ok("runs", "cancel", run.run_id)
    assert "gone" in out and "lost" in out, out
    record = world.record(run.job, run.run_id)
    assert record["status"] == "lost", record
    assert record["error"]["ename"] == "Lost" and "gone" in record["error"]["evalue"]
    assert record["finished_at"]
    assert "ghost started" in outputs_text(world.output(record))  # the partial output kept
    (listed,) = world.runs(run.job)
    assert listed["status"] == "lost"
    again = world.cli("runs", "cancel", run.run_id)
    assert again.returncode == 2 and "already finished" in again.stderr

    assert "deleted" in world.ok("runs", "delete", "--yes", run.run_id)
    assert world.record(run.job, run.run_id) is None
    assert world.runs(run.job) == []


def test_killed_execs_are_reaped_by_status_and_by_the_scheduler(world: Env) -> None:
    killed, alive = Exec(world, "first.ipynb"), Exec(world, "second.ipynb")
    killed.kill()
    data = world.status()
    assert world.record(killed.job, killed.run_id)["status"] == "lost"
    assert [u["run_id"] for u in data["unmanaged"]] == [alive.run_id]  # alive: untouched
    assert data["unmanaged"][0]["owner"].endswith(f":{alive.proc.pid}")
    assert f"running {alive.run_id}" in world.ok("status")
    assert world.record(alive.job, alive.run_id)["status"] == "running"

    scheduler = world.start("scheduler", "--workers", "0")
    time.sleep(3)  # a few reaper passes: a live exec is left alone
    assert world.record(alive.job, alive.run_id)["status"] == "running"
    alive.kill()
    record = world.final_record(alive.job, alive.run_id, 20)
    assert record["status"] == "lost", record
    assert "second started" in outputs_text(world.output(record))
    # the record is published before the scheduler logs the event (mark_lost): wait for it
    wait_until(lambda: "lost" in scheduler.log(), 20, "the scheduler's 'lost' event")
    scheduler.signal(signal.SIGINT)
    assert scheduler.wait(20) == 0, scheduler.log()
    assert {r["status"] for r in world.runs()} == {"lost"}
    assert world.status()["unmanaged"] == []


def test_cancel_of_a_run_whose_worker_was_killed_ends_it(world: Env) -> None:
    job = world.job("dropped", "print('dropped', 'started')", SLEEP_LONG, retries=2)
    run_id = world.enqueue(job)
    worker = world.start("worker")
    world.running_row(run_id)
    world.wait_partial(run_id, "dropped.ipynb", "dropped started")
    worker.signal(signal.SIGKILL)
    worker.wait(10)
    out = world.ok("runs", "cancel", run_id)  # no scheduler: nobody else would end it
    assert "gone" in out and "lost" in out, out
    record = world.record(job, run_id)
    assert record["status"] == "lost", record
    assert "dropped started" in outputs_text(world.output(record))
    row = world.queue_row(run_id)
    assert (row["state"], row["final_status"], row["cancel_requested"]) == ("done", "lost", True)
    assert [q["run_id"] for q in world.rows(queue, queue.c.job == job)] == [run_id]  # no retry
    assert "deleted" in world.ok("runs", "delete", "--yes", run_id)


def test_a_run_that_crashes_its_worker_core_ends_and_the_worker_lives_on(world: Env) -> None:
    """A fractional cell timeout made the core raise after the running record was out
    (a traitlets int); whatever the core does, a worker's run ends and is not left a ghost."""
    job = world.job(
        "crashy", "print('crashy', 'started')", "import time\ntime.sleep(3)", cell_timeout=0.5
    )
    run_id = world.enqueue(job)
    done = world.cli("worker", "--burst", timeout=90)
    assert done.returncode == 0, done.stderr
    record = world.record(job, run_id)
    assert record["status"] in ("timed_out", "lost"), record
    row = world.queue_row(run_id)
    assert (row["state"], row["final_status"]) == ("done", record["status"])
    (listed,) = world.runs(job)
    assert listed["status"] == record["status"]


# -- 4. `nbprod status` flags a run that makes no progress ----------------------------------


def test_status_flags_a_run_whose_cells_make_no_progress(world: Env) -> None:
    job = world.job("stuck", "print('one')", "print('two')", SLEEP_LONG)
    run_id = world.enqueue(job)
    worker = world.start("worker")
    world.running_row(run_id)

    def flagged() -> dict[str, Any] | None:
        data = json.loads(world.ok("status", "--json", "--stalled-after", "3"))
        mine = [i for i in data["running"] if i["run_id"] == run_id and i["cells_done"] == 2]
        return mine[0] if mine and mine[0]["stalled"] else None

    # two cells done, then the third one sleeps: stalled 3 s after the second one ended
    item = wait_until(flagged, 40, "status to flag the run as stalled", interval=0.5)
    assert item["cells_total"] == 3, item
    assert item["no_progress_s"] > 3 and not item["stale"]
    assert "STALLED: no progress for" in world.ok("status", "--stalled-after", "3")
    fresh = json.loads(world.ok("status", "--json"))  # the default threshold: 10 minutes
    assert not [i for i in fresh["running"] if i["stalled"]]
    worker.signal(signal.SIGINT)
    assert worker.wait(20) == 0, worker.log()
