"""The store layout, in one place.

```
<root>/<job>/<run-id>/<notebook>.ipynb      output notebook
<root>/<job>/<run-id>/run.json              run record (written last)
<root>/<job>/<run-id>/kernel.log            the kernel process's own stderr/stdout, if any
<root>/.nbprod/notebooks/<sha256>.ipynb     input snapshots, content-addressed
<root>/.nbprod/environments/<sha256>.txt    package lists (pip-freeze style), content-addressed
<root>/.nbprod/jobs/<job>/v000001.json      job versions (JobVersion.to_dict()), immutable
<root>/.nbprod/jobs/<job>/state.json        {"paused": bool, "updated_at": iso}; rewritten
<root>/.nbprod/sweeps/<sweep-id>.json       a sweep (SweepInfo.to_dict()), written once
<root>/.nbprod/pipelines/<name>/v000001.json    pipeline versions (PipelineVersion), immutable
<root>/.nbprod/pipelines/<name>/runs/<id>.json  a pipeline run (PipelineRun); rewritten as it goes
<root>/<name>.<step>/<run-id>/              a pipeline step's runs (ordinary runs)
<root>/<job>/.deleting-<run-id>.<token>/    a run being deleted (local store; hidden)
<root>/.nbprod/deleting/<job>/<run-id>.json a deletion in progress (S3 store)
```
"""

from __future__ import annotations

import re

from nbprod.errors import InvalidName

META = ".nbprod"
MAX_SEGMENT_BYTES = 255
"""NAME_MAX on Linux, macOS and Windows: a longer folder or file name cannot be created."""
RECORD_NAME = "run.json"
JOBS_PREFIX = f"{META}/jobs"
JOB_STATE_NAME = "state.json"
JOB_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
"""A job name, besides not ending with '.' (the JupyterLab extension gets it from /info)."""
JOB_NAME_RULE = (
    "use letters, digits, '.', '_' or '-', starting with a letter or digit (at most 100 characters)"
)
SWEEPS_PREFIX = f"{META}/sweeps"
PIPELINES_PREFIX = f"{META}/pipelines"
PIPELINE_RUNS_NAME = "runs"
STEP_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,49}"
"""A pipeline step's name: no '.', which separates step and scrap in ``parameters_from``."""
_STEP = re.compile(rf"^{STEP_NAME_PATTERN}\Z")
# \Z, not $: "$" also matches before a trailing newline ("daily\n" would pass).
_JOB = re.compile(rf"^{JOB_NAME_PATTERN}\Z")
_FILE = re.compile(r"^[^/\\\x00]{1,200}\Z")
RUN_ID_PATTERN = r"\d{8}T\d{9}Z-[0-9a-f]{8}"
"""A run id as ``records.new_run_id`` makes it: UTC time to the millisecond, 32 random bits."""
_RUN_ID = re.compile(rf"^{RUN_ID_PATTERN}\Z")
_SWEEP_ID = _RUN_ID  # a sweep id is made like a run id (records.new_run_id)


def check_job_name(name: str) -> str:
    if not _JOB.match(name or "") or name.endswith("."):
        raise InvalidName(f"invalid job name {name!r}: {JOB_NAME_RULE}")
    return name


def job_name_from_stem(stem: str) -> str:
    """A notebook file stem made into a valid job name (``Sales Report`` → ``Sales-Report``)."""
    # A job name must start with a letter or digit, so leading "_" goes too.
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).lstrip("-._")[:100].rstrip("-.")
    return cleaned or "notebook"


def is_run_id(value: str) -> bool:
    return bool(_RUN_ID.match(value))


def check_file_name(name: str) -> str:
    if not _FILE.match(name) or name in (".", "..") or name.startswith("."):
        raise InvalidName(f"invalid file name {name!r}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidName(f"invalid file name {name!r}: not valid UTF-8") from None
    if size > MAX_SEGMENT_BYTES:  # 200 characters can be 800 bytes of UTF-8
        raise InvalidName(
            f"invalid file name {name[:40]!r}...: longer than {MAX_SEGMENT_BYTES} bytes"
        )
    return name


def run_prefix(job: str, run_id: str) -> str:
    return f"{check_job_name(job)}/{run_id}"


def record_key(job: str, run_id: str) -> str:
    return f"{run_prefix(job, run_id)}/{RECORD_NAME}"


def output_key(job: str, run_id: str, notebook_name: str) -> str:
    return f"{run_prefix(job, run_id)}/{check_file_name(notebook_name)}"


def partial_key(job: str, run_id: str) -> str:
    """The partial output notebook a queued run autosaves to the store while it executes
    (a reaper on another machine keeps it if the worker dies); removed when the run ends.
    A dot name: no notebook's own output name can be it."""
    return f"{run_prefix(job, run_id)}/.partial.ipynb"


def kernel_log_key(job: str, run_id: str) -> str:
    return f"{run_prefix(job, run_id)}/kernel.log"


def snapshot_key(sha256: str) -> str:
    return f"{META}/notebooks/{sha256}.ipynb"


def environment_key(sha256: str) -> str:
    return f"{META}/environments/{sha256}.txt"


_CONTENT_ADDRESSED = re.compile(
    rf"^{re.escape(META)}/(?:notebooks|environments)/([0-9a-f]{{64}})\."
)


def content_sha256(key: str) -> str | None:
    """The sha256 a content-addressed key (snapshot, environment) names, else None."""
    match = _CONTENT_ADDRESSED.match(key)
    return match.group(1) if match else None


def job_versions_prefix(job: str) -> str:
    return f"{JOBS_PREFIX}/{check_job_name(job)}"


def job_version_key(job: str, version: int) -> str:
    # Zero-padded so that a plain key listing is in version order.
    return f"{job_versions_prefix(job)}/v{version:06d}.json"


def job_state_key(job: str) -> str:
    return f"{job_versions_prefix(job)}/{JOB_STATE_NAME}"


_VERSION_FILE = re.compile(r"^v(\d{6,})\.json\Z")


def parse_job_version_name(name: str) -> int | None:
    """The version number in a ``v000001.json`` file name, else None."""
    match = _VERSION_FILE.match(name)
    return int(match.group(1)) if match else None


def is_sweep_id(value: str) -> bool:
    return bool(_SWEEP_ID.match(value or ""))


def sweep_key(sweep_id: str) -> str:
    if not is_sweep_id(sweep_id):
        raise InvalidName(f"invalid sweep id {sweep_id!r}")
    return f"{SWEEPS_PREFIX}/{sweep_id}.json"


def parse_sweep_name(name: str) -> str | None:
    """The sweep id in a ``<sweep-id>.json`` file name, else None."""
    stem = name[: -len(".json")] if name.endswith(".json") else ""
    return stem if is_sweep_id(stem) else None


def pipeline_versions_prefix(pipeline: str) -> str:
    return f"{PIPELINES_PREFIX}/{check_job_name(pipeline)}"


def pipeline_version_key(pipeline: str, version: int) -> str:
    return f"{pipeline_versions_prefix(pipeline)}/v{version:06d}.json"


def pipeline_state_key(pipeline: str) -> str:
    """The pipeline's pause state (``{"paused": ...}``), beside its versions."""
    return f"{pipeline_versions_prefix(pipeline)}/{JOB_STATE_NAME}"


def pipeline_runs_prefix(pipeline: str) -> str:
    return f"{pipeline_versions_prefix(pipeline)}/{PIPELINE_RUNS_NAME}"


def pipeline_run_key(pipeline: str, run_id: str) -> str:
    if not is_run_id(run_id):
        raise InvalidName(f"invalid pipeline run id {run_id!r}")
    return f"{pipeline_runs_prefix(pipeline)}/{run_id}.json"


def parse_pipeline_run_name(name: str) -> str | None:
    """The run id in a ``<run-id>.json`` file name, else None."""
    stem = name[: -len(".json")] if name.endswith(".json") else ""
    return stem if is_run_id(stem) else None


def check_step_name(name: str) -> str:
    if not isinstance(name, str) or not _STEP.match(name):
        raise InvalidName(
            f"invalid step name {name!r}: use letters, digits, '_' or '-', starting with a "
            "letter or digit (at most 50 characters)"
        )
    return name


def step_job(pipeline: str, step: str) -> str:
    """The job name a pipeline step's runs are stored under: ``<pipeline>.<step>``."""
    return check_job_name(f"{pipeline}.{check_step_name(step)}")
