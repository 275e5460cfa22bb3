"""How long a queued run waits: one run into an idle scheduler, and 20 runs at once.

Usage::

    python benchmarks/bench_latency.py [--single 8] [--burst 20] [--workers 2] [--json PATH]
                                       [--jupyter-scheduler]

A trivial two-cell notebook (a ``parameters`` cell ``x = 1``, then ``print(x)``) is applied
as a job in a fresh home (SQLite catalog, local store). ``nbprod scheduler --workers W`` is
started and left idle until its workers are up (and, with warm kernels, their first kernel
booted), then:

* **single**: one run is queued (``Queue.enqueue``, as ``jobs run --queue`` or a firing
  schedule does), the benchmark waits for its end, sleeps 1.5 s, and queues the next:
  ``--single`` times. Measured per run: from the enqueue call to the ``finished_at`` of its
  run record (the worker's clock on the same machine), median and min/max.
* **burst**: ``--burst`` runs are queued at once; measured: from the first enqueue to the
  last run's ``finished_at``.

Both are measured twice in the same invocation, one after the other: with the default
settings, and with ``warm_kernels = off`` and without the doorbell (what a worker did
before: every run starts its kernel when claimed, and an idle worker notices a run at its
next poll, every 0.5 s). Beside them: one ``papermill`` CLI call of the same notebook
(whole command), and with ``--jupyter-scheduler`` the same burst through jupyter-scheduler
(installed into its own virtualenv by ``peer_jupyter_scheduler.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent


@dataclass
class Figures:
    label: str
    single: list[float] = field(default_factory=list)
    burst: float | None = None


def notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py3"}
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(x)")]
    nbformat.write(nb, path)
    return path


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure(label: str, tmp: Path, nb: Path, args: argparse.Namespace, extra: dict) -> Figures:
    """A fresh home, the job applied, an idle scheduler; then the single and burst runs."""
    from nbprod.catalog import open_catalog
    from nbprod.catalog.queue import Queue
    from nbprod.config import Settings
    from nbprod.records import new_run_id
    from nbprod.store import open_store

    home = tmp / label
    env = {
        **os.environ,
        "NBPROD_HOME": str(home),
        "NBPROD_CONFIG": str(tmp / "none.toml"),
        **extra,
    }
    nbprod = shutil.which("nbprod") or "nbprod"
    job_file = tmp / f"{label}.yaml"
    job_file.write_text(f"name: bench\nnotebook: {nb}\nconcurrency: 1000\n")
    subprocess.run(
        [nbprod, "jobs", "apply", str(job_file)], env=env, check=True, capture_output=True
    )
    settings = Settings.load(environ=env)
    catalog = open_catalog(settings)
    queue = Queue(catalog)
    store = open_store(settings.store)
    figures = Figures(label)
    request = {"kind": "job", "job_version": 1, "parameters": {}, "trigger": "manual"}
    scheduler = subprocess.Popen(
        [nbprod, "scheduler", "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def enqueue() -> tuple[str, float]:
        run_id = new_run_id()
        moment = time.time()
        queue.enqueue(
            store.url, "bench", datetime.now(timezone.utc), run_id=run_id, request=request
        )
        return run_id, moment

    def finished(run_id: str, timeout: float = 120) -> float:
        path = Path(store.url.removeprefix("file://")) / "bench" / run_id / "run.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                record = None
            if record and record.get("status") not in (None, "running"):
                if record["status"] != "succeeded":
                    raise SystemExit(f"{label}: run {run_id} ended {record['status']}")
                return parse(record["finished_at"]).timestamp()
            time.sleep(0.02)
        raise SystemExit(f"{label}: run {run_id} did not end in {timeout} s")

    try:
        # workers up, and two rounds of runs, so that each worker's kernel zygote is up
        # and the kernel waiting for the next run is a forked one
        for _ in range(2):
            for run_id in [enqueue()[0] for _ in range(args.workers)]:
                finished(run_id)
            time.sleep(3)
        for n in range(args.single):
            run_id, moment = enqueue()
            figures.single.append(finished(run_id) - moment)
            if not args.quiet:
                print(f"  {label} single {n + 1}: {figures.single[-1]:.3f} s", flush=True)
            time.sleep(1.5)
        if args.burst:
            time.sleep(1.5)
            started = time.time()
            ids = [enqueue()[0] for _ in range(args.burst)]
            figures.burst = max(finished(run_id, 600) for run_id in ids) - started
            if not args.quiet:
                print(f"  {label} burst of {args.burst}: {figures.burst:.2f} s", flush=True)
    finally:
        os.killpg(scheduler.pid, signal.SIGINT)
        try:
            scheduler.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(scheduler.pid, signal.SIGKILL)
        catalog.close()
    return figures


def papermill_once(nb: Path, tmp: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["papermill", str(nb), str(tmp / "pm.ipynb"), "-k", "python3", "--no-progress-bar"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=8)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--jupyter-scheduler", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nbprod-bench-latency-"))
    try:
        nb = notebook(tmp / "trivial.ipynb")
        quiet = tmp / "no-doorbell"
        quiet.mkdir()
        runs = [
            measure("warm", tmp, nb, args, {}),
            # Without the doorbell: the scheduler's workers listen in another temporary
            # folder, so this process's rings reach nobody and they notice runs by polling.
            measure("cold", tmp, nb, args, {"NBPROD_WARM_KERNELS": "off", "TMPDIR": str(quiet)}),
        ]
        papermill = [papermill_once(nb, tmp) for _ in range(3)]
        peer = None
        if args.jupyter_scheduler and args.burst:
            sys.path.insert(0, str(HERE))
            from peer_jupyter_scheduler import ensure_venv, time_jobs

            venv = ensure_venv(Path.home() / ".cache" / "nbprod-bench" / "jupyter-scheduler")
            peer = time_jobs(venv, nb, args.burst, tmp / "js")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    warm, cold = runs
    pm = statistics.median(papermill)
    print()
    print("| what | nbprod, warm kernels + doorbell | nbprod, cold kernels + 0.5 s poll | peer |")
    print("|---|---|---|---|")
    print(
        f"| one run queued to an idle scheduler ({args.workers} workers): enqueue → finished, "
        f"median of {args.single} (min–max) s | {span(warm.single)} | {span(cold.single)} | "
        f"papermill CLI, one run: {pm:.2f} |"
    )
    if args.burst:
        peer_text = f"jupyter-scheduler: {peer:.1f}" if peer is not None else "—"
        print(
            f"| {args.burst} runs queued at once, all done ({args.workers} workers) s | "
            f"{warm.burst:.2f} | {cold.burst:.2f} | {peer_text} |"
        )
    print(
        f"\nwarm/cold, single: {ratio(warm.single, cold.single):.2f}x"
        f"; {platform.system()}, {os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"runs": [asdict(r) for r in runs], "papermill": papermill, "peer": peer}, indent=2
            )
        )
    return 0


def ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(a) / statistics.median(b)


def span(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


if __name__ == "__main__":
    sys.exit(main())
