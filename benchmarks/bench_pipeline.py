"""A 10-step fan-out pipeline on two workers: wall time against the sum of its steps, beside
the same ten notebooks chained with the papermill CLI, in one invocation.

Usage::

    python benchmarks/bench_pipeline.py [--fan-out 9] [--sleep 3] [--workers 2] [--repeat 2]

The pipeline is one root step (``extract``: glues ``rows``) and ``--fan-out`` steps that each
need it, take ``rows`` from it through ``parameters_from`` (typed) and sleep ``--sleep``
seconds: the shape of a daily fan-out (one extract, many per-segment reports). It runs with
``nbprod pipelines run`` on the embedded default (local store, SQLite catalog) with
``--workers`` worker processes, in a fresh home. Measured: the command's wall time, the sum
of the steps' own durations (from the pipeline run's record), their ratio (what running
steps in parallel gained), and the floor two workers allow (root + ceil(fan-out / W) x the
slowest step). The peer: the same notebooks one after another with the ``papermill`` CLI
(what a shell script or cron job chaining them does; the root's value passed with ``-p``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat


def notebook(path: Path, parameters: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py3"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


GLUE = (
    "from IPython.display import display\n"
    "def glue(name, value):\n"
    "    display({'application/scrapbook.scrap.json+json': "
    "{'name': name, 'data': value, 'encoder': 'json', 'version': 1}}, raw=True, "
    "metadata={'scrapbook': {'name': name, 'data': True, 'display': False}})\n"
)


def build(folder: Path, fan_out: int, sleep: float) -> tuple[Path, list[Path]]:
    folder.mkdir(parents=True)
    extract = notebook(folder / "extract.ipynb", "days = 7", GLUE + "glue('rows', days * 100)")
    steps = [f"  - name: extract\n    notebook: {extract.name}\n"]
    notebooks = [extract]
    for i in range(fan_out):
        nb = notebook(
            folder / f"report{i}.ipynb",
            "rows = 0",
            f"import time\ntime.sleep({sleep})\nprint('segment {i}', rows)",
        )
        notebooks.append(nb)
        steps.append(
            f"  - name: report{i}\n    notebook: {nb.name}\n    needs: [extract]\n"
            "    parameters_from: {rows: extract.rows}\n"
        )
    spec = folder / "fanout.yaml"
    spec.write_text("name: fanout\nsteps:\n" + "".join(steps))
    return spec, notebooks


def nbprod_run(spec: Path, home: Path, workers: int) -> tuple[float, float, float, float]:
    """(wall, sum of step durations, the root's, the slowest fan-out step's) of one run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBPROD_")}
    env.update(
        NBPROD_HOME=str(home),
        NBPROD_CONFIG=str(home / "none.toml"),
        NBPROD_WORKERS=str(workers),
    )
    nbprod = [sys.executable, "-m", "nbprod"]
    subprocess.run(
        [*nbprod, "pipelines", "apply", str(spec)], env=env, check=True, capture_output=True
    )
    started = time.perf_counter()
    done = subprocess.run(
        [*nbprod, "pipelines", "run", "fanout", "--json"], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pipelines run failed:\n{done.stdout}\n{done.stderr}")
    run = json.loads(done.stdout)
    durations = {s["name"]: s["duration_s"] or 0.0 for s in run["steps"]}
    fan = [d for name, d in durations.items() if name != "extract"]
    return wall, sum(durations.values()), durations["extract"], max(fan)


def papermill_chain(notebooks: list[Path], out: Path) -> float:
    out.mkdir(exist_ok=True)
    started = time.perf_counter()
    for nb in notebooks:
        args = ["papermill", str(nb), str(out / nb.name), "-k", "python3", "--log-level", "ERROR"]
        if nb.stem != "extract":
            args += ["-p", "rows", "700"]
        subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fan-out", type=int, default=9)
    parser.add_argument("--sleep", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-pipeline-") as tmp_name:
        tmp = Path(tmp_name)
        spec, notebooks = build(tmp / "nb", args.fan_out, args.sleep)
        walls, sums, floors, peers = [], [], [], []
        rounds = math.ceil(args.fan_out / args.workers)
        for i in range(args.repeat):
            print(f"run {i + 1}/{args.repeat}: nbprod pipelines run ...", flush=True)
            wall, total, root, slowest = nbprod_run(spec, tmp / f"home{i}", args.workers)
            walls.append(wall)
            sums.append(total)
            floors.append(root + rounds * slowest)
            print(f"run {i + 1}/{args.repeat}: papermill chain ...", flush=True)
            peers.append(papermill_chain(notebooks, tmp / f"pm{i}"))
        wall, total, peer, floor_s = (statistics.median(v) for v in (walls, sums, peers, floors))
    steps = args.fan_out + 1
    print()
    print(f"{platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"{steps} steps (1 root + {args.fan_out} fan-out, each sleeping {args.sleep:g} s), "
        f"{args.workers} workers, median of {args.repeat}"
    )
    print()
    print("| what | wall s | sum of steps s | sum/wall | vs papermill chain |")
    print("|---|---|---|---|---|")
    print(
        f"| nbprod pipelines run | {wall:.1f} | {total:.1f} | {total / wall:.2f}x | "
        f"{wall / peer:.2f}x |"
    )
    print(f"| papermill CLI chain (one after another) | {peer:.1f} | — | — | 1.00x |")
    print(
        f"| floor: the root + {rounds} rounds of the slowest step on {args.workers} workers "
        f"| {floor_s:.1f} | — | — | {floor_s / peer:.2f}x |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
