"""Notebooks run as Jupyter and papermill run them (real kernels, real notebooks)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import nbformat
import pytest

import nbprod
from nbprod.records import RunRecord, RunStatus
from tests.conftest import load_output, write_notebook


def _texts(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def _stored(store_dir: Path, run: nbprod.Run) -> RunRecord:
    return RunRecord.from_json((store_dir / run.record.artifacts["record"]).read_text("utf-8"))


def test_a_cell_answered_with_an_error_reply_fails_the_run(make_notebook, store_dir):
    nb = make_notebook("print('before')", "%undefined-line-magic", "print('after')")
    run = nbprod.execute(nb)
    assert run.status is RunStatus.FAILED and run.exit_code == 1
    error = run.record.error
    assert error.ename == "UsageError" and "undefined-line-magic" in error.evalue
    assert _stored(store_dir, run).status is RunStatus.FAILED
    out = load_output(run.output_location)
    failing = out.cells[error.cell_index]
    assert failing.source == "%undefined-line-magic"
    assert failing.metadata["papermill"]["status"] == "failed"
    assert any(o.output_type == "error" and o.ename == "UsageError" for o in failing.outputs)
    assert 'id="papermill-error-cell"' in out.cells[error.cell_index - 1].source
    assert "papermill-error-cell-tag" in out.cells[0].metadata["tags"]
    assert out.cells[error.cell_index + 1].execution_count is None  # not executed


def test_kernels_keep_history_in_memory_as_nbclient_does(make_notebook, tmp_path, monkeypatch):
    ipython_dir = tmp_path / "ipython"
    monkeypatch.setenv("IPYTHONDIR", str(ipython_dir))
    nb = make_notebook(
        "import scrapbook as sb\n"
        "sb.glue('hist', str(get_ipython().history_manager.hist_file))\n"
        "secret_marker_1234 = 1"
    )
    run = nbprod.execute(nb)
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    assert run.record.scraps["hist"]["value"] == ":memory:"
    for db in ipython_dir.rglob("history.sqlite"):
        with sqlite3.connect(db) as conn:
            rows = conn.execute("select source from history").fetchall()
        assert not any("secret_marker_1234" in r[0] for r in rows)


def test_kernelspec_name_python_resolves_to_the_native_python3(tmp_path, nbprod_env):
    path = write_notebook(tmp_path / "old.ipynb", "print('hi')")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python", "language": "python"}
    nbformat.write(nb, path)
    run = nbprod.execute(path)
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    assert run.record.kernel == "python3"
    assert nbprod.execute(
        write_notebook(tmp_path / "k.ipynb", "1"), kernel="python"
    ).record.kernel == ("python3")


def test_parameters_reach_a_rerun_papermill_output(tmp_path, nbprod_env):
    """A papermill output: an injected-parameters cell right after the parameters cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "P", "language": "python"}
    params = nbformat.v4.new_code_cell("msg = None")
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('# Parameters\nmsg = "Hello"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [
        nbformat.v4.new_code_cell("import scrapbook as sb"),
        params,
        injected,
        nbformat.v4.new_code_cell("sb.glue('msg', msg)"),
    ]
    path = tmp_path / "simple_output.ipynb"
    nbformat.write(nb, path)
    run = nbprod.execute(path, {"msg": "Bye"})
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    assert run.record.scraps["msg"]["value"] == "Bye"
    out = load_output(run.output_location)
    tags = [c.metadata.get("tags", []) for c in out.cells]
    assert tags.index(["injected-parameters"]) == tags.index(["parameters"]) + 1
    assert sum("injected-parameters" in t for t in tags) == 1


def test_an_injected_cell_above_the_parameters_cell_is_replaced_below_it(tmp_path, nbprod_env):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "P", "language": "python"}
    stale = nbformat.v4.new_code_cell('msg = "stale"')
    stale.metadata["tags"] = ["injected-parameters"]
    params = nbformat.v4.new_code_cell("msg = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        stale,
        params,
        nbformat.v4.new_code_cell("import scrapbook as sb\nsb.glue('m', msg)"),
    ]
    path = tmp_path / "stale.ipynb"
    nbformat.write(nb, path)
    run = nbprod.execute(path, {"msg": "Bye"})
    assert run.record.scraps["m"]["value"] == "Bye"
    tags = [c.metadata.get("tags", []) for c in load_output(run.output_location).cells]
    assert tags[:2] == [["parameters"], ["injected-parameters"]]


def _v2_notebook(path: Path) -> Path:
    from nbformat import v2

    cells = [
        v2.new_code_cell(input="import scrapbook as sb\nprint('hi from v2')"),
        v2.new_code_cell(input="sb.glue('answer', 6 * 7)"),
    ]
    nb = v2.new_notebook(
        metadata=v2.new_metadata(name="old"), worksheets=[v2.new_worksheet(cells=cells)]
    )
    path.write_text(v2.writes_json(nb))
    return path


def _v3_notebook(path: Path) -> Path:
    from nbformat import v3

    cells = [
        v3.new_code_cell(input="import scrapbook as sb\nprint('hi from v3')"),
        v3.new_code_cell(input="sb.glue('answer', 6 * 7)"),
    ]
    nb = v3.new_notebook(worksheets=[v3.new_worksheet(cells=cells)])
    path.write_text(v3.writes_json(nb))
    return path


@pytest.mark.parametrize("make", [_v2_notebook, _v3_notebook])
def test_old_notebook_formats_are_upgraded_and_run(tmp_path, nbprod_env, store_dir, make):
    path = make(tmp_path / "old.ipynb")
    assert json.loads(path.read_text())["nbformat"] in (2, 3)
    run = nbprod.execute(path)
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    assert run.record.scraps["answer"]["value"] == 42
    out = load_output(run.output_location)
    assert "hi from v" in _texts(out.cells[0])
    assert _stored(store_dir, run).status is RunStatus.SUCCEEDED


def _output_widget_cells(pairs: int) -> list[str]:
    cells = []
    for k in range(pairs):
        cells.append(
            "import ipywidgets as widgets\nfrom IPython.display import clear_output\n"
            f"out{k} = widgets.Output()\nout{k}"
        )
        cells.append(f"print('hi{k}')\nwith out{k}:\n    print('hello world')\n    clear_output()")
    return [*cells, "import scrapbook as sb\nsb.glue('done', True)"]


def test_output_widgets_with_clear_output_do_not_hang(make_notebook):
    """nbclient's Output widget handler sends on the shell socket while the execute reply is
    awaited there; without polling in slices about one cell in ten never got its reply."""
    pytest.importorskip("ipywidgets")
    nb = make_notebook(*_output_widget_cells(12))
    run = nbprod.execute(nb, timeout=240)  # a hang would end as timed_out, not block pytest
    assert run.status is RunStatus.SUCCEEDED, run.record.error
    assert run.record.scraps["done"]["value"] is True
    out = load_output(run.output_location)
    assert "hi11" in _texts(out.cells[-2])


def _bookkeeping(nb) -> list[tuple]:
    """Each cell as papermill's bookkeeping leaves it, times reduced to their presence;
    the error marker cells (nbprod's and papermill's own) left out."""
    rows = []
    for cell in nb.cells:
        if "papermill-error-cell-tag" in cell.metadata.get("tags", []):
            continue
        meta = dict(cell.metadata["papermill"])
        timing = {k: meta.pop(k) is not None for k in ("start_time", "end_time", "duration")}
        outputs = [o.output_type for o in cell.get("outputs", [])]
        rows.append(
            (cell.cell_type, cell.source, meta, timing, cell.get("execution_count"), outputs)
        )
    return rows


def test_outputs_carry_papermills_bookkeeping_as_papermill_writes_it(tmp_path, nbprod_env):
    """The same notebook through papermill itself and through nbprod: the same per-cell
    status, exception flags, timings, counts and outputs, the same injected cell, the same
    notebook-level record (nbprod's bookkeeping is its own, not papermill's)."""
    papermill = pytest.importorskip("papermill")
    path = write_notebook(
        tmp_path / "book.ipynb",
        "print(n)",
        "raise ValueError('boom')",
        "print('never')",
        parameters="n = 1",
    )
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("a note"))
    nbformat.write(nb, path)
    theirs_path = tmp_path / "papermill-out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(path), str(theirs_path), parameters={"n": 2}, kernel_name="python3",
            progress_bar=False,
        )  # fmt: skip
    theirs = load_output(theirs_path)
    run = nbprod.execute(path, {"n": 2})
    assert run.status is RunStatus.FAILED
    ours = load_output(run.output_location)

    assert _bookkeeping(ours) == _bookkeeping(theirs)
    statuses = [row[2]["status"] for row in _bookkeeping(ours)]
    assert statuses == ["completed", "completed", "completed", "completed", "failed", "pending"]
    record_keys = {"start_time", "end_time", "duration", "exception"}
    mine, pm = ours.metadata["papermill"], theirs.metadata["papermill"]
    assert {k: type(mine[k]) for k in record_keys} == {k: type(pm[k]) for k in record_keys}
    assert mine["exception"] is pm["exception"] is True
    assert mine["parameters"] == pm["parameters"] == {"n": 2}
    assert ours.metadata["language_info"]["name"] == theirs.metadata["language_info"]["name"]
