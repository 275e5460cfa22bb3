"""Small charts drawn as inline SVG on the server (no JavaScript, no library): a numeric
scrap (or the duration) over time on the job page, a scrap against a parameter on the sweep
page.

A chart is computed here as coordinates; the ``_chart.html`` and ``_scatter.html`` partials
draw it, so every label goes through the template's escaping. The axes come from
``axis.py`` (nice ticks, human labels); the left margin is sized to the longest label, so
no label is cut off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nbprod.records import RunRecord
from nbprod.server.axis import Axis, human, nice_axis
from nbprod.server.views.common import doc, inline_scraps

WIDTH, HEIGHT = 560, 170
PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 14, 10, 24
CHAR_PX = 6.2
"""Width of one tick-label character at the charts' 10 px font (digits, k, M, minus)."""
MAX_CHARTS = 8
MAX_CATEGORIES = 40
HTML = {"html_only": True}
Sample = tuple[str, str | None, str, float]
"""One plotted value: (run id, start time, status, value)."""


@dataclass
class Tick:
    """One axis tick."""

    label: str = doc("The tick's label (k, M, ...: never scientific notation).")
    pos: float = doc("Its position along the axis, in SVG units.")


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
    pad_left: float = doc("Left margin, fitting the longest label.", default=0, metadata=HTML)
    polyline: str = doc("SVG polyline points.", default="", metadata=HTML)
    ticks: list[Tick] = doc("Y axis labels and positions.", default_factory=list, metadata=HTML)


@dataclass
class ScatterPoint:
    """One run on a scatter chart."""

    run_id: str = doc("The run.")
    x_value: Any = doc("Its value on the horizontal axis (a parameter).")
    y_value: float = doc("Its value on the vertical axis (a scrap).")
    status: str = doc("The run's status.")
    x: float = doc("Horizontal position in the SVG.")
    y: float = doc("Vertical position in the SVG.")


@dataclass
class ScatterChart:
    """A scrap against a parameter, one point per run: a numeric parameter on a linear
    axis, any other kind as evenly spaced categories in the order first seen."""

    x_name: str = doc("The parameter on the horizontal axis.")
    y_name: str = doc("The scrap on the vertical axis.")
    points: list[ScatterPoint] = doc("Runs with both values (the y value numeric).")
    categorical: bool = doc("Whether the x axis lists categories (non-numeric values).")
    width: int = doc("SVG width.", default=WIDTH)
    height: int = doc("SVG height.", default=HEIGHT)
    pad_left: float = doc("Left margin, fitting the longest label.", default=0, metadata=HTML)
    y_ticks: list[Tick] = doc("Y axis ticks.", default_factory=list, metadata=HTML)
    x_ticks: list[Tick] = doc("X axis ticks.", default_factory=list, metadata=HTML)


def number(value: Any) -> float | None:
    """A finite int or float as float; None for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def charts_for(records: list[RunRecord]) -> list[Chart]:
    """The duration chart and one chart per numeric scrap, from newest-first records."""
    ordered = list(reversed(records))
    series: dict[str, list[Sample]] = {"duration (s)": []}
    for record in ordered:
        at = (record.run_id, record.started_at, record.status.value)
        if record.duration_s is not None:
            series["duration (s)"].append((*at, float(record.duration_s)))
        for name, value in inline_scraps(record.scraps).items():
            value = number(value)
            if value is not None:
                series.setdefault(name, []).append((*at, value))
    charts = []
    names = ["duration (s)"] + sorted(n for n in series if n != "duration (s)")
    for name in names[:MAX_CHARTS]:
        if series[name]:
            charts.append(line_chart(name, series[name]))
    return charts


def pad_for(labels: Sequence[str]) -> float:
    """The left margin that fits the longest label right-aligned before the plot."""
    return round(12 + CHAR_PX * max((len(t) for t in labels), default=1), 1)


def _y_ticks(axis: Axis, top: float, inner_h: float) -> list[Tick]:
    return [
        Tick(label, top + inner_h * (1 - (value - axis.lo) / (axis.hi - axis.lo)))
        for value, label in zip(axis.ticks, axis.labels, strict=True)
    ]


def line_chart(name: str, values: Sequence[Sample]) -> Chart:
    """A chart of ``(run_id, started_at, status, value)`` samples, oldest first (not empty):
    a job's runs here, a pipeline step's runs on the pipeline page."""
    low = min(v for *_, v in values)
    high = max(v for *_, v in values)
    axis = nice_axis(low, high)
    pad_left = pad_for(axis.labels)
    inner_w = WIDTH - pad_left - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    count = len(values)
    points = []
    for i, (run_id, started_at, status, value) in enumerate(values):
        x = pad_left + (inner_w * i / (count - 1) if count > 1 else inner_w / 2)
        y = PAD_TOP + inner_h * (1 - (value - axis.lo) / (axis.hi - axis.lo))
        points.append(ChartPoint(run_id, started_at, value, status, x, y))
    return Chart(
        name=name,
        points=points,
        low=low,
        high=high,
        first=values[0][1],
        last=values[-1][1],
        pad_left=pad_left,
        polyline=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points),
        ticks=_y_ticks(axis, PAD_TOP, inner_h),
    )


def scatter(
    x_name: str, y_name: str, points: Sequence[tuple[Any, Any, str]], statuses: dict[str, str]
) -> ScatterChart:
    """A chart of ``(x, y, run_id)`` points (``SweepTable.points``); runs whose y is not a
    number are left out."""
    kept = [(x, y, run_id) for x, y, run_id in points if number(y) is not None]
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    chart = ScatterChart(x_name, y_name, [], categorical=False)
    if not kept:
        return chart
    ys = [float(y) for _, y, _ in kept]
    y_axis = nice_axis(min(ys), max(ys))
    chart.pad_left = pad_left = pad_for(y_axis.labels)
    chart.y_ticks = _y_ticks(y_axis, PAD_TOP, inner_h)
    inner_w = WIDTH - pad_left - PAD_RIGHT
    numeric = all(number(x) is not None for x, _, _ in kept)
    chart.categorical = not numeric
    if numeric:
        xs = [float(x) for x, _, _ in kept]
        x_axis = nice_axis(min(xs), max(xs)) if min(xs) != max(xs) else None

        def place(value: Any) -> float:
            if x_axis is None:
                return pad_left + inner_w / 2
            return pad_left + inner_w * (float(value) - x_axis.lo) / (x_axis.hi - x_axis.lo)

        if x_axis is None:
            chart.x_ticks = [Tick(human(xs[0]), pad_left + inner_w / 2)]
        else:
            pairs = zip(x_axis.ticks, x_axis.labels, strict=True)
            chart.x_ticks = [Tick(label, place(value)) for value, label in pairs]
    else:
        categories: list[str] = []
        for x, _, _ in kept:
            if _category(x) not in categories:
                categories.append(_category(x))
        slot = inner_w / max(len(categories), 1)

        def place(value: Any) -> float:
            return pad_left + slot * (categories.index(_category(value)) + 0.5)

        shown = categories[:MAX_CATEGORIES]
        chart.x_ticks = [Tick(_short(c), pad_left + slot * (i + 0.5)) for i, c in enumerate(shown)]
    for x, y, run_id in kept:
        chart.points.append(
            ScatterPoint(
                run_id,
                x,
                float(y),
                statuses.get(run_id, "?"),
                round(place(x), 1),
                round(PAD_TOP + inner_h * (y_axis.hi - float(y)) / (y_axis.hi - y_axis.lo), 1),
            )
        )
    return chart


def _category(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _short(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
