"""Wall-clock benchmark: ``papermill`` CLI versus ``nbprod exec`` on the same notebooks.

Usage::

    python benchmarks/bench_exec.py [--repeat N] [--quick] [--json PATH]

Two notebooks are generated into a temporary folder:

* ``trivial``: a ``parameters`` cell ``x = 1`` and ``print(x)`` (start-up cost dominates);
* ``200-cell``: 200 code cells each printing 20 KB (per-cell bookkeeping dominates;
  papermill rewrites and re-validates the whole output notebook at every cell start/end).

Each notebook is run by both tools, alternating tool by tool, and the wall time of the whole
command (interpreter start-up, kernel start, execution, final write) is measured. Every exit
code must be 0 and every output notebook must hold the executed outputs, or the script stops.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

BIG_CELLS = 200
BIG_CHARS = 20_000
COMMAND_TIMEOUT_S = 1800
TOOLS = ("papermill", "nbprod")
GOALS = {"trivial": 1.0, f"{BIG_CELLS}-cell": 3.0}
"""Minimum papermill/nbprod median ratio each notebook should reach."""


class BenchmarkError(RuntimeError):
    """A run failed or produced an output notebook without the expected outputs."""


@dataclass
class Case:
    name: str
    path: Path
    repeat: int
    expected_streams: int
    expected_text: str


@dataclass
class CaseResult:
    notebook: str
    cells: int
    repeat: int
    times: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TOOLS})

    def median(self, tool: str) -> float:
        return statistics.median(self.times[tool])

    @property
    def ratio(self) -> float:
        return self.median("papermill") / self.median("nbprod")


def _kernelspec() -> dict[str, str]:
    return {"name": "python3", "display_name": "Python 3", "language": "python"}


def make_notebooks(folder: Path, trivial_repeat: int, big_repeat: int) -> list[Case]:
    meta = {"kernelspec": _kernelspec(), "language_info": {"name": "python"}}

    trivial = new_notebook(metadata=meta)
    trivial.cells = [
        new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        new_code_cell("print(x)"),
    ]
    trivial_path = folder / "trivial.ipynb"
    nbformat.write(trivial, trivial_path)

    big = new_notebook(metadata=meta)
    big.cells = [new_code_cell(f'print("x" * {BIG_CHARS:_})') for _ in range(BIG_CELLS)]
    big_path = folder / f"cells{BIG_CELLS}.ipynb"
    nbformat.write(big, big_path)

    return [
        Case("trivial", trivial_path, trivial_repeat, 1, "1\n"),
        Case(f"{BIG_CELLS}-cell", big_path, big_repeat, BIG_CELLS, "x" * BIG_CHARS + "\n"),
    ]


def _clean_env(work: Path) -> dict[str, str]:
    """Environment for both tools: nbprod's home and config inside the temp folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBPROD_")}
    env["NBPROD_HOME"] = str(work / "nbprod-home")
    env["NBPROD_CONFIG"] = str(work / "nbprod-config-absent.toml")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Run ``cmd``; return (wall seconds, stdout). Raise on a non-zero exit code."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=COMMAND_TIMEOUT_S,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).replace("\r", "\n").splitlines()[-30:])
        raise BenchmarkError(
            f"command failed with exit code {proc.returncode}: {' '.join(cmd)}\n{tail}"
        )
    return elapsed, proc.stdout


def _local_path(location: str) -> Path:
    if location.startswith("file://"):
        return Path(unquote(urlparse(location).path))
    return Path(location)


def check_output(path: Path, case: Case, tool: str) -> None:
    """The output notebook must hold each printing cell's stdout and no error output.

    The kernel may flush one ``print`` as several stream messages (e.g. the 20 KB text and
    its newline), so consecutive stdout streams of a cell are joined before comparing.
    """
    if not path.is_file():
        raise BenchmarkError(f"{tool}: output notebook {path} does not exist")
    nb = nbformat.read(path, as_version=4)
    printed = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        texts = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise BenchmarkError(
                    f"{tool}: {path} cell {index} has an error output: {out.get('ename')}"
                )
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                texts.append(out.get("text", ""))
        if texts:
            printed.append((index, "".join(texts)))
    if len(printed) != case.expected_streams:
        raise BenchmarkError(
            f"{tool}: {path} has stdout in {len(printed)} cells, expected {case.expected_streams}"
        )
    for index, text in printed:
        if text != case.expected_text:
            raise BenchmarkError(
                f"{tool}: {path} cell {index} printed {len(text)} unexpected characters"
            )


def bench_case(case: Case, work: Path, env: dict[str, str], verbose: bool) -> CaseResult:
    cells = len(nbformat.read(case.path, as_version=4).cells)
    result = CaseResult(case.name, cells, case.repeat)
    store = work / "store"
    for i in range(case.repeat):
        for tool in TOOLS:
            if tool == "papermill":
                out = work / f"papermill-{case.path.stem}-{i}.ipynb"
                cmd = ["papermill", str(case.path), str(out), "-k", "python3"]
                elapsed, _ = _run(cmd, env, work)
            else:
                cmd = ["nbprod", "exec", str(case.path), "--store", str(store), "--progress", "-q"]
                elapsed, stdout = _run(cmd, env, work)
                lines = stdout.strip().splitlines()
                if not lines:
                    raise BenchmarkError(f"nbprod printed no output location: {' '.join(cmd)}")
                out = _local_path(lines[-1].strip())
            check_output(out, case, tool)
            result.times[tool].append(elapsed)
            if verbose:
                print(
                    f"  {case.name:<9} run {i + 1}/{case.repeat}  {tool:<9} {elapsed:7.2f} s",
                    flush=True,
                )
    return result


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, object]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "papermill": _version("papermill"),
        "nbprod": _version("nbprod"),
        "nbclient": _version("nbclient"),
        "ipykernel": _version("ipykernel"),
        "papermill_cli": shutil.which("papermill"),
        "nbprod_cli": shutil.which("nbprod"),
    }


def format_table(results: list[CaseResult]) -> str:
    headers = (
        "notebook",
        "papermill median s",
        "nbprod median s",
        "ratio (pm/nbprod)",
        "papermill min/max s",
        "nbprod min/max s",
        "runs",
    )
    rows = []
    for r in results:
        pm, nb = r.times["papermill"], r.times["nbprod"]
        rows.append(
            (
                r.notebook,
                f"{r.median('papermill'):.2f}",
                f"{r.median('nbprod'):.2f}",
                f"{r.ratio:.2f}x",
                f"{min(pm):.2f} / {max(pm):.2f}",
                f"{min(nb):.2f} / {max(nb):.2f}",
                str(r.repeat),
            )
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def goal_lines(results: list[CaseResult]) -> list[str]:
    lines = []
    for r in results:
        want = GOALS.get(r.notebook)
        if want is None:
            continue
        verdict = "MET" if r.ratio >= want else "NOT MET"
        lines.append(f"goal {r.notebook}: ratio >= {want:g}x -> {r.ratio:.2f}x  {verdict}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="Runs per tool per notebook [default: 5 trivial, 3 for 200-cell; --quick: 2, 1].",
    )
    parser.add_argument("--quick", action="store_true", help="Fewer runs (2 trivial, 1 big).")
    parser.add_argument("--json", type=Path, metavar="PATH", help="Also save results as JSON.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    parser.add_argument("-q", "--quiet", action="store_true", help="Do not print each run.")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    trivial_repeat, big_repeat = (2, 1) if args.quick else (5, 3)
    if args.repeat is not None:
        trivial_repeat = big_repeat = args.repeat
    for exe in TOOLS:
        if shutil.which(exe) is None:
            print(f"bench_exec: error: `{exe}` is not on PATH", file=sys.stderr)
            return 2

    info = machine_info()
    print(
        f"python {info['python']}  cpus {info['cpu_count']} (usable {info['cpus_usable']})  "
        f"papermill {info['papermill']}  nbprod {info['nbprod']}"
    )
    work = Path(tempfile.mkdtemp(prefix="nbprod-bench-"))
    env = _clean_env(work)
    cases = make_notebooks(work, trivial_repeat, big_repeat)
    results = []
    try:
        for case in cases:
            print(f"{case.name}: {case.repeat} run(s) per tool, alternating", flush=True)
            results.append(bench_case(case, work, env, verbose=not args.quiet))
    except (BenchmarkError, subprocess.TimeoutExpired) as exc:
        print(f"\nbench_exec: FAILED: {exc}", file=sys.stderr)
        print(f"bench_exec: temporary files kept in {work}", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(format_table(results))
    print()
    for line in goal_lines(results):
        print(line)
    if args.keep:
        print(f"temporary files kept in {work}")

    if args.json:
        payload = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": info,
            "results": [{**asdict(r), "ratio": r.ratio} for r in results],
            "goals": GOALS,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"results saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
