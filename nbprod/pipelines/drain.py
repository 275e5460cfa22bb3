"""Waiting for a pipeline run, executing its steps on the configured executor when no
scheduler's workers would (``nbprod pipelines run`` on the embedded default).

Like a sweep's drain (``sweeps/drain.py``): run-scoped executors for the steps' run ids,
the same worker processes the scheduler uses. A step's next steps are queued by the worker
that ended it, which claims one of them at once (their run ids were assigned when the
pipeline run was created); a retry's new run id gets an executor of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nbprod.config import Settings
from nbprod.errors import NbprodError
from nbprod.pipelines.record import PipelineRun, StepStatus


def wait(
    settings: Settings,
    store: str,
    run_id: str,
    *,
    execute: bool,
    max_parallel: int = 2,
    poll: float = 0.2,
    on_change: Callable[[PipelineRun], None] | None = None,
) -> PipelineRun:
    """Return the pipeline run once it is done. ``execute``: start workers for its steps
    (none are running elsewhere). Ctrl-C cancels its queued and running steps' runs."""
    from nbprod.catalog import open_catalog
    from nbprod.catalog.queue import utcnow
    from nbprod.pipelines.runs import reconcile

    catalog = open_catalog(settings)
    executors: list[tuple[Any, set[str]]] = []
    covered: set[str] = set()
    seen: str | None = None
    try:
        try:
            while True:
                run = reconcile(catalog, store, run_id, utcnow())
                if run is None:
                    raise NbprodError(f"pipeline run {run_id} is gone from the catalog")
                if on_change is not None and run.updated_at != seen:
                    seen = run.updated_at
                    on_change(run)
                if run.done:
                    break
                if execute:
                    _execute(settings, catalog, run, executors, covered, max_parallel)
                time.sleep(poll)
        except KeyboardInterrupt:
            _cancel(catalog, run_id, store)
            for executor, _ in executors:
                executor.stop(settings.kill_grace + 30)
            executors = []
            raise
        for executor, _ in executors:
            executor.close()
        return run
    finally:
        catalog.close()


def _execute(
    settings: Settings,
    catalog: Any,
    run: PipelineRun,
    executors: list[tuple[Any, set[str]]],
    covered: set[str],
    max_parallel: int,
) -> None:
    """Workers for the steps' runs that are due: one run-scoped executor for the run ids
    known when the first is due (every step's first attempt), one more for each retry
    when it is due (not before: a burst worker with nothing to claim exits at once)."""
    from nbprod.catalog.queue import QUEUED, Queue, parse_iso, utcnow
    from nbprod.executors.base import RunRef
    from nbprod.executors.registry import make_executor

    queue, now = Queue(catalog), utcnow()
    due: set[str] = set()
    for step in run.steps.values():
        if step.run_id and step.status is StepStatus.QUEUED:
            item = queue.get(run.store, step.run_id)
            if item is not None and item.state == QUEUED and parse_iso(item.available_at) <= now:
                due.add(step.run_id)
    if due - covered:
        planned = [s.run_id for s in run.steps.values() if s.status is StepStatus.PENDING]
        runs = sorted({*(due - covered), *(r for r in planned if r and r not in covered)})
        folder = settings.home / "pipelines" / run.run_id / str(len(executors) + 1)
        folder.mkdir(parents=True, exist_ok=True)
        executor = make_executor(
            settings,
            workers=max_parallel,
            runs=[RunRef(run.store, r) for r in runs],
            folder=folder,
            store=run.store,
        )
        executor.start()
        executors.append((executor, set(runs)))
        covered.update(runs)
    for executor, ids in executors:
        problem = executor.problem()
        if problem:
            raise NbprodError(f"pipeline run {run.run_id}: {problem}")
        executor.supervise(len(ids & due))


def _cancel(catalog: Any, run_id: str, store: str) -> None:
    from nbprod.catalog.pipelines import get_pipeline_run
    from nbprod.catalog.queue import Queue, utcnow

    run = get_pipeline_run(catalog, store, run_id)
    if run is None:
        return
    from nbprod.pipelines.runs import reconcile

    queue = Queue(catalog)
    for state in run.steps.values():
        if state.status is StepStatus.QUEUED and state.run_id:
            queue.request_cancel(store, state.run_id, utcnow())
    reconcile(catalog, store, run_id, utcnow())  # the steps that never started end now
