"""Listing runs: the catalog versus reading the store alone, and rebuilding the catalog.

Usage::

    python benchmarks/bench_catalog.py [--runs 10000] [--repeat 7] [--s3] [--json PATH]

A store is filled with synthetic run records of one job (plus a few of another job), then:

* ``nbprod runs list --job J --limit 50`` from the catalog (the fast path),
* the same with ``--from-store`` (what a tool without an index must do: list every run
  folder of the job and read the newest records),
* ``nbprod catalog rebuild`` (index every record from the store alone),

each as a whole command (interpreter start-up included), medians over ``--repeat`` runs.
With ``--s3`` the store lives in a real ``moto_server`` process on 127.0.0.1 instead of a
local folder. Goal: the catalog listing answers in under 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

GOAL_S = 0.3


def synth_record(job: str, index: int, start: datetime, store_url: str) -> dict:
    from nbprod.records import (
        NotebookInfo,
        Progress,
        RunRecord,
        RunStatus,
        isoformat,
        new_run_id,
    )

    moment = start + timedelta(minutes=index)
    run_id = new_run_id(moment)
    status = RunStatus.FAILED if index % 17 == 0 else RunStatus.SUCCEEDED
    record = RunRecord(
        run_id=run_id,
        job=job,
        status=status,
        notebook=NotebookInfo(path=f"/work/{job}.ipynb", name=f"{job}.ipynb", sha256="0" * 64),
        kernel="python3",
        store=store_url,
        created_at=isoformat(moment),
        started_at=isoformat(moment),
        finished_at=isoformat(moment + timedelta(seconds=3)),
        duration_s=3.0 + index % 5,
        parameters={"region": ["eu", "us", "apac"][index % 3], "days": index % 30},
        parameters_given=["region", "days"],
        scraps={"revenue": {"encoder": "json", "inline": True, "value": 1000.0 + index}},
        progress=Progress(cells_total=10, cells_done=10),
        artifacts={
            "output": f"{job}/{run_id}/{job}.ipynb",
            "record": f"{job}/{run_id}/run.json",
        },
    )
    return record.to_dict()


def fill_store(store_url: str, runs: int, job: str) -> None:
    from nbprod.records import RunRecord
    from nbprod.store import layout, open_store

    store = open_store(store_url)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    jobs = [(job, i) for i in range(runs)] + [("other-job", i) for i in range(50)]

    def put(item: tuple[str, int]) -> None:
        name, index = item
        data = synth_record(name, index, start, store.url)
        record = RunRecord.from_dict(data)
        store.put(layout.record_key(name, record.run_id), record.to_json().encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, jobs))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return elapsed, done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--s3", action="store_true", help="Store in a local moto_server.")
    parser.add_argument("--json", type=Path, help="Also save the results as JSON.")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nbprod-bench-catalog-"))
    env = {**os.environ, "NBPROD_HOME": str(tmp / "home"), "NBPROD_CONFIG": str(tmp / "none.toml")}
    server = None
    try:
        if args.s3:
            port = free_port()
            server = subprocess.Popen(
                [shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(100):
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            aws = {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "AWS_ACCESS_KEY_ID": "x",
                "AWS_SECRET_ACCESS_KEY": "x",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            env.update(aws)
            os.environ.update(aws)
            import boto3

            boto3.client("s3").create_bucket(Bucket="bench-catalog")
            store_url = "s3://bench-catalog/notebooks"
        else:
            store_url = str(tmp / "store")
        env["NBPROD_STORE"] = store_url
        job = "daily-sales"
        print(f"filling {store_url} with {args.runs} runs of {job} ...", flush=True)
        started = time.perf_counter()
        fill_store(store_url, args.runs, job)
        print(f"  filled in {time.perf_counter() - started:.1f}s", flush=True)

        nbprod = [shutil.which("nbprod") or "nbprod"]
        rebuild_s, out = timed([*nbprod, "catalog", "rebuild"], env)
        print(f"catalog rebuild: {rebuild_s:.2f}s ({out.strip()})")

        listing = [*nbprod, "runs", "list", "--job", job, "--limit", "50"]
        catalog_times, store_times = [], []
        for _ in range(args.repeat):
            elapsed, out = timed(listing, env)
            catalog_times.append(elapsed)
            assert len(out.strip().splitlines()) == 51, out[:500]
            elapsed, out_store = timed([*listing, "--from-store"], env)
            store_times.append(elapsed)
            assert out_store == out, "store and catalog listings differ"
        help_times = [timed([*nbprod, "--help"], env)[0] for _ in range(args.repeat)]
        results = {
            "date": datetime.now(timezone.utc).date().isoformat(),
            "machine": f"{platform.system()} {os.cpu_count()} cpus, Python "
            f"{platform.python_version()}",
            "store": "s3 (moto_server)" if args.s3 else "local folder",
            "runs": args.runs,
            "catalog_list_median_s": statistics.median(catalog_times),
            "store_list_median_s": statistics.median(store_times),
            "help_median_s": statistics.median(help_times),
            "rebuild_s": rebuild_s,
        }
        ratio = results["store_list_median_s"] / results["catalog_list_median_s"]
        print()
        print("| what | median s | note |")
        print("|---|---|---|")
        print(f"| `nbprod --help` (CLI start-up) | {results['help_median_s']:.3f} | |")
        print(
            f"| `runs list --job J --limit 50`, catalog | "
            f"{results['catalog_list_median_s']:.3f} | goal < {GOAL_S} s: "
            f"{'MET' if results['catalog_list_median_s'] < GOAL_S else 'NOT MET'} |"
        )
        print(
            f"| same, `--from-store` | {results['store_list_median_s']:.3f} | "
            f"catalog {ratio:.1f}x faster |"
        )
        print(
            f"| `catalog rebuild` ({args.runs + 50} runs) | {rebuild_s:.2f} | "
            f"{(args.runs + 50) / rebuild_s:.0f} runs/s |"
        )
        print(
            f"\n{results['store']}, {args.runs} runs, {args.repeat} repeats, {results['machine']}"
        )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
