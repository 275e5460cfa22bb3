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


@dataclass
class StepStart:
    """What `pipelines step-run` executes: step ``step`` of pipeline run ``run``, its run
    ``request`` (None: the step succeeded already, nothing to run)."""

    run: PipelineRun
    version: PipelineVersion
    step: str
    try_number: int
    request: Any = None

    @property
    def run_id(self) -> str | None:
        return self.run.steps[self.step].run_id


def start_step(
    ws: Workspace,
    name: str,
    step: str,
    *,
    version: int,
    logical_run_id: str,
    scheduled_for: str,
    attempt: int = 1,
    trigger: str = "airflow",
    parameters: Any = None,
) -> StepStart:
    """Claim step ``step`` of the pipeline run for an orchestrator's run (created by the
    first task that asks: ``logical_run_id`` keys it) for try ``attempt``; its run request,
    prepared from the pinned snapshot with the values its upstream steps' scraps gave.
    ``parameters``: step → parameter → value overrides, checked always, used by the task
    that creates the pipeline run (every task of one orchestrator run passes the same).
    BadInput when the step cannot run (no retry helps): unknown, waiting, skipped, failed
    (an edge's value did not fit), or of a pipeline run that has ended."""
    from nbprod.catalog.pipelines import change_pipeline_run, create_pipeline_run_once
    from nbprod.catalog.pipelines import get_pipeline_run as lookup
    from nbprod.catalog.queue import utcnow
    from nbprod.errors import BadInput
    from nbprod.pipelines import orchestrated
    from nbprod.pipelines.advance import typed_overrides
    from nbprod.pipelines.record import write_run
    from nbprod.pipelines.versions import get_version
    from nbprod.records import parse_iso

    pinned = get_version(ws.store, name, version)
    names = [s.name for s in pinned.definition.steps]
    if step not in names:
        raise BadInput(
            f"pipeline {name} version {version} has no step {step!r} (steps: {', '.join(names)})"
        )
    typed = typed_overrides(pinned, parameters) if parameters else {}
    url = ws.store.url
    moment = parse_iso(scheduled_for)
    run_id = orchestrated.pipeline_run_id(name, logical_run_id, moment)
    publish = lambda r: write_run(ws.store, r)  # noqa: E731
    current = lookup(ws.catalog, url, run_id)
    if current is None:
        planned = orchestrated.plan(
            pinned,
            store=url,
            logical_run_id=logical_run_id,
            scheduled_for=moment,
            trigger=trigger,
            overrides=typed,
        )
        created = create_pipeline_run_once(ws.catalog, planned, utcnow(), publish)
        current = planned if created else lookup(ws.catalog, url, run_id)
        assert current is not None
    if current.version != version:
        raise BadInput(
            f"pipeline run {run_id} runs version {current.version} of {name}, not {version}"
        )
    state = current.steps.get(step)
    previous = None
    if state is not None and state.try_number is not None and state.run_id:
        previous = ws.catalog.get_run(url, state.run_id)
    seen = previous.run_id if previous is not None else None

    def change(run: PipelineRun) -> list[Any] | None:
        now_state = run.steps[step]
        known = previous if now_state.run_id == seen else None
        return [] if orchestrated.claim(run, pinned, step, attempt, known) else None

    run = change_pipeline_run(ws.catalog, url, run_id, change, utcnow(), publish)
    assert run is not None
    started = StepStart(run, pinned, step, attempt)
    if run.steps[step].status.value == "queued":
        started.request = _step_request(ws, run, pinned, step, attempt)
    return started


def _step_request(
    ws: Workspace, run: PipelineRun, version: PipelineVersion, step: str, attempt: int
) -> Any:
    """The run request of a claimed step: what a worker would prepare from its queued
    run (``advance``'s request: pinned snapshot, tags, the pipeline link)."""
    from nbprod.jobs.versions import prepare_snapshot_run
    from nbprod.pipelines.advance import step_request
    from nbprod.store import layout

    state = run.steps[step]
    queued = step_request(run, version.definition.step(step), version, state)
    return prepare_snapshot_run(
        queued,
        store=ws.store,
        settings=ws.settings,
        job=layout.step_job(run.pipeline, step),
        run_id=state.run_id,
        attempt=attempt,
        scheduled_for=run.scheduled_for,
        logical_run_id=run.logical_run_id,
    )


def finish_step(ws: Workspace, started: StepStart, status: str) -> PipelineRun:
    """Apply the end of a claimed step's run (``status``: its final status) to its
    pipeline run: the next try of the step, or its end and the steps now ready."""
    from nbprod.catalog.pipelines import change_pipeline_run
    from nbprod.catalog.queue import utcnow
    from nbprod.pipelines import orchestrated
    from nbprod.pipelines.record import write_run

    run_id = started.run_id
    assert run_id is not None
    record = ws.catalog.get_run(ws.store.url, run_id)
    if record is not None:
        status = record.status.value

    def change(run: PipelineRun) -> list[Any] | None:
        changed = orchestrated.finish(
            run, started.version, started.step, run_id, status, record, started.try_number
        )
        return [] if changed else None

    run = change_pipeline_run(
        ws.catalog,
        ws.store.url,
        started.run.run_id,
        change,
        utcnow(),
        lambda r: write_run(ws.store, r),
    )
    assert run is not None
    return run
