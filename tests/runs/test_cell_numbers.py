"""One meaning of "cell N" and "N cells" (issue 16): the author's cells only, 1-based, in
every face, although the executed notebook also holds the injected-parameters cell and, on
failure, two error markers. Real kernels, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

import nbprod
from nbprod.records import RunRecord
from nbprod.store import open_store

PARAMS = "n = 1"
FAILING = ("x = n * 2", "raise ValueError(f'boom {x}')", "print('never')")
"""With the parameters cell first: the author's 3rd cell raises, of 4."""


def _run_id(exec_output: str) -> str:
    first = exec_output.splitlines()[0]  # "run <id>  job <job>  kernel <kernel>"
    assert first.startswith("run "), exec_output
    return first.split()[1]


def test_counts_are_the_authors_cells_with_parameters_injected(make_notebook, store_dir):
    path = make_notebook("a = n", "b = a + 1", "print(b)", "c = 3", parameters=PARAMS)
    k = len(nbformat.read(path, as_version=4).cells)
    seen: list[tuple[int, int]] = []

    run = nbprod.execute(path, {"n": 5}, on_progress=lambda done, total: seen.append((done, total)))

    record = run.record
    output = json.loads(open_store(store_dir).get(record.artifacts["output"]))
    assert len(output["cells"]) == k + 1  # the injected cell ran too
    assert (record.progress.cells_done, record.progress.cells_total) == (k, k)
    assert record.notebook.cells == k
    assert seen == [(done, k) for done in range(1, k + 1)]  # live progress: 1/5 ... 5/5


def test_a_failure_in_the_third_cell_is_cell_3_everywhere(cli, make_notebook, tmp_path):
    path = make_notebook(*FAILING, parameters=PARAMS, name="fails.ipynb")

    done = cli("exec", str(path), "-p", "n", "2")
    assert done.returncode == 1, done.stderr
    assert "ValueError: boom 4 (cell 3)" in done.stdout
    run_id = _run_id(done.stdout)

    shown = cli("runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "error      ValueError: boom 4 at cell 3" in shown.stdout
    assert "progress   3/4 cells" in shown.stdout  # 3 of its 4 cells ran, the failing one too

    as_json = json.loads(cli("runs", "show", run_id, "--json").stdout)
    error = as_json["error"]
    assert error["cell_number"] == 3
    output = nbformat.read(next(Path(tmp_path).rglob(f"{run_id}/fails.ipynb")), as_version=4)
    # the position still names the cell in the output notebook (anchors, JupyterLab)
    assert output.cells[error["cell_index"]].source == FAILING[1]
    assert error["cell_index"] == 5  # 2 markers + parameters + injected + x = n * 2

    debug = cli("runs", "debug", run_id, "--json")
    assert debug.returncode == 0, debug.stderr
    written = json.loads(debug.stdout)
    assert (written["cell_number"], written["cell_label"]) == (3, "cell 3")
    notebook = nbformat.read(tmp_path / written["path"], as_version=4)
    assert notebook.cells[written["cell"]].source == FAILING[1]  # the cell JupyterLab selects
    assert notebook.metadata["nbprod_debug"]["failing_cell_number"] == 3
    text = cli("runs", "debug", run_id)
    assert f"run {run_id} failed in cell 3" in text.stderr


def test_a_record_written_before_cell_number_still_shows(make_notebook, store_dir, cli):
    from nbprod.cli.common import summary
    from nbprod.diff import diff_runs
    from nbprod.diff_text import render_text
    from nbprod.server.rest import run_row
    from nbprod.show import describe

    path = make_notebook(*FAILING, parameters=PARAMS, name="old.ipynb")
    new = nbprod.execute(path, {"n": 2}).record
    old = new.to_dict()
    del old["error"]["cell_number"]  # what nbprod wrote before issue 16
    old["progress"] = {"cells_total": 7, "cells_done": 4}  # its counts included nbprod's cells
    old["error"]["future_field"] = "a newer writer's"  # unknown fields are ignored
    record = RunRecord.from_json(json.dumps(old))

    assert record.error.cell_number == 3 and record.error.cell_label == "cell 3"
    assert record.error.cell_index == new.error.cell_index
    store = open_store(store_dir)
    assert "ValueError: boom 4 at cell 3" in describe(record, store)
    assert summary(record).endswith("ValueError: boom 4 (cell 3)")
    assert run_row(record)["error"]["cell_label"] == "cell 3"
    assert "  b: ValueError: boom 4 (cell 3)" in render_text(diff_runs(store, new, record))

    # without parameters (no injected cell), the derivation counts no injected cell
    bare = dict(old, parameters_given=[])
    assert RunRecord.from_json(json.dumps(bare)).error.cell_number == 4
