"""Run filters read from a page's query string (job page and search share them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nbprod.catalog.query import RunFilter, parse_condition, parse_when
from nbprod.errors import BadInput
from nbprod.records import RunStatus
from nbprod.server.views.common import doc

STATUSES = [s.value for s in RunStatus]


@dataclass
class FilterForm:
    """The filters as the user typed them (echoed back into the form)."""

    job: str = doc("Only this job's runs.", default="")
    status: list[str] = doc("Any of these statuses.", default_factory=list)
    since: str = doc("Started at or after: 7d, 12h, 30m or an ISO date/time.", default="")
    until: str = doc("Started before: 7d, 12h, 30m or an ISO date/time.", default="")
    param: list[str] = doc("Parameter conditions NAME OP VALUE.", default_factory=list)
    scrap: list[str] = doc("Scrap conditions NAME OP VALUE.", default_factory=list)
    error: str = doc("Error text contains this (case-insensitive).", default="")
    tag: str = doc("Runs with this tag.", default="")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def query(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def to_filter(self, limit: int | None = 50, offset: int = 0) -> RunFilter:
        unknown = [s for s in self.status if s not in STATUSES]
        if unknown:
            raise BadInput(f"unknown status {unknown[0]!r} (use one of: {', '.join(STATUSES)})")
        return RunFilter(
            job=self.job or None,
            status=list(self.status),
            since=parse_when(self.since) if self.since else None,
            until=parse_when(self.until) if self.until else None,
            tag=self.tag or None,
            params=[parse_condition(c) for c in self.param],
            scraps=[parse_condition(c) for c in self.scrap],
            error=self.error or None,
            limit=limit,
            offset=offset,
        ).validate()


def form_from(args: Mapping[str, Sequence[str]], **fixed: str) -> FilterForm:
    """A FilterForm from query arguments (name → list of values); empty values dropped."""

    def many(name: str) -> list[str]:
        return [v.strip() for v in args.get(name, []) if v.strip()]

    def one(name: str) -> str:
        values = many(name)
        return values[-1] if values else ""

    form = FilterForm(
        job=one("job"),
        status=many("status"),
        since=one("since"),
        until=one("until"),
        param=many("param"),
        scrap=many("scrap"),
        error=one("error"),
        tag=one("tag"),
    )
    return replace(form, **fixed) if fixed else form
