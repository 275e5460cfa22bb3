"""An nbprod job version as an Airflow 3 DAG file (`nbprod export airflow`).

The file is rendered from the version alone (never from the clock or the machine), so
re-exporting an unchanged job gives the same bytes. Its one task calls `nbprod jobs run`
for the pinned version; nbprod keeps the run records, the store and the catalog, Airflow
only decides when. docs/airflow.md has the mapping table.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nbprod.errors import BadInput
from nbprod.jobs.model import PRESETS, JobVersion
from nbprod.records import parse_iso

TIMEOUT_GRACE_S = 300
"""Added to the job's timeout for Airflow's execution_timeout: nbprod stops the run at the
timeout itself and records it as timed_out (exit 3); Airflow kills the task only if that
did not happen in time."""

WHY_TASK = """\
# Why a @task and not the standard provider's BashOperator: nbprod's exit codes mean
# different things to Airflow (2, bad input, must fail without a retry; 5, spooled, is a
# success), and only Python code in the task can raise AirflowFailException or log a
# warning for them; the command is also passed as a list, with no shell quoting of the
# job's name or of a run's parameters."""


DAG_IMPORTS = (
    "",
    "from __future__ import annotations",
    "",
    "import json",
    "import os",
    "import shlex",
    "import subprocess",
    "from datetime import timedelta",
    "",
    "import pendulum",
    "from airflow.exceptions import AirflowFailException",
    "from airflow.sdk import DAG, get_current_context, task",
    "from airflow.timetables.trigger import CronTriggerTimetable",
    "",
)
"""The generated DAG file's imports (a job's and a pipeline's, ``pipelines/airflow.py``)."""

TASK_BODY = """\
    def run_notebook() -> str | None:
        \"\"\"Run the pinned job version with Airflow's context; map nbprod's exit code.\"\"\"
        context = get_current_context()
        dag_run = context["dag_run"]
        moment = context.get("logical_date") or dag_run.run_after
        command = shlex.split(os.environ.get("NBPROD_COMMAND", "nbprod")) + [
            "jobs", "run", JOB, "--version", str(VERSION), "--json",
            "--trigger", "airflow",
            "--attempt", str(context["ti"].try_number),
            "--scheduled-for", moment.isoformat(),
            "--logical-run-id", dag_run.run_id,
        ]
        overrides = (dag_run.conf or {}).get("parameters")
        if overrides:  # typed and checked by nbprod against the pinned notebook
            command += ["-y", json.dumps(overrides)]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        try:
            record = json.loads(done.stdout)
        except ValueError:
            record = {}
        run = record.get("run_id")
        code = done.returncode
        if code == 0:
            return run
        if code == SPOOLED and record.get("spooled_to"):
            print(f"WARNING: nbprod run {run} succeeded but waits in this worker's spool "
                  f"({record['spooled_to']}): publish it with `nbprod store flush`")
            return run
        what = f"nbprod run {run} ended {record.get('status')}" if run else "nbprod"
        if code in NO_RETRY:
            raise AirflowFailException(f"{what}: exit {code} ({NO_RETRY[code]}), not retried")
        raise RuntimeError(f"{what}: exit {code}")
"""
"""The task's code: the same for every job (the job's values are module constants)."""


@dataclass(frozen=True)
class DagFile:
    """A rendered DAG file: where it goes and what it says."""

    job: str
    version: int
    file_name: str
    text: str
    lost: list[str]
    """What the job's definition says that the DAG does not do (also in the file)."""


def file_name(job: str) -> str:
    """The DAG file's name for job ``job`` (job names are safe file names)."""
    return f"nbprod_{job.replace('-', '_').replace('.', '_')}.py"


def render(version: JobVersion, *, store_url: str, paused: bool = False) -> DagFile:
    """The DAG file for one job version (``paused``: the DAG starts paused); BadInput for a
    schedule Airflow cannot take."""
    d = version.definition
    cron = PRESETS.get(d.schedule, d.schedule) if d.schedule else None
    if cron is not None and len(cron.split()) != 5:
        raise BadInput(
            f"job {d.name!r}: schedule {d.schedule!r} has a seconds field; Airflow's cron "
            "schedules are 5 fields (minutes and up)"
        )
    lost = unmapped(version)
    start = parse_iso(version.created_at).astimezone(ZoneInfo(d.timezone))
    task_args = [f"retries={d.retries},  # job retries"]
    if d.retries:
        task_args += [
            f"retry_delay=timedelta(seconds={_number(d.retry_delay)}),  # job retry_delay",
            "retry_exponential_backoff=True,  # doubled each try, as nbprod does",
        ]
    if d.timeout is not None:
        task_args.append(
            f"execution_timeout=timedelta(seconds={_number(d.timeout)} + {TIMEOUT_GRACE_S}),"
            "  # job timeout + grace"
        )
    catchup = d.catchup == "all"
    schedule = "None"
    if cron is not None:
        schedule = f"CronTriggerTimetable({_text(cron)}, timezone={_text(d.timezone)})"
    lines = [
        f"# Airflow DAG for the nbprod job {d.name}, version {version.version}.",
        "# Generated by `nbprod export airflow`: change the job (`nbprod jobs apply`) and export",
        "# it again rather than editing this file; the same job version gives the same file.",
        f"#   job version {version.version}, created {version.created_at}",
        f"#   pinned notebook {version.notebook_name} (sha256 {version.notebook_sha256})",
        f"#   store {store_url}",
        "#",
        "# Each DAG run is one logical nbprod run; each Airflow try is one of its attempts:",
        "#   nbprod jobs run NAME --version N --trigger airflow --attempt TRY",
        "#     --scheduled-for LOGICAL_DATE --logical-run-id AIRFLOW_RUN_ID",
        "# The worker needs nbprod and the store/catalog settings (NBPROD_STORE, NBPROD_CATALOG",
        "# or a config file); NBPROD_COMMAND overrides the command (default: nbprod on PATH).",
        "#",
        WHY_TASK,
    ]
    if lost:
        lines += ["#", "# What the job's definition says that Airflow does not do here:"]
        for item in lost:
            lines += textwrap.wrap(item, 96, initial_indent="#   - ", subsequent_indent="#     ")
    lines += [
        *DAG_IMPORTS,
        f"JOB = {_text(d.name)}",
        f"VERSION = {version.version}",
        "",
        'NO_RETRY = {2: "bad input", 130: "cancelled"}',
        '"""nbprod exit codes no retry can fix (docs/exit-codes.md)."""',
        "SPOOLED = 5",
        '"""The run finished but its output waits in the worker\'s spool for the store."""',
        "",
        "",
        "with DAG(",
        "    dag_id=JOB,",
        f"    description={_text(_description(d.description, d.name))},",
        f"    schedule={schedule},",
        f"    start_date={_pendulum(start, d.timezone)},",
        f"    catchup={catchup},  # job catchup: {d.catchup}",
        f"    max_active_runs={d.concurrency},  # job concurrency",
        f"    tags=[{', '.join(_text(t) for t in sorted({'nbprod', *d.tags}))}],",
        f"    is_paused_upon_creation={paused},",
        ") as dag:",
        "",
        "    @task(",
        *(f"        {arg}" for arg in task_args),
        "    )",
        TASK_BODY,
        "    run_notebook()",
        "",
    ]
    return DagFile(d.name, version.version, file_name(d.name), "\n".join(lines), lost)


def catchup_and_notification_losses(d: Any) -> list[str]:
    """What a job's or a pipeline's catch-up policy and notifications lose in Airflow."""
    lost = []
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
    return lost


def unmapped(version: JobVersion) -> list[str]:
    """What of the definition Airflow does not do (the file and docs/airflow.md say it)."""
    d = version.definition
    lost = []
    if d.schedule and d.overlap == "skip":
        lost.append(
            f"overlap: skip - a fire while {d.concurrency} run(s) are running waits in "
            "Airflow (max_active_runs) instead of being skipped"
        )
    lost += catchup_and_notification_losses(d)
    if d.resources:
        lost.append("resources - choose an Airflow pool or queue for the task instead")
    return lost


def _number(value: float | None) -> str:
    value = float(value or 0)
    return str(int(value)) if value.is_integer() else repr(value)


def _text(value: str) -> str:
    """A Python string literal (JSON's spelling is one; double quotes like the rest)."""
    return json.dumps(value, ensure_ascii=False)


def _description(text: str, job: str) -> str:
    return text.strip() or f"nbprod job {job}"


def _pendulum(moment: datetime, zone: str) -> str:
    parts = [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second]
    return f"pendulum.datetime({', '.join(map(str, parts))}, tz={_text(zone)})"
