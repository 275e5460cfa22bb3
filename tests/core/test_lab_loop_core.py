"""Issue 15's core operations in process: debugging a failed run, a job's drift and
*Update job*, reading an output for the read-only drive, backfill. A real SQLite catalog
and local store in tmp_path; a real kernel only where a run must fail."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core import backfill as core_backfill
from nbprod.core import debug as core_debug
from nbprod.core import drift as core_drift
from nbprod.core import job_form as core_job_form
from nbprod.core import jobs as core_jobs
from nbprod.core import outputs as core_outputs
from nbprod.errors import BadInput, Conflict, FieldError, NotFound

PARAMETERS = "days: int = 7\nregion: str = 'eu'"


@pytest.fixture
def ws(nbprod_env):
    with Workspace(Settings.load()) as workspace:
        yield workspace


@pytest.fixture
def notebook(make_notebook) -> Path:
    return make_notebook(
        "total = days * 2",
        "raise ValueError(f'bad region {region}')",
        "print('never')",
        parameters=PARAMETERS,
        name="report.ipynb",
    )


def _create(ws: Workspace, notebook: Path, **form) -> None:
    fields = {"name": "report", "path": notebook.name, "schedule": "0 7 * * *", **form}
    core_job_form.save_job(ws, fields, root=notebook.parent)


def _tagged(nb, tag: str):
    return [c for c in nb["cells"] if tag in (c.get("metadata", {}).get("tags") or [])]


def test_debug_notebook_is_the_snapshot_with_the_runs_parameters(ws, notebook, tmp_path):
    """One failed run (one kernel) for every debug check: the snapshot (not the working
    copy, edited after the run), the exact injected cell, the failing cell, the kernel,
    never over an existing file, refusals."""
    from nbprod.api import run

    _create(ws, notebook, parameters={"region": "us"})
    failed = run(core_jobs.prepare_job_run(ws, "report", parameters={"days": 3})).record
    assert failed.status.value == "failed"
    notebook.write_text(notebook.read_text().replace("never", "EDITED"))  # the working copy

    root = tmp_path / "jroot"
    written = core_debug.write_debug_notebook(ws, failed.run_id[:20], root=root)
    assert written.path == f"nbprod-debug/report-{failed.run_id}-debug.ipynb"
    nb = json.loads((root / written.path).read_text())
    output = json.loads(ws.store.get(failed.artifacts["output"]))
    (injected,) = _tagged(nb, "injected-parameters")
    text = "".join(injected["source"])
    assert text == "".join(_tagged(output, "injected-parameters")[0]["source"])
    assert "days = 3" in text and 'region = "us"' in text
    assert "never" in json.dumps(nb) and "EDITED" not in json.dumps(nb)
    assert "raise ValueError" in "".join(nb["cells"][written.cell]["source"])
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["nbprod_debug"]["failing_cell"] == written.cell
    assert nb["metadata"]["nbprod_debug"]["run_id"] == failed.run_id

    again = core_debug.write_debug_notebook(ws, failed.run_id, root=root)
    assert again.path.endswith("-debug-2.ipynb") and (root / written.path).is_file()
    out = tmp_path / "mine.ipynb"
    assert core_debug.write_debug_notebook(ws, failed.run_id, output=out).path == str(out)
    nbformat.validate(nbformat.read(out, as_version=4))
    with pytest.raises(BadInput, match="exists"):
        core_debug.write_debug_notebook(ws, failed.run_id, output=out)
    for folder in ("../up", "/abs", "a/../../b", ""):
        with pytest.raises(FieldError) as bad:
            core_debug.write_debug_notebook(ws, failed.run_id, root=root, folder=folder)
        assert bad.value.field == "folder"

    # A lost run knows only the cell its last progress was in (an executed-notebook index).
    import dataclasses

    from nbprod.records import RunStatus

    lost = dataclasses.replace(failed, status=RunStatus.LOST, error=None)
    lost.progress = dataclasses.replace(failed.progress, cell_index=written.cell)
    _, cell = core_debug.build(ws, lost)
    assert cell == written.cell

    # The same run read for the read-only drive: nothing written anywhere.
    name = failed.artifacts["output"].rsplit("/", 1)[-1]
    opened = core_outputs.read_output(ws, f"{failed.run_id}/{name}")
    assert opened.path == f"{failed.run_id}/report run {failed.run_id}.ipynb"
    assert core_outputs.read_output(ws, opened.path).content == opened.content
    assert opened.model()["writable"] is False and opened.cell == failed.error.cell_index
    assert opened.model()["content"]["cells"][opened.cell]["source"].startswith("raise")
    for path in (f"{failed.run_id}/../../x", f"{failed.run_id}/other.ipynb", "../etc/passwd"):
        with pytest.raises(NotFound):
            core_outputs.read_output(ws, path)

    with pytest.raises(NotFound):
        core_debug.write_debug_notebook(ws, "20990101T000000000Z-00000000", root=root)


def test_a_succeeded_run_is_not_debugged(ws, make_notebook, tmp_path):
    from nbprod.api import execute

    ok = execute(make_notebook("x = 1"), settings=ws.settings).record
    with pytest.raises(Conflict, match="succeeded"):
        core_debug.write_debug_notebook(ws, ok.run_id, root=tmp_path)


def test_drift_shows_changed_cells_and_update_job_pins_the_working_copy(ws, notebook):
    _create(ws, notebook)
    assert core_drift.job_drift(ws, "report").drifted is False
    assert core_jobs.list_jobs(ws)[0].drifted is False

    nb = json.loads(notebook.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "run\n"}]
    notebook.write_text(json.dumps(nb))
    outputs_only = core_drift.job_drift(ws, "report")
    assert not outputs_only.drifted and "outputs" in outputs_only.message
    assert core_jobs.list_jobs(ws)[0].drifted is False

    nb["cells"][1]["source"] = "total = days * 3"
    notebook.write_text(json.dumps(nb))
    drift = core_drift.job_drift(ws, "report")
    assert drift.drifted and drift.cells[0]["where"] == "cell 2"  # the second cell
    assert "+total = days * 3" in drift.cells[0]["summary"]
    assert core_jobs.list_jobs(ws)[0].drifted is True

    result = core_drift.update_job(ws, "report")
    assert result.created and result.version.version == 2
    assert core_drift.job_drift(ws, "report").drifted is False
    assert core_jobs.show_job(ws, "report").definition.schedule == "0 7 * * *"
    with pytest.raises(NotFound):
        core_drift.job_drift(ws, "nosuch")


def test_backfill_queues_one_run_per_fire_time_with_scheduled_for(ws, notebook):
    _create(ws, notebook, timezone="Europe/Berlin")
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    plan = core_backfill.plan_backfill(ws, "report", "2026-03-01", "2026-03-03", now=now)
    assert [t.isoformat() for t in plan.times] == [
        "2026-03-01T07:00:00+01:00",
        "2026-03-02T07:00:00+01:00",
        "2026-03-03T07:00:00+01:00",
    ]
    assert ws.queue.items(("queued",), limit=100) == []  # a plan queues nothing

    done = core_backfill.backfill_job(ws, "report", "2026-03-01", "2026-03-03", now=now)
    items = {i.run_id: i for i in ws.queue.items(("queued",), limit=100)}
    assert sorted(items) == sorted(done.run_ids) and len(items) == 3
    stamps = sorted(datetime.fromisoformat(str(i.scheduled_for)) for i in items.values())
    assert stamps == plan.times
    assert {i.request["trigger"] for i in items.values()} == {"backfill"}

    # Up to now only; today's 07:00 (Berlin) is past at 12:00 UTC.
    today = core_backfill.plan_backfill(ws, "report", "2026-03-10", "2026-03-12", now=now)
    assert len(today.times) == 1
    for start, end, field in (
        ("2026-03-05", "2026-03-01", "from"),
        ("yesterday", "2026-03-01", "from"),
        ("2026-03-01", "2026-13-01", "to"),
        ("2026-04-01", "2026-04-02", "from"),
        ("2020-01-01", "2026-03-01", "to"),
    ):
        with pytest.raises(FieldError) as bad:
            core_backfill.plan_backfill(ws, "report", start, end, now=now)
        assert bad.value.field == field, (start, end, str(bad.value))
    assert len(ws.queue.items(("queued",), limit=100)) == 3
