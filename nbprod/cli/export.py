"""`nbprod export ...`: job definitions as another orchestrator's files (docs/airflow.md)."""

from __future__ import annotations

import click

from nbprod.cli import common


@click.group("export")
def export() -> None:
    """Hand jobs to another scheduler (Airflow) and take them back."""


@export.command("airflow")
@click.argument("names", nargs=-1)
@click.option("-o", "--output", "out_dir", required=True, metavar="DIR", help="The DAG folder.")
@click.option("--all", "all_jobs", is_flag=True, help="Every job of the store.")
@click.option("--tag", metavar="TAG", help="With --all: only the jobs with this tag.")
@click.option("--job", "jobs", multiple=True, metavar="NAME", help="A job (repeatable).")
@click.option(
    "--pipeline",
    "pipelines",
    multiple=True,
    metavar="NAME",
    help="A pipeline: one DAG, one task per step (repeatable).",
)
@common.store_option
@common.json_option
def export_airflow(
    names: tuple[str, ...],
    out_dir: str,
    all_jobs: bool,
    tag: str | None,
    jobs: tuple[str, ...],
    pipelines: tuple[str, ...],
    store: str | None,
    as_json: bool,
) -> None:
    """Write an Airflow 3 DAG file for each job or pipeline NAME (or every job: --all)
    into DIR; from then on Airflow schedules it and nbprod's schedulers leave it alone
    (`nbprod export undo` takes a job back)."""
    from nbprod.core import Workspace
    from nbprod.core.export import export_airflow as export_jobs

    with Workspace(common.settings(store=store)) as ws:
        done = export_jobs(
            ws,
            names,
            out_dir=out_dir,
            all_jobs=all_jobs,
            tag=tag,
            jobs=jobs,
            pipelines=pipelines,
        )
    if as_json:
        common.echo_json([e.to_dict() for e in done])
        return
    for item in done:
        state = "written" if item.changed else "unchanged"
        marked = "; now scheduled by Airflow" if item.marked else ""
        click.echo(
            f"{item.kind} {item.job} version {item.version} -> {item.path} ({state}{marked})"
        )
        for what in item.lost:
            click.echo(f"  not in Airflow: {what}")


@export.command("undo")
@click.argument("name")
@common.store_option
def export_undo(name: str, store: str | None) -> None:
    """Take job or pipeline NAME back from Airflow: nbprod's schedulers fire it again
    (delete its DAG file from Airflow's DAG folder, or both will run it)."""
    from nbprod.core import Workspace
    from nbprod.core.export import take_back_any

    with Workspace(common.settings(store=store)) as ws:
        kind, version = take_back_any(ws, name)
    click.echo(f"{kind} {name} version {version}: scheduled by nbprod again")
