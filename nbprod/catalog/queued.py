"""The queue's vocabulary: a queued run's payload (``QueuedRun``) and the states and
triggers stored with it.

The payload is the queue row's ``request`` JSON: what a worker needs to start the run on
any machine (a pinned job version, or a stored notebook snapshot and its options). It is
written by whoever queues a run and read by workers, reapers and listings, so it has one
type here; reading checks every field (a row edited by hand, or written by another
version, is a clear CorruptData naming the field, never a KeyError mid-run). The enums are
``str`` enums: their values are what the catalog always stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from nbprod.errors import CorruptData


class _Text(str, Enum):
    """A str enum that formats as its value (f-strings, logs), as stored."""

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


class QueueState(_Text):
    """A queue row's state; ``running`` and ``finishing`` are held by a worker's claim."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHING = "finishing"
    """Held by its worker, which is publishing the final record: a reaper no longer takes
    it over while its heartbeat is fresh; a stale one is resolved from the store."""
    DONE = "done"
    CANCELLED = "cancelled"


HELD = (QueueState.RUNNING, QueueState.FINISHING)


class Trigger(_Text):
    """What started a run (a run record's ``trigger``; docs/run-record.md)."""

    MANUAL = "manual"
    JOB = "job"
    RERUN = "rerun"
    SCHEDULE = "schedule"
    RETRY = "retry"
    SWEEP = "sweep"
    QUEUE = "queue"
    LAB = "lab"
    BACKFILL = "backfill"
    PIPELINE = "pipeline"


class RunKind(_Text):
    """What a queued run executes."""

    JOB = "job"
    """A job's pinned version (its snapshot and definition are in the store)."""
    SNAPSHOT = "snapshot"
    """A stored notebook snapshot with its own options (no job definition), e.g. a sweep's."""


class FireDecision(_Text):
    """What a scheduler recorded for one (job, scheduled time) in the fire ledger."""

    QUEUED = "queued"
    SKIPPED = "skipped"


_JOB_KEYS = ("kind", "job_version", "parameters", "trigger", "retries", "retry_delay")
_SNAPSHOT_KEYS = (
    "kind",
    "sha256",
    "notebook_name",
    "source_path",
    "parameters",
    "kernel",
    "cwd",
    "timeout",
    "cell_timeout",
    "tags",
    "trigger",
)


class JobPolicy(Protocol):
    """What a job's queued run carries of its definition (``jobs.model.JobDefinition``)."""

    retries: int
    retry_delay: float
    notifications: dict[str, Any]
    resources: dict[str, float]


@dataclass
class QueuedRun:
    """A queued run's payload. ``job`` runs use job_version, retries, retry_delay and
    notifications; ``snapshot`` runs use sha256 and notebook_name (required) and the
    notebook options after them."""

    kind: RunKind = RunKind.JOB
    trigger: Trigger = Trigger.SCHEDULE
    parameters: dict[str, Any] = field(default_factory=dict)
    job_version: int | None = None
    retries: int = 0
    retry_delay: float = 60.0
    notifications: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    notebook_name: str | None = None
    source_path: str | None = None
    kernel: str | None = None
    cwd: str | None = None
    timeout: float | None = None
    cell_timeout: float | None = None
    tags: list[str] = field(default_factory=list)
    report_mode: bool = False
    """A snapshot run's output hides its code (a job run takes it from its definition);
    stored only when set."""
    resources: dict[str, float] = field(default_factory=dict)
    """What the run needs of its worker (a job's ``resources``); stored only when set."""
    pipeline: dict[str, str] | None = None
    """``{name, run_id, step}``: the pipeline run this run is a step of (docs/pipelines.md);
    stored only when set, with the step's retry policy."""

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON: the keys of its kind only (as every version stored them)."""
        data = {
            "kind": self.kind.value,
            "trigger": self.trigger.value,
            "parameters": dict(self.parameters),
            "job_version": self.job_version,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "notifications": dict(self.notifications),
            "sha256": self.sha256,
            "notebook_name": self.notebook_name,
            "source_path": self.source_path,
            "kernel": self.kernel,
            "cwd": self.cwd,
            "timeout": self.timeout,
            "cell_timeout": self.cell_timeout,
            "tags": list(self.tags),
        }
        keys = _SNAPSHOT_KEYS if self.kind is RunKind.SNAPSHOT else (*_JOB_KEYS, "notifications")
        stored = {key: data[key] for key in keys}
        if self.resources:
            stored["resources"] = dict(self.resources)
        if self.report_mode and self.kind is RunKind.SNAPSHOT:
            stored["report_mode"] = True
        if self.pipeline is not None:
            stored["pipeline"] = dict(self.pipeline)
            stored["retries"], stored["retry_delay"] = self.retries, self.retry_delay
        return stored

    @classmethod
    def for_job(
        cls,
        definition: JobPolicy,
        version: int | None,
        trigger: Trigger,
        parameters: Mapping[str, Any] | None = None,
    ) -> QueuedRun:
        """A run of job version ``version``, with its definition's retry policy,
        notifications and resources (one rule for every way a job run is queued)."""
        return cls(
            kind=RunKind.JOB,
            trigger=trigger,
            parameters=dict(parameters or {}),
            job_version=version,
            retries=definition.retries,
            retry_delay=definition.retry_delay,
            notifications=definition.notifications,
            resources=definition.resources,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "queued run") -> QueuedRun:
        """Read and check a stored payload; CorruptData names the field that is wrong.

        Missing fields take their defaults (an empty payload is a scheduled job run);
        the default trigger of a snapshot run is ``queue``.
        """
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise CorruptData(f"{where}: the payload is {type(data).__name__}, not an object")
        read = _Reader(data, where)
        kind = read.choice("kind", RunKind, RunKind.JOB)
        default_trigger = Trigger.QUEUE if kind is RunKind.SNAPSHOT else Trigger.SCHEDULE
        run = cls(
            kind=kind,
            trigger=read.choice("trigger", Trigger, default_trigger),
            parameters=read.mapping("parameters"),
            job_version=read.integer("job_version", None, minimum=1),
            retries=read.integer("retries", 0, minimum=0) or 0,
            retry_delay=read.number("retry_delay", 60.0) or 0.0,
            notifications=read.mapping("notifications"),
            sha256=read.text("sha256"),
            notebook_name=read.text("notebook_name"),
            source_path=read.text("source_path"),
            kernel=read.text("kernel"),
            cwd=read.text("cwd"),
            timeout=read.number("timeout", None),
            cell_timeout=read.number("cell_timeout", None),
            tags=read.texts("tags"),
            report_mode=read.flag("report_mode"),
            resources=read.amounts("resources"),
            pipeline=read.link("pipeline"),
        )
        if kind is RunKind.SNAPSHOT:
            for name in ("sha256", "notebook_name"):
                if not getattr(run, name):
                    raise CorruptData(f"{where}: a snapshot run needs {name!r}")
        return run


class _Reader:
    """Typed reads of one payload's fields, each failure naming the field."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data, self.where = data, where

    def _bad(self, name: str, expected: str) -> CorruptData:
        value = repr(self.data[name])
        value = value if len(value) <= 60 else value[:57] + "..."
        return CorruptData(f"{self.where}: field {name!r} must be {expected}, not {value}")

    def choice(self, name: str, enum: type[_Text], default: Any) -> Any:
        value = self.data.get(name)
        if value is None:
            return default
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise self._bad(name, f"one of {allowed}") from None

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._bad(name, "an object")
        return dict(value)

    def integer(self, name: str, default: int | None, *, minimum: int) -> int | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._bad(name, f"an integer >= {minimum}")
        return value

    def number(self, name: str, default: float | None) -> float | None:
        value = self.data.get(name)
        if value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise self._bad(name, "a number >= 0")
        return value

    def amounts(self, name: str) -> dict[str, float]:
        value = self.mapping(name)
        for key, amount in value.items():
            if (
                not isinstance(key, str)
                or isinstance(amount, bool)
                or not isinstance(amount, (int, float))
                or not math.isfinite(amount)
                or amount <= 0
            ):
                raise self._bad(name, "an object of positive amounts")
        return {key: float(amount) for key, amount in value.items()}

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def link(self, name: str) -> dict[str, str] | None:
        value = self.data.get(name)
        if value is None:
            return None
        keys = ("name", "run_id", "step")
        if not isinstance(value, Mapping) or not all(isinstance(value.get(k), str) for k in keys):
            raise self._bad(name, "an object of name, run_id and step")
        return {k: value[k] for k in keys}

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def texts(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "a list of strings")
        return list(value)
