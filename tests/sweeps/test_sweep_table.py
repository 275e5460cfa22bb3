"""A sweep drained and tabled in-process: real burst workers, real kernels, the table."""

from __future__ import annotations

from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core.sweeps import create_sweep
from nbprod.sweeps.drain import drain
from nbprod.sweeps.plan import plan_sweep
from nbprod.sweeps.table import sweep_table
from tests.conftest import GLUE

CODE = GLUE + "assert n != 3, 'three fails'\nglue('square', n * n)"


def test_drain_reports_each_run_and_the_table_has_their_scraps(nbprod_env, make_notebook):
    nb = make_notebook(CODE, parameters="n: int = 1\nlabel: str = 'x'", name="sq.ipynb")
    settings = Settings.load()
    info = create_sweep(Workspace(settings), plan_sweep(nb, axes=[("n", "1,2,3")]))

    queued = sweep_table(info.sweep_id, settings)
    assert [r.status for r in queued.rows] == ["queued"] * 3
    assert queued.scrap_names == []

    finished = []
    result = drain(
        info, settings=settings, max_parallel=2, on_finished=finished.append, handle_signals=False
    )
    assert not result.interrupted and result.worker_failures == 0
    assert sorted(f.index for f in finished) == [0, 1, 2]
    assert result.statuses == dict(
        zip(info.run_ids, ["succeeded", "succeeded", "failed"], strict=True)
    )
    assert not (settings.home / "sweeps" / info.sweep_id).exists()  # no failures: cleaned

    table = sweep_table(info.sweep_id[:15], settings)
    assert table.parameter_names == ["n"] and table.scrap_names == ["square"]
    assert [(r.parameters, r.status, r.scraps) for r in table.rows] == [
        ({"n": 1}, "succeeded", {"square": 1}),
        ({"n": 2}, "succeeded", {"square": 4}),
        ({"n": 3}, "failed", {}),
    ]
    assert "three fails" in table.rows[2].error
    assert all(r.output and r.output.endswith("sq.ipynb") for r in table.rows)
    best = table.sorted_by("square", descending=True)
    assert [r.parameters["n"] for r in best.rows] == [2, 1, 3]  # no value: last
    assert table.points("n", "square") == [(1, 1, info.run_ids[0]), (2, 4, info.run_ids[1])]
    assert table.to_csv().splitlines()[0] == "run_id,n,status,duration_s,square,error"
