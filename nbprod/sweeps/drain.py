"""Executing a sweep's queued runs on the configured executor, reporting each finished run.

Locally the workers are ``nbprod worker --burst --only-file`` processes (executors/local),
the same worker the scheduler uses (heartbeats, cancel, lost-run detection); on Dask they
are tasks claiming the same queue rows.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.errors import NbprodError
from nbprod.sweeps.record import SweepInfo, cancel_runs


@dataclass
class Finished:
    """One run of a sweep that reached its end (for progress lines)."""

    index: int
    run_id: str
    status: str
    parameters: dict[str, Any]
    duration_s: float | None = None
    error: str | None = None


@dataclass
class DrainResult:
    statuses: dict[str, str]
    """run id → final status (``cancelled`` for runs dropped before they started)."""
    interrupted: bool = False
    worker_logs: list[Path] = field(default_factory=list)
    worker_failures: int = 0

    @property
    def all_succeeded(self) -> bool:
        return not self.interrupted and all(s == "succeeded" for s in self.statuses.values())


def drain(
    info: SweepInfo,
    *,
    settings: Settings,
    max_parallel: int = 2,
    on_finished: Callable[[Finished], None] | None = None,
    poll: float = 0.2,
    handle_signals: bool = True,
) -> DrainResult:
    """Run the sweep's queued runs on the executor (up to ``max_parallel`` at once locally).

    Returns when every run has ended. Runs claimed meanwhile by other workers (a running
    ``nbprod scheduler``) are waited for too. Ctrl-C or SIGTERM cancel the remaining runs:
    queued ones are dropped, running ones are cancelled by their workers with their output
    stored; the result is then ``interrupted``.
    """
    from nbprod.catalog import open_catalog
    from nbprod.catalog.queue import DONE, QUEUED
    from nbprod.catalog.sweeps import queue_states
    from nbprod.executors.base import RunRef
    from nbprod.executors.registry import make_executor

    folder = settings.home / "sweeps" / info.sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    executor = make_executor(
        settings,
        workers=max_parallel,
        runs=[RunRef(info.store, run_id) for run_id in info.run_ids],
        folder=folder,
        store=info.store,
        poll=0.2,
    )
    catalog = open_catalog(settings)
    index_of = {run_id: i for i, run_id in enumerate(info.run_ids)}
    statuses: dict[str, str] = {}
    interrupted = False
    previous = _install_sigterm() if handle_signals else None
    try:
        try:
            executor.start()
            while True:
                states = queue_states(catalog, info.store, info.run_ids)
                for run_id, (state, final) in states.items():
                    if run_id in statuses or state not in (DONE, "cancelled"):
                        continue
                    statuses[run_id] = final or state
                    if on_finished is not None:
                        on_finished(_finished(catalog, info, index_of[run_id], final or state))
                missing = [r for r in info.run_ids if r not in states and r not in statuses]
                for run_id in missing:  # removed from the queue by someone else
                    statuses[run_id] = "cancelled"
                if len(statuses) == len(info.run_ids):
                    break
                problem = executor.problem()
                if problem:
                    raise NbprodError(f"sweep {info.sweep_id}: {problem}")
                executor.supervise(sum(1 for state, _ in states.values() if state == QUEUED))
                time.sleep(poll)
            executor.close()
        except KeyboardInterrupt:
            interrupted = True
            _ignore_interrupts()
            cancel_runs(info, settings=settings)
            executor.stop(settings.kill_grace + 30)
            states = queue_states(catalog, info.store, info.run_ids)
            for run_id in info.run_ids:
                if run_id in statuses:
                    continue
                state, final = states.get(run_id, ("cancelled", "cancelled"))
                if state in (DONE, "cancelled"):
                    statuses[run_id] = final or state
                    if on_finished is not None:
                        on_finished(_finished(catalog, info, index_of[run_id], final or state))
                else:
                    statuses[run_id] = state  # claimed by another worker; it cancels it
    finally:
        catalog.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)
    logs = list(getattr(executor, "logs", []))
    failures = int(getattr(executor, "failures", 0))
    if failures == 0 and not interrupted:
        try:
            folder.rmdir()
        except OSError:
            pass
    return DrainResult(statuses, interrupted, logs, failures)


def _install_sigterm() -> Any:
    def to_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, to_interrupt)
    except ValueError:  # not the main thread: the caller handles signals
        return None


def _ignore_interrupts() -> None:
    """While cancelling, a second Ctrl-C must not abandon the workers half-way."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except ValueError:
        pass


def _finished(catalog: Any, info: SweepInfo, index: int, status: str) -> Finished:
    run_id = info.run_ids[index]
    record = catalog.get_run(info.store, run_id)
    parameters = info.parameter_sets[index]
    if record is None:
        error = "never started (cancelled)" if status == "cancelled" else "did not start"
        return Finished(index, run_id, status, parameters, None, error)
    error = record.error.line if record.error else None
    return Finished(index, run_id, record.status.value, parameters, record.duration_s, error)
