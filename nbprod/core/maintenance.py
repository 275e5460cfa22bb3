"""Keeping a store and its catalog in shape: retention (gc), catalog sync and rebuild,
publishing the spool.

The catalog is only an index of the store, so every operation here can be repeated; a
deletion interrupted half-way is completed by the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbprod.core.workspace import Workspace


@dataclass
class FlushResult:
    run_id: str
    store: str
    published: bool
    error: str | None = None


def flush_spool(ws: Workspace, *, run_ids: Sequence[str] = ()) -> list[FlushResult]:
    """Publish runs kept in the local spool because their store was unreachable (each to
    the store its manifest names, which need not be this workspace's)."""
    from nbprod import spool
    from nbprod.errors import StoreError
    from nbprod.store import open_store

    settings = ws.settings
    results = []
    for folder, manifest in spool.pending(Path(settings.spool_dir)):
        if run_ids and manifest.run_id not in run_ids:
            continue
        try:
            spool.publish(
                open_store(manifest.store),
                folder,
                attempts=settings.upload_attempts,
                backoff=settings.upload_backoff,
            )
        except StoreError as exc:
            results.append(FlushResult(manifest.run_id, manifest.store, False, str(exc)))
            continue
        results.append(FlushResult(manifest.run_id, manifest.store, True))
    return results


def gc(
    ws: Workspace,
    *,
    job: str | None = None,
    keep_last: int | None = None,
    older_than: str | None = None,
    dry_run: bool = True,
    notes: list[str] | None = None,
) -> list[Any]:
    """Apply a retention policy per job; each job's own ``retention`` when none is given.

    Returns one GcPlan per job; deletes only when ``dry_run`` is False. A run that cannot
    be deleted whole is skipped (``GcPlan.skipped``); ``notes`` collects leftovers and
    interrupted deletions completed, one line each.
    """
    from nbprod.catalog.query import RunFilter
    from nbprod.durations import parse_duration
    from nbprod.errors import DeleteRefused
    from nbprod.jobs.model import JobDefinition
    from nbprod.retention import GcPlan, delete_run, finish_deletions, plan_delete, plan_gc

    store = ws.store
    age_days = parse_duration(older_than, "--older-than") / 86400 if older_than else None
    catalog = ws.catalog
    policies: dict[str, tuple[int | None, float | None]] = {}
    defined = {s.name: s for s in catalog.jobs(store.url)}
    names = (
        [job]
        if job
        else sorted({r.job for r in catalog.query_runs(store.url, RunFilter(limit=None))})
    )
    for name in names:
        if keep_last is not None or age_days is not None:
            policies[name] = (keep_last, age_days)
        elif name in defined:
            retention = JobDefinition.from_dict(defined[name].definition).retention
            if retention.keep_last is not None or retention.older_than_days is not None:
                policies[name] = (retention.keep_last, retention.older_than_days)
    plans = []
    found = notes if notes is not None else []
    if dry_run:
        found += [
            f"an interrupted deletion of {prefix} is pending: `nbprod gc` completes it"
            for prefix in store.unfinished_removals()
        ]
    else:
        found += finish_deletions(store, catalog)
    for name, (keep, days) in policies.items():
        runs = catalog.query_runs(store.url, RunFilter(job=name, limit=None))
        kept, doomed = plan_gc(runs, keep_last=keep, older_than_days=days)
        plan = GcPlan(name, kept, doomed)
        plans.append(plan)
        if not dry_run:
            for record in doomed:
                try:  # a run that cannot go whole is skipped, complete and listed
                    found += delete_run(store, catalog, record, plan_delete(store, record))
                except DeleteRefused as exc:
                    plan.skipped.append(str(exc))
    return plans


def catalog_sync(ws: Workspace, *, full: bool = False) -> Any:
    """Index what is in the store but not in the catalog (e.g. runs from other machines)."""
    from nbprod.catalog.sync import sync

    return sync(ws.catalog, ws.store, full=full)


def catalog_rebuild(ws: Workspace) -> Any:
    """Re-index this store from scratch: the catalog is only ever an index of the store."""
    from nbprod.catalog.sync import rebuild

    return rebuild(ws.catalog, ws.store)
