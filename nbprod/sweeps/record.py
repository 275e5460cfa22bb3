"""The stored sweep record: ``<store>/.nbprod/sweeps/<id>.json`` (``layout.sweep_key``),
written once, so a sweep survives a catalog rebuild; creating it queues the sweep's runs.

Each run is a normal queued run (one snapshot for all), tagged ``sweep:<id>``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nbprod.config import Settings
from nbprod.errors import BadInput
from nbprod.sweeps.plan import SweepPlan, jsonable

SCHEMA_VERSION = 1
TAG_PREFIX = "sweep:"
TRIGGER = "sweep"


def sweep_tag(sweep_id: str) -> str:
    return f"{TAG_PREFIX}{sweep_id}"


@dataclass
class SweepInfo:
    """The stored sweep: ``<store>/.nbprod/sweeps/<id>.json``, written once."""

    sweep_id: str
    created_at: str
    notebook: dict[str, Any]
    """``path``, ``name``, ``sha256`` (the snapshot every run executes)."""
    job: str
    store: str
    swept: list[str]
    grid: dict[str, Any]
    base: dict[str, Any]
    parameter_sets: list[dict[str, Any]]
    run_ids: list[str]
    max_parallel: int | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def tag(self) -> str:
        return sweep_tag(self.sweep_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "sweep_id": self.sweep_id,
            "created_at": self.created_at,
            "notebook": self.notebook,
            "job": self.job,
            "store": self.store,
            "swept": self.swept,
            "grid": self.grid,
            "base": self.base,
            "parameter_sets": self.parameter_sets,
            "run_ids": self.run_ids,
            "max_parallel": self.max_parallel,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepInfo:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def create_sweep(
    plan: SweepPlan,
    *,
    settings: Settings,
    job: str | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    max_parallel: int | None = None,
) -> SweepInfo:
    """Queue the plan's runs (validated again, all or none) and store the sweep record."""
    from nbprod.core.queueing import enqueue_notebook
    from nbprod.core.workspace import Workspace
    from nbprod.records import isoformat, new_run_id, utcnow
    from nbprod.store import layout

    created = utcnow()
    sweep_id = new_run_id(created)
    with Workspace(settings) as ws:
        requests = enqueue_notebook(
            ws,
            plan.notebook,
            [plan.parameters(i) for i in range(len(plan.sets))],
            job=job,
            kernel=kernel,
            cwd=cwd,
            timeout=timeout,
            cell_timeout=cell_timeout,
            tags=[sweep_tag(sweep_id)],
            trigger=TRIGGER,
        )
    first = requests[0]
    info = SweepInfo(
        sweep_id=sweep_id,
        created_at=isoformat(created),
        notebook={
            "path": str(first.notebook_path),
            "name": first.notebook_path.name,
            "sha256": first.sha256,
        },
        job=first.job,
        store=first.store.url,
        swept=list(plan.swept),
        grid=plan.grid,
        base=jsonable(plan.base),
        parameter_sets=jsonable(plan.sets),
        run_ids=[r.run_id for r in requests],
        max_parallel=max_parallel,
    )
    data = (json.dumps(info.to_dict(), indent=2, ensure_ascii=False) + "\n").encode()
    try:
        first.store.put(layout.sweep_key(sweep_id), data, "application/json")
    except BaseException:
        cancel_runs(info, settings=settings)  # queued runs without their sweep: drop them
        raise
    return info


def sweep_store(settings: Settings) -> Any:
    from nbprod.store import open_store

    return open_store(settings.store)


def get_sweep(sweep_id: str, *, settings: Settings) -> SweepInfo:
    """A sweep by id or unique id prefix, from the store."""
    from nbprod.store import layout
    from nbprod.store.base import check_key

    store = sweep_store(settings)
    if layout.is_sweep_id(sweep_id):
        key = layout.sweep_key(sweep_id)
    else:
        if not sweep_id or "/" in sweep_id:
            raise BadInput(f"invalid sweep id {sweep_id!r}")
        matches = [n for n in _sweep_ids(store) if n.startswith(sweep_id)]
        if len(matches) > 1:
            raise BadInput(f"sweep id prefix {sweep_id!r} is ambiguous ({len(matches)} sweeps)")
        if not matches:
            raise BadInput(f"no sweep {sweep_id!r} in {store.url}")
        key = layout.sweep_key(matches[0])
    try:
        data = store.get(check_key(key))
    except KeyError:
        raise BadInput(f"no sweep {sweep_id!r} in {store.url}") from None
    return SweepInfo.from_dict(json.loads(data))


def _sweep_ids(store: Any) -> Iterator[str]:
    from nbprod.store import layout

    for entry in store.list(layout.SWEEPS_PREFIX):
        sweep_id = None if entry.is_dir else layout.parse_sweep_name(entry.name)
        if sweep_id is not None:
            yield sweep_id


def list_sweeps(*, settings: Settings, limit: int | None = 20) -> list[SweepInfo]:
    """Sweeps in the store, newest first."""
    from nbprod.store import layout

    store = sweep_store(settings)
    ids = sorted(_sweep_ids(store), reverse=True)
    if limit:
        ids = ids[:limit]
    return [SweepInfo.from_dict(json.loads(store.get(layout.sweep_key(i)))) for i in ids]


def cancel_runs(info: SweepInfo, *, settings: Settings) -> int:
    """Cancel the sweep's queued runs and ask the workers of running ones to stop them."""
    from nbprod.catalog import open_catalog
    from nbprod.catalog.queue import DONE, Queue, utcnow
    from nbprod.catalog.sweeps import queue_states

    catalog = open_catalog(settings)
    try:
        queue = Queue(catalog)
        states = queue_states(catalog, info.store, info.run_ids)
        count = 0
        for run_id, (state, _) in states.items():
            if state not in (DONE, "cancelled"):
                queue.request_cancel(info.store, run_id, utcnow())
                count += 1
        return count
    finally:
        catalog.close()
