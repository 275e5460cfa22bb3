"""A run's request (validated input, ``runner.prepare`` makes it) and its result.

Data only, so that the runner's steps (``steps``, ``inject``, ``publish``) can take them
without importing the runner that calls them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.records import EXIT_SPOOLED, RunRecord, RunStatus, new_run_id
from nbprod.store import Store, layout


@dataclass
class RunRequest:
    """Everything a run needs, already validated."""

    notebook_path: Path
    source: bytes
    nb: Any
    schema: Any
    parameters: dict[str, Any]
    """Only the values the caller supplied (typed)."""
    job: str
    kernel: str
    cwd: Path
    store: Store
    settings: Settings
    timeout: float | None = None
    cell_timeout: float | None = None
    report_mode: bool = False
    """Hide the code cells' source in the output notebook (papermill's report mode)."""
    trigger: str = "manual"
    attempt: int = 1
    job_version: int | None = None
    rerun_of: str | None = None
    tags: list[str] = field(default_factory=list)
    source_path: str | None = None
    """The path to record as the notebook's, when executing a stored snapshot."""
    run_id: str = field(default_factory=new_run_id)
    scheduled_for: str | None = None
    logical_run_id: str | None = None
    pipeline: dict[str, str] | None = None
    """The pipeline run this run is a step of (``{name, run_id, step}``), for its record."""
    autosave_to_store: bool = False
    """Also autosave the partial output to the store (queued runs: a worker that dies on
    another machine leaves its partial output where any reaper finds it)."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()

    @property
    def output_key(self) -> str:
        return layout.output_key(self.job, self.run_id, self.notebook_path.name)

    @property
    def record_key(self) -> str:
        return layout.record_key(self.job, self.run_id)


@dataclass
class Run:
    """The result of a run: its record and where its files are."""

    record: RunRecord
    output_location: str
    spooled_to: Path | None = None
    spool_reason: str | None = None
    problem: str | None = None
    """One line for the user when the run's files could not all be kept (a full disk)."""

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def status(self) -> RunStatus:
        return self.record.status

    @property
    def exit_code(self) -> int:
        code = self.record.status.exit_code
        return EXIT_SPOOLED if code == 0 and self.spooled_to else code
