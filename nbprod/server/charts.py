"""Small line charts drawn as inline SVG on the server (no JavaScript, no library).

A chart is computed here as coordinates; the ``_chart.html`` partial draws it, so every
label goes through the template's escaping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nbprod.records import RunRecord
from nbprod.server.views.common import doc, inline_scraps

WIDTH, HEIGHT = 560, 160
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 12, 10, 22
MAX_CHARTS = 8


@dataclass
class ChartPoint:
    """One run on a chart."""

    run_id: str = doc("The run the value comes from.")
    started_at: str | None = doc("When the run started (ISO 8601 UTC).")
    value: float = doc("The plotted value.")
    status: str = doc("The run's status.")
    x: float = doc("Horizontal position in the SVG.")
    y: float = doc("Vertical position in the SVG.")


@dataclass
class Chart:
    """A numeric scrap (or the duration) over time across runs, oldest left."""

    name: str = doc("What is plotted: a scrap name, or 'duration (s)'.")
    points: list[ChartPoint] = doc("Runs with a numeric value, oldest first.")
    low: float = doc("Smallest value.")
    high: float = doc("Largest value.")
    first: str | None = doc("Start time of the oldest plotted run.")
    last: str | None = doc("Start time of the newest plotted run.")
    width: int = doc("SVG width.", default=WIDTH)
    height: int = doc("SVG height.", default=HEIGHT)
    polyline: str = doc("SVG polyline points.", default="", metadata={"html_only": True})
    ticks: list[dict[str, Any]] = doc(
        "Y axis labels and positions.", default_factory=list, metadata={"html_only": True}
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def charts_for(records: list[RunRecord]) -> list[Chart]:
    """The duration chart and one chart per numeric scrap, from newest-first records."""
    ordered = list(reversed(records))
    series: dict[str, list[tuple[RunRecord, float]]] = {"duration (s)": []}
    for record in ordered:
        if record.duration_s is not None:
            series["duration (s)"].append((record, float(record.duration_s)))
        for name, value in inline_scraps(record.scraps).items():
            number = _number(value)
            if number is not None:
                series.setdefault(name, []).append((record, number))
    charts = []
    names = ["duration (s)"] + sorted(n for n in series if n != "duration (s)")
    for name in names[:MAX_CHARTS]:
        if series[name]:
            charts.append(_chart(name, series[name]))
    return charts


def _chart(name: str, values: list[tuple[RunRecord, float]]) -> Chart:
    low = min(v for _, v in values)
    high = max(v for _, v in values)
    span = high - low or abs(high) or 1.0
    lo, hi = (low - span * 0.05, high + span * 0.05) if high != low else (low - span, high + span)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    count = len(values)
    points = []
    for i, (record, value) in enumerate(values):
        x = PAD_LEFT + (inner_w * i / (count - 1) if count > 1 else inner_w / 2)
        y = PAD_TOP + inner_h * (1 - (value - lo) / (hi - lo))
        points.append(
            ChartPoint(record.run_id, record.started_at, value, record.status.value, x, y)
        )
    ticks = []
    for fraction in (0.0, 0.5, 1.0):
        value = lo + (hi - lo) * fraction
        ticks.append({"label": f"{value:.4g}", "y": PAD_TOP + inner_h * (1 - fraction)})
    return Chart(
        name=name,
        points=points,
        low=low,
        high=high,
        first=values[0][0].started_at,
        last=values[-1][0].started_at,
        polyline=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points),
        ticks=ticks,
    )
