"""The jobs index: each job's versions, its latest definition and pause state, and the
run statistics listings show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from nbprod.catalog.schema import job_versions, jobs, run_values, runs
from nbprod.catalog.sql import CHUNK, Connected, insert_ignore, upsert
from nbprod.jobs.model import JobVersion
from nbprod.records import RunStatus


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


class JobIndex(Connected):
    """The Catalog's job methods (a part of ``Catalog``; not used alone)."""

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

    def concurrency_limits(self) -> dict[tuple[str, str], int]:
        """(store, job) → how many runs of the job may run at once, for every defined job
        of every store (what a worker's claim checks; default 1)."""
        stmt = sa.select(jobs.c.store, jobs.c.name, jobs.c.definition)
        with self._read() as conn:
            rows = conn.execute(stmt).fetchall()
        return {(r.store, r.name): int((r.definition or {}).get("concurrency") or 1) for r in rows}

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
