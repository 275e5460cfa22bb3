"""Jobs in the store: apply a definition as a new immutable version, read versions back.

The store holds every version (``.nbprod/jobs/<job>/v000001.json``) and the pinned
notebook snapshot; the catalog only indexes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbprod.errors import BadInput, NbprodError, NotFound
from nbprod.jobs.model import PRESETS, JobDefinition, JobVersion
from nbprod.records import isoformat, utcnow
from nbprod.store import Store, layout


class JobNotFound(NotFound):
    """No job with that name in the store."""


class VersionConflict(NbprodError):
    """Another apply created the same version first; nothing was changed."""

    exit_code = 7


@dataclass
class ApplyResult:
    version: JobVersion
    created: bool
    """False when the definition and pinned notebook were unchanged."""
    store: str


def store_versions(store: Store, job: str) -> list[JobVersion]:
    """Every version of a job, ascending, read from the store."""
    prefix = layout.job_versions_prefix(job)
    versions = []
    for entry in store.list(prefix):
        if entry.is_dir or not entry.name.startswith("v") or not entry.name.endswith(".json"):
            continue
        data = json.loads(store.get(f"{prefix}/{entry.name}"))
        versions.append(JobVersion.from_dict(data))
    return sorted(versions, key=lambda v: v.version)


def latest_version(store: Store, job: str) -> JobVersion | None:
    versions = store_versions(store, job)
    return versions[-1] if versions else None


def _comparable(definition: JobDefinition) -> dict[str, Any]:
    data = definition.to_dict()
    data.pop("paused", None)  # pausing is state, not a new version
    return data


def describe_changes(old: JobVersion | None, new: JobDefinition, new_sha: str) -> list[str]:
    if old is None:
        return ["created"]
    changes = []
    if old.notebook_sha256 != new_sha:
        changes.append(
            f"notebook: pinned a new snapshot ({old.notebook_sha256[:12]} → {new_sha[:12]})"
        )
    before, after = _comparable(old.definition), _comparable(new)
    for key in sorted(set(before) | set(after)):
        if key == "parameters":
            old_p, new_p = before.get(key) or {}, after.get(key) or {}
            for name in sorted(set(old_p) | set(new_p)):
                if old_p.get(name, "<unset>") != new_p.get(name, "<unset>"):
                    changes.append(
                        f"parameters.{name}: {_show(old_p.get(name, '<unset>'))} → "
                        f"{_show(new_p.get(name, '<unset>'))}"
                    )
        elif before.get(key) != after.get(key):
            old_v, new_v = _show(before.get(key), key), _show(after.get(key), key)
            changes.append(f"{key}: {old_v} → {new_v}")
    return changes


_SECONDS = frozenset({"timeout", "cell_timeout", "retry_delay", "catchup_window"})
"""Definition fields in seconds: shown as durations (``30m → 45m``, not ``1800.0 → 2700.0``)."""


def _show(value: Any, key: str = "") -> str:
    if key in _SECONDS and isinstance(value, int | float) and not isinstance(value, bool):
        from nbprod.durations import format_duration

        return format_duration(value)
    return value if value == "<unset>" else json.dumps(value, ensure_ascii=False)


def apply(definition: JobDefinition, store: Store, notebook_source: bytes) -> ApplyResult:
    """Store a new version if the definition or the notebook changed."""
    sha = hashlib.sha256(notebook_source).hexdigest()
    previous = latest_version(store, definition.name)
    if (
        previous
        and previous.notebook_sha256 == sha
        and _comparable(previous.definition) == _comparable(definition)
    ):
        return ApplyResult(previous, False, store.url)
    store.put_if_absent(layout.snapshot_key(sha), notebook_source, "application/json")
    version = JobVersion(
        job=definition.name,
        version=(previous.version + 1) if previous else 1,
        created_at=isoformat(utcnow()),
        definition=definition,
        notebook_sha256=sha,
        notebook_name=Path(definition.notebook).name,
        changes=describe_changes(previous, definition, sha),
    )
    key = layout.job_version_key(definition.name, version.version)
    data = json.dumps(version.to_dict(), indent=2, ensure_ascii=False).encode()
    if not store.put_if_absent(key, data, "application/json"):
        raise VersionConflict(
            f"version {version.version} of job {definition.name!r} was created concurrently; "
            "run apply again"
        )
    return ApplyResult(version, True, store.url)


def scheduled_since(versions: list[JobVersion]) -> str | None:
    """When the latest version's external scheduler took the job: the created_at of the
    oldest version of the latest run of versions with that ``scheduled_by``."""
    if not versions or not versions[-1].definition.scheduled_by:
        return None
    by = versions[-1].definition.scheduled_by
    since = versions[-1].created_at
    for version in reversed(versions):
        if version.definition.scheduled_by != by:
            break
        since = version.created_at
    return since


def write_state(store: Store, job: str, *, paused: bool) -> None:
    state = {"paused": paused, "updated_at": isoformat(utcnow())}
    store.put(layout.job_state_key(job), json.dumps(state).encode(), "application/json")


def next_fire_times(
    definition: JobDefinition, count: int = 3, after: datetime | None = None
) -> list[datetime]:
    """The next fire times as aware datetimes in the job's timezone (DST-correct)."""
    if not definition.schedule:
        return []
    from zoneinfo import ZoneInfo

    from croniter import croniter

    from nbprod.scheduler.cron import MAX_GAP_YEARS

    tz = ZoneInfo(definition.timezone)
    start = (after or datetime.now(timezone.utc)).astimezone(tz)
    expression = PRESETS.get(definition.schedule, definition.schedule)
    itr = croniter(expression, start, max_years_between_matches=MAX_GAP_YEARS)
    return [itr.get_next(datetime).astimezone(tz) for _ in range(count)]


def working_copy_differs(version: JobVersion) -> str | None:
    """A warning when the notebook on disk is not the pinned snapshot, else None."""
    from nbprod.safe_yaml import MAX_NOTEBOOK_BYTES, read_bounded

    path = Path(version.definition.notebook)
    try:
        sha = hashlib.sha256(read_bounded(path, "notebook", limit=MAX_NOTEBOOK_BYTES)).hexdigest()
    except BadInput:
        return f"the working copy {path} is missing; runs use the pinned snapshot"
    if sha != version.notebook_sha256:
        return (
            f"the working copy {path} differs from the pinned snapshot "
            f"({version.notebook_sha256[:12]}); `nbprod jobs apply` pins it"
        )
    return None


def materialize_snapshot(store: Store, sha256: str, name: str, cache_dir: Path) -> Path:
    """The stored snapshot as a local file named like the original (for papermill & co)."""
    from nbprod.store.base import verify_content

    folder = cache_dir / sha256
    path = folder / layout.check_file_name(name)
    key = layout.snapshot_key(sha256)
    if path.is_file():
        # The cached copy is what the kernel runs: verified like the store's on every use.
        verify_content(key, path.read_bytes(), where=f"cached copy {path} of {key}")
        return path
    try:
        data = store.get(key)  # verified by the store
    except KeyError:
        raise BadInput(f"notebook snapshot {sha256[:12]} is missing from {store.url}") from None
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def pinned_version(
    catalog: Any, store_url: str, name: str, version: int | None = None
) -> JobVersion:
    """The version a run of job ``name`` executes: ``version``, or the latest one the
    catalog indexes. JobNotFound for an unknown job or version."""
    summary = catalog.job(store_url, name)
    if summary is None or summary.latest_version is None:  # None: runs, no definition
        raise JobNotFound(f"no job {name!r} in {store_url} (see `nbprod jobs list`)")
    try:
        versions = catalog.job_versions(store_url, name)
    except (TypeError, KeyError, ValueError, AttributeError):  # hand-written rows
        versions = []
    chosen = [v for v in versions if version is None or v.version == version]
    if not chosen:
        raise JobNotFound(f"job {name!r} has no version {version}")
    return chosen[-1]


def prepare_snapshot_run(
    payload: Any, *, store: Store, settings: Any, job: str, run_id: str, **identity: Any
) -> Any:
    """A run request for a queued snapshot run (``catalog.queued.QueuedRun`` of kind
    ``snapshot``: a sweep's, a pipeline step's): its stored notebook with the payload's
    options; ``identity`` passes attempt, scheduled_for and logical_run_id through."""
    from nbprod.runner import prepare

    assert payload.sha256 and payload.notebook_name  # checked by QueuedRun.from_dict
    path = materialize_snapshot(
        store, payload.sha256, payload.notebook_name, settings.home / "snapshots"
    )
    cwd = payload.cwd
    return prepare(
        path,
        settings=settings,
        parameters=payload.parameters,
        job=job,
        kernel=payload.kernel,
        cwd=cwd if cwd and Path(cwd).is_dir() else None,
        timeout=payload.timeout,
        cell_timeout=payload.cell_timeout,
        report_mode=payload.report_mode,
        trigger=payload.trigger.value,
        tags=payload.tags,
        source_path=payload.source_path,
        run_id=run_id,
        pipeline=payload.pipeline,
        **identity,
    )


def prepare_version_run(
    pinned: JobVersion,
    *,
    settings: Any,
    store: Store,
    parameters: dict[str, Any] | None = None,
    trigger: str = "job",
    **options: Any,
) -> Any:
    """A run request for a pinned job version: its snapshot, its parameters overlaid with
    ``parameters`` and the ``cli_parameters``/``parameter_files``/``parameter_yaml`` in
    ``options`` (validated against the snapshot's schema); other ``options`` pass run
    identity through (run_id, attempt, scheduled_for, ...)."""
    from nbprod.jobs.definition import stored_problem
    from nbprod.runner import prepare

    definition = pinned.definition
    problem = stored_problem(definition.to_dict())
    if problem:
        raise BadInput(
            f"job {definition.name!r} version {pinned.version} is broken: {problem} "
            "(fix it with `nbprod jobs apply`)"
        )
    path = materialize_snapshot(
        store, pinned.notebook_sha256, pinned.notebook_name, settings.home / "snapshots"
    )
    original_dir = Path(definition.notebook).parent
    return prepare(
        path,
        settings=settings,
        parameters={**definition.parameters, **(parameters or {})},
        job=definition.name,
        kernel=definition.kernel,
        cwd=original_dir if original_dir.is_dir() else None,
        timeout=definition.timeout,
        cell_timeout=definition.cell_timeout,
        report_mode=definition.report_mode,
        trigger=trigger,
        job_version=pinned.version,
        tags=definition.tags,
        source_path=definition.notebook,
        **options,
    )
