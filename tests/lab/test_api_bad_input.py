"""Bad input to the REST API, as a table, against a real Jupyter server subprocess: each
request answers 400 (or 404) JSON naming the field to blame, never 500 or an HTML page,
and nothing is stored (no job definition, no queued run, no new object in the store).

Every row answered 500 before the request-shape checks (nbprod.server.request_shape) and
the REST layer's guards existed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.lab.conftest import LabServer

API = "/nbprod/api"
LONG = "a" * 300  # one path component longer than NAME_MAX (255 bytes)
DEEP = "[" * 5000 + "]" * 5000
NINES = "9" * 5000  # more digits than Python converts from text (4300)
OK_JOB = {"name": "bad-input-job", "path": "trivial.ipynb"}
RUN = {"path": "trivial.ipynb"}
NESTED = json.loads("[" * 40 + "]" * 40)

# (method, path, query or JSON body or raw text, status, field)
CASES: list[tuple[str, str, Any, int, str | None]] = [
    # NUL in a path
    ("POST", "/runs", {"path": "tri\x00vial.ipynb"}, 400, "path"),
    ("POST", "/jobs", {**OK_JOB, "path": "tri\x00vial.ipynb"}, 400, "path"),
    # long path components
    ("GET", "/parameters", {"path": LONG + ".ipynb"}, 400, "path"),
    ("GET", "/parameters", {"path": f"sub/{LONG}.ipynb"}, 400, "path"),
    ("POST", "/runs", {"path": LONG + ".ipynb"}, 400, "path"),
    ("POST", "/jobs", {**OK_JOB, "path": LONG + ".ipynb"}, 400, "path"),
    # non-string name
    ("POST", "/runs", {"path": "trivial.ipynb", "name": 5}, 400, "name"),
    ("POST", "/runs", {"path": "trivial.ipynb", "name": ["x"]}, 400, "name"),
    ("POST", "/jobs", {**OK_JOB, "name": 5}, 400, "name"),
    ("POST", "/jobs", {**OK_JOB, "name": {"a": 1}}, 400, "name"),
    # other fields of the wrong JSON type
    ("POST", "/runs", {"path": 5}, 400, "path"),
    ("POST", "/runs", {"path": "trivial.ipynb", "kernel": 5}, 400, "kernel"),
    ("POST", "/runs", {"path": "trivial.ipynb", "store": 5}, 400, "store"),
    # a relative store would land in the Jupyter server's working directory
    ("POST", "/runs", {"path": "trivial.ipynb", "store": "5"}, 400, "store"),
    ("POST", "/jobs", {**OK_JOB, "store": "some/dir"}, 400, "store"),
    ("POST", "/jobs", {**OK_JOB, "description": 5}, 400, "description"),
    ("POST", "/jobs", {**OK_JOB, "retries": 1.5}, 400, "retries"),
    ("POST", "/jobs/nope/runs", {"parameters": 5}, 400, "parameters"),
    # deeply nested JSON
    ("POST", "/runs", '{"path": ' + DEEP + "}", 400, "path"),
    ("POST", "/jobs", {**OK_JOB, "parameters": {"times": NESTED}}, 400, "parameters"),
    # Feb 30/31: croniter accepts them and then finds no date. The core's validation (the
    # "input" branch, nbprod/jobs) rejects them too; the REST layer's own guard
    # (core.notebooks.fire_times) keeps these rows 400 without it.
    ("GET", "/cron", {"schedule": "0 0 30 2 *"}, 400, "schedule"),
    ("GET", "/cron", {"schedule": "0 0 31 2 *"}, 400, "schedule"),
    ("POST", "/jobs", {**OK_JOB, "schedule": "0 0 30 2 *"}, 400, "schedule"),
    ("POST", "/jobs", {**OK_JOB, "schedule": "0 0 31 2 *"}, 400, "schedule"),
    # long timezone (ZoneInfo raised OSError: file name too long)
    ("GET", "/cron", {"schedule": "@daily", "timezone": "A" * 300}, 400, "timezone"),
    ("GET", "/cron", {"schedule": "@daily", "timezone": "Europe/" + LONG}, 400, "timezone"),
    ("POST", "/jobs", {**OK_JOB, "timezone": "A" * 300}, 400, "timezone"),
    # huge int parameter, as text and as a JSON number
    ("POST", "/runs", {**RUN, "parameters": {"times": NINES}}, 400, "parameters.times"),
    ("POST", "/runs", '{"parameters": {"times": ' + NINES + "}}", 400, "parameters.times"),
    ("POST", "/jobs", {**OK_JOB, "parameters": {"times": NINES}}, 400, "parameters.times"),
    ("GET", "/cron", {"schedule": "@daily", "count": NINES}, 400, "count"),
    ("GET", "/runs", {"limit": NINES}, 400, "limit"),
    # text no backend can store
    ("POST", "/runs", '{"path": "\\ud800.ipynb"}', 400, "path"),
    ("POST", "/runs", {**RUN, "parameters": {"greeting": "a\x00"}}, 400, "parameters.greeting"),
    ("POST", "/runs", '{"path": "trivial.ipynb", "timeout": NaN}', 400, None),
    # unknown routes and methods answer JSON too, not Jupyter's HTML page
    ("GET", "/nothing-here", None, 404, None),
    ("POST", "/nothing-here", {}, 404, None),
    ("GET", "/jobs/a/b/c", None, 404, None),
    ("POST", "/jobs/-bad-name/runs", {}, 404, None),
    ("DELETE", "/runs", None, 405, None),
]


def _stored(server: LabServer) -> set[str]:
    store = server.home / "store"
    return {
        str(Path(folder, name).relative_to(store))
        for folder, _, names in os.walk(store)
        for name in names
    }


@pytest.fixture(scope="module")
def bad_input_server(tmp_path_factory: pytest.TempPathFactory):
    server = LabServer(tmp_path_factory.mktemp("lab-bad-input")).start()
    yield server
    server.stop()


def _send(server: LabServer, method: str, path: str, payload: Any):
    if method == "GET":
        return server.request(method, API + path, params=payload)
    if isinstance(payload, str):
        return server.request(method, API + path, data=payload.encode("utf-8", "surrogatepass"))
    return server.request(method, API + path, json=payload)


@pytest.mark.parametrize(
    "method, path, payload, status, field",
    CASES,
    ids=[f"{i:02d}-{c[0]}{c[1]}-{c[4]}" for i, c in enumerate(CASES)],
)
def test_bad_input_is_4xx_json_naming_the_field(
    bad_input_server: LabServer, method: str, path: str, payload: Any, status: int, field: str
):
    before = _stored(bad_input_server)
    answer = _send(bad_input_server, method, path, payload)
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["Content-Type"].startswith("application/json"), answer.text[:200]
    error = answer.json()
    assert error["status"] == status and error["message"]
    assert error["field"] == field, error
    assert len(error["message"]) < 400 and "\n" not in error["message"]
    assert _stored(bad_input_server) == before
    assert bad_input_server.get(f"{API}/jobs").json()["jobs"] == []
    assert bad_input_server.get(f"{API}/runs").json()["runs"] == []


def test_the_good_job_form_is_accepted(bad_input_server: LabServer):
    """The table's base form is valid: each row fails for its one bad field only."""
    created = bad_input_server.post(f"{API}/jobs", {**OK_JOB, "schedule": "0 0 29 2 *"})
    assert created.status_code == 201, created.text
    assert created.json()["next_run"].startswith(("2028-02-29", "2032-02-29"))
    assert bad_input_server.request("DELETE", f"{API}/jobs/{OK_JOB['name']}").status_code == 200
