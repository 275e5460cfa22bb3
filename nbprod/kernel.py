"""Start a kernel process early, without importing papermill or nbclient."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class StartedKernel:
    """A kernel process launched before the heavy imports, so its boot overlaps them.

    jupyter_client's ``start_kernel`` spawns the process and returns; nbclient then waits
    for it to be ready. The kernel's own stdout/stderr (start-up warnings, crash messages)
    go to ``log_path`` instead of the user's terminal; cell output is unaffected.
    """

    def __init__(self, kernel_name: str, cwd: Path, log_path: Path | None) -> None:
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.log_file = open(log_path, "ab") if log_path else None  # noqa: SIM115
        self.km: Any = None
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_client.utils import run_sync

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        extra: dict[str, Any] = {}
        if self.log_file is not None:
            extra = {"stdout": self.log_file, "stderr": self.log_file}
        run_sync(self.km.start_kernel)(cwd=str(self.cwd), **extra)

    def restart(self) -> None:
        """A fresh kernel process (new ports) after one died while starting: two kernels
        started at once on one machine can race for the same free port."""
        self._shutdown()
        if self.log_file is not None:
            self.log_file.write(b"\n[nbprod] the kernel died while starting; starting another\n")
            self.log_file.flush()
        self._start()

    def _shutdown(self) -> None:
        from jupyter_client.utils import run_sync

        if self.km is not None and self.km.has_kernel:
            run_sync(self.km.shutdown_kernel)(now=True)

    def close(self) -> None:
        try:
            self._shutdown()
        finally:
            if self.log_file is not None and not self.log_file.closed:
                self.log_file.close()
