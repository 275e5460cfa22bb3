"""Jobs scheduled by another orchestrator: `nbprod export airflow` and taking a job back.

Exporting marks the job's definition ``scheduled_by: airflow`` in a new version (same
pinned notebook), so every nbprod scheduler (the daemon and the one embedded in
JupyterLab) stops firing it from that moment, the store says who schedules the job, and a
catalog rebuild keeps it. The DAG file runs that version. `nbprod export undo`, or any
apply of a definition without the field, takes the job back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from nbprod.core.jobs import JobView, handed_back, list_jobs, show_job
from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, FieldError
from nbprod.jobs.model import JobVersion


@dataclass
class Exported:
    """One job's DAG file as `nbprod export airflow` wrote it."""

    job: str
    version: int
    path: Path
    marked: bool
    """True when this export stored the version that hands the job to Airflow."""
    changed: bool
    """False when the file already held these bytes."""
    lost: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "job": self.job,
            "version": self.version,
            "path": str(self.path),
            "marked": self.marked,
            "changed": self.changed,
            "lost": list(self.lost),
        }


def export_airflow(
    ws: Workspace,
    names: Sequence[str] = (),
    *,
    out_dir: str | os.PathLike[str],
    all_jobs: bool = False,
    tag: str | None = None,
) -> list[Exported]:
    """Write one Airflow DAG file per job into ``out_dir`` and mark each job scheduled by
    Airflow. Every job and the folder are checked before anything is stored or written."""
    from nbprod.jobs import airflow

    if all_jobs == bool(names):
        raise BadInput("give job names or --all (one of them)")
    if tag is not None and not all_jobs:
        raise FieldError("--tag goes with --all", "tag")
    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise FieldError(f"{folder} is not a directory", "out_dir")
    views = _chosen(ws, names, all_jobs, tag)
    for view in views:  # refusals first: a seconds schedule, a broken job
        airflow.render(view.versions[-1], store_url=ws.store.url)
    folder.mkdir(parents=True, exist_ok=True)
    exported = []
    for view in views:
        version, marked = _mark(ws, view, "airflow")
        dag = airflow.render(version, store_url=ws.store.url, paused=view.paused)
        path = folder / dag.file_name
        data = dag.text.encode()
        changed = not (path.is_file() and path.read_bytes() == data)
        if changed:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # Airflow's parser never reads half a file
        exported.append(Exported(view.name, version.version, path, marked, changed, dag.lost))
    return exported


def take_back(ws: Workspace, name: str) -> JobView:
    """Let nbprod's schedulers fire job ``name`` again (a new version without
    ``scheduled_by``); the DAG file left in Airflow should be deleted."""
    view = show_job(ws, name, next_count=0)
    if view.broken:
        raise BadInput(f"job {name!r} is broken: {view.broken}")
    if not view.definition.scheduled_by:
        raise BadInput(f"job {name!r} is scheduled by nbprod already")
    _mark(ws, view, None)
    handed_back(ws, ws.store.url, name, view.definition.scheduled_by)
    return show_job(ws, name)


def _chosen(ws: Workspace, names: Sequence[str], all_jobs: bool, tag: str | None) -> list[JobView]:
    if all_jobs:
        names = [v.name for v in list_jobs(ws) if tag is None or tag in v.definition.tags]
        if not names:
            where = f" tagged {tag!r}" if tag is not None else ""
            raise BadInput(f"no job{where} in {ws.store.url} (see `nbprod jobs list`)")
    views = []
    for name in dict.fromkeys(names):
        view = show_job(ws, name, next_count=0)  # JobNotFound
        if view.broken or not view.versions:
            raise BadInput(f"job {name!r} is broken: {view.broken} (fix it with `jobs apply`)")
        views.append(view)
    return views


def _mark(ws: Workspace, view: JobView, by: str | None) -> tuple[JobVersion, bool]:
    """The job's latest version with ``scheduled_by`` = ``by``: stored as a new version
    (same pinned notebook) unless it already says so."""
    from nbprod.jobs import versions
    from nbprod.store import layout

    latest = view.versions[-1]
    if latest.definition.scheduled_by == by:
        return latest, False
    store = ws.store
    try:
        source = store.get(layout.snapshot_key(latest.notebook_sha256))
    except KeyError:
        raise BadInput(
            f"notebook snapshot {latest.notebook_sha256[:12]} of job {view.name!r} is missing "
            f"from {store.url}"
        ) from None
    definition = replace(latest.definition, scheduled_by=by, paused=None)
    result = versions.apply(definition, store, source)
    ws.catalog.index_job_version(store.url, result.version)
    return result.version, result.created
