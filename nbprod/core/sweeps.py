"""Sweeps: create one (queue one normal run per parameter set and store the sweep record,
from the CLI's plan or the JupyterLab dialog's form), read its results table, list them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.core.queueing import enqueue_notebook
from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, FieldError
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
    report_mode: bool = False,
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
        report_mode=report_mode,
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


def sweep_from_form(ws: Workspace, form: Mapping[str, Any], *, root: str | Path) -> SweepInfo:
    """A sweep from the JupyterLab dialog's form (``POST /nbprod/api/sweeps``): the notebook
    ``path`` under ``root``, and ``parameters`` mapping a name to its list of values (text
    typed like ``-p NAME VALUE``, or JSON values; null is None). Two or more values make an
    axis of the grid, one value is fixed for every run. Queued like ``nbprod sweep
    --no-wait``; errors name the form field to blame, nothing is queued."""
    from nbprod.core.notebooks import field_of, form_timeout, resolve_notebook, schema_of
    from nbprod.store import layout
    from nbprod.sweeps.plan import plan_sweep

    path = resolve_notebook(root, form.get("path") or "")
    job = form.get("name") or None
    if job is not None:
        try:
            layout.check_job_name(str(job))
        except BadInput as exc:
            raise FieldError(str(exc), "name") from None
    schema = schema_of(path)
    grid, fixed = _form_values(schema, form.get("parameters"))
    if not grid:
        raise FieldError("nothing to sweep: give a parameter two or more values", "parameters")
    timeout = form_timeout(form)
    try:
        plan = plan_sweep(path, grid=grid, fixed=fixed)
    except BadInput as exc:
        raise FieldError(str(exc), "parameters") from None
    try:
        return create_sweep(
            ws,
            plan,
            job=job,
            kernel=form.get("kernel") or None,
            cwd=path.parent,
            timeout=timeout,
            report_mode=bool(form.get("report_mode")),
        )
    except BadInput as exc:
        raise FieldError(str(exc), field_of(exc)) from None


def _form_values(schema: Any, given: Any) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The form's values per parameter, typed: (axes of two or more values, fixed values)."""
    from nbprod.params import coerce_value, parse_cli_value

    if given in (None, ""):
        given = {}
    if not isinstance(given, Mapping):
        raise FieldError("'parameters' must be an object of name: [values]", "parameters")
    grid: dict[str, list[Any]] = {}
    fixed: dict[str, Any] = {}
    for name, values in given.items():
        field = f"parameters.{name}"
        param = schema.get(name)
        if param is None:
            known = ", ".join(schema.names) or "none"
            raise FieldError(f"unknown parameter {name!r} (known: {known})", field)
        items = values if isinstance(values, list) else [values]
        if not items:
            raise FieldError(f"parameter {name!r} has an empty list of values", field)
        typed = []
        for index, value in enumerate(items, 1):
            where = f"value {index} of {len(items)}: " if len(items) > 1 else ""
            try:
                if isinstance(value, str):
                    typed.append(parse_cli_value(param, value))
                else:
                    typed.append(coerce_value(param, value))
            except BadInput as exc:
                raise FieldError(f"{where}{exc}", field) from None
            except (ValueError, OverflowError) as exc:  # an int of more than 4300 digits
                reason = str(exc).split(";")[0]
                raise FieldError(f"{where}parameter {name!r}: {reason}", field) from None
        if len(typed) > 1:
            grid[name] = typed
        else:
            fixed[name] = typed[0]
    for param in schema.parameters:
        if param.required and param.name not in given:
            raise FieldError(f"parameter {param.name!r} is required", f"parameters.{param.name}")
    return grid, fixed


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
