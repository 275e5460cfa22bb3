"""Job definitions through the CLI: apply, versions, show, run, history, pause.

Commands that start no kernel are called in this process (`cli_inproc`); the proof through the
real console script is test_jobs_run_uses_the_pinned_snapshot_and_validates_overrides (`jobs
run` and its exit-2 refusal) and the confirmation-less `jobs delete` calls of
test_jobs_delete_refuses_unknown_jobs_and_cancels_queued_runs (no terminal to ask on).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import GLUE


@pytest.fixture
def job_files(make_notebook, tmp_path):
    nb = make_notebook(
        GLUE + "glue('answer', days * 2)\nprint('VERSION-A', region)",
        parameters="region: str = 'eu'  # where\ndays: int = 7  # history",
        name="report.ipynb",
    )
    definition = {
        "name": "daily-report",
        "notebook": "notebooks/report.ipynb",
        "parameters": {"region": "us"},
        "schedule": "0 7 * * *",
        "timezone": "Europe/Berlin",
        "tags": ["sales"],
    }
    path = tmp_path / "daily.yaml"

    def write(**changes):
        path.write_text(yaml.safe_dump({**definition, **changes}))
        return path

    write()
    return nb, path, write


def test_apply_versions_and_history(cli_inproc, job_files, store_dir):
    cli = cli_inproc
    nb, path, write = job_files
    first = cli("jobs", "apply", str(path))
    assert first.returncode == 0, first.stderr
    assert "job daily-report version 1" in first.stdout and "created" in first.stdout
    assert (store_dir / ".nbprod/jobs/daily-report/v000001.json").is_file()

    again = cli("jobs", "apply", str(path))
    assert again.returncode == 0 and "unchanged (version 1)" in again.stdout

    write(parameters={"region": "us", "days": 30})
    second = cli("jobs", "apply", str(path))
    assert "version 2" in second.stdout and "parameters.days: <unset> → 30" in second.stdout
    write(parameters={"region": "us", "days": 30}, timeout="30m")
    timed = cli("jobs", "apply", str(path))
    assert "  timeout: null → 30m" in timed.stdout, timed.stdout
    assert "timeout    30m  retries" in cli("jobs", "show", "daily-report").stdout
    write(parameters={"region": "us", "days": 30}, timeout="45m")
    assert "  timeout: 30m → 45m" in cli("jobs", "apply", str(path)).stdout
    write(parameters={"region": "us", "days": 30})
    assert "timeout: 45m → null" in cli("jobs", "apply", str(path)).stdout

    nb.write_text(nb.read_text().replace("VERSION-A", "VERSION-B"))
    shown = cli("jobs", "show", "daily-report")
    assert "differs from the pinned snapshot" in shown.stderr
    third = cli("jobs", "apply", str(path))
    assert "version 6" in third.stdout and "pinned a new snapshot" in third.stdout

    history = json.loads(cli("jobs", "history", "daily-report", "--json").stdout)
    assert [v["version"] for v in history] == [1, 2, 3, 4, 5, 6]
    assert history[0]["notebook_sha256"] != history[5]["notebook_sha256"]
    text = cli("jobs", "history", "daily-report").stdout
    assert text.index("version 3") < text.index("version 1")


def test_the_kernel_check_does_not_import_ipython(job_files, nbprod_env, tmp_path):
    """Checking that ``python3`` is installed must not load IPython (0.4 s) into a
    process that never runs a kernel; jupyter_client's defaults would."""
    _, path, _ = job_files
    code = "import sys; from nbprod.cli import main; main(['jobs', 'apply', sys.argv[1]])"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, str(path)],
        capture_output=True,
        text=True,
        env=nbprod_env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "jupyter_client.kernelspec" in imported and "IPython" not in imported


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": "61 * * * *"}, "invalid cron expression"),
        ({"schedule": "@fortnightly"}, "unknown schedule preset"),
        ({"timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"parameters": {"dayz": 3}}, "unknown parameter 'dayz'"),
        ({"parameters": {"days": "many"}}, "parameter 'days' expects int"),
        ({"name": "../escape"}, "invalid job name"),
        ({"schedul": "@daily"}, "unknown field 'schedul' (did you mean 'schedule'?)"),
        ({"notebook": "missing.ipynb"}, "notebook not found"),
        ({"retries": -1}, "'retries' must be a whole number"),
        ({"kernel": "no-such-kernel"}, "no kernel named"),
    ],
)
def test_invalid_definitions_change_nothing(cli_inproc, job_files, store_dir, change, message):
    cli = cli_inproc
    _, _, write = job_files
    done = cli("jobs", "apply", str(write(**change)))
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (store_dir / ".nbprod" / "jobs").exists()


def test_list_show_next_and_pause(cli_inproc, job_files):
    cli = cli_inproc
    _, path, _ = job_files
    cli("jobs", "apply", str(path))
    listing = cli("jobs", "list")
    row = listing.stdout.splitlines()[1].split()
    assert row[:2] == ["daily-report", "1"] and "(Europe/Berlin)" in listing.stdout
    nxt = cli("jobs", "next", "daily-report", "-n", "3").stdout.split()
    assert len(nxt) == 3 and all(t.endswith(("+01:00", "+02:00")) for t in nxt)
    assert all("T07:00:00" in t for t in nxt)
    as_json = json.loads(cli("jobs", "list", "--json").stdout)[0]
    assert as_json["next_runs"] and as_json["paused"] is False

    assert cli("jobs", "pause", "daily-report").returncode == 0
    paused = json.loads(cli("jobs", "list", "--json").stdout)[0]
    assert paused["paused"] is True and paused["next_runs"] == []
    cli("jobs", "resume", "daily-report")
    assert json.loads(cli("jobs", "list", "--json").stdout)[0]["paused"] is False
    missing = cli("jobs", "show", "nope")
    assert missing.returncode == 2 and "no job 'nope'" in missing.stderr


def test_jobs_run_uses_the_pinned_snapshot_and_validates_overrides(cli, cli_inproc, job_files):
    nb, path, _ = job_files
    assert cli_inproc("jobs", "apply", str(path)).returncode == 0
    nb.write_text(nb.read_text().replace("VERSION-A", "VERSION-B"))  # not applied

    done = cli("jobs", "run", "daily-report", "-p", "days", "30", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["job"] == "daily-report" and record["job_version"] == 1
    assert record["trigger"] == "job" and record["tags"] == ["sales"]
    assert record["parameters"]["region"] == "us" and record["parameters"]["days"] == 30
    assert record["scraps"]["answer"]["value"] == 60
    assert record["notebook"]["path"] == str(nb)
    output = Path(record["output_location"]).read_text()
    assert "VERSION-A" in output and "VERSION-B" not in output

    bad = cli("jobs", "run", "daily-report", "-p", "days", "lots")
    assert bad.returncode == 2 and "parameter 'days' expects int" in bad.stderr

    shown = cli_inproc("jobs", "show", "daily-report")
    assert record["run_id"] in shown.stdout and "1/1 succeeded" in shown.stdout

    # A paused job keeps its last run's status in LAST; paused is its STATE.
    assert cli_inproc("jobs", "pause", "daily-report").returncode == 0
    listing = cli_inproc("jobs", "list").stdout.splitlines()
    assert listing[0].split()[3:5] == ["STATE", "LAST"], listing
    assert re.search(r"\(Europe/Berlin\)\s+paused\s+succeeded\s+-\s+1/1$", listing[1]), listing


def test_jobs_delete_refuses_unknown_jobs_and_cancels_queued_runs(cli, cli_inproc, job_files):
    _, path, _ = job_files
    assert cli_inproc("jobs", "apply", str(path)).returncode == 0
    queued = cli_inproc("jobs", "run", "daily-report", "--queue", "-q")
    assert queued.returncode == 0, queued.stderr
    run_id = queued.stdout.strip()

    unasked = cli("jobs", "delete", "daily-report")  # no terminal to confirm on: nothing done
    assert unasked.returncode == 1 and "aborted" in unasked.stderr
    assert cli_inproc("jobs", "show", "daily-report").returncode == 0

    unknown = cli_inproc("jobs", "delete", "no-such-job", "--yes")
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    assert "no job 'no-such-job'" in unknown.stderr
    unknown_unasked = cli("jobs", "delete", "no-such-job")  # refused before any question
    assert unknown_unasked.returncode == 2 and "no job 'no-such-job'" in unknown_unasked.stderr
    assert "[y/N]" not in unknown_unasked.stdout + unknown_unasked.stderr

    deleted = cli_inproc("jobs", "delete", "daily-report", "--yes", "--json")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"deleted": "daily-report", "cancelled_queued": [run_id]}
    gone = cli_inproc("jobs", "show", "daily-report")
    assert gone.returncode == 2 and "no job 'daily-report'" in gone.stderr
    again = cli_inproc("jobs", "delete", "daily-report", "--yes")
    assert again.returncode == 2 and again.stderr.startswith("nbprod: error: no job")


def test_jobs_next_previews_a_schedule_without_a_job(cli_inproc):
    cli = cli_inproc
    preview = cli(
        "jobs", "next", "--schedule", "0 7 * * *", "--timezone", "Europe/Berlin", "-n", "2"
    )
    assert preview.returncode == 0, preview.stderr
    lines = preview.stdout.splitlines()
    assert "(Europe/Berlin)" in lines[0] and len(lines) == 3
    assert all("T07:00:00+0" in line for line in lines[1:])
    bad = cli("jobs", "next", "--schedule", "61 * * * *")
    assert bad.returncode == 2 and "invalid cron expression" in bad.stderr
    neither = cli("jobs", "next")
    assert neither.returncode == 2 and "give a job NAME or --schedule" in neither.stderr


def test_jobs_show_prints_the_drift_warning_on_a_line_of_its_own(cli_inproc, job_files, nbprod_env):
    """Both streams on one terminal, as a user sees them: the warning is a whole line before
    the job's lines, not appended to one (issue 16 reported it on the last output line)."""
    import pty

    from tests.conftest import nbprod_command

    nb, path, _ = job_files
    assert cli_inproc("jobs", "apply", str(path)).returncode == 0
    nb.write_text(nb.read_text().replace("VERSION-A", "VERSION-B"))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*nbprod_command(), "jobs", "show", "daily-report"],
        env=nbprod_env,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process has exited
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(60) == 0, seen
    lines = seen.decode().replace("\r\n", "\n").splitlines()
    warnings = [i for i, line in enumerate(lines) if "differs from the pinned snapshot" in line]
    assert len(warnings) == 1, lines
    assert lines[warnings[0]].startswith("warning: the working copy "), lines
    assert lines[warnings[0]].endswith("`nbprod jobs apply` pins it"), lines
    assert any(line.startswith("job        daily-report (version 1)") for line in lines), lines
    assert seen.endswith(b"\n"), "the last output line is unterminated"
