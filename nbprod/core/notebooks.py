"""Notebook operations for the faces: look a notebook up under a root, its typed
parameters for a form, form values parsed like ``-p``, a cron preview, a one-off run.

Errors are typed: :class:`~nbprod.errors.FieldError` names the field to blame
(``path``, ``schedule``, ``parameters.<name>``), :class:`~nbprod.errors.NotFound` a
notebook that is not there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, Conflict, FieldError, KernelNotFound, NotFound, ParameterError

MAX_PREVIEW = 50
"""Most fire times a cron preview lists."""


def resolve_notebook(root: str | Path, path: str) -> Path:
    """A path relative to ``root`` (a Jupyter server's contents root) as a local notebook
    path; never one outside ``root``."""
    if not isinstance(path, str) or not path.strip():
        raise FieldError("a notebook path is required", "path")
    root = Path(root).resolve()
    try:
        target = (root / path.strip().lstrip("/")).resolve()
        if target != root and root not in target.parents:
            raise FieldError(f"notebook path {path!r} is outside the server's root", "path")
        if target.suffix != ".ipynb":
            raise FieldError(f"{path!r} is not a notebook (.ipynb)", "path")
        found = target.is_file()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL, a long name
        raise FieldError(f"cannot look up notebook path {path!r}: {exc}", "path") from None
    if not found:
        raise NotFound(f"no notebook {path!r}")
    return target


def notebook_info(root: str | Path, path: str) -> dict[str, Any]:
    """The Schedule dialog's starting point: suggested job name, kernel, typed parameters."""
    from nbprod.params import infer_schema
    from nbprod.runner import load_notebook
    from nbprod.store import layout

    local = resolve_notebook(root, path)
    try:
        _, _, nb = load_notebook(local)
        schema = infer_schema(nb)
    except BadInput as exc:
        raise FieldError(str(exc), "path") from None
    kernel = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    return {
        "path": path,
        "name": local.name,
        "job": layout.job_name_from_stem(local.stem),
        "kernel": kernel,
        **schema.to_dict(),
    }


def schema_of(path: str | os.PathLike[str]) -> Any:
    """The typed parameter schema of the notebook at ``path``."""
    from nbprod.params import infer_schema
    from nbprod.runner import load_notebook

    return infer_schema(load_notebook(path)[2])


def parse_parameters(schema: Any, texts: Any) -> dict[str, Any]:
    """Form values (text, typed by the schema like ``-p NAME VALUE``) → typed values.

    Each error names its field (``parameters.<name>``).
    """
    from nbprod.params import coerce_value, parse_cli_value

    if texts in (None, ""):
        texts = {}
    if not isinstance(texts, Mapping):
        raise FieldError("'parameters' must be an object of name: value", "parameters")
    values: dict[str, Any] = {}
    for name, text in texts.items():
        param = schema.get(name)
        if param is None:
            known = ", ".join(schema.names) or "none"
            raise FieldError(f"unknown parameter {name!r} (known: {known})", f"parameters.{name}")
        try:
            if isinstance(text, str):
                values[name] = parse_cli_value(param, text)
            else:
                values[name] = coerce_value(param, text)
        except BadInput as exc:
            raise FieldError(str(exc), f"parameters.{name}") from None
        except (ValueError, OverflowError) as exc:  # e.g. an int of more than 4300 digits
            reason = str(exc).split(";")[0]
            raise FieldError(
                f"parameter {name!r} expects {param.type}: {reason}", f"parameters.{name}"
            ) from None
    for param in schema.parameters:
        if param.required and param.name not in values:
            raise FieldError(f"parameter {param.name!r} is required", f"parameters.{param.name}")
    return values


def cron_preview(schedule: str, timezone: str = "UTC", count: int = 3) -> dict[str, Any]:
    """Description and next fire times of a schedule, in ``timezone`` (validated like a job)."""
    from nbprod.jobs.definition import _schedule, _timezone
    from nbprod.jobs.model import JobDefinition
    from nbprod.scheduler.cron_text import describe

    if not 1 <= count <= MAX_PREVIEW:
        raise FieldError(f"count must be between 1 and {MAX_PREVIEW}", "count")
    try:
        text = _schedule(schedule, "schedule")
    except BadInput as exc:
        raise FieldError(str(exc).removeprefix("schedule: "), "schedule") from None
    try:
        zone = _timezone(timezone or "UTC", "timezone")
    except BadInput as exc:
        raise FieldError(str(exc).removeprefix("timezone: "), "timezone") from None
    if text is None:
        return {"schedule": None, "timezone": zone, "description": "On demand only", "next": []}
    definition = JobDefinition(name="preview", notebook="-", schedule=text, timezone=zone)
    return {
        "schedule": text,
        "timezone": zone,
        "description": describe(text),
        "next": [t.isoformat() for t in fire_times(definition, count)],
    }


def fire_times(definition: Any, count: int) -> list[Any]:
    """The next fire times, or a FieldError for a schedule that never fires (``0 0 30 2 *``:
    croniter accepts it, then finds no date). Validation rejects such a schedule before this
    point; this guard keeps the answer bad input (REST 400) either way."""
    from croniter import CroniterBadDateError

    from nbprod.jobs.versions import next_fire_times

    try:
        return next_fire_times(definition, count)
    except CroniterBadDateError:
        raise FieldError(
            f"schedule {definition.schedule!r} never fires (no such date)", "schedule"
        ) from None


def timezones() -> list[str]:
    """The IANA timezone names a job may use (Area/City and UTC), sorted."""
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def run_notebook_now(ws: Workspace, form: Mapping[str, Any], *, root: str | Path) -> Any:
    """Queue a one-off run of a notebook under ``root`` (the Schedule dialog's *Run now*);
    returns its RunRequest. Errors name the form field to blame."""
    from nbprod.core.queueing import enqueue_notebook
    from nbprod.store import layout

    path = resolve_notebook(root, form.get("path") or "")
    job = form.get("name") or layout.job_name_from_stem(path.stem)
    try:
        layout.check_job_name(str(job))
    except BadInput as exc:
        raise FieldError(str(exc), "name") from None
    values = parse_parameters(schema_of(path), form.get("parameters"))
    timeout = form_timeout(form)
    target = ws
    if form.get("store"):
        from nbprod.store import open_store

        try:
            open_store(str(form["store"]))
        except BadInput as exc:
            raise FieldError(str(exc), "store") from None
        target = Workspace(replace(ws.settings, store=str(form["store"])))
    try:
        requests = enqueue_notebook(
            target,
            path,
            [values],
            job=str(job),
            kernel=form.get("kernel") or None,
            cwd=path.parent,
            timeout=timeout,
            report_mode=bool(form.get("report_mode")),
            trigger="lab",
        )
    except BadInput as exc:
        raise FieldError(str(exc), field_of(exc)) from None
    finally:
        if target is not ws:
            target.close()
    return requests[0]


def form_timeout(form: Mapping[str, Any]) -> float | None:
    """A one-off run's (or sweep's) ``timeout`` field in seconds (``90``, ``30m``), or None."""
    timeout = form.get("timeout")
    if timeout in (None, ""):
        return None
    from nbprod.durations import parse_duration

    try:
        seconds = parse_duration(timeout, "timeout")
    except BadInput as exc:
        raise FieldError(str(exc), "timeout") from None
    if seconds <= 0:
        raise FieldError("'timeout' must be positive", "timeout")
    return seconds


def field_of(exc: BadInput) -> str | None:
    """The form field a core error is about, by its type."""
    if isinstance(exc, ParameterError):
        return "parameters"
    if isinstance(exc, KernelNotFound):
        return "kernel"
    return None


def templates_info(settings: Any) -> list[dict[str, Any]]:
    """The templates `nbprod templates list` shows (built-in and ``NBPROD_TEMPLATES``), each
    with what it requires and whether that is installed here; no file paths (a face shows
    names, and the server's paths are not the browser's business)."""
    from nbprod.templates import list_templates

    shown = ("name", "description", "source", "requires", "missing", "ready", "install")
    try:
        found = list_templates(settings)
    except BadInput as exc:  # the configured folder does not exist
        raise FieldError(str(exc), "templates") from None
    return [
        {key: value for key, value in t.to_dict().items() if key in shown}
        | {"overrides": t.overrides}
        for t in found
    ]


def new_from_template(settings: Any, root: str | Path, form: Mapping[str, Any]) -> dict[str, Any]:
    """``nbprod new`` for the JupyterLab launcher: a notebook from ``form["template"]`` in
    ``form["folder"]`` (relative to ``root``, the file browser's folder), named
    ``form["name"]`` or the first free ``<template>.ipynb``, ``<template>1.ipynb``, ...
    Never overwrites; the answer is the path relative to ``root``."""
    from nbprod.store import layout
    from nbprod.templates import get_template, new_notebook

    name = form.get("template")
    if not isinstance(name, str) or not name.strip():
        raise FieldError("a template name is required", "template")
    try:
        template = get_template(name, settings)
    except BadInput as exc:
        raise FieldError(str(exc), "template") from None
    folder = _folder_in_root(root, form.get("folder") or "")
    wanted = form.get("name")
    if wanted is not None and not isinstance(wanted, str):
        raise FieldError("'name' must be a file name", "name")
    if wanted:
        wanted = wanted if wanted.endswith(".ipynb") else wanted + ".ipynb"
        try:
            layout.check_file_name(wanted)
        except BadInput as exc:
            raise FieldError(str(exc), "name") from None
        candidates = [wanted]
    else:
        stem = template.name if _safe_stem(template.name) else "notebook"
        candidates = [f"{stem}{n or ''}.ipynb" for n in range(1000)]
    for candidate in candidates:
        target = folder / candidate
        if target.exists():
            continue
        try:
            created = new_notebook(target, template.name, settings=settings)
        except BadInput as exc:  # created meanwhile, or a name the store layout refuses
            if wanted:
                error = Conflict(str(exc)) if target.exists() else FieldError(str(exc), "name")
                raise error from None
            continue
        relative = created.notebook.resolve().relative_to(Path(root).resolve()).as_posix()
        return {
            "path": relative,
            "template": template.name,
            "missing": template.missing(),
            "install": template.install_hint(),
        }
    if wanted:
        raise Conflict(
            f"{wanted} already exists in {form.get('folder') or 'the root'}; not overwriting it"
        )
    raise Conflict(f"no free name for a new {template.name} notebook in this folder")


def _safe_stem(stem: str) -> bool:
    return bool(stem) and all(c.isalnum() or c in "._-" for c in stem) and not stem.startswith(".")


def _folder_in_root(root: str | Path, folder: str) -> Path:
    """An existing folder under ``root`` (the contents root), never one outside it."""
    if not isinstance(folder, str):
        raise FieldError("'folder' must be a path relative to the server's root", "folder")
    base = Path(root).resolve()
    try:
        target = (base / folder.strip().strip("/")).resolve()
        inside = target == base or base in target.parents
        found = target.is_dir()
    except (OSError, RuntimeError, ValueError) as exc:
        raise FieldError(f"cannot look up folder {folder!r}: {exc}", "folder") from None
    if not inside:
        raise FieldError(f"folder {folder!r} is outside the server's root", "folder")
    if not found:
        raise NotFound(f"no folder {folder!r}")
    return target
