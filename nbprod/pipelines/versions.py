"""Pipelines in the store: apply a definition as a new immutable version (every step's
notebook snapshot pinned), read versions back.

Like jobs (``jobs/versions.py``): ``.nbprod/pipelines/<name>/v000001.json`` holds each
version, ``.nbprod/notebooks/<sha256>.ipynb`` each snapshot; a re-apply of the same
definition and notebooks creates nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nbprod.errors import BadInput, CorruptData, NotFound
from nbprod.jobs.versions import VersionConflict
from nbprod.pipelines.model import PinnedStep, PipelineDefinition, PipelineVersion
from nbprod.records import isoformat, utcnow
from nbprod.store import Store, layout


class PipelineNotFound(NotFound):
    """No pipeline (or no such version) in the store."""


@dataclass
class ApplyResult:
    version: PipelineVersion
    created: bool
    """False when the definition and every pinned notebook were unchanged."""
    store: str
    first_created_at: str = ""
    """When version 1 was applied (the catalog's row: no scheduled fire before it)."""


def store_versions(store: Store, pipeline: str) -> list[PipelineVersion]:
    """Every version of a pipeline, ascending, read from the store."""
    prefix = layout.pipeline_versions_prefix(pipeline)
    versions = []
    for entry in store.list(prefix):
        if entry.is_dir or layout.parse_job_version_name(entry.name) is None:
            continue
        key = f"{prefix}/{entry.name}"
        try:
            versions.append(PipelineVersion.from_dict(json.loads(store.get(key))))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # every face reports one line (the browse UI a 502) instead of a traceback
            why = f"{type(exc).__name__}: {exc}"[:100]
            raise CorruptData(f"pipeline version {key} is corrupt ({why})") from None
    return sorted(versions, key=lambda v: v.version)


def read_paused(store: Store, pipeline: str) -> bool:
    """The pause state in the store (a pipeline never paused has none: active)."""
    try:
        return bool(json.loads(store.get(layout.pipeline_state_key(pipeline))).get("paused"))
    except (KeyError, ValueError, AttributeError):
        return False


def write_paused(store: Store, pipeline: str, paused: bool) -> None:
    state = {"paused": bool(paused), "updated_at": isoformat(utcnow())}
    store.put(layout.pipeline_state_key(pipeline), json.dumps(state).encode(), "application/json")


def index_latest(
    catalog: Any, store: Store, latest: PipelineVersion, first_created_at: str
) -> None:
    """The catalog's row of a pipeline from its latest version, when its first was applied,
    and its pause state in the store."""
    from nbprod.catalog.pipelines import index_pipeline

    index_pipeline(
        catalog,
        store.url,
        latest.pipeline,
        latest.version,
        latest.definition.to_dict(),
        created_at=first_created_at,
        updated_at=latest.created_at,
        paused=read_paused(store, latest.pipeline),
    )


def pipeline_names(store: Store) -> list[str]:
    """Pipelines with at least one version file, sorted."""
    names = []
    for entry in store.list(layout.PIPELINES_PREFIX):
        if entry.is_dir:
            try:
                layout.check_job_name(entry.name)
            except BadInput:  # a folder that is no pipeline's
                continue
            names.append(entry.name)
    return sorted(names)


def get_version(store: Store, pipeline: str, version: int | None = None) -> PipelineVersion:
    """Version ``version`` of a pipeline (default: the latest); PipelineNotFound."""
    versions = store_versions(store, layout.check_job_name(pipeline))
    if not versions:
        raise PipelineNotFound(
            f"no pipeline {pipeline!r} in {store.url} (see `nbprod pipelines list`)"
        )
    if version is None:
        return versions[-1]
    for candidate in versions:
        if candidate.version == version:
            return candidate
    raise PipelineNotFound(f"pipeline {pipeline!r} has no version {version}")


def describe_changes(
    old: PipelineVersion | None, new: PipelineDefinition, pinned: dict[str, PinnedStep]
) -> list[str]:
    """What a new version changes, one line each (``step train: retries: 0 → 2``)."""
    if old is None:
        return ["created"]
    changes: list[str] = []
    before, after = old.definition.to_dict(), new.to_dict()
    for key in sorted(set(before) | set(after)):
        if key != "steps" and before.get(key) != after.get(key):
            changes.append(f"{key}: {_show(before.get(key))} → {_show(after.get(key))}")
    old_steps = {s["name"]: s for s in before["steps"]}
    new_steps = {s["name"]: s for s in after["steps"]}
    for name in old_steps.keys() - new_steps.keys():
        changes.append(f"step {name}: removed")
    for name, step in new_steps.items():
        if name not in old_steps:
            changes.append(f"step {name}: added")
            continue
        was = old_steps[name]
        for key in step:
            if step[key] != was.get(key):
                changes.append(f"step {name}: {key}: {_show(was.get(key))} → {_show(step[key])}")
        old_pin, new_pin = old.pinned.get(name), pinned[name]
        if old_pin is None or old_pin.notebook_sha256 != new_pin.notebook_sha256:
            old_sha = old_pin.notebook_sha256[:12] if old_pin else "-"
            changes.append(
                f"step {name}: notebook: pinned a new snapshot "
                f"({old_sha} → {new_pin.notebook_sha256[:12]})"
            )
    if [s["name"] for s in before["steps"]] != list(new_steps) and not changes:
        changes.append("steps: reordered")
    return changes


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def apply(
    definition: PipelineDefinition, store: Store, checked: dict[str, tuple[bytes, PinnedStep]]
) -> ApplyResult:
    """Store a new version if the definition or a step's notebook changed."""
    pinned = {name: pin for name, (_, pin) in checked.items()}
    versions = store_versions(store, definition.name)
    previous = versions[-1] if versions else None
    if previous and previous.definition == definition and previous.pinned == pinned:
        return ApplyResult(previous, False, store.url, versions[0].created_at)
    for data, pin in checked.values():
        store.put_if_absent(layout.snapshot_key(pin.notebook_sha256), data, "application/json")
    version = PipelineVersion(
        pipeline=definition.name,
        version=(previous.version + 1) if previous else 1,
        created_at=isoformat(utcnow()),
        definition=definition,
        pinned=pinned,
        changes=describe_changes(previous, definition, pinned),
    )
    key = layout.pipeline_version_key(definition.name, version.version)
    data = json.dumps(version.to_dict(), indent=2, ensure_ascii=False).encode()
    if not store.put_if_absent(key, data, "application/json"):
        raise VersionConflict(
            f"version {version.version} of pipeline {definition.name!r} was created "
            "concurrently; run apply again"
        )
    first = versions[0] if versions else version
    return ApplyResult(version, True, store.url, first.created_at)
