"""The ``nbprod`` command: thin click wrappers over :mod:`nbprod.api`.

Imports of anything heavy happen inside commands so ``nbprod --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from nbprod.cli import common
from nbprod.cli.common import parameter_options

# jsonschema (under nbformat, which every notebook read and run imports, and under
# jupyter_server) loads the optional rfc3987_syntax package when it is installed, and that
# builds 39 lark grammars at import: 1-3 s per nbprod process, for IRI format checks that
# neither nbformat's schema nor jupyter's event schemas ask for. The command's own process
# goes without it; a program that imports nbprod as a library is left as it is.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]


def _skip_collection_at_exit() -> None:
    """At interpreter exit, leave the objects alive then to the operating system.

    A run's process holds nbclient, jupyter_client, zmq, SQLAlchemy and their objects;
    Python's garbage collection over them at exit took 0.3-1 s of CPU after the command had
    finished (measured on a trivial ``nbprod exec``). ``gc.freeze()`` moves them out of the
    collector's reach as the last exit handler; atexit handlers, flushes and ``finally``
    blocks all run as before (Python never promised ``__del__`` at exit).
    """
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once per process, however often main() runs in it
    atexit.register(gc.freeze)


class _Group(click.Group):
    """Maps nbprod errors to one line on stderr and their documented exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Usage errors are one line too (click prints the usage, a blank line, the error)."""
        _skip_collection_at_exit()
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            common.fail(" ".join(exc.format_message().split()) + hint, exc.exit_code)
        except click.exceptions.Abort:
            click.echo("nbprod: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        from nbprod.errors import NbprodError

        try:
            return super().invoke(ctx)
        except NbprodError as exc:
            common.fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            click.echo("nbprod: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nbprod")
def main() -> None:
    """Run Jupyter notebooks as production jobs: typed parameters, stored runs."""


@main.command("exec")
@click.argument("notebook", type=click.Path(dir_okay=False))
@parameter_options
@common.store_option
@click.option("--job", envvar="NBPROD_JOB", help="Job name [default: the notebook's stem].")
@common.execution_options
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
    report_mode: bool,
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

    settings = common.settings(store=store, timeout=timeout, cell_timeout=cell_timeout)
    request = prepare(
        notebook,
        settings=settings,
        cli_parameters=cli_parameters,
        parameter_files=files,
        parameter_yaml=yaml_texts,
        job=job,
        kernel=kernel,
        cwd=cwd,
        report_mode=report_mode,
    )

    def announce(request: Any) -> None:  # once Ctrl-C is handled: the id always gets a record
        if not (quiet or as_json):
            click.echo(f"run {request.run_id}  job {request.job}  kernel {request.kernel}")

    result = run(
        request,
        progress_bar=common.show_bar(progress, quiet),
        log_output=log_output,
        on_start=announce,
    )
    common.report_run(result, as_json=as_json, quiet=quiet)


@main.command("params")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the schema as JSON.")
def params_(notebook: str, as_json: bool) -> None:
    """Show the typed parameters of NOTEBOOK's `parameters` cell."""
    from nbprod.api import notebook_parameters
    from nbprod.params import type_label

    schema = notebook_parameters(notebook)
    if as_json:
        common.echo_json(schema.to_dict())
        return
    if schema.cell_index is None:
        click.echo("no parameters cell (tag a cell 'parameters' to declare parameters)")
        return
    rows = [
        (
            p.name,
            type_label(p.type, p.nullable),
            "(required)" if p.required else p.default_source,
            p.help,
        )
        for p in schema.parameters
    ]
    common.table(("NAME", "TYPE", "DEFAULT", "HELP"), rows)


def _register() -> None:
    from nbprod.cli.browse import browse
    from nbprod.cli.catalog import catalog
    from nbprod.cli.daemons import scheduler, status, worker
    from nbprod.cli.export import export
    from nbprod.cli.gc import gc
    from nbprod.cli.jobs import jobs
    from nbprod.cli.pipelines import pipelines
    from nbprod.cli.runs import runs
    from nbprod.cli.store import store
    from nbprod.cli.sweeps import sweep, sweeps_group
    from nbprod.cli.templates import new, templates

    for command in (
        *(runs, jobs, store, catalog, gc, scheduler, worker, status, browse),
        *(templates, new, sweep, sweeps_group, export, pipelines),
    ):
        main.add_command(command)
    common.show_envvars(main)


_register()
