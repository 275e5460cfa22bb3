"""Execute a parameterized notebook with papermill's execution bookkeeping.

papermill's ``NotebookExecutionManager`` records per-cell status and timing in the output
notebook, which we keep. Its ``save()`` rewrites and re-validates the whole notebook on
every cell start and end (quadratic in outputs); ours writes a partial copy at most every
``autosave_seconds`` and leaves the final write to the caller.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NotebookExecutionManager

from nbprod.kernel import StartedKernel

log = logging.getLogger("nbprod.engine")
# nbclient logs cell timeouts and dead kernels; the run record and CLI summary report them.
log.addHandler(logging.NullHandler())
log.propagate = False

ProgressCallback = Callable[[int, int], None]


class RunControl:
    """Stops a run from another thread or a signal handler: interrupt, then kill.

    The kernel runs in its own session (jupyter_client starts it so), so a Ctrl-C at the
    terminal reaches only nbprod; this object forwards it as an interrupt and, if the
    kernel does not stop within ``kill_grace`` seconds, kills its process group.
    """

    def __init__(self, kill_grace: float = 5.0) -> None:
        self.kill_grace = kill_grace
        self.reason: str | None = None
        self._pgid: int | None = None
        self._lock = threading.Lock()
        self._killer: threading.Timer | None = None
        self.killed = False

    def attach(self, km: Any) -> None:
        provisioner = getattr(km, "provisioner", None)
        pgid = getattr(provisioner, "pgid", None) or getattr(provisioner, "pid", None)
        with self._lock:
            self._pgid = pgid
            pending = self.reason
        if pending:
            self._interrupt_then_kill()

    def detach(self) -> None:
        with self._lock:
            self._pgid = None
            if self._killer:
                self._killer.cancel()

    def stop(self, reason: str) -> None:
        """Ask the run to stop ('timeout' or 'cancel'); a second call kills at once."""
        with self._lock:
            again = self.reason is not None
            if not again:
                self.reason = reason
        if again:
            self.kill()
        else:
            self._interrupt_then_kill()

    def _signal(self, signum: int) -> bool:
        with self._lock:
            pgid = self._pgid
        if pgid is None:
            return False
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def _interrupt_then_kill(self) -> None:
        if self._signal(signal.SIGINT):
            timer = threading.Timer(self.kill_grace, self.kill)
            timer.daemon = True
            with self._lock:
                self._killer = timer
            timer.start()

    def kill(self) -> None:
        if self._signal(signal.SIGKILL):
            self.killed = True


class _Manager(NotebookExecutionManager):
    """papermill's bookkeeping with throttled local saves and a progress callback."""

    def __init__(
        self,
        nb: Any,
        partial_path: Path | None,
        progress_bar: bool,
        autosave_seconds: float,
        on_progress: ProgressCallback | None,
    ) -> None:
        super().__init__(nb, output_path=None, progress_bar=progress_bar, autosave_cell_every=0)
        self.partial_path = partial_path
        self.autosave_seconds = autosave_seconds
        self.on_progress = on_progress
        self.cells_done = 0
        self._last_write = time.monotonic()
        # A save skipped by the throttle is done when the interval is over (a timer), so a
        # long silent cell does not leave the partial copy without the cells before it.
        self._lock = threading.Lock()
        self._pending: threading.Timer | None = None
        self._closed = False

    def save(self, **kwargs: Any) -> None:
        if self.partial_path is None:
            return
        with self._lock:
            if self._closed:
                return
            wait = self.autosave_seconds - (time.monotonic() - self._last_write)
            if wait > 0:
                if self._pending is None:
                    self._pending = threading.Timer(wait, self._flush)
                    self._pending.daemon = True
                    self._pending.start()
                return
            self._write()

    def _flush(self) -> None:
        with self._lock:
            self._pending = None
            if self._closed:
                return
            try:
                self._write()
            except Exception:  # best effort: the notebook may change while it is written
                log.debug("partial save failed", exc_info=True)

    def _write(self) -> None:
        assert self.partial_path is not None
        write_notebook(self.nb, self.partial_path)
        self._last_write = time.monotonic()

    def autosave_cell(self) -> None:
        self.save()

    def notebook_complete(self, **kwargs: Any) -> None:
        with self._lock:  # the caller writes the final notebook; no partial save after it
            self._closed = True
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
        super().notebook_complete(**kwargs)

    def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        super().cell_complete(cell, cell_index=cell_index, **kwargs)
        self.cells_done += 1
        if self.on_progress:
            self.on_progress(self.cells_done, len(self.nb.cells))


class KernelStartError(RuntimeError):
    """The kernel died or never answered before the first cell ran."""


class _entered:
    """Exit an already entered context manager (setup_kernel is entered separately, so a
    start-up failure can be told from a failure during the cells)."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: Any) -> Any:
        return self.manager.__exit__(*exc_info)


class _Client(PapermillNotebookClient):
    def __init__(self, nb_man: _Manager, control: RunControl, **kwargs: Any) -> None:
        super().__init__(nb_man, **kwargs)
        self.control = control
        self.current_index: int | None = None

    def execute(self, **kwargs: Any) -> Any:
        self.reset_execution_trackers()
        # The kernel was started early by StartedKernel; shut it down with the client.
        setup = self.setup_kernel(cleanup_kc=True, **kwargs)
        try:
            setup.__enter__()
        except Exception as exc:  # no cell ran: the caller may try a fresh kernel
            raise KernelStartError(str(exc) or type(exc).__name__) from exc
        with _entered(setup):
            self.control.attach(self.km)
            try:
                self.papermill_execute_cells()
                if self.control.reason is None:
                    info = self.wait_for_reply(self.kc.kernel_info())
                    self.nb.metadata["language_info"] = info["content"]["language_info"]
            finally:
                self.control.detach()
        return self.nb

    def papermill_execute_cells(self) -> None:
        for index, cell in enumerate(self.nb.cells):
            if self.control.reason:
                break
            self.current_index = index
            try:
                self.nb_man.cell_start(cell, index)
                self.execute_cell(cell, index)
            except CellExecutionError as exc:
                self.nb_man.cell_exception(cell, cell_index=index, exception=exc)
                break
            except (CellTimeoutError, DeadKernelError) as exc:
                self.nb_man.cell_exception(cell, cell_index=index, exception=exc)
                raise
            finally:
                self.nb_man.cell_complete(cell, cell_index=index)
        else:
            self.current_index = None


@dataclass
class Execution:
    nb: Any
    exception: BaseException | None
    """What stopped execution other than a cell error (dead kernel, cell timeout, start-up)."""
    current_index: int | None
    """The cell that was executing when execution stopped early."""
    cells_done: int


def run_notebook(
    nb: Any,
    *,
    kernel: StartedKernel,
    control: RunControl,
    cell_timeout: float | None = None,
    progress_bar: bool = False,
    log_output: bool = False,
    partial_path: Path | None = None,
    autosave_seconds: float = 10.0,
    on_progress: ProgressCallback | None = None,
    startup_timeout: float = 60,
) -> Execution:
    """Run every cell of ``nb`` (already parameterized); never raises for notebook faults."""
    import sys

    manager = _Manager(nb, partial_path, progress_bar, autosave_seconds, on_progress)
    manager.notebook_start()
    exception: BaseException | None = None
    try:
        for attempt in (1, 2):
            client = _Client(
                manager,
                control,
                km=kernel.km,
                # nbclient's `timeout` trait is an int; timeout_func keeps a fraction (0.5 s)
                timeout=None if cell_timeout is None else math.ceil(cell_timeout),
                timeout_func=None if cell_timeout is None else (lambda _cell: cell_timeout),
                startup_timeout=startup_timeout,
                log=log,
                stdout_file=sys.stdout if log_output else None,
                stderr_file=sys.stderr if log_output else None,
            )
            try:
                client.execute()
            except KernelStartError as exc:
                exception = exc
                if attempt == 2 or control.reason:
                    break
                log.warning("kernel died while starting (%s); starting another", exc)
                kernel.restart()
                exception = None
                continue
            except Exception as exc:  # a dead kernel or cell timeout ends the run
                exception = exc
            break
    finally:
        manager.cleanup_pbar()
        manager.notebook_complete()
        kernel.close()
    return Execution(manager.nb, exception, client.current_index, manager.cells_done)


def write_notebook(nb: Any, path: Path) -> None:
    """Write without nbformat's per-write validation (the notebook came from nbformat)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, path)
