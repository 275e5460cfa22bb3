"""The worker pool: where queued runs execute. The scheduler only talks to this interface.

The queue lives in the catalog, so executing is "have workers pulling from it":
``LocalExecutor`` keeps N ``nbprod worker`` processes alive on this machine; with
``ExternalExecutor`` the workers run elsewhere (``nbprod worker`` on other machines
sharing the catalog and the store), which is how a distributed engine plugs in.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Protocol

from nbprod.scheduler.events import event


class Executor(Protocol):
    def start(self) -> None: ...

    def supervise(self) -> None:
        """Called every tick: keep capacity up (restart dead workers)."""

    def stop(self, grace: float) -> None:
        """Drain: running runs get ``grace`` seconds, then are cancelled with output kept."""


class ExternalExecutor:
    """Workers run elsewhere; nothing to manage here."""

    def start(self) -> None:
        event("executor", kind="external")

    def supervise(self) -> None:
        pass

    def stop(self, grace: float) -> None:
        pass


def _worker_preexec() -> None:
    # A worker must not outlive its scheduler (PR_SET_PDEATHSIG → drain and exit).
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


class LocalExecutor:
    """A pool of worker processes: the global concurrency limit is their number.

    Workers run in their own session so that a Ctrl-C at the scheduler's terminal reaches
    only the scheduler, which then drains them gracefully.
    """

    def __init__(self, size: int, env: dict[str, str] | None = None) -> None:
        self.size = size
        self.env = env
        self.procs: list[subprocess.Popen] = []

    def _spawn(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nbprod", "worker"],
            env=self.env,
            start_new_session=True,
            preexec_fn=_worker_preexec,
        )
        event("worker_spawned", pid=proc.pid)
        return proc

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.size)]

    def supervise(self) -> None:
        for index, proc in enumerate(self.procs):
            code = proc.poll()
            if code is not None:
                event("worker_exited", pid=proc.pid, code=code)
                self.procs[index] = self._spawn()

    def stop(self, grace: float) -> None:
        alive = [p for p in self.procs if p.poll() is None]
        for proc in alive:
            proc.send_signal(signal.SIGTERM)  # finish the current run, take no new one
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in alive):
            time.sleep(0.2)
        late = [p for p in alive if p.poll() is None]
        for proc in late:
            event("worker_cancelling", pid=proc.pid, grace_s=grace)
            proc.send_signal(signal.SIGINT)  # cancel: output stored, record cancelled
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(p.poll() is None for p in late):
            time.sleep(0.2)
        for proc in late:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []
