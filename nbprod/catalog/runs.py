"""The runs index: one row per run, plus its parameter, scrap and tag values for filters."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from nbprod.catalog import schema
from nbprod.catalog.query import RunFilter, as_number
from nbprod.catalog.schema import run_values, runs
from nbprod.catalog.sql import CHUNK, Connected, insert_ignore, safe_text, upsert
from nbprod.errors import InvalidName, RunNotFound
from nbprod.records import RunRecord
from nbprod.scraps import inline_value


class RunIndex(Connected):
    """The Catalog's run methods (a part of ``Catalog``; not used alone)."""

    def index_run(self, store: str, record: RunRecord) -> None:
        """Insert or replace one run and its parameter/scrap/tag values."""
        self.index_runs(store, [record])

    def index_runs(self, store: str, records: Iterable[RunRecord]) -> None:
        """Batch form of :meth:`index_run` (one transaction)."""
        # Sorted: one lock order for every writer, so concurrent batches cannot deadlock.
        # The last record of an id wins (an upsert statement may touch a row only once).
        records = sorted({r.run_id: r for r in records}.values(), key=lambda r: r.run_id)
        if not records:
            return
        with self._write() as conn:
            for start in range(0, len(records), CHUNK):
                batch = records[start : start + CHUNK]
                ids = [r.run_id for r in batch]
                # The runs row first: its row lock serialises concurrent writers of a run's
                # values (without it, PostgreSQL can deadlock on the values' unique index).
                upsert(conn, runs, [_run_row(store, r) for r in batch])
                conn.execute(
                    run_values.delete().where(
                        run_values.c.store == store, run_values.c.run_id.in_(ids)
                    )
                )
                values = [row for r in batch for row in _value_rows(store, r)]
                insert_ignore(conn, run_values, values)

    def delete_run(self, store: str, run_id: str) -> None:
        with self._write() as conn:
            conn.execute(runs.delete().where(runs.c.store == store, runs.c.run_id == run_id))
            conn.execute(
                run_values.delete().where(
                    run_values.c.store == store, run_values.c.run_id == run_id
                )
            )

    def run_ids(self, store: str) -> dict[str, str]:
        """run_id → status of every indexed run of the store (what sync compares with)."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(runs.c.run_id, runs.c.status).where(runs.c.store == store)
            )
            return {run_id: status for run_id, status in rows}

    def get_run(self, store: str, run_id: str) -> RunRecord | None:
        """A run by exact id or unique id prefix; RunNotFound if the prefix is ambiguous."""
        if not run_id or "/" in run_id:
            raise InvalidName(f"invalid run id {run_id!r}")
        with self._read() as conn:
            exact = conn.execute(
                sa.select(runs.c.record).where(runs.c.store == store, runs.c.run_id == run_id)
            ).scalar()
            if exact is not None:
                return RunRecord.from_dict(exact)
            found = conn.execute(
                sa.select(runs.c.record)
                .where(runs.c.store == store, runs.c.run_id.startswith(run_id, autoescape=True))
                .order_by(runs.c.run_id.desc())
                .limit(2)
            ).all()
        if len(found) > 1:
            raise RunNotFound(f"run id prefix {run_id!r} is ambiguous (several runs match)")
        return RunRecord.from_dict(found[0][0]) if found else None

    def previous_run_id(self, store: str, job: str, run_id: str) -> str | None:
        """The id of the job's indexed run just before ``run_id`` (ids sort by start time)."""
        stmt = sa.select(sa.func.max(runs.c.run_id)).where(
            runs.c.store == store, runs.c.job == job, runs.c.run_id < run_id
        )
        with self._read() as conn:
            return conn.execute(stmt).scalar()

    def query_runs(self, store: str, f: RunFilter | None = None) -> list[RunRecord]:
        """Matching runs, newest first, paged by ``f.limit`` / ``f.offset``."""
        f = (f or RunFilter()).validate()
        stmt = (
            sa.select(runs.c.record)
            .where(*_conditions(store, f))
            .order_by(runs.c.run_id.desc())
            .offset(f.offset or None)
        )
        if f.limit is not None:
            stmt = stmt.limit(f.limit)
        with self._read() as conn:
            return [RunRecord.from_dict(record) for (record,) in conn.execute(stmt)]

    def count_runs(self, store: str, f: RunFilter | None = None) -> int:
        """How many runs match, ignoring limit and offset."""
        f = (f or RunFilter()).validate()
        stmt = sa.select(sa.func.count()).select_from(runs).where(*_conditions(store, f))
        with self._read() as conn:
            return int(conn.execute(stmt).scalar() or 0)


def _run_row(store: str, record: RunRecord) -> dict[str, Any]:
    error = record.error
    return {
        "store": store,
        "run_id": record.run_id,
        "job": record.job,
        "status": record.status.value,
        "trigger": record.trigger,
        "attempt": record.attempt,
        "job_version": record.job_version,
        "rerun_of": record.rerun_of,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_s": record.duration_s,
        "error_text": safe_text(error.line) if error else None,
        "tags": list(record.tags),
        "record": record.to_dict(),
    }


def value_text(value: Any) -> str:
    """How a parameter or scrap value is compared as text: strings raw, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _value_num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _value_rows(store: str, record: RunRecord) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def add(kind: str, name: str, value: Any) -> None:
        if not isinstance(name, str) or len(name) > schema.NAME_MAX:
            return
        rows[(kind, name)] = {
            "store": store,
            "run_id": record.run_id,
            "kind": kind,
            "name": name,
            "value_text": safe_text(value_text(value)[: schema.VALUE_TEXT_MAX]),
            "value_num": _value_num(value),
        }

    for name, value in record.parameters.items():
        add("param", name, value)
    for name, scrap in record.scraps.items():
        inline, value = inline_value(scrap)
        if inline:
            add("scrap", name, value)
    for tag in record.tags:
        add("tag", tag, tag)
    return list(rows.values())


def _conditions(store: str, f: RunFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [runs.c.store == store]
    if f.job:
        where.append(runs.c.job == f.job)
    if f.status:
        where.append(runs.c.status.in_(list(f.status)))
    if f.since:
        where.append(runs.c.started_at >= f.since)
    if f.until:
        where.append(runs.c.started_at < f.until)
    if f.tag:
        where.append(_has_value("tag", f.tag, None))
    for name, op, value in f.params:
        where.append(_has_value("param", name, (op, value)))
    for name, op, value in f.scraps:
        where.append(_has_value("scrap", name, (op, value)))
    if f.error:
        where.append(sa.func.lower(runs.c.error_text).contains(f.error.lower(), autoescape=True))
    return where


def _has_value(kind: str, name: str, test: tuple[str, str] | None) -> sa.ColumnElement[bool]:
    """EXISTS a run_values row of this run matching ``name OP value``.

    A value that reads as a number compares numerically with numeric values (and, for =
    and !=, also as text, so a string parameter "7" still equals 7); other values compare
    as text. != only matches runs that have the name.
    """
    v = run_values.alias()
    where = [
        v.c.store == runs.c.store,
        v.c.run_id == runs.c.run_id,
        v.c.kind == kind,
        v.c.name == name,
    ]
    if test is not None:
        op, raw = test
        number = as_number(raw)
        text = raw[: schema.VALUE_TEXT_MAX]
        if op in ("=", "!="):
            match = v.c.value_text == text
            if number is not None:
                match = sa.or_(match, sa.and_(v.c.value_num.is_not(None), v.c.value_num == number))
            where.append(match if op == "=" else sa.not_(match))
        else:
            if number is not None:
                where.append(v.c.value_num.operate(_ORDERING[op], number))
            else:
                where.append(v.c.value_text.operate(_ORDERING[op], text))
    return sa.exists().where(*where)


_ORDERING = {
    "<": sa.sql.operators.lt,
    "<=": sa.sql.operators.le,
    ">": sa.sql.operators.gt,
    ">=": sa.sql.operators.ge,
}
