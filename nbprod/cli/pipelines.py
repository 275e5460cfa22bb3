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
                + (f" ({definition.timezone})" if definition.schedule else ""),
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
    from nbprod.core.pipelines import show_pipeline

    with _workspace(store) as ws:
        view = show_pipeline(ws, name_or_run)
    if as_json:
        common.echo_json(view.to_dict())
        return
    _echo_pipeline(view)


def _echo_pipeline(view: Any) -> None:
    version = view.version
    definition = version.definition
    click.echo(f"pipeline {view.name} version {version.version} ({version.created_at})")
    if definition.description:
        click.echo(f"  {definition.description}")
    if definition.schedule:
        click.echo(f"schedule: {definition.schedule} ({definition.timezone}); not fired yet")
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
    if view.last_run is not None:
        click.echo(f"last run: {view.last_run.run_id} {view.last_run.status.value}")
