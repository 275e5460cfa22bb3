"""nbprod.diff on real runs: parameters, scraps, sources, outputs, failures, missing files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import nbprod
from nbprod.diff import diff_runs
from nbprod.diff_text import render_text
from nbprod.records import RunStatus
from nbprod.store import open_store
from tests.conftest import isolated_env, write_notebook

PARAMS = "x = 1\nfail = False"
SCRAPBOOK_GLUE = "import scrapbook as sb\nsb.glue('y', x * 0.5)\nsb.glue('label', 'fixed')"
# What scrapbook's glue writes, without its ~1.5 s import: for the tests that need no realism.
FAST_GLUE = """from IPython.display import display
def glue(name, value):
    mime = 'application/scrapbook.scrap.json+json'
    payload = {'name': name, 'data': value, 'encoder': 'json', 'version': 1}
    meta = {'scrapbook': {'name': name, 'data': True, 'display': False}}
    display({mime: payload}, raw=True, metadata=meta)
glue('y', x * 0.5)
glue('label', 'fixed')"""
CELLS = (
    FAST_GLUE,
    "print('x is', x)",
    "print('constant')",
    "z = 42",
    "from IPython.display import Image, display\n"
    "display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + bytes([x]), format='png'))",
    "if fail:\n    raise ValueError('boom')",
    "print('after')",
)
PRINT_CELL, CONSTANT_CELL, IMAGE_CELL, FAIL_CELL = 2, 3, 5, 6  # input indices (params first)


def _run(path: Path, **params) -> nbprod.Run:
    return nbprod.execute(path, params, job="calc")


@dataclass
class CalcRuns:
    """Runs of the calc notebook in one store, shared by the tests that only read them."""

    store: Path
    default: nbprod.Run
    x1: nbprod.Run
    x2: nbprod.Run
    x2_again: nbprod.Run
    x2_failing: nbprod.Run
    x2_edited: nbprod.Run
    """x=2 once the notebook's constant cell is edited (after all the others ran)."""


@pytest.fixture(scope="module")
def calc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalcRuns]:
    root = tmp_path_factory.mktemp("calc")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in isolated_env(root).items():
            patch.setenv(name, value)
        path = write_notebook(root / "notebooks" / "calc.ipynb", *CELLS, parameters=PARAMS)
        default, x1 = _run(path), _run(path, x=1)
        x2, x2_again, x2_failing = _run(path, x=2), _run(path, x=2), _run(path, x=2, fail=True)
        edited = list(CELLS)
        edited[CONSTANT_CELL - 1] = "print('constant, edited')"
        write_notebook(path, *edited, parameters=PARAMS)
        x2_edited = _run(path, x=2)
    store = root / "nbprod-home" / "store"
    yield CalcRuns(store, default, x1, x2, x2_again, x2_failing, x2_edited)


def _output_index(run: nbprod.Run, input_index: int) -> int:
    """Input cell index → output notebook index (the injected cell follows the parameters)."""
    return input_index + (1 if run.record.parameters_given else 0)


def test_parameter_change_shows_in_parameters_scraps_and_only_changed_outputs(
    make_notebook, store_dir
):
    notebook = make_notebook(SCRAPBOOK_GLUE, *CELLS[1:], parameters=PARAMS, name="calc.ipynb")
    a, b = _run(notebook, x=2), _run(notebook, x=3)
    d = diff_runs(open_store(store_dir), a.record, b.record)

    assert d.status is None and d.error is None and d.missing == {}
    assert [(c.name, c.kind, c.a, c.b) for c in d.parameters] == [("x", "changed", 2, 3)]
    assert [c.name for c in d.scraps] == ["y"]  # 'label' is glued with the same value
    assert d.scraps[0].a == 1.0 and d.scraps[0].b == 1.5
    assert d.scraps[0].delta == pytest.approx(0.5) and d.scraps[0].relative == pytest.approx(0.5)
    assert d.duration[2] == pytest.approx(b.record.duration_s - a.record.duration_s, abs=1e-3)
    assert not d.notebook_changed and d.source_diff == []

    changed = {c.index_a: c for c in d.output_diff}
    glue, printed, image = (_output_index(a, i) for i in (1, PRINT_CELL, IMAGE_CELL))
    assert set(changed) == {glue, printed, image}  # not 'constant', not timings or counts
    assert all(c.kind == "modified" and c.what == ["outputs"] for c in d.output_diff)
    assert changed[printed].index_b == printed
    assert changed[printed].summary.splitlines() == ["-x is 2", "+x is 3"]
    assert "image/png changed" in changed[image].summary
    assert "scrap y = 1.5" in changed[glue].summary

    text = render_text(d)
    assert f"a: {a.run_id}  job calc  succeeded" in text
    assert "status: succeeded (same)" in text
    assert "  x: 2 → 3" in text
    assert "  y: 1.0 → 1.5 (Δ +0.5, +50.0%)" in text
    assert "Notebook: same input notebook" in text
    assert f"  cell {printed} modified (outputs):" in text and "    +x is 3" in text
    assert "\x1b[" not in text and "\x1b[" in render_text(d, color=True)

    data = json.loads(json.dumps(d.to_dict()))
    assert data["parameters"][0]["delta"] == 1 and data["status"] is None
    assert data["a"]["run_id"] == a.run_id and data["output_diff"][0]["what"] == ["outputs"]


def test_default_vs_supplied_parameter_ignores_the_injected_cell(calc: CalcRuns):
    a, b = calc.default, calc.x1  # same value: injected cell only in b
    d = diff_runs(open_store(calc.store), a.record, b.record)
    assert d.parameters == [] and d.scraps == [] and d.output_diff == []


def test_identical_runs_have_no_differences(calc: CalcRuns):
    a, b = calc.x2, calc.x2_again
    d = diff_runs(open_store(calc.store), a.record, b.record)
    assert d.parameters == [] and d.scraps == [] and d.output_diff == [] and d.source_diff == []
    assert d.status is None and d.error is None and not d.notebook_changed
    text = render_text(d)
    for section in ("parameters", "scraps", "outputs"):
        assert f"no differences in {section}" in text
    json.dumps(d.to_dict())


def test_failing_run_against_a_succeeding_run(calc: CalcRuns):
    ok, bad = calc.x2, calc.x2_failing
    assert bad.status is RunStatus.FAILED
    d = diff_runs(open_store(calc.store), ok.record, bad.record)

    assert d.status == ("succeeded", "failed")
    assert d.error[0] is None and d.error[1]["ename"] == "ValueError"
    assert [(c.name, c.a, c.b) for c in d.parameters] == [("fail", False, True)]
    by_b = {c.index_b: c for c in d.output_diff}
    failing = by_b[bad.record.error.cell_index]  # an index in b's output, markers included
    assert failing.index_a == _output_index(ok, FAIL_CELL)
    # b's markers move the cell down its output; to its author it is the 7th cell in both
    assert failing.index_b == failing.index_a + 2
    assert failing.where == f"cell {FAIL_CELL + 1}"
    assert "+ValueError: boom" in failing.summary.splitlines()
    after = [c for c in d.output_diff if c.index_a == _output_index(ok, FAIL_CELL + 1)]
    assert after and after[0].summary.splitlines() == ["-after"]
    assert len(d.output_diff) == 2  # marker cells are not reported

    text = render_text(d)
    assert "status: succeeded → failed" in text
    assert bad.record.error.cell_number == FAIL_CELL + 1  # the author's 7th cell
    assert f"  b: ValueError: boom (cell {FAIL_CELL + 1})" in text
    assert "  a: none" in text
    json.dumps(d.to_dict())


def test_changed_input_notebook_shows_the_source_diff(calc: CalcRuns):
    a, b = calc.x2, calc.x2_edited
    d = diff_runs(open_store(calc.store), a.record, b.record)

    assert d.notebook_changed and d.parameters == [] and d.scraps == []
    assert [(c.index_a, c.index_b, c.kind, c.what) for c in d.source_diff] == [
        (CONSTANT_CELL, CONSTANT_CELL, "modified", ["source"])
    ]
    assert "+print('constant, edited')" in d.source_diff[0].summary.splitlines()
    assert "-print('constant')" in d.source_diff[0].summary.splitlines()
    [output] = d.output_diff
    assert output.index_a == _output_index(a, CONSTANT_CELL)
    assert output.summary.splitlines() == ["-constant", "+constant, edited"]

    text = render_text(d)
    assert "Notebook: input changed (" in text
    # cells are named by their author's numbers: the 4th cell, in the input and in the output
    # (where the injected-parameters cell comes before it)
    assert d.source_diff[0].where == output.where == f"cell {CONSTANT_CELL + 1}"
    assert f"  cell {CONSTANT_CELL + 1} modified (source):" in text
    assert f"  cell {CONSTANT_CELL + 1} modified (outputs):" in text
    assert "    +print('constant, edited')" in text
    json.dumps(d.to_dict())


def test_missing_notebooks_are_reported_not_raised(calc: CalcRuns, tmp_path: Path):
    a, b = calc.x2, calc.x2_edited  # the input notebook changed between them
    shutil.copytree(calc.store, tmp_path / "store")  # the others read the shared store
    store = open_store(tmp_path / "store")
    assert store.exists(b.record.artifacts["output"]) and store.exists(
        a.record.artifacts["snapshot"]
    )
    store.delete(b.record.artifacts["output"])
    store.delete(a.record.artifacts["snapshot"])

    d = diff_runs(store, a.record, b.record)
    assert d.output_diff == [] and d.source_diff == [] and d.notebook_changed
    assert "output notebook missing from store" in d.missing["output"]
    assert b.run_id in d.missing["output"]
    text = render_text(d)
    assert "Outputs: output notebook missing from store" in text
    assert "input snapshot missing from store" in text
    json.dumps(d.to_dict())


def test_inserted_and_removed_cells_keep_indices_aligned(make_notebook, store_dir):
    path = make_notebook("print('one')", "print('two')", "print('three')", name="cells.ipynb")
    a = nbprod.execute(path, job="cells")
    make_notebook(
        "print('one')", "print('new')", "print('three')", "print('four')", name="cells.ipynb"
    )
    b = nbprod.execute(path, job="cells")
    d = diff_runs(open_store(store_dir), a.record, b.record)

    kinds = sorted((c.kind, c.index_a, c.index_b) for c in d.source_diff)
    assert kinds == [("added", None, 3), ("modified", 1, 1)]
    assert "+print('four')" in d.source_diff[-1].summary.splitlines()
    outputs = sorted((c.kind, c.index_a, c.index_b, c.summary) for c in d.output_diff)
    assert outputs == [("added", None, 3, "+four"), ("modified", 1, 1, "-two\n+new")]
    assert "  cell 4 (b) added (source):" in render_text(d)  # print('four'), the 4th cell
    assert "  cell 2 modified (outputs):" in render_text(d)
