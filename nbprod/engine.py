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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NotebookExecutionManager
from traitlets import Float

from nbprod.kernel import RunControl, StartedKernel

log = logging.getLogger("nbprod.engine")
# nbclient logs cell timeouts and dead kernels; the run record and CLI summary report them.
log.addHandler(logging.NullHandler())
log.propagate = False

ProgressCallback = Callable[[int, int], None]


class _Manager(NotebookExecutionManager):
    """papermill's bookkeeping with throttled local saves and a progress callback."""

    def __init__(
        self,
        nb: Any,
        partial_path: Path | None,
        progress_bar: bool,
        autosave_seconds: float,
        on_progress: ProgressCallback | None,
        on_cell_start: Callable[[int], None] | None = None,
        on_partial: Callable[[Path], None] | None = None,
    ) -> None:
        super().__init__(nb, output_path=None, progress_bar=progress_bar, autosave_cell_every=0)
        self.on_cell_start = on_cell_start
        self.on_partial = on_partial
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
        self._last_write = time.monotonic()
        try:
            write_notebook(self.nb, self.partial_path)
        except OSError as exc:  # a full disk must not fail the notebook; the final write tells
            log.debug("partial save failed: %s", exc)
            return
        if self.on_partial is not None:
            try:
                self.on_partial(self.partial_path)
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not fail the run
                log.debug("partial upload failed: %s", exc)

    def autosave_cell(self) -> None:
        self.save()

    def notebook_complete(self, **kwargs: Any) -> None:
        with self._lock:  # the caller writes the final notebook; no partial save after it
            self._closed = True
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
        super().notebook_complete(**kwargs)

    def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        super().cell_start(cell, cell_index=cell_index, **kwargs)
        if self.on_cell_start is not None and cell_index is not None:
            self.on_cell_start(cell_index)

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


SHELL_POLL_SECONDS = 1.0


async def _ensure(value: Any) -> Any:
    import inspect

    return await value if inspect.isawaitable(value) else value


async def _wait_for_ready(kc: Any, timeout: float) -> None:
    """The kernel answers on shell and its IOPub messages reach us (a subscription that is
    not connected yet would lose the first cell's output): jupyter_client's check, minus the
    final wait for 0.2 s without IOPub messages (nbclient ignores messages of other
    requests, such as the status messages of this kernel_info)."""
    deadline = time.monotonic() + timeout
    while True:
        kc.kernel_info()
        try:
            msg = await _ensure(kc.shell_channel.get_msg(timeout=1))
        except Empty:
            msg = None
        if msg is not None and msg["msg_type"] == "kernel_info_reply":
            try:
                await _ensure(kc.iopub_channel.get_msg(timeout=0.2))
            except Empty:
                pass  # IOPub not connected yet: ask again
            else:
                kc._handle_kernel_info_reply(msg)  # the kernel's protocol version
                return
        if not await _ensure(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


def _poll_in_slices(channel: Any) -> None:
    """Wait for shell replies in slices of SHELL_POLL_SECONDS instead of one unbounded poll.

    nbclient waits for a cell's execute reply with ``get_msg(timeout=None)`` while an
    ipywidgets ``Output`` handler (``clear_output``) sends on the same shell socket. The zmq
    socket's file descriptor is edge-triggered: the send can consume the readiness edge of a
    reply that has just arrived, and the unbounded poll then never wakes up (nbclient#312).
    Each new poll checks the socket's events first, so a reply left waiting is read within
    one slice.
    """
    get_msg = channel.get_msg

    async def sliced(timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = SHELL_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            try:
                return await get_msg(timeout=max(0.0, min(SHELL_POLL_SECONDS, left)))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    channel.get_msg = sliced


class _Client(PapermillNotebookClient):
    # nbclient declares the cell timeout an Integer; a fractional one (0.5 s) is as valid.
    timeout = Float(None, allow_none=True).tag(config=True)

    def __init__(self, nb_man: _Manager, control: RunControl, **kwargs: Any) -> None:
        super().__init__(nb_man, **kwargs)
        self.control = control
        self.current_index: int | None = None
        self.cell_error: tuple[int, CellExecutionError] | None = None

    def execute(self, **kwargs: Any) -> Any:
        self.reset_execution_trackers()
        # The kernel was started early by StartedKernel, which also shuts it down once the
        # run is kept (steps.close_kernel): its shutdown is not part of the run's time.
        setup = self.setup_kernel(cleanup_kc=False, **kwargs)
        try:
            setup.__enter__()
        except Exception as exc:  # no cell ran: the caller may try a fresh kernel
            self._stop_channels()
            raise KernelStartError(str(exc) or type(exc).__name__) from exc
        try:
            with _entered(setup):
                _poll_in_slices(self.kc.shell_channel)
                self.control.attach(self.km)
                try:
                    self.papermill_execute_cells()
                    if self.control.reason is None:
                        info = self.wait_for_reply(self.kc.kernel_info())
                        self.nb.metadata["language_info"] = info["content"]["language_info"]
                finally:
                    self.control.detach()
        finally:
            self._stop_channels()
        return self.nb

    def _stop_channels(self) -> None:
        kc, self.kc = self.kc, None
        if kc is not None:
            kc.stop_channels()

    async def async_start_new_kernel_client(self) -> Any:
        """nbclient's, with a readiness check that does not wait 0.2 s for silence on IOPub
        (jupyter_client's ``wait_for_ready`` ends so): with a kernel started ahead of the
        run that wait was most of the time from claim to first cell."""
        from nbclient.util import run_hook

        assert self.km is not None
        try:
            self.kc = self.km.client()
            await _ensure(self.kc.start_channels())
            await _wait_for_ready(self.kc, self.startup_timeout)
        except Exception:
            self._stop_channels()
            raise
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # setup_kernel calls it

    def papermill_execute_cells(self) -> None:
        for index, cell in enumerate(self.nb.cells):
            if self.control.reason:
                break
            self.current_index = index
            try:
                self.nb_man.cell_start(cell, index)
                self.execute_cell(cell, index)
            except CellExecutionError as exc:  # also an error reply without an error output
                self.cell_error = (index, exc)
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
    cell_error: tuple[int, CellExecutionError] | None = None
    """The cell whose execute reply had status ``error`` (a UsageError writes no error
    output, only its reply says it failed)."""


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
    on_cell_start: Callable[[int], None] | None = None,
    on_partial: Callable[[Path], None] | None = None,
    startup_timeout: float = 60,
) -> Execution:
    """Run every cell of ``nb`` (already parameterized); never raises for notebook faults.

    ``on_partial`` is called with ``partial_path`` after each (throttled) partial save."""
    import sys

    manager = _Manager(
        nb, partial_path, progress_bar, autosave_seconds, on_progress, on_cell_start, on_partial
    )
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
    return Execution(
        manager.nb, exception, client.current_index, manager.cells_done, client.cell_error
    )


def notebook_bytes(nb: Any) -> bytes:
    """Serialise without nbformat's per-write validation (the notebook came from nbformat).

    Non-ASCII stays readable; a notebook holding a lone surrogate (valid as a JSON escape,
    not as UTF-8) is written with escapes, as its input was."""
    text = json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(nb, indent=1, ensure_ascii=True, sort_keys=True) + "\n").encode()


def write_notebook(nb: Any, path: Path) -> None:
    """Whole or not at all: a failed write (a full disk) leaves no partial file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(notebook_bytes(nb))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
