"""Pipeline operations for every face: apply, list, show; run, show a run, rerun from a
step (docs/pipelines.md).

Every function takes the :class:`~nbprod.core.workspace.Workspace` first and raises typed
errors (``BadInput`` for a bad definition or override, ``NotFound`` for an unknown
pipeline or run), so the faces only parse input and format the answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.pipelines.model import PipelineVersion
from nbprod.pipelines.record import PipelineRun
from nbprod.pipelines.versions import ApplyResult


def apply_pipeline(ws: Workspace, path: str | os.PathLike[str]) -> ApplyResult:
    """Validate a YAML definition (graph, references, every step against its notebook)
    and store it as a new version if anything changed."""
    from nbprod.pipelines import versions
    from nbprod.pipelines.definition import check_against_notebooks, load_definition

    definition = load_definition(path)
    checked = check_against_notebooks(definition, source=str(path))
    result = versions.apply(definition, ws.store, checked)
    # the scheduler fires from the catalog's row (rebuilt from the store by catalog sync)
    versions.index_latest(ws.catalog, ws.store, result.version, result.first_created_at)
    return result


def set_pipeline_paused(ws: Workspace, name: str, paused: bool) -> PipelineVersion:
    """Pause or resume a pipeline's schedule (a running pipeline run goes on); its latest
    version, PipelineNotFound for an unknown pipeline. The store holds the state, so a
    catalog rebuild keeps it."""
    from nbprod.pipelines import versions

    all_versions = versions.store_versions(ws.store, name)
    if not all_versions:
        versions.get_version(ws.store, name)  # raises PipelineNotFound
    versions.write_paused(ws.store, name, paused)
    versions.index_latest(ws.catalog, ws.store, all_versions[-1], all_versions[0].created_at)
    return all_versions[-1]


@dataclass
class PipelineView:
    """A pipeline as the faces list it: its latest version and its newest run."""

    name: str
    version: PipelineVersion
    versions: list[PipelineVersion] = field(default_factory=list)
    last_run: Any = None
    """The newest PipelineRun, or None."""
    runs: list[Any] = field(default_factory=list)
    """Its newest pipeline runs (``show_pipeline``), newest first."""
    paused: bool = False
    next_runs: list[Any] = field(default_factory=list)
    """The next fire times (aware datetimes in the pipeline's timezone); none while paused."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version.version,
            "paused": self.paused,
            "next_runs": [moment.isoformat() for moment in self.next_runs],
            "definition": self.version.definition.to_dict(),
            "pinned": self.version.to_dict()["pinned"],
            "versions": [
                {"version": v.version, "created_at": v.created_at, "changes": v.changes}
                for v in self.versions
            ],
            "last_run": self.last_run.to_dict() if self.last_run is not None else None,
            "runs": [run.to_dict() for run in self.runs],
        }


def list_pipelines(ws: Workspace) -> list[PipelineView]:
    """Every pipeline in the store, by name, with its latest version."""
    from nbprod.pipelines.versions import pipeline_names, store_versions

    views = []
    for name in pipeline_names(ws.store):
        versions = store_versions(ws.store, name)
        if versions:
            view = PipelineView(name, versions[-1], versions, _last_run(ws, name))
            views.append(_with_schedule(ws, view))
    return views


def _with_schedule(ws: Workspace, view: PipelineView, count: int = 3) -> PipelineView:
    from itertools import islice
    from zoneinfo import ZoneInfo

    from nbprod.pipelines.versions import read_paused
    from nbprod.records import utcnow
    from nbprod.scheduler.cron import fire_times

    view.paused = read_paused(ws.store, view.name)
    definition = view.version.definition
    if definition.schedule and not view.paused:
        zone = ZoneInfo(definition.timezone)
        view.next_runs = [
            t.astimezone(zone) for t in islice(fire_times(definition, utcnow()), count)
        ]
    return view


def show_pipeline(ws: Workspace, name: str, runs: int = 10) -> PipelineView:
    """A pipeline with every version and its ``runs`` newest runs; PipelineNotFound (a
    NotFound) for an unknown one."""
    from nbprod.catalog.pipelines import list_pipeline_runs as listing
    from nbprod.pipelines.versions import get_version, store_versions

    latest = get_version(ws.store, name)
    recent = listing(ws.catalog, ws.store.url, name, runs) if runs else []
    view = PipelineView(name, latest, store_versions(ws.store, name), None, recent)
    view.last_run = recent[0] if recent else _last_run(ws, name)
    return _with_schedule(ws, view)


def _last_run(ws: Workspace, name: str) -> Any:
    from nbprod.catalog.pipelines import list_pipeline_runs

    runs = list_pipeline_runs(ws.catalog, ws.store.url, name, limit=1)
    return runs[0] if runs else None


def run_pipeline(
    ws: Workspace, name: str, parameters: Sequence[str] = (), *, trigger: str = "manual"
) -> PipelineRun:
    """Start a run of a pipeline's latest version: ``parameters`` are ``step.param=value``
    overrides, typed and checked against the step's pinned notebook before anything is
    queued. Its first steps are queued; ``wait_for_run`` waits for (or executes) the rest."""
    from nbprod.pipelines.advance import overrides
    from nbprod.pipelines.runs import start
    from nbprod.pipelines.versions import get_version

    version = get_version(ws.store, name)
    typed = overrides(version, list(parameters))
    return start(ws.catalog, ws.store, version, overrides=typed, trigger=trigger)


def run_pipeline_form(
    ws: Workspace, name: str, parameters: Mapping[str, Any] | None = None
) -> PipelineRun:
    """``run_pipeline`` for a form (the REST API): ``{"step.param": value}``, each
    override checked alone so a bad one is a FieldError naming ``parameters.<step.param>``.
    A text value is parsed by the parameter's type (as ``-p``), any other JSON value is
    taken as its JSON text."""
    import json

    from nbprod.errors import BadInput, FieldError
    from nbprod.pipelines.advance import overrides
    from nbprod.pipelines.runs import start
    from nbprod.pipelines.versions import get_version

    version = get_version(ws.store, name)
    typed: dict[str, dict[str, Any]] = {}
    for key, value in (parameters or {}).items():
        text = value if isinstance(value, str) else json.dumps(value)
        try:
            for step, values in overrides(version, [f"{key}={text}"]).items():
                typed.setdefault(step, {}).update(values)
        except BadInput as exc:
            raise FieldError(str(exc).removeprefix("-p "), f"parameters.{key}") from None
    return start(ws.catalog, ws.store, version, overrides=typed, trigger="manual")


def rerun_pipeline(ws: Workspace, run_id: str, from_step: str) -> PipelineRun:
    """A new run of the pipeline's latest version (a fix applied since is what runs, as
    Airflow's clear and Databricks' repair do): ``from_step`` and its descendants run
    again with run ``run_id``'s ``-p`` overrides, every other step reuses that run's step
    run and outputs."""
    from nbprod.errors import BadInput
    from nbprod.pipelines.runs import start
    from nbprod.pipelines.versions import get_version

    old = get_pipeline_run(ws, run_id)
    if from_step not in old.steps:
        raise BadInput(
            f"pipeline run {old.run_id} has no step {from_step!r} (steps: {', '.join(old.steps)})"
        )
    version = get_version(ws.store, old.pipeline)
    if from_step not in {s.name for s in version.definition.steps}:
        raise BadInput(
            f"pipeline {old.pipeline} version {version.version} has no step {from_step!r}"
        )
    kept = {
        step: {k: v for k, v in values.items() if k in version.pinned[step].schema}
        for step, values in old.overrides.items()
        if step in version.pinned
    }
    return start(
        ws.catalog,
        ws.store,
        version,
        overrides=kept,
        trigger="rerun",
        reuse=old,
        rerun_from=from_step,
    )


def cancel_pipeline_run(ws: Workspace, run_id: str) -> list[str]:
    """Cancel a pipeline run's queued and running steps (``cancel_run`` for each); the
    steps after them are skipped as those end. One line per step cancelled. Conflict for
    a run that has ended."""
    from nbprod.core.queueing import cancel_run
    from nbprod.errors import Conflict, RunNotFound
    from nbprod.pipelines.record import StepStatus

    run = get_pipeline_run(ws, run_id)
    if run.done:
        raise Conflict(f"pipeline run {run.run_id} has already ended ({run.status.value})")
    said, unstarted = [], {}
    for name, step in run.steps.items():
        if step.status is StepStatus.QUEUED and step.run_id:
            try:
                said.append(f"{name}: {cancel_run(ws, step.run_id)}")
            except Conflict:  # it ended meanwhile
                continue
            except RunNotFound:  # an orchestrator's task has not started its run yet
                if run.logical_run_id is None:
                    raise
                unstarted[name] = step.run_id
    if unstarted:
        _cancel_unstarted(ws, run, unstarted)
        said += [f"{name}: cancelled before its task ran it" for name in unstarted]
    return said


def _cancel_unstarted(ws: Workspace, run: PipelineRun, steps: dict[str, str]) -> None:
    """End an orchestrated run's steps that no task has started as ``cancelled`` (their
    tasks are then refused); the steps after them are skipped."""
    from nbprod.catalog.pipelines import change_pipeline_run
    from nbprod.catalog.queue import utcnow
    from nbprod.pipelines import advance
    from nbprod.pipelines.record import write_run
    from nbprod.pipelines.versions import get_version

    version = get_version(ws.store, run.pipeline, run.version)

    def change(current: PipelineRun) -> list[Any] | None:
        ended = [
            advance.end_step(current, version, name, run_id, "cancelled", None)
            for name, run_id in steps.items()
        ]
        if not any(ended):
            return None
        advance.ready(current, version)
        return []

    change_pipeline_run(
        ws.catalog, ws.store.url, run.run_id, change, utcnow(), lambda r: write_run(ws.store, r)
    )


def get_pipeline_run(ws: Workspace, run_id: str) -> PipelineRun:
    """A pipeline run by id or unique id prefix; NotFound otherwise."""
    from nbprod.catalog.pipelines import get_pipeline_run as lookup
    from nbprod.catalog.pipelines import pipeline_run_ids
    from nbprod.errors import BadInput, NotFound
    from nbprod.store import layout

    url = ws.store.url
    run = lookup(ws.catalog, url, run_id) if run_id else None
    if run is not None:
        return run
    matches = pipeline_run_ids(ws.catalog, url, run_id) if len(run_id) >= 4 else []
    if len(matches) > 1:
        raise BadInput(f"pipeline run id prefix {run_id!r} is ambiguous")
    if not matches:
        what = "pipeline run" if layout.is_run_id(run_id) else "pipeline or pipeline run"
        raise NotFound(f"no {what} {run_id!r} in {url} (see `nbprod pipelines list`)")
    found = lookup(ws.catalog, url, matches[0])
    assert found is not None
    return found


def is_pipeline_run(ws: Workspace, text: str) -> bool:
    """Whether ``text`` names a pipeline run (for `pipelines show NAME|RUN_ID`): a
    pipeline's name wins over a run id prefix."""
    from nbprod.pipelines.versions import pipeline_names
    from nbprod.store import layout

    if layout.is_run_id(text):
        return True
    return text not in pipeline_names(ws.store)


@dataclass
class PipelineRunView:
    """A pipeline run as the faces show it: the run, its version, and each queued step's
    live state in the queue (``queued`` or ``running``)."""

    run: PipelineRun
    version: PipelineVersion
    live: dict[str, str] = field(default_factory=dict)

    def step_state(self, name: str) -> str:
        return self.live.get(name) or self.run.steps[name].status.value

    @property
    def status(self) -> str:
        """The run's status, ``running`` once a step's run has started."""
        if self.run.status.value == "queued" and "running" in self.live.values():
            return "running"
        return self.run.status.value

    def to_dict(self) -> dict[str, Any]:
        data = self.run.to_dict()
        data["status"] = self.status
        for step in data["steps"]:
            step["state"] = self.step_state(step["name"])
            step["needs"] = self.version.definition.step(step["name"]).needs
        return data


def show_pipeline_run(ws: Workspace, run_id: str) -> PipelineRunView:
    from nbprod.pipelines.record import StepStatus
    from nbprod.pipelines.versions import get_version

    run = get_pipeline_run(ws, run_id)
    version = get_version(ws.store, run.pipeline, run.version)
    live = {}
    for name, state in run.steps.items():
        if state.status is StepStatus.QUEUED and state.run_id:
            item = ws.queue.get(run.store, state.run_id)
            if item is not None:
                live[name] = "running" if item.state in ("running", "finishing") else "queued"
            elif state.try_number is not None:  # an orchestrator's task is running it
                live[name] = "running"
    return PipelineRunView(run, version, live)


def list_pipeline_runs(ws: Workspace, name: str | None = None, limit: int = 20) -> list[Any]:
    """Pipeline runs, newest first (of one pipeline, or all)."""
    from nbprod.catalog.pipelines import list_pipeline_runs as listing

    return listing(ws.catalog, ws.store.url, name, limit)


def wait_for_run(
    ws: Workspace,
    run: PipelineRun,
    *,
    execute: bool | None = None,
    on_change: Any = None,
) -> PipelineRun:
    """Wait until the pipeline run is done. ``execute`` None: start workers for its steps
    only when no worker is alive (no scheduler running), the way a sweep does."""
    from nbprod.core.jobs import workers_alive
    from nbprod.pipelines.drain import wait

    if execute is None:
        execute = not workers_alive(ws)
    return wait(
        ws.settings,
        run.store,
        run.run_id,
        execute=execute,
        max_parallel=max(1, ws.settings.workers),
        on_change=on_change,
    )
