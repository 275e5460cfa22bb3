"""`nbprod sweep` / `nbprod sweeps show|list` end to end: real kernels, real worker processes.

Sweeps that run kernels, and `worker`, go through the real console script; `sweeps show|list`,
`status`, `runs list`, `catalog rebuild`, and the sweeps that queue or refuse without running
(`--no-wait`, `--dry-run`, bad input) call the CLI in this process (`cli_inproc`). The subprocess
proof of the refusals is the "nothing to sweep" case of
test_bad_input_exits_2_before_anything_is_queued.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import GLUE, nbprod_command

TINY = f"""
{GLUE}
glue("product", a * b)
glue("label", f"{{a}}/{{b}}")
if a == fail_on:
    raise ValueError(f"failing on purpose for a={{a}}")
"""
TINY_PARAMS = """
a: int = 1  # first factor
b: float = 1.0  # second factor
fail_on: int = -1  # fail the run when a equals this
"""


@pytest.fixture
def tiny(make_notebook) -> Path:
    return make_notebook(TINY, parameters=TINY_PARAMS, name="tiny.ipynb")


def _sweep_id(stdout: str) -> str:
    first = stdout.splitlines()[0]
    assert first.startswith("sweep "), stdout
    return first.split()[1]


def _store_record(store_dir: Path, job: str, run_id: str) -> dict:
    return json.loads((store_dir / job / run_id / "run.json").read_text())


def _queue_counts(cli) -> dict:
    done = cli("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["counts"]


def test_grid_sweep_table_matches_the_runs_scraps(cli, cli_inproc, tiny: Path, store_dir: Path):
    done = cli("sweep", str(tiny), "-p", "a", "2,3", "-p", "b", "0.5,10", "--max-parallel", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    sweep_id = _sweep_id(done.stdout)
    progress = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 4 and all("succeeded" in line for line in progress)
    assert f"nbprod sweeps show {sweep_id}" in done.stdout

    stored = json.loads((store_dir / ".nbprod" / "sweeps" / f"{sweep_id}.json").read_text())
    assert stored["swept"] == ["a", "b"]
    assert stored["grid"] == {"axes": {"a": [2, 3], "b": [0.5, 10.0]}, "sets": None}
    assert stored["parameter_sets"] == [
        {"a": 2, "b": 0.5},
        {"a": 2, "b": 10.0},
        {"a": 3, "b": 0.5},
        {"a": 3, "b": 10.0},
    ]
    assert len(stored["run_ids"]) == 4 and stored["created_at"] and stored["notebook"]["sha256"]

    table = json.loads(cli_inproc("sweeps", "show", sweep_id, "--json").stdout)
    assert table["parameters"] == ["a", "b"] and table["scraps"] == ["product", "label"]
    assert table["counts"] == {"succeeded": 4}
    assert [r["run_id"] for r in table["rows"]] == stored["run_ids"]
    for row, values in zip(table["rows"], stored["parameter_sets"], strict=True):
        record = _store_record(store_dir, "tiny", row["run_id"])
        assert record["status"] == "succeeded" and row["status"] == "succeeded"
        assert f"sweep:{sweep_id}" in record["tags"] and record["trigger"] == "sweep"
        assert row["parameters"] == values == {k: record["parameters"][k] for k in ("a", "b")}
        assert row["scraps"] == {k: v["value"] for k, v in record["scraps"].items()}
        assert row["scraps"]["product"] == values["a"] * values["b"]
        assert row["duration_s"] == record["duration_s"]
        assert Path(row["output"]).is_file()

    text = cli_inproc("sweeps", "show", sweep_id[:22], "--sort", "product", "--desc").stdout
    lines = text.splitlines()
    assert lines[1].split() == ["RUN_ID", "a", "b", "STATUS", "DURATION", "product", "label"]
    products = [float(line.split()[5]) for line in lines[2:6]]
    assert products == [30.0, 20.0, 1.5, 1.0]

    rows = list(csv.DictReader(io.StringIO(cli_inproc("sweeps", "show", sweep_id, "--csv").stdout)))
    assert list(rows[0]) == [
        "run_id",
        "a",
        "b",
        "status",
        "duration_s",
        "product",
        "label",
        "error",
    ]
    assert [(r["a"], r["b"], r["product"], r["label"]) for r in rows] == [
        ("2", "0.5", "1.0", "2/0.5"),
        ("2", "10.0", "20.0", "2/10.0"),
        ("3", "0.5", "1.5", "3/0.5"),
        ("3", "10.0", "30.0", "3/10.0"),
    ]
    ascending = cli_inproc("sweeps", "show", sweep_id, "--csv", "--sort", "product").stdout
    assert [r["product"] for r in csv.DictReader(io.StringIO(ascending))] == [
        "1.0", "1.5", "20.0", "30.0",
    ]  # fmt: skip
    assert cli_inproc("sweeps", "show", sweep_id, "--sort", "nope").returncode == 2

    listing = json.loads(cli_inproc("sweeps", "list", "--json").stdout)
    assert listing[0]["sweep_id"] == sweep_id and listing[0]["counts"] == {"succeeded": 4}
    runs = json.loads(cli_inproc("runs", "list", "--tag", f"sweep:{sweep_id}", "--json").stdout)
    assert len(runs) == 4

    # The sweep and its table survive a catalog rebuild (the store is the source of truth).
    assert cli_inproc("catalog", "rebuild").returncode == 0
    again = json.loads(cli_inproc("sweeps", "show", sweep_id, "--json").stdout)
    assert again["rows"] == table["rows"]


def test_one_failing_combination_does_not_stop_the_others(
    cli, cli_inproc, tiny: Path, store_dir: Path
):
    done = cli("sweep", str(tiny), "-p", "a", "1,2,3", "-y", "fail_on: 2", "-j", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 succeeded, 1 failed" in done.stdout
    failing = [
        line for line in done.stdout.splitlines() if line.startswith("[") and "failed" in line
    ]
    assert len(failing) == 1 and "a=2" in failing[0] and "ValueError" in failing[0]
    table = json.loads(cli_inproc("sweeps", "show", _sweep_id(done.stdout), "--json").stdout)
    assert [r["status"] for r in table["rows"]] == ["succeeded", "failed", "succeeded"]
    assert table["sweep"]["base"] == {"fail_on": 2} and table["parameters"] == ["a"]
    assert "ValueError: failing on purpose for a=2" in table["rows"][1]["error"]
    assert table["rows"][1]["scraps"]["product"] == 2.0  # glued before the failure
    assert Path(table["rows"][1]["output"]).is_file()


def test_grid_file_list_form_and_no_wait_then_a_worker(cli, cli_inproc, tiny: Path, tmp_path: Path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("- {a: 4, b: 0.25}\n- {a: 5}\n")
    done = cli_inproc("sweep", str(tiny), "--grid", str(grid), "--no-wait")
    assert done.returncode == 0, done.stderr
    sweep_id = _sweep_id(done.stdout)
    table = json.loads(cli_inproc("sweeps", "show", sweep_id, "--json").stdout)
    assert [r["status"] for r in table["rows"]] == ["queued", "queued"]
    assert [r["parameters"] for r in table["rows"]] == [{"a": 4, "b": 0.25}, {"a": 5, "b": None}]
    assert table["sweep"]["grid"]["sets"] == [{"a": 4, "b": 0.25}, {"a": 5}]

    worker = cli("worker", "--burst")
    assert worker.returncode == 0, worker.stderr
    table = json.loads(cli_inproc("sweeps", "show", sweep_id, "--json").stdout)
    assert [r["status"] for r in table["rows"]] == ["succeeded", "succeeded"]
    assert [r["scraps"]["product"] for r in table["rows"]] == [1.0, 5.0]
    assert [r["parameters"] for r in table["rows"]] == [{"a": 4, "b": 0.25}, {"a": 5, "b": 1.0}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-p", "c", "1,2"), "unknown parameter 'c'"),
        (("-p", "a", "1,two,3"), "-p a (value 2 of 3): parameter 'a' expects int, got 'two'"),
        (("-p", "b", "0.1", "-p", "b", "0.2"), "given twice"),
        (("-p", "a", "1", "-y", "zzz: 1"), "unknown parameter 'zzz'"),
        (("--grid", "GRID"), "parameter 'b' expects float"),
        (("-p", "a", "1,2", "--max-runs", "1"), "more than --max-runs 1"),
        ((), "nothing to sweep"),
    ],
)
def test_bad_input_exits_2_before_anything_is_queued(
    cli_inproc, cli, tiny: Path, tmp_path: Path, store_dir: Path, args: tuple, message: str
):
    grid = tmp_path / "bad-grid.yaml"
    grid.write_text("a: [1, 2]\nb: [0.5, fast]\n")
    args = tuple(str(grid) if a == "GRID" else a for a in args)
    run = cli_inproc if args else cli  # the last case through the real script
    done = run("sweep", str(tiny), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""
    assert not (store_dir / ".nbprod" / "sweeps").exists()
    assert _queue_counts(cli_inproc) == {}


def test_dry_run_prints_the_runs_and_queues_nothing(cli_inproc, tiny: Path, tmp_path: Path):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"a": [1, 2], "b": 3}))
    done = cli_inproc("sweep", str(tiny), "--grid", str(grid), "-p", "fail_on", "7,8", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "4 runs of tiny.ipynb (dry run: nothing queued)"
    assert "a=1, b=3.0, fail_on=7" in done.stdout and "a=2, b=3.0, fail_on=8" in done.stdout
    assert _queue_counts(cli_inproc) == {}


def test_ctrl_c_cancels_the_remaining_runs(nbprod_env, make_notebook, store_dir: Path, cli_inproc):
    slow = make_notebook(
        "import time\nprint('started', flush=True)\ntime.sleep(120)",
        parameters="i: int = 0",
        name="slow.ipynb",
    )
    proc = subprocess.Popen(
        [*nbprod_command(), "sweep", str(slow), "-p", "i", "1,2,3", "-j", "1"],
        env={**nbprod_env, "NBPROD_HEARTBEAT_SECONDS": "0.5", "NBPROD_KILL_GRACE": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # wait until the first run is executing
            counts = _queue_counts(cli_inproc)
            if counts.get("running"):
                break
            time.sleep(0.3)
        else:
            pytest.fail("the first run never started")
        time.sleep(3)  # let its kernel reach the sleep
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "cancelled" in out
    sweep_id = _sweep_id(out)
    table = json.loads(cli_inproc("sweeps", "show", sweep_id, "--json").stdout)
    assert [r["status"] for r in table["rows"]] == ["cancelled"] * 3
    first = table["rows"][0]
    assert Path(first["output"]).is_file()  # the run that had started keeps its output
    assert table["rows"][1]["output"] is None and table["rows"][2]["output"] is None
    assert (
        _queue_counts(cli_inproc).get("queued", 0) == 0
        and _queue_counts(cli_inproc).get("running", 0) == 0
    )


@pytest.mark.s3
def test_sweep_on_an_s3_store(cli, cli_inproc, tiny: Path, s3_env):
    done = cli("sweep", str(tiny), "-p", "a", "6,7", env=s3_env)
    assert done.returncode == 0, done.stdout + done.stderr
    sweep_id = _sweep_id(done.stdout)
    import boto3

    bucket = s3_env["NBPROD_STORE"].split("/")[2]
    key = f"team/notebooks/.nbprod/sweeps/{sweep_id}.json"
    stored = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored["parameter_sets"] == [{"a": 6}, {"a": 7}]
    table = json.loads(cli_inproc("sweeps", "show", sweep_id, "--json", env=s3_env).stdout)
    assert [r["scraps"]["product"] for r in table["rows"]] == [6.0, 7.0]
    assert all(r["output"].startswith(f"s3://{bucket}/team/notebooks/tiny/") for r in table["rows"])
    listing = json.loads(cli_inproc("sweeps", "list", "--json", env=s3_env).stdout)
    assert [s["sweep_id"] for s in listing] == [sweep_id]
