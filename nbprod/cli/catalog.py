"""`nbprod catalog sync|rebuild`: the SQL index, rebuilt from the store."""

from __future__ import annotations

import click

from nbprod.cli import common


@click.group("catalog")
def catalog() -> None:
    """The SQL index of jobs and runs (rebuildable from the store alone)."""


@catalog.command("sync")
@common.store_option
def catalog_sync(store: str | None) -> None:
    """Index runs and job versions that are in the store but not yet in the catalog."""
    from nbprod.api import catalog_sync as sync

    result = sync(settings=common.settings(store=store))
    pipelines = f", {result.pipeline_runs} pipeline run(s)" if result.pipeline_runs else ""
    click.echo(
        f"added {result.added} run(s), updated {result.updated}, removed {result.removed}, "
        f"{result.jobs} job version(s){pipelines}"
    )


@catalog.command("rebuild")
@common.store_option
def catalog_rebuild(store: str | None) -> None:
    """Drop this store's catalog entries and index everything again from the store."""
    from nbprod.api import catalog_rebuild as rebuild

    result = rebuild(settings=common.settings(store=store))
    pipelines = f", {result.pipeline_runs} pipeline run(s)" if result.pipeline_runs else ""
    click.echo(f"indexed {result.added} run(s) and {result.jobs} job version(s){pipelines}")
