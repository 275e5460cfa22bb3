"""Every announced run ends exactly once, in a terminal record with its output kept."""

from __future__ import annotations

import math

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
