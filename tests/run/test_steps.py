"""The runner's steps one at a time, in-process: real kernels where a kernel is involved."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nbprod import steps
from nbprod.cells import INJECTED_TAG
from nbprod.config import Settings
from nbprod.inject import parameterize
from nbprod.kernel import RunControl
from nbprod.progress import ProgressPublisher
from nbprod.records import RunStatus
from nbprod.runner import prepare
from nbprod.steps import RunState
from tests.conftest import write_notebook

PARAMS = "n: int = 1  # a count\nlabel: str = 'x'"


def _state(path: Path, **prepare_args) -> RunState:
    request = prepare(path, settings=Settings.load(), **prepare_args)
    return RunState(request, RunControl(kill_grace=5))


def _through_record(state: RunState) -> RunState:
    steps.open_spool_folder(state)
    steps.inject_parameters(state)
    steps.build_record(state)
    return state


def _stored_record(state: RunState) -> dict:
    root = Path(state.settings.store)
    return json.loads((root / state.request.record_key).read_text())


def test_parameters_are_injected_after_the_parameters_cell_replacing_old_ones(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "inj.ipynb", "a = 1", "b = 2", parameters=PARAMS)
    request = prepare(path, settings=Settings.load(), parameters={"n": 5})
    nb = parameterize(request)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    at = request.schema.cell_index + 1
    assert tags[at] == [INJECTED_TAG] and "n = 5" in nb.cells[at].source
    assert nb.metadata["papermill"]["parameters"] == {"n": 5}
    assert nb.metadata["papermill"]["nbprod_run_id"] == request.run_id
    assert request.nb.cells == prepare(path, settings=Settings.load()).nb.cells  # a copy

    # Run the output again (a papermill output as input): one injected cell, same place.
    request.nb = nb
    again = parameterize(request)
    assert [INJECTED_TAG in c.metadata.get("tags", []) for c in again.cells].count(True) == 1
    assert INJECTED_TAG in again.cells[at].metadata["tags"]

    bare = parameterize(prepare(path, settings=Settings.load()))
    assert not any(INJECTED_TAG in c.metadata.get("tags", []) for c in bare.cells)


def test_the_running_record_says_what_runs_with_defaults_and_given_values(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "rec.ipynb", "pass", parameters=PARAMS)
    state = _through_record(
        _state(path, parameters={"n": 3}, trigger="sweep", tags=["sweep:x"], job="recjob")
    )
    record = state.record
    assert record.status is RunStatus.RUNNING
    assert record.parameters == {"n": 3, "label": "x"}
    assert record.parameters_given == ["n"]
    assert (record.trigger, record.tags, record.job) == ("sweep", ["sweep:x"], "recjob")
    assert record.logical_run_id == record.run_id
    assert record.artifacts["output"] == f"recjob/{record.run_id}/rec.ipynb"
    assert record.artifacts["record"] == f"recjob/{record.run_id}/run.json"
    assert len(state.nb.cells) == 3  # params, injected, pass
    assert record.progress.cells_total == record.notebook.cells == 2  # the author's cells
    assert state.folder.is_dir()


def test_a_stopped_run_starts_no_kernel_and_executes_nothing(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "stop.ipynb", "x = 1")
    state = _state(path)
    state.control.stop("cancel")
    steps.open_spool_folder(state)
    steps.start_kernel(state)
    assert state.kernel is None and state.start_error is None
    steps.inject_parameters(state)
    steps.build_record(state)
    steps.execute(state)
    assert state.execution.cells_done == 0
    steps.finalize(state)
    assert state.record.status is RunStatus.CANCELLED


def test_a_kernel_that_cannot_start_is_the_runs_failure(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "nokernel.ipynb", "x = 1")
    state = _state(path)
    state.request.cwd = tmp_path / "gone"  # removed after validation: Popen fails
    steps.open_spool_folder(state)
    steps.start_kernel(state)
    assert state.kernel is None and state.start_error is not None
    steps.inject_parameters(state)
    steps.build_record(state)
    steps.execute(state)
    steps.finalize(state)
    assert state.record.status is RunStatus.FAILED
    assert state.record.error is not None


def test_the_whole_run_timeout_stops_a_real_kernel(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "slow.ipynb", "import time; time.sleep(120)", "y = 2")
    state = _state(path, timeout=3)
    steps.open_spool_folder(state)
    steps.start_kernel(state)
    try:
        assert state.kernel is not None, state.start_error
        _through_record(state)
        steps.start_helpers(state)
        started = time.monotonic()
        steps.execute(state)
        assert time.monotonic() - started < 100
        assert state.control.reason == "timeout"
        assert state.record.duration_s >= 3
        steps.finalize(state)
        assert state.record.status is RunStatus.TIMED_OUT
        steps.collect_helpers(state)
    finally:
        steps.close_kernel(state)
        steps.close_kernel(state)  # idempotent
    assert state.kernel is None


def test_helpers_capture_the_environment_and_announce_the_run(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "env.ipynb", "pass")
    seen: list[str] = []
    state = _through_record(_state(path))
    state.options.on_record = lambda record: seen.append(record.status.value)
    steps.start_helpers(state)
    steps.collect_helpers(state)
    assert seen == ["running"]
    assert _stored_record(state)["status"] == "running"  # announced before any execution
    assert state.record.environment["python"]
    assert state.record.artifacts["environment"].startswith(".nbprod/environments/")


def test_keep_publishes_the_spooled_files_and_empties_the_spool(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "keep.ipynb", "print('kept')")
    state = _state(path)
    steps.open_spool_folder(state)
    steps.start_kernel(state)
    try:
        _through_record(state)
        steps.start_helpers(state)
        steps.execute(state)
        steps.finalize(state)
        steps.collect_helpers(state)
        run = steps.keep(state)
    finally:
        steps.close_kernel(state)
    assert run.status is RunStatus.SUCCEEDED and run.problem is None
    assert run.output_location.endswith(state.request.output_key)
    assert _stored_record(state)["status"] == "succeeded"
    output = json.loads(Path(run.output_location).read_text())
    assert "kept" in json.dumps(output)
    assert not state.folder.exists()  # published: nothing left in the spool


def test_keep_without_a_spool_publishes_straight_to_the_store(nbprod_env, tmp_path):
    path = write_notebook(tmp_path / "nospool.ipynb", "pass")
    state = _through_record(_state(path))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    state.folder = blocker / "spool"  # mkdir fails: NotADirectoryError
    steps.start_helpers(state)
    steps.execute(state)  # no kernel: failed, unexecuted
    steps.finalize(state)
    steps.collect_helpers(state)
    run = steps.keep(state)
    assert "cannot write the spool" in run.problem
    assert "published to the store directly" in run.problem
    assert _stored_record(state)["run_id"] == state.request.run_id


def test_progress_is_published_after_the_interval_with_the_latest_cell(nbprod_env, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = write_notebook(tmp_path / "prog.ipynb", "pass", "pass", "pass")
    state = _through_record(_state(path))
    seen: list[int | None] = []
    with ThreadPoolExecutor(2) as pool:
        publisher = ProgressPublisher(
            state.request.store,
            state.record,
            pool,
            lambda record: seen.append(record.progress.cell_index),
            None,
            interval=0.5,
        )
        publisher.cell_started(0)
        publisher.cell_started(1)  # inside the interval: deferred, not lost, not doubled
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert seen == [1]
        assert _stored_record(state)["progress"]["cell_index"] == 1
        publisher.drain()
        publisher.cell_started(2)  # after drain: the final record must not be overtaken
        time.sleep(1.0)
    assert seen == [1]


@pytest.mark.parametrize("interval", [0])
def test_progress_publishing_can_be_off(nbprod_env, tmp_path, interval):
    from concurrent.futures import ThreadPoolExecutor

    path = write_notebook(tmp_path / "off.ipynb", "pass")
    state = _through_record(_state(path))
    calls: list[tuple[int, int]] = []
    with ThreadPoolExecutor(1) as pool:
        publisher = ProgressPublisher(
            state.request.store,
            state.record,
            pool,
            None,
            lambda d, t: calls.append((d, t)),
            interval,
        )
        publisher(1, 3)
        publisher.cell_started(1)
        publisher.drain()
    assert calls == [(1, 3)]
    assert not (Path(state.settings.store) / state.request.record_key).exists()
