"""`nbprod browse`: the read-only web UI for jobs, runs and stored notebooks."""

from __future__ import annotations

import click

from nbprod.cli import common


@click.command("browse")
@common.store_option
@click.option(
    "--ip",
    default="127.0.0.1",
    show_default=True,
    envvar="NBPROD_BROWSE_IP",
    help="Address to listen on.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8890,
    show_default=True,
    envvar="NBPROD_BROWSE_PORT",
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--token",
    envvar="NBPROD_BROWSE_TOKEN",
    help="Token to require (default: a new random one).",
)
@click.option(
    "--no-token",
    is_flag=True,
    help="Serve without authentication (only allowed with --ip 127.0.0.1).",
)
@click.option(
    "--sync/--no-sync",
    default=False,
    help="Index runs written by other machines (`nbprod catalog sync`) before serving.",
)
def browse(
    store: str | None, ip: str, port: int, token: str | None, no_token: bool, sync: bool
) -> None:
    """Serve the browse UI: jobs, runs, charts, diffs and the store's files.

    Prints a URL with a token; the pages are read-only.
    """
    from nbprod.errors import BadInput

    if no_token and ip not in ("127.0.0.1", "localhost", "::1"):
        raise BadInput(f"--no-token is only allowed with --ip 127.0.0.1, not {ip}")
    settings = common.settings(store=store)
    if sync:
        from nbprod.api import catalog_sync

        result = catalog_sync(settings=settings)
        click.echo(f"nbprod browse: catalog sync: {result}", err=True)

    def announce(server: object) -> None:
        from nbprod.server.app import url_of

        click.echo(f"nbprod browse: serving {settings.store}")
        click.echo(f"nbprod browse: open {url_of(server)}", nl=True)

    from nbprod.server.app import launch

    launch(
        store=settings.store, ip=ip, port=port, token=token, no_token=no_token, announce=announce
    )
