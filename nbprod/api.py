"""The public Python API: every face (CLI, REST, UI) calls these functions.

>>> import nbprod
>>> run = nbprod.execute("report.ipynb", {"region": "eu", "days": 7})
>>> run.status, run.output_location
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.records import RunRecord, RunStatus
from nbprod.runner import Run, RunRequest, prepare, run

__all__ = [
    "FlushResult",
    "Run",
    "RunRequest",
    "execute",
    "flush_spool",
    "get_run",
    "list_runs",
    "notebook_parameters",
    "prepare",
    "run",
]


def execute(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    store: str | None = None,
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    progress_bar: bool = False,
    log_output: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> Run:
    """Validate, execute and store one run of ``notebook``.

    Raises a BadInput subclass (nothing run, nothing stored) for bad input; otherwise
    returns a Run in a terminal status, whose output notebook is stored in every case.
    """
    settings = settings or Settings.load({"store": store})
    request = prepare(
        notebook,
        settings=settings,
        parameters=parameters,
        job=job,
        kernel=kernel,
        cwd=cwd,
        timeout=timeout,
        cell_timeout=cell_timeout,
    )
    return run(request, progress_bar=progress_bar, log_output=log_output, on_progress=on_progress)


def notebook_parameters(notebook: str | os.PathLike[str]) -> Any:
    """The typed parameter schema of a notebook's ``parameters`` cell."""
    from nbprod.params import infer_schema
    from nbprod.runner import load_notebook

    return infer_schema(load_notebook(notebook)[2])


def list_runs(
    *,
    settings: Settings | None = None,
    job: str | None = None,
    status: RunStatus | str | None = None,
    limit: int | None = 50,
) -> list[RunRecord]:
    """Runs in the store, newest first."""
    from itertools import islice

    from nbprod.history import iter_runs
    from nbprod.store import open_store

    settings = settings or Settings.load()
    wanted = RunStatus(status) if isinstance(status, str) else status
    runs: Iterator[RunRecord] = iter_runs(open_store(settings.store), job=job, status=wanted)
    return list(islice(runs, limit)) if limit else list(runs)


def get_run(run_id: str, *, settings: Settings | None = None) -> RunRecord:
    from nbprod.history import find_run
    from nbprod.store import open_store

    settings = settings or Settings.load()
    return find_run(open_store(settings.store), run_id)


@dataclass
class FlushResult:
    run_id: str
    store: str
    published: bool
    error: str | None = None


def flush_spool(
    *, settings: Settings | None = None, run_ids: Sequence[str] = ()
) -> list[FlushResult]:
    """Publish runs kept in the local spool because their store was unreachable."""
    from nbprod import spool
    from nbprod.errors import StoreError
    from nbprod.store import open_store

    settings = settings or Settings.load()
    results = []
    for folder, manifest in spool.pending(Path(settings.spool_dir)):
        if run_ids and manifest.run_id not in run_ids:
            continue
        try:
            spool.publish(
                open_store(manifest.store),
                folder,
                attempts=settings.upload_attempts,
                backoff=settings.upload_backoff,
            )
        except StoreError as exc:
            results.append(FlushResult(manifest.run_id, manifest.store, False, str(exc)))
        else:
            results.append(FlushResult(manifest.run_id, manifest.store, True))
    return results
