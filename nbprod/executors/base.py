"""The executor interface the scheduler, sweeps and the Jupyter server call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nbprod.config import Settings


@dataclass(frozen=True)
class RunRef:
    """A queued run, as an executor hands it on: the store it belongs to and its id."""

    store: str
    run_id: str


@dataclass(frozen=True)
class ExecutorContext:
    """What an executor is made for.

    ``runs`` None: the whole queue, for as long as the caller lives (``nbprod scheduler``,
    the Jupyter server's embedded scheduler). Otherwise only these runs (a sweep's, a
    *Run now*), until each has ended.
    """

    settings: Settings
    workers: int
    """Runs executed at once by local workers (the local executor's pool size)."""
    runs: Sequence[RunRef] | None = None
    folder: Path | None = None
    """Where a run-scoped executor may keep its logs."""
    store: str | None = None
    """The store of a run-scoped executor's runs."""
    poll: float = 0.2
    extra: dict[str, str] = field(default_factory=dict)


class Executor(Protocol):
    """What executes queued runs. Every method returns quickly: the callers tick."""

    name: str

    @property
    def capacity(self) -> int:
        """How many runs it executes at once (0: it cannot tell, or elsewhere)."""

    def start(self) -> None:
        """Begin executing (spawn workers, connect to a cluster)."""

    def supervise(self, waiting: int | None = None) -> None:
        """Called every tick: keep runs moving (restart dead workers, resubmit refused
        runs). ``waiting``: how many of a run-scoped executor's runs are still queued."""

    def submit(self, runs: Sequence[RunRef]) -> None:
        """These queued runs should execute now (a *Run now* with no scheduler running)."""

    def problem(self) -> str | None:
        """Why its runs cannot make progress (workers that keep failing), or None."""

    def stop(self, grace: float) -> None:
        """Stop executing. A whole-queue executor's running runs get ``grace`` seconds to
        finish, then are cancelled; a run-scoped one's are cancelled at once and get
        ``grace`` seconds to store their output. Output is kept either way."""

    def close(self) -> None:
        """Its runs have ended: release what it holds (processes, connections, logs)."""
