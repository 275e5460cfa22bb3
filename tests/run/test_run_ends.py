"""Every announced run ends exactly once, in a terminal record with its output kept."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pytest

import nbprod
from nbprod.errors import BadInput
from nbprod.records import RunRecord, RunStatus
from tests.conftest import load_output


def _stored(store_dir, run: nbprod.Run) -> RunRecord:
    return RunRecord.from_json((store_dir / run.record.artifacts["record"]).read_text("utf-8"))


def test_fractional_cell_timeout_times_out_the_cell(make_notebook, store_dir):
    nb = make_notebook("x = 1", "import time; time.sleep(30)", "print('never')")
    run = nbprod.execute(nb, cell_timeout=0.5)
    assert run.status is RunStatus.TIMED_OUT, run.record.error
    assert "0.5 s timeout" in run.record.error.evalue
    assert _stored(store_dir, run).status is RunStatus.TIMED_OUT
    assert run.record.cell_timeout_s == 0.5
    out = load_output(run.output_location)
    assert out.cells[run.record.error.cell_index].source.startswith("import time")


def test_fractional_cell_timeout_lets_fast_cells_pass(make_notebook):
    run = nbprod.execute(make_notebook("x = 1", "print(x)"), cell_timeout=1.5)
    assert run.status is RunStatus.SUCCEEDED


@pytest.mark.parametrize("value", [math.nan, math.inf, 0, -1])
def test_non_finite_or_non_positive_timeouts_are_bad_input(make_notebook, store_dir, value):
    nb = make_notebook("x = 1")
    with pytest.raises(BadInput, match="positive number of seconds"):
        nbprod.execute(nb, cell_timeout=value)
    with pytest.raises(BadInput, match="positive number of seconds"):
        nbprod.execute(nb, timeout=value)
    assert not store_dir.exists() or not any(store_dir.glob("nb/*"))


def _strict(text: str):
    def refuse(constant: str):
        raise AssertionError(f"bare {constant} in run.json")

    return json.loads(text, parse_constant=refuse)


def test_run_records_are_strict_json_with_a_nan_scrap(make_notebook, store_dir):
    nb = make_notebook(
        "import scrapbook as sb\nsb.glue('ratio', float('nan'))\nsb.glue('top', float('inf'))",
        parameters="big = 1e999\nlimit = 3",
    )
    run = nbprod.execute(nb, {"limit": 4})
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    data = _strict((store_dir / run.record.artifacts["record"]).read_text("utf-8"))
    # the kernel's JSON sends a NaN scrap as null; were one to arrive, it is written "NaN"
    assert data["scraps"]["ratio"]["value"] in (None, "NaN")
    assert data["scraps"]["top"]["value"] in (None, "Infinity")
    assert data["parameters"] == {"limit": 4}  # the default 1e999 stays in the notebook


def test_a_non_finite_float_outside_the_parameters_is_written_as_a_string():
    from nbprod.records import NotebookInfo

    record = RunRecord("r", "j", RunStatus.SUCCEEDED, NotebookInfo("p", "n", "s"), "k", "s")
    record.scraps = {"x": {"value": [math.nan, -math.inf]}}
    assert _strict(record.to_json())["scraps"]["x"]["value"] == ["NaN", "-Infinity"]


def test_running_record_names_the_cell_executing_now_and_its_start(
    make_notebook, store_dir, monkeypatch
):
    """A run stuck in one long cell is told apart from one making progress."""
    import threading
    import time

    monkeypatch.setenv("NBPROD_PROGRESS_SECONDS", "0.5")
    nb = make_notebook("x = 1", "print(2)", "import time; time.sleep(8)", "print('end')")
    seen: list[dict] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for path in (store_dir / "nb").glob("*/run.json"):
                try:
                    data = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                if data["status"] == "running":
                    seen.append(data["progress"])
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run = nbprod.execute(nb)
    finally:
        stop.set()
        watcher.join()
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    long_cell = [p for p in seen if p.get("cell_index") == 2]
    assert long_cell, seen
    assert long_cell[-1]["cells_done"] == 2 and long_cell[-1]["cell_started_at"]
    final = _stored(store_dir, run).progress
    assert final.cells_done == 4 and final.cell_index is None and final.cell_started_at is None


def test_a_notebook_holding_a_lone_surrogate_is_stored(tmp_path, store_dir, nbprod_env):
    """Valid as a JSON escape in the input, not as UTF-8: the output keeps it escaped."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "P", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("print(1)"), nbformat.v4.new_markdown_cell("x")]
    path = tmp_path / "sur.ipynb"
    path.write_text(json.dumps(nb).replace('"x"', '"lone \\ud800 here"'))
    run = nbprod.execute(path)
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    assert _stored(store_dir, run).status is RunStatus.SUCCEEDED
    out = Path(run.output_location).read_text("utf-8")
    assert "\\ud800" in out and json.loads(out)["cells"][1]["source"] == "lone \ud800 here"


KERNEL_EXIT_PROBE = """
import atexit, glob, json, pathlib, time

def _at_kernel_exit():
    time.sleep(1.5)  # the kernel is slow to exit: a run's record must not wait for it
    records = [json.loads(pathlib.Path(p).read_text()) for p in glob.glob({pattern!r})]
    pathlib.Path({marker!r}).write_text(",".join(r["status"] for r in records))

atexit.register(_at_kernel_exit)
"""


def test_the_run_is_kept_while_the_kernel_exits_and_returns_once_it_has(
    make_notebook, store_dir, tmp_path
):
    """The kernel is asked to shut down when the cells are done; the output and the final
    record are kept during its exit (0.2-0.3 s for ipykernel), and the run returns only
    once it has exited: its atexit handlers ran, the files it flushes are complete."""
    marker = tmp_path / "kernel-exit.txt"
    pattern = str(store_dir / "probe" / "*" / "run.json")
    nb = make_notebook(KERNEL_EXIT_PROBE.format(pattern=pattern, marker=str(marker)))
    run = nbprod.execute(nb, job="probe")
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    assert marker.read_text() == "succeeded"  # kept before the kernel's exit ended
