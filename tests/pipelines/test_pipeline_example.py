"""The README's pipeline (pipelines/daily.yaml over the example notebooks), as a new user
runs it: apply, run with an override, the typed value along the edge, rerun from a step."""

from __future__ import annotations

import json

from tests.conftest import REPO


def test_the_readmes_pipeline_runs_and_reruns_from_a_step(cli, cli_inproc):
    assert "nbprod pipelines apply pipelines/daily.yaml" in (REPO / "README.md").read_text()
    applied = cli_inproc("pipelines", "apply", str(REPO / "pipelines" / "daily.yaml"))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith("pipeline daily-report version 1 (3 steps)")

    done = cli("pipelines", "run", "daily-report", "-p", "us.days=14", "--json", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    steps = {s["name"]: s for s in run["steps"]}
    assert {name: s["status"] for name, s in steps.items()} == dict.fromkeys(
        ("eu", "us", "quality"), "succeeded"
    )
    edge = steps["us"]["inputs"]["min_order"]
    assert edge["from"] == "eu.avg_order_value" and isinstance(edge["value"], float)
    assert edge["value"] > 0
    assert steps["us"]["parameters"]["days"] == 14

    again = cli("pipelines", "rerun", run["run_id"], "--from", "us", "--json", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = {s["name"]: s for s in json.loads(again.stdout)["steps"]}
    assert rerun["eu"]["run_id"] == steps["eu"]["run_id"]  # reused, not run again
    assert rerun["quality"]["run_id"] == steps["quality"]["run_id"]
    assert rerun["us"]["run_id"] != steps["us"]["run_id"]
    assert rerun["us"]["status"] == "succeeded" and rerun["us"]["parameters"]["days"] == 14
