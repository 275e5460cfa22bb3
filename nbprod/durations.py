"""Durations as people write them: ``90``, ``90s``, ``30m``, ``12h``, ``7d``, ``2w``."""

from __future__ import annotations

import math
import re

from nbprod.errors import BadInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(value: object, what: str = "duration") -> float:
    """Seconds from a number or a string with a unit; BadInput on anything else."""
    if isinstance(value, bool):
        raise BadInput(f"{what} must be a duration like 90, 30m, 12h or 7d, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise BadInput(f"{what} must be a duration like 90, 30m, 12h or 7d, got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 0:
        raise BadInput(f"{what} must not be negative, got {value!r}")
    return seconds


def positive_seconds(value: object, what: str) -> float:
    """A finite number of seconds > 0 (``0.5`` too); BadInput for 0, negatives, nan, inf."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{what} must be a positive number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise BadInput(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)
