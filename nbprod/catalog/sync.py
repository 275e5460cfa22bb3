"""Bring a catalog up to date with a store, or rebuild it from the store alone.

Two phases: *scan* reads the store (listings and records, concurrently: on S3 each read is
a round trip) without touching the catalog's write lock; *apply* writes what changed in one
transaction. Run records are written once when a run ends, so an incremental sync reads
only runs it has not seen, plus runs it saw while they were still ``running``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nbprod.catalog.db import Catalog
from nbprod.catalog.pipelines import index_pipeline_runs, indexed_pipeline_runs
from nbprod.errors import CorruptData, InvalidName
from nbprod.jobs.model import JobVersion
from nbprod.pipelines.record import PipelineRun
from nbprod.records import RunRecord, RunStatus
from nbprod.store import Store, layout

log = logging.getLogger(__name__)

WORKERS = 8
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class SyncResult:
    added: int = 0
    """Runs indexed for the first time."""
    updated: int = 0
    """Runs whose record changed since indexed (a ``running`` run that has finished)."""
    removed: int = 0
    """Runs forgotten because their record is gone from the store (full sync only)."""
    jobs: int = 0
    """Jobs whose definition versions or pause state changed in the catalog."""
    skipped: list[str] = field(default_factory=list)
    """Store keys that could not be read as records or versions (left out, logged)."""
    pipeline_runs: int = 0
    """Pipeline runs indexed from their store records."""
    pipelines: int = 0
    """Pipelines indexed from their versions and pause state (what the scheduler fires)."""


@dataclass
class _Scan:
    runs: dict[str, str] = field(default_factory=dict)
    """run_id → job, for every run folder in the store."""
    versions: dict[str, dict[int, str]] = field(default_factory=dict)
    """job → version number → key of its version file."""
    states: dict[str, str] = field(default_factory=dict)
    """job → key of its state.json."""
    pipeline_runs: dict[str, str] = field(default_factory=dict)
    """pipeline run id → key of its record."""
    pipelines: list[str] = field(default_factory=list)
    """Every pipeline folder's name."""


def sync(catalog: Catalog, store: Store, *, full: bool = False) -> SyncResult:
    """Index what is new in the store; ``full`` also drops runs gone from the store."""
    return _sync(catalog, store, full=full, rebuild=False)


def rebuild(catalog: Catalog, store: Store) -> SyncResult:
    """Replace everything the catalog holds for the store with what the store holds.

    The store is read first; the catalog is cleared and refilled in one transaction, so
    readers see either the old index or the new one.
    """
    return _sync(catalog, store, full=True, rebuild=True)


def _sync(catalog: Catalog, store: Store, *, full: bool, rebuild: bool) -> SyncResult:
    url = store.url
    result = SyncResult()
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="nbprod-sync") as pool:
        scan = _scan(store, pool)
        known = {} if rebuild else catalog.run_ids(url)
        indexed = {} if rebuild else catalog.indexed_versions(url)

        wanted = [
            run_id
            for run_id in scan.runs
            if run_id not in known or known[run_id] == RunStatus.RUNNING.value
        ]
        fetched = _pairs(pool, lambda rid: _read_record(store, scan.runs[rid], rid), wanted)
        fresh: list[RunRecord] = []
        for run_id, (record, problem) in fetched:
            if problem:
                result.skipped.append(problem)
            if record is None:
                continue
            if run_id not in known:
                result.added += 1
                fresh.append(record)
            else:
                previous = catalog.get_run(url, run_id)
                if previous is None or previous.to_dict() != record.to_dict():
                    result.updated += 1
                    fresh.append(record)

        gone: list[str] = []
        if full and not rebuild:
            gone = [run_id for run_id in known if run_id not in scan.runs]
            # A folder can outlive its record (partly deleted run); check the rest.
            kept = [run_id for run_id in known if run_id in scan.runs and run_id not in wanted]
            present = _pairs(
                pool, lambda rid: store.exists(layout.record_key(scan.runs[rid], rid)), kept
            )
            gone += [run_id for run_id, ok in present if not ok]
            # a record that vanished while we read it
            gone += [rid for rid, (rec, _) in fetched if rec is None and rid in known]

        new_versions: list[tuple[str, int]] = [
            (job, number)
            for job, numbers in scan.versions.items()
            for number in sorted(numbers)
            if number not in indexed.get(job, set())
        ]
        version_data = _pairs(
            pool, lambda item: _read_version(store, scan.versions[item[0]][item[1]]), new_versions
        )
        states = _pairs(pool, lambda job: _read_state(store, scan.states[job]), list(scan.states))
        # A pipeline run's row is the lock its steps take while it runs, and the store copy
        # is written under it: a sync adds runs the catalog lacks, never overwrites one.
        have = set() if rebuild else indexed_pipeline_runs(catalog, url)
        missing = [rid for rid in scan.pipeline_runs if rid not in have]
        pipeline_data = _pairs(
            pool, lambda rid: _read_pipeline_run(store, scan.pipeline_runs[rid]), missing
        )
        stale_jobs: list[str] = []
        if full and not rebuild:
            stale_jobs = [
                job
                for job, numbers in indexed.items()
                if not numbers <= set(scan.versions.get(job, {}))
            ]

    current_pause = {} if rebuild else catalog.paused_jobs(url)
    with catalog.transaction():
        if rebuild:
            catalog.clear(url)
        changed: set[str] = set()
        for job in stale_jobs:  # versions vanished from the store: re-index that job
            catalog.delete_job(url, job)
            changed.add(job)
            current_pause.pop(job, None)
            for number in sorted(scan.versions.get(job, {})):
                version, problem = _read_version(store, scan.versions[job][number])
                if version is not None:
                    catalog.index_job_version(url, version)
        for (job, number), (version, problem) in version_data:
            if problem:
                result.skipped.append(problem)
            if version is None:
                continue
            if version.job != job or version.version != number:
                result.skipped.append(scan.versions[job][number])  # misplaced file
                continue
            catalog.index_job_version(url, version)
            changed.add(job)
        for job, (paused, problem) in states:
            if problem:
                result.skipped.append(problem)
            if paused is None:
                continue
            if current_pause.get(job) != paused:
                catalog.set_paused(url, job, paused)
                changed.add(job)
        catalog.index_runs(url, fresh)
        restored = []
        for run_id, (run, problem) in pipeline_data:
            if problem:
                result.skipped.append(problem)
            if run is not None and run.run_id == run_id:
                restored.append(run)
        index_pipeline_runs(catalog, url, restored)
        result.pipeline_runs = len(restored)
        result.pipelines = _index_pipelines(catalog, store, scan.pipelines, result.skipped)
        for run_id in sorted(set(gone)):
            catalog.delete_run(url, run_id)
        result.removed = len(set(gone))
        result.jobs = len(changed)
    for key in result.skipped:
        log.warning("catalog sync: could not read %s in %s", key, url)
    return result


def _pairs(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: list[T]) -> list[tuple[T, R]]:
    """(item, fn(item)) for each item, computed concurrently, in order."""
    return list(zip(items, pool.map(fn, items), strict=True))


def _scan(store: Store, pool: ThreadPoolExecutor) -> _Scan:
    scan = _Scan()
    top = list(store.list(""))
    job_dirs = [e.name for e in top if e.is_dir and not e.name.startswith(".") and _valid(e.name)]
    for job, entries in _pairs(pool, lambda j: list(store.list(j)), job_dirs):
        for entry in entries:
            if entry.is_dir and layout.is_run_id(entry.name):
                scan.runs[entry.name] = job
    if any(e.is_dir and e.name == layout.META for e in top):
        defined = [e.name for e in store.list(layout.JOBS_PREFIX) if e.is_dir and _valid(e.name)]
        listed = _pairs(pool, lambda j: list(store.list(layout.job_versions_prefix(j))), defined)
        for job, entries in listed:
            for entry in entries:
                if entry.is_dir:
                    continue
                number = layout.parse_job_version_name(entry.name)
                if number is not None:
                    scan.versions.setdefault(job, {})[number] = layout.job_version_key(job, number)
                elif entry.name == layout.JOB_STATE_NAME:
                    scan.states[job] = layout.job_state_key(job)
        _scan_pipeline_runs(store, pool, scan)
    return scan


def _scan_pipeline_runs(store: Store, pool: ThreadPoolExecutor, scan: _Scan) -> None:
    names = [e.name for e in store.list(layout.PIPELINES_PREFIX) if e.is_dir and _valid(e.name)]
    scan.pipelines = names
    listed = _pairs(pool, lambda n: list(store.list(layout.pipeline_runs_prefix(n))), names)
    for name, entries in listed:
        for entry in entries:
            run_id = None if entry.is_dir else layout.parse_pipeline_run_name(entry.name)
            if run_id is not None:
                scan.pipeline_runs[run_id] = layout.pipeline_run_key(name, run_id)


def _index_pipelines(catalog: Any, store: Store, names: list[str], skipped: list[str]) -> int:
    """Each pipeline's catalog row from its versions (a few small files) and state."""
    from nbprod.errors import NbprodError
    from nbprod.pipelines.versions import index_latest, store_versions

    count = 0
    for name in names:
        try:
            versions = store_versions(store, name)
        except (NbprodError, ValueError, KeyError, TypeError) as exc:
            skipped.append(f"{layout.pipeline_versions_prefix(name)} ({exc})")
            continue
        if versions:
            index_latest(catalog, store, versions[-1], versions[0].created_at)
            count += 1
    return count


def _read_pipeline_run(store: Store, key: str) -> tuple[PipelineRun | None, str | None]:
    try:
        data = store.get(key)
    except KeyError:
        return None, None
    try:
        return PipelineRun.from_json(data), None
    except CorruptData:
        return None, key


def _valid(name: str) -> bool:
    try:
        layout.check_job_name(name)
    except InvalidName:
        return False
    return True


def _read_record(store: Store, job: str, run_id: str) -> tuple[RunRecord | None, str | None]:
    """The run's record; (None, None) if it has none yet; (None, key) if unusable."""
    key = layout.record_key(job, run_id)
    try:
        data = store.get(key)
    except KeyError:
        return None, None
    try:
        record = RunRecord.from_json(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, key
    if record.run_id != run_id or record.job != job:
        return None, key  # a record copied into the wrong folder would never settle
    return record, None


def _read_version(store: Store, key: str) -> tuple[JobVersion | None, str | None]:
    try:
        data = store.get(key)
    except KeyError:
        return None, None
    try:
        return JobVersion.from_dict(json.loads(data)), None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, key


def _read_state(store: Store, key: str) -> tuple[bool | None, str | None]:
    try:
        data: Any = json.loads(store.get(key))
    except KeyError:
        return None, None
    except ValueError:
        return None, key
    if not isinstance(data, dict) or not isinstance(data.get("paused"), bool):
        return None, key
    return data["paused"], None
