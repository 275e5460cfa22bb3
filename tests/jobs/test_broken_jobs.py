"""A job definition that is broken in the store (from an older version, or written by hand)
is skipped with a reason, never a crash: the scheduler keeps firing the other jobs, and
`jobs list` / `jobs show` show it as broken.

The CLI is called in this process (`cli_inproc`) but for the scheduler daemon and `jobs run`
of test_listings_show_a_broken_job_with_its_reason, the proof through the real console script.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import yaml

from tests.conftest import nbprod_command

FAST = {"NBPROD_HEARTBEAT_SECONDS": "0.5", "NBPROD_SHUTDOWN_GRACE": "10"}
BROKEN = {
    "schedule": ("0 0 31 2 *", "never fires"),
    "timezone": ("Mars/Olympus", "unknown timezone"),
    "retries": ("many", "'retries'"),
}


@pytest.fixture
def world(cli_inproc, make_notebook, tmp_path, store_dir):
    """A healthy job firing every 2 s and a job `bad` broken by hand in the store."""

    def apply(name: str, **fields) -> None:
        notebook = make_notebook("print('hello')", name=f"{name}.ipynb")
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"name": name, "notebook": str(notebook), **fields}))
        done = cli_inproc("jobs", "apply", str(path))
        assert done.returncode == 0, done.stderr

    def break_bad(field: str, value: object) -> None:
        folder = store_dir / ".nbprod" / "jobs" / "bad"
        version = json.loads((folder / "v000001.json").read_text())
        version["version"] = 2
        version["definition"][field] = value
        (folder / "v000002.json").write_text(json.dumps(version))
        synced = cli_inproc("catalog", "sync")
        assert synced.returncode == 0, synced.stderr

    apply("bad", schedule="@daily")
    return apply, break_bad


@pytest.mark.parametrize("field", sorted(BROKEN))
def test_listings_show_a_broken_job_with_its_reason(cli, cli_inproc, world, field):
    apply, break_bad = world
    apply("good", schedule="@hourly")
    value, reason = BROKEN[field]
    break_bad(field, value)

    listing = cli_inproc("jobs", "list")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.startswith("bad "))
    assert "broken" in row
    assert "job bad is broken, not scheduled: " in listing.stderr, listing.stderr
    assert reason in listing.stderr and "Traceback" not in listing.stderr
    good = next(line for line in listing.stdout.splitlines() if line.startswith("good "))
    assert "T" in good.split()[-2]  # the healthy job still has its next run

    views = {v["name"]: v for v in json.loads(cli_inproc("jobs", "list", "--json").stdout)}
    assert reason in views["bad"]["broken"] and views["bad"]["next_runs"] == []
    assert views["good"]["broken"] is None and views["good"]["next_runs"]

    shown = cli_inproc("jobs", "show", "bad")
    assert shown.returncode == 0, shown.stderr
    assert "broken" in shown.stdout and reason in shown.stdout
    assert "Traceback" not in shown.stderr

    nxt = cli_inproc("jobs", "next", "bad")
    assert nxt.returncode == 2 and reason in nxt.stderr
    assert len(nxt.stderr.strip().splitlines()) == 1

    run = cli("jobs", "run", "bad")
    assert run.returncode == 2 and "broken" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_broken_job_does_not_stop_the_scheduler_firing_another(
    cli_inproc, world, nbprod_env, tmp_path
):
    apply, break_bad = world
    break_bad("schedule", "0 0 31 2 *")
    apply("good", schedule="* * * * * */2")
    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [*nbprod_command(), "scheduler", "--workers", "1", "--tick", "0.5"],
            env={**nbprod_env, **FAST},
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        succeeded = []
        while time.monotonic() < deadline and not succeeded:
            time.sleep(1)
            listed = cli_inproc("runs", "list", "--job", "good", "--json", "-n", "0")
            succeeded = [r for r in json.loads(listed.stdout) if r["status"] == "succeeded"]
        assert succeeded, log.read_text()
    finally:
        daemon.send_signal(signal.SIGINT)
        try:
            code = daemon.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            code = daemon.wait(10)
    text = log.read_text()
    assert code == 0, text
    broken = [line for line in text.splitlines() if " job_broken " in line]
    assert len(broken) == 1 and "job=bad" in broken[0] and "never fires" in broken[0], text
    assert "tick_failed" not in text, text
    assert not cli_inproc("runs", "list", "--job", "bad", "--json", "-n", "0").stdout.strip("[]\n ")


def test_apply_fixes_a_broken_job(cli_inproc, world, tmp_path):
    apply, break_bad = world
    break_bad("schedule", "0 0 31 2 *")
    apply("bad", schedule="@weekly")
    views = {v["name"]: v for v in json.loads(cli_inproc("jobs", "list", "--json").stdout)}
    assert views["bad"]["broken"] is None and views["bad"]["version"] == 3
