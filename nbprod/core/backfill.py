"""Backfill: run a scheduled job once per fire time of a past date range, through the queue.

Each run is queued like a scheduled fire (the job's latest version, its retries and
notifications) with ``scheduled_for`` set to its fire time and trigger ``backfill``, so the
notebook sees the moment it stands for. The fire ledger is not consulted: a range that
overlaps fires the scheduler already ran runs those times again (that is what a backfill
after a fix is for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.errors import FieldError

MAX_BACKFILL = 1000
"""The most runs one backfill queues (a typo in a date must not queue a million)."""


@dataclass
class Backfill:
    job: str
    start: str
    end: str
    times: list[datetime]
    run_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "from": self.start,
            "to": self.end,
            "count": len(self.times),
            "first": self.times[0].isoformat() if self.times else None,
            "last": self.times[-1].isoformat() if self.times else None,
            "scheduled_for": [t.isoformat() for t in self.times],
            "run_ids": self.run_ids,
        }


def parse_day(text: Any, name: str) -> date:
    """A ``YYYY-MM-DD`` date; FieldError naming ``name`` otherwise."""
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise FieldError(f"{name} must be a date like 2026-01-31, got {text!r}", name) from None


def fire_times_between(
    definition: Any, start: date, end: date, now: datetime, limit: int = MAX_BACKFILL
) -> list[datetime]:
    """The fire times from ``start`` 00:00 to ``end`` 24:00 in the job's timezone, up to
    ``now``; FieldError past ``limit`` of them."""
    from zoneinfo import ZoneInfo

    from nbprod.jobs.versions import next_fire_times

    zone = ZoneInfo(definition.timezone)
    begin = datetime.combine(start, time(0), zone)
    stop = min(datetime.combine(end + timedelta(days=1), time(0), zone), now)
    times: list[datetime] = []
    moment = begin - timedelta(microseconds=1)
    while True:
        (moment,) = next_fire_times(definition, 1, after=moment)
        if moment >= stop:
            return times
        times.append(moment)
        if len(times) > limit:
            raise FieldError(
                f"the range has more than {limit} fire times; backfill a shorter range", "to"
            )


def plan_backfill(
    ws: Workspace, name: str, start: Any, end: Any, *, now: datetime | None = None
) -> Backfill:
    """The fire times a backfill of job ``name`` from ``start`` to ``end`` (dates, both
    included) would run; nothing is queued. Errors name ``from`` or ``to``."""
    from nbprod.core.jobs import show_job
    from nbprod.errors import BadInput

    first, last = parse_day(start, "from"), parse_day(end, "to")
    now = now or datetime.now().astimezone()
    if first > last:
        raise FieldError(f"from ({first}) is after to ({last})", "from")
    view = show_job(ws, name, next_count=0)
    if view.broken:
        raise BadInput(f"job {name!r} is broken: {view.broken}")
    if not view.definition.schedule:
        raise FieldError(f"job {name!r} has no schedule: it has no fire times to backfill", "from")
    if datetime.combine(first, time(0), now.tzinfo) > now:
        raise FieldError(f"from ({first}) is in the future: backfill runs past fire times", "from")
    times = fire_times_between(view.definition, first, last, now)
    return Backfill(name, first.isoformat(), last.isoformat(), times)


def backfill_job(
    ws: Workspace, name: str, start: Any, end: Any, *, now: datetime | None = None
) -> Backfill:
    """Queue one run of job ``name`` per fire time from ``start`` to ``end`` (see
    :func:`plan_backfill`), each with ``scheduled_for`` set; the plan with the run ids."""
    from nbprod.catalog.queue import utcnow
    from nbprod.catalog.queued import QueuedRun, Trigger
    from nbprod.jobs.versions import pinned_version
    from nbprod.records import new_run_id

    plan = plan_backfill(ws, name, start, end, now=now)
    pinned = pinned_version(ws.catalog, ws.store.url, name)
    definition = pinned.definition
    queued_at = utcnow()
    for moment in plan.times:
        request = QueuedRun.for_job(definition, pinned.version, Trigger.BACKFILL)
        run_id = ws.queue.enqueue(
            ws.store.url,
            name,
            queued_at,
            run_id=new_run_id(queued_at),
            request=request,
            scheduled_for=moment,
        )
        plan.run_ids.append(run_id)
    return plan
