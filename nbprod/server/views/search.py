"""Search: runs of every job by job, parameter value, scrap, error text or status.

The quick box takes words like ``job:daily-sales status:failed param:region=eu
scrap:revenue>1000 error:KeyError since:7d tag:sales``; a bare word is a job name when
such a job exists, else a run id (prefix) when it looks like one, else error text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nbprod.errors import BadInput, RunNotFound
from nbprod.server.browse_data import BrowseData
from nbprod.server.views.common import MAX_PER_PAGE, PER_PAGE, Pagination, RunRow, doc, int_arg
from nbprod.server.views.filters import STATUSES, FilterForm, form_from

_PREFIXES = {"job", "status", "param", "scrap", "error", "since", "until", "tag"}
_RUN_ID_PREFIX = re.compile(r"^\d{8}T[\dZ-]*[0-9a-f-]*\Z")


@dataclass
class SearchContext:
    """The search page."""

    q: str = doc("The quick-search text as typed.")
    filters: FilterForm = doc("The structured filters (from the form and the quick text).")
    statuses: list[str] = doc("Every run status, for the filter form.")
    jobs: list[str] = doc("Every job name, for the form.")
    runs: list[RunRow] = doc("This page of matching runs, newest first.")
    pagination: Pagination = doc("Paging of the matching runs.")
    run_id_match: str | None = doc("A run whose id starts with the quick text, if any.")


def parse_quick(q: str, jobs: list[str]) -> tuple[dict[str, list[str]], str | None]:
    """Quick-search words as filter arguments, and a run id prefix if a word looks like one."""
    try:
        words = shlex.split(q)
    except ValueError:
        raise BadInput(f"unbalanced quotes in search {q!r}") from None
    args: dict[str, list[str]] = {}
    run_prefix = None
    loose = []
    for word in words:
        prefix, sep, rest = word.partition(":")
        if sep and prefix in _PREFIXES and rest:
            args.setdefault(prefix, []).append(rest)
        elif word in jobs:
            args.setdefault("job", []).append(word)
        elif word in STATUSES:
            args.setdefault("status", []).append(word)
        elif _RUN_ID_PREFIX.match(word):
            run_prefix = word
        else:
            loose.append(word)
    if loose:
        args.setdefault("error", []).append(" ".join(loose))
    return args, run_prefix


def build(service: BrowseData, args: Mapping[str, Sequence[str]]) -> SearchContext:
    q = " ".join(v for v in args.get("q", []) if v.strip()).strip()
    jobs = [s.name for s in service.catalog.jobs(service.store.url, include_adhoc=True)]
    quick, run_prefix = parse_quick(q, jobs) if q else ({}, None)
    merged = {k: list(v) for k, v in args.items()}
    for key, values in quick.items():
        merged[key] = list(merged.get(key, [])) + values
    form = form_from(merged)
    page_arg = (args.get("page") or [None])[-1]
    per_arg = (args.get("per_page") or [None])[-1]
    page = int_arg(page_arg, "page", 1)
    per_page = int_arg(per_arg, "per_page", PER_PAGE, 1, MAX_PER_PAGE)
    run_id_match = None
    if run_prefix and not form.active:
        try:
            record = service.catalog.get_run(service.store.url, run_prefix)
        except RunNotFound:  # ambiguous prefix: the listing below shows the candidates
            record = None
        run_id_match = record.run_id if record else None
    query = form.to_filter(limit=per_page, offset=(page - 1) * per_page)
    searched = bool(q) or form.active
    total = service.catalog.count_runs(service.store.url, query) if searched else 0
    records = service.catalog.query_runs(service.store.url, query) if searched else []
    link_query = {**form_from(args).query(), "q": q}
    return SearchContext(
        q=q,
        filters=form,
        statuses=STATUSES,
        jobs=jobs,
        runs=[RunRow.of(r) for r in records],
        pagination=Pagination.make(page, per_page, total, link_query),
        run_id_match=run_id_match,
    )
