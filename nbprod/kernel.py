"""Start and stop a kernel process, without importing papermill or nbclient."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

SHUTDOWN_POLL_SECONDS = 0.01
"""How often ``close`` looks whether the kernel has exited (jupyter_client's default 0.1 s
is up to 0.1 s of waiting on every run)."""
IPYTHON_HISTORY = ":memory:"
"""nbclient's default ``ipython_hist_file``: parallel kernels do not contend for the
SQLite lock of ~/.ipython's history, and runs stay out of the user's history."""


def resolve_kernel_name(name: str) -> str:
    """The name jupyter_client's KernelManager uses: ``python`` is the native ``python3``."""
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME

    return NATIVE_KERNEL_NAME if name == "python" else name


def installed_kernels() -> dict[str, str]:
    """Kernel names -> resource directories, as jupyter_client finds them."""
    return kernel_spec_manager().find_kernel_specs()


def kernel_spec_manager() -> Any:
    """jupyter_client's KernelSpecManager over the directories it searches by default.

    Its default kernel directories import IPython (0.25-0.4 s) only to locate
    ``~/.ipython/kernels``; this process never runs a kernel itself, so that directory is
    named here the way IPython names it (``$IPYTHONDIR`` or ``~/.ipython``).
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_path

    ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    dirs = [*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")]
    return KernelSpecManager(kernel_dirs=dirs)


class StartedKernel:
    """A kernel process launched before the heavy imports, so its boot overlaps them.

    jupyter_client's ``start_kernel`` spawns the process and returns; nbclient then waits
    for it to be ready. The kernel's own stdout/stderr (start-up warnings, crash messages)
    go to ``log_path`` instead of the user's terminal; cell output is unaffected.
    """

    def __init__(
        self, kernel_name: str, cwd: Path, log_path: Path | None, forks: Any = None
    ) -> None:
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.forks = forks
        """A kernel_fork.KernelForks to fork the kernel from (a worker's warm kernels)."""
        self.log_file = None
        if log_path is not None:
            try:
                self.log_file = open(log_path, "ab")  # noqa: SIM115
            except OSError:  # no room or no permission in the spool: the terminal's stderr
                self.log_file = None
        self.km: Any = None
        self.shutdown_requested = False
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_client.utils import run_sync

        self.km = AsyncKernelManager(
            kernel_name=self.kernel_name, kernel_spec_manager=kernel_spec_manager()
        )
        if self.forks is not None:
            import uuid

            self.km.kernel_id = str(uuid.uuid4())
            self.km.provisioner = self.forks.provisioner(self.km)
        extra: dict[str, Any] = {}
        if self.log_file is not None:
            extra = {"stdout": self.log_file, "stderr": self.log_file}
        arguments = []
        if self.km.ipykernel:  # as nbclient does: no run's code in the user's history database
            arguments.append(f"--HistoryManager.hist_file={IPYTHON_HISTORY}")
        run_sync(self.km.start_kernel)(cwd=str(self.cwd), extra_arguments=arguments, **extra)

    def restart(self) -> None:
        """A fresh kernel process (new ports) after one died while starting: two kernels
        started at once on one machine can race for the same free port."""
        self._shutdown()
        if self.log_file is not None:
            self.log_file.write(b"\n[nbprod] the kernel died while starting; starting another\n")
            self.log_file.flush()
        self._start()

    def _shutdown(self, now: bool = True) -> None:
        from jupyter_client.utils import run_sync

        if self.km is not None and self.km.has_kernel:
            run_sync(self.km.shutdown_kernel)(now=now)

    def request_shutdown(self, *, interrupt: bool) -> None:
        """Ask a live kernel to shut down, and return at once: its exit (its atexit
        handlers, the files it flushes, its interpreter's teardown: 0.2-0.3 s for ipykernel)
        overlaps the run's final writes; ``close`` waits for it. ``interrupt`` first, as
        jupyter_client does, when the kernel may still be busy (a stopped run). Best effort:
        a kernel that cannot be asked is killed by ``close``."""
        from jupyter_client.utils import run_sync

        if self.km is None or not self.km.has_kernel or self.shutdown_requested:
            return
        try:
            if not run_sync(self.km.is_alive)():
                return
            if interrupt:
                run_sync(self.km.interrupt_kernel)()
            run_sync(self.km.request_shutdown)()
        except Exception as exc:  # noqa: BLE001 - close() kills it instead
            logging.getLogger("nbprod").debug("could not ask the kernel to shut down: %s", exc)
            return
        self.shutdown_requested = True

    def close(self) -> None:
        """Wait for a kernel asked to shut down (escalating to SIGTERM, then SIGKILL, after
        jupyter_client's ``shutdown_wait_time``), or kill one that was not asked."""
        from jupyter_client.utils import run_sync

        try:
            if self.shutdown_requested and self.km.has_kernel:
                run_sync(self.km.finish_shutdown)(pollinterval=SHUTDOWN_POLL_SECONDS)
                run_sync(self.km.cleanup_resources)()
            else:
                self._shutdown()
        finally:
            self.shutdown_requested = False
            if self.log_file is not None and not self.log_file.closed:
                self.log_file.close()


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
        self._signal(signal.SIGKILL)
