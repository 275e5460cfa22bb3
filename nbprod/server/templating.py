"""The Jinja environment of the browse pages: autoescaped, with a few display filters."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from nbprod.records import parse_iso
from nbprod.server.axis import human


def make_environment(paths: Sequence[str]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(list(paths)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "duration": duration,
            "when": when,
            "pct": pct,
            "size": size,
            "short": short,
            "num": lambda value: human(value) if isinstance(value, (int, float)) else value,
            "exact": exact,
            "q": lambda value: quote(str(value), safe=""),
            "qpath": lambda value: quote(str(value), safe="/"),
            "js": lambda value: json.dumps(value, ensure_ascii=False, default=repr),
        }
    )
    return env


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def when(iso: str | None) -> str:
    if not iso:
        return "–"
    try:
        moment = parse_iso(iso)
    except ValueError:
        return iso
    if moment.utcoffset():
        return moment.strftime("%Y-%m-%d %H:%M %Z").strip()
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def size(value: int | None) -> str:
    if value is None:
        return ""
    number = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if number < 1024 or unit == "GB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return f"{value} B"


def exact(value: Any) -> str:
    """A number as a table cell or tooltip shows it: grouped digits, six significant digits
    for fractions, no scientific notation between 1e-4 and 1e15."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value) or (value and not 1e-4 <= abs(value) < 1e15):
        return f"{value:.6g}"
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    decimals = max(0, 5 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".")


def short(value: Any, width: int = 60) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return exact(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= width else text[: width - 1] + "…"
