"""A job from the JupyterLab Schedule dialog's form: create or edit (``POST /jobs``, ``PUT
/jobs/{name}``), each field checked as `nbprod jobs apply` checks the YAML, and the
dialog's starting point for an edit. Errors are ``FieldError`` naming the field to blame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbprod.core.jobs import JobView, apply_definition, show_job
from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, Conflict, FieldError, NotFound
from nbprod.jobs.model import JobDefinition

FORM_FIELDS = (
    "name",
    "schedule",
    "timezone",
    "kernel",
    "retries",
    "timeout",
    "store",
    "concurrency",
    "overlap",
    "catchup",
    "tags",
    "description",
    "report_mode",
)
"""The dialog's fields that are validated one by one, so an error names its field."""


@dataclass
class SavedJob:
    """What ``save_job`` did: the job as it is now, whether a version was created, and the
    changes that version made."""

    job: JobView
    created: bool
    changes: list[str]


def save_job(
    ws: Workspace, form: Mapping[str, Any], *, root: str | Path, name: str | None = None
) -> SavedJob:
    """Create a job from the dialog's form (``name`` None; Conflict if it exists) or store
    a new version of job ``name``. Errors name the form field to blame."""
    from nbprod.core.notebooks import field_of
    from nbprod.jobs.versions import VersionConflict

    existing = None
    if name is None:
        new_name = form.get("name")
        if isinstance(new_name, str) and new_name and ws.catalog.job(ws.store.url, new_name):
            raise Conflict(f"a job named {new_name!r} exists; edit it or choose another name")
    else:
        existing = show_job(ws, name).definition.to_dict()
        if form.get("name", name) not in (name, None):
            raise FieldError("a job cannot be renamed; create a new one", "name")
    definition = definition_from_form(form, root=root, existing=existing)
    try:
        result = apply_definition(ws, definition, source="job")
    except VersionConflict as exc:
        raise Conflict(str(exc)) from None
    except BadInput as exc:
        raise FieldError(str(exc).removeprefix("job: "), field_of(exc)) from None
    job = show_job(ws, definition.name)
    return SavedJob(job, result.created, result.version.changes if result.created else [])


def definition_from_form(
    form: Mapping[str, Any], *, root: str | Path, existing: Mapping[str, Any] | None = None
) -> JobDefinition:
    """A validated JobDefinition from the dialog's fields, over ``existing`` (an edit keeps
    every field the form does not show). Errors name the field to blame."""
    from nbprod.core.notebooks import fire_times, parse_parameters, resolve_notebook, schema_of
    from nbprod.jobs.definition import validate_definition
    from nbprod.store import layout

    data: dict[str, Any] = dict(existing or {})
    data.pop("paused", None)
    retention = data.pop("retention", None) or {}
    kept = {"keep_last": retention.get("keep_last")}
    if retention.get("older_than_days") is not None:
        kept["older_than"] = f"{retention['older_than_days'] * 86400}s"
    if any(v is not None for v in kept.values()):
        data["retention"] = {k: v for k, v in kept.items() if v is not None}
    name = form.get("name") or data.get("name")
    try:
        layout.check_job_name(str(name or ""))
    except BadInput as exc:
        raise FieldError(str(exc), "name") from None
    data["name"] = name
    if form.get("path"):
        data["notebook"] = str(resolve_notebook(root, form["path"]))
    elif not data.get("notebook"):
        raise FieldError("a notebook path is required", "path")
    notebook = Path(data["notebook"])
    if not notebook.is_file():
        raise FieldError(f"the job's notebook {notebook} is missing", "path")

    for key in ("schedule", "timezone", "kernel", "store", "description", "overlap", "catchup"):
        if key in form:
            value = form[key]
            data[key] = value.strip() if isinstance(value, str) else value
            if value is None or (data[key] == "" and key != "description"):
                data.pop(key)
    for key in ("retries", "concurrency"):
        if form.get(key) not in ("", None):
            data[key] = _int_field(form[key], key)
    if form.get("tags") is not None:
        data["tags"] = form["tags"]
    if form.get("report_mode") is not None:
        data["report_mode"] = form["report_mode"]
    for key in ("timeout", "cell_timeout"):
        if key in form:
            value = form[key]
            if value in ("", None):
                data.pop(key, None)
            else:
                data[key] = value
    if form.get("notifications") is not None:
        data["notifications"] = form["notifications"]
    if form.get("parameters") is not None:
        data["parameters"] = parse_parameters(schema_of(notebook), form["parameters"])

    # Blame one field: validate each alone with the same checks as `nbprod jobs apply`.
    base = {"name": name, "notebook": str(notebook)}
    for key in (*FORM_FIELDS, "notifications", "cell_timeout"):
        if key in data and key != "name":
            try:
                validate_definition({**base, key: data[key]}, base_dir=notebook.parent, source=key)
            except BadInput as exc:
                raise FieldError(str(exc).removeprefix(f"{key}: "), key) from None
    try:
        definition = validate_definition(data, base_dir=notebook.parent, source="job")
    except BadInput as exc:
        raise FieldError(str(exc).removeprefix("job: ")) from None
    fire_times(definition, 1)  # before anything is stored
    return definition


def _int_field(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise FieldError(f"'{key}' must be a whole number", key)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(f"'{key}' must be a whole number, got {value!r}", key) from None
    return number


def job_notebook_info(ws: Workspace, name: str) -> dict[str, Any]:
    """The dialog's starting point for editing a job: its notebook's parameters (the
    working copy's: saving the edit pins it)."""
    from nbprod.core.notebooks import notebook_info

    notebook = Path(show_job(ws, name).definition.notebook)
    if not notebook.is_file():
        raise NotFound(f"the notebook of job {name!r} is missing: {notebook}")
    info = notebook_info(notebook.parent, notebook.name)
    info["path"] = None
    info["job"] = name
    return info
