"""Bad input and damaged data in the browse UI and the CLI, against real processes: names
longer than 255 bytes and out-of-range filters answer 400/404 (never 500); a corrupt
``run.json`` or a truncated output notebook gives a page that says so (run page, render,
contents API, diff) and a one-line CLI error (``runs show``, ``runs diff``), never a
traceback.

The corrupt-record CLI cases call the CLI in this process (`cli_inproc`);
test_cli_diff_of_a_truncated_notebook_notes_it is the proof through the real console script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browse.conftest import BrowseServer, Populated, _env
from tests.conftest import nbprod_command

LONG = "a" * 300  # longer than NAME_MAX (255 bytes): such a file cannot exist on disk


@pytest.mark.parametrize(
    "path",
    [
        f"/nbprod/files/{LONG}",
        f"/nbprod/files/extras/{LONG}",
        f"/nbprod/files/{'é' * 200}",  # 200 characters, 400 bytes
        f"/nbprod/raw/{LONG}",
        f"/nbprod/raw/extras/{LONG}.csv",
        f"/nbprod/render/{LONG}.ipynb",
        f"/nbprod/render/extras/{LONG}.ipynb",
        f"/nbprod/api/contents/{LONG}",
        f"/nbprod/api/contents/extras/{LONG}",
    ],
)
def test_names_longer_than_255_bytes_are_400(server: BrowseServer, path: str):
    answer = server.get(path)
    assert answer.status_code == 400, (path, answer.status_code, answer.text[:300])
    assert "255" in answer.text and "Traceback" not in answer.text


@pytest.mark.parametrize(
    "page, query",
    [
        ("/nbprod/search", {"since": "99999999999d"}),
        ("/nbprod/search", {"until": "99999999999w"}),
        ("/nbprod/search", {"page": "99999999999999999999"}),
        ("/nbprod/search", {"page": "9" * 5000}),
        ("/nbprod/jobs/daily-sales", {"since": "99999999999d"}),
        ("/nbprod/jobs/daily-sales", {"page": "99999999999999999999"}),
        ("/nbprod/jobs/daily-sales", {"per_page": "99999999999999999999"}),
        ("/nbprod/files/", {"page": "99999999999999999999", "sort": "size"}),
        ("/nbprod/api/contents/", {"page": "x", "type": "nope"}),
    ],
)
def test_out_of_range_filters_are_400(server: BrowseServer, page: str, query: dict):
    for fmt in ("html", "json"):
        params = {**query, "format": "json"} if fmt == "json" else query
        answer = server.get(page, params=params)
        assert answer.status_code == 400, (page, query, answer.status_code, answer.text[:300])
        assert "Traceback" not in answer.text and "internal error" not in answer.text
        if fmt == "json":
            assert answer.json()["message"]


def test_unknown_api_path_in_nbprod_browse_is_json_404(server: BrowseServer):
    answer = server.get("/nbprod/api/jobs")  # the REST API is not served by `nbprod browse`
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["status"] == 404


# -- damaged data -----------------------------------------------------------------------


@dataclass
class Damaged:
    server: BrowseServer
    env: dict[str, str]
    corrupt_record: str
    """Run whose run.json is cut in half."""
    truncated_output: str
    """Run whose output notebook is cut short."""
    output_key: str
    good: str


@pytest.fixture(scope="module")
def damaged(populated: Populated, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Damaged]:
    """A copy of the populated store with a new home (an empty catalog, so records are read
    from the store, as on a machine that never indexed them), two runs damaged."""
    root = tmp_path_factory.mktemp("damaged")
    store = root / "store"
    shutil.copytree(populated.store, store)
    home = root / "home"
    home.mkdir()
    env = _env(home, str(store))
    corrupt, truncated = populated.runs["sales_eu"], populated.runs["sales_us"]
    record = next(store.glob(f"*/{corrupt}/run.json"))
    record.write_bytes(record.read_bytes()[: record.stat().st_size // 2])
    output_key = populated.record("sales_us")["artifacts"]["output"]
    output = store / output_key
    output.write_bytes(output.read_bytes()[:300])
    server = BrowseServer(env).start()
    yield Damaged(server, env, corrupt, truncated, output_key, populated.runs["failing"])
    server.stop()


def _says(answer, *words: str) -> None:
    assert answer.status_code != 500 and "Traceback" not in answer.text, answer.text[:500]
    for word in words:
        assert word in answer.text, (word, answer.status_code, answer.text[:500])


def test_corrupt_run_record_page_says_so(damaged: Damaged):
    page = damaged.server.get(f"/nbprod/runs/{damaged.corrupt_record}")
    assert page.status_code == 502
    assert page.headers["Content-Type"].startswith("text/html")
    _says(page, "run record is corrupt", "run.json")
    data = damaged.server.get(f"/nbprod/runs/{damaged.corrupt_record}.json")
    assert data.status_code == 502 and "run record is corrupt" in data.json()["message"]
    status = damaged.server.get(f"/nbprod/api/runs/{damaged.corrupt_record}/status")
    assert status.status_code == 502 and "corrupt" in status.json()["message"]


def test_truncated_output_notebook_says_so(damaged: Damaged):
    run_page = damaged.server.get(f"/nbprod/runs/{damaged.truncated_output}")
    assert run_page.status_code == 200  # the record is fine; the frame below says the rest
    render = damaged.server.get(f"/nbprod/render/{damaged.output_key}")
    assert render.status_code == 502
    _says(render, "not a valid notebook", "truncated")
    assert "cells" not in render.text.split("not a valid notebook", 1)[1][:200]
    contents = damaged.server.get(f"/nbprod/api/contents/{damaged.output_key}")
    assert contents.status_code == 502 and "not a valid notebook" in contents.json()["message"]
    as_text = damaged.server.get(
        f"/nbprod/api/contents/{damaged.output_key}", params={"type": "file"}
    )
    assert as_text.status_code == 200 and as_text.json()["format"] == "text"
    assert damaged.server.get(f"/nbprod/raw/{damaged.output_key}").status_code == 200


def test_diff_with_damaged_runs_says_so(damaged: Damaged):
    diff = damaged.server.get(f"/nbprod/diff/{damaged.truncated_output}/{damaged.good}")
    assert diff.status_code == 200
    _says(diff, "not a valid notebook")
    data = damaged.server.get(f"/nbprod/diff/{damaged.truncated_output}/{damaged.good}.json")
    assert "not a valid notebook" in json.dumps(data.json())
    broken = damaged.server.get(f"/nbprod/diff/{damaged.corrupt_record}/{damaged.good}")
    assert broken.status_code == 502
    _says(broken, "run record is corrupt")


def _cli(damaged: Damaged, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*nbprod_command(), *args],
        env=damaged.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_show_and_diff_of_a_corrupt_record_is_one_line(damaged: Damaged, cli_inproc):
    for args in (
        ("runs", "show", damaged.corrupt_record),
        ("runs", "show", damaged.corrupt_record, "--json"),
        ("runs", "diff", damaged.corrupt_record, damaged.good),
        ("runs", "diff", damaged.good, damaged.corrupt_record, "--json"),
    ):
        done = cli_inproc(*args, env=damaged.env)
        assert done.returncode == 5, (args, done.returncode, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert "run record is corrupt" in lines[0] and "run.json" in lines[0], lines


def test_cli_diff_of_a_truncated_notebook_notes_it(damaged: Damaged):
    done = _cli(damaged, "runs", "diff", damaged.truncated_output, damaged.good, "--no-color")
    assert done.returncode == 0, done.stderr
    assert "not a valid notebook" in done.stdout and "Traceback" not in done.stderr
    shown = _cli(damaged, "runs", "show", damaged.truncated_output)
    assert shown.returncode == 0, shown.stderr
    assert Path(damaged.env["NBPROD_STORE"]).is_dir()
