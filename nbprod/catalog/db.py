"""The catalog: a SQL index of one or more stores' jobs and runs.

Only an index: every row is derived from files in a store (run.json, job version files,
state.json), so ``nbprod.catalog.sync.rebuild`` can recreate it exactly. Writes are
upserts, so indexing the same record twice, or from two processes, is harmless.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from nbprod.catalog import schema
from nbprod.catalog.engine import create_engine
from nbprod.catalog.query import RunFilter, as_number
from nbprod.catalog.schema import job_versions, jobs, run_values, runs
from nbprod.catalog.sql import CHUNK, Connected, insert_ignore, reason, safe_text, upsert
from nbprod.errors import CatalogError, InvalidName, RunNotFound
from nbprod.jobs.model import JobVersion
from nbprod.records import RunRecord, RunStatus


@dataclass
class JobSummary:
    """A job with its latest definition and run statistics, for listings.

    latest_version is None (and definition empty) for an ad-hoc job: runs made with
    ``nbprod exec`` without a job definition (listed only with ``include_adhoc``).
    """

    name: str
    latest_version: int | None
    paused: bool
    schedule: str | None
    timezone: str
    tags: list[str]
    definition: dict[str, Any]
    notebook_sha256: str | None
    last_run_id: str | None = None
    last_status: str | None = None
    last_started_at: str | None = None
    runs_total: int = 0
    runs_succeeded: int = 0
    created_at: str | None = None
    updated_at: str | None = None


@dataclass
class _Stats:
    total: int = 0
    succeeded: int = 0
    last: dict[str, Any] = field(default_factory=dict)


class Catalog(Connected):
    """The index of one or more stores' runs and jobs in one database."""

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> Catalog:
        """Connect, creating or migrating the schema when needed."""
        engine, label = create_engine(url)
        try:
            with engine.connect():
                pass
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            raise CatalogError(f"cannot open catalog {label}: {reason(exc)}") from None
        from nbprod.catalog.migrate import ensure_current

        try:
            ensure_current(engine, label)
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            raise CatalogError(f"cannot migrate catalog {label}: {reason(exc)}") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, label)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -----------------------------------------------------------------------------

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

    # -- jobs -----------------------------------------------------------------------------

    def index_job_version(self, store: str, version: JobVersion) -> None:
        """Add a version if absent and refresh the job row from its highest version.

        The pause state is not part of a version: a new version keeps the job's current
        state; a job seen for the first time starts as its definition says.
        """
        data = version.to_dict()
        row = {
            "store": store,
            "job": version.job,
            "version": version.version,
            "created_at": version.created_at,
            "definition": data["definition"],
            "notebook_sha256": version.notebook_sha256,
            "notebook_name": version.notebook_name,
            "changes": list(version.changes),
        }
        with self._write() as conn:
            insert_ignore(conn, job_versions, [row])
            self._refresh_job(conn, store, version.job)

    def _refresh_job(self, conn: sa.Connection, store: str, name: str) -> None:
        where = (job_versions.c.store == store, job_versions.c.job == name)
        latest = (
            conn.execute(
                sa.select(job_versions).where(*where).order_by(job_versions.c.version.desc())
            )
            .mappings()
            .first()
        )
        if latest is None:
            return
        first_created = conn.execute(
            sa.select(job_versions.c.created_at)
            .where(*where)
            .order_by(job_versions.c.version)
            .limit(1)
        ).scalar()
        paused = conn.execute(
            sa.select(jobs.c.paused).where(jobs.c.store == store, jobs.c.name == name)
        ).scalar()
        definition = latest["definition"]
        if paused is None:
            paused = bool(definition.get("paused", False))
        upsert(
            conn,
            jobs,
            [
                {
                    "store": store,
                    "name": name,
                    "latest_version": latest["version"],
                    "paused": bool(paused),
                    "schedule": definition.get("schedule"),
                    "timezone": definition.get("timezone") or "UTC",
                    "tags": list(definition.get("tags") or []),
                    "definition": definition,
                    "notebook_sha256": latest["notebook_sha256"],
                    "created_at": first_created,
                    "updated_at": latest["created_at"],
                }
            ],
        )

    def set_paused(self, store: str, job: str, paused: bool) -> None:
        """Record a job's pause state (a no-op for a job not indexed yet)."""
        with self._write() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.store == store, jobs.c.name == job)
                .values(paused=bool(paused))
            )

    def paused_jobs(self, store: str) -> dict[str, bool]:
        """job → paused, for every defined job of the store."""
        stmt = sa.select(jobs.c.name, jobs.c.paused).where(jobs.c.store == store)
        with self._read() as conn:
            return {name: bool(paused) for name, paused in conn.execute(stmt)}

    def job_versions(self, store: str, name: str) -> list[JobVersion]:
        """Every indexed version of a job, oldest first."""
        stmt = (
            sa.select(job_versions)
            .where(job_versions.c.store == store, job_versions.c.job == name)
            .order_by(job_versions.c.version)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            JobVersion.from_dict(
                {
                    "job": row["job"],
                    "version": row["version"],
                    "created_at": row["created_at"],
                    "definition": row["definition"],
                    "notebook_sha256": row["notebook_sha256"],
                    "notebook_name": row["notebook_name"],
                    "changes": list(row["changes"] or []),
                }
            )
            for row in rows
        ]

    def indexed_versions(self, store: str) -> dict[str, set[int]]:
        """job → its indexed version numbers (what sync compares with)."""
        stmt = sa.select(job_versions.c.job, job_versions.c.version).where(
            job_versions.c.store == store
        )
        found: dict[str, set[int]] = {}
        with self._read() as conn:
            for name, number in conn.execute(stmt):
                found.setdefault(name, set()).add(number)
        return found

    def jobs(self, store: str, *, include_adhoc: bool = False) -> list[JobSummary]:
        """Defined jobs by name, with their last run and run counts.

        ``include_adhoc`` adds jobs that only have runs (no definition in the store).
        """
        return self._summaries(store, None, include_adhoc)

    def job(self, store: str, name: str) -> JobSummary | None:
        """One job's summary; also an ad-hoc job's (runs but no definition)."""
        found = self._summaries(store, name, True)
        return found[0] if found else None

    def _summaries(self, store: str, name: str | None, include_adhoc: bool) -> list[JobSummary]:
        job_where = [jobs.c.store == store] + ([jobs.c.name == name] if name else [])
        run_where = [runs.c.store == store] + ([runs.c.job == name] if name else [])
        succeeded = sa.case((runs.c.status == RunStatus.SUCCEEDED.value, 1), else_=0)
        with self._read() as conn:
            defined = conn.execute(sa.select(jobs).where(*job_where)).mappings().all()
            stats: dict[str, _Stats] = {}
            aggregate = (
                sa.select(
                    runs.c.job,
                    sa.func.count(),
                    sa.func.sum(succeeded),
                    sa.func.max(runs.c.run_id),
                )
                .where(*run_where)
                .group_by(runs.c.job)
            )
            last_ids = []
            for job_name, total, ok, last_id in conn.execute(aggregate):
                stats[job_name] = _Stats(int(total), int(ok or 0))
                last_ids.append(last_id)
            for start in range(0, len(last_ids), CHUNK):
                rows = conn.execute(
                    sa.select(runs.c.job, runs.c.run_id, runs.c.status, runs.c.started_at).where(
                        runs.c.store == store, runs.c.run_id.in_(last_ids[start : start + CHUNK])
                    )
                ).mappings()
                for row in rows:
                    if row["job"] in stats:
                        stats[row["job"]].last = dict(row)
        summaries = {
            row["name"]: JobSummary(
                name=row["name"],
                latest_version=row["latest_version"],
                paused=bool(row["paused"]),
                schedule=row["schedule"],
                timezone=row["timezone"],
                tags=list(row["tags"] or []),
                definition=dict(row["definition"] or {}),
                notebook_sha256=row["notebook_sha256"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in defined
        }
        if include_adhoc:
            for job_name in stats:
                summaries.setdefault(
                    job_name,
                    JobSummary(job_name, None, False, None, "UTC", [], {}, None),
                )
        for job_name, summary in summaries.items():
            found = stats.get(job_name)
            if found:
                summary.runs_total, summary.runs_succeeded = found.total, found.succeeded
                summary.last_run_id = found.last.get("run_id")
                summary.last_status = found.last.get("status")
                summary.last_started_at = found.last.get("started_at")
        return [summaries[key] for key in sorted(summaries)]

    def delete_job(self, store: str, name: str, *, runs_too: bool = False) -> None:
        """Forget a job's definition and versions (and with ``runs_too`` its runs)."""
        with self._write() as conn:
            conn.execute(jobs.delete().where(jobs.c.store == store, jobs.c.name == name))
            conn.execute(
                job_versions.delete().where(
                    job_versions.c.store == store, job_versions.c.job == name
                )
            )
            if runs_too:
                ids = sa.select(runs.c.run_id).where(runs.c.store == store, runs.c.job == name)
                conn.execute(
                    run_values.delete().where(
                        run_values.c.store == store, run_values.c.run_id.in_(ids)
                    )
                )
                conn.execute(runs.delete().where(runs.c.store == store, runs.c.job == name))

    # -- whole store ----------------------------------------------------------------------

    def clear(self, store: str) -> None:
        """Forget everything indexed for one store (other stores are untouched)."""
        with self._write() as conn:
            for table in schema.TABLES:
                conn.execute(table.delete().where(table.c.store == store))

    def dump(self, store: str) -> dict[str, list[dict[str, Any]]]:
        """Every row of the store in every table, in primary-key order (JSON-able)."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self._read() as conn:
            for table in schema.TABLES:
                stmt = (
                    sa.select(table)
                    .where(table.c.store == store)
                    .order_by(*table.primary_key.columns)
                )
                out[table.name] = [dict(row) for row in conn.execute(stmt).mappings()]
        return out


# -- helpers --------------------------------------------------------------------------------


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
        "error_text": safe_text(f"{error.ename}: {error.evalue}") if error else None,
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
        if isinstance(scrap, dict) and scrap.get("inline") and "value" in scrap:
            add("scrap", name, scrap["value"])
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
