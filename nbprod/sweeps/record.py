"""The stored sweep record: ``<store>/.nbprod/sweeps/<id>.json`` (``layout.sweep_key``),
written once, so a sweep survives a catalog rebuild (``nbprod.core.sweeps`` creates it).

Each run is a normal queued run (one snapshot for all), tagged ``sweep:<id>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nbprod.config import Settings
from nbprod.errors import BadInput, NotFound

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


def store_sweep(info: SweepInfo, store: Any, settings: Settings) -> None:
    """Write the sweep record once; if that fails, cancel its queued runs (runs without
    their sweep would be orphans) and raise."""
    from nbprod.store import layout

    data = (json.dumps(info.to_dict(), indent=2, ensure_ascii=False) + "\n").encode()
    try:
        store.put(layout.sweep_key(info.sweep_id), data, "application/json")
    except BaseException:
        cancel_runs(info, settings=settings)
        raise


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
            raise NotFound(f"no sweep {sweep_id!r} in {store.url}")
        key = layout.sweep_key(matches[0])
    try:
        data = store.get(check_key(key))
    except KeyError:
        raise NotFound(f"no sweep {sweep_id!r} in {store.url}") from None
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
