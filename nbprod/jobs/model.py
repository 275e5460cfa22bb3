"""Job definitions and their immutable versions, with their JSON/YAML forms.

The YAML form is documented in docs/job-definition.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

PRESETS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass
class Retention:
    keep_last: int | None = None
    """Always keep this many newest runs."""
    older_than_days: float | None = None
    """Delete runs older than this (outside the kept newest ones)."""


@dataclass
class JobDefinition:
    name: str
    notebook: str
    """Path of the notebook, absolute once loaded (relative paths resolve against the YAML)."""
    parameters: dict[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    """Cron expression or preset (@daily, ...); None for a job run only on demand."""
    timezone: str = "UTC"
    kernel: str | None = None
    timeout: float | None = None
    cell_timeout: float | None = None
    report_mode: bool = False
    """Hide the code of the runs' output notebooks (papermill's report mode)."""
    retries: int = 0
    retry_delay: float = 60.0
    concurrency: int = 1
    overlap: str = "skip"
    """What a fire does while the job is at its concurrency limit: skip or queue."""
    catchup: str = "latest"
    """Missed fires after downtime: none, latest or all (within catchup_window)."""
    catchup_window: float | None = None
    """Seconds back that catchup 'all' reaches; None means one day."""
    tags: list[str] = field(default_factory=list)
    notifications: dict[str, Any] = field(default_factory=dict)
    store: str | None = None
    """Store the job lives in; default: the configured store."""
    retention: Retention = field(default_factory=Retention)
    paused: bool | None = None
    """Pause state to set on apply; None leaves the current state (new jobs start active)."""
    description: str = ""
    resources: dict[str, float] = field(default_factory=dict)
    """What a run needs of the worker that executes it (``gpu: 1``, ``memory: 8e9`` bytes):
    Dask worker resources with the dask executor; the local executor ignores them."""
    scheduled_by: str | None = None
    """Another scheduler that fires this job (``airflow``, set by `nbprod export airflow`):
    nbprod's schedulers then leave it alone. Part of the version, so the store says who
    schedules what and a re-apply without it takes the job back."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobDefinition:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        retention = values.get("retention") or {}
        if not isinstance(retention, Retention):
            retention = Retention(**retention)
        values["retention"] = retention
        return cls(**values)


@dataclass
class JobVersion:
    """One immutable version of a job: the definition plus the pinned notebook snapshot."""

    job: str
    version: int
    created_at: str
    definition: JobDefinition
    notebook_sha256: str
    """The pinned snapshot: ``.nbprod/notebooks/<sha256>.ipynb`` in the job's store."""
    notebook_name: str
    changes: list[str] = field(default_factory=list)
    """Human-readable summary of what changed since the previous version."""
    schema_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobVersion:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["definition"] = JobDefinition.from_dict(values["definition"])
        return cls(**values)
