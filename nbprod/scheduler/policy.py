"""Retry policy: which endings are retried, and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from nbprod.catalog.queued import Trigger
from nbprod.records import parse_iso

RETRIED = {"failed", "timed_out", "kernel_died", "lost"}
"""Endings worth another attempt; succeeded and cancelled are final."""


def retry_at(item: Any, status: str, now: datetime) -> datetime | None:
    """When the next attempt of ``item`` should run, or None when it should not."""
    payload = item.payload
    if status not in RETRIED or item.attempt > payload.retries:
        return None
    if getattr(item, "cancel_requested", False):
        return None  # cancelled by a user, then ended otherwise (its worker died): final
    delay = float(payload.retry_delay) * 2 ** (item.attempt - 1)
    return now + timedelta(seconds=delay)


def enqueue_retry(queue: Any, item: Any, status: str, now: datetime) -> str | None:
    """Queue the next attempt of one logical run; returns its run id, or None."""
    from nbprod.records import new_run_id
    from nbprod.scheduler.events import event

    when = retry_at(item, status, now)
    if when is None:
        return None
    run_id = new_run_id(now)
    queue.enqueue(
        item.store,
        item.job,
        now,
        run_id=run_id,
        attempt=item.attempt + 1,
        logical_run_id=item.logical_run_id,
        scheduled_for=item.scheduled_for and _parse(item.scheduled_for),
        available_at=when,
        request=replace(item.payload, trigger=Trigger.RETRY),
    )
    event(
        "retry_queued",
        job=item.job,
        run_id=run_id,
        previous=item.run_id,
        attempt=item.attempt + 1,
        status=status,
        available_at=when.isoformat(),
    )
    return run_id


def _parse(text: str) -> datetime:
    return parse_iso(text)
