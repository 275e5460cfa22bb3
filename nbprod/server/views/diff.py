"""The diff page: two runs side by side (parameters, scraps, status, duration) and a
cell-level notebook diff, built on :func:`nbprod.diff.diff_runs` (nbdime alignment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbprod.server.browse_data import BrowseData
from nbprod.server.views.common import RunRow, doc, short_value


@dataclass
class ChangeRow:
    """A parameter or scrap that differs."""

    name: str = doc("Parameter or scrap name.")
    kind: str = doc("added, removed or changed.")
    a: str = doc("Value in run a, as text ('' when absent).")
    b: str = doc("Value in run b, as text ('' when absent).")
    delta: str | None = doc("b - a (and the relative change) for numbers.")


@dataclass
class CellRow:
    """A cell that differs, with a short unified diff of its source or outputs."""

    where: str = doc("Which cell: 'cell 3', 'cell 3 → 4', 'cell 5 (b)'.")
    kind: str = doc("added, removed or modified.")
    what: list[str] = doc("What changed: source, cell_type, tags, outputs.")
    lines: list[dict[str, str]] = doc("Diff lines: {'kind': add|del|hunk|ctx, 'text': ...}.")
    anchor_a: int | None = doc("Cell index in run a's output notebook (outputs diff).")
    anchor_b: int | None = doc("Cell index in run b's output notebook (outputs diff).")


@dataclass
class DiffContext:
    """The diff page."""

    a: RunRow = doc("The first (older) run.")
    b: RunRow = doc("The second run.")
    diff: dict[str, Any] = doc("RunDiff.to_dict(): the machine-readable comparison.")
    parameters: list[ChangeRow] = doc("Parameters that differ.")
    scraps: list[ChangeRow] = doc("Scraps that differ.")
    source_cells: list[CellRow] = doc("Input cells that differ (when the notebook changed).")
    output_cells: list[CellRow] = doc("Cells whose outputs differ.")
    output_keys: list[str | None] = doc("Output notebook keys of a and b.")


def build(service: BrowseData, run_a: str, run_b: str) -> DiffContext:
    from nbprod.diff import diff_runs

    a, b = service.run(run_a), service.run(run_b)
    result = diff_runs(service.store, a, b)
    return DiffContext(
        a=RunRow.of(a),
        b=RunRow.of(b),
        diff=result.to_dict(),
        parameters=[_change(c) for c in result.parameters],
        scraps=[_change(c) for c in result.scraps],
        source_cells=[_cell(c, False) for c in result.source_diff],
        output_cells=[_cell(c, True) for c in result.output_diff],
        output_keys=[a.artifacts.get("output"), b.artifacts.get("output")],
    )


def _change(change: Any) -> ChangeRow:
    delta = None
    if change.delta is not None:
        delta = f"{change.delta:+.6g}"
        if change.relative is not None:
            delta += f" ({change.relative * 100:+.1f}%)"
    return ChangeRow(
        name=change.name,
        kind=change.kind,
        a="" if change.kind == "added" else short_value(change.a, 200),
        b="" if change.kind == "removed" else short_value(change.b, 200),
        delta=delta,
    )


def _cell(change: Any, outputs: bool) -> CellRow:
    where = change.where
    lines = []
    for text in change.summary.splitlines():
        kind = "ctx"
        if text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "del"
        elif text.startswith("@@"):
            kind = "hunk"
        lines.append({"kind": kind, "text": text})
    return CellRow(
        where=where,
        kind=change.kind,
        what=list(change.what),
        lines=lines,
        anchor_a=change.index_a if outputs else None,
        anchor_b=change.index_b if outputs else None,
    )
