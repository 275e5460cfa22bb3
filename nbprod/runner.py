"""One run, from a validated request to a stored output notebook and run record.

``prepare()`` does every check that can fail on bad input before a kernel starts;
``run()`` executes and always ends in a terminal status with the output kept. It reads as
the list of its steps (``steps``: start the kernel, inject the parameters, build the
record, execute, finalize, keep), which hand each other a ``RunState``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.durations import positive_seconds
from nbprod.errors import KernelNotFound, NotebookError
from nbprod.records import RunRecord, new_run_id
from nbprod.request import Run, RunRequest
from nbprod.store import layout, open_store

StartCallback = Callable[[RunRequest], None]


def load_notebook(path: str | os.PathLike[str]) -> tuple[Path, bytes, Any]:
    """The notebook's resolved path, bytes and contents, read without nbformat's validation
    machinery (``nbread``): every check before a run, and ``nbprod params``, stay light."""
    from nbprod import nbread
    from nbprod.safe_yaml import MAX_NOTEBOOK_BYTES, read_bounded

    try:
        notebook_path = Path(path).expanduser().resolve()
    except (ValueError, OSError) as exc:  # a NUL byte, a loop of symlinks
        raise NotebookError(f"invalid notebook path {str(path)!r}: {exc}") from None
    # Bounded, regular files only: /dev/zero or a FIFO must not hang or exhaust memory.
    source = read_bounded(notebook_path, "notebook", limit=MAX_NOTEBOOK_BYTES, error=NotebookError)
    try:
        nb = nbread.reads(source.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"not a valid notebook (not UTF-8 text): {path}") from None
    except Exception as exc:  # JSON and format errors (nbformat's several types for old ones)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotebookError(f"not a valid notebook: {path}: {reason}") from None
    if not isinstance(nb.get("cells"), list):
        raise NotebookError(f"not a valid notebook (no cells): {path}")
    return notebook_path, source, nb


def check_kernel(name: str) -> str:
    """The installed kernel's name for ``name`` (resolved as Jupyter does), or KernelNotFound."""
    from nbprod.kernel import installed_kernels, resolve_kernel_name

    resolved = resolve_kernel_name(name)
    # not get_kernel_spec: for ``python3`` that imports ipykernel (and IPython) here
    installed = installed_kernels()
    if resolved not in installed:
        names = ", ".join(sorted(installed)) or "none"
        raise KernelNotFound(f"no kernel named {name!r} (installed: {names})")
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
    report_mode: bool = False,
    trigger: str = "manual",
    attempt: int = 1,
    job_version: int | None = None,
    rerun_of: str | None = None,
    tags: Sequence[str] = (),
    source_path: str | None = None,
    run_id: str | None = None,
    scheduled_for: str | None = None,
    logical_run_id: str | None = None,
    pipeline: dict[str, str] | None = None,
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
        report_mode=bool(report_mode),
        trigger=trigger,
        attempt=attempt,
        job_version=job_version,
        rerun_of=rerun_of,
        tags=list(tags),
        source_path=source_path,
        run_id=run_id or new_run_id(),
        scheduled_for=scheduled_for,
        logical_run_id=logical_run_id,
        pipeline=pipeline,
    )


def _notebook_kernel(nb: Any) -> str:
    spec = nb.get("metadata", {}).get("kernelspec") or {}
    return spec.get("name") or "python3"


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
    kernels: Any = None,
) -> Run:
    """Execute a prepared request; always returns a Run in a terminal status.

    ``control`` (a kernel.RunControl) lets the caller stop the run from another thread;
    with ``handle_signals`` Ctrl-C and SIGTERM cancel it (main thread only).

    ``on_start`` is called once the handlers are in place (the CLI announces the run id
    there): from then on every path, a Ctrl-C before the kernel is up, a kernel that cannot
    start or nbprod's own failure, ends in a terminal record.

    ``kernels`` (a kernel_source.KernelSource) gives the run its kernel and takes it back
    (a worker's kernels started ahead of time); default: the run starts its own.

    ``on_record`` sees the record twice, as ``running`` at the start (from a helper
    thread) and in its terminal status at the end (for indexing in the catalog).
    """
    from nbprod.kernel import RunControl
    from nbprod.steps import (  # here: prepare() and the bad-input paths never need them
        RunOptions,
        RunState,
        build_record,
        close_kernel,
        collect_helpers,
        execute,
        finalize,
        inject_parameters,
        keep,
        open_spool_folder,
        start_helpers,
        start_kernel,
    )

    control = control or RunControl(kill_grace=request.settings.kill_grace)
    options = RunOptions(progress_bar, log_output, on_progress, on_record, kernels)
    state = RunState(request, control, options)
    restore = _install_signal_handlers(control) if handle_signals else (lambda: None)
    try:
        if on_start is not None:
            on_start(request)
        open_spool_folder(state)
        start_kernel(state)  # first: its ~1 s boot overlaps the imports and set-up below
        try:
            inject_parameters(state)
            build_record(state)
            start_helpers(state)
            # From here on the 'running' record may be out: whatever fails, the run ends
            # in a record.
            execute(state)
            finalize(state)
            collect_helpers(state)
            return keep(state)
        finally:
            close_kernel(state)
    finally:
        restore()


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
