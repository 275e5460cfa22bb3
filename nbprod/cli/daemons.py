"""`nbprod scheduler`, `nbprod worker`, `nbprod status`: running jobs on schedule."""

from __future__ import annotations

import click

from nbprod.cli import common


@click.command("scheduler")
@common.store_option
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    envvar="NBPROD_WORKERS",
    help="Local worker processes (0: only external `nbprod worker`s) [default: 2].",
)
@click.option(
    "--tick",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between scheduling passes.",
)
@common.executor_options
@click.option("--log-json", is_flag=True, help="Log decisions as JSON lines.")
def scheduler(
    store: str | None,
    workers: int | None,
    tick: float,
    executor_name: str | None,
    dask_scheduler: str | None,
    log_json: bool,
) -> None:
    """Run schedules in the foreground: fire due jobs once, run them on the executor
    (local workers by default), detect lost runs and retry them. Ctrl-C / SIGTERM stop
    it cleanly."""

    from nbprod.catalog import open_catalog
    from nbprod.executors.registry import make_executor
    from nbprod.scheduler.daemon import Scheduler
    from nbprod.scheduler.events import configure

    configure(as_json=log_json)
    settings = common.settings(
        store=store, workers=workers, executor=executor_name, dask_scheduler=dask_scheduler
    )
    executor = make_executor(settings)  # an unknown executor is refused before anything
    catalog = open_catalog(settings)
    try:
        Scheduler(settings, catalog, executor, tick=tick).run_forever()
    finally:
        catalog.close()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between looks at an empty queue.",
)
@click.option("--log-json", is_flag=True, help="Log decisions as JSON lines.")
@click.option(
    "--only-file",
    type=click.Path(dir_okay=False, exists=True),
    help="Only claim the run ids listed in this file, one per line (`nbprod sweep` uses it).",
)
def worker(burst: bool, poll: float, log_json: bool, only_file: str | None) -> None:
    """Execute queued runs (from every store in the catalog), one at a time.

    SIGTERM finishes the current run and exits; SIGINT cancels it (output kept)."""
    from pathlib import Path

    from nbprod.catalog import open_catalog
    from nbprod.scheduler.events import configure
    from nbprod.scheduler.worker import Worker

    configure(as_json=log_json)
    settings = common.settings()
    only = None
    if only_file:
        only = {line.strip() for line in Path(only_file).read_text().splitlines() if line.strip()}
    catalog = open_catalog(settings)
    try:
        runner = Worker(settings, catalog, burst=burst, poll=poll, only=only)
        runner.install_signals()
        runner.run_forever()
    finally:
        catalog.close()


@click.command("status")
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Flag a running run whose cells made no progress for this many seconds.",
)
@common.json_option
def status(stalled_after: float, as_json: bool) -> None:
    """Queued and running runs, workers and scheduling lag.

    Runs whose process is gone are ended as lost first; runs that make no progress are
    flagged (``stalled``), as are runs whose worker stopped beating (``stale``)."""
    from nbprod.api import scheduler_status

    data = scheduler_status(settings=common.settings(), stalled_after=stalled_after)
    if as_json:
        common.echo_json(data)
        return
    counts = data["counts"]
    click.echo(
        f"queued {counts.get('queued', 0)}  running {counts.get('running', 0)}  "
        f"lag {data['lag_s']:.1f}s"
    )
    for item in data["running"]:
        cells = f"  cells {item['cells_done']}/{item['cells_total']}" if item["cells_total"] else ""
        flags = ""
        if item["stalled"]:
            flags += f"  STALLED: no progress for {item['no_progress_s']:.0f}s"
        if item["stale"]:
            flags += f"  STALE: no heartbeat for {item['heartbeat_age_s']:.0f}s"
        click.echo(
            f"  {item['state']} {item['run_id']}  {item['job']}  attempt {item['attempt']}  "
            f"{item['running_s']}s on {item['worker']}{cells}{flags}"
        )
    for item in data["queued"]:
        click.echo(
            f"  queued  {item['run_id']}  {item['job']}  attempt {item['attempt']}  "
            f"from {item['available_at']}"
            + (f"  WAITING: {item['waiting_reason']}" if item.get("waiting_reason") else "")
        )
    for item in data["unmanaged"]:
        click.echo(
            f"  running {item['run_id']}  {item['job']}  {item['running_s']}s  "
            f"outside workers (pid {item['owner']})"
        )
    alive = [w for w in data["workers"] if w["state"] not in ("stopped", "gone")]
    click.echo(f"workers {len(alive)}")
    for w in alive:
        click.echo(
            f"  {w['worker']}  {w['state']}  heartbeat {w['heartbeat_age_s']}s ago"
            + (f"  run {w['run_id']}" if w["run_id"] else "")
        )
