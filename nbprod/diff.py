"""Compare two runs: status, duration, parameters, scraps, input sources and outputs.

Notebooks are compared with nbdime on stripped copies: execution counts, cell ids, cell
metadata (papermill status and timings), error-marker cells and the injected-parameters
cell are removed first, so only real changes show. nbdime aligns the cells; the short
summaries are built here from the aligned cells, which are named by the numbers their
author knows them by (nbprod.cells).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from nbprod import cells
from nbprod.errors import StoreError
from nbprod.records import RunRecord
from nbprod.scraps import inline_value
from nbprod.store import Store

SNIPPET_LINES = 20
_SCRAP_MIME = "application/scrapbook.scrap."


@dataclass
class Change:
    name: str
    kind: Literal["added", "removed", "changed"]
    a: Any
    b: Any
    delta: float | None = None
    """``b - a`` for numeric values."""
    relative: float | None = None
    """``(b - a) / |a|`` for numeric values with ``a != 0``."""


@dataclass
class CellChange:
    index_a: int | None
    """The cell's position in a's notebook (its output notebook for an outputs change)."""
    index_b: int | None
    kind: Literal["added", "removed", "modified"]
    what: list[str]
    summary: str
    number_a: int | None = None
    """The cell's number in a, as its author counts it (nbprod.cells)."""
    number_b: int | None = None

    @property
    def where(self) -> str:
        """Which cell, by its author's numbers in both runs: ``cell 3``, ``cell 3 → 4``,
        ``cell 5 (b)``."""
        if self.kind == "added":
            return f"{cells.label(self.number_b)} (b)"
        if self.kind == "removed":
            return f"{cells.label(self.number_a)} (a)"
        if self.number_a == self.number_b:
            return cells.label(self.number_a)
        return f"{cells.label(self.number_a)} → {cells.label(self.number_b)}"


@dataclass
class RunDiff:
    a: RunRecord
    b: RunRecord
    status: tuple[str, str] | None
    duration: tuple[float | None, float | None, float | None]
    parameters: list[Change]
    scraps: list[Change]
    notebook_changed: bool
    source_diff: list[CellChange]
    output_diff: list[CellChange]
    error: tuple[dict | None, dict | None] | None
    missing: dict[str, str] = field(default_factory=dict)
    """``{"output"|"snapshot": message}`` for notebooks that could not be loaded."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": _run_summary(self.a),
            "b": _run_summary(self.b),
            "status": list(self.status) if self.status else None,
            "duration": list(self.duration),
            "parameters": [_jsonable(asdict(c)) for c in self.parameters],
            "scraps": [_jsonable(asdict(c)) for c in self.scraps],
            "notebook_changed": self.notebook_changed,
            "source_diff": [asdict(c) for c in self.source_diff],
            "output_diff": [asdict(c) for c in self.output_diff],
            "error": list(self.error) if self.error else None,
            "missing": dict(self.missing),
        }


def diff_runs(store: Store, a: RunRecord, b: RunRecord) -> RunDiff:
    missing: dict[str, str] = {}
    status = None if a.status == b.status else (a.status.value, b.status.value)
    delta = None
    if a.duration_s is not None and b.duration_s is not None:
        delta = round(b.duration_s - a.duration_s, 3)
    errors = (asdict(a.error) if a.error else None, asdict(b.error) if b.error else None)
    notebook_changed = a.notebook.sha256 != b.notebook.sha256

    source_diff: list[CellChange] = []
    if notebook_changed:
        snaps = [_load(store, r, "snapshot", "input snapshot", missing) for r in (a, b)]
        if snaps[0] is not None and snaps[1] is not None:
            source_diff = _source_changes(snaps[0], snaps[1])
    output_diff: list[CellChange] = []
    outs = [_load(store, r, "output", "output notebook", missing) for r in (a, b)]
    if outs[0] is not None and outs[1] is not None:
        output_diff = _output_changes(outs[0], outs[1])

    return RunDiff(
        a=a,
        b=b,
        status=status,
        duration=(a.duration_s, b.duration_s, delta),
        parameters=_changes(a.parameters, b.parameters),
        scraps=_changes(_scrap_values(a.scraps), _scrap_values(b.scraps)),
        notebook_changed=notebook_changed,
        source_diff=source_diff,
        output_diff=output_diff,
        error=None if errors == (None, None) else errors,
        missing=missing,
    )


# -- records ---------------------------------------------------------------------------


def _changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    changes = []
    for name in sorted(set(a) | set(b)):
        if name not in b:
            changes.append(Change(name, "removed", a[name], None))
        elif name not in a:
            changes.append(Change(name, "added", None, b[name]))
        elif a[name] != b[name] or type(a[name]) is not type(b[name]):
            change = Change(name, "changed", a[name], b[name])
            if _is_number(a[name]) and _is_number(b[name]):
                change.delta = b[name] - a[name]
                if a[name]:
                    change.relative = change.delta / abs(a[name])
            changes.append(change)
    return changes


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scrap_values(scraps: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for name, entry in scraps.items():
        inline, value = inline_value(entry)
        if inline:
            values[name] = value
        else:
            encoder = entry.get("encoder", "?") if isinstance(entry, dict) else "?"
            values[name] = f"<{encoder} scrap, not recorded inline>"
    return values


def _run_summary(record: RunRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "job": record.job,
        "status": record.status.value,
        "started_at": record.started_at,
        "duration_s": record.duration_s,
        "notebook": asdict(record.notebook),
        "artifacts": dict(record.artifacts),
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


# -- notebooks -------------------------------------------------------------------------


def _load(store: Store, record: RunRecord, artifact: str, what: str, missing: dict) -> Any:
    """The notebook behind ``record.artifacts[artifact]``, or None with a note in ``missing``."""
    import nbformat

    key = record.artifacts.get(artifact)
    try:
        if not key:
            raise KeyError(artifact)
        data = store.get(key)
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
        return nb
    except KeyError:
        message = f"{what} missing from store ({record.run_id}: {key or 'no key in record'})"
    except StoreError:
        raise  # an unreachable store is not an unreadable notebook
    except Exception as exc:  # nbformat raises several JSON/validation types
        message = (
            f"{what} unreadable, not a valid notebook (truncated or edited?) "
            f"({record.run_id}: {type(exc).__name__})"
        )
    missing[artifact] = f"{missing[artifact]}; {message}" if artifact in missing else message
    return None


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _source_cells(nb: Any) -> list[dict[str, Any]]:
    kept = []
    for cell in nb.get("cells", []):
        tags = cells.tags(cell)
        stripped = {"cell_type": cell.get("cell_type"), "source": _text(cell.get("source"))}
        stripped["metadata"] = {"tags": tags} if tags else {}
        if cell.get("cell_type") == "code":
            stripped["outputs"] = []  # nbdime's cell matching expects the key
        kept.append(stripped)
    return kept


def _output_cells(nb: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Cells with their outputs only, without nbprod's own (markers, injected parameters);
    original indices."""
    kept, indices = [], []
    for index, cell in enumerate(nb.get("cells", [])):
        if cells.is_own(cell):
            continue
        stripped = {"cell_type": cell.get("cell_type"), "source": _text(cell.get("source"))}
        if cell.get("cell_type") == "code":
            stripped["outputs"] = [_clean_output(o) for o in cell.get("outputs") or []]
        kept.append(stripped)
        indices.append(index)
    return kept, indices


def _clean_output(output: Any) -> dict[str, Any]:
    cleaned = {k: v for k, v in dict(output).items() if k not in ("execution_count", "transient")}
    if "text" in cleaned:
        cleaned["text"] = _text(cleaned["text"])
    if isinstance(cleaned.get("data"), dict):
        data = {}
        for mime, value in cleaned["data"].items():
            data[mime] = _text(value) if isinstance(value, (list, str)) else value
        cleaned["data"] = data
    return cleaned


def _align(cells_a: list[dict], cells_b: list[dict]) -> list[tuple[int | None, int | None]]:
    """Pairs of (index in a, index in b) that nbdime found added, removed or patched."""
    import nbformat
    from nbdime import diff_notebooks

    def notebook(stripped: list[dict]) -> Any:  # nbdime reads attributes: a NotebookNode
        nb = {"cells": stripped, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        return nbformat.from_dict(nb)

    ops: list[Any] = []
    for op in diff_notebooks(notebook(cells_a), notebook(cells_b)):
        if op["key"] == "cells" and op["op"] == "patch":
            ops = sorted(op["diff"], key=lambda o: (o["key"], o["op"] != "addrange"))
    pairs: list[tuple[int | None, int | None]] = []
    offset = 0
    i = 0
    while i < len(ops):
        op, key = ops[i], ops[i]["key"]
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        if op["op"] == "addrange":
            count = len(op["valuelist"])
            if nxt and nxt["op"] == "removerange" and nxt["key"] == key:
                # Cells nbdime could not match: pair a replacement as "modified".
                removed = nxt["length"]
                for n in range(max(count, removed)):
                    pairs.append(
                        (key + n if n < removed else None, key + offset + n if n < count else None)
                    )
                offset += count - removed
                i += 2
                continue
            pairs.extend((None, key + offset + n) for n in range(count))
            offset += count
        elif op["op"] == "removerange":
            pairs.extend((key + n, None) for n in range(op["length"]))
            offset -= op["length"]
        elif op["op"] == "patch":
            pairs.append((key, key + offset))
        i += 1
    return pairs


def _kind(ia: int | None, ib: int | None) -> Literal["added", "removed", "modified"]:
    return "added" if ia is None else "removed" if ib is None else "modified"


def _source_changes(nb_a: Any, nb_b: Any) -> list[CellChange]:
    cells_a, cells_b = _source_cells(nb_a), _source_cells(nb_b)
    numbers_a, numbers_b = cells.numbers(cells_a), cells.numbers(cells_b)
    changes = []
    for ia, ib in _align(cells_a, cells_b):
        ca = cells_a[ia] if ia is not None else {}
        cb = cells_b[ib] if ib is not None else {}
        what, lines = [], []
        if ca.get("cell_type") != cb.get("cell_type") and ca and cb:
            what.append("cell_type")
            lines.append(f"cell type: {ca['cell_type']} → {cb['cell_type']}")
        if ca.get("source") != cb.get("source"):
            what.append("source")
            lines += _unified(_lines(ca.get("source")), _lines(cb.get("source")))
        if ca.get("metadata") != cb.get("metadata") and ca and cb:
            what.append("tags")
            lines.append(f"tags: {cells.tags(ca)} → {cells.tags(cb)}")
        if what:
            number_a = numbers_a[ia] if ia is not None else None
            number_b = numbers_b[ib] if ib is not None else None
            change = CellChange(ia, ib, _kind(ia, ib), what, _clip(lines), number_a, number_b)
            changes.append(change)
    return changes


def notebook_changes(nb_a: Any, nb_b: Any) -> list[CellChange]:
    """The cells whose source, type or tags differ from ``nb_a`` to ``nb_b`` (notebook
    dicts), aligned by nbdime: what a job's drift shows."""
    return _source_changes(nb_a, nb_b)


def _output_changes(nb_a: Any, nb_b: Any) -> list[CellChange]:
    (cells_a, index_a), (cells_b, index_b) = _output_cells(nb_a), _output_cells(nb_b)
    changes = []
    for ia, ib in _align(cells_a, cells_b):
        outs_a = cells_a[ia].get("outputs", []) if ia is not None else []
        outs_b = cells_b[ib].get("outputs", []) if ib is not None else []
        if outs_a == outs_b:
            continue  # a source-only change: reported by source_diff
        summary = _output_summary(outs_a, outs_b)
        original_a = index_a[ia] if ia is not None else None
        original_b = index_b[ib] if ib is not None else None
        change = CellChange(original_a, original_b, _kind(ia, ib), ["outputs"], summary)
        # the kept cells are the author's, in order: the n-th is cell n
        change.number_a = ia + 1 if ia is not None else None
        change.number_b = ib + 1 if ib is not None else None
        changes.append(change)
    return changes


def _output_summary(outs_a: list[dict], outs_b: list[dict]) -> str:
    lines = _unified(_output_text(outs_a), _output_text(outs_b))
    rich_a, rich_b = _rich(outs_a), _rich(outs_b)
    for mime in sorted(set(rich_a) | set(rich_b)):
        if mime not in rich_a:
            lines.append(f"{mime} added")
        elif mime not in rich_b:
            lines.append(f"{mime} removed")
        elif rich_a[mime] != rich_b[mime]:
            lines.append(f"{mime} changed")
    return _clip(lines) or "output metadata changed"


def _output_text(outputs: list[dict]) -> list[str]:
    lines: list[str] = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            prefix = "[stderr] " if out.get("name") == "stderr" else ""
            lines += [prefix + line for line in _lines(out.get("text"))]
        elif kind == "error":
            lines.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
        else:
            data = out.get("data") or {}
            for mime, value in data.items():
                if mime.startswith(_SCRAP_MIME) and isinstance(value, dict):
                    shown = json.dumps(value.get("data"), default=repr, ensure_ascii=False)
                    lines.append(f"scrap {value.get('name')} = {short(shown)}")
            if "text/plain" in data:
                lines += _lines(data["text/plain"])
            elif data and not any(m.startswith(_SCRAP_MIME) for m in data):
                lines.append(f"[{sorted(data)[0]}]")
    return lines


def _rich(outputs: list[dict]) -> dict[str, list[Any]]:
    """Non-plain-text payloads per mimetype, in output order."""
    rich: dict[str, list[Any]] = {}
    for out in outputs:
        for mime, value in (out.get("data") or {}).items():
            if mime != "text/plain" and not mime.startswith(_SCRAP_MIME):
                rich.setdefault(mime, []).append(value)
    return rich


def _lines(text: Any) -> list[str]:
    return _text(text).splitlines()


def _unified(a: list[str], b: list[str]) -> list[str]:
    if a == b:
        return []
    body = list(difflib.unified_diff(a, b, lineterm="", n=2))[2:]
    hunks = [line for line in body if line.startswith("@@")]
    if len(hunks) <= 1:
        return [line for line in body if not line.startswith("@@")]
    return body


def _clip(lines: list[str], limit: int = SNIPPET_LINES) -> str:
    if len(lines) > limit:
        lines = lines[: limit - 1] + [f"... ({len(lines) - limit + 1} more lines)"]
    return "\n".join(lines)


def short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
