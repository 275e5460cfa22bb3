"""Planning a sweep: ``-p NAME V1,V2`` axes and/or a grid file expanded into parameter
sets, each typed and validated against the notebook's schema, before anything is queued.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbprod.errors import BadInput, ParameterError

DEFAULT_MAX_RUNS = 1000


def split_values(text: str) -> list[str]:
    """Split ``-p`` text at top-level commas: ``0.1,0.01`` → two values.

    Commas inside brackets, braces or quotes do not split (``[1, 2],[3]`` is two lists);
    ``\\,`` is a literal comma. Whitespace around each value is kept for ``str``
    parameters' sake, except that a value is never split into an empty list.
    """
    values: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    chars = iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            current.append(following if following == "," else char + following)
            continue
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            values.append("".join(current))
            current = []
            continue
        current.append(char)
    values.append("".join(current))
    return values


@dataclass
class SweepPlan:
    """What a sweep will run: validated, typed parameter sets."""

    notebook: Path
    schema: Any
    swept: list[str]
    """Names that vary (or were given as axes / in the grid), in the notebook's order."""
    sets: list[dict[str, Any]]
    """Per run: the swept names' values (typed)."""
    base: dict[str, Any]
    """Fixed values for every run (-f / -y), typed."""
    grid: dict[str, Any]
    """How the sets were described: ``{"axes": {...}, "sets": [...] | None}``."""

    def parameters(self, index: int) -> dict[str, Any]:
        return {**self.base, **self.sets[index]}


def plan_sweep(
    notebook: str | os.PathLike[str],
    *,
    axes: Sequence[tuple[str, str]] = (),
    grid_file: str | os.PathLike[str] | None = None,
    parameter_files: Sequence[str | os.PathLike[str]] = (),
    parameter_yaml: Sequence[str] = (),
    grid: Mapping[str, Sequence[Any]] | None = None,
    fixed: Mapping[str, Any] | None = None,
    max_runs: int = DEFAULT_MAX_RUNS,
) -> SweepPlan:
    """Validate and expand a sweep; raises BadInput (nothing queued) on any mistake.

    ``axes`` are ``-p NAME V1,V2,...`` pairs, each value parsed by the parameter's type;
    ``grid_file`` is YAML/JSON, either a mapping of name → list of values (the cartesian
    product) or a list of mappings (explicit sets). Both together: each explicit set (or the
    grid's product) crossed with the ``-p`` axes. ``parameter_files``/``parameter_yaml``
    give fixed values for every run. ``grid`` (name → typed values, the form of the
    JupyterLab dialog) is a grid file's mapping given in memory, ``fixed`` typed fixed values.
    """
    from nbprod import params
    from nbprod.runner import load_notebook

    path, _, nb = load_notebook(notebook)
    schema = params.infer_schema(nb)
    if not axes and grid_file is None and not grid:
        raise BadInput("nothing to sweep: give -p NAME V1,V2,... or --grid FILE")

    cli_axes: dict[str, list[Any]] = {}
    for name, text in axes:
        param = schema.get(name)
        if param is None:
            raise params._unknown(schema, name)
        if name in cli_axes:
            raise ParameterError(f"-p {name} given twice; list all its values in one -p")
        values = split_values(text)
        typed = []
        for index, value in enumerate(values, 1):
            try:
                typed.append(params.parse_cli_value(param, value))
            except ParameterError as exc:
                where = f" (value {index} of {len(values)})" if len(values) > 1 else ""
                raise ParameterError(f"-p {name}{where}: {exc}") from None
        cli_axes[name] = typed

    grid_axes: dict[str, list[Any]] = {}
    explicit: list[dict[str, Any]] | None = None
    if grid_file is not None:
        grid_axes, explicit = load_grid(grid_file, schema)
    for name, values in (grid or {}).items():
        if schema.get(name) is None:
            raise params._unknown(schema, name)
        if name in grid_axes:
            raise ParameterError(f"parameter {name!r} is in the grid twice")
        grid_axes[name] = list(values)
    overlap = sorted(set(cli_axes) & (set(grid_axes) | {k for s in explicit or [] for k in s}))
    if overlap:
        raise ParameterError(f"parameter {overlap[0]!r} is in both --grid and -p; keep one")

    base_raw: dict[str, Any] = {}
    for file in parameter_files:
        base_raw.update(params._load_file(file))
    for text in parameter_yaml:
        base_raw.update(params._load_mapping(text, "-y text", as_json=False))
    base_raw.update(fixed or {})

    all_axes = {**grid_axes, **cli_axes}
    for name, values in all_axes.items():
        if not values:
            raise ParameterError(f"parameter {name!r} has an empty list of values")
    count = (len(explicit) if explicit is not None else 1) * math.prod(
        len(v) for v in all_axes.values()
    )
    if count > max_runs:
        raise BadInput(f"the sweep would make {count} runs, more than --max-runs {max_runs}")
    names = list(all_axes)
    product = [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*all_axes.values())
    ]
    raw_sets = [{**s, **p} for s in (explicit if explicit is not None else [{}]) for p in product]
    swept_names = {k for s in raw_sets for k in s}
    base_raw = {k: v for k, v in base_raw.items() if k not in swept_names}
    order = {name: i for i, name in enumerate(schema.names)}

    sets = []
    for index, values in enumerate(raw_sets, 1):
        try:
            typed = params.resolve_parameters(schema, values={**base_raw, **values})
        except ParameterError as exc:
            where = f"run {index} of {len(raw_sets)} ({_describe(values)}): " if values else ""
            raise ParameterError(f"{where}{exc}") from None
        sets.append({k: typed[k] for k in sorted(values, key=lambda n: order.get(n, 0))})
    base = {}
    for name, value in base_raw.items():
        param = schema.get(name)
        if param is None:
            raise params._unknown(schema, name)
        base[name] = params.coerce_value(param, value)
    grid = {
        "axes": {k: [jsonable(v) for v in vals] for k, vals in all_axes.items()},
        "sets": explicit,
    }
    swept = sorted(swept_names, key=lambda n: order.get(n, 0))
    return SweepPlan(path, schema, swept, sets, base, grid)


def load_grid(
    path: str | os.PathLike[str], schema: Any
) -> tuple[dict[str, list[Any]], list[dict[str, Any]] | None]:
    """Read a grid file: ``{name: [values]}`` (a scalar is one value) or ``[{name: value}]``.

    Values are typed YAML/JSON, checked later against the schema. A list parameter's axis
    is a list of lists (``features: [[a, b], [c]]``).
    """
    import yaml

    from nbprod import params, safe_yaml

    p = Path(path)
    text = safe_yaml.read_text(p, "grid file")  # params._Loader is the bounded safe loader
    try:
        if p.suffix.lower() == ".json":  # no duplicate keys, no RecursionError
            data = safe_yaml.load_json(text, f"grid file {path}")
        else:
            data = yaml.load(text, params._Loader)
    except (ValueError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"grid file {path}: not valid YAML/JSON: {reason}") from None
    if isinstance(data, dict):
        axes: dict[str, list[Any]] = {}
        for name, values in data.items():
            if not isinstance(name, str):
                raise BadInput(f"grid file {path}: parameter names must be strings, got {name!r}")
            if schema.get(name) is None:
                raise params._unknown(schema, name)
            axes[name] = list(values) if isinstance(values, list) else [values]
        return axes, None
    if isinstance(data, list) and data:
        sets = []
        for index, entry in enumerate(data, 1):
            if not isinstance(entry, dict) or not all(isinstance(k, str) for k in entry):
                raise BadInput(
                    f"grid file {path}: entry {index} must be a mapping of parameter: value"
                )
            for name in entry:
                if schema.get(name) is None:
                    raise params._unknown(schema, name)
            sets.append(dict(entry))
        return {}, sets
    raise BadInput(
        f"grid file {path}: expected a mapping of name: [values] or a list of "
        "{name: value} mappings"
    )


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _describe(values: Mapping[str, Any], width: int = 60) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
    return text if len(text) <= width else text[: width - 1] + "…"
