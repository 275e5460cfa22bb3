"""A kernel started ahead of a worker's next run, so the run does not wait for its boot.

A worker keeps at most one *fresh* kernel ready: started for the kernel name and working
directory of the run it just claimed (the likeliest next run: the same job again, the next
combination of a sweep), in the same way a cold start would start it, and handed to the
next run only if that run asks for exactly the same kernel name and working directory. The
kernel inherits the worker's environment either way, so a run sees the same cwd and
environment as with a cold kernel. A kernel is never given to a second run: once taken, it
belongs to that run and is shut down at its end like any other.

Its log goes to a file in the spool's ``.warm`` folder and is moved into the run's folder
when the kernel is taken (the same file system; the kernel keeps writing to it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbprod.kernel import StartedKernel

log = logging.getLogger("nbprod.warm_kernels")

WARM_FOLDER = ".warm"
SHUTDOWN_JOIN_SECONDS = 15.0
"""More than jupyter_client's graceful wait (5 s) before it kills a kernel."""


class WarmKernels:
    """One worker's kernel-in-waiting (a kernel_source.KernelSource for its runs).

    Used kernels are shut down on a thread of their own, so that the worker records the
    run's end and takes the next run while the kernel exits; ``close`` waits for them.
    """

    def __init__(
        self,
        spool_dir: Path,
        *,
        fork: bool = True,
        wanted: Callable[[], bool] | None = None,
    ) -> None:
        self.folder = spool_dir / WARM_FOLDER
        self.kernel: StartedKernel | None = None
        self.key: tuple[str, str] | None = None
        self.log_path: Path | None = None
        self.last_was_warm = False
        """Whether the last run taken got a kernel started ahead (the worker's event)."""
        self.closing: list[threading.Thread] = []
        self.wanted = wanted
        """Whether a next run is likely (a burst worker: more runs are due); None: always."""
        self.prepared = 0
        self.forks: Any = None
        if fork:
            from nbprod import kernel_fork

            if kernel_fork.supported():
                self.forks = kernel_fork.KernelForks(self.folder / "zygote")
        _remove_orphan_logs(self.folder)

    def take(self, kernel_name: str, cwd: Path, log_path: Path | None) -> StartedKernel:
        """The kernel for a run: the waiting one if it fits and is alive, else a cold
        start; then the next one is started for the same kernel name and directory."""
        kernel = self._pop(kernel_name, cwd, log_path)
        self.last_was_warm = kernel is not None
        if kernel is None:
            kernel = StartedKernel(kernel_name, cwd, log_path)
        if self.wanted is None or self.wanted():
            self.prepare(kernel_name, cwd)
        return kernel

    def _pop(self, kernel_name: str, cwd: Path, log_path: Path | None) -> StartedKernel | None:
        kernel, warm_log = self.kernel, self.log_path
        fits = self.key == (kernel_name, str(cwd))
        self.kernel = self.key = self.log_path = None
        if kernel is None:
            return None
        usable = (
            fits
            and log_path is not None
            and not log_path.exists()  # an earlier attempt's log: keep appending to it
            and _alive(kernel)
        )
        if usable:
            try:
                os.replace(warm_log, log_path)  # type: ignore[arg-type]
            except OSError:
                usable = False
        if not usable:
            _close(kernel, warm_log)
            return None
        return kernel

    def prepare(self, kernel_name: str, cwd: Path) -> None:
        """Start a kernel for the next run (failures only cost the next run a cold start)."""
        self.discard()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            log_path = self.folder / f"{os.getpid()}-{secrets.token_hex(4)}.log"
            # The zygote (~0.7 s of CPU) only from a worker's second kernel started ahead
            # on: one that runs a single run has no use for it.
            forks = self.forks if self.prepared else None
            self.prepared += 1
            self.kernel = StartedKernel(kernel_name, cwd, log_path, forks=forks)
        except Exception as exc:  # noqa: BLE001 - the next run starts its own
            log.warning("could not start a kernel ahead of the next run: %s", exc)
            return
        self.key, self.log_path = (kernel_name, str(cwd)), log_path

    def give_back(self, kernel: StartedKernel) -> None:
        self.closing = [thread for thread in self.closing if thread.is_alive()]
        thread = threading.Thread(target=_shut_down, args=(kernel,), name="nbprod-kernel-shutdown")
        thread.start()
        self.closing.append(thread)

    def discard(self) -> None:
        kernel, warm_log = self.kernel, self.log_path
        self.kernel = self.key = self.log_path = None
        if kernel is not None:
            _close(kernel, warm_log)

    def close(self) -> None:
        """The waiting kernel is shut down; used ones being shut down are waited for."""
        self.discard()
        for thread in self.closing:
            thread.join(SHUTDOWN_JOIN_SECONDS)
        self.closing = []
        if self.forks is not None:
            self.forks.close()


def _shut_down(kernel: StartedKernel) -> None:
    try:
        kernel.close()
    except Exception as exc:  # noqa: BLE001 - the run is recorded already
        log.warning("could not shut the kernel down: %s", exc)


def _alive(kernel: StartedKernel) -> bool:
    from jupyter_client.utils import run_sync

    try:
        return bool(run_sync(kernel.km.is_alive)())
    except Exception:  # noqa: BLE001
        return False


def _close(kernel: Any, warm_log: Path | None) -> None:
    try:
        kernel.close()
    except Exception as exc:  # noqa: BLE001
        log.warning("could not shut a waiting kernel down: %s", exc)
    if warm_log is not None:
        with contextlib.suppress(OSError):
            warm_log.unlink()


def _remove_orphan_logs(folder: Path) -> None:
    """Logs of waiting kernels whose worker died (its kernel exits with it: ipykernel
    watches its parent)."""
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.endswith(".log")]
    except OSError:
        return
    for name in names:
        pid = name.split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                (folder / name).unlink()
        except OSError:
            continue
