"""The REST API's operations, framework-free (the handlers in api_handlers.py are thin).

Every operation calls the same core as the CLI: job definitions go through
``validate_definition`` + ``apply_definition`` (what ``nbprod jobs apply`` does), runs go
through the catalog queue (``enqueue_notebook`` / ``enqueue_job``) that the scheduler's
workers drain. Request shapes (types, depth, NUL, lengths) are checked first by
:mod:`nbprod.server.request_shape`. Bad input raises :class:`FieldError` (400, naming the
form field when one is to blame), unknown things raise ``NotFound`` (404), clashes raise
:class:`~nbprod.errors.Conflict` (409).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.errors import BadInput, Conflict, KernelNotFound, ParameterError
from nbprod.server import request_shape as shape
from nbprod.server.request_shape import FieldError
from nbprod.server.views.common import NotFound

__all__ = ["Conflict", "FieldError", "NotFound"]

API_VERSION = "1"
"""Bumped on incompatible changes; the frontend checks it (``GET /nbprod/api/info``)."""

OUTPUTS_DIR = "nbprod-outputs"
"""Where read-only copies of output notebooks go, under the Jupyter contents root."""

FORM_FIELDS = ("name", "schedule", "timezone", "kernel", "retries", "timeout", "store")


# -- notebooks and parameters -----------------------------------------------------------


def resolve_notebook(root: str | Path, path: str) -> Path:
    """A contents-API path (relative to the server's root) as a local notebook path."""
    if not isinstance(path, str) or not path.strip():
        raise FieldError("a notebook path is required", "path")
    shape.check_path(path, "path")
    root = Path(root).resolve()
    try:
        target = (root / path.strip().lstrip("/")).resolve()
        if target != root and root not in target.parents:
            raise FieldError(f"notebook path {path!r} is outside the server's root", "path")
        if target.suffix != ".ipynb":
            raise FieldError(f"{path!r} is not a notebook (.ipynb)", "path")
        found = target.is_file()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a path the OS refuses
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


def job_notebook_info(settings: Settings, name: str) -> dict[str, Any]:
    """The dialog's starting point for editing a job: its notebook's parameters."""
    definition = get_job(settings, name)["definition"]
    notebook = Path(definition["notebook"])
    if not notebook.is_file():
        raise NotFound(f"the notebook of job {name!r} is missing: {notebook}")
    info = notebook_info(notebook.parent, notebook.name)
    info["path"] = None
    info["job"] = name
    return info


def parse_parameters(schema: Any, texts: Any) -> dict[str, Any]:
    """Form values (text, typed by the schema like ``-p NAME VALUE``) → typed values.

    Each error names its field (``parameters.<name>``).
    """
    from nbprod.params import parse_cli_value

    if texts in (None, ""):
        texts = {}
    if not isinstance(texts, dict):
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
                from nbprod.params import coerce_value

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


def _schema_of(path: Path) -> Any:
    from nbprod.params import infer_schema
    from nbprod.runner import load_notebook

    return infer_schema(load_notebook(path)[2])


# -- cron preview -----------------------------------------------------------------------


def cron_preview(schedule: str, timezone: str = "UTC", count: int = 3) -> dict[str, Any]:
    """Description and next fire times of a schedule, in ``timezone`` (validated like a job)."""
    from nbprod.jobs.definition import _schedule, _timezone
    from nbprod.jobs.model import JobDefinition
    from nbprod.server.cron_text import describe

    if not 1 <= count <= 50:
        raise FieldError("count must be between 1 and 50", "count")
    shape.check_query(schedule, "schedule")
    shape.check_query(timezone, "timezone")
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
        "next": [t.isoformat() for t in _fire_times(definition, count)],
    }


def _fire_times(definition: Any, count: int) -> list[Any]:
    """The next fire times, or a FieldError for a schedule that never fires (``0 0 30 2 *``:
    croniter accepts it, then finds no date). The core's validation should reject such a
    schedule before this point; this guard keeps the REST answer a 400 either way."""
    from croniter import CroniterBadDateError

    from nbprod.jobs.service import next_fire_times

    try:
        return next_fire_times(definition, count)
    except CroniterBadDateError:
        raise FieldError(
            f"schedule {definition.schedule!r} never fires (no such date)", "schedule"
        ) from None


def timezones() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


# -- jobs -------------------------------------------------------------------------------


def list_jobs(settings: Settings) -> list[dict[str, Any]]:
    from nbprod.jobs.actions import list_jobs as _list

    return [_job_row(view) for view in _list(settings=settings)]


def _job_row(view: Any) -> dict[str, Any]:
    data = view.to_dict()
    data.pop("versions", None)
    data["next_run"] = data["next_runs"][0] if data["next_runs"] else None
    data["description"] = view.definition.description
    return data


def get_job(settings: Settings, name: str) -> dict[str, Any]:
    from nbprod.jobs.actions import show_job
    from nbprod.jobs.service import JobNotFound

    try:
        view = show_job(name, settings=settings, next_count=3)
    except JobNotFound as exc:
        raise NotFound(str(exc)) from None
    data = view.to_dict()
    data["next_run"] = data["next_runs"][0] if data["next_runs"] else None
    return data


def _exists(settings: Settings, name: str) -> bool:
    from nbprod.api import open_catalog
    from nbprod.store import open_store

    catalog = open_catalog(settings)
    try:
        return catalog.job(open_store(settings.store).url, name) is not None
    finally:
        catalog.close()


def definition_from_form(
    body: dict[str, Any], *, root: str | Path, existing: dict[str, Any] | None = None
) -> Any:
    """A validated JobDefinition from the dialog's fields, over ``existing`` (an edit keeps
    every field the form does not show). Errors name the field to blame."""
    from nbprod.jobs.definition import validate_definition
    from nbprod.store import layout

    if not isinstance(body, dict):
        raise FieldError("the request body must be a JSON object")
    shape.check_form(body, shape.JOB_FORM)
    data: dict[str, Any] = dict(existing or {})
    data.pop("paused", None)
    retention = data.pop("retention", None) or {}
    kept = {"keep_last": retention.get("keep_last")}
    if retention.get("older_than_days") is not None:
        kept["older_than"] = f"{retention['older_than_days'] * 86400}s"
    if any(v is not None for v in kept.values()):
        data["retention"] = {k: v for k, v in kept.items() if v is not None}
    name = body.get("name") or data.get("name")
    try:
        layout.check_job_name(str(name or ""))
    except BadInput as exc:
        raise FieldError(str(exc), "name") from None
    data["name"] = name
    if body.get("path"):
        data["notebook"] = str(resolve_notebook(root, body["path"]))
    elif not data.get("notebook"):
        raise FieldError("a notebook path is required", "path")
    notebook = Path(data["notebook"])
    if not notebook.is_file():
        raise FieldError(f"the job's notebook {notebook} is missing", "path")

    for key in ("schedule", "timezone", "kernel", "store", "description"):
        if key in body:
            value = body[key]
            data[key] = value.strip() if isinstance(value, str) else value
            if value is None or (data[key] == "" and key != "description"):
                data.pop(key)
    for key in ("retries",):
        if key in body and body[key] not in ("", None):
            data[key] = _int_field(body[key], key)
    for key in ("timeout", "cell_timeout"):
        if key in body:
            value = body[key]
            if value in ("", None):
                data.pop(key, None)
            else:
                data[key] = value
    if body.get("notifications") is not None:
        data["notifications"] = body["notifications"]
    if body.get("parameters") is not None:
        data["parameters"] = parse_parameters(_schema_of(notebook), body["parameters"])

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
    _fire_times(definition, 1)  # before anything is stored
    return definition


def _int_field(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise FieldError(f"'{key}' must be a whole number", key)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(f"'{key}' must be a whole number, got {value!r}", key) from None
    return number


def save_job(
    settings: Settings, body: dict[str, Any], *, root: str | Path, name: str | None = None
) -> dict[str, Any]:
    """Create a job (``name`` None; 409 if it exists) or store a new version of ``name``."""
    from nbprod.jobs.actions import apply_definition
    from nbprod.jobs.service import VersionConflict

    if not isinstance(body, dict):
        raise FieldError("the request body must be a JSON object")
    shape.check_form(body, shape.JOB_FORM)
    existing = None
    if name is None:
        new_name = body.get("name")
        if isinstance(new_name, str) and new_name and _exists(settings, new_name):
            raise Conflict(f"a job named {new_name!r} exists; edit it or choose another name")
    else:
        existing = get_job(settings, name)["definition"]
        if body.get("name", name) not in (name, None):
            raise FieldError("a job cannot be renamed; create a new one", "name")
    definition = definition_from_form(body, root=root, existing=existing)
    try:
        result = apply_definition(definition, settings=settings, source="job")
    except VersionConflict as exc:
        raise Conflict(str(exc)) from None
    except BadInput as exc:
        raise FieldError(str(exc).removeprefix("job: "), _blame(exc)) from None
    job = get_job(settings, definition.name)
    job["created"] = result.created
    job["changes"] = result.version.changes if result.created else []
    return job


def _blame(exc: BadInput) -> str | None:
    """The form field a core error is about, by its type."""
    if isinstance(exc, ParameterError):
        return "parameters"
    if isinstance(exc, KernelNotFound):
        return "kernel"
    return None


def delete_job(settings: Settings, name: str) -> dict[str, Any]:
    """Remove a job's definition (all versions and its state) from the store and the
    catalog, and drop its queued runs. Its past runs stay (as runs of an ad-hoc job)."""
    from nbprod.api import open_catalog
    from nbprod.scheduler.queue import QUEUED, Queue, utcnow
    from nbprod.store import layout, open_store

    get_job(settings, name)  # 404 for an unknown job
    store = open_store(settings.store)
    prefix = layout.job_versions_prefix(name)
    for entry in list(store.list(prefix)):
        if not entry.is_dir:
            store.delete(f"{prefix}/{entry.name}")
    catalog = open_catalog(settings)
    dropped = []
    try:
        catalog.delete_job(store.url, name)
        queue = Queue(catalog)
        for item in queue.items((QUEUED,), limit=10000):
            if item.store == store.url and item.job == name:
                if queue.request_cancel(item.store, item.run_id, utcnow()) == "cancelled":
                    dropped.append(item.run_id)
    finally:
        catalog.close()
    return {"deleted": name, "cancelled_queued": dropped}


def set_paused(settings: Settings, name: str, paused: bool) -> dict[str, Any]:
    from nbprod.jobs.actions import set_paused as _set

    get_job(settings, name)
    _set(name, paused, settings=settings)
    return get_job(settings, name)


# -- runs -------------------------------------------------------------------------------


def run_job_now(settings: Settings, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Queue one run of a job's latest version, with optional parameter overrides."""
    from nbprod.api import enqueue_job

    shape.check_form(body or {}, shape.JOB_RUN_FORM)
    job = get_job(settings, name)
    texts = (body or {}).get("parameters") or {}
    schema = _schema_of(Path(job["definition"]["notebook"])) if texts else None
    if texts:
        parse_parameters(schema, texts)  # field-level errors first
    run_id = enqueue_job(name, settings=settings, cli_parameters=[(k, v) for k, v in texts.items()])
    return {"run_id": run_id, "job": name, "status": "queued"}


def run_notebook_now(settings: Settings, body: dict[str, Any], *, root: str | Path) -> Any:
    """Queue a one-off run of a notebook (the Schedule dialog's *Run now*)."""
    from nbprod.api import enqueue_notebook
    from nbprod.store import layout

    if not isinstance(body, dict):
        raise FieldError("the request body must be a JSON object")
    shape.check_form(body, shape.RUN_FORM)
    path = resolve_notebook(root, body.get("path") or "")
    job = body.get("name") or layout.job_name_from_stem(path.stem)
    try:
        layout.check_job_name(str(job))
    except BadInput as exc:
        raise FieldError(str(exc), "name") from None
    values = parse_parameters(_schema_of(path), body.get("parameters"))
    timeout = body.get("timeout")
    if timeout not in (None, ""):
        from nbprod.durations import parse_duration

        try:
            timeout = parse_duration(timeout, "timeout")
        except BadInput as exc:
            raise FieldError(str(exc), "timeout") from None
        if timeout <= 0:
            raise FieldError("'timeout' must be positive", "timeout")
    else:
        timeout = None
    run_settings = settings
    if body.get("store"):
        from nbprod.store import open_store

        try:
            open_store(str(body["store"]))
        except BadInput as exc:
            raise FieldError(str(exc), "store") from None
        run_settings = replace(settings, store=str(body["store"]))
    try:
        requests = enqueue_notebook(
            path,
            [values],
            settings=run_settings,
            job=str(job),
            kernel=body.get("kernel") or None,
            cwd=path.parent,
            timeout=timeout,
            trigger="lab",
        )
    except BadInput as exc:
        raise FieldError(str(exc), _blame(exc)) from None
    request = requests[0]
    return {"run_id": request.run_id, "job": request.job, "status": "queued"}


def list_runs(settings: Settings, *, job: str | None = None, limit: int = 30) -> list[dict]:
    """Recent runs, newest first: queued and running ones from the queue (live progress
    from the running record the worker re-publishes), finished ones from the catalog."""
    from nbprod.api import list_runs as catalog_runs
    from nbprod.api import open_catalog
    from nbprod.scheduler.queue import QUEUED, RUNNING, Queue
    from nbprod.store import open_store

    if not 1 <= limit <= 500:
        raise FieldError("limit must be between 1 and 500", "limit")
    store = open_store(settings.store)
    rows: dict[str, dict[str, Any]] = {}
    for record in catalog_runs(settings=settings, job=job, limit=limit):
        rows[record.run_id] = run_row(record)
    catalog = open_catalog(settings)
    try:
        pending = Queue(catalog).items((QUEUED, RUNNING), limit=200)
    finally:
        catalog.close()
    for item in pending:
        if item.store != store.url or (job and item.job != job):
            continue
        row = rows.get(item.run_id)
        if item.state == RUNNING or row is None or row["status"] == "running":
            fresh = _fresh_record(store, item.job, item.run_id)
            if fresh is not None:
                rows[item.run_id] = run_row(fresh)
            elif row is None:
                rows[item.run_id] = _queued_row(item)
        if item.run_id in rows:
            rows[item.run_id]["cancel_requested"] = item.cancel_requested
    ordered = sorted(rows.values(), key=lambda r: r["run_id"], reverse=True)
    return ordered[:limit]


def _fresh_record(store: Any, job: str, run_id: str) -> Any:
    from nbprod.records import RunRecord
    from nbprod.store import layout

    try:
        return RunRecord.from_json(store.get(layout.record_key(job, run_id)))
    except (KeyError, BadInput, ValueError):
        return None


def _queued_row(item: Any) -> dict[str, Any]:
    return {
        "run_id": item.run_id,
        "job": item.job,
        "status": "queued" if item.state == "queued" else "starting",
        "trigger": (item.request or {}).get("trigger"),
        "attempt": item.attempt,
        "started_at": None,
        "finished_at": None,
        "duration_s": None,
        "progress": {"cells_done": 0, "cells_total": 0},
        "parameters": (item.request or {}).get("parameters") or {},
        "error": None,
        "output": None,
    }


def run_row(record: Any) -> dict[str, Any]:
    error = None
    if record.error is not None:
        error = {
            "ename": record.error.ename,
            "evalue": record.error.evalue,
            "cell_index": record.error.cell_index,
        }
    return {
        "run_id": record.run_id,
        "job": record.job,
        "status": record.status.value,
        "trigger": record.trigger,
        "attempt": record.attempt,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_s": record.duration_s,
        "progress": {
            "cells_done": record.progress.cells_done,
            "cells_total": record.progress.cells_total,
        },
        "parameters": record.parameters,
        "error": error,
        "output": record.artifacts.get("output"),
    }


def get_run(settings: Settings, run_id: str) -> dict[str, Any]:
    from nbprod.scheduler.queue import Queue
    from nbprod.server.service import BrowseService

    service = BrowseService(settings)
    try:
        try:
            record = service.fresh_run(run_id)
        except NotFound:
            item = Queue(service.catalog).get(service.store.url, run_id)
            if item is None:
                raise
            return _queued_row(item)
        return run_row(record)
    finally:
        service.close()


def cancel_run(settings: Settings, run_id: str) -> dict[str, Any]:
    from nbprod.api import cancel_run as _cancel
    from nbprod.errors import RunNotFound
    from nbprod.store import layout

    if not layout.is_run_id(run_id):
        raise NotFound(f"no run {run_id!r} (not a run id)")
    try:
        message = _cancel(run_id, settings=settings)
    except RunNotFound as exc:
        raise NotFound(str(exc)) from None
    return {"run_id": run_id, "message": message}


def open_output(settings: Settings, run_id: str, *, root: str | Path) -> dict[str, Any]:
    """Copy a run's output notebook under the contents root, read-only, for JupyterLab.

    Every cell of the copy is marked non-editable and non-deletable (JupyterLab honours
    that), and the file is made read-only; the stored original is never touched.
    """
    import nbformat

    from nbprod.server.service import BrowseService
    from nbprod.store import layout

    service = BrowseService(settings)
    try:
        record = service.run(run_id)
        if record.status.value in ("running", "queued"):
            raise Conflict(f"run {run_id} is still {record.status.value}; open it when it ends")
        key = record.artifacts.get("output")
        if not key:
            raise NotFound(f"run {run_id} has no output notebook")
        data = service.read(key)
    finally:
        service.close()
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    for cell in nb.cells:
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
    nb.metadata["nbprod_output_of"] = run_id
    name = layout.check_file_name(key.rsplit("/", 1)[-1])
    relative = f"{OUTPUTS_DIR}/{record.job}/{run_id}/{name}"
    target = Path(root) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.chmod(target, 0o644)
    target.write_text(nbformat.writes(nb), "utf-8")
    os.chmod(target, 0o444)
    cell = record.error.cell_index if record.error else None
    return {"path": relative, "run_id": run_id, "status": record.status.value, "cell": cell}


# -- executing queued runs --------------------------------------------------------------


def workers_alive(settings: Settings) -> bool:
    """Whether some worker beat recently (an embedded or external scheduler's, or one's own)."""
    from nbprod.api import open_catalog
    from nbprod.scheduler.queue import Queue, parse_iso, utcnow

    catalog = open_catalog(settings)
    try:
        now = utcnow()
        return any(
            w["state"] != "stopped"
            and (now - parse_iso(w["heartbeat_at"])).total_seconds() < settings.lost_after
            for w in Queue(catalog).workers()
        )
    finally:
        catalog.close()


def start_burst_worker(settings: Settings, run_id: str) -> subprocess.Popen:
    """Run one queued run in the background when no scheduler's workers would take it."""
    from nbprod.scheduler import pool

    return pool.start_burst_worker(settings, run_id)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
