"""What every page shares: documented context fields, run rows, pagination, JSON."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from nbprod.errors import BadInput
from nbprod.records import RunRecord
from nbprod.scraps import inline_values

PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_NUMBER = 10**9
"""Largest page number or position a query may ask for (SQL offsets stay 64-bit)."""


def doc(help: str, metadata: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """A dataclass field with help text (every context field has some; a test checks).

    ``metadata={"html_only": True}`` keeps a field (e.g. SVG geometry) out of the JSON.
    """
    return field(metadata={"help": help, **(metadata or {})}, **kwargs)


@dataclass
class RunRow:
    """One run in a listing."""

    run_id: str = doc("Time-sortable run id.")
    job: str = doc("Job name.")
    status: str = doc("running, succeeded, failed, timed_out, cancelled or kernel_died.")
    trigger: str = doc("What started the run: manual, job, rerun or schedule.")
    started_at: str | None = doc("ISO 8601 UTC start time.")
    duration_s: float | None = doc("Wall seconds of execution.")
    parameters: dict[str, Any] = doc("Effective parameter values.")
    scraps: dict[str, Any] = doc("Inline scrap values (name → value).")
    error: str | None = doc("'ename: evalue' of a failed run.")
    progress: str | None = doc("'cells done/total' of a running run.")

    @classmethod
    def of(cls, record: RunRecord) -> RunRow:
        error = record.error.line if record.error else None
        progress = None
        if record.progress.cells_total:
            progress = f"{record.progress.cells_done}/{record.progress.cells_total}"
        return cls(
            run_id=record.run_id,
            job=record.job,
            status=record.status.value,
            trigger=record.trigger,
            started_at=record.started_at,
            duration_s=record.duration_s,
            parameters=dict(record.parameters),
            scraps=inline_scraps(record.scraps),
            error=error,
            progress=progress,
        )


def inline_scraps(scraps: Mapping[str, Any]) -> dict[str, Any]:
    """Scrap name → value for the scraps recorded inline (others are not in the record)."""
    return inline_values(scraps)


@dataclass
class Pagination:
    """Offset paging of a listing whose total is known."""

    page: int = doc("Current page, from 1.")
    per_page: int = doc("Rows per page.")
    total: int = doc("Rows in all pages.")
    pages: int = doc("Number of pages.")
    prev_url: str | None = doc("Query string of the previous page, or null.")
    next_url: str | None = doc("Query string of the next page, or null.")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @classmethod
    def make(cls, page: int, per_page: int, total: int, query: Mapping[str, Any]) -> Pagination:
        pages = max(1, math.ceil(total / per_page))

        def link(number: int) -> str:
            return "?" + urlencode({**_plain(query), "page": number}, doseq=True)

        return cls(
            page=page,
            per_page=per_page,
            total=total,
            pages=pages,
            prev_url=link(page - 1) if page > 1 else None,
            next_url=link(page + 1) if page < pages else None,
        )


def _plain(query: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in query.items() if v not in (None, "", [], ()) and k != "page"}


def int_arg(value: str | None, name: str, default: int, lo: int = 1, hi: int = MAX_NUMBER) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value) if len(value) <= 20 else None
    except ValueError:
        number = None
    if number is None:
        raise BadInput(f"{name} must be a whole number, got {short_value(value, 30)!r}")
    if number < lo or number > hi:
        raise BadInput(f"{name} must be between {lo} and {hi}, got {short_value(str(number), 30)}")
    return number


def to_jsonable(value: Any) -> Any:
    """Contexts (dataclasses, records, enums, datetimes) as plain JSON values."""
    if isinstance(value, RunRecord):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get("html_only")
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return None
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, indent=2, default=repr)


def short_value(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= width else text[: width - 1] + "…"
