"""`nbprod pipelines ...` end to end: real kernels executing real notebooks in real worker
processes (the run-scoped workers `pipelines run` starts, or a `nbprod worker`).

Runs go through the console script (`cli`); reading commands and refusals that start no
kernel run in this process (`cli_inproc`), one refusal through the console script.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GLUE, nbprod_command

EXTRACT = f"""
{GLUE}
glue("row_count", days * 10)
glue("label", "rows")
"""
TRAIN = f"""
{GLUE}
from pathlib import Path
glue("rows_type", type(rows).__name__)
if Path(fail_marker).exists():
    raise ValueError("training failed on purpose")
glue("accuracy", rows / 100)
"""
REPORT = f"""
{GLUE}
glue("accuracy_type", type(accuracy).__name__)
glue("summary", f"accuracy {{accuracy}}")
"""


def _yaml(name: str, rows_from: str = "extract.row_count") -> str:
    return f"""
name: {name}
schedule: "0 6 * * *"
timezone: Europe/Berlin
steps:
  - name: extract
    notebook: extract.ipynb
    parameters: {{days: 7}}
  - name: train
    notebook: train.ipynb
    needs: [extract]
    parameters_from: {{rows: {rows_from}}}
  - name: report
    notebook: report.ipynb
    needs: [train]
    parameters_from: {{accuracy: train.accuracy}}
"""


@pytest.fixture
def pipeline(make_notebook, tmp_path: Path) -> dict:
    """The issue's three-step pipeline: extract's row_count → train's rows (int),
    train's accuracy → report's accuracy (float). Train fails while ``marker`` exists."""
    make_notebook(EXTRACT, parameters="days: int = 1", name="extract.ipynb")
    marker = tmp_path / "fail-train"
    make_notebook(
        TRAIN, parameters=f"rows: int = 0\nfail_marker: str = {str(marker)!r}", name="train.ipynb"
    )
    make_notebook(REPORT, parameters="accuracy: float = 0.0", name="report.ipynb")
    folder = tmp_path / "notebooks"
    path = folder / "daily.yaml"
    path.write_text(_yaml("daily-ml"))
    return {"yaml": path, "folder": folder, "marker": marker}


def _run_id(stdout: str) -> str:
    first = stdout.splitlines()[0]
    assert first.startswith("pipeline run "), stdout
    return first.split()[2]


def _show(cli_inproc, run_id: str) -> dict:
    shown = cli_inproc("pipelines", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _record(store_dir: Path, job: str, run_id: str) -> dict:
    return json.loads((store_dir / job / run_id / "run.json").read_text())


def _scrap(record: dict, name: str):
    return record["scraps"][name]["value"]


def test_three_steps_pass_scraps_downstream_with_their_types(cli, cli_inproc, pipeline, store_dir):
    applied = cli_inproc("pipelines", "apply", str(pipeline["yaml"]))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith("pipeline daily-ml version 1 (3 steps)")

    done = cli("pipelines", "run", "daily-ml", "-p", "extract.days=30", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("succeeded")
    run = _show(cli_inproc, _run_id(done.stdout))
    assert run["status"] == "succeeded" and run["finished_at"]
    steps = {s["name"]: s for s in run["steps"]}
    assert [s["name"] for s in run["steps"]] == ["extract", "train", "report"]
    assert all(s["status"] == "succeeded" for s in steps.values())

    extract = _record(store_dir, "daily-ml.extract", steps["extract"]["run_id"])
    train = _record(store_dir, "daily-ml.train", steps["train"]["run_id"])
    report = _record(store_dir, "daily-ml.report", steps["report"]["run_id"])
    assert extract["parameters"]["days"] == 30
    # the int scrap arrived as an int inside train's kernel, the float as a float in report's
    assert train["parameters"]["rows"] == 300 and _scrap(train, "rows_type") == "int"
    assert report["parameters"]["accuracy"] == 3.0 and _scrap(report, "accuracy_type") == "float"
    assert steps["train"]["inputs"] == {"rows": {"from": "extract.row_count", "value": 300}}
    for record, step in ((extract, "extract"), (train, "train"), (report, "report")):
        assert record["pipeline"] == {"name": "daily-ml", "run_id": run["run_id"], "step": step}
        assert record["trigger"] == "pipeline" and "pipeline:daily-ml" in record["tags"]
        assert steps[step]["duration_s"] == record["duration_s"]

    # the store holds the pipeline run as the catalog does
    stored = store_dir / ".nbprod" / "pipelines" / "daily-ml" / "runs" / f"{run['run_id']}.json"
    assert json.loads(stored.read_text())["status"] == "succeeded"

    listed = cli_inproc("runs", "list", "--pipeline", "daily-ml", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["run_id"] for r in json.loads(listed.stdout)} == {s["run_id"] for s in steps.values()}

    shown = cli_inproc("pipelines", "show", run["run_id"])
    assert "extract.row_count → train.rows = 300" in shown.stdout
    assert "train.accuracy → report.accuracy = 3.0" in shown.stdout
    listing = cli_inproc("pipelines", "list")
    assert (
        "extract → train → report" in listing.stdout
        and f"succeeded {run['run_id']}" in listing.stdout
    )


def test_a_failing_middle_step_skips_the_last_and_rerun_from_it_reuses_upstream(
    cli, cli_inproc, pipeline, store_dir
):
    assert cli_inproc("pipelines", "apply", str(pipeline["yaml"])).returncode == 0
    pipeline["marker"].write_text("")
    failed = cli("pipelines", "run", "daily-ml", timeout=300)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "train: failed" in failed.stdout and "training failed on purpose" in failed.stdout
    first = _show(cli_inproc, _run_id(failed.stdout))
    steps = {s["name"]: s for s in first["steps"]}
    assert first["status"] == "failed"
    assert [steps[n]["status"] for n in ("extract", "train", "report")] == [
        "succeeded",
        "failed",
        "skipped",
    ]
    assert steps["report"]["run_id"] is None
    assert not (store_dir / "daily-ml.report").exists()  # the skipped step never ran

    pipeline["marker"].unlink()
    again = cli("pipelines", "rerun", first["run_id"], "--from", "train", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "extract: succeeded (reused from" in again.stdout
    second = _show(cli_inproc, _run_id(again.stdout))
    new = {s["name"]: s for s in second["steps"]}
    assert second["status"] == "succeeded" and second["rerun_of"] == first["run_id"]
    assert new["extract"]["run_id"] == steps["extract"]["run_id"]
    assert new["extract"]["reused_from"] == first["run_id"]
    assert new["train"]["run_id"] != steps["train"]["run_id"]
    assert new["train"]["inputs"]["rows"]["value"] == 70  # extract's scrap, reused
    # extract ran once in all; train twice; report once (in the rerun)
    assert len(list((store_dir / "daily-ml.extract").iterdir())) == 1
    assert len(list((store_dir / "daily-ml.train").iterdir())) == 2
    assert [p.name for p in (store_dir / "daily-ml.report").iterdir()] == [new["report"]["run_id"]]


def test_a_type_mismatch_on_an_edge_fails_the_step_before_its_kernel_starts(
    cli, cli_inproc, pipeline, store_dir
):
    path = pipeline["folder"] / "mismatch.yaml"
    path.write_text(_yaml("mismatch", rows_from="extract.label"))  # a str for an int
    assert cli_inproc("pipelines", "apply", str(path)).returncode == 0
    done = cli("pipelines", "run", "mismatch", timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    run = _show(cli_inproc, _run_id(done.stdout))
    steps = {s["name"]: s for s in run["steps"]}
    assert run["status"] == "failed"
    assert steps["extract"]["status"] == "succeeded"
    train = steps["train"]
    assert train["status"] == "failed" and train["run_id"] is None
    assert "parameter 'rows' expects int, got str 'rows'" in train["error"]
    assert "did not start" in train["error"]
    assert steps["report"]["status"] == "skipped"
    # no run of train was queued or recorded: no kernel started for it
    assert not (store_dir / "mismatch.train").exists()
    listed = json.loads(cli_inproc("runs", "list", "--pipeline", "mismatch", "--json").stdout)
    assert [r["job"] for r in listed] == ["mismatch.extract"]


def test_a_scheduler_worker_advances_the_pipeline_on_its_own(cli, cli_inproc, pipeline):
    """Queued with --no-wait, executed by one `nbprod worker --burst`: the worker that ends
    a step queues the next and claims it; nobody waits on the pipeline."""
    assert cli_inproc("pipelines", "apply", str(pipeline["yaml"])).returncode == 0
    queued = cli_inproc("pipelines", "run", "daily-ml", "--no-wait")
    assert queued.returncode == 0, queued.stderr
    run_id = _run_id(queued.stdout)
    assert _show(cli_inproc, run_id)["status"] == "queued"
    worker = cli("worker", "--burst", "--poll", "0.2", timeout=300)
    assert worker.returncode == 0, worker.stderr
    run = _show(cli_inproc, run_id)
    assert run["status"] == "succeeded", run
    assert [s["status"] for s in run["steps"]] == ["succeeded"] * 3


def test_catalog_rebuild_restores_pipeline_runs_from_the_store(cli, cli_inproc, pipeline):
    assert cli_inproc("pipelines", "apply", str(pipeline["yaml"])).returncode == 0
    pipeline["marker"].write_text("")
    failed = cli("pipelines", "run", "daily-ml", timeout=300)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    run_id = _run_id(failed.stdout)
    before = _show(cli_inproc, run_id)
    rebuilt = cli_inproc("catalog", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "1 pipeline run(s)" in rebuilt.stdout
    assert _show(cli_inproc, run_id) == before
    listing = cli_inproc("pipelines", "list")
    assert f"failed {run_id}" in listing.stdout


BAD = {
    "cycle": (
        """
name: bad
steps:
  - {name: a, notebook: extract.ipynb, needs: [c]}
  - {name: b, notebook: extract.ipynb, needs: [a]}
  - {name: c, notebook: extract.ipynb, needs: [b]}
""",
        "the steps form a cycle: a → c → b → a",
    ),
    "unknown step": (
        """
name: bad
steps:
  - {name: a, notebook: extract.ipynb}
  - {name: b, notebook: train.ipynb, needs: [x]}
""",
        "step b: needs unknown step 'x'",
    ),
    "unknown parameter": (
        """
name: bad
steps:
  - {name: a, notebook: extract.ipynb, parameters: {dayz: 3}}
""",
        "step a: unknown parameter 'dayz' (known: days); did you mean 'days'?",
    ),
    "unknown edge parameter": (
        """
name: bad
steps:
  - {name: a, notebook: extract.ipynb}
  - {name: b, notebook: train.ipynb, needs: [a], parameters_from: {rowz: a.row_count}}
""",
        "step b: parameters_from: unknown parameter 'rowz'",
    ),
    "missing notebook": (
        """
name: bad
steps:
  - {name: a, notebook: nowhere.ipynb}
""",
        "step a: notebook not found",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_definitions_exit_2_with_one_line_and_store_nothing(
    cli_inproc, pipeline, store_dir, case
):
    text, message = BAD[case]
    path = pipeline["folder"] / "bad.yaml"
    path.write_text(text)
    refused = cli_inproc("pipelines", "apply", str(path))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.count("\n") == 1 and message in refused.stderr
    assert not (store_dir / ".nbprod" / "pipelines").exists()


def test_refusals_through_the_console_script(cli, pipeline, nbprod_env):
    """The real entry point: a cycle, and a bad -p, each one line and exit 2, no traceback."""
    path = pipeline["folder"] / "bad.yaml"
    path.write_text(BAD["cycle"][0])
    refused = cli("pipelines", "apply", str(path))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "cycle" in refused.stderr
    assert cli("pipelines", "apply", str(pipeline["yaml"])).returncode == 0
    for bad, message in (
        ("extract.days=abc", "-p extract.days: parameter 'days' expects int"),
        ("train.rows=3", "rows takes its value from extract.row_count"),
        ("nope.x=1", "has no step 'nope'"),
    ):
        refused = cli("pipelines", "run", "daily-ml", "-p", bad)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.count("\n") == 1 and message in refused.stderr
    status = subprocess.run(
        [*nbprod_command(), "status", "--json"], env=nbprod_env, capture_output=True, text=True
    )
    assert json.loads(status.stdout)["counts"].get("queued", 0) == 0  # nothing was queued


def test_ctrl_c_cancels_the_running_step_and_skips_the_rest(cli_inproc, pipeline, nbprod_env):
    import signal
    import time

    slow = pipeline["folder"] / "slow.ipynb"
    from tests.conftest import write_notebook

    write_notebook(slow, "import time\ntime.sleep(60)")
    path = pipeline["folder"] / "slow.yaml"
    path.write_text(
        "name: slow\nsteps:\n  - {name: wait, notebook: slow.ipynb}\n"
        "  - {name: after, notebook: slow.ipynb, needs: [wait]}\n"
    )
    assert cli_inproc("pipelines", "apply", str(path)).returncode == 0
    proc = subprocess.Popen(
        [*nbprod_command(), "pipelines", "run", "slow"],
        env={**nbprod_env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        run_id = _run_id(proc.stdout.readline())
        deadline = time.monotonic() + 60
        while _show(cli_inproc, run_id)["steps"][0]["state"] != "running":
            assert time.monotonic() < deadline, "the first step never started"
            time.sleep(0.2)
        time.sleep(1.0)  # in its kernel
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    run = _show(cli_inproc, run_id)
    wait, after = run["steps"]
    assert run["status"] == "failed"
    assert wait["status"] == "failed" and wait["run_status"] == "cancelled"
    assert after["status"] == "skipped" and after["run_id"] is None


def test_a_step_retried_after_a_failure_goes_on_to_its_dependants(cli, cli_inproc, pipeline):
    """Train fails once (it removes the marker as it fails) and is retried: the retry, a
    new run id that the first workers may not claim, gets workers of its own; report runs
    after it with its accuracy."""
    flaky = TRAIN.replace(
        'raise ValueError("training failed on purpose")',
        'Path(fail_marker).unlink(); raise ValueError("training failed on purpose")',
    )
    from tests.conftest import write_notebook

    write_notebook(
        pipeline["folder"] / "train.ipynb",
        flaky,
        parameters=f"rows: int = 0\nfail_marker: str = {str(pipeline['marker'])!r}",
    )
    path = pipeline["folder"] / "retry.yaml"
    path.write_text(
        _yaml("retried").replace(
            "    needs: [extract]\n", "    needs: [extract]\n    retries: 1\n    retry_delay: 0\n"
        )
    )
    assert cli_inproc("pipelines", "apply", str(path)).returncode == 0
    pipeline["marker"].write_text("")
    done = cli("pipelines", "run", "retried", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    run = _show(cli_inproc, _run_id(done.stdout))
    steps = {s["name"]: s for s in run["steps"]}
    assert run["status"] == "succeeded"
    train = steps["train"]
    assert len(train["attempts"]) == 1 and train["attempts"][0] != train["run_id"]
    assert steps["report"]["inputs"]["accuracy"]["value"] == 0.7
    listed = json.loads(cli_inproc("runs", "list", "--pipeline", "retried", "--json").stdout)
    trains = sorted((r["attempt"], r["status"]) for r in listed if r["job"] == "retried.train")
    assert trains == [(1, "failed"), (2, "succeeded")]
