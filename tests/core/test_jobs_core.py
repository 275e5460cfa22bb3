"""The job operations of the core, in process: a real SQLite catalog and local store in
tmp_path, real notebooks (a kernel only where a run must execute)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core import job_form as core_job_form
from nbprod.core import jobs as core_jobs
from nbprod.core import notebooks as core_notebooks
from nbprod.errors import Conflict, FieldError, NotFound

PARAMETERS = "days: int = 7  # history\nregion: str = 'eu'"


@pytest.fixture
def ws(nbprod_env, tmp_path):
    with Workspace(Settings.load()) as workspace:
        yield workspace


@pytest.fixture
def notebook(make_notebook) -> Path:
    return make_notebook("print('ran', days, region)", parameters=PARAMETERS, name="report.ipynb")


def _create(ws: Workspace, notebook: Path, **form) -> core_job_form.SavedJob:
    fields = {"name": "report", "path": notebook.name, "schedule": "0 7 * * *", **form}
    return core_job_form.save_job(ws, fields, root=notebook.parent)


def _queued(ws: Workspace, run_id: str):
    return ws.queue.get(ws.store.url, run_id)


def test_save_job_creates_refuses_a_second_create_and_stores_an_edit(ws, notebook):
    saved = _create(ws, notebook)
    assert saved.created and saved.job.version == 1 and not saved.job.paused
    with pytest.raises(Conflict, match="a job named 'report' exists"):
        _create(ws, notebook)
    edited = core_job_form.save_job(
        ws, {"schedule": "0 8 * * *"}, root=notebook.parent, name="report"
    )
    assert edited.created and edited.job.version == 2
    assert edited.changes == ['schedule: "0 7 * * *" → "0 8 * * *"']
    with pytest.raises(FieldError) as renamed:
        core_job_form.save_job(ws, {"name": "other"}, root=notebook.parent, name="report")
    assert renamed.value.field == "name"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"schedule": "61 * * * *"}, "schedule", "invalid cron expression"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown timezone"),
        ({"retries": "many"}, "retries", "whole number"),
        ({"parameters": {"days": "many"}}, "parameters.days", "expects int"),
        ({"parameters": {"dayz": "3"}}, "parameters.dayz", "unknown parameter 'dayz'"),
        ({"path": "missing.ipynb"}, None, "no notebook"),
    ],
)
def test_a_bad_form_names_its_field_and_stores_nothing(ws, notebook, form, field, message):
    with pytest.raises((FieldError, NotFound), match=message) as failed:
        _create(ws, notebook, **form)
    assert getattr(failed.value, "field", None) == field
    assert core_jobs.list_jobs(ws) == []


def test_delete_refuses_an_unknown_job_and_changes_nothing(ws, notebook):
    _create(ws, notebook)
    with pytest.raises(NotFound, match="no job 'nosuch'"):
        core_jobs.delete_job(ws, "nosuch")
    assert [view.name for view in core_jobs.list_jobs(ws)] == ["report"]


def test_delete_removes_every_version_drops_queued_runs_and_keeps_past_runs(ws, notebook):
    from nbprod.api import list_runs, run

    _create(ws, notebook)
    core_job_form.save_job(ws, {"schedule": "0 8 * * *"}, root=notebook.parent, name="report")
    past = run(core_jobs.prepare_job_run(ws, "report"))
    assert past.record.status.value == "succeeded"
    queued = core_jobs.run_job_now(ws, "report")

    deleted = core_jobs.delete_job(ws, "report")

    assert deleted == core_jobs.DeletedJob("report", [queued])
    assert _queued(ws, queued).state == "cancelled"
    assert not list(ws.store.list(".nbprod/jobs/report"))
    with pytest.raises(NotFound):
        core_jobs.show_job(ws, "report")
    assert [r.run_id for r in list_runs(settings=ws.settings, job="report")] == [past.record.run_id]


def test_run_now_validates_overrides_against_the_pinned_snapshot(ws, notebook):
    """The run executes the pinned snapshot, so its schema decides, not the working copy
    (here edited after the job was saved: `days` renamed to `weeks`)."""
    _create(ws, notebook)
    notebook.write_text(notebook.read_text().replace("days", "weeks"))

    run_id = core_jobs.run_job_now(ws, "report", {"days": "3"})
    assert _queued(ws, run_id).request["parameters"]["days"] == 3

    with pytest.raises(FieldError, match="unknown parameter 'weeks'") as failed:
        core_jobs.run_job_now(ws, "report", {"weeks": "2"})
    assert failed.value.field == "parameters.weeks"
    with pytest.raises(FieldError) as mistyped:
        core_jobs.run_job_now(ws, "report", {"days": "many"})
    assert mistyped.value.field == "parameters.days"


def test_run_now_of_an_unknown_job_is_not_found(ws):
    with pytest.raises(NotFound, match="no job 'nosuch'"):
        core_jobs.run_job_now(ws, "nosuch", {"days": "3"})


def test_pause_and_resume_answer_the_job_as_it_is_now(ws, notebook):
    _create(ws, notebook)
    paused = core_jobs.set_paused(ws, "report", True)
    assert paused.paused and paused.next_runs == []
    resumed = core_jobs.set_paused(ws, "report", False)
    assert not resumed.paused and resumed.next_runs
    with pytest.raises(NotFound):
        core_jobs.set_paused(ws, "nosuch", True)


def test_job_notebook_info_reads_the_jobs_notebook(ws, notebook):
    _create(ws, notebook)
    info = core_job_form.job_notebook_info(ws, "report")
    assert info["job"] == "report" and info["path"] is None
    assert [p["name"] for p in info["parameters"]] == ["days", "region"]


def test_cron_preview_names_the_bad_field():
    with pytest.raises(FieldError) as zone:
        core_notebooks.cron_preview("0 7 * * *", "Mars/Olympus")
    assert zone.value.field == "timezone"
    with pytest.raises(FieldError) as never:
        core_notebooks.cron_preview("0 0 30 2 *")
    assert never.value.field == "schedule"
    with pytest.raises(FieldError) as count:
        core_notebooks.cron_preview("@daily", "UTC", 0)
    assert count.value.field == "count"
    preview = core_notebooks.cron_preview("0 7 * * *", "Europe/Berlin", 2)
    assert preview["timezone"] == "Europe/Berlin" and len(preview["next"]) == 2


def test_notebook_paths_stay_under_the_root(tmp_path, notebook):
    with pytest.raises(FieldError) as outside:
        core_notebooks.resolve_notebook(notebook.parent, "../escape.ipynb")
    assert outside.value.field == "path"
    with pytest.raises(NotFound):
        core_notebooks.resolve_notebook(notebook.parent, "missing.ipynb")
    assert core_notebooks.resolve_notebook(notebook.parent, notebook.name) == notebook


def test_no_worker_is_alive_in_a_fresh_workspace(ws):
    assert core_jobs.workers_alive(ws) is False


def test_the_form_sets_concurrency_overlap_catchup_tags_and_description(ws, notebook):
    """What only YAML could set: the form's values land in the definition, checked like
    `jobs apply` checks them; an edit that leaves them out keeps them."""
    fields = {
        "concurrency": "3",
        "overlap": "queue",
        "catchup": "all",
        "tags": ["nightly", "finance"],
        "description": "the daily numbers",
    }
    saved = _create(ws, notebook, **fields)
    d = saved.job.definition
    assert (d.concurrency, d.overlap, d.catchup) == (3, "queue", "all")
    assert d.tags == ["finance", "nightly"] and d.description == "the daily numbers"
    edited = core_job_form.save_job(ws, {"retries": "2"}, root=notebook.parent, name="report")
    d = edited.job.definition
    assert (d.retries, d.concurrency, d.overlap, d.catchup) == (2, 3, "queue", "all")
    assert d.tags == ["finance", "nightly"] and d.description == "the daily numbers"
    cleared = core_job_form.save_job(
        ws, {"tags": [], "description": ""}, root=notebook.parent, name="report"
    )
    assert cleared.job.definition.tags == [] and cleared.job.definition.description == ""


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"concurrency": "0"}, "concurrency", "from 1 to 10000"),
        ({"concurrency": "lots"}, "concurrency", "whole number"),
        ({"overlap": "wait"}, "overlap", "one of skip, queue"),
        ({"catchup": "some"}, "catchup", "one of latest, none, all"),
        ({"tags": ["ok", ""]}, "tags", "list of words"),
        ({"tags": "nightly"}, "tags", "list of words"),
    ],
)
def test_the_new_fields_refuse_what_yaml_refuses_naming_the_field(
    ws, notebook, form, field, message
):
    with pytest.raises(FieldError, match=message) as failed:
        _create(ws, notebook, **form)
    assert failed.value.field == field
    assert core_jobs.list_jobs(ws) == []
