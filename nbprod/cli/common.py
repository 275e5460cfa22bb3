"""Helpers shared by the CLI modules: settings, tables, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from nbprod.records import RunStatus

STORE_HELP = "Store URL: a folder, file://PATH or s3://bucket/prefix."
STATUSES = [status.value for status in RunStatus]
"""Run record statuses: the core's, so a new one (lost) cannot be missing here."""

LISTED_STATUSES = ["queued", *STATUSES]
"""`runs list --status` choices: the record statuses plus `queued` (runs in the queue that
have no record yet)."""


def settings(**overrides: Any) -> Any:
    from nbprod.config import Settings

    return Settings.load(overrides)


def fail(message: str, code: int) -> None:
    click.echo(f"nbprod: error: {message}", err=True)
    sys.exit(code)


def table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(v) for v in row) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    for row in [headers, *cells]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def short_params(values: dict[str, Any], width: int = 50) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
    return text if len(text) <= width else text[: width - 1] + "…"


def store_option(fn: Any) -> Any:
    return click.option("--store", envvar="NBPROD_STORE", help=STORE_HELP)(fn)


def executor_options(fn: Any) -> Any:
    """``--executor`` and ``--dask-scheduler`` (also NBPROD_EXECUTOR, NBPROD_DASK_SCHEDULER;
    Settings reads those, so no envvar here: a flag only overrides)."""
    fn = click.option(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="The Dask scheduler for --executor dask (tcp://host:8786). "
        "[env var: NBPROD_DASK_SCHEDULER]",
    )(fn)
    return click.option(
        "--executor",
        "executor_name",
        metavar="NAME",
        help="Where queued runs execute: local, dask, or a plug-in [default: local]. "
        "[env var: NBPROD_EXECUTOR]",
    )(fn)


def json_option(fn: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)


def parameter_option(help: str = "Set a parameter; the value is parsed by its type.") -> Any:
    return click.option(
        "-p",
        "--parameter",
        "cli_parameters",
        nargs=2,
        multiple=True,
        metavar="NAME VALUE",
        help=help,
    )


def execution_options(fn: Any) -> Any:
    """--kernel, --cwd, --timeout, --cell-timeout and --report-mode: how each run of a
    command executes."""
    fn = click.option(
        "--report-mode",
        is_flag=True,
        help="Hide the code cells' source in the output notebook (as papermill's report mode).",
    )(fn)
    fn = click.option(
        "--cell-timeout",
        type=float,
        envvar="NBPROD_CELL_TIMEOUT",
        help="Seconds allowed for any one cell.",
    )(fn)
    fn = click.option(
        "--timeout", type=float, envvar="NBPROD_TIMEOUT", help="Seconds allowed for a whole run."
    )(fn)
    fn = click.option(
        "--cwd",
        type=click.Path(file_okay=False),
        help="Working directory of the kernel [default: the notebook's folder].",
    )(fn)
    return click.option(
        "-k",
        "--kernel",
        envvar="NBPROD_KERNEL",
        help="Kernel name [default: the notebook's kernelspec].",
    )(fn)


def parameter_options(fn: Any) -> Any:
    fn = click.option(
        "-y",
        "--parameters-yaml",
        "yaml_texts",
        multiple=True,
        metavar="YAML",
        help="Parameters as a YAML mapping string.",
    )(fn)
    fn = click.option(
        "-f",
        "--parameters-file",
        "files",
        multiple=True,
        metavar="FILE",
        help="YAML or JSON file of parameters (repeatable; -p wins).",
    )(fn)
    return parameter_option()(fn)


def report_run(result: Any, *, as_json: bool, quiet: bool) -> None:
    """The end of every command that executes a run; exits with the run's code."""
    record = result.record
    talk = not (quiet or as_json)
    if as_json:
        data = record.to_dict()
        data["output_location"] = result.output_location
        data["spooled_to"] = str(result.spooled_to) if result.spooled_to else None
        echo_json(data)
    elif talk:
        click.echo(summary(record))
    if getattr(result, "problem", None):
        click.echo(f"nbprod: {result.problem}", err=True)
    if result.spooled_to:
        click.echo(
            f"nbprod: store unreachable ({result.spool_reason}); run kept in {result.spooled_to}"
            " - publish it later with `nbprod store flush`",
            err=True,
        )
    if not as_json and result.output_location:
        click.echo(f"output: {result.output_location}" if talk else result.output_location)
    sys.exit(result.exit_code)


def summary(record: Any) -> str:
    line = f"{record.status.value} in {record.duration_s:.1f}s"
    if record.error:
        where = f" ({record.error.cell_label})" if record.error.cell_label else ""
        line += f": {record.error.line}{where}"
    return line


def show_bar(progress: bool | None, quiet: bool) -> bool:
    return (sys.stdout.isatty() and not quiet) if progress is None else progress


def show_envvars(command: click.Command) -> None:
    """Every option of ``command`` (and its subcommands) read from an environment variable
    names it in its help (click's ``[env var: NBPROD_STORE]``)."""
    for param in command.params:
        if isinstance(param, click.Option) and param.envvar:
            param.show_envvar = True
    for sub in getattr(command, "commands", {}).values():
        show_envvars(sub)
