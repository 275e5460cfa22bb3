"""Run records and job versions built directly, for catalog tests that need no kernel."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from nbprod.jobs.model import JobDefinition, JobVersion
from nbprod.records import ErrorInfo, NotebookInfo, RunRecord, RunStatus, isoformat, new_run_id

BASE_TIME = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def make_record(
    minutes: float,
    *,
    job: str = "report",
    status: str = "succeeded",
    params: dict[str, Any] | None = None,
    scraps: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    error: tuple[str, str] | None = None,
    started: bool = True,
    store: str = "file:///stores/test",
) -> RunRecord:
    """A run record started ``minutes`` after BASE_TIME; scraps given as plain values."""
    moment = BASE_TIME + timedelta(minutes=minutes)
    finished = status != "running"
    return RunRecord(
        run_id=new_run_id(moment),
        job=job,
        status=RunStatus(status),
        notebook=NotebookInfo(path=f"/nb/{job}.ipynb", name=f"{job}.ipynb", sha256="0" * 64),
        kernel="python3",
        store=store,
        tags=list(tags or []),
        created_at=isoformat(moment),
        started_at=isoformat(moment) if started else None,
        finished_at=isoformat(moment + timedelta(seconds=5)) if started and finished else None,
        duration_s=5.0 if started and finished else None,
        parameters=dict(params or {}),
        scraps={
            name: {"encoder": "json", "inline": True, "value": value}
            for name, value in (scraps or {}).items()
        },
        error=ErrorInfo(ename=error[0], evalue=error[1]) if error else None,
    )


def make_version(
    job: str, version: int, *, schedule: str | None = "@daily", tags: list[str] | None = None
) -> JobVersion:
    created = BASE_TIME + timedelta(days=version)
    return JobVersion(
        job=job,
        version=version,
        created_at=isoformat(created),
        definition=JobDefinition(
            name=job,
            notebook=f"/nb/{job}.ipynb",
            parameters={"region": "eu", "days": version},
            schedule=schedule,
            timezone="Europe/Berlin",
            tags=list(tags or []),
        ),
        notebook_sha256=f"{version:064x}",
        notebook_name=f"{job}.ipynb",
        changes=["created"] if version == 1 else [f"parameters.days: {version - 1} -> {version}"],
    )
