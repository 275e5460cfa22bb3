"""The ``nbprod`` command: thin click wrappers over :mod:`nbprod.api`.

Imports of anything heavy happen inside commands so ``nbprod --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

STORE_HELP = "Store URL: a folder, file://PATH or s3://bucket/prefix [env: NBPROD_STORE]."


def _settings(**overrides: Any) -> Any:
    from nbprod.config import Settings

    return Settings.load(overrides)


def _fail(message: str, code: int) -> None:
    click.echo(f"nbprod: error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Maps nbprod errors to one line on stderr and their documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        from nbprod.errors import NbprodError

        try:
            return super().invoke(ctx)
        except NbprodError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            click.echo("nbprod: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nbprod")
def main() -> None:
    """Run Jupyter notebooks as production jobs: typed parameters, stored runs."""


@main.command("exec")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "-p",
    "--parameter",
    "cli_parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Set a parameter; the value is parsed by its type.",
)
@click.option(
    "-f",
    "--parameters-file",
    "files",
    multiple=True,
    metavar="FILE",
    help="YAML or JSON file of parameters (repeatable; -p wins).",
)
@click.option(
    "-y",
    "--parameters-yaml",
    "yaml_texts",
    multiple=True,
    metavar="YAML",
    help="Parameters as a YAML mapping string.",
)
@click.option("--store", envvar="NBPROD_STORE", help=STORE_HELP)
@click.option("--job", envvar="NBPROD_JOB", help="Job name [default: the notebook's stem].")
@click.option(
    "-k",
    "--kernel",
    envvar="NBPROD_KERNEL",
    help="Kernel name [default: the notebook's kernelspec].",
)
@click.option(
    "--cwd",
    type=click.Path(file_okay=False),
    help="Working directory of the kernel [default: the notebook's folder].",
)
@click.option(
    "--timeout", type=float, envvar="NBPROD_TIMEOUT", help="Seconds allowed for the whole run."
)
@click.option(
    "--cell-timeout",
    type=float,
    envvar="NBPROD_CELL_TIMEOUT",
    help="Seconds allowed for any one cell.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar [default: on when stdout is a terminal].",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the output location.")
@click.option("--log-output", is_flag=True, help="Stream cell output to this terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON.")
def exec_(
    notebook: str,
    cli_parameters: tuple[tuple[str, str], ...],
    files: tuple[str, ...],
    yaml_texts: tuple[str, ...],
    store: str | None,
    job: str | None,
    kernel: str | None,
    cwd: str | None,
    timeout: float | None,
    cell_timeout: float | None,
    progress: bool | None,
    quiet: bool,
    log_output: bool,
    as_json: bool,
) -> None:
    """Execute NOTEBOOK once and store its output notebook and run record.

    Exit codes: 0 succeeded, 1 the notebook failed, 2 bad input (nothing ran),
    3 timed out, 4 the kernel died, 5 succeeded but kept in the local spool
    (store unreachable), 130 cancelled.
    """
    from nbprod.api import prepare, run

    settings = _settings(store=store, timeout=timeout, cell_timeout=cell_timeout)
    request = prepare(
        notebook,
        settings=settings,
        cli_parameters=cli_parameters,
        parameter_files=files,
        parameter_yaml=yaml_texts,
        job=job,
        kernel=kernel,
        cwd=cwd,
    )
    talk = not (quiet or as_json)
    if talk:
        click.echo(f"run {request.run_id}  job {request.job}  kernel {request.kernel}")
    show_bar = sys.stdout.isatty() and not quiet if progress is None else progress
    result = run(request, progress_bar=show_bar, log_output=log_output)
    record = result.record
    if as_json:
        data = record.to_dict()
        data["output_location"] = result.output_location
        data["spooled_to"] = str(result.spooled_to) if result.spooled_to else None
        import json

        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif talk:
        click.echo(_summary(record))
    if result.spooled_to:
        click.echo(
            f"nbprod: store unreachable ({result.spool_reason}); run kept in {result.spooled_to}"
            " - publish it later with `nbprod store flush`",
            err=True,
        )
    if not as_json:
        click.echo(f"output: {result.output_location}" if talk else result.output_location)
    sys.exit(result.exit_code)


def _summary(record: Any) -> str:
    line = f"{record.status.value} in {record.duration_s:.1f}s"
    if record.error:
        where = f" (cell {record.error.cell_index})" if record.error.cell_index is not None else ""
        line += f": {record.error.ename}: {record.error.evalue}{where}"
    return line


@main.command("params")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the schema as JSON.")
def params_(notebook: str, as_json: bool) -> None:
    """Show the typed parameters of NOTEBOOK's `parameters` cell."""
    from nbprod.api import notebook_parameters

    schema = notebook_parameters(notebook)
    if as_json:
        import json

        click.echo(json.dumps(schema.to_dict(), indent=2, ensure_ascii=False))
        return
    if schema.cell_index is None:
        click.echo("no parameters cell (tag a cell 'parameters' to declare parameters)")
        return
    rows = [
        (
            p.name,
            p.type + ("?" if p.nullable and p.type != "any" else ""),
            "(required)" if p.required else p.default_source,
            p.help,
        )
        for p in schema.parameters
    ]
    _table(("NAME", "TYPE", "DEFAULT", "HELP"), rows)


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(v) for v in row) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    for row in [headers, *cells]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@main.group("runs")
def runs() -> None:
    """List and inspect runs in the store."""


@runs.command("list")
@click.option("--store", envvar="NBPROD_STORE", help=STORE_HELP)
@click.option("--job", help="Only this job's runs.")
@click.option(
    "--status",
    type=click.Choice(["running", "succeeded", "failed", "timed_out", "cancelled", "kernel_died"]),
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="At most this many runs (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print run records as JSON.")
def runs_list(
    store: str | None, job: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """Runs newest first."""
    from nbprod.api import list_runs

    records = list_runs(settings=_settings(store=store), job=job, status=status, limit=limit)
    if as_json:
        import json

        click.echo(json.dumps([r.to_dict() for r in records], indent=2, ensure_ascii=False))
        return
    rows = [
        (
            r.run_id,
            r.job,
            r.status.value,
            r.started_at or "",
            f"{r.duration_s:.1f}s" if r.duration_s is not None else "",
            _short_params(r.parameters),
        )
        for r in records
    ]
    _table(("RUN", "JOB", "STATUS", "STARTED", "DURATION", "PARAMETERS"), rows)


def _short_params(values: dict[str, Any], width: int = 50) -> str:
    import json

    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
    return text if len(text) <= width else text[: width - 1] + "…"


@runs.command("show")
@click.argument("run_id")
@click.option("--store", envvar="NBPROD_STORE", help=STORE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON.")
def runs_show(run_id: str, store: str | None, as_json: bool) -> None:
    """Show one run record (RUN_ID may be a unique prefix)."""
    from nbprod.api import get_run
    from nbprod.store import open_store

    settings = _settings(store=store)
    record = get_run(run_id, settings=settings)
    if as_json:
        click.echo(record.to_json(), nl=False)
        return
    from nbprod.show import describe

    click.echo(describe(record, open_store(settings.store)))


@main.group("store")
def store_() -> None:
    """Manage the artifact store and the local spool."""


@store_.command("flush")
@click.option("--run", "run_ids", multiple=True, help="Only this run (repeatable).")
def store_flush(run_ids: tuple[str, ...]) -> None:
    """Upload runs kept in the local spool because their store was unreachable.

    Exit code 5 when some runs could still not be uploaded.
    """
    from nbprod.api import flush_spool
    from nbprod.records import EXIT_SPOOLED

    results = flush_spool(settings=_settings(), run_ids=run_ids)
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


@store_.command("info")
@click.option("--store", envvar="NBPROD_STORE", help=STORE_HELP)
def store_info(store: str | None) -> None:
    """Print the resolved store, spool folder and config file."""
    import os

    from nbprod.config import config_path
    from nbprod.spool import pending

    settings = _settings(store=store)
    click.echo(f"store:  {settings.store}")
    click.echo(f"home:   {settings.home}")
    click.echo(
        f"spool:  {settings.spool_dir} ({sum(1 for _ in pending(settings.spool_dir))} runs waiting)"
    )
    click.echo(f"config: {config_path(os.environ)}")
