"""`nbprod runs open`: the CLI twin of the REST API's open (one core function for both)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import nbformat

from tests.conftest import EXAMPLES


def test_open_copies_the_output_read_only_like_the_lab_extension(cli, tmp_path):
    failed = cli("exec", str(EXAMPLES / "failing_example.ipynb"), "--json")
    run_id = json.loads(failed.stdout)["run_id"]
    root = tmp_path / "lab-root"

    done = cli("runs", "open", run_id[:-2], "--into", str(root))  # a unique prefix

    assert done.returncode == 0, done.stderr
    copy = Path(done.stdout.strip())
    assert copy.parent == root / "nbprod-outputs" / "failing_example" / run_id
    assert not os.stat(copy).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    nb = nbformat.read(copy, as_version=4)
    assert nb.metadata["nbprod_output_of"] == run_id
    assert all(c.metadata["editable"] is False for c in nb.cells)
    assert f"run {run_id} failed in cell 4" in done.stderr  # its 4th cell raises

    again = cli("runs", "open", run_id, "--into", str(root), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "path": str(copy),
        "run_id": run_id,
        "status": "failed",
        "cell": json.loads(failed.stdout)["error"]["cell_index"],
        "cell_number": 4,
        "cell_label": "cell 4",
    }


def test_open_of_an_unknown_run_is_bad_input(cli, tmp_path):
    done = cli("runs", "open", "20990101T000000Z-nope", "--into", str(tmp_path))
    assert done.returncode == 2
    assert "no run" in done.stderr and "Traceback" not in done.stderr
