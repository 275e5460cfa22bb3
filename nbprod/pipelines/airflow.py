"""A pipeline version as an Airflow 3 DAG file (`nbprod export airflow`): one task per step.

Rendered from the version alone, like a job's (``jobs/airflow.py``, whose mapping of
retries and timeouts it shares). Each task calls `nbprod pipelines step-run` for its step
of the pipeline run keyed on Airflow's DAG run; nbprod passes the scraps along the edges
and keeps the records, Airflow decides when and in which order (``needs`` → upstream).
"""

from __future__ import annotations

import textwrap
from zoneinfo import ZoneInfo

from nbprod.errors import BadInput
from nbprod.jobs.airflow import (
    DAG_IMPORTS,
    TIMEOUT_GRACE_S,
    WHY_TASK,
    DagFile,
    _number,
    _pendulum,
    _text,
    file_name,
)
from nbprod.jobs.model import PRESETS
from nbprod.pipelines.model import PipelineVersion, Step
from nbprod.records import parse_iso

TASK_BODY = """\
@task
def run_step(step: str) -> str | None:
    \"\"\"Run one step of this DAG run's nbprod pipeline run; map nbprod's exit code.\"\"\"
    context = get_current_context()
    dag_run = context["dag_run"]
    moment = context.get("logical_date") or dag_run.run_after
    command = shlex.split(os.environ.get("NBPROD_COMMAND", "nbprod")) + [
        "pipelines", "step-run", PIPELINE, step, "--version", str(VERSION), "--json",
        "--trigger", "airflow",
        "--attempt", str(context["ti"].try_number),
        "--scheduled-for", moment.isoformat(),
        "--logical-run-id", dag_run.run_id,
    ]
    overrides = (dag_run.conf or {}).get("parameters")
    if overrides:  # {"step": {"param": value}}, typed and checked by nbprod
        command += ["-y", json.dumps(overrides)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    try:
        record = json.loads(done.stdout)
    except ValueError:
        record = {}
    run = record.get("run_id")
    code = done.returncode
    if code == 0:
        if record.get("ran") is False:
            print(f"nbprod step {step} succeeded already (run {run}): not run again")
        return run
    if code == SPOOLED and record.get("spooled_to"):
        print(f"WARNING: nbprod run {run} succeeded but waits in this worker's spool "
              f"({record['spooled_to']}): publish it with `nbprod store flush`")
        return run
    what = f"nbprod step {step} run {run} ended {record.get('status')}" if run else "nbprod"
    if code in NO_RETRY:
        raise AirflowFailException(f"{what}: exit {code} ({NO_RETRY[code]}), not retried")
    raise RuntimeError(f"{what}: exit {code}")
"""
"""The task's code: the same for every step (the pipeline's values are module constants)."""


def _task_args(step: Step) -> list[str]:
    """The task's keyword arguments: the step's retries and timeout as a job's."""
    args = [f"task_id={_text(step.name)},", f"retries={step.retries},  # step retries"]
    if step.retries:
        args += [
            f"retry_delay=timedelta(seconds={_number(step.retry_delay)}),  # step retry_delay",
            "retry_exponential_backoff=True,  # doubled each try, as nbprod does",
        ]
    if step.timeout is not None:
        args.append(
            f"execution_timeout=timedelta(seconds={_number(step.timeout)} + {TIMEOUT_GRACE_S}),"
            "  # step timeout + grace"
        )
    return args


def unmapped(version: PipelineVersion) -> list[str]:
    """What of the definition Airflow does not do (the file and docs/airflow.md say it)."""
    d = version.definition
    lost = []
    if d.schedule:
        lost.append(
            "overlap - a fire while a run of the pipeline is still going waits in Airflow "
            "(max_active_runs=1) instead of being skipped"
        )
    if d.schedule and d.catchup == "none":
        lost.append(
            "catchup: none - after downtime Airflow (catchup=False) still runs the newest "
            "missed fire once; nbprod would skip it"
        )
    if d.schedule and d.catchup == "all":
        window = f"{_number(d.catchup_window)} s" if d.catchup_window else "one day"
        lost.append(
            f"catchup_window ({window}) - Airflow (catchup=True) runs every missed fire "
            "since start_date"
        )
    if d.notifications:
        lost.append("notifications - nbprod's scheduler sends them; use Airflow's callbacks")
    if any(s.resources for s in d.steps):
        lost.append("resources - choose an Airflow pool or queue for the steps' tasks instead")
    return lost


def render(version: PipelineVersion, *, store_url: str, paused: bool = False) -> DagFile:
    """The DAG file for one pipeline version (``paused``: the DAG starts paused); BadInput
    for a schedule Airflow cannot take."""
    d = version.definition
    cron = PRESETS.get(d.schedule, d.schedule) if d.schedule else None
    if cron is not None and len(cron.split()) != 5:
        raise BadInput(
            f"pipeline {d.name!r}: schedule {d.schedule!r} has a seconds field; Airflow's "
            "cron schedules are 5 fields (minutes and up)"
        )
    lost = unmapped(version)
    tags = sorted({"nbprod", "nbprod-pipeline", *d.tags})
    start = parse_iso(version.created_at).astimezone(ZoneInfo(d.timezone))
    schedule = "None"
    if cron is not None:
        schedule = f"CronTriggerTimetable({_text(cron)}, timezone={_text(d.timezone)})"
    lines = [
        f"# Airflow DAG for the nbprod pipeline {d.name}, version {version.version}.",
        "# Generated by `nbprod export airflow`: change the pipeline (`nbprod pipelines apply`)",
        "# and export it again rather than editing this file; the same version gives the same",
        "# file.",
        f"#   pipeline version {version.version}, created {version.created_at}",
    ]
    for step in d.steps:
        pin = version.pinned[step.name]
        lines.append(f"#   step {step.name}: pinned notebook {pin.notebook_name}")
        lines.append(f"#     (sha256 {pin.notebook_sha256})")
    lines += [
        f"#   store {store_url}",
        "#",
        "# Each DAG run is one nbprod pipeline run (created by the first task; its id derives",
        "# from Airflow's run id); each task runs its step, each Airflow try one attempt:",
        "#   nbprod pipelines step-run PIPELINE STEP --version N --attempt TRY",
        "#     --scheduled-for LOGICAL_DATE --logical-run-id AIRFLOW_RUN_ID",
        "# nbprod passes the upstream steps' scraps as typed parameters; a step that succeeded",
        "# already is not run again. The worker needs nbprod and the store/catalog settings",
        "# (NBPROD_STORE, NBPROD_CATALOG or a config file); NBPROD_COMMAND overrides the",
        "# command (default: nbprod on PATH).",
        "#",
        WHY_TASK.replace("job's name", "pipeline's name"),
    ]
    if lost:
        lines += ["#", "# What the pipeline's definition says that Airflow does not do here:"]
        for item in lost:
            lines += textwrap.wrap(item, 96, initial_indent="#   - ", subsequent_indent="#     ")
    lines += [
        *DAG_IMPORTS,
        f"PIPELINE = {_text(d.name)}",
        f"VERSION = {version.version}",
        "",
        'NO_RETRY = {2: "bad input, or the step cannot run", 130: "cancelled"}',
        '"""nbprod exit codes no retry can fix (docs/exit-codes.md)."""',
        "SPOOLED = 5",
        '"""The run finished but its output waits in the worker\'s spool for the store."""',
        "",
        "",
        TASK_BODY,
        "",
        "with DAG(",
        "    dag_id=PIPELINE,",
        f"    description={_text(d.description.strip() or f'nbprod pipeline {d.name}')},",
        f"    schedule={schedule},",
        f"    start_date={_pendulum(start, d.timezone)},",
        f"    catchup={d.catchup == 'all'},  # pipeline catchup: {d.catchup}",
        "    max_active_runs=1,  # a pipeline runs one at a time, as nbprod fires it",
        f"    tags=[{', '.join(_text(t) for t in tags)}],",
        f"    is_paused_upon_creation={paused},",
        ") as dag:",
        "    tasks = {}",
    ]
    for step in d.steps:
        lines.append(f"    tasks[{_text(step.name)}] = run_step.override(")
        lines += [f"        {arg}" for arg in _task_args(step)]
        lines.append(f"    )({_text(step.name)})")
    for step in d.steps:
        if step.needs:
            upstream = ", ".join(f"tasks[{_text(n)}]" for n in step.needs)
            lines.append(f"    [{upstream}] >> tasks[{_text(step.name)}]")
    lines.append("")
    return DagFile(d.name, version.version, file_name(d.name), "\n".join(lines), lost)
