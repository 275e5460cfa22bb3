"""One run, from a validated request to a stored output notebook and run record.

``prepare()`` does every check that can fail on bad input before a kernel starts;
``run()`` executes and always ends in a terminal status with the output kept.
"""

from __future__ import annotations

import copy
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.durations import positive_seconds
from nbprod.errors import KernelNotFound, NotebookError
from nbprod.records import (
    EXIT_SPOOLED,
    ErrorInfo,
    NotebookInfo,
    Progress,
    RunRecord,
    RunStatus,
    host_info,
    isoformat,
    new_run_id,
    utcnow,
)
from nbprod.store import Store, layout, open_store

StartCallback = Callable[["RunRequest"], None]


@dataclass
class RunRequest:
    """Everything a run needs, already validated."""

    notebook_path: Path
    source: bytes
    nb: Any
    schema: Any
    parameters: dict[str, Any]
    """Only the values the caller supplied (typed)."""
    job: str
    kernel: str
    cwd: Path
    store: Store
    settings: Settings
    timeout: float | None = None
    cell_timeout: float | None = None
    trigger: str = "manual"
    attempt: int = 1
    job_version: int | None = None
    rerun_of: str | None = None
    tags: list[str] = field(default_factory=list)
    source_path: str | None = None
    """The path to record as the notebook's, when executing a stored snapshot."""
    run_id: str = field(default_factory=new_run_id)
    scheduled_for: str | None = None
    logical_run_id: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()

    @property
    def output_key(self) -> str:
        return layout.output_key(self.job, self.run_id, self.notebook_path.name)

    @property
    def record_key(self) -> str:
        return layout.record_key(self.job, self.run_id)


@dataclass
class Run:
    """The result of a run: its record and where its files are."""

    record: RunRecord
    output_location: str
    spooled_to: Path | None = None
    spool_reason: str | None = None
    problem: str | None = None
    """One line for the user when the run's files could not all be kept (a full disk)."""

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def status(self) -> RunStatus:
        return self.record.status

    @property
    def exit_code(self) -> int:
        code = self.record.status.exit_code
        return EXIT_SPOOLED if code == 0 and self.spooled_to else code


def load_notebook(path: str | os.PathLike[str]) -> tuple[Path, bytes, Any]:
    import nbformat

    from nbprod.safe_yaml import MAX_NOTEBOOK_BYTES, read_bounded

    try:
        notebook_path = Path(path).expanduser().resolve()
    except (ValueError, OSError) as exc:  # a NUL byte, a loop of symlinks
        raise NotebookError(f"invalid notebook path {str(path)!r}: {exc}") from None
    # Bounded, regular files only: /dev/zero or a FIFO must not hang or exhaust memory.
    source = read_bounded(notebook_path, "notebook", limit=MAX_NOTEBOOK_BYTES, error=NotebookError)
    try:
        # Older formats are upgraded (v2/v3 -> v4); from_dict makes the converted
        # metadata attribute-accessible, as papermill's bookkeeping needs.
        nb = nbformat.from_dict(nbformat.reads(source.decode("utf-8"), as_version=4))
    except UnicodeDecodeError:
        raise NotebookError(f"not a valid notebook (not UTF-8 text): {path}") from None
    except Exception as exc:  # nbformat raises several JSON/validation types
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotebookError(f"not a valid notebook: {path}: {reason}") from None
    if not isinstance(nb.get("cells"), list):
        raise NotebookError(f"not a valid notebook (no cells): {path}")
    return notebook_path, source, nb


def check_kernel(name: str) -> str:
    """The installed kernel's name for ``name`` (resolved as Jupyter does), or KernelNotFound."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from nbprod.kernel import resolve_kernel_name

    resolved = resolve_kernel_name(name)
    try:
        KernelSpecManager().get_kernel_spec(resolved)
    except NoSuchKernel:
        names = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        raise KernelNotFound(f"no kernel named {name!r} (installed: {names})") from None
    return resolved


def prepare(
    notebook: str | os.PathLike[str],
    *,
    settings: Settings,
    parameters: Mapping[str, Any] | None = None,
    cli_parameters: Sequence[tuple[str, str]] = (),
    parameter_files: Sequence[str | os.PathLike[str]] = (),
    parameter_yaml: Sequence[str] = (),
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    trigger: str = "manual",
    attempt: int = 1,
    job_version: int | None = None,
    rerun_of: str | None = None,
    tags: Sequence[str] = (),
    source_path: str | None = None,
    run_id: str | None = None,
    scheduled_for: str | None = None,
    logical_run_id: str | None = None,
) -> RunRequest:
    """Validate everything; raise BadInput subclasses with one-line messages."""
    from nbprod import params

    path, source, nb = load_notebook(notebook)
    schema = params.infer_schema(nb)
    values = params.resolve_parameters(
        schema,
        files=parameter_files,
        yaml_texts=parameter_yaml,
        values=parameters,
        cli=cli_parameters,
    )
    job_name = layout.check_job_name(job) if job else layout.job_name_from_stem(path.stem)
    layout.check_file_name(path.name)
    kernel_name = check_kernel(kernel or settings.kernel or _notebook_kernel(nb))
    workdir = Path(cwd).expanduser().resolve() if cwd else path.parent
    if not workdir.is_dir():
        raise NotebookError(f"working directory not found: {cwd}")
    timeout = timeout if timeout is not None else settings.timeout
    cell_timeout = cell_timeout if cell_timeout is not None else settings.cell_timeout
    if timeout is not None:
        timeout = positive_seconds(timeout, "--timeout")
    if cell_timeout is not None:
        cell_timeout = positive_seconds(cell_timeout, "--cell-timeout")
    return RunRequest(
        notebook_path=path,
        source=source,
        nb=nb,
        schema=schema,
        parameters=values,
        job=job_name,
        kernel=kernel_name,
        cwd=workdir,
        store=open_store(settings.store),
        settings=settings,
        timeout=timeout,
        cell_timeout=cell_timeout,
        trigger=trigger,
        attempt=attempt,
        job_version=job_version,
        rerun_of=rerun_of,
        tags=list(tags),
        source_path=source_path,
        run_id=run_id or new_run_id(),
        scheduled_for=scheduled_for,
        logical_run_id=logical_run_id,
    )


def _notebook_kernel(nb: Any) -> str:
    spec = nb.get("metadata", {}).get("kernelspec") or {}
    return spec.get("name") or "python3"


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


def run(
    request: RunRequest,
    *,
    progress_bar: bool = False,
    log_output: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
    control: Any = None,
    handle_signals: bool = True,
    on_start: StartCallback | None = None,
) -> Run:
    """Execute a prepared request; always returns a Run in a terminal status.

    ``control`` (a kernel.RunControl) lets the caller stop the run from another thread;
    with ``handle_signals`` Ctrl-C and SIGTERM cancel it (main thread only).

    ``on_start`` is called once the handlers are in place (the CLI announces the run id
    there): from then on every path, a Ctrl-C before the kernel is up, a kernel that cannot
    start or nbprod's own failure, ends in a terminal record.

    ``on_record`` sees the record twice, as ``running`` at the start (from a helper
    thread) and in its terminal status at the end (for indexing in the catalog).
    """
    from nbprod import spool
    from nbprod.kernel import RunControl, StartedKernel

    settings = request.settings
    control = control or RunControl(kill_grace=settings.kill_grace)
    restore = _install_signal_handlers(control) if handle_signals else (lambda: None)
    try:
        if on_start is not None:
            on_start(request)
        folder = settings.spool_dir / request.run_id
        try:
            spool.run_folder(settings.spool_dir, request.run_id)
        except OSError:  # a full or read-only home: the run goes to the store directly
            pass
        log_path = folder / "kernel.log" if folder.is_dir() else None
        # Launch the kernel first: its ~1 s boot overlaps the imports and set-up below.
        kernel, start_error = None, None
        if control.reason is None:
            try:
                kernel = StartedKernel(request.kernel, request.cwd, log_path)
            except Exception as exc:  # recorded as the run's failure
                start_error = exc
        try:
            return _run_with_kernel(
                request,
                kernel,
                start_error,
                folder,
                progress_bar,
                log_output,
                on_progress,
                on_record,
                control,
            )
        finally:
            if kernel is not None:
                _close_quietly(kernel)
    finally:
        restore()


def _close_quietly(kernel: Any) -> None:
    try:
        kernel.close()
    except Exception as exc:  # the run is recorded; a failed shutdown must not undo that
        import logging

        logging.getLogger("nbprod").warning("could not shut the kernel down: %s", exc)


def _run_with_kernel(
    request: RunRequest,
    kernel: Any,
    start_error: BaseException | None,
    folder: Path,
    progress_bar: bool,
    log_output: bool,
    on_progress: Callable[[int, int], None] | None,
    on_record: Callable[[RunRecord], None] | None,
    control: Any,
) -> Run:
    from nbprod import engine, environment, publish
    from nbprod.finalize import Outcome, finalize_notebook
    from nbprod.inject import parameterize
    from nbprod.progress import ProgressPublisher, announce, notify, result

    settings = request.settings
    try:
        nb = parameterize(request)
    except Exception as exc:  # the run was announced: record it as failed, unexecuted
        nb, start_error = copy.deepcopy(request.nb), exc
        if kernel is not None:
            _close_quietly(kernel)
            kernel = None
    record = RunRecord(
        run_id=request.run_id,
        job=request.job,
        status=RunStatus.RUNNING,
        notebook=NotebookInfo(
            path=request.source_path or str(request.notebook_path),
            name=request.notebook_path.name,
            sha256=request.sha256,
            cells=len(request.nb.cells),
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
        created_at=isoformat(utcnow()),
        parameters=effective_parameters(request),
        parameters_given=sorted(request.parameters),
        cwd=str(request.cwd),
        timeout_s=request.timeout,
        cell_timeout_s=request.cell_timeout,
        progress=Progress(cells_total=len(nb.cells)),
        artifacts={
            "output": request.output_key,
            "record": request.record_key,
            "snapshot": layout.snapshot_key(request.sha256),
        },
        host=host_info(),
    )
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="nbprod-run")
    env_future = pool.submit(environment.capture_environment, settings.home / "cache")
    git_future = pool.submit(environment.capture_git, request.notebook_path)
    started = utcnow()
    record.started_at = isoformat(started)
    announced = pool.submit(
        announce, request.store, copy.deepcopy(record), request.source, on_record
    )
    progress = ProgressPublisher(
        request.store, record, pool, on_record, on_progress, settings.progress_seconds
    )

    timer = None
    if request.timeout:
        timer = threading.Timer(request.timeout, control.stop, args=("timeout",))
        timer.daemon = True
        timer.start()
    monotonic_start = time.monotonic()
    # From here on the 'running' record may be out: whatever fails, the run ends in a record.
    try:
        if kernel is None:
            execution = engine.Execution(nb, start_error, None, 0)
        else:
            execution = engine.run_notebook(
                nb,
                kernel=kernel,
                control=control,
                cell_timeout=request.cell_timeout,
                progress_bar=progress_bar,
                log_output=log_output,
                partial_path=folder / request.notebook_path.name if folder.is_dir() else None,
                autosave_seconds=settings.autosave_seconds,
                on_progress=progress,
                on_cell_start=progress.cell_started,
            )
    except BaseException as exc:  # nbprod's own failure (or an interrupt without handlers)
        if isinstance(exc, KeyboardInterrupt) and control.reason is None:
            control.reason = "cancel"
        execution = engine.Execution(nb, exc, None, 0)
    finally:
        if timer:
            timer.cancel()
    record.finished_at = isoformat(utcnow())
    record.duration_s = round(time.monotonic() - monotonic_start, 3)

    try:
        outcome = finalize_notebook(execution, control, request)
    except Exception as exc:  # keep the notebook as it is, without markers
        outcome = Outcome(RunStatus.FAILED, _internal_error(exc), {}, execution.nb)
    record.status = outcome.status
    record.error = outcome.error
    record.scraps = outcome.scraps
    record.progress = Progress(cells_total=len(nb.cells), cells_done=execution.cells_done)

    env = result(env_future)
    if env is not None:
        record.environment = env.info
        env_key = layout.environment_key(env.packages_sha256)
        record.artifacts["environment"] = env_key
    record.git = result(git_future)
    result(announced, timeout=None)  # never let a late 'running' record win
    progress.drain()
    pool.shutdown(wait=False)

    kept = publish.keep(request, record, outcome.nb, env, folder)
    notify(on_record, record)
    return Run(record, kept.output_location, kept.spooled_to, kept.spool_reason, kept.problem)


def _internal_error(exc: BaseException) -> ErrorInfo:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return ErrorInfo(type(exc).__name__, f"nbprod could not complete the run: {text}".rstrip(": "))


def _install_signal_handlers(control: Any) -> Callable[[], None]:
    """Ctrl-C / SIGTERM cancel the run cleanly (main thread only: Python's rule)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        control.stop("cancel")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
