"""Sweeps: create one (queue one normal run per parameter set and store the sweep record),
read its results table, list them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from nbprod.core.queueing import enqueue_notebook
from nbprod.core.workspace import Workspace
from nbprod.sweeps.plan import SweepPlan, jsonable
from nbprod.sweeps.record import TRIGGER, SweepInfo, store_sweep, sweep_tag

if TYPE_CHECKING:
    from nbprod.sweeps.table import SweepTable


def create_sweep(
    ws: Workspace,
    plan: SweepPlan,
    *,
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    max_parallel: int | None = None,
) -> SweepInfo:
    """Queue the plan's runs (validated again, all or none) and store the sweep record."""
    from nbprod.records import isoformat, new_run_id, utcnow

    created = utcnow()
    sweep_id = new_run_id(created)
    requests = enqueue_notebook(
        ws,
        plan.notebook,
        [plan.parameters(i) for i in range(len(plan.sets))],
        job=job,
        kernel=kernel,
        cwd=cwd,
        timeout=timeout,
        cell_timeout=cell_timeout,
        tags=[sweep_tag(sweep_id)],
        trigger=TRIGGER,
    )
    first = requests[0]
    info = SweepInfo(
        sweep_id=sweep_id,
        created_at=isoformat(created),
        notebook={
            "path": str(first.notebook_path),
            "name": first.notebook_path.name,
            "sha256": first.sha256,
        },
        job=first.job,
        store=first.store.url,
        swept=list(plan.swept),
        grid=plan.grid,
        base=jsonable(plan.base),
        parameter_sets=jsonable(plan.sets),
        run_ids=[r.run_id for r in requests],
        max_parallel=max_parallel,
    )
    store_sweep(info, first.store, ws.settings)
    return info


def sweep_results(
    ws: Workspace, sweep_id: str, *, sort: str | None = None, descending: bool = False
) -> SweepTable:
    """A sweep's results table (one row per run, in grid order unless ``sort`` names a
    column); NotFound for an unknown sweep, BadInput for an unknown sort column."""
    from nbprod.sweeps.table import sweep_table

    table = sweep_table(sweep_id, ws.settings)
    return table.sorted_by(sort, descending=descending) if sort else table


def sweep_summaries(ws: Workspace, *, limit: int | None = 50) -> list[tuple[SweepInfo, dict]]:
    """The newest sweeps with their runs' status counts (``{status: n}``)."""
    from nbprod.sweeps.record import list_sweeps
    from nbprod.sweeps.table import sweep_table

    infos = list_sweeps(settings=ws.settings, limit=limit)
    return [(info, sweep_table(info.sweep_id, ws.settings).counts) for info in infos]
