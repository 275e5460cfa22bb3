"""Kernels started ahead of a worker's next run, and the doorbell that wakes idle workers.

Real ``nbprod worker`` processes and real kernels: each run prints what its kernel is (its
pid and start time, cwd, environment, sys.path, whether a variable of an earlier run is
visible), so the tests compare a cold kernel with the warm ones that followed it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import yaml

from tests.scheduler.test_daemons import Env, pid_alive, wait_until

PROBE = """\
import json, os, random, sys, time
ticks = os.sysconf("SC_CLK_TCK")
start = float(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]) / ticks
uptime = float(open("/proc/uptime").read().split()[0])
print(json.dumps({
    "pid": os.getpid(),
    "ppid": os.getppid(),
    "random": random.random(),
    "started": time.time() - uptime + start,
    "cwd": os.getcwd(),
    "env": dict(os.environ),
    "path": sys.path,
    "leak": "leak" in globals(),
    "modules": sorted(sys.modules),
}))
leak = os.getpid()
"""


def probe(world: Env, record: dict) -> dict:
    nb = world.output(record)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            if out.get("output_type") == "stream" and text.startswith("{"):
                return json.loads(text)
    raise AssertionError(f"no probe output in {record['run_id']}")


def run_one(world: Env, job: str) -> tuple[dict, dict]:
    """Queue one run, wait for its end; its record and its probe's report."""
    run_id = world.enqueue(job)
    record = world.final_record(job, run_id, 90)
    assert record["status"] == "succeeded", record.get("error")
    return record, probe(world, record)


def queued_at(world: Env, run_id: str) -> float:
    row = world.queue_row(run_id)
    assert row is not None
    text = row["enqueued_at"].replace("Z", "+00:00")
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every live process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stat[0] != "Z":
            found[int(entry.name)] = (int(stat[1]), cmdline)
    return found


def kernel_children(pid: int) -> list[int]:
    """The worker's live kernels: launched by it (ipykernel_launcher), or forked by its
    zygote (a forked process keeps the zygote's command line)."""
    table = processes()
    zygotes = {p for p, (parent, cmd) in table.items() if parent == pid and b"kernel_zygote" in cmd}
    return sorted(
        p
        for p, (parent, cmd) in table.items()
        if (parent == pid and b"ipykernel" in cmd) or parent in zygotes
    )


def test_each_run_gets_a_fresh_kernel_started_before_it_was_queued(world: Env) -> None:
    job = world.job("probe", PROBE)
    worker = world.start("worker", "--log-json")
    cold_record, cold = run_one(world, job)
    time.sleep(2)  # the next kernel has booted in the meantime
    reports = []
    for _ in range(3):
        record, report = run_one(world, job)
        reports.append((record, report))
        time.sleep(2)

    pids = {cold["pid"], *(r["pid"] for _, r in reports)}
    assert len(pids) == 4, "a kernel was given to a second run"
    # the first warm kernel was launched while the zygote booted; the last was forked
    assert cold["ppid"] == worker.pid and reports[0][1]["ppid"] == worker.pid
    assert reports[-1][1]["ppid"] != worker.pid, "the last kernel was not forked"
    assert len({cold["random"], *(r["random"] for _, r in reports)}) == 4, "same random state"
    assert not cold["leak"] and not any(r["leak"] for _, r in reports), "a variable leaked"
    for record, report in reports:
        # started ahead: the kernel process existed before its run was even queued
        assert report["started"] < queued_at(world, record["run_id"]) - 0.2, report["started"]
        # and it sees exactly what the cold kernel saw
        assert report["cwd"] == cold["cwd"] == str((world.tmp / "notebooks").resolve())
        assert report["path"] == cold["path"]
        assert report["env"] == cold["env"]
        # a forked kernel has loaded what a cold one has by its first cell, nothing more
        assert report["modules"] == cold["modules"]
    # the cold run's kernel started after its run was queued
    assert cold["started"] > queued_at(world, cold_record["run_id"]) - 0.05
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.log()
    finished = [
        json.loads(line)
        for line in worker.log().splitlines()
        if line.startswith("{") and '"finished"' in line
    ]
    assert [f.get("warm_kernel") for f in finished] == [False, True, True, True], finished
    # the kernel log of a warm run is in its spool-or-store place like a cold run's
    assert not list((world.home / "spool" / ".warm").glob("*.log")), "waiting kernel's log left"


def test_a_run_in_another_directory_gets_a_cold_kernel_there(world: Env) -> None:
    job = world.job("probe", PROBE)
    other = world.tmp / "elsewhere"
    other.mkdir()
    notebook = other / "probe.ipynb"  # its runs' working directory is this folder
    notebook.write_bytes((world.tmp / "notebooks" / "probe.ipynb").read_bytes())
    spec = {"name": "probe-elsewhere", "notebook": str(notebook)}
    (world.tmp / "elsewhere.yaml").write_text(yaml.safe_dump(spec))
    world.ok("jobs", "apply", str(world.tmp / "elsewhere.yaml"))
    world.start("worker")
    _, first = run_one(world, job)
    time.sleep(2)
    record, moved = run_one(world, "probe-elsewhere")
    assert moved["cwd"] == str(other.resolve())
    assert moved["started"] > queued_at(world, record["run_id"]) - 0.05, "not a cold kernel"
    assert moved["pid"] != first["pid"] and not moved["leak"]


def test_an_idle_worker_keeps_one_kernel_and_takes_it_along_when_it_stops(world: Env) -> None:
    job = world.job("probe", PROBE)
    worker = world.start("worker")
    run_one(world, job)
    # the used kernel exits in the background; the one for the next run stays
    wait_until(lambda: len(kernel_children(worker.pid)) == 1, 30, "one kernel waiting")
    waiting = kernel_children(worker.pid)
    time.sleep(1)
    assert kernel_children(worker.pid) == waiting and len(waiting) == 1
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.log()
    wait_until(lambda: not pid_alive(waiting[0]), 10, "the waiting kernel to stop")


def test_without_warm_kernels_no_kernel_waits(world: Env) -> None:
    job = world.job("probe", PROBE)
    worker = world.start("worker", NBPROD_WARM_KERNELS="off")
    record, report = run_one(world, job)

    def only_the_used_kernel_left() -> bool:
        alive = kernel_children(worker.pid)
        assert set(alive) <= {report["pid"]}, "a kernel was started"
        return not alive

    # the used kernel exits in the background (slowly on a loaded machine); no other starts
    wait_until(only_the_used_kernel_left, 30, "the used kernel to exit")
    time.sleep(2)
    assert kernel_children(worker.pid) == [], "a kernel was started after the run"
    assert report["started"] > queued_at(world, record["run_id"]) - 0.05


def test_the_doorbell_wakes_an_idle_worker_long_before_its_next_poll(world: Env) -> None:
    job = world.job("probe", PROBE)
    world.start("worker", "--poll", "60")
    time.sleep(3)  # it has polled once and sleeps for a minute now
    started = time.monotonic()
    record, _ = run_one(world, job)
    assert time.monotonic() - started < 30, "the worker waited for its poll"
    assert record["status"] == "succeeded"


def test_a_worker_killed_with_a_kernel_waiting_leaves_no_kernel_behind(world: Env) -> None:
    job = world.job("probe", PROBE)
    worker = world.start("worker")
    run_one(world, job)
    wait_until(lambda: len(kernel_children(worker.pid)) == 1, 30, "one kernel waiting")
    waiting = kernel_children(worker.pid)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    # ipykernel watches its parent and exits when it is gone
    wait_until(lambda: not pid_alive(waiting[0]), 20, "the orphaned kernel to exit")


def test_a_waiting_kernel_that_died_is_replaced_by_a_cold_start(world: Env) -> None:
    job = world.job("probe", PROBE)
    worker = world.start("worker")
    _, first = run_one(world, job)
    wait_until(lambda: len(kernel_children(worker.pid)) == 1, 30, "one kernel waiting")
    (waiting,) = kernel_children(worker.pid)
    os.kill(waiting, signal.SIGKILL)
    wait_until(lambda: not pid_alive(waiting), 10, "the waiting kernel to die")
    record, report = run_one(world, job)
    assert report["pid"] not in (first["pid"], waiting) and not report["leak"]
    assert report["started"] > queued_at(world, record["run_id"]) - 0.05, "not a fresh start"
