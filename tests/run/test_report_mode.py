"""Report mode (papermill's ``--report-mode``): the output notebook's code cells have their
source hidden, through every way a run starts: `exec`, a job's definition, a sweep's queued
runs on a real worker, and `runs rerun`. Real kernels throughout."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

from nbprod.catalog.queued import QueuedRun, RunKind
from nbprod.errors import CorruptData
from tests.conftest import GLUE


@pytest.fixture
def report_nb(tmp_path: Path) -> Path:
    """Markdown, a parameters cell, a code cell the author collapsed the outputs of, and a
    code cell with output and a scrap."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("days = 7")
    params.metadata["tags"] = ["parameters"]
    collapsed = nbformat.v4.new_code_cell("print('details', days)")
    collapsed.metadata["jupyter"] = {"outputs_hidden": True}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Weekly report"),
        params,
        collapsed,
        nbformat.v4.new_code_cell(GLUE + "glue('total', days * 3)\nprint('TOTAL', days * 3)"),
    ]
    path = tmp_path / "notebooks" / "weekly.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def _record(cli_inproc, run_id: str) -> dict:
    shown = cli_inproc("runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _output(store_dir: Path, record: dict) -> nbformat.NotebookNode:
    return nbformat.read(store_dir / record["artifacts"]["output"], as_version=4)


def _run_id(stdout: str) -> str:
    return stdout.split()[1]  # "run <id>  job ..."


def test_exec_report_mode_hides_every_code_cell_and_keeps_the_rest(
    cli, cli_inproc, report_nb: Path, store_dir: Path
):
    done = cli("exec", str(report_nb), "-p", "days", "2", "--report-mode")
    assert done.returncode == 0, done.stderr
    record = _record(cli_inproc, _run_id(done.stdout))
    assert record["report_mode"] is True
    out = _output(store_dir, record)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert [c.metadata.get("tags", []) for c in code][:2] == [
        ["parameters"],
        ["injected-parameters"],
    ]
    assert all(c.metadata["jupyter"]["source_hidden"] is True for c in code)  # injected too
    # hidden, not removed: the source and the outputs are all there
    assert "glue('total', days * 3)" in code[-1].source
    assert "TOTAL 6" in "".join(o.get("text", "") for o in code[-1].outputs)
    # the author's own jupyter metadata is kept (papermill replaces it)
    assert code[2].metadata["jupyter"] == {"outputs_hidden": True, "source_hidden": True}
    assert all("jupyter" not in c.metadata for c in out.cells if c.cell_type == "markdown")
    assert "report mode (code cells hidden)" in cli_inproc("runs", "show", record["run_id"]).stdout

    # a rerun reproduces the run, report mode included
    again = cli("runs", "rerun", record["run_id"])
    assert again.returncode == 0, again.stderr
    rerun = _record(cli_inproc, _run_id(again.stdout))
    assert rerun["rerun_of"] == record["run_id"] and rerun["report_mode"] is True
    assert all(
        c.metadata["jupyter"]["source_hidden"]
        for c in _output(store_dir, rerun).cells
        if c.cell_type == "code"
    )


def test_without_report_mode_nothing_is_hidden(cli, cli_inproc, report_nb: Path, store_dir: Path):
    done = cli("exec", str(report_nb))
    assert done.returncode == 0, done.stderr
    record = _record(cli_inproc, _run_id(done.stdout))
    assert record["report_mode"] is False
    out = _output(store_dir, record)
    assert not any(c.metadata.get("jupyter", {}).get("source_hidden") for c in out.cells)
    assert "report mode" not in cli_inproc("runs", "show", record["run_id"]).stdout


def test_a_jobs_report_mode_is_versioned_and_applies_to_its_runs(
    cli, cli_inproc, report_nb: Path, tmp_path: Path, store_dir: Path
):
    path = tmp_path / "weekly.yaml"
    definition = {"name": "weekly", "notebook": str(report_nb)}
    path.write_text(yaml.safe_dump(definition))
    assert cli_inproc("jobs", "apply", str(path)).returncode == 0
    path.write_text(yaml.safe_dump({**definition, "report_mode": True}))
    changed = cli_inproc("jobs", "apply", str(path))
    assert "version 2" in changed.stdout and "report_mode: false → true" in changed.stdout
    assert "report mode (code cells hidden)" in cli_inproc("jobs", "show", "weekly").stdout

    ran = cli("jobs", "run", "weekly")
    assert ran.returncode == 0, ran.stderr
    record = _record(cli_inproc, _run_id(ran.stdout))
    assert record["report_mode"] is True and record["job_version"] == 2
    assert all(
        c.metadata["jupyter"]["source_hidden"]
        for c in _output(store_dir, record).cells
        if c.cell_type == "code"
    )

    path.write_text(yaml.safe_dump({**definition, "report_mode": "yes"}))
    refused = cli_inproc("jobs", "apply", str(path))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"nbprod: error: {path}: 'report_mode' must be true or false, got 'yes'"
    ]


def test_a_sweeps_queued_runs_carry_report_mode_to_the_worker(
    cli, cli_inproc, report_nb: Path, store_dir: Path
):
    swept = cli("sweep", str(report_nb), "-p", "days", "1,2", "--report-mode", "-q")
    assert swept.returncode == 0, swept.stderr
    sweep = json.loads(cli_inproc("sweeps", "show", swept.stdout.strip(), "--json").stdout)
    run_ids = [row["run_id"] for row in sweep["rows"]]
    assert len(run_ids) == 2
    for run_id in run_ids:
        record = _record(cli_inproc, run_id)
        assert record["trigger"] == "sweep" and record["report_mode"] is True
        out = _output(store_dir, record)
        assert all(
            c.metadata["jupyter"]["source_hidden"] for c in out.cells if c.cell_type == "code"
        )


def test_the_queued_payload_keeps_report_mode_and_refuses_a_non_boolean():
    run = QueuedRun(kind=RunKind.SNAPSHOT, sha256="ab" * 32, notebook_name="nb.ipynb")
    assert "report_mode" not in run.to_dict()  # payloads written before it read the same
    run.report_mode = True
    stored = run.to_dict()
    assert stored["report_mode"] is True
    assert QueuedRun.from_dict(stored).report_mode is True
    with pytest.raises(CorruptData, match="field 'report_mode' must be true or false"):
        QueuedRun.from_dict({**stored, "report_mode": "yes"})
