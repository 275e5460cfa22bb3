"""`nbprod exec` into S3 end to end: real kernel, real CLI process, real moto_server over HTTP."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest

from tests.conftest import GLUE, S3_ENV, MotoServer, free_port

pytestmark = pytest.mark.s3

SCRAP_CELL = GLUE + 'glue("double", x * 2)'


def run_id_of(result: subprocess.CompletedProcess) -> str:
    match = re.search(r"^run (\S+)\s+job ", result.stdout, re.MULTILINE)
    assert match, result.stdout + result.stderr
    return match.group(1)


def output_url(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stdout.splitlines() if line.startswith("output: ")]
    assert len(lines) == 1, result.stdout
    return lines[0].removeprefix("output: ")


def bucket_and_prefix(store_url: str) -> tuple[str, str]:
    bucket, _, prefix = store_url.removeprefix("s3://").partition("/")
    return bucket, prefix


def all_keys(client: Any, bucket: str) -> set[str]:
    keys: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(obj["Key"] for obj in page.get("Contents", []))
    return keys


def read_object(client: Any, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_exec_into_s3_then_list_and_show(s3_env: dict[str, str], make_notebook, cli) -> None:
    notebook = make_notebook(SCRAP_CELL, parameters="x = 1", name="double.ipynb")
    result = cli("exec", str(notebook), "-p", "x", "21", env=s3_env)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result)
    bucket, prefix = bucket_and_prefix(s3_env["NBPROD_STORE"])
    run_prefix = f"{prefix}/double/{run_id}"
    assert output_url(result) == f"s3://{bucket}/{run_prefix}/double.ipynb"

    client = boto3.client("s3")
    sha = hashlib.sha256(notebook.read_bytes()).hexdigest()
    keys = all_keys(client, bucket)
    expected = {
        f"{run_prefix}/double.ipynb",
        f"{run_prefix}/run.json",
        f"{prefix}/.nbprod/notebooks/{sha}.ipynb",
    }
    assert expected <= keys, sorted(keys)
    assert all(key.startswith(f"{prefix}/") for key in keys)
    assert read_object(client, bucket, f"{prefix}/.nbprod/notebooks/{sha}.ipynb") == (
        notebook.read_bytes()
    )

    record = json.loads(read_object(client, bucket, f"{run_prefix}/run.json"))
    assert record["run_id"] == run_id
    assert record["job"] == "double"
    assert record["status"] == "succeeded"
    assert record["parameters"] == {"x": 21}
    assert record["parameters_given"] == ["x"]
    assert record["scraps"]["double"]["value"] == 42
    assert record["store"] == s3_env["NBPROD_STORE"]
    assert record["artifacts"]["snapshot"] == f".nbprod/notebooks/{sha}.ipynb"

    output = nbformat.reads(
        read_object(client, bucket, f"{run_prefix}/double.ipynb").decode(), as_version=4
    )
    injected = [c for c in output.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "x = 21" in injected[0].source
    assert output.metadata.papermill["nbprod_run_id"] == run_id

    listed = cli("runs", "list", "--json", env=s3_env)
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [r["run_id"] for r in runs] == [run_id]
    assert runs[0]["status"] == "succeeded"
    assert runs[0]["scraps"]["double"]["value"] == 42

    shown = cli("runs", "show", run_id[:22], "--json", env=s3_env)
    assert shown.returncode == 0, shown.stderr
    shown_record = json.loads(shown.stdout)
    assert shown_record["run_id"] == run_id
    assert shown_record["parameters"] == {"x": 21}

    # Nothing left behind in the local spool after a published run.
    spool = Path(s3_env["NBPROD_HOME"]) / "spool"
    assert not (spool / run_id).exists()


def test_failing_notebook_is_stored_in_s3(s3_env: dict[str, str], make_notebook, cli) -> None:
    notebook = make_notebook(
        "before = 'ran'", "raise ValueError('boom from cell')", "after = 1", name="fails.ipynb"
    )
    result = cli("exec", str(notebook), env=s3_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ValueError: boom from cell" in result.stdout
    run_id = run_id_of(result)
    bucket, prefix = bucket_and_prefix(s3_env["NBPROD_STORE"])
    run_prefix = f"{prefix}/fails/{run_id}"
    assert output_url(result) == f"s3://{bucket}/{run_prefix}/fails.ipynb"

    client = boto3.client("s3")
    output = nbformat.reads(
        read_object(client, bucket, f"{run_prefix}/fails.ipynb").decode(), as_version=4
    )
    errors = [
        (i, o)
        for i, c in enumerate(output.cells)
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert len(errors) == 1
    failed_index, error = errors[0]
    assert error.ename == "ValueError" and error.evalue == "boom from cell"
    assert "raise ValueError" in output.cells[failed_index].source

    record = json.loads(read_object(client, bucket, f"{run_prefix}/run.json"))
    assert record["status"] == "failed"
    assert record["error"]["ename"] == "ValueError"
    assert record["error"]["cell_index"] == failed_index  # index in the output notebook


def test_unreachable_s3_spools_then_flush_publishes(
    nbprod_env: dict[str, str], make_notebook, cli
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = "nbprod-spooled-later"
    env = {
        **S3_ENV,
        "AWS_ENDPOINT_URL": endpoint,
        "NBPROD_STORE": f"s3://{bucket}/x",
        "NBPROD_UPLOAD_ATTEMPTS": "2",
        "NBPROD_UPLOAD_BACKOFF": "0.05",
    }
    notebook = make_notebook("y = x * 2\nprint('y is', y)", parameters="x = 1", name="late.ipynb")

    result = cli("exec", str(notebook), "-p", "x", "4", env=env)
    assert result.returncode == 5, result.stdout + result.stderr
    run_id = run_id_of(result)
    spool_folder = Path(nbprod_env["NBPROD_HOME"]) / "spool" / run_id
    assert str(spool_folder) in result.stderr
    assert "nbprod store flush" in result.stderr
    assert "succeeded" in result.stdout  # the run itself executed
    assert output_url(result) == str(spool_folder / "late.ipynb")

    assert {"late.ipynb", "run.json", "manifest.json"} <= {p.name for p in spool_folder.iterdir()}
    spooled_bytes = (spool_folder / "late.ipynb").read_bytes()
    spooled = nbformat.reads(spooled_bytes.decode(), as_version=4)
    assert any("y is 8" in o.get("text", "") for c in spooled.cells for o in c.get("outputs", []))
    record = json.loads((spool_folder / "run.json").read_text())
    assert record["status"] == "succeeded" and record["parameters"] == {"x": 4}
    manifest = json.loads((spool_folder / "manifest.json").read_text())
    assert manifest["store"] == f"s3://{bucket}/x"
    assert manifest["uploads"][-1]["key"] == f"late/{run_id}/run.json"
    assert manifest["last_error"]

    still_down = cli("store", "flush", env=env)
    assert still_down.returncode == 5, still_down.stdout + still_down.stderr
    assert f"still spooled {run_id}" in still_down.stderr
    assert (spool_folder / "manifest.json").is_file()

    server = MotoServer(port=port).start()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_ENV["AWS_DEFAULT_REGION"],
        )
        client.create_bucket(Bucket=bucket)

        flushed = cli("store", "flush", env=env)
        assert flushed.returncode == 0, flushed.stdout + flushed.stderr
        assert f"published {run_id}" in flushed.stdout
        assert not spool_folder.exists()

        sha = hashlib.sha256(notebook.read_bytes()).hexdigest()
        keys = all_keys(client, bucket)
        assert {
            f"x/late/{run_id}/late.ipynb",
            f"x/late/{run_id}/run.json",
            f"x/.nbprod/notebooks/{sha}.ipynb",
        } <= keys, sorted(keys)
        stored = json.loads(read_object(client, bucket, f"x/late/{run_id}/run.json"))
        assert stored["status"] == "succeeded"
        assert stored["run_id"] == run_id
        assert read_object(client, bucket, f"x/late/{run_id}/late.ipynb") == spooled_bytes

        again = cli("store", "flush", env=env)
        assert again.returncode == 0, again.stderr
        assert "nothing to flush" in again.stdout

        shown = cli("runs", "show", run_id, "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["status"] == "succeeded"
    finally:
        server.stop()
