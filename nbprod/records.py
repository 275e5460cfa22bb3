"""The run record (``run.json``): what one execution was, in a documented, versioned form.

The schema is documented in docs/run-record.md; bump ``SCHEMA_VERSION`` on any change
that a reader of old records must know about.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from nbprod.cells import label, number_without_notebook

SCHEMA_VERSION = 1


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    KERNEL_DIED = "kernel_died"
    LOST = "lost"
    """Its worker or scheduler died (kill -9, machine gone); the partial output is kept."""

    def __str__(self) -> str:
        """The value, as the CLI, the records and the REST API spell it (``print(run.status)``
        shows ``succeeded``, not ``RunStatus.SUCCEEDED``)."""
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def terminal(self) -> bool:
        return self is not RunStatus.RUNNING

    @property
    def exit_code(self) -> int:
        """The CLI exit code for a run that ended in this status (docs/exit-codes.md)."""
        return _EXIT_CODES[self]


_EXIT_CODES = {
    RunStatus.SUCCEEDED: 0,
    RunStatus.FAILED: 1,
    RunStatus.TIMED_OUT: 3,
    RunStatus.KERNEL_DIED: 4,
    RunStatus.CANCELLED: 130,
    RunStatus.LOST: 1,
    RunStatus.RUNNING: 1,
}

EXIT_SPOOLED = 5
"""A run succeeded but its files are only in the local spool (store unreachable)."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def isoformat(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 timestamp as written by :func:`isoformat` (``Z`` accepted on 3.10)."""
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def new_run_id(moment: datetime | None = None) -> str:
    """A time-sortable id: UTC timestamp to the millisecond plus 32 random bits.

    Readable in ``aws s3 ls`` and sorts by start time as plain text.
    """
    moment = (moment or utcnow()).astimezone(timezone.utc)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(4)}"


@dataclass
class NotebookInfo:
    path: str
    """Absolute path of the input notebook when the run was made."""
    name: str
    """File name of the input (and of the output notebook)."""
    sha256: str
    """Content hash of the input file; the snapshot is stored under it."""
    cells: int = 0


@dataclass
class ErrorInfo:
    ename: str
    evalue: str
    cell_index: int | None = None
    """Index of the failing cell in the *output* notebook (after error markers): a
    position, for anchors and JupyterLab's active cell."""
    execution_count: int | None = None
    traceback: list[str] = field(default_factory=list)
    cell_number: int | None = None
    """The failing cell as a user numbers it (1-based, the author's cells only; see
    nbprod.cells); None with a ``cell_index`` when it was the injected-parameters cell."""

    @property
    def cell_label(self) -> str | None:
        """``cell 3`` (or ``injected parameters``), the failing cell as every face names it;
        None when the run did not stop in a cell."""
        return None if self.cell_index is None else label(self.cell_number)

    @property
    def line(self) -> str:
        """``ename: evalue``, the one line every listing shows."""
        return f"{self.ename}: {self.evalue}"


@dataclass
class Progress:
    cells_total: int = 0
    cells_done: int = 0
    cell_index: int | None = None
    """While running: the cell executing now (index in the executed notebook)."""
    cell_started_at: str | None = None
    """While running: when that cell started (ISO, UTC); old means stuck in one cell."""


@dataclass
class RunRecord:
    run_id: str
    job: str
    status: RunStatus
    notebook: NotebookInfo
    kernel: str
    store: str
    trigger: str = "manual"
    attempt: int = 1
    job_version: int | None = None
    """The job definition version the run belongs to; None for ad-hoc runs."""
    rerun_of: str | None = None
    """The run id this run reproduces (``nbprod runs rerun``)."""
    scheduled_for: str | None = None
    """The fire time (ISO, UTC) this scheduled run belongs to."""
    logical_run_id: str | None = None
    """The first attempt's run id: every retry of one logical run shares it."""
    tags: list[str] = field(default_factory=list)
    pipeline: dict[str, str] | None = None
    """``{name, run_id, step}`` for a pipeline step's run (docs/pipelines.md)."""
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    """Effective values: literal defaults overlaid with the supplied ones."""
    parameters_given: list[str] = field(default_factory=list)
    """Names the caller supplied (the rest are the notebook's defaults)."""
    cwd: str | None = None
    timeout_s: float | None = None
    cell_timeout_s: float | None = None
    report_mode: bool = False
    """The output notebook's code cells have their source hidden (papermill's report mode)."""
    environment: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    scraps: dict[str, Any] = field(default_factory=dict)
    progress: Progress = field(default_factory=Progress)
    artifacts: dict[str, str] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    def to_json(self) -> str:
        """Strict JSON (no bare ``NaN``): parameters are finite by validation; a non-finite
        float elsewhere (a glued scrap) is written as the string ``"NaN"``, ``"Infinity"``
        or ``"-Infinity"``."""
        data = _finite(self.to_dict())
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        values = _known(cls, data)
        values["status"] = RunStatus(values["status"])
        values["notebook"] = NotebookInfo(**_known(NotebookInfo, values["notebook"]))
        if values.get("error"):
            error = values["error"]
            values["error"] = ErrorInfo(**_known(ErrorInfo, error))
            if "cell_number" not in error and values["error"].cell_index is not None:
                # written before the record carried it
                injected = bool(values.get("parameters_given"))
                values["error"].cell_number = number_without_notebook(
                    values["error"].cell_index, injected
                )
        values["progress"] = Progress(**_known(Progress, values.get("progress") or {}))
        return cls(**values)

    @classmethod
    def from_json(cls, text: str | bytes) -> RunRecord:
        """A record from its JSON; CorruptData for text that is not one (truncated, edited)."""
        from nbprod.errors import CorruptData

        try:
            return cls.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise CorruptData(f"run record is corrupt ({reason[:200]})") from None


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields ``cls`` has: readers ignore unknown ones (a newer writer's)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def host_info() -> dict[str, Any]:
    """Who is executing: lets a later scheduler tell a live run from a lost one."""
    import platform

    return {"hostname": platform.node(), "pid": os.getpid()}
