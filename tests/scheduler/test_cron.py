"""Fire times and catch-up decisions with injected time (no daemons, no sleeping)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from nbprod.jobs.model import JobDefinition
from nbprod.scheduler.cron import fire_times, plan_fires

UTC = timezone.utc


def job(schedule: str, tz: str = "UTC", **fields) -> JobDefinition:
    return JobDefinition(name="j", notebook="/nb.ipynb", schedule=schedule, timezone=tz, **fields)


def take(definition: JobDefinition, after: datetime, n: int) -> list[datetime]:
    times = fire_times(definition, after)
    return [next(times) for _ in range(n)]


def test_daily_in_a_timezone_is_utc_shifted():
    times = take(job("0 7 * * *", "Europe/Berlin"), datetime(2026, 1, 10, tzinfo=UTC), 2)
    assert times == [datetime(2026, 1, 10, 6, tzinfo=UTC), datetime(2026, 1, 11, 6, tzinfo=UTC)]


def test_dst_spring_forward_keeps_wall_clock_time():
    # Europe/Berlin switches to CEST on 2026-03-29: 07:00 local is 06:00 UTC before, 05:00 after
    times = take(job("0 7 * * *", "Europe/Berlin"), datetime(2026, 3, 28, tzinfo=UTC), 2)
    assert times == [datetime(2026, 3, 28, 6, tzinfo=UTC), datetime(2026, 3, 29, 5, tzinfo=UTC)]


def test_dst_fall_back_fires_a_repeated_hour_once():
    # 02:30 local happens twice on 2026-10-25 in Berlin; it must fire once that day
    times = take(job("30 2 * * *", "Europe/Berlin"), datetime(2026, 10, 24, 12, tzinfo=UTC), 3)
    assert times == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first 02:30
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET the next day
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_presets_and_seconds_field():
    assert take(job("@hourly"), datetime(2026, 1, 1, 0, 30, tzinfo=UTC), 1) == [
        datetime(2026, 1, 1, 1, tzinfo=UTC)
    ]
    assert take(job("* * * * * */20"), datetime(2026, 1, 1, tzinfo=UTC), 3) == [
        datetime(2026, 1, 1, 0, 0, 20, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 40, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC),
    ]


BASE = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)


def test_on_time_fire_runs_and_nothing_before_activation():
    plan = plan_fires(
        job("*/5 * * * *"),
        last_fire=None,
        active_since=BASE,
        now=BASE + timedelta(minutes=5, seconds=3),
    )
    assert plan.fire == [BASE + timedelta(minutes=5)] and plan.skip == []
    assert (
        plan_fires(
            job("*/5 * * * *"), last_fire=None, active_since=BASE, now=BASE + timedelta(minutes=4)
        ).fire
        == []
    )


def test_nothing_fires_twice():
    plan = plan_fires(
        job("*/5 * * * *"),
        last_fire=BASE + timedelta(minutes=5),
        active_since=BASE,
        now=BASE + timedelta(minutes=5, seconds=30),
    )
    assert plan.fire == [] and plan.skip == []


@pytest.mark.parametrize(
    ("policy", "fired", "skipped"),
    [
        ("none", [60], [15, 30, 45]),
        ("latest", [60], [15, 30, 45]),
        ("all", [15, 30, 45, 60], []),
    ],
)
def test_catchup_after_downtime(policy, fired, skipped):
    # the scheduler was down from 00:10 to 01:00:10; fires every 15 minutes
    plan = plan_fires(
        job("*/15 * * * *", catchup=policy),
        last_fire=BASE,
        active_since=BASE,
        now=BASE + timedelta(minutes=60, seconds=10),
    )
    assert plan.fire == [BASE + timedelta(minutes=m) for m in fired]
    assert [t for t, _ in plan.skip] == [BASE + timedelta(minutes=m) for m in skipped]
    assert all(policy in reason or "catchup" in reason for _, reason in plan.skip)


def test_catchup_latest_runs_the_newest_miss_when_none_is_on_time():
    plan = plan_fires(
        job("*/15 * * * *", catchup="latest"),
        last_fire=BASE,
        active_since=BASE,
        now=BASE + timedelta(minutes=50),
    )
    assert plan.fire == [BASE + timedelta(minutes=45)]
    assert len(plan.skip) == 2


def test_catchup_none_runs_nothing_missed():
    plan = plan_fires(
        job("*/15 * * * *", catchup="none"),
        last_fire=BASE,
        active_since=BASE,
        now=BASE + timedelta(minutes=50),
    )
    assert plan.fire == [] and len(plan.skip) == 3


def test_catchup_all_respects_its_window():
    definition = job("0 * * * *", catchup="all", catchup_window=3 * 3600)
    plan = plan_fires(
        definition, last_fire=BASE, active_since=BASE, now=BASE + timedelta(hours=10, seconds=5)
    )
    assert plan.fire == [BASE + timedelta(hours=h) for h in (8, 9, 10)]
    assert [t for t, _ in plan.skip] == [BASE + timedelta(hours=h) for h in range(1, 8)]
    assert all("window" in reason for _, reason in plan.skip)


def test_sub_minute_schedule_tolerance_is_its_period():
    # every 5 s: a fire 7 s old was missed (its successor is already due)
    plan = plan_fires(
        job("* * * * * */5", catchup="none"),
        last_fire=BASE,
        active_since=BASE,
        now=BASE + timedelta(seconds=12),
    )
    assert plan.fire == [BASE + timedelta(seconds=10)]
    assert [t for t, _ in plan.skip] == [BASE + timedelta(seconds=5)]


def test_unscheduled_job_never_fires():
    assert (
        plan_fires(
            JobDefinition(name="j", notebook="/nb"),
            last_fire=None,
            active_since=BASE,
            now=BASE + timedelta(days=3),
        ).fire
        == []
    )


# -- schedules that never fire -------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_a_schedule_that_never_fires_is_bad_input_everywhere(schedule):
    from nbprod.core.notebooks import cron_preview
    from nbprod.errors import BadInput
    from nbprod.jobs.definition import validate_definition
    from nbprod.scheduler.cron import first_fire

    assert first_fire(schedule, datetime(2026, 1, 1, tzinfo=UTC)) is None
    with pytest.raises(BadInput, match="never fires"):
        validate_definition(
            {"name": "j", "notebook": "/nb.ipynb", "schedule": schedule}, base_dir=Path("/")
        )
    with pytest.raises(BadInput, match="never fires"):  # the REST cron preview: a 400
        cron_preview(schedule)


def test_rare_schedules_still_fire():
    from nbprod.scheduler.cron import first_fire

    start = datetime(2096, 3, 1, tzinfo=UTC)  # Feb 29: 2100 is no leap year, 2104 is
    assert first_fire("0 0 29 2 *", start) == datetime(2104, 2, 29, tzinfo=UTC)
    assert first_fire("0 0 L 2 *", start) == datetime(2097, 2, 28, tzinfo=UTC)


def test_a_broken_stored_schedule_fails_fast_not_forever():
    from nbprod.jobs.definition import stored_problem

    broken = job("0 0 31 2 *")
    with pytest.raises(ValueError):
        next(fire_times(broken, datetime(2026, 1, 1, tzinfo=UTC)))
    assert "never fires" in stored_problem(broken.to_dict())
    assert "unknown timezone" in stored_problem(job("@daily", "Mars/Olympus").to_dict())
    assert stored_problem(job("@daily").to_dict()) is None
