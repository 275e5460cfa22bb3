"""Where a run's kernel comes from and where it goes after the run: the runner's seam.

``nbprod exec`` starts a kernel per run and waits for its shutdown (``ColdKernels``); a
worker hands out kernels it started ahead and shuts used ones down in the background
(``warm_kernels.WarmKernels``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from nbprod.kernel import StartedKernel


class KernelSource(Protocol):
    def take(self, kernel_name: str, cwd: Path, log_path: Path | None) -> StartedKernel:
        """A kernel launched (not necessarily ready yet) in ``cwd``, logging to ``log_path``."""
        ...

    def give_back(self, kernel: StartedKernel) -> None:
        """The run is kept: finish its kernel's shutdown (asked for when the cells were
        done: StartedKernel.request_shutdown)."""
        ...


class ColdKernels:
    """A kernel started when the run asks for it, shut down before the run returns."""

    def take(self, kernel_name: str, cwd: Path, log_path: Path | None) -> StartedKernel:
        return StartedKernel(kernel_name, cwd, log_path)

    def give_back(self, kernel: StartedKernel) -> None:
        kernel.close()
