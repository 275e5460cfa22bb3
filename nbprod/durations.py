"""Durations as people write them: ``90``, ``90s``, ``30m``, ``12h``, ``7d``, ``2w``."""

from __future__ import annotations

import math
import re

from nbprod.errors import BadInput, brief

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
MAX_SECONDS = 100 * 365 * 86400.0
"""A century. Longer is a typo (or ``1e308``); it would also overflow the timers that wait
for it (``threading`` refuses waits past ~292 years)."""


def parse_duration(value: object, what: str = "duration") -> float:
    """Seconds from a number or a string with a unit; BadInput on anything else (also NaN,
    infinity, negative and more than MAX_SECONDS)."""
    if isinstance(value, bool):
        raise BadInput(f"{what} must be a duration like 90, 30m, 12h or 7d, got {brief(value)}")
    if isinstance(value, int | float):
        seconds = float(value) if abs(value) <= MAX_SECONDS else math.inf  # no OverflowError
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise BadInput(f"{what} must be a duration like 90, 30m, 12h or 7d, got {brief(value)}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return check_seconds(seconds, what, value)


def format_duration(seconds: float | None) -> str:
    """Seconds as people write them back: ``1800`` → ``30m``, ``5400`` → ``1h30m``,
    ``90`` → ``1m30s``, ``0.5`` → ``0.5s``; ``-`` for none. (``parse_duration`` reads each of
    its single-unit forms back.)"""
    if seconds is None:
        return "-"
    if seconds != int(seconds) or seconds < 60:
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def check_seconds(seconds: float, what: str, shown: object = None) -> float:
    """``seconds`` if it is a finite, non-negative number of at most MAX_SECONDS."""
    shown = seconds if shown is None else shown
    if not math.isfinite(seconds):
        raise BadInput(f"{what} must be a finite number of seconds, got {brief(shown)}")
    if seconds < 0:
        raise BadInput(f"{what} must not be negative, got {brief(shown)}")
    if seconds > MAX_SECONDS:
        raise BadInput(
            f"{what} must be at most {MAX_SECONDS:.0f} seconds (100 years), got {brief(shown)}"
        )
    return seconds


def positive_seconds(value: object, what: str) -> float:
    """A finite number of seconds > 0 (``0.5`` too); BadInput for 0, negatives, nan, inf."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{what} must be a positive number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise BadInput(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)
