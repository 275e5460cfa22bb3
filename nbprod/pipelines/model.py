"""Pipeline definitions and their immutable versions, with their JSON forms.

A step takes the per-run fields of a job (kernel, timeouts, retries, resources) with the
same meaning and defaults (``jobs.model.JobDefinition``); the YAML form is in
docs/pipelines.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Step:
    name: str
    notebook: str
    """Path of the notebook, absolute once loaded (relative paths resolve against the YAML)."""
    needs: list[str] = field(default_factory=list)
    """Steps that must succeed before this one starts."""
    parameters: dict[str, Any] = field(default_factory=dict)
    parameters_from: dict[str, str] = field(default_factory=dict)
    """Parameter name → ``step.scrap``: the value an upstream step glued."""
    kernel: str | None = None
    timeout: float | None = None
    cell_timeout: float | None = None
    retries: int = 0
    retry_delay: float = 60.0
    resources: dict[str, float] = field(default_factory=dict)
    report_mode: bool = False
    """The step's output notebook hides its code (papermill's report mode), as a job's."""

    def source(self, parameter: str) -> tuple[str, str]:
        """(step, scrap) a ``parameters_from`` entry names."""
        step, _, scrap = self.parameters_from[parameter].partition(".")
        return step, scrap

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class PipelineDefinition:
    name: str
    steps: list[Step]
    schedule: str | None = None
    """Cron expression or preset, checked and fired as a job's (one pipeline run per
    scheduled time, however many schedulers)."""
    timezone: str = "UTC"
    catchup: str = "latest"
    """Missed fires after downtime: none, latest or all (within catchup_window), as a job's."""
    catchup_window: float | None = None
    notifications: dict[str, Any] = field(default_factory=dict)
    """``on_failure`` / ``on_success`` / ``on_start`` of the pipeline run, as a job's."""
    tags: list[str] = field(default_factory=list)
    description: str = ""
    scheduled_by: str | None = None
    """Who fires it by its schedule: None (nbprod) or ``airflow`` (set by `nbprod export
    airflow`), as a job's ``scheduled_by``: nbprod's schedulers leave such a pipeline alone."""

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    @property
    def needs(self) -> dict[str, list[str]]:
        """Step name → the steps it needs (the graph)."""
        return {s.name: list(s.needs) for s in self.steps}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineDefinition:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["steps"] = [Step.from_dict(s) for s in values.get("steps") or []]
        return cls(**values)


@dataclass
class PinnedStep:
    """What one step of a version executes: its notebook snapshot and parameter types."""

    notebook_sha256: str
    """``.nbprod/notebooks/<sha256>.ipynb`` in the pipeline's store."""
    notebook_name: str
    schema: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Parameter name → ``{type, nullable, required}``: what an edge's value is coerced to
    when the step is queued, without reading the notebook again."""


@dataclass
class PipelineVersion:
    """One immutable version: the definition plus every step's pinned snapshot."""

    pipeline: str
    version: int
    created_at: str
    definition: PipelineDefinition
    pinned: dict[str, PinnedStep]
    changes: list[str] = field(default_factory=list)
    schema_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineVersion:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["definition"] = PipelineDefinition.from_dict(values["definition"])
        values["pinned"] = {k: PinnedStep(**v) for k, v in (values.get("pinned") or {}).items()}
        return cls(**values)
