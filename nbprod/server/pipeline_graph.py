"""A pipeline's steps as a layered graph, laid out here and drawn as inline SVG by the
``_pipeline_graph.html`` partial (so every name and value goes through the template's
escaping, as the charts' labels do).

Steps flow left to right: a step's column is its depth (0 for a step that needs
nothing, else one more than the deepest step it needs). An edge that spans columns takes
a thin slot of its own in each column it crosses, so it passes beside the steps there
instead of through them (the dummy nodes of a Sugiyama layout). Within a column, steps
and slots are ordered by the mean row of what leads into them (fewer crossings), ties in
definition order. Edges are curves from the upstream step's right side to the
downstream step's left side, ending in an arrowhead; an edge that carries
``parameters_from`` values is labelled ``scrap → param`` in the gap before its target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbprod.pipelines.graph import order
from nbprod.pipelines.model import PipelineDefinition
from nbprod.server.views.common import doc, short_value

HTML = {"html_only": True}
CHAR_PX = 7.0
"""Width of one character of a node's name at the graph's 12 px font."""
LABEL_CHAR_PX = 6.0
"""Width of one character of an edge label at 10 px."""
NODE_H = 44
MIN_NODE_W, MAX_NODE_W = 120, 220
MIN_GAP, MAX_GAP = 70, 230
ROW_GAP = 20
PAD = 12
LABEL_LINE = 13
PASS_H = 12
"""Height of the slot a longer edge takes in a column it crosses."""


@dataclass
class StepState:
    """What a node shows of one step (the latest run's, or this run's)."""

    status: str
    run_id: str | None = None
    linked: bool = False
    """Whether the step's run page exists (it started)."""
    duration_s: float | None = None


@dataclass
class GraphNode:
    """One step of the graph."""

    step: str = doc("The step's name.")
    status: str = doc("Its status in the run shown ('none' when the pipeline has no run).")
    run_id: str | None = doc("The step's run (linked when it started), else null.")
    linked: bool = doc("Whether the node links to the step's run page.")
    depth: int = doc("Its column: 0 needs nothing, else one more than the deepest need.")
    row: int = doc("Its place in the column, from the top.")
    x: float = doc("Left edge.", default=0, metadata=HTML)
    y: float = doc("Top edge.", default=0, metadata=HTML)
    width: float = doc("Node width.", default=0, metadata=HTML)
    height: float = doc("Node height.", default=NODE_H, metadata=HTML)
    label: str = doc("The name as drawn (shortened to fit).", default="", metadata=HTML)
    detail: str = doc("Second line: status and duration.", default="", metadata=HTML)


@dataclass
class EdgeLabel:
    """A value carried along an edge (``parameters_from``)."""

    scrap: str = doc("The upstream step's scrap.")
    parameter: str = doc("The downstream step's parameter it becomes.")
    value: Any = doc("The value passed in the run shown, if it was.", default=None)
    passed: bool = doc("Whether the value was passed in the run shown.", default=False)
    text: str = doc("'scrap → param' as drawn.", default="", metadata=HTML)
    title: str = doc("Tooltip: 'step.scrap → step.param = value'.", default="", metadata=HTML)


@dataclass
class GraphEdge:
    """One ``needs`` edge, upstream to downstream."""

    source: str = doc("The step needed.")
    target: str = doc("The step that needs it.")
    labels: list[EdgeLabel] = doc("The values it carries.", default_factory=list)
    path: str = doc("SVG path data of the curve.", default="", metadata=HTML)
    label_x: float = doc("Centre of the labels.", default=0, metadata=HTML)
    label_y: float = doc("Top of the labels.", default=0, metadata=HTML)
    label_w: float = doc("Width of the labels' backdrop.", default=0, metadata=HTML)


@dataclass
class PipelineGraph:
    """A pipeline's steps and their edges, laid out left to right."""

    nodes: list[GraphNode] = doc("The steps, in run order.")
    edges: list[GraphEdge] = doc("The edges, in the order of their targets.")
    width: float = doc("SVG width.", default=0, metadata=HTML)
    height: float = doc("SVG height.", default=0, metadata=HTML)
    node_w: float = doc("Every node's width.", default=0, metadata=HTML)


def layout(
    definition: PipelineDefinition,
    states: Mapping[str, StepState],
    passed: Mapping[tuple[str, str], Any] | None = None,
) -> PipelineGraph:
    """The graph of ``definition`` with each step's state (missing: ``none``) and the
    values ``passed`` along the edges (``(target step, parameter)`` → value)."""
    from nbprod.server.templating import duration

    passed = passed or {}
    needs = definition.needs
    steps = order(needs)
    depth: dict[str, int] = {}
    for name in steps:
        depth[name] = 1 + max((depth[n] for n in needs[name]), default=-1)
    edges = _edges(definition, passed)
    columns = _columns(definition, depth, edges)

    longest = max((len(n) for n in steps), default=4)
    node_w = _clamp(24 + CHAR_PX * longest, MIN_NODE_W, MAX_NODE_W)
    widest = max((len(label.text) for e in edges for label in e.labels), default=0)
    gap = _clamp(40 + LABEL_CHAR_PX * widest, MIN_GAP, MAX_GAP)
    spans = [sum(_height(slot) for slot in c) + (len(c) - 1) * ROW_GAP for c in columns]
    height = 2 * PAD + max(spans, default=NODE_H)
    width = 2 * PAD + len(columns) * node_w + max(len(columns) - 1, 0) * gap

    nodes: dict[str, GraphNode] = {}
    passes: dict[tuple[int, int], float] = {}  # (edge, column) → the y a long edge passes at
    for column, slots in enumerate(columns):
        y = (height - spans[column]) / 2
        x = PAD + column * (node_w + gap)
        for i, slot in enumerate(slots):
            if isinstance(slot, tuple):
                passes[slot] = round(y + PASS_H / 2, 1)
                y += PASS_H + ROW_GAP
                continue
            state = states.get(slot) or StepState("none")
            detail = state.status.replace("_", " ")
            if state.duration_s is not None:
                detail += f" · {duration(state.duration_s)}"
            nodes[slot] = GraphNode(
                step=slot,
                status=state.status,
                run_id=state.run_id,
                linked=bool(state.linked and state.run_id),
                depth=column,
                row=i,
                x=x,
                y=round(y, 1),
                width=node_w,
                label=_fit(slot, int((node_w - 16) / CHAR_PX)),
                detail=detail,
            )
            y += NODE_H + ROW_GAP
    for index, edge in enumerate(edges):
        source, target = nodes[edge.source], nodes[edge.target]
        via = [
            (PAD + c * (node_w + gap), passes[(index, c)])
            for c in range(source.depth + 1, target.depth)
        ]
        _route(edge, source, target, via, node_w, gap)
    return PipelineGraph(
        nodes=[nodes[n] for n in steps],
        edges=edges,
        width=round(width, 1),
        height=round(height, 1),
        node_w=node_w,
    )


Slot = str | tuple[int, int]
"""A place in a column: a step, or ``(edge index, column)`` where a longer edge passes."""


def _height(slot: Slot) -> float:
    return PASS_H if isinstance(slot, tuple) else NODE_H


def _columns(
    definition: PipelineDefinition, depth: Mapping[str, int], edges: list[GraphEdge]
) -> list[list[Slot]]:
    """The slots of each column, top to bottom. An edge spanning columns takes a slot in
    each column it crosses (so it passes beside the steps there, not through them); each
    column is sorted by the mean row of what leads into it, ties in definition order."""
    count = max(depth.values(), default=-1) + 1
    members: list[list[Slot]] = [[] for _ in range(count)]
    into: dict[Slot, list[Slot]] = {}
    for step in definition.steps:
        members[depth[step.name]].append(step.name)
        into.setdefault(step.name, [])
    for index, edge in enumerate(edges):
        previous: Slot = edge.source
        for column in range(depth[edge.source] + 1, depth[edge.target]):
            members[column].append((index, column))
            into[(index, column)] = [previous]
            previous = (index, column)
        into[edge.target].append(previous)
    row: dict[Slot, float] = {}
    columns: list[list[Slot]] = []
    for slots in members:
        ranked = sorted(
            slots,
            key=lambda slot: (
                sum(row[s] for s in into[slot]) / len(into[slot]) if into[slot] else 0.0,
                slots.index(slot),
            ),
        )
        row.update({slot: float(i) for i, slot in enumerate(ranked)})
        columns.append(ranked)
    return columns


def _label(
    source: str, scrap: str, target: str, parameter: str, passed: Mapping[tuple[str, str], Any]
) -> EdgeLabel:
    label = EdgeLabel(scrap, parameter, text=_fit(f"{scrap} → {parameter}", 34))
    label.title = f"{source}.{scrap} → {target}.{parameter}"
    if (target, parameter) in passed:
        label.value, label.passed = passed[(target, parameter)], True
        label.title += f" = {short_value(label.value, 120)}"
    return label


def _edges(
    definition: PipelineDefinition, passed: Mapping[tuple[str, str], Any]
) -> list[GraphEdge]:
    edges = []
    for step in definition.steps:
        for need in step.needs:
            edge = GraphEdge(need, step.name)
            for parameter in step.parameters_from:
                source, scrap = step.source(parameter)
                if source != need:
                    continue
                edge.labels.append(_label(need, scrap, step.name, parameter, passed))
            edges.append(edge)
    # a parameters_from whose step is upstream but not a direct need: an edge of its own
    for step in definition.steps:
        for parameter in step.parameters_from:
            source, scrap = step.source(parameter)
            if source in step.needs:
                continue
            label = _label(source, scrap, step.name, parameter, passed)
            edges.append(GraphEdge(source, step.name, [label]))
    return edges


def _route(
    edge: GraphEdge,
    source: GraphNode,
    target: GraphNode,
    via: list[tuple[float, float]],
    node_w: float,
    gap: float,
) -> None:
    """A curve from the source's right side to the target's left, straight across each
    column it passes (``via``: the left x and the y of its slot there)."""
    x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x - 2, target.y + target.height / 2  # the arrowhead's tip at the border
    parts = [f"M{x1:.1f},{y1:.1f}"]
    for x, y in via:
        parts.append(_curve(x1, y1, x, y))
        x1, y1 = x + node_w, y
        parts.append(f"L{x1:.1f},{y1:.1f}")
    parts.append(_curve(x1, y1, x2, y2))
    edge.path = " ".join(parts)
    if not edge.labels:
        return
    # the labels sit on the last curve, in the gap just before the target, centred there
    bend = max((x2 - x1) / 2, 20)
    c1, c2 = (x1 + bend, y1), (x2 - bend, y2)
    want = x2 - gap / 2
    t = min((i / 64 for i in range(65)), key=lambda t: abs(_cubic(x1, c1[0], c2[0], x2, t) - want))
    lines = len(edge.labels)
    edge.label_x = round(want, 1)
    edge.label_y = round(_cubic(y1, c1[1], c2[1], y2, t) - lines * LABEL_LINE / 2, 1)
    edge.label_w = round(8 + LABEL_CHAR_PX * max(len(label.text) for label in edge.labels), 1)


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    """SVG path data of a curve to (x2, y2), leaving and arriving horizontally."""
    bend = max((x2 - x1) / 2, 20)
    return f"C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def _cubic(p0: float, p1: float, p2: float, p3: float, t: float) -> float:
    u = 1 - t
    return u**3 * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t**3 * p3


def _clamp(value: float, lo: float, hi: float) -> float:
    return round(min(max(value, lo), hi), 1)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def states_of(steps: Sequence[Any], live: Mapping[str, str] | None = None) -> dict[str, StepState]:
    """Node states from a pipeline run's ``StepRun``s (``live``: a queued step's queue state,
    ``queued`` or ``running``). A step links to its run once that run has started."""
    live = live or {}
    states = {}
    for step in steps:
        status = live.get(step.name) or step.status.value
        started = status not in ("pending", "queued", "skipped") and step.run_id is not None
        states[step.name] = StepState(status, step.run_id, started, step.duration_s)
    return states
