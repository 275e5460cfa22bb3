"""`nbprod runs ...`: list, show, diff, rerun, delete, cancel and open runs."""

from __future__ import annotations

import click

from nbprod.cli import common


@click.group("runs")
def runs() -> None:
    """List, inspect, compare, repeat and delete runs."""


@runs.command("list")
@common.store_option
@click.option("--job", help="Only this job's runs.")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(common.LISTED_STATUSES),
    help="Only runs in this status (repeatable); queued: waiting in the queue for a worker.",
)
@click.option("--since", help="Started at or after: 7d, 12h, 30m or an ISO date/time.")
@click.option("--until", help="Started before: 7d, 12h, 30m or an ISO date/time.")
@click.option("--tag", help="Only runs of jobs with this tag.")
@click.option("--pipeline", help="Only the step runs of this pipeline.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Parameter condition, e.g. region=eu or days>=7 (repeatable).",
)
@click.option(
    "--scrap",
    "scraps",
    multiple=True,
    metavar="NAME<OP>VALUE",
    help="Scrap condition, e.g. accuracy>0.9 (repeatable).",
)
@click.option("--error", help="Error text contains this (case-insensitive).")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="At most this many runs (0: all).",
)
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many runs.")
@click.option(
    "--from-store",
    is_flag=True,
    help="Read the store directly instead of the catalog (slow; no filters but job).",
)
@common.json_option
def runs_list(
    store,
    job,
    status,
    since,
    until,
    tag,
    pipeline,
    params,
    scraps,
    error,
    limit,
    offset,
    from_store,
    as_json,
) -> None:
    """Runs newest first, from the catalog."""
    from nbprod import api

    if pipeline:
        if tag:
            raise click.UsageError("--pipeline and --tag cannot be combined")
        from nbprod.pipelines.record import pipeline_tag

        tag = pipeline_tag(pipeline)

    settings = common.settings(store=store)
    wanted = [s for s in status if s != "queued"]
    queued = api.list_queued(settings=settings, job=job, limit=limit) if "queued" in status else []
    if from_store:
        records = api.list_runs_from_store(settings=settings, job=job, limit=limit)
    elif status and not wanted:
        records = []
    else:
        records = api.list_runs(
            settings=settings,
            job=job,
            status=wanted,
            since=since,
            until=until,
            tag=tag,
            params=params,
            scraps=scraps,
            error=error,
            limit=limit,
            offset=offset,
        )
    if as_json:
        common.echo_json([*queued, *(r.to_dict() for r in records)])
        return
    rows = [
        (q["run_id"], q["job"], "queued", "", "", common.short_params(q["parameters"]))
        for q in queued
    ] + [
        (
            r.run_id,
            r.job,
            r.status.value,
            r.started_at or "",
            f"{r.duration_s:.1f}s" if r.duration_s is not None else "",
            common.short_params(r.parameters),
        )
        for r in records
    ]
    if not rows:
        click.echo("no runs match")
        if params or scraps:
            _name_hints(settings, job, params, scraps)
        return
    common.table(("RUN", "JOB", "STATUS", "STARTED", "DURATION", "PARAMETERS"), rows)


def _name_hints(settings, job: str | None, params: tuple[str, ...], scraps: tuple[str, ...]):
    """For a filter naming a parameter or scrap no recent run has: the names that exist
    (a mistyped `--scrap revenue>1` reads like "no run earned more than 1")."""
    import re

    from nbprod import api

    recent = api.list_runs(settings=settings, job=job, limit=200)
    known = {
        "parameter": {n for r in recent for n in (r.parameters or {})},
        "scrap": {n for r in recent for n in (r.scraps or {})},
    }
    where = f" of job {job}" if job else ""
    for kind, conditions in (("parameter", params), ("scrap", scraps)):
        for condition in conditions:
            name = re.split(r"\s*(?:!=|<=|>=|==|=|<|>)", condition, maxsplit=1)[0].strip()
            if name and name not in known[kind]:
                names = ", ".join(sorted(known[kind])) or "none"
                click.echo(f"no recent run{where} has a {kind} {name!r}; {kind}s: {names}")


@runs.command("show")
@click.argument("run_id")
@common.store_option
@common.json_option
def runs_show(run_id: str, store: str | None, as_json: bool) -> None:
    """Show one run record (RUN_ID may be a unique prefix); a running run's freshest copy,
    as JupyterLab and the browse UI show it."""
    from nbprod.core import Workspace
    from nbprod.core import runs as core_runs
    from nbprod.show import describe

    with Workspace(common.settings(store=store)) as ws:
        record = core_runs.get_run(ws, run_id)
        record = core_runs.fresh_record(ws, record, record.job, record.run_id) or record
        if as_json:
            click.echo(record.to_json(), nl=False)
            return
        click.echo(describe(record, ws.store))


@runs.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@common.store_option
@common.json_option
@click.option("--color/--no-color", default=None, help="ANSI colours [default: on a terminal].")
def runs_diff(run_a: str, run_b: str, store: str | None, as_json: bool, color: bool | None) -> None:
    """Compare two runs: status, duration, parameters, scraps, notebook and outputs."""
    import sys

    from nbprod.api import get_run
    from nbprod.diff import diff_runs
    from nbprod.diff_text import render_text
    from nbprod.store import open_store

    settings = common.settings(store=store)
    a, b = get_run(run_a, settings=settings), get_run(run_b, settings=settings)
    result = diff_runs(open_store(settings.store), a, b)
    if as_json:
        common.echo_json(result.to_dict())
    else:
        click.echo(render_text(result, color=sys.stdout.isatty() if color is None else color))


@runs.command("rerun")
@click.argument("run_id")
@common.store_option
@common.parameter_option(help="Override a parameter of the original run.")
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the output location.")
@common.json_option
def runs_rerun(
    run_id: str,
    store: str | None,
    cli_parameters,
    progress: bool | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Run RUN_ID's stored input snapshot again with its parameters (not the working copy)."""
    from nbprod.api import rerun, run

    settings = common.settings(store=store)
    request = rerun(run_id, settings=settings, cli_parameters=cli_parameters, prepare_only=True)
    if not (quiet or as_json):
        click.echo(f"run {request.run_id}  job {request.job}  rerun of {request.rerun_of}")
    result = run(request, progress_bar=common.show_bar(progress, quiet))
    common.report_run(result, as_json=as_json, quiet=quiet)


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True)
@common.store_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def runs_delete(run_ids: tuple[str, ...], store: str | None, yes: bool) -> None:
    """Delete runs from the store and the catalog together."""
    from nbprod.api import delete_runs, get_run

    settings = common.settings(store=store)
    records = [get_run(run_id, settings=settings) for run_id in run_ids]
    if not yes:
        names = ", ".join(r.run_id for r in records)
        click.confirm(f"delete {len(records)} run(s): {names}?", abort=True)
    notes: list[str] = []
    for record in delete_runs(records, settings=settings, notes=notes):
        click.echo(f"deleted {record.run_id} ({record.job})")
    for note in notes:
        click.echo(f"nbprod: {note}", err=True)


@runs.command("cancel")
@click.argument("run_id")
@common.store_option
def runs_cancel(run_id: str, store: str | None) -> None:
    """Cancel a queued or running run, from any process (RUN_ID may be a unique prefix)."""
    from nbprod.api import cancel_run

    click.echo(cancel_run(run_id, settings=common.settings(store=store)))


@runs.command("open")
@click.argument("run_id")
@common.store_option
@click.option(
    "--into",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Folder to copy into (e.g. your Jupyter root): the copy goes under nbprod-outputs/.",
)
@common.json_option
def runs_open(run_id: str, store: str | None, into: str, as_json: bool) -> None:
    """Copy a finished run's output notebook, read-only, to open in Jupyter (what the
    JupyterLab extension's Open does); prints the copy's path."""
    from pathlib import Path

    from nbprod.core import Workspace
    from nbprod.core import runs as core_runs

    with Workspace(common.settings(store=store)) as ws:
        record = core_runs.get_run(ws, run_id)  # RUN_ID may be a unique prefix
        opened = core_runs.open_output(ws, record.run_id, into)
    path = Path(into) / opened.path
    if as_json:
        common.echo_json({**vars(opened), "path": str(path)})
        return
    click.echo(str(path))
    if opened.cell_label is not None:
        click.echo(f"run {opened.run_id} {opened.status} in {opened.cell_label}", err=True)


@runs.command("debug")
@click.argument("run_id")
@common.store_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the notebook here (never over an existing file).",
)
@click.option(
    "--folder",
    default="nbprod-debug",
    show_default=True,
    help="Without -o: the folder (under the current one) the notebook is named into.",
)
@common.json_option
def runs_debug(
    run_id: str, store: str | None, output: str | None, folder: str, as_json: bool
) -> None:
    """Write a notebook to debug a failed, timed-out or lost run: its input snapshot with the
    run's exact parameters injected and its kernel (what JupyterLab's Debug opens); prints
    its path."""
    from nbprod.core import Workspace
    from nbprod.core.debug import write_debug_notebook

    with Workspace(common.settings(store=store)) as ws:
        written = write_debug_notebook(ws, run_id, root=".", folder=folder, output=output)
    if as_json:
        common.echo_json(written.to_dict())
        return
    click.echo(written.path)
    if written.cell_label is not None:
        click.echo(f"run {written.run_id} {written.status} in {written.cell_label}", err=True)
