"""The pipeline's rules in process: validation before anything is stored, and how a run
advances (ready steps, edge values coerced, skips, idempotent step ends)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from nbprod.errors import BadInput
from nbprod.pipelines import advance
from nbprod.pipelines.definition import check_against_notebooks, validate_definition
from nbprod.pipelines.model import PinnedStep, PipelineDefinition, PipelineVersion, Step
from nbprod.pipelines.record import PipelineRun, PipelineStatus, StepStatus


def _define(steps: list[dict], tmp_path: Path, **top) -> PipelineDefinition:
    return validate_definition({"name": "p", "steps": steps, **top}, base_dir=tmp_path)


def test_a_cycle_is_refused_naming_it(tmp_path):
    steps = [
        {"name": "a", "notebook": "a.ipynb", "needs": ["c"]},
        {"name": "b", "notebook": "b.ipynb", "needs": ["a"]},
        {"name": "c", "notebook": "c.ipynb", "needs": ["b"]},
        {"name": "d", "notebook": "d.ipynb"},
    ]
    with pytest.raises(BadInput, match=r"cycle: a → c → b → a"):
        _define(steps, tmp_path)


@pytest.mark.parametrize(
    ("steps", "top", "message"),
    [
        ([{"name": "a", "notebook": "a.ipynb", "needs": ["x"]}], {}, "needs unknown step 'x'"),
        (
            [
                {"name": "a", "notebook": "a.ipynb"},
                {"name": "b", "notebook": "b.ipynb", "parameters_from": {"n": "a.count"}},
            ],
            {},
            "takes a scrap of 'a', which is not upstream",
        ),
        (
            [{"name": "b", "notebook": "b.ipynb", "parameters_from": {"n": "ghost.count"}}],
            {},
            "names unknown step 'ghost'",
        ),
        ([{"name": "a", "notebook": "a.ipynb", "needs": ["a"]}], {}, "needs itself"),
        (
            [{"name": "a", "notebook": "a.ipynb"}, {"name": "a", "notebook": "b.ipynb"}],
            {},
            "two steps are named 'a'",
        ),
        ([{"name": "a.b", "notebook": "a.ipynb"}], {}, "invalid step name"),
        ([{"name": "a", "notebook": "a.ipynb", "retries": -1}], {}, "'retries' must be"),
        ([{"name": "a", "notebook": "a.ipynb", "colour": 1}], {}, "unknown field 'colour'"),
        ([{"name": "a", "notebook": "a.ipynb"}], {"schedule": "61 * * * *"}, "invalid cron"),
        ([{"name": "a", "notebook": "a.ipynb"}], {"timezone": "Mars/Base"}, "unknown timezone"),
        ([], {}, "'steps' must be a non-empty list"),
    ],
)
def test_bad_definitions_are_refused_in_one_line(tmp_path, steps, top, message):
    with pytest.raises(BadInput, match=message) as caught:
        _define(steps, tmp_path, **top)
    assert "\n" not in str(caught.value)


def test_each_step_is_checked_against_its_notebook(tmp_path, make_notebook):
    make_notebook("pass", parameters="days: int = 7\nlimit: int", name="a.ipynb")
    folder = tmp_path / "notebooks"
    with pytest.raises(BadInput, match=r"step a: unknown parameter 'dayz'.*did you mean 'days'"):
        check_against_notebooks(
            _define([{"name": "a", "notebook": "a.ipynb", "parameters": {"dayz": 1}}], folder)
        )
    with pytest.raises(BadInput, match=r"step a: parameter 'days' expects int"):
        check_against_notebooks(
            _define(
                [{"name": "a", "notebook": "a.ipynb", "parameters": {"days": "x", "limit": 1}}],
                folder,
            )
        )
    with pytest.raises(BadInput, match=r"missing required parameter 'limit'"):
        check_against_notebooks(_define([{"name": "a", "notebook": "a.ipynb"}], folder))
    with pytest.raises(BadInput, match=r"step b: notebook not found"):
        check_against_notebooks(
            _define(
                [
                    {"name": "a", "notebook": "a.ipynb", "parameters": {"limit": 1}},
                    {"name": "b", "notebook": "missing.ipynb", "needs": ["a"]},
                ],
                folder,
            )
        )
    # a required parameter set by an edge is given; its type is checked when it arrives
    checked = check_against_notebooks(
        _define(
            [
                {"name": "a", "notebook": "a.ipynb", "parameters": {"limit": 1}},
                {
                    "name": "b",
                    "notebook": "a.ipynb",
                    "needs": ["a"],
                    "parameters_from": {"limit": "a.count"},
                },
            ],
            folder,
        )
    )
    assert checked["b"][1].schema["limit"] == {"type": "int", "nullable": False, "required": True}


def _version() -> PipelineVersion:
    """extract → train → report, and extract → audit (independent of train)."""
    steps = [
        Step("extract", "/nb/extract.ipynb"),
        Step("train", "/nb/train.ipynb", needs=["extract"], parameters_from={"rows": "extract.n"}),
        Step("report", "/nb/report.ipynb", needs=["train"], parameters_from={"acc": "train.acc"}),
        Step("audit", "/nb/audit.ipynb", needs=["extract"]),
    ]
    schemas = {
        "extract": {},
        "train": {"rows": {"type": "int", "nullable": False}},
        "report": {"acc": {"type": "float", "nullable": False}},
        "audit": {},
    }
    pinned = {
        name: PinnedStep("0" * 64, f"{name}.ipynb", schema) for name, schema in schemas.items()
    }
    return PipelineVersion("p", 1, "2026-12-02T00:00:00Z", PipelineDefinition("p", steps), pinned)


def _record(**scraps) -> SimpleNamespace:
    return SimpleNamespace(
        started_at="s",
        finished_at="f",
        duration_s=1.5,
        error=None,
        scraps={k: {"encoder": "json", "inline": True, "value": v} for k, v in scraps.items()},
    )


def _started() -> tuple[PipelineRun, PipelineVersion]:
    version = _version()
    run = advance.plan(version, store="file:///s")
    queued = advance.ready(run, version)
    assert [q.job for q in queued] == ["p.extract"]
    return run, version


def test_an_edge_value_arrives_coerced_to_the_parameters_type():
    run, version = _started()
    extract = run.steps["extract"].run_id
    assert advance.end_step(run, version, "extract", extract, "succeeded", _record(n=70))
    queued = advance.ready(run, version)
    assert sorted(q.job for q in queued) == ["p.audit", "p.train"]
    train = next(q for q in queued if q.job == "p.train")
    assert train.request.parameters == {"rows": 70}
    assert train.request.pipeline == {"name": "p", "run_id": run.run_id, "step": "train"}
    assert "pipeline:p" in train.request.tags
    assert run.status is PipelineStatus.RUNNING
    # an int glued for a float parameter arrives as a float
    assert advance.end_step(run, version, "train", train.run_id, "succeeded", _record(acc=1))
    (report,) = advance.ready(run, version)
    assert report.request.parameters == {"acc": 1.0}
    assert isinstance(report.request.parameters["acc"], float)
    assert run.steps["report"].inputs == {"acc": {"from": "train.acc", "value": 1.0}}


def test_a_value_that_does_not_fit_fails_the_step_before_it_is_queued():
    run, version = _started()
    extract = run.steps["extract"].run_id
    advance.end_step(run, version, "extract", extract, "succeeded", _record(n="seventy"))
    queued = advance.ready(run, version)
    assert [q.job for q in queued] == ["p.audit"]  # train is not queued
    train = run.steps["train"]
    assert train.status is StepStatus.FAILED and train.run_id is None
    assert "expects int" in train.error and "did not start" in train.error
    assert run.steps["report"].status is StepStatus.SKIPPED


def test_a_missing_scrap_fails_the_waiting_step_as_soon_as_its_source_ends():
    run, version = _started()
    extract = run.steps["extract"].run_id
    advance.end_step(run, version, "extract", extract, "succeeded", _record(other=1))
    assert run.steps["train"].status is StepStatus.FAILED
    assert "without scrap 'n'" in run.steps["train"].error
    assert "other" in run.steps["train"].error


def test_a_failed_step_skips_its_descendants_and_fails_the_run():
    run, version = _started()
    advance.end_step(
        run, version, "extract", run.steps["extract"].run_id, "succeeded", _record(n=1)
    )
    advance.ready(run, version)
    advance.end_step(run, version, "train", run.steps["train"].run_id, "timed_out", None)
    assert advance.ready(run, version) == []
    assert run.steps["report"].status is StepStatus.SKIPPED
    assert run.status is PipelineStatus.RUNNING  # audit still runs
    advance.end_step(run, version, "audit", run.steps["audit"].run_id, "succeeded", _record())
    advance.ready(run, version)
    assert run.status is PipelineStatus.FAILED and run.finished_at
    assert run.steps["train"].error == "its run ended timed_out"


def test_a_step_end_is_applied_once_and_a_retry_is_not_an_end():
    run, version = _started()
    first = run.steps["extract"].run_id
    assert advance.end_step(run, version, "extract", first, "failed", None, retry="R2")
    assert run.steps["extract"].status is StepStatus.QUEUED
    assert run.steps["extract"].run_id == "R2" and run.steps["extract"].attempts == [first]
    assert not advance.end_step(run, version, "extract", first, "failed", None)  # stale
    assert advance.end_step(run, version, "extract", "R2", "succeeded", _record(n=3))
    assert not advance.end_step(run, version, "extract", "R2", "succeeded", _record(n=3))


def test_a_rerun_reuses_what_succeeded_outside_the_rerun_and_needs_its_upstream():
    run, version = _started()
    advance.end_step(
        run, version, "extract", run.steps["extract"].run_id, "succeeded", _record(n=5)
    )
    advance.ready(run, version)
    advance.end_step(run, version, "train", run.steps["train"].run_id, "failed", None)
    advance.end_step(run, version, "audit", run.steps["audit"].run_id, "succeeded", _record())
    advance.ready(run, version)
    assert run.status is PipelineStatus.FAILED
    again = advance.plan(version, store="file:///s", reuse=run, rerun_from="train")
    for reused in ("extract", "audit"):
        assert again.steps[reused].run_id == run.steps[reused].run_id
        assert again.steps[reused].reused_from == run.run_id
        assert again.steps[reused].status is StepStatus.SUCCEEDED
    assert again.steps["train"].run_id != run.steps["train"].run_id
    assert again.steps["train"].status is StepStatus.PENDING
    (queued,) = advance.ready(again, version)
    assert queued.job == "p.train" and queued.request.parameters == {"rows": 5}
    assert again.status is PipelineStatus.QUEUED  # reused steps are no progress
    with pytest.raises(BadInput, match="step train, which report needs, did not succeed"):
        advance.plan(version, store="file:///s", reuse=run, rerun_from="report")


def test_a_rerun_runs_a_failed_step_outside_the_rerun_again():
    run, version = _started()
    advance.end_step(
        run, version, "extract", run.steps["extract"].run_id, "succeeded", _record(n=5)
    )
    advance.ready(run, version)
    advance.end_step(run, version, "audit", run.steps["audit"].run_id, "failed", None)
    advance.end_step(run, version, "train", run.steps["train"].run_id, "succeeded", _record(acc=1))
    advance.ready(run, version)
    again = advance.plan(version, store="file:///s", reuse=run, rerun_from="report")
    assert sorted(q.job for q in advance.ready(again, version)) == ["p.audit", "p.report"]


def test_overrides_are_typed_by_the_pinned_schema_and_refused_for_edges():
    version = _version()
    version.pinned["extract"].schema["days"] = {"type": "int", "nullable": False}
    assert advance.overrides(version, ["extract.days=30"]) == {"extract": {"days": 30}}
    with pytest.raises(BadInput, match="takes its value from extract.n"):
        advance.overrides(version, ["train.rows=3"])
    with pytest.raises(BadInput, match="no step 'nope'"):
        advance.overrides(version, ["nope.x=1"])
    with pytest.raises(BadInput, match="expects int"):
        advance.overrides(version, ["extract.days=abc"])
    with pytest.raises(BadInput, match="STEP.PARAMETER=VALUE"):
        advance.overrides(version, ["days=3"])


def test_the_record_round_trips_through_json():
    run, version = _started()
    advance.end_step(
        run, version, "extract", run.steps["extract"].run_id, "succeeded", _record(n=5)
    )
    advance.ready(run, version)
    again = PipelineRun.from_json(run.to_json())
    assert again == run
    assert list(again.steps) == ["extract", "train", "audit", "report"]


def test_apply_versions_a_pipeline_like_a_job(nbprod_env, make_notebook, tmp_path, store_dir):
    from nbprod.config import Settings
    from nbprod.core import Workspace
    from nbprod.core.pipelines import apply_pipeline, list_pipelines, show_pipeline

    make_notebook("pass", parameters="days: int = 1", name="a.ipynb")
    make_notebook("pass", parameters="n: int = 0", name="b.ipynb")
    path = tmp_path / "notebooks" / "p.yaml"
    text = (
        "name: p\nschedule: '@daily'\nsteps:\n"
        "  - {name: a, notebook: a.ipynb, parameters: {days: 7}}\n"
        "  - {name: b, notebook: b.ipynb, needs: [a], parameters_from: {n: a.count}}\n"
    )
    path.write_text(text)
    with Workspace(Settings.load()) as ws:
        first = apply_pipeline(ws, path)
        assert first.created and first.version.version == 1 and first.version.changes == ["created"]
        assert not apply_pipeline(ws, path).created  # same definition, same notebooks
        path.write_text(text.replace("days: 7", "days: 8"))
        second = apply_pipeline(ws, path)
        assert second.version.changes == ['step a: parameters: {"days": 7} → {"days": 8}']
        make_notebook("print('changed')", parameters="n: int = 0", name="b.ipynb")
        third = apply_pipeline(ws, path)
        assert len(third.version.changes) == 1
        assert third.version.changes[0].startswith("step b: notebook: pinned a new snapshot")
        pinned = third.version.pinned["b"].notebook_sha256
        assert (store_dir / ".nbprod" / "notebooks" / f"{pinned}.ipynb").is_file()
        assert (store_dir / ".nbprod" / "pipelines" / "p" / "v000003.json").is_file()
        view = show_pipeline(ws, "p")
        assert [v.version for v in view.versions] == [1, 2, 3]
        assert view.version.definition.schedule == "@daily"
        assert [v.name for v in list_pipelines(ws)] == ["p"]
