"""The sweeps listing and a sweep's page: its results table (swept parameters, status,
duration, every scrap; sortable) and a chart of a chosen scrap against a chosen parameter.

The table is the core's (``core.sweeps.sweep_results``, the same as ``nbprod sweeps
show``); this module only picks the chart's axes and the sort links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from nbprod.core.sweeps import sweep_results, sweep_summaries
from nbprod.errors import FieldError
from nbprod.server.browse_data import BrowseData
from nbprod.server.charts import ScatterChart, number, scatter
from nbprod.server.views.common import doc

LISTED = 100


@dataclass
class SweepSummary:
    """One sweep in the listing."""

    sweep_id: str = doc("The sweep's id (time-sortable, like run ids).")
    created_at: str = doc("When it was created (ISO 8601 UTC).")
    notebook: str = doc("The notebook's file name.")
    job: str = doc("The runs' job name.")
    swept: list[str] = doc("The parameters that vary.")
    runs: int = doc("Runs in the sweep.")
    counts: dict[str, int] = doc("Runs per status.")


@dataclass
class SweepsContext:
    """The sweeps listing, newest first."""

    sweeps: list[SweepSummary] = doc(f"The newest {LISTED} sweeps of the store.")


@dataclass
class Column:
    """A column of the results table."""

    key: str = doc("Sort key: run_id, status, duration_s, param.NAME or scrap.NAME.")
    label: str = doc("Header text.")
    kind: str = doc("fixed, parameter or scrap.")
    sort_url: str = doc("Query string sorting by this column (the other way when sorted).")


@dataclass
class SweepRunRow:
    """One run of the sweep."""

    index: int = doc("Position in the grid, from 0.")
    run_id: str = doc("The run.")
    parameters: dict[str, Any] = doc("Its swept parameter values.")
    status: str = doc("Its status (queued and running too).")
    duration_s: float | None = doc("Wall seconds of execution.")
    scraps: dict[str, Any] = doc("Inline scrap values (name → value).")
    error: str | None = doc("'ename: evalue' of a run that did not succeed.")


@dataclass
class SweepContext:
    """A sweep's page."""

    sweep: dict[str, Any] = doc("The stored sweep record (docs/sweeps.md).")
    parameters: list[str] = doc("The swept parameters, in the notebook's order.")
    scraps: list[str] = doc("Every scrap of the runs, in order of first appearance.")
    columns: list[Column] = doc("The table's columns, in order.")
    rows: list[SweepRunRow] = doc("One row per run, sorted as asked (else in grid order).")
    counts: dict[str, int] = doc("Runs per status.")
    sort: str | None = doc("The sort column, or null for grid order.")
    descending: bool = doc("Whether sorted descending.")
    chart_x: str | None = doc("The parameter on the chart's x axis.")
    chart_y: str | None = doc("The scrap on the chart's y axis.")
    numeric_scraps: list[str] = doc("Scraps with a numeric value in some run (the y choices).")
    chart: ScatterChart | None = doc("The chart of chart_y against chart_x (null: no numbers).")


def listing(service: BrowseData) -> SweepsContext:
    summaries = [
        SweepSummary(
            sweep_id=info.sweep_id,
            created_at=info.created_at,
            notebook=str(info.notebook.get("name", "")),
            job=info.job,
            swept=list(info.swept),
            runs=len(info.run_ids),
            counts=counts,
        )
        for info, counts in sweep_summaries(service.workspace, limit=LISTED)
    ]
    return SweepsContext(summaries)


def build(service: BrowseData, sweep_id: str, args: Mapping[str, Sequence[str]]) -> SweepContext:
    sort = _last(args, "sort") or None
    descending = _last(args, "desc") not in (None, "", "0")
    table = sweep_results(service.workspace, sweep_id, sort=sort, descending=descending)
    numeric = [
        n for n in table.scrap_names if any(number(r.scraps.get(n)) is not None for r in table.rows)
    ]
    x = _last(args, "x") or (table.parameter_names[0] if table.parameter_names else None)
    y = _last(args, "y") or (numeric[0] if numeric else None)
    if x is not None and x not in table.parameter_names:
        known = ", ".join(table.parameter_names) or "none"
        raise FieldError(f"x must be a swept parameter (known: {known})", "x")
    if y is not None and y not in table.scrap_names:
        known = ", ".join(table.scrap_names) or "none"
        raise FieldError(f"y must be a scrap of the runs (known: {known})", "y")
    chart = None
    if x and y:
        statuses = {r.run_id: r.status for r in table.rows}
        chart = scatter(x, y, table.points(f"param.{x}", f"scrap.{y}"), statuses)
    keep = {"x": _last(args, "x") or "", "y": _last(args, "y") or ""}

    def column(key: str, label: str, kind: str) -> Column:
        flip = sort == key and not descending
        query = {**keep, "sort": key, "desc": "1" if flip else ""}
        return Column(key, label, kind, "?" + urlencode({k: v for k, v in query.items() if v}))

    columns = [
        column("run_id", "run", "fixed"),
        *[column(f"param.{n}", n, "parameter") for n in table.parameter_names],
        column("status", "status", "fixed"),
        column("duration_s", "duration", "fixed"),
        *[column(f"scrap.{n}", n, "scrap") for n in table.scrap_names],
    ]
    rows = [
        SweepRunRow(r.index, r.run_id, r.parameters, r.status, r.duration_s, r.scraps, r.error)
        for r in table.rows
    ]
    return SweepContext(
        sweep=table.sweep.to_dict(),
        parameters=list(table.parameter_names),
        scraps=list(table.scrap_names),
        columns=columns,
        rows=rows,
        counts=table.counts,
        sort=sort,
        descending=descending,
        chart_x=x,
        chart_y=y,
        numeric_scraps=numeric,
        chart=chart,
    )


def _last(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or []
    return values[-1].strip() if values else None
