"""What follows a run's end once it is final (recorded under its claim): its retry, or,
for a pipeline step whose end is final, the next steps of its pipeline run.

The one function every place that ends a queued run calls (the worker after a run's end
or its crash, the reaper after settling a lost run), so a retry and a pipeline's advance
happen the same way whoever ended the run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from nbprod.scheduler import policy
from nbprod.scheduler.durable import persist
from nbprod.scheduler.events import event

T = TypeVar("T")


def _direct(action: Callable[[], T], what: str, **fields: object) -> T:
    return action()


def run_ended(
    queue: Any,
    item: Any,
    status: str,
    now: datetime,
    *,
    catalog: Any,
    durable: bool = True,
    retry: bool = True,
) -> str | None:
    """Queue the next attempt of ``item`` if its policy wants one (and ``retry``: not for
    a run that could not even be prepared); for a pipeline step, then advance its pipeline
    run (a retry is not the step's end). Returns the retry's run id, or None.
    ``durable``: wait out a catalog outage (``durable.persist``).

    A pipeline advance that fails is logged, not raised: the run has ended either way, and
    ``pipelines.runs.reconcile`` applies the ending later."""
    write = persist if durable else _direct
    next_run = None
    if retry:
        next_run = write(
            lambda: policy.enqueue_retry(queue, item, status, now),
            "enqueue_retry",
            run_id=item.run_id,
        )
    try:
        link = item.payload.pipeline
    except Exception:  # noqa: BLE001 - a payload that cannot be read links to nothing
        link = None
    if link is None:
        return next_run
    from nbprod.pipelines.runs import step_ended

    try:
        write(
            lambda: step_ended(catalog, item.store, link, item.run_id, status, next_run, now),
            "pipeline_advance",
            run_id=item.run_id,
        )
    except Exception as exc:  # noqa: BLE001 - reconcile catches up; the run itself is final
        event(
            "pipeline_advance_failed",
            run_id=item.run_id,
            pipeline_run=link["run_id"],
            error=f"{type(exc).__name__}: {exc}",
        )
    return next_run
