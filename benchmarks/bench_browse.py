"""The browse UI against a big store: job page, files listing, notebook rendering.

Usage::

    python benchmarks/bench_browse.py [--runs 10000] [--repeat 15] [--json PATH]

A local store is filled with ``--runs`` synthetic run records of one job (as
bench_catalog.py does) and indexed with ``nbprod catalog rebuild``; a 4 MB output notebook
(200 cells, each printing 20,000 characters) is stored beside them. Then ``nbprod browse``
is started as a real server and timed over HTTP (time to first byte, medians):

* the job page (run history, filters, charts of the newest 200 runs) of the 10,000-run job;
* a files listing page (100 entries) of the job's folder with 10,000 run folders, the
  first page and a page deep into the folder;
* the rendered output notebook: cold (empty cache) and cached, beside
  ``jupyter nbconvert --to html`` on the same file (a whole command).

Goals: job page and listing under 200 ms, cached render under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_catalog import fill_store  # noqa: E402

GOAL_PAGE_S = 0.2
GOAL_CACHED_S = 0.05
TOKEN = "bench-token"


def big_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for i in range(200):
        cell = nbformat.v4.new_code_cell('print("x" * 20_000)', execution_count=i + 1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 20_000 + "\n")]
        nb.cells.append(cell)
    nbformat.write(nb, path)


def ttfb(url: str, params: dict) -> float:
    started = time.perf_counter()
    with requests.get(url, params=params, stream=True, timeout=120) as response:
        response.raw.read(1)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        _ = response.content  # drain the body
    return elapsed


def median_ttfb(url: str, params: dict, repeat: int) -> float:
    ttfb(url, params)  # warm-up (connection pool, first template compile)
    return statistics.median(ttfb(url, params) for _ in range(repeat))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", type=Path, help="Also save the results as JSON.")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nbprod-bench-browse-"))
    store = tmp / "store"
    env = {
        **os.environ,
        "NBPROD_HOME": str(tmp / "home"),
        "NBPROD_CONFIG": str(tmp / "none.toml"),
        "NBPROD_STORE": str(store),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
    }
    nbprod = shutil.which("nbprod") or "nbprod"
    job = "daily-sales"
    server = None
    try:
        print(f"filling {store} with {args.runs} runs of {job} ...", flush=True)
        fill_store(str(store), args.runs, job)
        subprocess.run([nbprod, "catalog", "rebuild"], env=env, check=True, capture_output=True)
        notebook = store / job / "big-output" / "report.ipynb"
        notebook.parent.mkdir(parents=True)
        big_notebook(notebook)
        size_mb = notebook.stat().st_size / 1e6

        port = free_port()
        server = subprocess.Popen(
            [nbprod, "browse", "--port", str(port), "--token", TOKEN],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for line in server.stdout:  # type: ignore[union-attr]
            if re.search(r"nbprod browse: open ", line):
                break
        base = f"http://127.0.0.1:{port}/nbprod"
        auth = {"token": TOKEN}

        job_page = median_ttfb(f"{base}/jobs/{job}", auth, args.repeat)
        listing = median_ttfb(f"{base}/files/{job}", auth, args.repeat)
        # a page deep into the folder: the cursor after the 5,000th run folder
        folders = sorted(p.name for p in (store / job).iterdir())
        deep = {**auth, "after": folders[len(folders) // 2] + "/", "start": "5001"}
        listing_deep = median_ttfb(f"{base}/files/{job}", deep, args.repeat)

        render_url = f"{base}/render/{job}/big-output/report.ipynb"
        cache = tmp / "home" / "cache" / "html"
        colds = []
        for _ in range(3):
            shutil.rmtree(cache, ignore_errors=True)
            colds.append(ttfb(render_url, auth))
        cold = statistics.median(colds)
        cached = median_ttfb(render_url, auth, args.repeat)

        convert_times = []
        for _ in range(3):
            out = tmp / "nbconvert-out"
            started = time.perf_counter()
            subprocess.run(
                [shutil.which("jupyter") or "jupyter", "nbconvert", "--to", "html",
                 "--output-dir", str(out), str(notebook)],
                check=True,
                capture_output=True,
            )  # fmt: skip
            convert_times.append(time.perf_counter() - started)
        nbconvert_s = statistics.median(convert_times)
    finally:
        if server and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)

    def verdict(value: float, goal: float) -> str:
        return f"goal < {goal * 1000:.0f} ms: {'MET' if value < goal else 'NOT MET'}"

    rows = [
        (f"job page, {args.runs} runs (TTFB)", job_page, verdict(job_page, GOAL_PAGE_S)),
        (
            f"files listing, first 100 of {args.runs} folders (TTFB)",
            listing,
            verdict(listing, GOAL_PAGE_S),
        ),
        (
            "files listing, page after entry 5,000 (TTFB)",
            listing_deep,
            verdict(listing_deep, GOAL_PAGE_S),
        ),
        (
            f"render {size_mb:.1f} MB notebook, cold",
            cold,
            f"{nbconvert_s / cold:.1f}x faster than the nbconvert CLI",
        ),
        (
            f"render {size_mb:.1f} MB notebook, cached",
            cached,
            f"{verdict(cached, GOAL_CACHED_S)}; {nbconvert_s / cached:.0f}x faster than nbconvert",
        ),
        ("`jupyter nbconvert --to html` on the same file", nbconvert_s, "whole command"),
    ]
    machine = f"{platform.system()} {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print()
    print("| what | median ms | note |")
    print("|---|---|---|")
    for name, value, note in rows:
        print(f"| {name} | {value * 1000:.1f} | {note} |")
    print(f"\nlocal store, {args.runs} runs, {args.repeat} repeats, {machine}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.now(timezone.utc).date().isoformat(),
                    "machine": machine,
                    "runs": args.runs,
                    "results_s": {name: value for name, value, _ in rows},
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
