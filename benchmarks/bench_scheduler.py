"""Throughput of the local executor: N trivial runs enqueued at once, beside papermill.

Usage::

    python benchmarks/bench_scheduler.py [--runs 1000] [--workers 2] [--papermill-sample 50]

A trivial two-cell notebook is applied as a job; N runs are put in the queue at the same
moment (as if N schedules fired together); ``nbprod scheduler --workers W`` executes them.
Measured: total wall time from the scheduler's start to the last run's end, runs per
minute, and the lag from the scheduled time to the run's start (p50/p99). Beside it, a loop
of ``papermill`` CLI calls on the same notebook (``--papermill-sample`` calls, extrapolated
to N) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--papermill-sample", type=int, default=50)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nbprod-bench-sched-"))
    env = {**os.environ, "NBPROD_HOME": str(tmp / "home"), "NBPROD_CONFIG": str(tmp / "none.toml")}
    os.environ.update({k: env[k] for k in ("NBPROD_HOME", "NBPROD_CONFIG")})
    nbprod = shutil.which("nbprod") or "nbprod"
    keep = False
    try:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "language": "python",
            "display_name": "Python 3",
        }
        cell = nbformat.v4.new_code_cell("x = 1")
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [cell, nbformat.v4.new_code_cell("print(x)")]
        path = tmp / "trivial.ipynb"
        nbformat.write(nb, path)
        (tmp / "job.yaml").write_text(
            f"name: bench\nnotebook: {path}\nconcurrency: {max(args.workers, 1) * 4}\n"
        )
        subprocess.run(
            [nbprod, "jobs", "apply", str(tmp / "job.yaml")],
            env=env,
            check=True,
            capture_output=True,
        )

        from nbprod.api import open_catalog
        from nbprod.catalog.queue import Queue
        from nbprod.config import Settings
        from nbprod.records import new_run_id
        from nbprod.store import open_store

        settings = Settings.load()
        catalog = open_catalog(settings)
        queue = Queue(catalog)
        store_url = open_store(settings.store).url
        now = datetime.now(timezone.utc)
        request = {"kind": "job", "job_version": 1, "parameters": {}, "trigger": "schedule"}
        for _ in range(args.runs):
            queue.enqueue(
                store_url, "bench", now, run_id=new_run_id(), scheduled_for=now, request=request
            )
        print(
            f"enqueued {args.runs} runs; starting the scheduler with {args.workers} workers",
            flush=True,
        )
        started = time.perf_counter()
        proc = subprocess.Popen(
            [nbprod, "scheduler", "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                counts = queue.counts()
                if counts.get("queued", 0) == 0 and counts.get("running", 0) == 0:
                    break
                time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(120)
        wall = time.perf_counter() - started
        records = [r for r in catalog.query_runs(store_url, _all()) if r.job == "bench"]
        catalog.close()
        statuses = {r.status.value for r in records}
        if len(records) != args.runs or statuses != {"succeeded"}:
            from collections import Counter

            errors = Counter(
                f"{r.status.value}: {r.error.ename}: {r.error.evalue[:120]}"
                for r in records
                if r.error
            )
            for text, count in errors.most_common(10):
                print(f"  {count} x {text}")
            keep = True
            raise SystemExit(
                f"expected {args.runs} succeeded runs, got {len(records)} {statuses}"
                f" (files kept in {tmp})"
            )
        lags = [(_parse(r.started_at) - _parse(r.scheduled_for)).total_seconds() for r in records]

        sample = args.papermill_sample
        pm_started = time.perf_counter()
        for n in range(sample):
            subprocess.run(
                [
                    "papermill",
                    str(path),
                    str(tmp / f"pm-{n}.ipynb"),
                    "-k",
                    "python3",
                    "--no-progress-bar",
                ],
                check=True,
                capture_output=True,
            )
        pm_each = (time.perf_counter() - pm_started) / sample
        pm_total = pm_each * args.runs

        print()
        print("| what | runs | wall s | runs/min | lag p50 s | lag p99 s |")
        print("|---|---|---|---|---|---|")
        print(
            f"| nbprod scheduler, {args.workers} workers | {args.runs} | {wall:.1f} | "
            f"{args.runs / wall * 60:.0f} | {percentile(lags, 50):.1f} | "
            f"{percentile(lags, 99):.1f} |"
        )
        print(
            f"| papermill CLI loop ({sample} measured, extrapolated) | {args.runs} | "
            f"{pm_total:.1f} | {args.runs / pm_total * 60:.0f} | - | - |"
        )
        print(
            f"\nratio (papermill loop / nbprod): {pm_total / wall:.2f}x; "
            f"{platform.system()}, {os.cpu_count()} cpus, Python {platform.python_version()}; "
            f"mean run {statistics.mean(r.duration_s for r in records):.2f} s"
        )
        return 0
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _all():
    from nbprod.catalog.query import RunFilter

    return RunFilter(limit=None)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


if __name__ == "__main__":
    sys.exit(main())
