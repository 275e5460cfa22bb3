"""`nbprod jobs ...`: versioned job definitions."""

from __future__ import annotations

import json
from typing import Any

import click

from nbprod.cli import common


@click.group("jobs")
def jobs() -> None:
    """Create, inspect and run versioned job definitions."""


@jobs.command("apply")
@click.argument("definition", type=click.Path(dir_okay=False))
@common.store_option
@common.json_option
def jobs_apply(definition: str, store: str | None, as_json: bool) -> None:
    """Create or update a job from a YAML DEFINITION; prints the new version."""
    from nbprod.core.jobs import apply_job

    with _workspace(store) as ws:
        result = apply_job(ws, definition)
    version = result.version
    if as_json:
        common.echo_json({"created": result.created, "store": result.store, **version.to_dict()})
        return
    if not result.created:
        click.echo(f"job {version.job} unchanged (version {version.version})")
        return
    click.echo(
        f"job {version.job} version {version.version} "
        f"(notebook {version.notebook_sha256[:12]}) in {result.store}"
    )
    for change in version.changes:
        click.echo(f"  {change}")


@jobs.command("list")
@common.store_option
@common.json_option
def jobs_list(store: str | None, as_json: bool) -> None:
    """Every job: schedule, last status, next run."""
    from nbprod.core.jobs import list_jobs

    with _workspace(store) as ws:
        views = list_jobs(ws)
    if as_json:
        common.echo_json([v.to_dict() for v in views])
        return
    rows = [
        (
            v.name,
            v.version,
            (v.definition.schedule or "-")
            + (f" ({v.definition.timezone})" if v.definition.schedule else "")
            + (f" by {v.scheduled_by}" if v.scheduled_by else ""),
            "broken" if v.broken else ("paused" if v.paused else "active"),
            v.last_status or "-",
            "-" if v.broken or v.paused else _next(v),
            f"{v.runs_succeeded}/{v.runs_total}",
        )
        for v in views
    ]
    header = ("JOB", "VERSION", "SCHEDULE", "STATE", "LAST", "NEXT RUN", "OK/RUNS")
    common.table(header, rows)
    for view in views:
        if view.broken:
            click.echo(
                f"warning: job {view.name} is broken, not scheduled: {view.broken}", err=True
            )


def _workspace(store: str | None) -> Any:
    from nbprod.core import Workspace

    return Workspace(common.settings(store=store))


def _next(view: Any) -> str:
    return view.next_runs[0].isoformat(timespec="minutes") if view.next_runs else "-"


@jobs.command("show")
@click.argument("name")
@common.store_option
@common.json_option
@click.option(
    "-n", "--runs", "run_count", default=10, show_default=True, help="Recent runs to show."
)
def jobs_show(name: str, store: str | None, as_json: bool, run_count: int) -> None:
    """A job's definition, versions and recent runs."""
    from nbprod.api import list_runs
    from nbprod.core.jobs import show_job

    with _workspace(store) as ws:
        view = show_job(ws, name)
    recent = list_runs(settings=ws.settings, job=name, limit=run_count)
    if as_json:
        common.echo_json({**view.to_dict(), "recent_runs": [r.to_dict() for r in recent]})
        return
    if view.warning:
        click.echo(f"warning: {view.warning}", err=True)
    if view.broken:
        click.echo(f"warning: job {name} is broken, not scheduled: {view.broken}", err=True)
    d = view.definition
    click.echo(
        f"job        {view.name} (version {view.version}{', paused' if view.paused else ''})"
    )
    pinned = f" (pinned {view.versions[-1].notebook_sha256[:12]})" if view.versions else ""
    click.echo(f"notebook   {d.notebook}{pinned}")
    click.echo(f"schedule   {d.schedule or '-'} ({d.timezone})")
    if view.scheduled_by:
        since = (view.scheduled_since or "")[:10]
        click.echo(
            f"           scheduled by {view.scheduled_by.capitalize()} (exported {since}); "
            f"nbprod does not fire it (`nbprod export undo {name}`)"
        )
    if view.broken:
        click.echo(f"broken     {view.broken}")
    for moment in view.next_runs:
        click.echo(f"  next     {moment.isoformat(timespec='minutes')}")
    click.echo(f"kernel     {d.kernel or '(notebook default)'}")
    from nbprod.durations import format_duration

    click.echo(
        f"timeout    {format_duration(d.timeout)}  retries {d.retries}  concurrency {d.concurrency}"
    )
    if d.report_mode:
        click.echo("output     report mode (code cells hidden)")
    if d.tags:
        click.echo(f"tags       {', '.join(d.tags)}")
    if d.parameters:
        click.echo("parameters")
        for key, value in d.parameters.items():
            click.echo(f"  {key} = {json.dumps(value, ensure_ascii=False)}")
    click.echo(f"versions   {len(view.versions)} (see `nbprod jobs history {name}`)")
    click.echo(f"runs       {view.runs_succeeded}/{view.runs_total} succeeded")
    for record in recent:
        duration = f"{record.duration_s:.1f}s" if record.duration_s is not None else ""
        click.echo(
            f"  {record.run_id}  {record.status.value:<11} {duration:>7}  "
            f"v{record.job_version or '-'}  {record.trigger}"
        )


@jobs.command("history")
@click.argument("name")
@common.store_option
@common.json_option
def jobs_history(name: str, store: str | None, as_json: bool) -> None:
    """A job's definition versions with what changed in each."""
    from nbprod.core.jobs import job_history

    with _workspace(store) as ws:
        versions = job_history(ws, name)
    if as_json:
        common.echo_json([v.to_dict() for v in versions])
        return
    for version in reversed(versions):
        click.echo(
            f"version {version.version}  {version.created_at}  "
            f"notebook {version.notebook_sha256[:12]}"
        )
        for change in version.changes:
            click.echo(f"  {change}")


@jobs.command("next")
@click.argument("name", required=False)
@common.store_option
@click.option("-n", "count", default=5, show_default=True, help="How many fire times.")
@click.option("--schedule", help="Preview this cron expression or preset instead of a job's.")
@click.option("--timezone", "zone", help="The timezone of --schedule [default: UTC].")
def jobs_next(
    name: str | None, store: str | None, count: int, schedule: str | None, zone: str | None
) -> None:
    """The next fire times of job NAME in its timezone, or of a --schedule (what the
    JupyterLab dialog previews: its description first)."""
    from nbprod.core.jobs import next_runs

    if (name is None) == (schedule is None):
        raise click.UsageError("give a job NAME or --schedule (one of them)")
    if schedule is not None:
        from nbprod.core.notebooks import cron_preview

        preview = cron_preview(schedule, zone or "UTC", count)
        click.echo(f"{preview['description']} ({preview['timezone']})")
        for moment in preview["next"]:
            click.echo(moment)
        return
    if zone is not None:
        raise click.UsageError("--timezone goes with --schedule (a job has its own)")
    with _workspace(store) as ws:
        moments = next_runs(ws, name, count)
    for moment in moments:
        click.echo(moment.isoformat())


@jobs.command("run")
@click.argument("name")
@common.parameter_options
@common.store_option
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the output location.")
@click.option("--queue", "to_queue", is_flag=True, help="Queue the run for the workers instead.")
@click.option("--version", "version", type=int, help="Run this version [default: the latest].")
@click.option("--trigger", help="Who started the run, for an orchestrator (airflow).")
@click.option("--attempt", type=int, help="This try's number in one logical run [default: 1].")
@click.option("--scheduled-for", "scheduled_for", metavar="TIME", help="The fire time (ISO 8601).")
@click.option("--logical-run-id", "logical_run_id", metavar="ID", help="The id all attempts share.")
@common.json_option
def jobs_run(
    name: str,
    cli_parameters,
    files,
    yaml_texts,
    store: str | None,
    progress: bool | None,
    quiet: bool,
    to_queue: bool,
    version: int | None,
    trigger: str | None,
    attempt: int | None,
    scheduled_for: str | None,
    logical_run_id: str | None,
    as_json: bool,
) -> None:
    """Run a job's latest version now, in the foreground (overrides are validated).

    With --queue the run is queued for `nbprod worker`s / the scheduler's workers; the run
    id is printed at once. An orchestrator (Airflow, docs/airflow.md) passes its context
    with --trigger, --attempt, --scheduled-for and --logical-run-id."""
    from nbprod.api import run
    from nbprod.core.jobs import orchestrated_run, prepare_job_run
    from nbprod.core.queueing import enqueue_job

    identity = orchestrated_run(
        trigger=trigger, attempt=attempt, scheduled_for=scheduled_for, logical_run_id=logical_run_id
    )
    if to_queue and (identity or version is not None):
        raise click.UsageError("--queue runs the latest version as nbprod's own run")
    if to_queue:
        with _workspace(store) as ws:
            run_id = enqueue_job(
                ws,
                name,
                cli_parameters=cli_parameters,
                parameter_files=files,
                parameter_yaml=yaml_texts,
            )
        if as_json:
            common.echo_json({"run_id": run_id, "job": name, "state": "queued"})
        else:
            click.echo(run_id if quiet else f"queued {run_id}  job {name}")
        return
    with _workspace(store) as ws:
        request = prepare_job_run(
            ws,
            name,
            cli_parameters=cli_parameters,
            parameter_files=files,
            parameter_yaml=yaml_texts,
            version=version,
            **identity,
        )
    if not (quiet or as_json):
        click.echo(f"run {request.run_id}  job {request.job} v{request.job_version}")
    result = run(request, progress_bar=common.show_bar(progress, quiet))
    common.report_run(result, as_json=as_json, quiet=quiet)


@jobs.command("pause")
@click.argument("name")
@common.store_option
def jobs_pause(name: str, store: str | None) -> None:
    """Stop scheduling a job (runs on demand still work)."""
    from nbprod.core.jobs import set_paused

    with _workspace(store) as ws:
        set_paused(ws, name, True)
    click.echo(f"job {name} paused")


@jobs.command("resume")
@click.argument("name")
@common.store_option
def jobs_resume(name: str, store: str | None) -> None:
    """Schedule a paused job again."""
    from nbprod.core.jobs import set_paused

    with _workspace(store) as ws:
        set_paused(ws, name, False)
    click.echo(f"job {name} resumed")


@jobs.command("delete")
@click.argument("name")
@common.store_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@common.json_option
def jobs_delete(name: str, store: str | None, yes: bool, as_json: bool) -> None:
    """Delete a job: every version of its definition and its queued runs (what the
    JupyterLab panel's Delete does). Its past runs stay, as runs of an ad-hoc job."""
    from nbprod.core.jobs import delete_job, show_job

    with _workspace(store) as ws:
        show_job(ws, name, next_count=0)  # an unknown job is bad input, before any question
        if not yes:
            click.confirm(f"delete job {name} (every version; its past runs stay)?", abort=True)
        deleted = delete_job(ws, name)
    if as_json:
        common.echo_json({"deleted": deleted.name, "cancelled_queued": deleted.cancelled_queued})
        return
    dropped = deleted.cancelled_queued
    suffix = f"; cancelled {len(dropped)} queued run(s): {', '.join(dropped)}" if dropped else ""
    click.echo(f"job {deleted.name} deleted{suffix}")


@jobs.command("drift")
@click.argument("name")
@common.store_option
@common.json_option
def jobs_drift(name: str, store: str | None, as_json: bool) -> None:
    """Whether the working copy of job NAME's notebook differs from its pinned snapshot, cell
    by cell (what the JupyterLab panel's drift banner shows); exit 0 either way."""
    from nbprod.core.drift import job_drift

    with _workspace(store) as ws:
        drift = job_drift(ws, name)
    if as_json:
        common.echo_json(drift.to_dict())
        return
    click.echo(f"{name} v{drift.version}: {drift.message}")
    for cell in drift.cells:
        click.echo(f"  {cell['where']} {cell['kind']}:")
        for line in cell["summary"].splitlines():
            click.echo(f"    {line}")


@jobs.command("update")
@click.argument("name")
@common.store_option
def jobs_update(name: str, store: str | None) -> None:
    """Pin the working copy of job NAME's notebook as a new version, every other field kept
    (JupyterLab's *Update job*)."""
    from nbprod.core.drift import update_job

    with _workspace(store) as ws:
        result = update_job(ws, name)
    if result.created:
        click.echo(f"{name}: version {result.version.version} pins the working copy")
    else:
        click.echo(f"{name}: unchanged (version {result.version.version})")


@jobs.command("backfill")
@click.argument("name")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (job's timezone).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD, included.")
@click.option("--dry-run", is_flag=True, help="Only list the fire times.")
@common.store_option
@common.json_option
def jobs_backfill(
    name: str, start: str, end: str, dry_run: bool, store: str | None, as_json: bool
) -> None:
    """Queue one run of job NAME per fire time from --from to --to (up to now), each with
    scheduled_for set to its fire time, for the workers."""
    from nbprod.core.backfill import backfill_job, plan_backfill

    with _workspace(store) as ws:
        done = (plan_backfill if dry_run else backfill_job)(ws, name, start, end)
    if as_json:
        common.echo_json(done.to_dict())
        return
    for index, moment in enumerate(done.times):
        run_id = done.run_ids[index] if done.run_ids else "(dry run)"
        click.echo(f"{moment.isoformat()}  {run_id}")
    verb = "would queue" if dry_run else "queued"
    click.echo(f"{verb} {len(done.times)} run(s) of {name}", err=True)
