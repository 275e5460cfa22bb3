"""Execute a parameterized notebook, keeping papermill's execution bookkeeping.

The output notebook carries papermill's run record: ``metadata.papermill`` with start, end,
duration and whether a cell raised, and per cell its status (pending, running, completed,
failed), timing and ``exception`` flag, so papermill-aware tools read nbprod outputs as
papermill outputs. The bookkeeping is nbprod's own (``_Bookkeeping``) and the client is
nbclient's: papermill's package import pulls its whole I/O layer (boto3, pyarrow, requests;
0.5-1.5 s of CPU per run) that executing a notebook never uses. Unlike papermill's manager,
which rewrites and re-validates the whole notebook on every cell start and end (quadratic in
outputs), this writes a partial copy at most every ``autosave_seconds`` and leaves the
final write to the caller.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import Float, Instance

from nbprod import cells
from nbprod.kernel import RunControl, StartedKernel

log = logging.getLogger("nbprod.engine")
# nbclient logs cell timeouts and dead kernels; the run record and CLI summary report them.
log.addHandler(logging.NullHandler())
log.propagate = False

ProgressCallback = Callable[[int, int], None]

PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"
"""A cell's ``metadata.papermill.status``, papermill's values."""
DESCRIPTION_MARK = "papermill_description="
"""A cell whose source holds ``papermill_description=WORD`` shows WORD in the progress bar."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _Bookkeeping:
    """papermill's metadata contract (as its NotebookExecutionManager keeps it), with
    throttled partial saves, a progress bar and callbacks for nbprod's live progress.

    The bar and the progress count the author's cells (nbprod.cells): the injected
    parameters cell runs, but is not one of the notebook's cells to its user."""

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
        self.nb = nb
        self.on_cell_start = on_cell_start
        self.on_partial = on_partial
        self.partial_path = partial_path
        self.autosave_seconds = autosave_seconds
        self.on_progress = on_progress
        self.cells_done = 0
        self.cells_total = cells.count(nb.cells)
        self.start_time: datetime | None = None
        self.pbar: Any = None
        if progress_bar:
            from tqdm.auto import tqdm  # papermill's bar: a terminal bar, or a widget in Jupyter

            self.pbar = tqdm(total=self.cells_total, unit="cell", desc="Executing")
        self._last_write = time.monotonic()
        # A save skipped by the throttle is done when the interval is over (a timer), so a
        # long silent cell does not leave the partial copy without the cells before it.
        self._lock = threading.Lock()
        self._pending: threading.Timer | None = None
        self._closed = False

    # -- papermill's metadata ------------------------------------------------------------

    def notebook_start(self) -> None:
        """Clear every cell's outputs, counts and status (pending) before the first runs."""
        self.start_time = _now()
        meta = self.nb.metadata.papermill
        meta["start_time"] = self.start_time.isoformat()
        meta["end_time"] = meta["duration"] = meta["exception"] = None
        for cell in self.nb.cells:
            code = cell.get("cell_type") == "code"
            if code:
                cell.execution_count = None
            cell.metadata.papermill = {
                "exception": None,
                "start_time": None,
                "end_time": None,
                "duration": None,
                "status": PENDING,
            }
            if code:
                cell.outputs = []
        self.save()

    def cell_start(self, cell: Any, cell_index: int) -> None:
        meta = cell.metadata.papermill
        meta["start_time"] = _now().isoformat()
        meta["status"] = RUNNING
        meta["exception"] = False
        source = cell["source"]
        if self.pbar is not None and source is not None and DESCRIPTION_MARK in source:
            self.pbar.set_description(f"Executing {source.split(DESCRIPTION_MARK)[1].split()[0]}")
        self.save()
        if self.on_cell_start is not None:
            self.on_cell_start(cell_index)

    def cell_exception(self, cell: Any, cell_index: int) -> None:
        cell.metadata.papermill["exception"] = True
        cell.metadata.papermill["status"] = FAILED
        self.nb.metadata.papermill["exception"] = True

    def cell_complete(self, cell: Any, cell_index: int) -> None:
        end = _now()
        meta = cell.metadata.papermill
        meta["end_time"] = end.isoformat()
        if meta.get("start_time"):
            meta["duration"] = (end - datetime.fromisoformat(meta["start_time"])).total_seconds()
        if meta["status"] != FAILED:
            meta["status"] = COMPLETED
        self.save()
        if cells.is_own(cell):
            return
        if self.pbar is not None:
            self.pbar.update(1)
        self.cells_done += 1
        if self.on_progress:
            self.on_progress(self.cells_done, self.cells_total)

    def notebook_complete(self) -> None:
        """End time and duration; cells before a failure that never reported are completed
        (papermill's rule). The caller writes the final notebook: no partial save after."""
        with self._lock:
            self._closed = True
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
        end = _now()
        meta = self.nb.metadata.papermill
        meta["end_time"] = end.isoformat()
        if meta.get("start_time") and self.start_time is not None:
            meta["duration"] = (end - self.start_time).total_seconds()
        for cell in self.nb.cells:
            status = cell.metadata.papermill["status"]
            if status == FAILED:
                break
            if status == PENDING:
                cell.metadata.papermill["status"] = COMPLETED
        if self.pbar is not None:
            self.pbar.n = self.cells_total
            self.pbar.refresh()
        self.cleanup_pbar()

    def cleanup_pbar(self) -> None:
        if self.pbar is not None:
            self.pbar.close()
            self.pbar = None

    # -- partial saves -------------------------------------------------------------------

    def autosave_cell(self) -> None:
        """After each output message: a partial save if one is due."""
        self.save()

    def save(self) -> None:
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


class _Client(NotebookClient):
    """nbclient's client, reporting to the bookkeeping as papermill's client does (cell
    start, exception, completion; a possible partial save after each output message) and
    copying stream output to this terminal for ``--log-output``."""

    # nbclient declares the cell timeout an Integer; a fractional one (0.5 s) is as valid.
    timeout = Float(None, allow_none=True).tag(config=True)
    stdout_file = Instance(object, default_value=None).tag(config=True)
    stderr_file = Instance(object, default_value=None).tag(config=True)

    def __init__(self, nb_man: _Bookkeeping, control: RunControl, **kwargs: Any) -> None:
        # an iopub timeout fails the cell, as under papermill, instead of passing unnoticed
        super().__init__(nb_man.nb, raise_on_iopub_timeout=True, **kwargs)
        self.nb_man = nb_man
        self.control = control
        self.current_index: int | None = None
        self.cell_error: tuple[int, CellExecutionError] | None = None

    def process_message(self, *args: Any, **kwargs: Any) -> Any:
        output = super().process_message(*args, **kwargs)
        self.nb_man.autosave_cell()
        if output is not None and output.get("output_type") == "stream":
            target = self.stdout_file if output.get("name") == "stdout" else None
            target = self.stderr_file if output.get("name") == "stderr" else target
            if target is not None:
                target.write("".join(output.text))
                target.flush()
        return output

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
                self.nb_man.cell_exception(cell, index)
                break
            except (CellTimeoutError, DeadKernelError):
                self.nb_man.cell_exception(cell, index)
                raise
            finally:
                self.nb_man.cell_complete(cell, index)
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
    """The author's cells that ran (nbprod.cells.count's kind)."""
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
    manager = _Bookkeeping(
        nb, partial_path, progress_bar, autosave_seconds, on_progress, on_cell_start, on_partial
    )
    manager.notebook_start()
    exception: BaseException | None = None
    idle = False  # the kernel answered every request: nothing of it is running
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
        idle = exception is None and control.reason is None
    finally:
        manager.cleanup_pbar()
        manager.notebook_complete()
        # Its exit overlaps the final writes; runner.run's close_kernel step waits for it.
        kernel.request_shutdown(interrupt=not idle)
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
