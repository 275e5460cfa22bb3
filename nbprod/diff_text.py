"""A run comparison (``diff.RunDiff``) as text for a terminal: `nbprod runs diff`."""

from __future__ import annotations

from typing import Any

from nbprod import cells
from nbprod.diff import CellChange, RunDiff, short


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def line(self, text: str) -> str:
        if text.startswith("+"):
            return self("32", text)
        if text.startswith("-"):
            return self("31", text)
        if text.startswith("@@"):
            return self("36", text)
        return text


def _value(value: Any) -> str:
    return short(repr(value))


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f} s"


def _number(value: float) -> str:
    return f"{value:+.6g}"


def render_text(d: RunDiff, color: bool = False) -> str:
    s = _Style(color)
    out = []
    for side, r in (("a", d.a), ("b", d.b)):
        out.append(f"{s('1', side)}: {r.run_id}  job {r.job}  {r.status.value}")
    if d.status:
        out.append(f"status: {s('33', f'{d.status[0]} → {d.status[1]}')}")
    else:
        out.append(f"status: {d.a.status.value} (same)")
    da, db, dd = d.duration
    change = f" ({dd:+.2f} s)" if dd is not None else ""
    out.append(f"duration: {_seconds(da)} → {_seconds(db)}{change}")

    for title, changes in (("Parameters", d.parameters), ("Scraps", d.scraps)):
        out.append("")
        if not changes:
            out.append(f"no differences in {title.lower()}")
            continue
        out.append(s("1", f"{title}:"))
        for c in changes:
            a = "(absent)" if c.kind == "added" else _value(c.a)
            b = "(absent)" if c.kind == "removed" else _value(c.b)
            extra = ""
            if c.delta is not None:
                rel = f", {c.relative * 100:+.1f}%" if c.relative is not None else ""
                extra = f" (Δ {_number(c.delta)}{rel})"
            out.append(f"  {c.name}: {s('31', a)} → {s('32', b)}{extra}")

    out.append("")
    if not d.notebook_changed:
        out.append(f"{s('1', 'Notebook:')} same input notebook")
    else:
        sha_a, sha_b = d.a.notebook.sha256[:12], d.b.notebook.sha256[:12]
        out.append(f"{s('1', 'Notebook:')} input changed ({sha_a} → {sha_b})")
        if "snapshot" in d.missing:
            out.append(f"  {d.missing['snapshot']}")
        elif not d.source_diff:
            out.append("  no differences in cell sources")
        out += _render_cells(d.source_diff, s)

    out.append("")
    if "output" in d.missing:
        out.append(f"{s('1', 'Outputs:')} {d.missing['output']}")
    elif not d.output_diff:
        out.append("no differences in outputs")
    else:
        out.append(s("1", "Outputs:"))
        out += _render_cells(d.output_diff, s)

    if d.error:
        out += ["", s("1", "Error:")]
        for side, err in zip("ab", d.error, strict=True):
            text = "none"
            if err:
                text = f"{err['ename']}: {short(err['evalue'])}"
                if err.get("cell_index") is not None:
                    text += f" ({cells.label(err.get('cell_number'))})"
            out.append(f"  {side}: {text}")
    return "\n".join(out) + "\n"


def _render_cells(changes: list[CellChange], s: _Style) -> list[str]:
    out = []
    for c in changes:
        out.append(f"  {c.where} {c.kind} ({', '.join(c.what)}):")
        out += [f"    {s.line(line)}" for line in c.summary.splitlines()]
    return out
