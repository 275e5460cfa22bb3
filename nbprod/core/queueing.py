"""Queue runs for the workers: one run of a job, or runs of a notebook snapshot.

Everything is validated before anything is queued; a worker only executes what was
checked here (the pinned snapshot of a job, the stored snapshot of a notebook).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from nbprod.core.workspace import Workspace


def enqueue_job(
    ws: Workspace,
    name: str,
    *,
    cli_parameters: Sequence[tuple[str, str]] = (),
    parameter_files: Sequence[str] = (),
    parameter_yaml: Sequence[str] = (),
) -> str:
    """Queue one run of a job's latest version for the workers; returns its run id.

    The overrides are validated now (against the pinned snapshot), not when a worker
    picks the run up.
    """
    from nbprod.jobs.service import pinned_version, prepare_version_run
    from nbprod.scheduler.queue import utcnow

    pinned = pinned_version(ws.catalog, ws.store.url, name)
    request = prepare_version_run(
        pinned,
        settings=ws.settings,
        store=ws.store,
        cli_parameters=cli_parameters,
        parameter_files=parameter_files,
        parameter_yaml=parameter_yaml,
    )
    definition = pinned.definition
    return ws.queue.enqueue(
        request.store.url,
        name,
        utcnow(),
        run_id=request.run_id,
        request={
            "kind": "job",
            "job_version": request.job_version,
            "parameters": request.parameters,
            "trigger": "job",
            "retries": definition.retries,
            "retry_delay": definition.retry_delay,
            "notifications": definition.notifications,
        },
    )


def enqueue_notebook(
    ws: Workspace,
    notebook: str | os.PathLike[str],
    parameter_sets: Sequence[Mapping[str, Any]],
    *,
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    tags: Sequence[str] = (),
    trigger: str = "queue",
) -> list[Any]:
    """Queue one run of ``notebook`` per parameter set, for the workers; their RunRequests.

    Every set is validated first (nothing is queued if one is wrong); the notebook's
    snapshot is stored once and every run executes that snapshot.
    """
    from nbprod.runner import prepare
    from nbprod.scheduler.queue import utcnow
    from nbprod.store import layout

    requests = [
        prepare(
            notebook,
            settings=ws.settings,
            parameters=values,
            job=job,
            kernel=kernel,
            cwd=cwd,
            timeout=timeout,
            cell_timeout=cell_timeout,
            trigger=trigger,
            tags=tags,
        )
        for values in parameter_sets
    ]
    if not requests:
        return []
    first = requests[0]
    first.store.put_if_absent(layout.snapshot_key(first.sha256), first.source, "application/json")
    now = utcnow()
    for request in requests:
        ws.queue.enqueue(
            request.store.url,
            request.job,
            now,
            run_id=request.run_id,
            request={
                "kind": "snapshot",
                "sha256": request.sha256,
                "notebook_name": request.notebook_path.name,
                "source_path": str(request.notebook_path),
                "parameters": request.parameters,
                "kernel": request.kernel,
                "cwd": str(request.cwd),
                "timeout": request.timeout,
                "cell_timeout": request.cell_timeout,
                "tags": list(request.tags),
                "trigger": trigger,
            },
        )
    return requests
