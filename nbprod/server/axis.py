"""Chart axes: "nice" tick values that fit the data, and short human labels for them.

Pure functions (no SVG, no templates), so the rules are tested fast and in process:
- ticks are 1, 2, 2.5 or 5 times a power of ten and cover the data;
- an axis never goes below zero for data that does not (a count of orders was drawn from
  -23.95), and starts at zero when the data's minimum is less than half its maximum (zero
  then costs at most half the height and makes the magnitudes comparable); data bunched far
  from zero (an accuracy of 0.80-0.83) keeps an axis that shows its changes;
- labels use k, M, G, T, never scientific notation (``1.333e+05`` was cut off on the left),
  with one unit and as many decimals as the step needs, so neighbouring labels differ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
MAX_DECIMALS = 12


@dataclass(frozen=True)
class Axis:
    """A value axis: its range (the first and last tick) and its ticks."""

    lo: float
    hi: float
    step: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]


def nice_step(span: float, count: int) -> float:
    """The nice step (1, 2, 2.5 or 5 x 10^n) giving about ``count`` intervals over ``span``."""
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in STEPS:
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power


def nice_axis(low: float, high: float, count: int = 4) -> Axis:
    """Ticks covering ``[low, high]`` with about ``count`` intervals (see the module doc)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("axis bounds must be finite")
    low, high = min(low, high), max(low, high)
    if high == low:  # one value (or all equal): from zero to it
        low, high = (0.0, high) if high > 0 else (low, 0.0) if low < 0 else (0.0, 1.0)
    elif low >= 0 and low < high / 2:
        low = 0.0
    elif high <= 0 and high > low / 2:
        high = 0.0
    step = nice_step(high - low, count)
    lo = math.floor(low / step + 1e-9) * step
    hi = math.ceil(high / step - 1e-9) * step
    if hi <= lo:
        hi = lo + step
    n = round((hi - lo) / step)
    ticks = tuple(_clean(lo + i * step) for i in range(n + 1))
    return Axis(ticks[0], ticks[-1], step, ticks, tick_labels(ticks, step))


def _clean(value: float) -> float:
    """Float noise off a tick (0.30000000000000004 -> 0.3; -0.0 -> 0.0)."""
    cleaned = float(f"{value:.12g}")
    return 0.0 if cleaned == 0 else cleaned


def unit_for(values: Sequence[float]) -> tuple[float, str]:
    """The one divisor and suffix for a set of labels, from the largest magnitude."""
    biggest = max((abs(v) for v in values), default=0.0)
    for divisor, suffix in UNITS:
        if biggest >= divisor:
            return divisor, suffix
    return 1.0, ""


def decimals_for(step: float) -> int:
    """Decimals that tell ticks ``step`` apart (2.5 needs one, 0.25 two)."""
    if step <= 0 or not math.isfinite(step):
        return 0
    for decimals in range(MAX_DECIMALS + 1):
        if abs(round(step, decimals) - step) <= abs(step) * 1e-9:
            return decimals
    return MAX_DECIMALS


def tick_labels(ticks: Sequence[float], step: float) -> tuple[str, ...]:
    """Labels for evenly spaced ticks: one unit (k, M, ...), as many decimals as needed."""
    divisor, suffix = unit_for(ticks)
    decimals = decimals_for(step / divisor)
    return tuple(_fixed(v / divisor, decimals) + (suffix if v else "") for v in ticks)


def human(value: float, digits: int = 3) -> str:
    """One number, short: ``133.3k``, ``1.25M``, ``0.812``, ``-23``; never ``e+``.

    ``digits`` significant digits at most (trailing zeros dropped).
    """
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    rounded = round(value, digits - 1 - magnitude)  # 999.99 is 1k, not 1000
    divisor, suffix = unit_for([rounded])
    scaled = rounded / divisor
    magnitude = math.floor(math.log10(abs(scaled)))
    decimals = min(MAX_DECIMALS, max(0, digits - 1 - magnitude))
    text = _fixed(scaled, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("0", "-0"):  # smaller than MAX_DECIMALS can show
        return "0"
    return text + suffix


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text
