"""The jobs view (home page): every job with its schedule, last status, success rate and
next run, from the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbprod.server.browse_data import BrowseData
from nbprod.server.views.common import doc


@dataclass
class JobRow:
    """One job in the jobs view."""

    name: str = doc("Job name.")
    defined: bool = doc("Whether the job has a definition (false: ad-hoc runs only).")
    version: int | None = doc("Latest definition version.")
    description: str = doc("The definition's description.")
    schedule: str | None = doc("Cron expression or preset; null when run on demand only.")
    timezone: str = doc("Timezone of the schedule.")
    paused: bool = doc("Whether the schedule is paused.")
    tags: list[str] = doc("The job's tags.")
    last_run_id: str | None = doc("Id of the newest run.")
    last_status: str | None = doc("Status of the newest run.")
    last_started_at: str | None = doc("Start time of the newest run (ISO 8601 UTC).")
    runs_total: int = doc("Indexed runs of the job.")
    runs_succeeded: int = doc("Of those, how many succeeded.")
    success_rate: float | None = doc("runs_succeeded / runs_total, null without runs.")
    next_run: str | None = doc("Next fire time in the job's timezone (ISO 8601), if scheduled.")


@dataclass
class JobsContext:
    """The jobs view."""

    store: str = doc("URL of the store being browsed.")
    jobs: list[JobRow] = doc("Every job, by name.")


def build(service: BrowseData) -> JobsContext:
    summaries = service.catalog.jobs(service.store.url, include_adhoc=True)
    return JobsContext(store=service.store.url, jobs=[job_row(s) for s in summaries])


def job_row(summary: Any) -> JobRow:
    """A catalog JobSummary as a row, with the next fire time computed."""
    from nbprod.jobs.model import JobDefinition
    from nbprod.jobs.versions import next_fire_times

    next_run = None
    defined = summary.latest_version is not None
    if defined and summary.schedule and not summary.paused:
        try:
            times = next_fire_times(JobDefinition.from_dict(summary.definition), 1)
            next_run = times[0].isoformat() if times else None
        except Exception:  # an unreadable schedule must not break the listing
            next_run = None
    total = summary.runs_total
    return JobRow(
        name=summary.name,
        defined=defined,
        version=summary.latest_version,
        description=str(summary.definition.get("description") or ""),
        schedule=summary.schedule,
        timezone=summary.timezone,
        paused=summary.paused,
        tags=list(summary.tags),
        last_run_id=summary.last_run_id,
        last_status=summary.last_status,
        last_started_at=summary.last_started_at,
        runs_total=total,
        runs_succeeded=summary.runs_succeeded,
        success_rate=summary.runs_succeeded / total if total else None,
        next_run=next_run,
    )
