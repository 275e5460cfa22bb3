"""Read scraps recorded with scrapbook's ``glue`` from an executed notebook.

Parsed from the output mimetypes directly: importing scrapbook pulls in pandas and
pyarrow, and its dataframe reader breaks on pandas >= 2.
"""

from __future__ import annotations

import json
from typing import Any

_PREFIX = "application/scrapbook.scrap."
INLINE_LIMIT = 64 * 1024
"""Scraps larger than this (as JSON) are recorded by name and encoder only."""


def extract_scraps(nb: Any) -> dict[str, dict[str, Any]]:
    """``{name: {"encoder": ..., "value": ...}}``; the last glue of a name wins."""
    scraps: dict[str, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            for mime, payload in data.items():
                if not mime.startswith(_PREFIX) or not isinstance(payload, dict):
                    continue
                name = payload.get("name")
                if not isinstance(name, str):
                    continue
                encoder = payload.get("encoder", mime[len(_PREFIX) :].split("+")[0])
                scraps[name] = _entry(encoder, payload.get("data"))
            display_name = (output.get("metadata") or {}).get("scrapbook", {}).get("name")
            if (
                display_name
                and display_name not in scraps
                and not any(m.startswith(_PREFIX) for m in data)
            ):
                scraps[display_name] = {"encoder": "display", "inline": False}
    return scraps


def inline_value(entry: Any) -> tuple[bool, Any]:
    """``(True, value)`` for a scrap recorded inline, ``(False, None)`` otherwise (too big,
    a display, or a record edited by hand)."""
    if isinstance(entry, dict) and entry.get("inline") and "value" in entry:
        return True, entry["value"]
    return False, None


def inline_values(scraps: Any) -> dict[str, Any]:
    """Scrap name → value for the scraps a record holds inline."""
    values = {}
    for name, entry in (scraps or {}).items():
        inline, value = inline_value(entry)
        if inline:
            values[name] = value
    return values


def _entry(encoder: str, value: Any) -> dict[str, Any]:
    if encoder in ("json", "text"):
        try:
            size = len(json.dumps(value, ensure_ascii=False))
        except (TypeError, ValueError):
            size = INLINE_LIMIT + 1
        if size <= INLINE_LIMIT:
            return {"encoder": encoder, "inline": True, "value": value}
    return {"encoder": encoder, "inline": False}
