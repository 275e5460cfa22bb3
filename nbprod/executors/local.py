"""The ``local`` executor: ``nbprod worker`` processes on this machine pulling the queue.

For the whole queue it is a pool of long-lived workers (their number is the global
concurrency limit), or nothing at all with ``workers = 0`` (the workers run elsewhere:
``nbprod worker`` on other machines sharing the catalog and the store). For given runs
(a sweep, a *Run now*) it is burst workers restricted to those run ids.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Sequence

from nbprod.config import Settings
from nbprod.errors import BadInput
from nbprod.executors.base import Executor, ExecutorContext, RunRef
from nbprod.executors.pool import (
    BurstWorkers,
    kill_all,
    signal_all,
    spawn_worker,
    start_burst_workers,
    wait_all,
)
from nbprod.scheduler.events import event


class ExternalExecutor:
    """Workers run elsewhere; nothing to manage here."""

    name = "external"
    capacity = 0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def start(self) -> None:
        event("executor", kind="external")

    def supervise(self, waiting: int | None = None) -> None:
        pass

    def submit(self, runs: Sequence[RunRef]) -> None:
        """Workers elsewhere pull every queued run."""

    def problem(self) -> str | None:
        return None

    def stop(self, grace: float) -> None:
        pass

    def close(self) -> None:
        pass


class OneOffWorkers(ExternalExecutor):
    """Background burst workers for the given runs (the Jupyter server's *Run now* or a
    sweep when no scheduler's workers would take them): one for one run, up to the
    ``workers`` setting sharing several. The workers outlive their starter."""

    def __init__(self, settings: Settings, runs: Sequence[RunRef]) -> None:
        super().__init__(settings)
        self.runs = list(runs)

    def start(self) -> None:
        self.submit(self.runs)

    def submit(self, runs: Sequence[RunRef]) -> None:
        if runs:
            run_ids = [ref.run_id for ref in runs]
            start_burst_workers(self.settings, run_ids, self.settings.workers)


class LocalExecutor:
    """A pool of long-lived worker processes: the global concurrency limit is their number."""

    name = "local"

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self.size = size
        self.procs: list[subprocess.Popen] = []

    @property
    def capacity(self) -> int:
        return self.size

    def _spawn(self) -> subprocess.Popen:
        proc = spawn_worker(self.settings)
        event("worker_spawned", pid=proc.pid)
        return proc

    def start(self) -> None:
        event("executor", kind="local", workers=self.size)
        self.procs = [self._spawn() for _ in range(self.size)]

    def supervise(self, waiting: int | None = None) -> None:
        for index, proc in enumerate(self.procs):
            code = proc.poll()
            if code is not None:
                event("worker_exited", pid=proc.pid, code=code)
                self.procs[index] = self._spawn()

    def submit(self, runs: Sequence[RunRef]) -> None:
        """The pool's workers pull every queued run; nothing to hand them."""

    def problem(self) -> str | None:
        return None

    def stop(self, grace: float) -> None:
        alive = [p for p in self.procs if p.poll() is None]
        signal_all(alive, signal.SIGTERM)  # finish the current run, take no new one
        late = wait_all(alive, grace)
        for proc in late:
            event("worker_cancelling", pid=proc.pid, grace_s=grace)
        signal_all(late, signal.SIGINT)  # cancel: output stored, record cancelled
        kill_all(wait_all(late, 30))
        self.procs = []

    def close(self) -> None:
        self.stop(self.settings.shutdown_grace)


class LocalRuns:
    """Burst workers for given runs, each logging to its own file in the folder. They
    exit when nothing they may claim is left (a job's concurrency limit can make one exit
    early), so :meth:`supervise` tops them up while runs wait."""

    name = "local"

    def __init__(self, context: ExecutorContext) -> None:
        if context.runs is None or context.folder is None:
            raise ValueError("LocalRuns needs runs and a folder")
        self.runs = list(context.runs)
        self.size = max(1, context.workers)
        self.workers = BurstWorkers(
            context.settings,
            [ref.run_id for ref in self.runs],
            context.folder,
            store=context.store,
            capacity=self.size,
            poll=context.poll,
        )

    @property
    def capacity(self) -> int:
        return self.size

    @property
    def logs(self) -> list:
        return list(self.workers.logs)

    @property
    def failures(self) -> int:
        return self.workers.failures

    def start(self) -> None:
        for _ in range(min(self.size, len(self.runs))):
            self.workers.spawn()

    def supervise(self, waiting: int | None = None) -> None:
        alive = self.workers.alive()
        want = self.size if waiting is None else min(self.size, waiting)
        # at most one start a second: a worker that finds nothing claimable exits at once
        if waiting and len(alive) < want and time.monotonic() - self.workers.last_exit > 1.0:
            self.workers.spawn()

    def submit(self, runs: Sequence[RunRef]) -> None:
        """Its workers were started for its runs; nothing more to hand them."""

    def problem(self) -> str | None:
        self.workers.alive()
        if self.workers.failures > 3 * self.size:
            return f"its worker processes keep failing; see {self.workers.logs[-1]}"
        return None

    def stop(self, grace: float) -> None:
        self.workers.stop(grace)  # SIGINT: each cancels its current run, output stored

    def close(self) -> None:
        self.workers.wait()
        if self.workers.failures == 0:
            self.workers.remove_files()


def make(context: ExecutorContext) -> Executor:
    """The local executor for ``context``."""
    if context.workers < 0:
        raise BadInput(f"workers must not be negative, got {context.workers}")
    if context.runs is not None:
        if context.folder is None:
            return OneOffWorkers(context.settings, context.runs)
        return LocalRuns(context)
    if context.workers == 0:
        return ExternalExecutor(context.settings)
    return LocalExecutor(context.settings, context.workers)
