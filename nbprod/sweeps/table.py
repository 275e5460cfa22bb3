"""A sweep's results table: one row per run, its swept parameters, status, duration and
scraps as columns; sortable, as CSV or JSON, and as points for a chart.

Built from the catalog (runs tagged ``sweep:<id>``); runs the catalog does not know yet
come from the queue, else from their ``run.json`` in the store.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from nbprod.config import Settings
from nbprod.errors import BadInput
from nbprod.sweeps.record import SweepInfo, get_sweep, sweep_store

FIXED_COLUMNS = ("run_id", "status", "duration_s", "error")


@dataclass
class SweepRow:
    index: int
    run_id: str
    parameters: dict[str, Any]
    status: str
    duration_s: float | None
    scraps: dict[str, Any]
    """Inline scrap values; scraps stored only by reference (large, non-JSON) are None."""
    error: str | None = None
    output: str | None = None
    """Where the output notebook is (path or s3:// URL); None if the run never started."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "run_id": self.run_id,
            "parameters": self.parameters,
            "status": self.status,
            "duration_s": self.duration_s,
            "scraps": self.scraps,
            "error": self.error,
            "output": self.output,
        }


@dataclass
class SweepTable:
    """One row per run of a sweep: its swept parameters, status, duration and scraps."""

    sweep: SweepInfo
    parameter_names: list[str]
    scrap_names: list[str]
    rows: list[SweepRow]

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def scrap_column(self, name: str) -> str:
        """A scrap's column name in flat output: ``scrap.NAME`` when it would clash."""
        clash = name in FIXED_COLUMNS or name in map(self.param_column, self.parameter_names)
        return f"scrap.{name}" if clash else name

    def param_column(self, name: str) -> str:
        """A parameter's column name in flat output: ``param.NAME`` when it would clash."""
        return f"param.{name}" if name in FIXED_COLUMNS else name

    def columns(self) -> list[str]:
        return [
            "run_id",
            *[self.param_column(n) for n in self.parameter_names],
            "status",
            "duration_s",
            *[self.scrap_column(n) for n in self.scrap_names],
            "error",
        ]

    def records(self) -> list[dict[str, Any]]:
        """Flat rows keyed by :meth:`columns`."""
        flat = []
        for row in self.rows:
            values: dict[str, Any] = {"run_id": row.run_id}
            values.update(
                {self.param_column(n): row.parameters.get(n) for n in self.parameter_names}
            )
            values["status"] = row.status
            values["duration_s"] = row.duration_s
            values.update({self.scrap_column(n): row.scraps.get(n) for n in self.scrap_names})
            values["error"] = row.error
            flat.append(values)
        return flat

    def to_dict(self) -> dict[str, Any]:
        return {
            "sweep": self.sweep.to_dict(),
            "parameters": self.parameter_names,
            "scraps": self.scrap_names,
            "counts": self.counts,
            "rows": [row.to_dict() for row in self.rows],
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = self.columns()
        writer.writerow(columns)
        for values in self.records():
            writer.writerow([_csv_value(values[c]) for c in columns])
        return out.getvalue()

    def sorted_by(self, key: str, *, descending: bool = False) -> SweepTable:
        """Rows sorted by a scrap, parameter, ``status``, ``duration_s`` or ``run_id``;
        runs without a value come last either way."""
        getter = self._getter(key)
        present = [r for r in self.rows if getter(r) is not None]
        absent = [r for r in self.rows if getter(r) is None]
        present.sort(key=lambda r: _sort_key(getter(r)), reverse=descending)
        return replace(self, rows=present + absent)

    def _getter(self, key: str) -> Callable[[SweepRow], Any]:
        name = key[len("scrap.") :] if key.startswith("scrap.") else key
        if name in self.scrap_names:
            return lambda row: row.scraps.get(name)
        pname = key[len("param.") :] if key.startswith("param.") else key
        if pname in self.parameter_names:
            return lambda row: row.parameters.get(pname)
        if key in ("duration", "duration_s"):
            return lambda row: row.duration_s
        if key in ("status", "run_id", "index", "error"):
            return lambda row: getattr(row, key)
        known = ", ".join([*self.scrap_names, *self.parameter_names, "status", "duration_s"])
        raise BadInput(f"cannot sort by {key!r}: no such scrap or column (known: {known})")

    def points(self, x: str, y: str) -> list[tuple[Any, Any, str]]:
        """``(x, y, run_id)`` for runs that have both values: a scrap against a parameter,
        for a chart."""
        gx, gy = self._getter(x), self._getter(y)
        return [(gx(r), gy(r), r.run_id) for r in self.rows if None not in (gx(r), gy(r))]


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool | int | float):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True))


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def sweep_table(sweep_id: str, settings: Settings | None = None) -> SweepTable:
    """The results table of a sweep, built from the catalog (runs tagged ``sweep:<id>``).

    Runs the catalog does not know (not started yet, or indexed elsewhere) come from the
    queue, else from their ``run.json`` in the store.
    """
    from nbprod.catalog import open_catalog
    from nbprod.catalog.query import RunFilter
    from nbprod.catalog.sweeps import queue_states
    from nbprod.records import RunRecord
    from nbprod.store import layout

    settings = settings or Settings.load()
    info = get_sweep(sweep_id, settings=settings)
    store = sweep_store(settings)
    catalog = open_catalog(settings)
    try:
        records = {
            r.run_id: r for r in catalog.query_runs(info.store, RunFilter(tag=info.tag, limit=None))
        }
        unknown = [r for r in info.run_ids if r not in records]
        states = queue_states(catalog, info.store, unknown) if unknown else {}
    finally:
        catalog.close()
    rows: list[SweepRow] = []
    scrap_names: dict[str, None] = {}
    for index, run_id in enumerate(info.run_ids):
        parameters = {n: info.parameter_sets[index].get(n) for n in info.swept}
        record = records.get(run_id)
        if record is None and run_id not in states:
            try:
                record = RunRecord.from_json(store.get(layout.record_key(info.job, run_id)))
            except KeyError:
                record = None
        if record is None:
            state, final = states.get(run_id, ("missing", None))
            status = final or state
            error = "never started" if state in ("done", "cancelled") else None
            rows.append(SweepRow(index, run_id, parameters, status, None, {}, error))
            continue
        # What the run really used: a name missing from a list-form set has its default.
        parameters = {n: record.parameters.get(n, parameters[n]) for n in info.swept}
        scraps = {name: entry.get("value") for name, entry in record.scraps.items()}
        scrap_names.update(dict.fromkeys(scraps))
        output_key = record.artifacts.get("output")
        rows.append(
            SweepRow(
                index,
                run_id,
                parameters,
                record.status.value,
                record.duration_s,
                scraps,
                record.error.line if record.error else None,
                store.location(output_key) if output_key else None,
            )
        )
    return SweepTable(info, list(info.swept), list(scrap_names), rows)
