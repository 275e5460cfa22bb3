"""Load and validate a pipeline definition (YAML) before anything is stored or runs.

Two passes, each failing with one line naming the file and the step: the shape (names,
graph, cycles, references, scheduling and the per-step fields checked as a job's), then
each step against its notebook (the notebook exists, its kernel is installed, every
parameter in ``parameters`` and ``parameters_from`` is one the notebook declares and
fixed values fit their types, required ones are given).
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

from nbprod.errors import BadInput, brief
from nbprod.jobs import definition as jobdef
from nbprod.pipelines import graph
from nbprod.pipelines.model import PinnedStep, PipelineDefinition, Step
from nbprod.store import layout

_TOP = set(PipelineDefinition.__dataclass_fields__)
_STEP = set(Step.__dataclass_fields__)
MAX_STEPS = 200


def _fail(source: str, message: str) -> BadInput:
    return BadInput(f"{source}: {message}")


def load_definition(path: str | Path) -> PipelineDefinition:
    from nbprod import safe_yaml

    path = Path(path)
    data = safe_yaml.load_file(path, "pipeline definition")
    return validate_definition(data, base_dir=path.resolve().parent, source=str(path))


def _unknown_key(key: Any, known: set[str], source: str, where: str = "") -> BadInput:
    close = difflib.get_close_matches(str(key), sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return _fail(source, f"{where}unknown field {brief(key)}{hint}")


def validate_definition(
    data: Any, *, base_dir: Path, source: str = "pipeline"
) -> PipelineDefinition:
    """A checked PipelineDefinition: notebook paths absolute, graph acyclic, references
    resolvable (the notebooks are checked by ``check_against_notebooks``)."""
    if not isinstance(data, dict):
        raise _fail(source, "a pipeline definition must be a YAML mapping")
    for key in data:
        if key not in _TOP:
            raise _unknown_key(key, _TOP, source)
    jobdef._no_nul({k: v for k, v in data.items() if k != "steps"}, source)
    name = data.get("name")
    if name in (None, ""):
        raise _fail(source, "'name' is required")
    if not isinstance(name, str):
        raise _fail(source, f"'name' must be text (quote it), got {brief(name)}")
    try:
        layout.check_job_name(name)
    except BadInput as exc:
        raise _fail(source, f"name: {exc}".replace("job name", "pipeline name")) from None
    scheduling = {
        "schedule": jobdef._schedule(data.get("schedule"), source),
        "timezone": jobdef._timezone(data.get("timezone", "UTC"), source),
        "tags": jobdef._tags(data.get("tags") or [], source),
        "scheduled_by": jobdef.scheduled_by(data.get("scheduled_by"), source),
        "catchup": jobdef._choice(
            data.get("catchup", jobdef.CATCHUP[0]), "catchup", jobdef.CATCHUP, source
        ),
        "notifications": jobdef._notifications(data.get("notifications") or {}, source),
    }
    if data.get("catchup_window") is not None:
        scheduling["catchup_window"] = jobdef._positive_duration(
            data["catchup_window"], "catchup_window", source
        )
    if not isinstance(data.get("description", ""), str):
        raise _fail(source, "'description' must be text")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _fail(source, "'steps' must be a non-empty list of steps")
    if len(raw_steps) > MAX_STEPS:
        raise _fail(source, f"at most {MAX_STEPS} steps, got {len(raw_steps)}")
    steps = [_step(raw, i, name, base_dir, source) for i, raw in enumerate(raw_steps)]
    names = [s.name for s in steps]
    for step_name in names:
        if names.count(step_name) > 1:
            raise _fail(source, f"two steps are named {step_name!r}")
    _check_graph(steps, source)
    return PipelineDefinition(
        name=name, steps=steps, description=data.get("description", ""), **scheduling
    )


def _step(raw: Any, index: int, pipeline: str, base_dir: Path, source: str) -> Step:
    if not isinstance(raw, dict):
        raise _fail(source, f"steps[{index}] must be a mapping (name, notebook, ...)")
    label = raw.get("name") if isinstance(raw.get("name"), str) else f"steps[{index}]"
    where = f"step {label}: "
    for key in raw:
        if key not in _STEP:
            raise _unknown_key(key, _STEP, source, where)
    jobdef._no_nul({k: v for k, v in raw.items() if k != "parameters"}, source, f"steps[{index}]")
    for required in ("name", "notebook"):
        if raw.get(required) in (None, ""):
            raise _fail(source, f"{where}'{required}' is required")
    try:
        layout.step_job(pipeline, raw["name"])
    except BadInput as exc:
        raise _fail(source, f"{where}{exc}") from None
    step_source = f"{source}: step {label}"
    notebook = Path(jobdef._path(raw["notebook"], "notebook", step_source)).expanduser()
    notebook = notebook if notebook.is_absolute() else (base_dir / notebook).resolve()
    needs = raw.get("needs") or []
    if isinstance(needs, str):
        needs = [needs]
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise _fail(source, f"{where}'needs' must be a list of step names")
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _fail(source, f"{where}'parameters' must be a mapping of name: value")
    wired = raw.get("parameters_from") or {}
    if not isinstance(wired, dict):
        raise _fail(source, f"{where}'parameters_from' must be a mapping of parameter: step.scrap")
    for param, ref in wired.items():
        if (
            not isinstance(ref, str)
            or ref.count(".") < 1
            or ref.startswith(".")
            or ref.endswith(".")
        ):
            raise _fail(
                source,
                f"{where}parameters_from.{param} must name an upstream scrap as step.scrap, "
                f"got {brief(ref)}",
            )
        if param in parameters:
            raise _fail(
                source, f"{where}parameter {param!r} is in both parameters and parameters_from"
            )
    scheduling = jobdef._scheduling(
        {k: raw[k] for k in ("retries", "retry_delay") if k in raw}, step_source
    )
    timeouts = {
        key: jobdef._positive_duration(raw[key], key, step_source)
        for key in ("timeout", "cell_timeout")
        if raw.get(key) is not None
    }
    kernel = raw.get("kernel")
    if kernel is not None and (not isinstance(kernel, str) or not 0 < len(kernel) <= 255):
        raise _fail(source, f"{where}'kernel' must be a kernel name, got {brief(kernel)}")
    report_mode = raw.get("report_mode", False)
    if not isinstance(report_mode, bool):
        raise _fail(source, f"{where}'report_mode' must be true or false, got {brief(report_mode)}")
    return Step(
        name=raw["name"],
        notebook=str(notebook),
        needs=list(dict.fromkeys(needs)),
        parameters=dict(parameters),
        parameters_from={str(k): v for k, v in wired.items()},
        kernel=kernel,
        retries=scheduling["retries"],
        retry_delay=scheduling["retry_delay"],
        resources=jobdef._resources(raw.get("resources") or {}, step_source),
        report_mode=report_mode,
        **timeouts,
    )


def _check_graph(steps: list[Step], source: str) -> None:
    names = {s.name for s in steps}
    for step in steps:
        for need in step.needs:
            if need not in names:
                raise _fail(
                    source, f"step {step.name}: needs unknown step {need!r}{_close(need, names)}"
                )
            if need == step.name:
                raise _fail(source, f"step {step.name} needs itself")
    needs = {s.name: s.needs for s in steps}
    found = graph.cycle(needs)
    if found:
        raise _fail(source, f"the steps form a cycle: {' → '.join(found)} (each needs the next)")
    for step in steps:
        upstream = graph.ancestors(needs, step.name)
        for param in step.parameters_from:
            origin, _ = step.source(param)
            if origin not in names:
                raise _fail(
                    source,
                    f"step {step.name}: parameters_from.{param} names unknown step "
                    f"{origin!r}{_close(origin, names)}",
                )
            if origin not in upstream:
                raise _fail(
                    source,
                    f"step {step.name}: parameters_from.{param} takes a scrap of {origin!r}, "
                    f"which is not upstream (add it to needs)",
                )


def _close(name: str, names: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_against_notebooks(
    definition: PipelineDefinition, source: str = "pipeline"
) -> dict[str, tuple[bytes, PinnedStep]]:
    """Check each step against its notebook; step → (notebook bytes, what to pin).

    Fixed ``parameters`` are typed in place (as ``jobs apply`` does)."""
    from nbprod import params
    from nbprod.runner import check_kernel, load_notebook

    checked: dict[str, tuple[bytes, PinnedStep]] = {}
    for step in definition.steps:
        where = f"{source}: step {step.name}"
        try:
            path, data, nb = load_notebook(step.notebook)
        except BadInput as exc:
            raise BadInput(f"{where}: {exc}") from None
        schema = params.infer_schema(nb)
        for param in step.parameters_from:
            if schema.get(param) is None:
                raise BadInput(f"{where}: parameters_from: {params._unknown(schema, param)}")
        # the wired ones are typed when their value arrives; the rest as a job's
        fixed = params.ParameterSchema(
            tuple(p for p in schema.parameters if p.name not in step.parameters_from),
            schema.cell_index,
        )
        try:
            step.parameters = params.resolve_parameters(fixed, values=step.parameters)
        except BadInput as exc:
            raise BadInput(f"{where}: {exc}") from None
        kernel = step.kernel or (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
        try:
            check_kernel(kernel)
        except BadInput as exc:
            raise BadInput(f"{where}: {exc}") from None
        pinned = PinnedStep(
            notebook_sha256=hashlib.sha256(data).hexdigest(),
            notebook_name=path.name,
            schema={
                p.name: {"type": p.type, "nullable": p.nullable, "required": p.required}
                for p in schema.parameters
            },
        )
        checked[step.name] = (data, pinned)
    return checked
