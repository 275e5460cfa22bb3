"""`nbprod store flush|info`: the artifact store and the local spool."""

from __future__ import annotations

import sys

import click

from nbprod.cli import common


@click.group("store")
def store() -> None:
    """Manage the artifact store and the local spool."""


@store.command("flush")
@click.option("--run", "run_ids", multiple=True, help="Only this run (repeatable).")
def store_flush(run_ids: tuple[str, ...]) -> None:
    """Upload runs kept in the local spool because their store was unreachable.

    Exit code 5 when some runs could still not be uploaded.
    """
    from nbprod.api import flush_spool
    from nbprod.records import EXIT_SPOOLED

    results = flush_spool(settings=common.settings(), run_ids=run_ids)
    if not results:
        click.echo("nothing to flush: the spool is empty")
        return
    for result in results:
        if result.published:
            click.echo(f"published {result.run_id} to {result.store}")
        else:
            click.echo(f"still spooled {result.run_id}: {result.error}", err=True)
    if not all(r.published for r in results):
        sys.exit(EXIT_SPOOLED)


@store.command("info")
@common.store_option
def store_info(store: str | None) -> None:
    """Print the resolved store, catalog, spool folder and config file."""
    import os

    from nbprod.config import config_path
    from nbprod.spool import leftovers, pending

    settings = common.settings(store=store)
    waiting = sum(1 for _ in pending(settings.spool_dir))
    other = leftovers(settings.spool_dir)
    click.echo(f"store:   {settings.store}")
    click.echo(f"catalog: {settings.catalog_url}")
    click.echo(f"home:    {settings.home}")
    click.echo(f"spool:   {settings.spool_dir} ({waiting} runs waiting)")
    if other.folders:
        click.echo(
            f"         {len(other.folders)} other folders ({other.bytes / 1e6:.1f} MB): runs"
            " executing now, or left by a crash; not uploaded by `store flush`"
        )
    path = config_path(os.environ)
    note = "" if path.is_file() else "  (not found: built-in defaults and NBPROD_* variables)"
    click.echo(f"config:  {path}{note}")
