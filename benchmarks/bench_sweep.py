"""Wall-clock benchmark: a 16-run ``nbprod sweep`` versus a loop of ``papermill`` CLI calls.

Usage::

    python benchmarks/bench_sweep.py [--runs 16] [--max-parallel 2] [--quick] [--json PATH]

A trivial notebook (a ``parameters`` cell ``x: int = 0``, then ``print(x)``) is written into
a temporary folder. The same parameter sets (x = 1..N) are executed

* by a shell-style loop of ``papermill IN OUT_i.ipynb -p x i -k python3`` (one after the other:
  what people write without a sweep tool);
* by ``nbprod sweep IN -p x 1,2,...,N --max-parallel P`` (one command; P worker processes);
* by the same sweep with ``--max-parallel 1`` (separates parallelism from per-run overhead).

Every command must exit 0 and every output notebook must hold ``x``'s printed value, or the
script stops with exit code 1 (keeping the temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


class BenchmarkError(RuntimeError):
    pass


def write_notebook(folder: Path) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = new_code_cell("x: int = 0  # the swept value")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell("print(x)")]
    path = folder / "trivial.ipynb"
    nbformat.write(nb, path)
    return path


def stdout_of(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[-1]
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        raise BenchmarkError(f"{path}: a cell raised {errors[0].get('ename')}")
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


def run_papermill(notebook: Path, folder: Path, values: list[int], quiet: bool) -> float:
    out = folder / "papermill"
    out.mkdir()
    papermill = shutil.which("papermill") or str(Path(sys.executable).with_name("papermill"))
    started = time.perf_counter()
    for x in values:
        target = out / f"out_{x}.ipynb"
        done = subprocess.run(
            [papermill, str(notebook), str(target), "-p", "x", str(x), "-k", "python3"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BenchmarkError(f"papermill x={x} exited {done.returncode}: {done.stderr[-500:]}")
    elapsed = time.perf_counter() - started
    for x in values:
        if stdout_of(out / f"out_{x}.ipynb") != f"{x}\n":
            raise BenchmarkError(f"papermill output for x={x} lacks its printed value")
    if not quiet:
        print(f"papermill loop      {len(values)} runs  {elapsed:7.2f} s", flush=True)
    return elapsed


def run_sweep(notebook: Path, folder: Path, values: list[int], parallel: int, quiet: bool) -> float:
    home = folder / f"nbprod-home-{parallel}"
    env = {
        **os.environ,
        "NBPROD_HOME": str(home),
        "NBPROD_CONFIG": str(folder / "no-config.toml"),
    }
    for name in ("NBPROD_STORE", "NBPROD_CATALOG", "NBPROD_TEMPLATES"):
        env.pop(name, None)
    nbprod = shutil.which("nbprod") or str(Path(sys.executable).with_name("nbprod"))
    command = [nbprod, "sweep", str(notebook), "-p", "x", ",".join(map(str, values))]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--max-parallel", str(parallel), "-q"], capture_output=True, text=True, env=env
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchmarkError(f"nbprod sweep exited {done.returncode}: {done.stderr[-500:]}")
    sweep_id = done.stdout.split()[0]
    shown = subprocess.run(
        [nbprod, "sweeps", "show", sweep_id, "--json"], capture_output=True, text=True, env=env
    )
    table = json.loads(shown.stdout)
    if table["counts"] != {"succeeded": len(values)}:
        raise BenchmarkError(f"sweep {sweep_id}: {table['counts']}")
    for row in table["rows"]:
        x = row["parameters"]["x"]
        if stdout_of(Path(row["output"])) != f"{x}\n":
            raise BenchmarkError(f"nbprod output for x={x} lacks its printed value")
    if not quiet:
        print(f"nbprod sweep -j {parallel}   {len(values)} runs  {elapsed:7.2f} s", flush=True)
    return elapsed


def machine() -> dict[str, str]:
    versions = {}
    for package in ("nbprod", "papermill", "nbclient", "ipykernel"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "?"
    return {
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        **versions,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16, help="parameter sets (default 16)")
    parser.add_argument("--max-parallel", type=int, default=2, help="sweep workers (default 2)")
    parser.add_argument("--quick", action="store_true", help="4 runs, no serial sweep")
    parser.add_argument("--no-serial", action="store_true", help="skip the -j 1 sweep")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()
    runs = 4 if args.quick else args.runs
    values = list(range(1, runs + 1))
    folder = Path(tempfile.mkdtemp(prefix="nbprod-bench-sweep-"))
    try:
        notebook = write_notebook(folder)
        results = {"papermill_loop": run_papermill(notebook, folder, values, args.quiet)}
        results[f"sweep_j{args.max_parallel}"] = run_sweep(
            notebook, folder, values, args.max_parallel, args.quiet
        )
        if not (args.quick or args.no_serial) and args.max_parallel != 1:
            results["sweep_j1"] = run_sweep(notebook, folder, values, 1, args.quiet)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc} (kept {folder})", file=sys.stderr)
        return 1
    ratio = results["papermill_loop"] / results[f"sweep_j{args.max_parallel}"]
    print()
    print(f"| command ({runs} runs of a trivial notebook) | wall time (s) | per run (s) |")
    print("|---|---:|---:|")
    print(
        f"| `papermill` CLI, a loop | {results['papermill_loop']:.1f} | "
        f"{results['papermill_loop'] / runs:.2f} |"
    )
    for key, seconds in results.items():
        if key.startswith("sweep_j"):
            print(
                f"| `nbprod sweep --max-parallel {key[7:]}` | {seconds:.1f} | "
                f"{seconds / runs:.2f} |"
            )
    print(f"\nratio papermill loop / nbprod sweep --max-parallel {args.max_parallel}: {ratio:.2f}")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "runs": runs, "seconds": results, "ratio": ratio})
        )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"kept {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
