"""Wall-clock benchmark: the ``papermill`` CLI versus ``nbprod`` on the same notebooks.

Usage::

    python benchmarks/bench_exec.py [--repeat N] [--quick] [--only SECTION] [--bin-dir DIR]
                                    [--json PATH]

Three sections, each run side by side (papermill, nbprod, papermill, nbprod, ...):

* ``startup``: commands that start no kernel: ``nbprod --help``, ``nbprod params NB`` and
  ``nbprod exec``'s refusals of bad input (a missing notebook, an unknown parameter, a wrong
  type), beside papermill's nearest equivalents where it has one (``papermill --help``,
  ``papermill --help-notebook NB``, ``papermill missing.ipynb out.ipynb``);
* ``trivial``: a ``parameters`` cell ``x = 1`` and ``print(x)`` (start-up cost dominates);
* ``200-cell``: 200 code cells each printing 20 KB (per-cell bookkeeping dominates;
  papermill rewrites and re-validates the whole output notebook at every cell start/end).

The wall time of each whole command (interpreter start-up, imports, kernel start, execution,
final writes, exit) is measured. Every exit code must be the expected one and every output
notebook must hold the executed outputs, or the script stops.
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
GOALS = {"trivial": 0.5, f"{BIG_CELLS}-cell": 0.25}
"""Largest nbprod/papermill median ratio (nbprod's share of papermill's time) per notebook."""
STARTUP_GOAL_S = 0.3
"""Largest nbprod median for each start-up command (issue 13)."""
SECTIONS = ("startup", "trivial", f"{BIG_CELLS}-cell")


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
        """nbprod's median as a share of papermill's: 0.5 is twice as fast."""
        return self.median("nbprod") / self.median("papermill")


@dataclass
class StartupCommand:
    """A command that starts no kernel, with papermill's nearest equivalent (if any)."""

    name: str
    nbprod: list[str]
    nbprod_exit: int
    says: str
    """Text nbprod must print (stdout or stderr): the check that it did what is timed."""
    papermill: list[str] | None = None
    papermill_exit: int = 0


@dataclass
class StartupResult:
    name: str
    repeat: int
    times: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TOOLS})

    def median(self, tool: str) -> float | None:
        return statistics.median(self.times[tool]) if self.times[tool] else None


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


def _run(cmd: list[str], env: dict[str, str], cwd: Path, expect: int = 0) -> tuple[float, str]:
    """Run ``cmd``; return (wall seconds, stdout and stderr). Raise on another exit code."""
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
    if proc.returncode != expect:
        tail = "\n".join((proc.stdout + proc.stderr).replace("\r", "\n").splitlines()[-30:])
        raise BenchmarkError(
            f"command exited with {proc.returncode} (expected {expect}): {' '.join(cmd)}\n{tail}"
        )
    return elapsed, proc.stdout + proc.stderr if expect else proc.stdout


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


def bench_case(
    case: Case, work: Path, env: dict[str, str], verbose: bool, exe: dict[str, str]
) -> CaseResult:
    cells = len(nbformat.read(case.path, as_version=4).cells)
    result = CaseResult(case.name, cells, case.repeat)
    store = work / "store"
    for i in range(case.repeat):
        for tool in TOOLS:
            if tool == "papermill":
                out = work / f"papermill-{case.path.stem}-{i}.ipynb"
                cmd = [exe["papermill"], str(case.path), str(out), "-k", "python3"]
                elapsed, _ = _run(cmd, env, work)
            else:
                cmd = [exe["nbprod"], "exec", str(case.path), "--store", str(store)]
                cmd += ["--progress", "-q"]
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


def startup_commands(case: Case, work: Path, exe: dict[str, str]) -> list[StartupCommand]:
    """The commands of the ``startup`` section, on the trivial notebook (``x = 1``)."""
    nb, pm, nbp = str(case.path), exe["papermill"], exe["nbprod"]
    missing = str(work / "missing.ipynb")
    out = str(work / "startup-out.ipynb")
    return [
        StartupCommand("--help", [nbp, "--help"], 0, "exec", [pm, "--help"]),
        StartupCommand("params NB", [nbp, "params", nb], 0, "x ", [pm, "--help-notebook", nb]),
        StartupCommand(
            "exec missing.ipynb",
            [nbp, "exec", missing],
            2,
            "notebook not found",
            [pm, missing, out],
            1,
        ),
        StartupCommand(
            "exec NB -p unknown 1",
            [nbp, "exec", nb, "-p", "unknown", "1"],
            2,
            "unknown parameter",
        ),
        StartupCommand(
            "exec NB -p x notint", [nbp, "exec", nb, "-p", "x", "notint"], 2, "expects int"
        ),
    ]


def bench_startup(
    commands: list[StartupCommand], repeat: int, work: Path, env: dict[str, str], verbose: bool
) -> list[StartupResult]:
    results = []
    for command in commands:
        result = StartupResult(command.name, repeat)
        for i in range(repeat):
            runs = [("nbprod", command.nbprod, command.nbprod_exit)]
            if command.papermill is not None:
                runs.insert(0, ("papermill", command.papermill, command.papermill_exit))
            for tool, cmd, expect in runs:
                elapsed, text = _run(cmd, env, work, expect)
                if tool == "nbprod" and command.says not in text:
                    raise BenchmarkError(f"{' '.join(cmd)} did not print {command.says!r}")
                result.times[tool].append(elapsed)
                if verbose:
                    print(
                        f"  {command.name:<21} run {i + 1}/{repeat}  {tool:<9} {elapsed:6.3f} s",
                        flush=True,
                    )
        results.append(result)
    return results


def format_startup(results: list[StartupResult]) -> str:
    headers = ("command", "papermill median s", "nbprod median s", "nbprod min/max s", "runs")
    rows = []
    for r in results:
        pm = r.median("papermill")
        rows.append(
            (
                r.name,
                f"{pm:.3f}" if pm is not None else "-",
                f"{r.median('nbprod'):.3f}",
                f"{min(r.times['nbprod']):.3f} / {max(r.times['nbprod']):.3f}",
                str(r.repeat),
            )
        )
    return _markdown(headers, rows)


def startup_goal_lines(results: list[StartupResult]) -> list[str]:
    lines = []
    for r in results:
        if r.name == "--help":
            continue
        median = r.median("nbprod") or 0.0
        verdict = "MET" if median <= STARTUP_GOAL_S else "NOT MET"
        lines.append(f"goal {r.name}: <= {STARTUP_GOAL_S:g} s -> {median:.3f} s  {verdict}")
    return lines


def _markdown(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info(exe: dict[str, str]) -> dict[str, object]:
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
        "papermill_cli": exe["papermill"],
        "nbprod_cli": exe["nbprod"],
    }


def format_table(results: list[CaseResult]) -> str:
    headers = (
        "notebook",
        "papermill median s",
        "nbprod median s",
        "ratio (nbprod/pm)",
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
    return _markdown(headers, rows)


def goal_lines(results: list[CaseResult]) -> list[str]:
    lines = []
    for r in results:
        want = GOALS.get(r.notebook)
        if want is None:
            continue
        verdict = "MET" if r.ratio <= want else "NOT MET"
        lines.append(f"goal {r.notebook}: nbprod/pm <= {want:g}x -> {r.ratio:.2f}x  {verdict}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="Runs per tool per command or notebook [default: 10 start-up, 5 trivial, "
        "3 for 200-cell; --quick: 3, 2, 1].",
    )
    parser.add_argument(
        "--quick", action="store_true", help="Fewer runs (3 start-up, 2 trivial, 1 big)."
    )
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        action="append",
        help="Run only this section (repeatable) [default: all three].",
    )
    parser.add_argument(
        "--bin-dir",
        type=Path,
        metavar="DIR",
        help="Run DIR/papermill and DIR/nbprod instead of what is on PATH (e.g. the "
        "interpreter's bin folder, past pyenv's shims).",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="Also save results as JSON.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    parser.add_argument("-q", "--quiet", action="store_true", help="Do not print each run.")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _executables(bin_dir: Path | None) -> dict[str, str] | str:
    """Each tool's command, or why one is missing."""
    found = {}
    for tool in TOOLS:
        path = shutil.which(tool, path=str(bin_dir) if bin_dir else None)
        if path is None:
            return f"`{tool}` is not {'in ' + str(bin_dir) if bin_dir else 'on PATH'}"
        found[tool] = path
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    startup_repeat, trivial_repeat, big_repeat = (3, 2, 1) if args.quick else (10, 5, 3)
    if args.repeat is not None:
        startup_repeat = trivial_repeat = big_repeat = args.repeat
    sections = args.only or list(SECTIONS)
    exe = _executables(args.bin_dir)
    if isinstance(exe, str):
        print(f"bench_exec: error: {exe}", file=sys.stderr)
        return 2

    info = machine_info(exe)
    print(
        f"python {info['python']}  cpus {info['cpu_count']} (usable {info['cpus_usable']})  "
        f"papermill {info['papermill']}  nbprod {info['nbprod']}\n"
        f"commands: {exe['papermill']}  {exe['nbprod']}"
    )
    work = Path(tempfile.mkdtemp(prefix="nbprod-bench-"))
    env = _clean_env(work)
    cases = make_notebooks(work, trivial_repeat, big_repeat)
    startup: list[StartupResult] = []
    results = []
    try:
        if "startup" in sections:
            print(f"startup: {startup_repeat} run(s) per command, alternating", flush=True)
            commands = startup_commands(cases[0], work, exe)
            startup = bench_startup(commands, startup_repeat, work, env, not args.quiet)
        for case in cases:
            if case.name not in sections:
                continue
            print(f"{case.name}: {case.repeat} run(s) per tool, alternating", flush=True)
            results.append(bench_case(case, work, env, not args.quiet, exe))
    except (BenchmarkError, subprocess.TimeoutExpired) as exc:
        print(f"\nbench_exec: FAILED: {exc}", file=sys.stderr)
        print(f"bench_exec: temporary files kept in {work}", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    print()
    if startup:
        print(format_startup(startup))
        print()
    if results:
        print(format_table(results))
        print()
    for line in startup_goal_lines(startup) + goal_lines(results):
        print(line)
    if args.keep:
        print(f"temporary files kept in {work}")

    if args.json:
        payload = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": info,
            "startup": [asdict(r) for r in startup],
            "results": [{**asdict(r), "ratio": r.ratio} for r in results],
            "goals": {**GOALS, "startup_s": STARTUP_GOAL_S},
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"results saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
