"""`nbprod store ...`, `nbprod catalog ...` and `nbprod gc`."""

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
    click.echo(f"config:  {config_path(os.environ)}")


@click.group("catalog")
def catalog() -> None:
    """The SQL index of jobs and runs (rebuildable from the store alone)."""


@catalog.command("sync")
@common.store_option
def catalog_sync(store: str | None) -> None:
    """Index runs and job versions that are in the store but not yet in the catalog."""
    from nbprod.api import catalog_sync as sync

    result = sync(settings=common.settings(store=store))
    click.echo(
        f"added {result.added} run(s), updated {result.updated}, removed {result.removed}, "
        f"{result.jobs} job version(s)"
    )


@catalog.command("rebuild")
@common.store_option
def catalog_rebuild(store: str | None) -> None:
    """Drop this store's catalog entries and index everything again from the store."""
    from nbprod.api import catalog_rebuild as rebuild

    result = rebuild(settings=common.settings(store=store))
    click.echo(f"indexed {result.added} run(s) and {result.jobs} job version(s)")


@click.command("gc")
@common.store_option
@click.option("--job", help="Only this job [default: every job].")
@click.option("--keep-last", type=click.IntRange(min=0), help="Keep this many newest runs per job.")
@click.option("--older-than", help="Delete runs older than this (e.g. 90d, 12h).")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def gc(
    store: str | None,
    job: str | None,
    keep_last: int | None,
    older_than: str | None,
    dry_run: bool,
    yes: bool,
) -> None:
    """Delete old runs by a retention policy, per job, from store and catalog together.

    Without --keep-last/--older-than each job's own `retention` from its definition applies.
    """
    from nbprod.api import gc as collect

    settings = common.settings(store=store)
    pending: list[str] = []
    plans = collect(
        settings=settings,
        job=job,
        keep_last=keep_last,
        older_than=older_than,
        dry_run=True,
        notes=pending,
    )
    doomed = [r for p in plans for r in p.delete]
    for plan in plans:
        click.echo(f"{plan.job}: keep {len(plan.keep)}, delete {len(plan.delete)}")
    if dry_run:
        for line in pending:
            click.echo(f"nbprod: {line}", err=True)
        return
    if doomed and not yes:
        click.confirm(f"delete {len(doomed)} run(s)?", abort=True)
    notes: list[str] = []
    done = collect(  # also completes deletions a crash or a fault interrupted
        settings=settings,
        job=job,
        keep_last=keep_last,
        older_than=older_than,
        dry_run=False,
        notes=notes,
    )
    skipped = [line for plan in done for line in plan.skipped]
    for line in notes + [f"skipped: {line}" for line in skipped]:
        click.echo(f"nbprod: {line}", err=True)
    if doomed:
        click.echo(f"deleted {sum(len(p.delete) for p in done) - len(skipped)} run(s)")
    if skipped:  # the others were deleted; the skipped ones are whole and still listed
        common.fail(f"{len(skipped)} run(s) could not be deleted whole and were kept", 5)
