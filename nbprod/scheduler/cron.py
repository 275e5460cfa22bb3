"""Fire times of a job's schedule and what to do about missed ones. Pure: time is injected."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

from nbprod.jobs.model import PRESETS


class Scheduled(Protocol):
    """What fire times are computed from: a job's or a pipeline's definition."""

    schedule: str | None
    timezone: str
    catchup: str
    catchup_window: float | None


ON_TIME = timedelta(seconds=60)
"""A fire found this late is on time; older ones were missed (downtime). For schedules
firing more often, the tolerance is the gap to the fire's successor: a fire is on time
until the next one is due."""
DEFAULT_CATCHUP_WINDOW = timedelta(days=1)
MAX_FIRES_PER_TICK = 1000
"""Bound on one tick's work after a long downtime (older misses are summarised)."""


MAX_GAP_YEARS = 10
"""A schedule with no fire time this far ahead never fires (``0 0 31 2 *``: Feb 31); the
longest real gap is Feb 29 across a non-leap 2100 (eight years)."""


def expression(schedule: str) -> str:
    return PRESETS.get(schedule, schedule)


def first_fire(cron: str, after: datetime | None = None) -> datetime | None:
    """The first fire time of a cron expression after ``after`` (default now, UTC), or None
    when there is none within MAX_GAP_YEARS (or croniter cannot compute one)."""
    from croniter import croniter

    start = after or datetime.now(timezone.utc)
    try:
        itr = croniter(expression(cron), start, max_years_between_matches=MAX_GAP_YEARS)
        return itr.get_next(datetime)
    except (ValueError, KeyError, OverflowError):  # CroniterBadDateError is a ValueError
        return None


def fire_times(definition: Scheduled, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after ``after``, as aware UTC datetimes, DST-correct in the
    job's timezone (a wall-clock time that does not exist is skipped, one that exists
    twice fires once, as cron does)."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    if not definition.schedule:
        return
    tz = ZoneInfo(definition.timezone)
    itr = croniter(
        expression(definition.schedule),
        after.astimezone(tz),
        max_years_between_matches=MAX_GAP_YEARS,
    )
    last: datetime | None = None
    last_wall: datetime | None = None
    while True:
        local = itr.get_next(datetime).astimezone(tz)
        moment = local.astimezone(timezone.utc)
        wall = local.replace(tzinfo=None)
        if last is not None and (moment <= last or wall == last_wall):
            continue  # the repeated hour when clocks fall back: cron fires it once
        last, last_wall = moment, wall
        yield moment


@dataclass
class FirePlan:
    fire: list[datetime] = field(default_factory=list)
    skip: list[tuple[datetime, str]] = field(default_factory=list)
    skipped_beyond: int = 0
    """Misses not listed individually (beyond MAX_FIRES_PER_TICK)."""


def plan_fires(
    definition: Scheduled,
    *,
    last_fire: datetime | None,
    active_since: datetime,
    now: datetime,
) -> FirePlan:
    """Which due fire times to run and which to skip, per the job's ``catchup`` policy.

    Due fires lie in (max(last_fire, active_since), now]. Those within ON_TIME of now are
    on time. Missed ones: ``none`` skips them all, ``latest`` runs only the newest fire
    (on time or missed), ``all`` runs every miss within ``catchup_window`` (default a day).
    """
    plan = FirePlan()
    if not definition.schedule:
        return plan
    start = max(t for t in (last_fire, active_since) if t is not None)
    due: list[datetime] = []
    for moment in fire_times(definition, start):
        if moment > now:
            break
        due.append(moment)
        if len(due) > MAX_FIRES_PER_TICK:
            plan.skipped_beyond += 1
            due.pop(0)
    if not due:
        return plan
    following = due[1:] + [next(fire_times(definition, due[-1]))]
    on_time = [t for t, n in zip(due, following, strict=True) if now - t <= min(ON_TIME, n - t)]
    missed = [t for t in due if t not in on_time]
    if definition.catchup == "all":
        window = (
            timedelta(seconds=definition.catchup_window)
            if definition.catchup_window
            else DEFAULT_CATCHUP_WINDOW
        )
        plan.fire = [t for t in missed if now - t <= window] + on_time
        plan.skip = [
            (t, "missed: older than the catch-up window") for t in missed if now - t > window
        ]
    elif definition.catchup == "latest":
        newest = due[-1]
        plan.fire = [newest]
        plan.skip = [(t, "missed: catchup latest runs only the newest") for t in due[:-1]]
    else:
        plan.fire = on_time
        plan.skip = [(t, "missed: catchup none") for t in missed]
    return plan
