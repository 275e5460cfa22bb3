"""executors/pool.py and local.py: the one worker spawner, real worker processes, real runs."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from nbprod.api import enqueue_notebook
from nbprod.catalog import open_catalog
from nbprod.catalog.sweeps import queue_states
from nbprod.config import Settings
from nbprod.executors.local import LocalExecutor
from nbprod.executors.pool import (
    BurstWorkers,
    start_burst_worker,
    start_burst_workers,
    wait_all,
    worker_env,
)
from tests.conftest import GLUE

TIMEOUT = 180  # a loaded 2-core machine: kernel start-up alone can take seconds


def _queue(settings: Settings, nb: Path, count: int = 1) -> list[str]:
    requests = enqueue_notebook(nb, [{"n": i} for i in range(count)], settings=settings)
    return [r.run_id for r in requests]


def _record(settings: Settings, run_id: str, job: str) -> dict:
    return json.loads((Path(settings.store) / job / run_id / "run.json").read_text())


def _wait_exit(proc, seconds: float = TIMEOUT) -> int:
    assert not wait_all([proc], seconds), f"worker {proc.pid} still running"
    return proc.returncode


def test_worker_env_points_the_worker_at_this_home_store_and_catalog(nbprod_env, tmp_path):
    settings = Settings.load()
    env = worker_env(settings)
    assert env["NBPROD_HOME"] == str(settings.home)
    assert env["NBPROD_STORE"] == settings.store
    assert "NBPROD_CATALOG" not in env  # the default: the home's SQLite file
    assert env["PATH"] == os.environ["PATH"]
    other = worker_env(settings, store=str(tmp_path / "other"))
    assert other["NBPROD_STORE"] == str(tmp_path / "other")


def test_a_burst_worker_drains_its_queued_run_and_exits(nbprod_env, make_notebook):
    nb = make_notebook(GLUE + "glue('twice', n * 2)", parameters="n: int = 1")
    settings = Settings.load()
    (run_id,) = _queue(settings, nb)
    other = _queue(settings, nb)[0]  # not in its --only-file: it must stay queued

    proc = start_burst_worker(settings, run_id)
    assert _wait_exit(proc) == 0
    record = _record(settings, run_id, "nb")
    assert record["status"] == "succeeded"
    assert record["scraps"]["twice"]["value"] == 0
    catalog = open_catalog(settings)
    try:
        states = queue_states(catalog, record["store"], [run_id, other])
    finally:
        catalog.close()
    assert states == {run_id: ("done", "succeeded"), other: ("queued", None)}


def test_one_off_burst_workers_share_their_runs(nbprod_env, make_notebook):
    """A sweep queued from JupyterLab with no scheduler: at most ``count`` workers, one
    list of runs; each run is claimed once, a run not in the list stays queued."""
    from nbprod.store import open_store

    nb = make_notebook("pass", parameters="n: int = 1")
    settings = Settings.load()
    *run_ids, other = _queue(settings, nb, 4)

    procs = start_burst_workers(settings, run_ids, 2)
    assert len(procs) == 2
    assert [_wait_exit(proc) for proc in procs] == [0, 0]
    catalog = open_catalog(settings)
    try:
        states = queue_states(catalog, open_store(settings.store).url, [*run_ids, other])
    finally:
        catalog.close()
    assert states == {**{r: ("done", "succeeded") for r in run_ids}, other: ("queued", None)}


def test_burst_workers_run_only_their_runs_and_log_to_files(nbprod_env, make_notebook, tmp_path):
    nb = make_notebook("pass", parameters="n: int = 1")
    settings = Settings.load()
    run_ids = _queue(settings, nb, 2)
    workers = BurstWorkers(settings, run_ids, tmp_path / "sweep", capacity=1)
    assert workers.only_file.read_text().split() == run_ids
    workers.spawn()
    assert not wait_all(workers.procs, TIMEOUT)
    workers.wait()
    assert workers.failures == 0 and not workers.alive()
    assert [p.name for p in workers.logs] == ["worker-1.log"]
    assert {_record(settings, r, "nb")["status"] for r in run_ids} == {"succeeded"}
    workers.remove_files()
    assert not any((tmp_path / "sweep").iterdir())


def test_burst_workers_stop_cancels_the_running_run_with_its_output(
    nbprod_env, make_notebook, tmp_path
):
    nb = make_notebook("import time; time.sleep(120)", parameters="n: int = 1")
    settings = Settings.load()
    (run_id,) = _queue(settings, nb)
    workers = BurstWorkers(settings, [run_id], tmp_path / "sweep", capacity=1)
    workers.spawn()
    record_path = Path(settings.store) / "nb" / run_id / "run.json"
    deadline = time.monotonic() + TIMEOUT
    while not (
        record_path.exists() and _record(settings, run_id, "nb")["progress"].get("cell_index")
    ):
        assert time.monotonic() < deadline, "the run never reached its long cell"
        time.sleep(0.2)
    workers.stop(grace=60)
    assert not workers.alive()
    record = _record(settings, run_id, "nb")
    assert record["status"] == "cancelled"
    assert (Path(settings.store) / "nb" / run_id / "nb.ipynb").exists()


def _wait_beating(settings: Settings, count: int) -> None:
    """Until ``count`` workers have registered (their signal handlers are in place)."""
    from nbprod.catalog.queue import Queue

    catalog = open_catalog(settings)
    try:
        deadline = time.monotonic() + TIMEOUT
        while sum(w["state"] != "stopped" for w in Queue(catalog).workers()) < count:
            assert time.monotonic() < deadline, "the workers never beat"
            time.sleep(0.2)
    finally:
        catalog.close()


def test_local_executor_replaces_a_dead_worker_and_stops_the_rest(nbprod_env):
    settings = Settings.load()
    executor = LocalExecutor(settings, 2)
    assert executor.capacity == 2
    executor.start()
    try:
        first = [p.pid for p in executor.procs]
        os.kill(first[0], signal.SIGKILL)
        executor.procs[0].wait()
        executor.supervise()
        now = [p.pid for p in executor.procs]
        assert now[0] != first[0] and now[1] == first[1]
        assert all(p.poll() is None for p in executor.procs)
        _wait_beating(settings, 2)
    finally:
        procs = list(executor.procs)
        executor.stop(grace=60)
    assert executor.procs == [] and all(p.poll() is not None for p in procs)
    # SIGTERM is a drain: idle workers exit cleanly.
    assert [p.returncode for p in procs] == [0, 0]
