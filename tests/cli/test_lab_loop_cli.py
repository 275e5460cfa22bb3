"""`nbprod jobs backfill`, `jobs drift`, `jobs update` and `runs debug` (in process: the
commands start no kernel; the failed run is made once by the core)."""

from __future__ import annotations

import json

from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core import job_form as core_job_form
from nbprod.core import jobs as core_jobs


def _job(make_notebook, schedule: str | None = "0 7 * * *"):
    notebook = make_notebook("raise ValueError('no')", parameters="days: int = 7", name="r.ipynb")
    form = {"name": "r", "path": notebook.name, "schedule": schedule}
    with Workspace(Settings.load()) as ws:
        core_job_form.save_job(ws, form, root=notebook.parent)
    return notebook


def test_backfill_refuses_bad_ranges_in_one_line_and_queues_a_good_one(cli_inproc, make_notebook):
    _job(make_notebook)
    for args, message in (
        (("--from", "2026-03-05", "--to", "2026-03-01"), "is after to"),
        (("--from", "March", "--to", "2026-03-01"), "from must be a date"),
        (("--from", "2026-03-01", "--to", "2026-02-30"), "to must be a date"),
        (("--from", "2099-01-01", "--to", "2099-01-02"), "in the future"),
        (("--from", "2020-01-01", "--to", "2026-01-01"), "more than 1000 fire times"),
    ):
        result = cli_inproc("jobs", "backfill", "r", *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (
        cli_inproc(
            "jobs", "backfill", "nosuch", "--from", "2026-01-01", "--to", "2026-01-02"
        ).returncode
        == 2
    )

    dry = cli_inproc(
        "jobs", "backfill", "r", "--from", "2026-01-01", "--to", "2026-01-03", "--dry-run"
    )
    assert dry.returncode == 0 and "would queue 3 run(s)" in dry.stderr
    done = cli_inproc(
        "jobs", "backfill", "r", "--from", "2026-01-01", "--to", "2026-01-03", "--json"
    )
    answer = json.loads(done.stdout)
    assert answer["count"] == 3 and len(answer["run_ids"]) == 3
    assert answer["scheduled_for"][0] == "2026-01-01T07:00:00+00:00"


def test_drift_update_and_debug_from_the_cli(cli_inproc, make_notebook, tmp_path):
    from nbprod.api import run

    notebook = _job(make_notebook, schedule=None)
    assert "up to date" in cli_inproc("jobs", "drift", "r").stdout
    with Workspace(Settings.load()) as ws:
        failed = run(core_jobs.prepare_job_run(ws, "r", parameters={"days": 3})).record
    notebook.write_text(notebook.read_text().replace("'no'", "'changed'"))
    shown = cli_inproc("jobs", "drift", "r")
    assert "1 cell changed" in shown.stdout and "+raise ValueError('changed')" in shown.stdout
    assert "version 2 pins" in cli_inproc("jobs", "update", "r").stdout
    assert "up to date" in cli_inproc("jobs", "drift", "r").stdout

    out = tmp_path / "debug.ipynb"
    debugged = cli_inproc("runs", "debug", failed.run_id, "-o", str(out))
    assert debugged.returncode == 0 and debugged.stdout.strip() == str(out)
    assert "'no'" in out.read_text() and "days = 3" in out.read_text()  # the snapshot's
    again = cli_inproc("runs", "debug", failed.run_id, "-o", str(out))
    assert again.returncode == 2 and "exists" in again.stderr
