"""A pipeline run: its steps' states, the runs they are, the values passed along each edge.

Stored at ``.nbprod/pipelines/<name>/runs/<id>.json`` (rewritten as the run advances) and
indexed in the catalog's ``pipeline_runs`` table, whose row is the lock every advance
takes; the store copy is what a catalog rebuild restores.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any

from nbprod.errors import CorruptData

SCHEMA_VERSION = 1
TRIGGER = "pipeline"
"""The trigger of a step's runs (a run record's ``trigger``)."""
TAG_PREFIX = "pipeline:"
RUN_TAG_PREFIX = "pipeline-run:"


def pipeline_tag(name: str) -> str:
    """The tag every step run of a pipeline carries (`nbprod runs list --pipeline NAME`)."""
    return f"{TAG_PREFIX}{name}"


def pipeline_run_tag(run_id: str) -> str:
    return f"{RUN_TAG_PREFIX}{run_id}"


class _Text(str, Enum):
    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


class PipelineStatus(_Text):
    QUEUED = "queued"
    """Its first steps are queued; none has ended yet."""
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """A step failed (its descendants are skipped) or could not start."""


DONE = (PipelineStatus.SUCCEEDED, PipelineStatus.FAILED)


class StepStatus(_Text):
    PENDING = "pending"
    """Waiting for the steps it needs."""
    QUEUED = "queued"
    """Its run is queued or running (``run_id``; retries replace it)."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Its run ended otherwise (``run_status`` says how), or it could not start
    (``error``: a value on an edge did not fit, a scrap was missing)."""
    SKIPPED = "skipped"
    """A step it needs failed or was skipped: it never ran."""


ENDED = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED)


@dataclass
class StepRun:
    name: str
    status: StepStatus = StepStatus.PENDING
    run_id: str | None = None
    """The run this step is (its latest attempt); assigned when the pipeline run is
    created, None for a step that never ran."""
    attempts: list[str] = field(default_factory=list)
    """Run ids of earlier attempts (retried)."""
    run_status: str | None = None
    """The run's own final status (``timed_out``, ``cancelled``, ...)."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """What the run was queued with: fixed values, ``-p`` overrides and edge values."""
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Parameter → ``{"from": "step.scrap", "value": ...}``: the values along its edges."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """The scraps downstream steps take from it (inline values), once it succeeded."""
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    reused_from: str | None = None
    """The pipeline run whose run of this step is reused (`pipelines rerun --from`)."""
    try_number: int | None = None
    """An orchestrator's try (Airflow's try_number) executing ``run_id`` now; None until
    one claims it (``pipelines/orchestrated.py``)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRun:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["status"] = StepStatus(values.get("status", "pending"))
        return cls(**values)


@dataclass
class PipelineRun:
    run_id: str
    pipeline: str
    version: int
    store: str
    created_at: str
    steps: dict[str, StepRun]
    """In the order the steps run (every step after the ones it needs)."""
    status: PipelineStatus = PipelineStatus.QUEUED
    updated_at: str = ""
    finished_at: str | None = None
    trigger: str = "manual"
    scheduled_for: str | None = None
    """The fire time (ISO, UTC) a scheduled run belongs to (for Airflow's: its logical
    date)."""
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Step → parameter → value, from ``-p step.param=value`` (typed)."""
    rerun_of: str | None = None
    rerun_from: str | None = None
    logical_run_id: str | None = None
    """An orchestrator's run this pipeline run is (Airflow's DAG run id): its tasks run
    the steps, nbprod's queue holds none of them."""
    schema_version: int = SCHEMA_VERSION

    @property
    def done(self) -> bool:
        return self.status in DONE

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["steps"] = [
            {**asdict(step), "status": step.status.value} for step in self.steps.values()
        ]
        return data

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_dict(cls, data: Any) -> PipelineRun:
        try:
            known = {f.name for f in fields(cls)}
            values = {k: v for k, v in data.items() if k in known}
            values["status"] = PipelineStatus(values["status"])
            values["steps"] = {s["name"]: StepRun.from_dict(s) for s in values["steps"]}
            return cls(**values)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptData(
                f"pipeline run record is corrupt ({type(exc).__name__}: {exc})"
            ) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> PipelineRun:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CorruptData(f"pipeline run record is not JSON ({exc})") from None
        return cls.from_dict(data)


@dataclass
class QueuedStep:
    """A step's run to queue, with the change to its pipeline run that made it ready."""

    job: str
    run_id: str
    request: Any
    """Its ``catalog.queued.QueuedRun``."""


def write_run(store: Any, run: PipelineRun) -> None:
    from nbprod.store import layout

    store.put(layout.pipeline_run_key(run.pipeline, run.run_id), run.to_json(), "application/json")
