"""Jobs and pipelines scheduled by another orchestrator: `nbprod export airflow` and
taking one back.

Exporting marks the job's definition ``scheduled_by: airflow`` in a new version (same
pinned notebook), so every nbprod scheduler (the daemon and the one embedded in
JupyterLab) stops firing it from that moment, the store says who schedules the job, and a
catalog rebuild keeps it. The DAG file runs that version. `nbprod export undo`, or any
apply of a definition without the field, takes the job back. A pipeline is exported the
same way (one task per step, ``pipelines/airflow.py``) and marked in a new pipeline
version.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nbprod.core.jobs import JobView, handed_back, list_jobs, show_job
from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, FieldError
from nbprod.jobs.model import JobVersion


@dataclass
class Exported:
    """One job's or pipeline's DAG file as `nbprod export airflow` wrote it."""

    job: str
    """The job's or pipeline's name."""
    version: int
    path: Path
    marked: bool
    """True when this export stored the version that hands the job to Airflow."""
    changed: bool
    """False when the file already held these bytes."""
    lost: list[str] = field(default_factory=list)
    kind: str = "job"
    """``job`` or ``pipeline``."""

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            self.kind: self.job,
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
    jobs: Sequence[str] = (),
    pipelines: Sequence[str] = (),
) -> list[Exported]:
    """Write one Airflow DAG file per job and pipeline into ``out_dir`` and mark each
    scheduled by Airflow. ``names`` are jobs' or pipelines' (one that is both is refused:
    ``jobs`` and ``pipelines`` say which). Everything and the folder are checked before
    anything is stored or written."""
    from nbprod.jobs import airflow
    from nbprod.pipelines import airflow as pipeline_airflow
    from nbprod.pipelines.versions import read_paused

    if all_jobs == bool(names or jobs or pipelines):
        raise BadInput("give job or pipeline names or --all (one of them)")
    if tag is not None and not all_jobs:
        raise FieldError("--tag goes with --all", "tag")
    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise FieldError(f"{folder} is not a directory", "out_dir")
    job_names, pipeline_names = _sorted_names(ws, names, jobs, pipelines)
    views = _chosen(ws, job_names, all_jobs, tag) if all_jobs or job_names else []
    chosen = [_pipeline_version(ws, name) for name in pipeline_names]
    _one_dag_per_name(ws, [v.name for v in views], [v.pipeline for v in chosen])
    for view in views:  # refusals first: a seconds schedule, a broken job
        airflow.render(view.versions[-1], store_url=ws.store.url)
    for version in chosen:
        pipeline_airflow.render(version, store_url=ws.store.url)
    folder.mkdir(parents=True, exist_ok=True)
    exported = []
    for view in views:
        job_version, marked = _mark(ws, view, "airflow")
        dag = airflow.render(job_version, store_url=ws.store.url, paused=view.paused)
        changed = _write(folder / dag.file_name, dag.text)
        exported.append(
            Exported(
                view.name, job_version.version, folder / dag.file_name, marked, changed, dag.lost
            )
        )
    for version in chosen:
        pipeline_version, marked = _mark_pipeline(ws, version, "airflow")
        dag = pipeline_airflow.render(
            pipeline_version, store_url=ws.store.url, paused=read_paused(ws.store, version.pipeline)
        )
        changed = _write(folder / dag.file_name, dag.text)
        exported.append(
            Exported(
                version.pipeline,
                pipeline_version.version,
                folder / dag.file_name,
                marked,
                changed,
                dag.lost,
                kind="pipeline",
            )
        )
    return exported


def _one_dag_per_name(ws: Workspace, jobs: list[str], pipelines: list[str]) -> None:
    """A job and a pipeline of one name would share a DAG file and a DAG id: refuse to
    export one while the other is (or is being) handed to Airflow."""
    from nbprod.pipelines.versions import PipelineNotFound, get_version

    url = ws.store.url
    for name in pipelines:
        summary = ws.catalog.job(url, name)
        if name in jobs or (summary is not None and summary.definition.get("scheduled_by")):
            raise BadInput(
                f"job {name!r} is exported to Airflow too: it and pipeline {name!r} would "
                f"share the DAG file and DAG id (take the job back: `nbprod export undo {name}`)"
            )
    for name in jobs:
        try:
            pipeline = get_version(ws.store, name)
        except PipelineNotFound:
            continue
        if pipeline.definition.scheduled_by:
            raise BadInput(
                f"pipeline {name!r} is exported to Airflow: it and job {name!r} would share "
                "the DAG file and DAG id"
            )


def _write(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it holds it already; whether it changed."""
    data = text.encode()
    if path.is_file() and path.read_bytes() == data:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # Airflow's parser never reads half a file
    return True


def _sorted_names(
    ws: Workspace, names: Sequence[str], jobs: Sequence[str], pipelines: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(job names, pipeline names): each bare name is a job's or a pipeline's, never both."""
    from nbprod.errors import NotFound
    from nbprod.pipelines.versions import pipeline_names

    url = ws.store.url
    known_pipelines = set(pipeline_names(ws.store))
    job_names, chosen_pipelines = list(jobs), list(pipelines)
    for name in names:
        summary = ws.catalog.job(url, name)
        is_job = summary is not None and summary.latest_version is not None
        is_pipeline = name in known_pipelines
        if is_job and is_pipeline:
            raise BadInput(
                f"{name!r} is both a job and a pipeline in {url}: say --job {name} or "
                f"--pipeline {name}"
            )
        if not is_job and not is_pipeline:
            raise NotFound(
                f"no job or pipeline {name!r} in {url} (see `nbprod jobs list`, "
                "`nbprod pipelines list`)"
            )
        (job_names if is_job else chosen_pipelines).append(name)
    return job_names, list(dict.fromkeys(chosen_pipelines))


def _pipeline_version(ws: Workspace, name: str) -> Any:
    from nbprod.pipelines.versions import get_version

    return get_version(ws.store, name)  # PipelineNotFound


def _mark_pipeline(ws: Workspace, latest: Any, by: str | None) -> tuple[Any, bool]:
    """The pipeline's latest version with ``scheduled_by`` = ``by``: stored as a new
    version (the same pinned snapshots) unless it already says so."""
    from nbprod.pipelines import versions
    from nbprod.store import layout

    if latest.definition.scheduled_by == by:
        return latest, False
    store = ws.store
    checked = {}
    for step, pin in latest.pinned.items():
        try:
            data = store.get(layout.snapshot_key(pin.notebook_sha256))
        except KeyError:
            raise BadInput(
                f"notebook snapshot {pin.notebook_sha256[:12]} of pipeline "
                f"{latest.pipeline!r} step {step} is missing from {store.url}"
            ) from None
        checked[step] = (data, pin)
    definition = replace(latest.definition, scheduled_by=by)
    result = versions.apply(definition, store, checked)
    # nbprod's scheduler fires pipelines from the catalog's row: it must say scheduled_by
    versions.index_latest(ws.catalog, store, result.version, result.first_created_at)
    return result.version, result.created


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


def take_back_any(ws: Workspace, name: str) -> tuple[str, int]:
    """Take job or pipeline ``name`` back from the scheduler it was exported to: (``job``
    or ``pipeline``, the version now current). A pipeline is taken back when it is the
    one of that name handed over (a new version without ``scheduled_by``)."""
    from nbprod.errors import NotFound
    from nbprod.pipelines.versions import PipelineNotFound, get_version

    summary = ws.catalog.job(ws.store.url, name)
    is_job = summary is not None and summary.latest_version is not None
    try:
        pipeline = get_version(ws.store, name)
    except PipelineNotFound:
        pipeline = None
    if pipeline is not None and pipeline.definition.scheduled_by:
        if not (is_job and summary.definition.get("scheduled_by")):
            version, _ = _mark_pipeline(ws, pipeline, None)
            return "pipeline", version.version
    if not is_job and pipeline is not None:
        raise BadInput(f"pipeline {name!r} is scheduled by nbprod already")
    if not is_job:
        raise NotFound(
            f"no job or pipeline {name!r} in {ws.store.url} (see `nbprod jobs list`, "
            "`nbprod pipelines list`)"
        )
    return "job", take_back(ws, name).version


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
