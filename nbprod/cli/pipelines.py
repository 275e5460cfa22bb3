"""`nbprod pipelines ...`: versioned pipelines of notebook steps (docs/pipelines.md)."""

from __future__ import annotations

from typing import Any

import click

from nbprod.cli import common


@click.group("pipelines")
def pipelines() -> None:
    """Apply, inspect and run pipelines: notebooks whose scraps feed each other."""


def _workspace(store: str | None) -> Any:
    from nbprod.core import Workspace

    return Workspace(common.settings(store=store))


@pipelines.command("apply")
@click.argument("definition", type=click.Path(dir_okay=False))
@common.store_option
@common.json_option
def pipelines_apply(definition: str, store: str | None, as_json: bool) -> None:
    """Create or update a pipeline from a YAML DEFINITION; prints the version and what
    changed. Everything is checked first: the graph, the references, each notebook."""
    from nbprod.core.pipelines import apply_pipeline

    with _workspace(store) as ws:
        result = apply_pipeline(ws, definition)
    version = result.version
    if as_json:
        common.echo_json({"created": result.created, "store": result.store, **version.to_dict()})
        return
    if not result.created:
        click.echo(f"pipeline {version.pipeline} unchanged (version {version.version})")
        return
    steps = len(version.definition.steps)
    click.echo(
        f"pipeline {version.pipeline} version {version.version} ({steps} steps) in {result.store}"
    )
    for change in version.changes:
        click.echo(f"  {change}")


@pipelines.command("list")
@common.store_option
@common.json_option
def pipelines_list(store: str | None, as_json: bool) -> None:
    """Every pipeline: version, steps, schedule, last run."""
    from nbprod.core.pipelines import list_pipelines

    with _workspace(store) as ws:
        views = list_pipelines(ws)
    if as_json:
        common.echo_json([v.to_dict() for v in views])
        return
    if not views:
        click.echo("no pipelines (create one with `nbprod pipelines apply FILE`)")
        return
    rows = []
    for view in views:
        definition = view.version.definition
        last = view.last_run
        rows.append(
            (
                view.name,
                view.version.version,
                " → ".join(_order(definition)),
                (definition.schedule or "-")
                + (f" ({definition.timezone})" if definition.schedule else "")
                + (f" by {definition.scheduled_by}" if definition.scheduled_by else "")
                + (" paused" if view.paused else ""),
                f"{last.status.value} {last.run_id}" if last is not None else "-",
            )
        )
    common.table(("PIPELINE", "VERSION", "STEPS", "SCHEDULE", "LAST RUN"), rows)


def _order(definition: Any) -> list[str]:
    from nbprod.pipelines.graph import order

    return order(definition.needs)


@pipelines.command("show")
@click.argument("name_or_run")
@common.store_option
@common.json_option
def pipelines_show(name_or_run: str, store: str | None, as_json: bool) -> None:
    """A pipeline (NAME: its steps, wiring and versions) or one of its runs (RUN_ID:
    each step's status, run, duration and the values passed along each edge)."""
    from nbprod.core.pipelines import is_pipeline_run, show_pipeline, show_pipeline_run

    with _workspace(store) as ws:
        if is_pipeline_run(ws, name_or_run):
            run_view = show_pipeline_run(ws, name_or_run)
        else:
            run_view, view = None, show_pipeline(ws, name_or_run)
    if run_view is not None:
        if as_json:
            common.echo_json(run_view.to_dict())
        else:
            _echo_run(run_view)
        return
    if as_json:
        common.echo_json(view.to_dict())
        return
    _echo_pipeline(view)


def _echo_run(view: Any) -> None:
    run = view.run
    took = ""
    if run.finished_at:
        from nbprod.records import parse_iso

        seconds = (parse_iso(run.finished_at) - parse_iso(run.created_at)).total_seconds()
        took = f", {seconds:.1f}s"
    click.echo(
        f"pipeline run {run.run_id}  {run.pipeline} version {run.version}  {view.status}"
        f"  (created {run.created_at}{took})"
    )
    if run.rerun_of:
        click.echo(f"rerun of {run.rerun_of} from step {run.rerun_from}")
    rows = []
    for name, step in run.steps.items():
        shown = step.status.value not in ("pending", "skipped") and step.run_id
        attempts = f" (attempt {len(step.attempts) + 1})" if step.attempts else ""
        note = f"reused from {step.reused_from}" if step.reused_from else (step.error or "")
        rows.append(
            (
                name,
                view.step_state(name),
                (step.run_id if shown else "-") + attempts,
                f"{step.duration_s:.1f}s" if step.duration_s is not None else "",
                note,
            )
        )
    common.table(("STEP", "STATUS", "RUN", "DURATION", "NOTE"), rows)
    edges = [
        (edge["from"], f"{name}.{param}", edge["value"])
        for name, step in run.steps.items()
        for param, edge in step.inputs.items()
    ]
    if edges:
        click.echo("values passed:")
        for source, target, value in edges:
            shown_value = common.short_params({"": value}, width=60)[1:]
            click.echo(f"  {source} → {target} = {shown_value}")


@pipelines.command("run")
@click.argument("name")
@click.option(
    "-p",
    "--parameter",
    "parameters",
    multiple=True,
    metavar="STEP.PARAM=VALUE",
    help="Set a step's parameter; the value is parsed by its type (repeatable).",
)
@click.option("--no-wait", is_flag=True, help="Queue the first steps, print the run id and return.")
@common.store_option
@common.json_option
def pipelines_run(
    name: str, parameters: tuple[str, ...], no_wait: bool, store: str | None, as_json: bool
) -> None:
    """Run a pipeline's latest version now: its first steps are queued, each next step
    when the steps it needs succeeded. Waits for the end (executing the steps itself when
    no scheduler is running) and exits 0 only if every step succeeded."""
    from nbprod.core.pipelines import run_pipeline

    with _workspace(store) as ws:
        run = run_pipeline(ws, name, parameters)
        _follow(ws, run, no_wait, as_json)


@pipelines.command("rerun")
@click.argument("run_id")
@click.option("--from", "from_step", required=True, metavar="STEP", help="The step to run again.")
@click.option("--no-wait", is_flag=True, help="Queue the step, print the run id and return.")
@common.store_option
@common.json_option
def pipelines_rerun(
    run_id: str, from_step: str, no_wait: bool, store: str | None, as_json: bool
) -> None:
    """A new run of pipeline run RUN_ID's version: STEP and every step after it run
    again, the others reuse RUN_ID's runs and their scraps."""
    from nbprod.core.pipelines import rerun_pipeline

    with _workspace(store) as ws:
        run = rerun_pipeline(ws, run_id, from_step)
        _follow(ws, run, no_wait, as_json)


@pipelines.command("pause")
@click.argument("name")
@common.store_option
def pipelines_pause(name: str, store: str | None) -> None:
    """Stop firing NAME on its schedule (runs going on finish; `pipelines run` still works)."""
    _set_paused(name, store, True)


@pipelines.command("resume")
@click.argument("name")
@common.store_option
def pipelines_resume(name: str, store: str | None) -> None:
    """Fire NAME on its schedule again (missed fires follow its catchup)."""
    _set_paused(name, store, False)


def _set_paused(name: str, store: str | None, paused: bool) -> None:
    from nbprod.core.pipelines import set_pipeline_paused

    with _workspace(store) as ws:
        version = set_pipeline_paused(ws, name, paused)
    click.echo(f"pipeline {name} {'paused' if paused else 'resumed'} (version {version.version})")


@pipelines.command("cancel")
@click.argument("run_id")
@common.store_option
@common.json_option
def pipelines_cancel(run_id: str, store: str | None, as_json: bool) -> None:
    """Cancel a pipeline run: its queued steps at once, its running ones by their workers
    (output stored); the steps after them are skipped."""
    from nbprod.core.pipelines import cancel_pipeline_run, get_pipeline_run

    with _workspace(store) as ws:
        full_id = get_pipeline_run(ws, run_id).run_id
        lines = cancel_pipeline_run(ws, full_id)
    if as_json:
        common.echo_json({"run_id": full_id, "cancelled": lines})
        return
    for line in lines:
        click.echo(line)


@pipelines.command("step-run")
@click.argument("name")
@click.argument("step")
@click.option("--version", "version", type=int, required=True, help="The pipeline version.")
@click.option(
    "--logical-run-id",
    "logical_run_id",
    required=True,
    metavar="ID",
    help="The orchestrator's run: one pipeline run for all its tasks and tries.",
)
@click.option(
    "--scheduled-for",
    "scheduled_for",
    required=True,
    metavar="TIME",
    help="The orchestrator run's time (ISO 8601 with its offset).",
)
@click.option("--attempt", type=int, default=1, show_default=True, help="This try's number.")
@click.option("--trigger", default="airflow", show_default=True, help="Who runs the pipeline.")
@click.option(
    "-y",
    "--parameters",
    "parameters_json",
    metavar="JSON",
    help='Overrides for the pipeline run, {"STEP": {"PARAM": value}} (its first task uses them).',
)
@common.store_option
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
@common.json_option
def pipelines_step_run(
    name: str,
    step: str,
    version: int,
    logical_run_id: str,
    scheduled_for: str,
    attempt: int,
    trigger: str,
    parameters_json: str | None,
    store: str | None,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Run one STEP of pipeline NAME for an orchestrator's task (the DAG file of `nbprod
    export airflow` calls it): the pipeline run of --logical-run-id is created by the first
    task that asks; a step that succeeded already is not run again; the step's values
    come from its upstream steps' scraps, typed as for any pipeline run. Exits with the
    step run's code (docs/exit-codes.md); 2 when the step cannot run."""
    from nbprod.api import run
    from nbprod.core.jobs import orchestrated_run
    from nbprod.core.pipeline_steps import finish_step, start_step
    from nbprod.safe_yaml import load_json

    identity = orchestrated_run(
        trigger=trigger, attempt=attempt, scheduled_for=scheduled_for, logical_run_id=logical_run_id
    )
    given = load_json(parameters_json, "--parameters") if parameters_json else None
    with _workspace(store) as ws:
        started = start_step(ws, name, step, version=version, parameters=given, **identity)
    if started.request is None:
        state = started.run.steps[step]
        if as_json:
            common.echo_json(
                {
                    "pipeline_run_id": started.run.run_id,
                    "step": step,
                    "run_id": state.run_id,
                    "status": state.status.value,
                    "ran": False,
                }
            )
        else:
            click.echo(f"step {step} of pipeline run {started.run.run_id} succeeded already")
        return
    if not as_json:
        click.echo(f"pipeline run {started.run.run_id}  step {step}  run {started.run_id}")
    result = run(started.request, progress_bar=common.show_bar(progress, as_json))
    with _workspace(store) as ws:
        after = finish_step(ws, started, result.record.status.value)
    if as_json:
        data = result.record.to_dict()
        data.update(
            output_location=result.output_location,
            spooled_to=str(result.spooled_to) if result.spooled_to else None,
            pipeline_run_id=after.run_id,
            pipeline_status=after.status.value,
            ran=True,
        )
        common.echo_json(data)
    else:
        click.echo(common.summary(result.record))
        click.echo(f"pipeline run {after.run_id} {after.status.value}")
    raise SystemExit(result.exit_code)


def _follow(ws: Any, run: Any, no_wait: bool, as_json: bool) -> None:
    """Print the new run's id, wait for its end unless ``no_wait``, print the result."""
    from nbprod.core.pipelines import show_pipeline_run, wait_for_run

    if not as_json:
        click.echo(f"pipeline run {run.run_id}  {run.pipeline} version {run.version}")
    if not no_wait and not run.done:
        printed: dict[str, str] = {}

        def progress(current: Any) -> None:
            if as_json:
                return
            for name, step in current.steps.items():
                if step.status.value in ("succeeded", "failed", "skipped"):
                    if printed.get(name) != step.status.value:
                        printed[name] = step.status.value
                        took = f" {step.duration_s:.1f}s" if step.duration_s is not None else ""
                        why = f": {step.error}" if step.error else ""
                        if step.reused_from:
                            took, why = "", f" (reused from {step.reused_from})"
                        click.echo(f"  {name}: {step.status.value}{took}{why}")

        run = wait_for_run(ws, run, on_change=progress)
    view = show_pipeline_run(ws, run.run_id)
    if as_json:
        common.echo_json(view.to_dict())
    elif not no_wait:
        click.echo(f"pipeline run {run.run_id} {run.status.value}")
    if run.done and run.status.value != "succeeded":
        raise SystemExit(1)


def _echo_pipeline(view: Any) -> None:
    version = view.version
    definition = version.definition
    click.echo(f"pipeline {view.name} version {version.version} ({version.created_at})")
    if definition.description:
        click.echo(f"  {definition.description}")
    if definition.schedule:
        state = (
            "paused (`nbprod pipelines resume`)" if view.paused else "fired by `nbprod scheduler`"
        )
        if definition.scheduled_by:
            state = f"scheduled by {definition.scheduled_by.capitalize()}"
        click.echo(f"schedule: {definition.schedule} ({definition.timezone}); {state}")
        for moment in view.next_runs:
            click.echo(f"  next     {moment.isoformat(timespec='minutes')}")
    click.echo("steps:")
    for name in _order(definition):
        step = definition.step(name)
        pin = version.pinned[name]
        needs = f"  needs {', '.join(step.needs)}" if step.needs else ""
        click.echo(f"  {name}: {pin.notebook_name} ({pin.notebook_sha256[:12]}){needs}")
        for param, value in step.parameters.items():
            click.echo(f"    {param} = {common.short_params({'': value})[1:]}")
        for param, ref in step.parameters_from.items():
            click.echo(f"    {param} ← {ref}")
    click.echo("versions:")
    for old in view.versions:
        click.echo(f"  {old.version}  {old.created_at}  {'; '.join(old.changes)}")
    if view.runs:
        click.echo("recent runs:")
        rows = []
        for run in view.runs:
            counts: dict[str, int] = {}
            for step in run.steps.values():
                counts[step.status.value] = counts.get(step.status.value, 0) + 1
            summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            rows.append((run.run_id, run.version, run.status.value, run.trigger, summary))
        common.table(("RUN", "VERSION", "STATUS", "TRIGGER", "STEPS"), rows)
