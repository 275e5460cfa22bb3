"""`nbprod sweep` and `nbprod sweeps show|list`: run a notebook over a parameter grid."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from nbprod.cli import common


@click.command("sweep")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "-p",
    "--parameter",
    "axes",
    nargs=2,
    multiple=True,
    metavar="NAME V1,V2,...",
    help="Sweep a parameter over comma-separated values, each parsed by its type.",
)
@click.option(
    "--grid",
    "grid_file",
    type=click.Path(dir_okay=False),
    help="YAML/JSON grid: {name: [values]} (cartesian product) or a list of {name: value}.",
)
@click.option(
    "-f",
    "--parameters-file",
    "files",
    multiple=True,
    metavar="FILE",
    help="Fixed parameters for every run (YAML or JSON file).",
)
@click.option(
    "-y",
    "--parameters-yaml",
    "yaml_texts",
    multiple=True,
    metavar="YAML",
    help="Fixed parameters for every run, as a YAML mapping.",
)
@click.option(
    "-j",
    "--max-parallel",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Runs executing at once (local worker processes).",
)
@click.option(
    "--max-runs",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Refuse sweeps with more runs than this.",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="Only queue the runs, for running `nbprod scheduler`/`nbprod worker` processes.",
)
@click.option("--dry-run", is_flag=True, help="Validate and print the runs; queue nothing.")
@common.store_option
@click.option("--job", help="Job name of the runs [default: the notebook's stem].")
@common.execution_options
@common.executor_options
@click.option("-q", "--quiet", is_flag=True, help="Print only the sweep id.")
def sweep(
    notebook: str,
    axes: tuple[tuple[str, str], ...],
    grid_file: str | None,
    files: tuple[str, ...],
    yaml_texts: tuple[str, ...],
    max_parallel: int,
    max_runs: int,
    no_wait: bool,
    dry_run: bool,
    store: str | None,
    job: str | None,
    kernel: str | None,
    cwd: str | None,
    timeout: float | None,
    cell_timeout: float | None,
    report_mode: bool,
    executor_name: str | None,
    dask_scheduler: str | None,
    quiet: bool,
) -> None:
    """Run NOTEBOOK once per combination of parameter values, in parallel.

    \b
      nbprod sweep train.ipynb -p lr 0.1,0.01 -p depth 3,5     # 4 runs
      nbprod sweep train.ipynb --grid grid.yaml -y 'epochs: 3'

    Every combination is validated before anything is queued (exit 2 on bad input). Each
    run is a normal run tagged sweep:ID. Exit code 0 when every run succeeded, 1 when one
    did not, 130 when cancelled (Ctrl-C cancels the remaining runs; outputs are kept).
    Results: `nbprod sweeps show ID`.
    """
    from nbprod.core import Workspace
    from nbprod.core.sweeps import create_sweep
    from nbprod.sweeps.drain import drain
    from nbprod.sweeps.plan import plan_sweep

    settings = common.settings(
        store=store,
        timeout=timeout,
        cell_timeout=cell_timeout,
        executor=executor_name,
        dask_scheduler=dask_scheduler,
    )
    if not no_wait and not dry_run:
        from nbprod.executors.registry import check_executor

        check_executor(settings)  # a bad or unreachable executor: refused before queueing
    plan = plan_sweep(
        notebook,
        axes=axes,
        grid_file=grid_file,
        parameter_files=files,
        parameter_yaml=yaml_texts,
        max_runs=max_runs,
    )
    if dry_run:
        prepare_all(plan, settings, job=job, kernel=kernel, cwd=cwd)
        click.echo(f"{len(plan.sets)} runs of {plan.notebook.name} (dry run: nothing queued)")
        for index, values in enumerate(plan.sets, 1):
            click.echo(f"  {index:>3}  {_params_text(values)}")
        return
    with Workspace(settings) as ws:
        info = create_sweep(
            ws,
            plan,
            job=job,
            kernel=kernel,
            cwd=cwd,
            report_mode=report_mode,
            max_parallel=max_parallel,
        )
    total = len(info.run_ids)
    if quiet:
        click.echo(info.sweep_id)
    else:
        click.echo(
            f"sweep {info.sweep_id}  {total} runs of {info.notebook['name']}  job {info.job}"
            + ("" if no_wait else f"  max-parallel {max_parallel}")
        )
    if no_wait:
        if not quiet:
            click.echo("queued; `nbprod scheduler` or `nbprod worker` executes them")
        return
    started = time.monotonic()
    done = [0]
    width = len(str(total))

    def progress(finished: Any) -> None:
        done[0] += 1
        if quiet:
            return
        duration = f"{finished.duration_s:.1f}s" if finished.duration_s is not None else "-"
        line = (
            f"[{done[0]:>{width}}/{total}] {finished.status:<11} {duration:>7}  "
            f"{_params_text(finished.parameters)}  run {finished.run_id}"
        )
        if finished.error and finished.status != "succeeded":
            line += f"  {finished.error}"
        click.echo(line)

    result = drain(info, settings=settings, max_parallel=max_parallel, on_finished=progress)
    counts: dict[str, int] = {}
    for status in result.statuses.values():
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    elapsed = time.monotonic() - started
    if not quiet:
        verb = "cancelled" if result.interrupted else "finished"
        click.echo(f"sweep {info.sweep_id} {verb} in {elapsed:.1f}s: {summary}")
        click.echo(f"results: nbprod sweeps show {info.sweep_id}")
    if result.worker_failures:
        click.echo(
            f"nbprod: {result.worker_failures} worker process(es) failed; logs in "
            f"{result.worker_logs[0].parent}",
            err=True,
        )
    if result.interrupted:
        sys.exit(130)
    sys.exit(0 if result.all_succeeded else 1)


def prepare_all(plan: Any, settings: Any, **options: Any) -> None:
    """A dry run checks what queueing would (kernel, job name, working folder) too."""
    from nbprod.runner import prepare

    for index in range(len(plan.sets)):
        prepare(plan.notebook, settings=settings, parameters=plan.parameters(index), **options)


def _params_text(values: dict[str, Any]) -> str:
    return common.short_params(values, width=60)


@click.group("sweeps")
def sweeps_group() -> None:
    """Inspect parameter sweeps (`nbprod sweep`)."""


@sweeps_group.command("show")
@click.argument("sweep_id")
@common.store_option
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the table as CSV.")
@click.option("--sort", "sort_key", metavar="SCRAP", help="Sort by a scrap (or parameter).")
@click.option("--desc", is_flag=True, help="Sort descending (runs without the value last).")
def sweeps_show(
    sweep_id: str,
    store: str | None,
    as_json: bool,
    as_csv: bool,
    sort_key: str | None,
    desc: bool,
) -> None:
    """The results table of SWEEP_ID (a unique prefix is enough): one row per run with
    the swept parameters, status, duration and every scrap."""
    from nbprod.errors import BadInput
    from nbprod.sweeps.table import sweep_table

    if as_json and as_csv:
        raise BadInput("choose one of --json and --csv")
    table = sweep_table(sweep_id, common.settings(store=store))
    if sort_key:
        table = table.sorted_by(sort_key, descending=desc)
    if as_json:
        common.echo_json(table.to_dict())
        return
    if as_csv:
        click.echo(table.to_csv(), nl=False)
        return
    info = table.sweep
    counts = ", ".join(f"{n} {s}" for s, n in sorted(table.counts.items()))
    click.echo(
        f"sweep {info.sweep_id}  {info.notebook['name']}  job {info.job}  "
        f"created {info.created_at}  {len(table.rows)} runs: {counts}"
    )
    if info.base:
        click.echo(f"fixed: {common.short_params(info.base, width=100)}")
    columns = table.columns()
    shown = [c for c in columns if c != "error"]
    rows = [
        tuple(
            _cell(c, values[c])
            for c in shown  # the run id, parameters, status, duration and scraps
        )
        for values in table.records()
    ]
    headers = {"run_id": "RUN_ID", "status": "STATUS", "duration_s": "DURATION"}
    common.table(tuple(headers.get(c, c) for c in shown), rows)
    errors = [(r.run_id, r.error) for r in table.rows if r.error and r.status != "succeeded"]
    for run_id, error in errors:
        click.echo(f"  {run_id}: {error}")


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column == "duration_s":
        return f"{value:.1f}s"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e9 or abs(value) < 1e-4):
            return f"{value:.4g}"
        text = f"{value:.4f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


@sweeps_group.command("list")
@common.store_option
@click.option("-n", "--limit", type=click.IntRange(min=0), default=20, show_default=True)
@common.json_option
def sweeps_list(store: str | None, limit: int, as_json: bool) -> None:
    """Sweeps in the store, newest first, with their runs' statuses."""
    from nbprod.sweeps.record import list_sweeps
    from nbprod.sweeps.table import sweep_table

    settings = common.settings(store=store)
    infos = list_sweeps(settings=settings, limit=limit or None)
    views = []
    for info in infos:
        counts = sweep_table(info.sweep_id, settings).counts
        views.append((info, counts))
    if as_json:
        common.echo_json(
            [
                {
                    "sweep_id": info.sweep_id,
                    "created_at": info.created_at,
                    "notebook": info.notebook["name"],
                    "job": info.job,
                    "swept": info.swept,
                    "runs": len(info.run_ids),
                    "counts": counts,
                }
                for info, counts in views
            ]
        )
        return
    rows = [
        (
            info.sweep_id,
            info.created_at[:19].replace("T", " "),
            info.notebook["name"],
            ", ".join(info.swept),
            len(info.run_ids),
            counts.get("succeeded", 0),
            sum(n for s, n in counts.items() if s != "succeeded"),
        )
        for info, counts in views
    ]
    common.table(("SWEEP", "CREATED", "NOTEBOOK", "SWEPT", "RUNS", "SUCCEEDED", "OTHER"), rows)
