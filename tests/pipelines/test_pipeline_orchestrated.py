"""A pipeline run driven by an orchestrator's tasks (`nbprod export airflow`), in process:
one run per orchestrator run, a step claimed per try, a succeeded step never run again, a
try's end leaving the step to the next try or ending it, an edge that does not fit
refused before the step runs."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from nbprod.errors import BadInput
from nbprod.pipelines import orchestrated
from nbprod.pipelines.record import PipelineStatus, StepStatus
from tests.pipelines.test_pipeline_logic import _record, _version

WHEN = datetime(2026, 12, 3, 5, 0, tzinfo=timezone.utc)


def _planned():
    version = _version()
    run = orchestrated.plan(
        version,
        store="file:///s",
        logical_run_id="manual__1",
        scheduled_for=WHEN,
        trigger="airflow",
    )
    return run, version


def _ended(status: str) -> SimpleNamespace:
    return SimpleNamespace(status=SimpleNamespace(value=status), **vars(_record(n=70)))


def test_the_run_id_is_the_orchestrator_run_s_and_sorts_by_its_time():
    first = orchestrated.pipeline_run_id("p", "manual__1", WHEN)
    assert first == orchestrated.pipeline_run_id("p", "manual__1", WHEN)
    assert first.startswith("20261203T050000000Z-")
    assert first != orchestrated.pipeline_run_id("p", "manual__2", WHEN)
    assert first != orchestrated.pipeline_run_id("q", "manual__1", WHEN)
    run, _ = _planned()
    assert (run.run_id, run.logical_run_id, run.trigger) == (first, "manual__1", "airflow")
    assert run.steps["extract"].status is StepStatus.QUEUED  # ready, for its task
    assert run.steps["train"].status is StepStatus.PENDING


def test_a_try_claims_its_step_and_a_succeeded_step_is_not_claimed_again():
    run, version = _planned()
    assert orchestrated.claim(run, version, "extract", 1)
    extract = run.steps["extract"]
    assert extract.try_number == 1
    assert orchestrated.finish(
        run, version, "extract", extract.run_id, "succeeded", _ended("succeeded"), 1
    )
    assert not orchestrated.finish(  # the same end twice changes nothing
        run, version, "extract", extract.run_id, "succeeded", _ended("succeeded"), 1
    )
    assert not orchestrated.claim(run, version, "extract", 2)  # nothing to run
    assert run.steps["train"].status is StepStatus.QUEUED
    assert run.steps["train"].inputs == {"rows": {"from": "extract.n", "value": 70}}


def test_a_failed_try_leaves_the_step_to_the_next_try_until_its_retries_are_used():
    run, version = _planned()
    version.definition.step("extract").retries = 1
    orchestrated.claim(run, version, "extract", 1)
    first = run.steps["extract"].run_id
    assert orchestrated.finish(run, version, "extract", first, "failed", _ended("failed"), 1)
    state = run.steps["extract"]
    assert state.status is StepStatus.QUEUED and state.attempts == [first]
    assert state.run_id != first and state.try_number is None
    assert run.status is not PipelineStatus.FAILED
    orchestrated.claim(run, version, "extract", 2)
    second = state.run_id
    assert orchestrated.finish(run, version, "extract", second, "failed", _ended("failed"), 2)
    assert state.status is StepStatus.FAILED
    assert {run.steps[n].status for n in ("train", "report", "audit")} == {StepStatus.SKIPPED}
    assert run.status is PipelineStatus.FAILED
    with pytest.raises(BadInput, match=r"failed.*pipelines rerun .* --from extract"):
        orchestrated.claim(run, version, "extract", 3)
    with pytest.raises(BadInput, match="skipped"):
        orchestrated.claim(run, version, "train", 1)


def test_a_try_that_died_is_replaced_and_one_that_succeeded_unrecorded_is_applied():
    run, version = _planned()
    orchestrated.claim(run, version, "extract", 1)
    lost = run.steps["extract"].run_id
    orchestrated.claim(run, version, "extract", 2)  # try 1 never recorded its end
    state = run.steps["extract"]
    assert state.attempts == [lost] and state.run_id != lost and state.try_number == 2
    assert state.run_status == "lost"
    # try 2 ran the notebook to success but died before recording it: try 3 applies it
    assert orchestrated.claim(run, version, "extract", 3, previous=_ended("succeeded"))
    assert state.status is StepStatus.SUCCEEDED and state.outputs == {"n": 70}
    assert run.steps["train"].status is StepStatus.QUEUED


def test_a_value_that_does_not_fit_refuses_the_step_before_it_runs():
    run, version = _planned()
    orchestrated.claim(run, version, "extract", 1)
    extract = run.steps["extract"].run_id
    record = SimpleNamespace(status=SimpleNamespace(value="succeeded"), **vars(_record(n="many")))
    orchestrated.finish(run, version, "extract", extract, "succeeded", record, 1)
    assert run.steps["train"].status is StepStatus.FAILED
    with pytest.raises(BadInput, match=r"extract.n → rows: .*expects int.*did not start"):
        orchestrated.claim(run, version, "train", 1)
    with pytest.raises(BadInput, match="waits for train"):
        fresh, _ = _planned()
        orchestrated.claim(fresh, version, "report", 1)


def test_scheduled_by_names_a_known_scheduler(tmp_path):
    from nbprod.pipelines.definition import validate_definition

    steps = [{"name": "a", "notebook": "a.ipynb"}]
    data = {"name": "p", "steps": steps, "scheduled_by": "airflow"}
    assert validate_definition(data, base_dir=tmp_path).scheduled_by == "airflow"
    assert (
        validate_definition({"name": "p", "steps": steps}, base_dir=tmp_path).scheduled_by is None
    )
    with pytest.raises(BadInput, match="scheduled_by"):
        validate_definition({**data, "scheduled_by": "cron"}, base_dir=tmp_path)
