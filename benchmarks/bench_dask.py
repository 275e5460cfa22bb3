"""The dask executor beside the local one and a papermill CLI loop, in one invocation.

Usage::

    python benchmarks/bench_dask.py [--trivial 100] [--slow 20] [--workers 2] [--quick]

For each workload (``--trivial`` runs of a two-cell notebook, ``--slow`` runs of a notebook
that sleeps 10 s), the runs are queued at once and executed (a) by ``nbprod scheduler
--workers W`` (local worker processes) and (b) by ``nbprod scheduler --executor dask``
with a Dask scheduler and W single-thread Dask workers started here on 127.0.0.1. Measured:
wall time from the scheduler's start to the last run's end, runs per minute, the lag from
enqueue to the run's start (p50/p99), and the Dask executor's overhead per run against the
local one: (wall dask - wall local) x W / runs. Beside them, a loop of ``papermill`` CLI
calls on the same notebook (a sample, extrapolated; one after another, as a cron job
would) and the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat


@dataclass
class Result:
    label: str
    runs: int
    wall: float
    lags: list[float]
    mean_run: float | None = None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py3"}
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def run_queue(env: dict[str, str], nb: Path, count: int, scheduler_args: list[str]) -> Result:
    """Apply ``nb`` as a job in a fresh home, queue ``count`` runs, run the scheduler."""
    from nbprod.catalog import open_catalog
    from nbprod.catalog.query import RunFilter
    from nbprod.catalog.queue import Queue
    from nbprod.config import Settings
    from nbprod.records import new_run_id
    from nbprod.store import open_store

    nbprod = shutil.which("nbprod") or "nbprod"
    job = env["BENCH_JOB"]
    yaml = Path(env["NBPROD_HOME"]).parent / f"{job}.yaml"
    yaml.write_text(f"name: {job}\nnotebook: {nb}\nconcurrency: 1000\n")
    subprocess.run([nbprod, "jobs", "apply", str(yaml)], env=env, check=True, capture_output=True)
    settings = Settings.load(environ=env)
    catalog = open_catalog(settings)
    queue = Queue(catalog)
    store_url = open_store(settings.store).url
    request = {"kind": "job", "job_version": 1, "parameters": {}, "trigger": "queue"}
    now = datetime.now(timezone.utc)
    for _ in range(count):
        queue.enqueue(store_url, job, now, run_id=new_run_id(), request=request)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [nbprod, "scheduler", *scheduler_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            counts = queue.counts()
            if counts.get("queued", 0) == 0 and counts.get("running", 0) == 0:
                break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
    wall = time.perf_counter() - started
    records = [r for r in catalog.query_runs(store_url, RunFilter(limit=None)) if r.job == job]
    catalog.close()
    bad = [r for r in records if r.status.value != "succeeded"]
    if len(records) != count or bad:
        raise SystemExit(f"{job}: expected {count} succeeded runs, got {len(records)}, {bad[:3]}")
    enqueued = now
    lags = [(_parse(r.started_at) - enqueued).total_seconds() for r in records]
    mean_run = sum(r.duration_s or 0 for r in records) / count
    return Result("", count, wall, lags, mean_run)


class Cluster:
    """A Dask scheduler and ``workers`` single-thread workers on 127.0.0.1."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        env = {**env, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
        common = ["--no-dashboard"]
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"]
                + ["--port", str(self.port), *common],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        ]
        time.sleep(2)
        for n in range(workers):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "distributed.cli.dask_worker", self.address]
                    + ["--nthreads", "1", "--name", f"w{n}", "--host", "127.0.0.1", *common],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            # not warmed: a fresh Dask worker's first run imports nbprod's run machinery
            # inside the measurement, as a local worker's process start does
            client.wait_for_workers(workers, timeout=120)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)


def papermill_loop(nb: Path, tmp: Path, sample: int, count: int) -> Result:
    started = time.perf_counter()
    for n in range(sample):
        subprocess.run(
            ["papermill", str(nb), str(tmp / f"pm-{nb.stem}-{n}.ipynb"), "-k", "python3"]
            + ["--no-progress-bar"],
            check=True,
            capture_output=True,
        )
    each = (time.perf_counter() - started) / sample
    return Result("", count, each * count, [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trivial", type=int, default=100)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--papermill-sample", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="20 trivial and 4 slow runs")
    args = parser.parse_args()
    if args.quick:
        args.trivial, args.slow, args.papermill_sample = 20, 4, 4

    tmp = Path(tempfile.mkdtemp(prefix="nbprod-bench-dask-"))
    trivial = notebook(tmp / "trivial.ipynb", "print(x)")
    slow = notebook(tmp / "slow.ipynb", "import time\ntime.sleep(10)\nprint(x)")
    rows: list[tuple[str, str, Result]] = []
    try:
        for name, nb, count in (("trivial", trivial, args.trivial), ("10 s", slow, args.slow)):
            if count <= 0:
                continue
            results: dict[str, Result] = {}
            for label in ("local", "dask"):
                home = tmp / f"{label}-{nb.stem}" / "home"
                home.mkdir(parents=True)
                env = {
                    **os.environ,
                    "NBPROD_HOME": str(home),
                    "NBPROD_CONFIG": str(tmp / "none.toml"),
                    "BENCH_JOB": f"bench-{nb.stem}",
                }
                print(f"{name}: {count} runs on {label} ...", flush=True)
                if label == "local":
                    result = run_queue(env, nb, count, ["--workers", str(args.workers)])
                else:
                    cluster = Cluster(env, args.workers)
                    try:
                        result = run_queue(
                            env,
                            nb,
                            count,
                            ["--executor", "dask", "--dask-scheduler", cluster.address],
                        )
                    finally:
                        cluster.stop()
                results[label] = result
                rows.append((name, f"nbprod {label}, {args.workers} workers", result))
            sample = min(args.papermill_sample, count)
            print(f"{name}: papermill CLI loop, {sample} measured ...", flush=True)
            pm = papermill_loop(nb, tmp, sample, count)
            rows.append((name, f"papermill CLI loop ({sample} measured, extrapolated)", pm))
            overhead = (results["dask"].wall - results["local"].wall) * args.workers / count
            rows.append(
                (
                    name,
                    f"dask overhead per run vs local: {overhead:+.3f} s; "
                    f"dask/local wall {results['dask'].wall / results['local'].wall:.2f}x; "
                    f"papermill loop/dask {pm.wall / results['dask'].wall:.2f}x",
                    Result("", 0, 0.0, []),
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("| workload | what | runs | wall s | runs/min | start lag p50 s | p99 s | mean run s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, what, r in rows:
        if not r.runs:
            print(f"| {name} | {what} | | | | | | |")
            continue
        lag = (
            (f"{percentile(r.lags, 50):.2f}", f"{percentile(r.lags, 99):.2f}")
            if r.lags
            else ("-", "-")
        )
        print(
            f"| {name} | {what} | {r.runs} | {r.wall:.1f} | {r.runs / r.wall * 60:.0f} | "
            f"{lag[0]} | {lag[1]} | " + (f"{r.mean_run:.2f} |" if r.mean_run is not None else "- |")
        )
    print(
        f"\n{platform.system()}, {os.cpu_count()} cpus, Python {platform.python_version()}; "
        "start lag counts from the moment every run was queued"
    )
    return 0


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


if __name__ == "__main__":
    sys.exit(main())
