"""The REST API's run operations, framework-free (the handlers in api_handlers.py are thin).

The job and notebook operations live in the core (:mod:`nbprod.core.jobs`,
:mod:`nbprod.core.notebooks`); what is left here is the run listing the JupyterLab panel
shows, opening an output notebook under the contents root, and the background worker for
a queued run nobody else would take. Bad input raises :class:`~nbprod.errors.FieldError`
(400, naming the field), unknown things ``NotFound`` (404), clashes ``Conflict`` (409).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.errors import BadInput, Conflict, FieldError, NotFound

__all__ = ["Conflict", "FieldError", "NotFound"]

API_VERSION = "1"
"""Bumped on incompatible changes; the frontend checks it (``GET /nbprod/api/info``)."""

OUTPUTS_DIR = "nbprod-outputs"
"""Where read-only copies of output notebooks go, under the Jupyter contents root."""

# -- runs -------------------------------------------------------------------------------


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


def start_burst_worker(settings: Settings, run_id: str) -> subprocess.Popen:
    """Run one queued run in the background when no scheduler's workers would take it."""
    folder = Path(settings.home) / "lab"
    folder.mkdir(parents=True, exist_ok=True)
    only = folder / f"{run_id}.only"
    only.write_text(run_id + "\n")
    env = {**os.environ, "NBPROD_HOME": str(settings.home), "NBPROD_STORE": settings.store}
    if settings.catalog:
        env["NBPROD_CATALOG"] = settings.catalog
    nbprod = shutil.which("nbprod")
    command = [nbprod] if nbprod else [sys.executable, "-m", "nbprod"]
    return subprocess.Popen(
        [*command, "worker", "--burst", "--only-file", str(only)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
