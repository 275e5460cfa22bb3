"""The dask executor against a real Dask cluster: a `dask scheduler` and two `dask worker`
processes (with nannies) on 127.0.0.1, started here; runs execute inside the Dask
workers' processes, and the faults are real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from tests.conftest import (  # noqa: E402
    GLUE,
    _die_with_parent,
    free_port,
    invoke_inproc,
    isolated_env,
    wait_for_port,
    write_notebook,  # noqa: E402
)
from tests.scheduler.test_daemons import Env, outputs_text, pid_alive, wait_until  # noqa: E402

DASK_ENV = {
    # nbprod decides what a dead worker's run becomes (lost, then the job's retries);
    # Dask must not run the task again elsewhere (it would only be refused anyway).
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
    "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
}


class DaskCluster:
    """A Dask scheduler and workers as real processes, each in its own session."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {**env, **DASK_ENV}
        self.logs = logs
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"dask-{name}.log", "ab")  # noqa: SIM115 - the process keeps it
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn(
            "scheduler",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-dashboard",
        )
        wait_for_port(self.port, 60)

    def start_worker(self, name: str, *extra: str) -> None:
        self.workers[name] = self._spawn(
            name,
            "distributed.cli.dask_worker",
            self.address,
            "--name",
            name,
            "--nthreads",
            "1",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            "--death-timeout",
            "120",
            *extra,
        )

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def worker_pids(self, count: int, timeout: float = 90) -> dict[str, int]:
        """Dask worker name -> pid of its worker process (the nanny's child)."""
        with self.client() as client:
            client.wait_for_workers(count, timeout=timeout)
            info = client.scheduler_info(n_workers=-1)["workers"]
            pids = client.run(os.getpid)
        return {info[address]["name"]: pid for address, pid in pids.items()}

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            if proc is None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (a kernel is in a session of its own)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def elsewhere(world: Env, root: Path) -> dict[str, str]:
    """The Dask workers' environment: the world's catalog and store, but a home (spool)
    of their own, as on another machine."""
    return {
        **world.env,
        "NBPROD_HOME": str(root / "dask-home"),
        "NBPROD_STORE": str(world.store),
        "NBPROD_CATALOG": f"sqlite:///{world.home / 'catalog.db'}",
    }


def wait_autosaved(world: Env, job: str, run_id: str, text: str, timeout: float = 60) -> None:
    """Until the run's partial output autosaved to the store shows ``text`` printed."""
    import nbformat

    partial = world.store / job / run_id / ".partial.ipynb"

    def shows() -> bool:
        try:
            return text in outputs_text(nbformat.read(str(partial), as_version=4))
        except Exception:  # not written yet, or caught mid-write
            return False

    wait_until(shows, timeout, f"{text!r} in the autosaved partial output of {run_id}")


class World(Env):
    """test_daemons' world, with a home shared by the module's tests and its cluster."""

    def __init__(self, root: Path) -> None:
        def make_notebook(*cells: str, name: str, parameters: str | None = None) -> Path:
            return write_notebook(root / "notebooks" / name, *cells, parameters=parameters)

        super().__init__({**os.environ, **isolated_env(root)}, root, make_notebook)

    def scheduler(self, address: str) -> Any:
        return self.start("scheduler", "--executor", "dask", "--dask-scheduler", address)


@pytest.fixture(scope="module")
def dask_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, DaskCluster]]:
    root = tmp_path_factory.mktemp("dask")
    world = World(root)
    cluster = DaskCluster(elsewhere(world, root), root)
    try:
        cluster.start_scheduler()
        cluster.start_worker("plain")
        cluster.start_worker("gpu", "--resources", "gpu=1")
        cluster.worker_pids(2)
        yield world, cluster
    finally:
        world.cleanup()
        cluster.stop()


@pytest.fixture
def world(dask_world: tuple[World, DaskCluster]) -> Iterator[World]:
    world, _ = dask_world
    yield world
    for daemon in world.daemons:
        daemon.stop()
    world.daemons.clear()


@pytest.fixture
def cluster(dask_world: tuple[World, DaskCluster]) -> DaskCluster:
    return dask_world[1]


PARENT = f"import os\n{GLUE}glue('kernel_parent', os.getppid())"
SLEEP_LONG = "import time\nfor _ in range(600):\n    time.sleep(0.1)"


def scrap(world: World, record: dict[str, Any], name: str) -> Any:
    return record["scraps"][name]["value"]


def test_runs_execute_inside_the_dask_workers_processes(world: World, cluster: DaskCluster):
    job = world.job("where", PARENT)
    runs = [world.enqueue(job) for _ in range(3)]
    world.scheduler(cluster.address)
    pids = set(cluster.worker_pids(2).values())
    for run_id in runs:
        record = world.final_record(job, run_id, 120)
        assert record["status"] == "succeeded", record
        # the kernel's parent is a Dask worker process: the run executed inside it
        assert scrap(world, record, "kernel_parent") in pids, (record["host"], pids)
        assert record["host"]["pid"] in pids
        row = world.finished_row(run_id)
        assert "#dask" in row["worker"] and row["final_status"] == "succeeded"


def test_a_job_needing_a_resource_runs_on_the_worker_that_has_it(world, cluster):
    job = world.job("gpu-job", PARENT, resources={"gpu": 1})
    run_id = world.enqueue(job)
    world.scheduler(cluster.address)
    record = world.final_record(job, run_id, 120)
    assert record["status"] == "succeeded", record
    assert scrap(world, record, "kernel_parent") == cluster.worker_pids(2)["gpu"]


def test_a_run_no_worker_can_take_stays_queued_with_its_reason(world, cluster):
    job = world.job("tpu-job", PARENT, resources={"tpu": 2})
    run_id = world.enqueue(job)
    world.scheduler(cluster.address)

    def waiting() -> dict[str, Any] | None:
        queued = [q for q in world.status()["queued"] if q["run_id"] == run_id]
        return queued[0] if queued and queued[0]["waiting_reason"] else None

    item = wait_until(waiting, 60, "the run's waiting reason")
    assert item["waiting_reason"] == "no Dask worker has the resources tpu=2"
    shown = world.ok("status")
    assert "WAITING: no Dask worker has the resources tpu=2" in shown
    time.sleep(3)
    assert world.queue_row(run_id)["state"] == "queued" and world.record(job, run_id) is None
    world.ok("runs", "cancel", run_id)  # leave nothing queued for the next tests


def test_cancel_reaches_the_kernel_on_the_dask_worker(world, cluster):
    job = world.job("napper", "print('before', 'the', 'nap')", SLEEP_LONG)
    run_id = world.enqueue(job)
    world.scheduler(cluster.address)
    world.running_row(run_id, 120)
    wait_autosaved(world, job, run_id, "before the nap")
    asked = time.monotonic()
    assert "cancel requested" in world.ok("runs", "cancel", run_id)
    record = world.final_record(job, run_id, 30)
    assert time.monotonic() - asked < 15
    assert record["status"] == "cancelled", record
    assert "before the nap" in outputs_text(world.output(record))
    assert world.finished_row(run_id)["final_status"] == "cancelled"


def test_a_killed_dask_worker_loses_its_run_which_is_retried_once(world, cluster):
    marks = world.tmp / "attempts.txt"
    body = (
        f"from pathlib import Path\nmarks = Path({str(marks)!r})\n"
        "with marks.open('a') as f:\n    f.write('ran\\n')\n"
        "print('attempt', len(marks.read_text().splitlines()))\n"
        "if len(marks.read_text().splitlines()) == 1:\n"
        "    import time\n    for _ in range(600):\n        time.sleep(0.1)"
    )
    job = world.job("fragile", body, retries=1, retry_delay=1)
    run_id = world.enqueue(job)
    world.scheduler(cluster.address)
    row = world.running_row(run_id, 120)
    wait_autosaved(world, job, run_id, "attempt 1")
    host_pid = int(row["worker"].split("#")[0].rsplit(":", 1)[1])
    assert host_pid in cluster.worker_pids(2).values()
    killed = time.monotonic()
    doomed = descendants(host_pid)
    for pid in doomed:
        os.kill(pid, signal.SIGKILL)
    lost = world.final_record(job, run_id, 60)
    assert lost["status"] == "lost", lost
    assert time.monotonic() - killed < 3 + 20  # lost_after is 3 s (FAST)
    # kept from the store: the scheduler's host has no spool copy of a run executed "elsewhere"
    assert "attempt 1" in outputs_text(world.output(lost))
    assert not (world.store / job / run_id / ".partial.ipynb").exists()
    assert not (world.home / "spool" / run_id).exists()

    def retried() -> dict[str, Any] | None:
        done = [r for r in world.runs(job) if r["attempt"] == 2 and r["status"] != "running"]
        return done[0] if done else None

    second = wait_until(retried, 120, "the retry to end")
    assert second["status"] == "succeeded", second
    assert marks.read_text().splitlines() == ["ran", "ran"]  # once per attempt
    assert not any(pid_alive(pid) for pid in doomed)
    assert world.status()["counts"].get("running", 0) == 0
    cluster.worker_pids(2)  # the nanny restarted the killed worker


def test_a_sweep_runs_on_the_dask_executor(world, cluster):
    nb = world.make_notebook(PARENT + "\nglue('n2', n * 2)", name="sq.ipynb", parameters="n = 1")
    done = world.cli(
        "sweep",
        str(nb),
        "-p",
        "n",
        "1,2,3",
        "--executor",
        "dask",
        "--dask-scheduler",
        cluster.address,
        timeout=240,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    sweep_id = done.stdout.split()[1]
    table = json.loads(world.ok("sweeps", "show", sweep_id, "--json"))
    pids = set(cluster.worker_pids(2).values())
    assert sorted(r["scraps"]["n2"] for r in table["rows"]) == [2, 4, 6]
    assert {r["scraps"]["kernel_parent"] for r in table["rows"]} <= pids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "nope"], "unknown executor 'nope' (known: dask, local)"),
        (["--executor", "dask"], "the dask executor needs the Dask scheduler's address"),
    ],
)
def test_bad_executor_settings_are_refused_before_anything_runs(world, args, message):
    for command in (["scheduler"], ["sweep", str(world.make_notebook("1", name="one.ipynb"))]):
        before = world.status()["counts"]
        done = world.cli(*command, *args, timeout=60, NBPROD_DASK_SCHEDULER="")
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.strip() == f"nbprod: error: {message}" or message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert world.status()["counts"] == before


def test_an_unreachable_dask_scheduler_is_refused_before_a_sweep_queues(world, monkeypatch):
    """In this process: the refusal comes before anything is queued or run, and the connect
    timeout (10 s, waited out in full against a port nobody listens on) can be 2 s here."""
    from nbprod.executors import dask as dask_executor

    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", 2.0)
    nb = world.make_notebook("1", name="unreached.ipynb")
    before = world.status()["counts"]
    address = f"tcp://127.0.0.1:{free_port()}"
    args = ["sweep", str(nb), "-p", "x", "1,2", "--executor", "dask", "--dask-scheduler", address]
    done = invoke_inproc(args, env=world.env, cwd=world.tmp, timeout=90)
    assert done.returncode == 2, done.stderr
    assert f"cannot reach the Dask scheduler at {address}" in done.stderr
    assert world.status()["counts"] == before


def test_run_now_without_a_scheduler_goes_to_the_dask_cluster(world, cluster):
    """The Jupyter server's *Run now* when no scheduler runs (server/rest.execute_now)."""
    from nbprod.config import Settings
    from nbprod.server.rest import execute_now

    job = world.job("clicked", PARENT)
    run_id = world.enqueue(job)
    settings = Settings.load(
        {"executor": "dask", "dask_scheduler": cluster.address}, environ=world.env
    )
    execute_now(settings, run_id)  # submits, lets go: the task goes on without this client
    record = world.final_record(job, run_id, 120)
    assert record["status"] == "succeeded", record
    assert scrap(world, record, "kernel_parent") in set(cluster.worker_pids(2).values())


def test_sigterm_to_a_dask_worker_cancels_its_run_with_the_output_kept(world, cluster):
    job = world.job("evicted", "print('working', 'away')", SLEEP_LONG)
    run_id = world.enqueue(job)
    world.scheduler(cluster.address)
    row = world.running_row(run_id, 120)
    wait_autosaved(world, job, run_id, "working away")
    pid = int(row["worker"].split("#")[0].rsplit(":", 1)[1])
    name = next(n for n, p in cluster.worker_pids(2).items() if p == pid)
    nanny = cluster.workers[name]
    nanny.send_signal(signal.SIGTERM)  # what Kubernetes sends a pod it evicts
    record = world.final_record(job, run_id, 30)
    assert record["status"] == "cancelled", record
    assert "working away" in outputs_text(world.output(record))
    assert nanny.wait(30) is not None
    cluster.start_worker(name, *(["--resources", "gpu=1"] if name == "gpu" else []))
    cluster.worker_pids(2)


def test_a_restarted_dask_scheduler_gets_the_queued_runs_again(world, cluster) -> None:
    """The module's cluster, its scheduler killed and started again (last in the file: the
    workers are restarted too, as their process manager would)."""
    job = world.job("steady", PARENT)
    first = world.enqueue(job)
    world.scheduler(cluster.address)
    assert world.final_record(job, first, 120)["status"] == "succeeded"
    os.killpg(cluster.scheduler.pid, signal.SIGKILL)
    cluster.scheduler.wait(10)
    queued = [world.enqueue(job) for _ in range(3)]  # while the cluster has no scheduler
    time.sleep(3)
    # A Dask worker exits when its scheduler goes away; its process manager (a
    # Kubernetes Deployment, a batch system) starts it again, as here.
    for worker in cluster.workers.values():
        assert worker.wait(60) is not None
    cluster.start_scheduler()
    cluster.start_worker("plain")
    cluster.start_worker("gpu", "--resources", "gpu=1")
    for run_id in queued:
        record = world.final_record(job, run_id, 180)
        assert record["status"] == "succeeded", record
    # The catalog indexes a run after its record is in the store (and, on a Dask worker,
    # after its kernel has exited): wait for the index, do not read it at once.
    statuses = wait_until(
        lambda: (s := [r["status"] for r in world.runs(job)]).count("succeeded") == 4 and s,
        30,
        "the catalog to show the 4 runs",
    )
    assert "lost" not in statuses
    cluster.worker_pids(2)
