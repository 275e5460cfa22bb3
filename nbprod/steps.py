"""The steps of one run, in the order ``runner.run`` calls them, and the state they share.

Each step reads and fills in a :class:`RunState`. From ``start_helpers`` on the ``running``
record may be out, so no step after it raises: every failure ends in a terminal record.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod import cells
from nbprod.config import Settings
from nbprod.records import (
    ErrorInfo,
    NotebookInfo,
    Progress,
    RunRecord,
    RunStatus,
    host_info,
    isoformat,
    utcnow,
)
from nbprod.request import Run, RunRequest
from nbprod.store import layout


@dataclass
class RunOptions:
    """How the caller follows a run (``runner.run``'s keyword arguments)."""

    progress_bar: bool = False
    log_output: bool = False
    on_progress: Callable[[int, int], None] | None = None
    on_record: Callable[[RunRecord], None] | None = None
    kernels: Any = None
    """A kernel_source.KernelSource: a worker's warm_kernels.WarmKernels; default: the run
    starts its own (kernel_source.ColdKernels)."""


@dataclass
class RunState:
    """What the steps of one run hand each other, in the order they fill it in."""

    request: RunRequest
    control: Any
    """A kernel.RunControl: why the run stops early (``cancel``, ``timeout``), if it does."""
    options: RunOptions = field(default_factory=RunOptions)
    folder: Path = Path()
    """The run's spool folder (it may not exist: a full home)."""
    kernel: Any = None
    start_error: BaseException | None = None
    """Why there is no executed notebook to show: the kernel or the injection failed."""
    nb: Any = None
    """The notebook as executed: the input with its parameters injected."""
    record: RunRecord | None = None
    helpers: ThreadPoolExecutor | None = None
    captures: dict[str, Future[Any]] = field(default_factory=dict)
    progress: Any = None
    """A progress.ProgressPublisher, fed by the engine."""
    execution: Any = None
    outcome: Any = None
    env: Any = None
    """The captured environment (environment.Environment), if capture succeeded."""
    autosave: Any = None
    """An autosave.PartialUploader when the partial output also goes to the store."""

    @property
    def settings(self) -> Settings:
        return self.request.settings


def effective_parameters(request: RunRequest) -> dict[str, Any]:
    """Literal defaults overlaid with the supplied values: what the notebook ran with."""
    from nbprod.params import recordable_default

    values = {}
    for param in request.schema.parameters:
        ok, value = recordable_default(param)
        if ok:  # a default such as b"x", {1, 2} or 1e999 is in the notebook, not the record
            values[param.name] = value
    values.update(request.parameters)
    return values


# -- the steps, in order ----------------------------------------------------------------


def open_spool_folder(state: RunState) -> None:
    """The run's spool folder; without one (a full or read-only home) the run still runs
    and its files go to the store directly."""
    from nbprod import spool

    settings = state.settings
    state.folder = settings.spool_dir / state.request.run_id
    try:
        spool.run_folder(settings.spool_dir, state.request.run_id)
    except OSError:
        pass


def start_kernel(state: RunState) -> None:
    """Launch the kernel, unless the run was stopped already; a failure is the run's."""
    if state.control.reason is not None:
        return
    log_path = state.folder / "kernel.log" if state.folder.is_dir() else None
    try:
        state.kernel = kernel_source(state).take(state.request.kernel, state.request.cwd, log_path)
    except Exception as exc:  # recorded as the run's failure
        state.start_error = exc


def inject_parameters(state: RunState) -> None:
    """The notebook to execute; if injection fails the run is recorded failed, unexecuted
    (its kernel is not needed then)."""
    from nbprod.inject import parameterize

    try:
        state.nb = parameterize(state.request)
    except Exception as exc:  # the run was announced: record it as failed, unexecuted
        state.nb, state.start_error = copy.deepcopy(state.request.nb), exc
        close_kernel(state)


def build_record(state: RunState) -> None:
    """The ``running`` record: what runs, where, why, with which parameters."""
    request = state.request
    state.record = RunRecord(
        run_id=request.run_id,
        job=request.job,
        status=RunStatus.RUNNING,
        notebook=NotebookInfo(
            path=request.source_path or str(request.notebook_path),
            name=request.notebook_path.name,
            sha256=request.sha256,
            cells=cells.count(request.nb.cells),
        ),
        kernel=request.kernel,
        store=request.store.url,
        trigger=request.trigger,
        attempt=request.attempt,
        job_version=request.job_version,
        rerun_of=request.rerun_of,
        scheduled_for=request.scheduled_for,
        logical_run_id=request.logical_run_id or request.run_id,
        tags=list(request.tags),
        pipeline=request.pipeline,
        created_at=isoformat(utcnow()),
        parameters=effective_parameters(request),
        parameters_given=sorted(request.parameters),
        cwd=str(request.cwd),
        timeout_s=request.timeout,
        cell_timeout_s=request.cell_timeout,
        report_mode=request.report_mode,
        progress=Progress(cells_total=cells.count(state.nb.cells)),
        artifacts={
            "output": request.output_key,
            "record": request.record_key,
            "snapshot": layout.snapshot_key(request.sha256),
        },
        host=host_info(),
    )


def start_helpers(state: RunState) -> None:
    """Off the run's thread: environment and git capture, the 'running' announcement, and
    the live progress publisher; the record's ``started_at`` is now."""
    from nbprod import environment, progress

    request, record = state.request, state.record
    assert record is not None
    helpers = ThreadPoolExecutor(max_workers=3, thread_name_prefix="nbprod-run")
    state.helpers = helpers
    state.captures = {
        "environment": helpers.submit(
            environment.capture_environment, state.settings.home / "cache"
        ),
        "git": helpers.submit(environment.capture_git, request.notebook_path),
    }
    record.started_at = isoformat(utcnow())
    state.captures["announce"] = helpers.submit(
        progress.announce,
        request.store,
        copy.deepcopy(record),
        request.source,
        state.options.on_record,
    )
    state.progress = progress.ProgressPublisher(
        request.store,
        record,
        helpers,
        state.options.on_record,
        state.options.on_progress,
        state.settings.progress_seconds,
    )


def execute(state: RunState) -> None:
    """Run the cells under the whole-run timeout; any failure becomes the execution's."""
    from nbprod import engine

    request, control, record = state.request, state.control, state.record
    assert record is not None
    timer = None
    if request.timeout:
        timer = threading.Timer(request.timeout, control.stop, args=("timeout",))
        timer.daemon = True
        timer.start()
    monotonic_start = time.monotonic()
    try:
        if state.kernel is None:
            state.execution = engine.Execution(state.nb, state.start_error, None, 0)
        else:
            folder = state.folder
            partial = folder / request.notebook_path.name if folder.is_dir() else None
            if partial is not None and request.autosave_to_store:
                from nbprod.autosave import PartialUploader

                state.autosave = PartialUploader(request.store, request.job, request.run_id)
            state.execution = engine.run_notebook(
                state.nb,
                kernel=state.kernel,
                control=control,
                cell_timeout=request.cell_timeout,
                progress_bar=state.options.progress_bar,
                log_output=state.options.log_output,
                partial_path=partial,
                autosave_seconds=state.settings.autosave_seconds,
                on_progress=state.progress,
                on_cell_start=state.progress.cell_started,
                on_partial=state.autosave,
            )
    except BaseException as exc:  # nbprod's own failure (or an interrupt without handlers)
        if isinstance(exc, KeyboardInterrupt) and control.reason is None:
            control.reason = "cancel"
        state.execution = engine.Execution(state.nb, exc, None, 0)
    finally:
        if timer:
            timer.cancel()
        if state.autosave is not None:
            state.autosave.close()  # no partial copy may land after the final output
    record.finished_at = isoformat(utcnow())
    record.duration_s = round(time.monotonic() - monotonic_start, 3)


def finalize(state: RunState) -> None:
    """The run's status, error and scraps from the executed notebook."""
    from nbprod.finalize import Outcome, finalize_notebook

    execution, record = state.execution, state.record
    assert record is not None
    try:
        state.outcome = finalize_notebook(execution, state.control, state.request)
    except Exception as exc:  # keep the notebook as it is, without markers
        state.outcome = Outcome(RunStatus.FAILED, _internal_error(exc), {}, execution.nb)
    record.status = state.outcome.status
    record.error = state.outcome.error
    record.scraps = state.outcome.scraps
    total = cells.count(state.outcome.nb.cells)  # the author's: no markers, no parameters
    record.progress = Progress(cells_total=total, cells_done=execution.cells_done)


def collect_helpers(state: RunState) -> None:
    """The captures into the record; no 'running' write may land after this."""
    from nbprod.progress import result

    record = state.record
    assert record is not None
    state.env = result(state.captures["environment"])
    if state.env is not None:
        record.environment = state.env.info
        record.artifacts["environment"] = layout.environment_key(state.env.packages_sha256)
    record.git = result(state.captures["git"])
    result(state.captures["announce"], timeout=None)  # never let a late 'running' record win
    state.progress.drain()
    if state.helpers is not None:
        state.helpers.shutdown(wait=False)


def keep(state: RunState) -> Run:
    """Spool and publish the run's files, the record last; then index the final record."""
    from nbprod import progress, publish

    record = state.record
    assert record is not None
    kept = publish.keep(state.request, record, state.outcome.nb, state.env, state.folder)
    if state.autosave is not None and kept.spooled_to is None:
        state.autosave.remove()
    progress.notify(state.options.on_record, record)
    return Run(record, kept.output_location, kept.spooled_to, kept.spool_reason, kept.problem)


def close_kernel(state: RunState) -> None:
    """Finish the kernel's shutdown (asked for when the cells were done), after the run is
    kept; the run is recorded, so a failed shutdown must not undo that."""
    kernel, state.kernel = state.kernel, None
    if kernel is None:
        return
    try:
        kernel_source(state).give_back(kernel)
    except Exception as exc:
        import logging

        logging.getLogger("nbprod").warning("could not shut the kernel down: %s", exc)


def kernel_source(state: RunState) -> Any:
    if state.options.kernels is None:
        from nbprod.kernel_source import ColdKernels

        state.options.kernels = ColdKernels()
    return state.options.kernels


def _internal_error(exc: BaseException) -> ErrorInfo:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return ErrorInfo(type(exc).__name__, f"nbprod could not complete the run: {text}".rstrip(": "))
