"""The job page: run history with filters and pagination, charts of numeric scraps and of
the duration over time, and the job's definition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nbprod.errors import NotFound
from nbprod.server.browse_data import BrowseData
from nbprod.server.charts import Chart, charts_for
from nbprod.server.views.common import (
    MAX_PER_PAGE,
    PER_PAGE,
    Pagination,
    RunRow,
    doc,
    int_arg,
)
from nbprod.server.views.filters import STATUSES, FilterForm, form_from
from nbprod.server.views.jobs import JobRow, job_row

CHART_RUNS = 200
"""The charts plot the newest this many runs that match the filters."""
KEY_SCRAPS = 4


@dataclass
class JobContext:
    """A job's page."""

    job: JobRow = doc("The job's summary (schedule, last status, success rate, next run).")
    definition: dict[str, Any] = doc("The latest job definition (empty for ad-hoc runs).")
    filters: FilterForm = doc("The filters applied to the run history.")
    statuses: list[str] = doc("Every run status, for the filter form.")
    runs: list[RunRow] = doc("This page of matching runs, newest first.")
    pagination: Pagination = doc("Paging of the matching runs.")
    key_scraps: list[str] = doc("Scrap columns shown (picked with ?cols=1&col=, else the first 4).")
    scrap_columns: list[str] = doc("Every scrap with short values on this page (to pick from).")
    charts: list[Chart] = doc(f"Duration and numeric scraps of the newest {CHART_RUNS} runs.")
    pipeline: str | None = doc(
        "The pipeline whose step this job's runs are (job <pipeline>.<step>), else null."
    )


def build(service: BrowseData, name: str, args: Mapping[str, Sequence[str]]) -> JobContext:
    summary = service.catalog.job(service.store.url, name)
    if summary is None:
        raise NotFound(f"no job {name!r} in {service.store.url}")
    form = form_from(args, job=name)
    page = int_arg(_last(args, "page"), "page", 1)
    per_page = int_arg(_last(args, "per_page"), "per_page", PER_PAGE, 1, MAX_PER_PAGE)
    query = form.to_filter(limit=per_page, offset=(page - 1) * per_page)
    total = service.catalog.count_runs(service.store.url, query)
    records = service.catalog.query_runs(service.store.url, query)
    chart_records = service.catalog.query_runs(
        service.store.url, replace(query, limit=CHART_RUNS, offset=0)
    )
    rows = [RunRow.of(r) for r in records]
    columns = scrap_columns(rows)
    shown = chosen_columns(args, columns)
    picked = {"cols": "1", "col": shown} if "cols" in args else {}
    form_query = {
        **form.query(),
        **picked,
        "job": "",
        "per_page": per_page if per_page != PER_PAGE else "",
    }
    return JobContext(
        job=job_row(summary),
        definition=dict(summary.definition),
        filters=form,
        statuses=STATUSES,
        runs=rows,
        pagination=Pagination.make(page, per_page, total, form_query),
        key_scraps=shown,
        scrap_columns=columns,
        charts=charts_for(chart_records),
        pipeline=_pipeline_of(records),
    )


def _pipeline_of(records: list[Any]) -> str | None:
    """The pipeline a step job belongs to, from its runs' records (``pipeline.name``)."""
    for record in records:
        link = record.pipeline
        if isinstance(link, dict) and isinstance(link.get("name"), str) and link["name"]:
            return link["name"]
    return None


def _last(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or []
    return values[-1] if values else None


def scrap_columns(rows: list[RunRow]) -> list[str]:
    """Every scrap with a short value (number, bool, text up to 40 characters), in order of
    first appearance: the columns a user can pick."""
    names: list[str] = []
    for row in rows:
        for name, value in row.scraps.items():
            short = isinstance(value, (int, float, bool)) or (
                isinstance(value, str) and len(value) <= 40
            )
            if short and name not in names:
                names.append(name)
    return names


def chosen_columns(args: Mapping[str, Sequence[str]], columns: list[str]) -> list[str]:
    """The picked scrap columns (``?cols=1&col=a&col=b``: the picker was submitted, so none
    checked means none), else the first few. A name not on this page is left out: a column
    choice is a display preference, kept across pages and filters."""
    if "cols" not in args:
        return columns[:KEY_SCRAPS]
    wanted = set(args.get("col") or [])
    return [name for name in columns if name in wanted]
