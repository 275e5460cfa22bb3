"""`runs list --status queued`: runs waiting in the queue, which have no run record yet."""

from __future__ import annotations

import json
from pathlib import Path


def test_status_queued_lists_runs_waiting_for_a_worker(
    cli, cli_inproc, make_notebook, tmp_path: Path
):
    """The run goes through the console script; the commands that start no kernel are called
    in this process."""
    notebook = make_notebook("print(days)", parameters="days = 7")
    job_file = tmp_path / "job.yaml"
    job_file.write_text(f"name: waiting\nnotebook: {notebook}\n")
    assert cli_inproc("jobs", "apply", str(job_file)).returncode == 0
    done = cli("exec", str(notebook), "--job", "ran")
    assert done.returncode == 0, done.stderr
    queued = cli_inproc("jobs", "run", "waiting", "--queue", "-p", "days", "30", "--json")
    assert queued.returncode == 0, queued.stderr
    run_id = json.loads(queued.stdout)["run_id"]

    listed = cli_inproc("runs", "list", "--status", "queued", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["run_id"], r["job"], r["status"]) for r in rows] == [(run_id, "waiting", "queued")]
    assert rows[0]["parameters"] == {"days": 30}

    both = cli_inproc("runs", "list", "--status", "queued", "--status", "succeeded")
    assert both.returncode == 0, both.stderr
    lines = both.stdout.splitlines()
    assert any(run_id in line and "queued" in line for line in lines), both.stdout
    assert any(" ran " in f" {line} " and "succeeded" in line for line in lines), both.stdout

    other_job = cli_inproc("runs", "list", "--status", "queued", "--job", "ran", "--json")
    assert json.loads(other_job.stdout) == []
    only_records = cli_inproc("runs", "list", "--status", "succeeded", "--json")
    assert [r["job"] for r in json.loads(only_records.stdout)] == ["ran"]
