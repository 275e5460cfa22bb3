"""The Python API's pipeline functions (nbprod.api): apply, run and wait, read a run back,
with real kernels in the worker processes the wait starts."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nbprod import api
from nbprod.errors import BadInput
from tests.conftest import GLUE


def test_apply_run_and_read_a_pipeline_from_python(nbprod_env, make_notebook, tmp_path: Path):
    make_notebook(GLUE + "glue('n', days + 1)", parameters="days: int = 1", name="a.ipynb")
    make_notebook(GLUE + "glue('twice', n * 2)", parameters="n: int = 0", name="b.ipynb")
    path = tmp_path / "notebooks" / "p.yaml"
    path.write_text(
        "name: py\nsteps:\n  - {name: a, notebook: a.ipynb}\n"
        "  - {name: b, notebook: b.ipynb, needs: [a], parameters_from: {n: a.n},\n"
        "     report_mode: true}\n"
    )
    applied = api.apply_pipeline(path)
    assert applied.created and applied.version.version == 1
    run = api.run_pipeline("py", ["a.days=4"])
    assert run.status.value == "succeeded"
    again = api.get_pipeline_run(run.run_id[:20])
    assert again.run_id == run.run_id
    assert again.steps["b"].inputs["n"]["value"] == 5
    # b's own report_mode: its output hides its code, a's does not
    for step, hidden in (("a", False), ("b", True)):
        record = api.get_run(again.steps[step].run_id)
        assert record.report_mode is hidden
        out = nbformat.read(
            Path(nbprod_env["NBPROD_HOME"]) / "store" / record.artifacts["output"], 4
        )
        code = [c for c in out.cells if c.cell_type == "code"]
        assert [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in code] == [
            hidden
        ] * len(code)
    with pytest.raises(BadInput, match="a.nope"):
        api.run_pipeline("py", ["a.nope=1"])
