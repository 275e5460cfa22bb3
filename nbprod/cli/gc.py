"""`nbprod gc`: delete old runs by a retention policy."""

from __future__ import annotations

import click

from nbprod.cli import common


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
