"""The REST handlers in this process: a jupyter_server with the nbprod extension, built by
pytest-jupyter and called with its ``jp_fetch`` (no subprocess, no port scan, no token file).

The validation and read-only answers of the API are checked here in seconds; the real
`jupyter server` process with runs executing in its embedded scheduler stays the proof in
test_lab_api.py (which these tests do not replace).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_jupyter")
from pytest_jupyter.jupyter_server import *  # noqa: E402, F403 - jp_fetch and its fixtures

from tests.lab.conftest import make_root  # noqa: E402

API = ("nbprod", "api")


@pytest.fixture
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of this test's own. The session's Playwright (sync API) keeps its loop set as
    this thread's running loop once a browser test ran in this worker; pytest-jupyter's own
    fixture would take that loop, fail to run it, and close it under Playwright."""
    running = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.close()
        asyncio.set_event_loop(running)
        asyncio.events._set_running_loop(running)


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"nbprod.server": True}}}


@pytest.fixture
def jp_root_dir(tmp_path: Path) -> Path:
    return make_root(tmp_path / "root")


@pytest.fixture
def fetch(nbprod_env, monkeypatch, jp_fetch, jp_asyncio_loop):
    """``fetch(method, *path, params=..., body=...)`` -> (status, JSON), errors included."""
    monkeypatch.setenv("NBPROD_EMBEDDED_SCHEDULER", "off")  # nothing runs in these tests
    from tornado.httpclient import HTTPClientError

    def call(method: str, *parts: str, params=None, body: Any = None, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if method == "POST" and data is None:
            data = "{}"

        async def go():
            try:
                return await jp_fetch(*API, *parts, method=method, params=params, body=data)
            except HTTPClientError as exc:
                return exc.response

        answer = jp_asyncio_loop.run_until_complete(go())
        return answer.code, json.loads(answer.body or b"null")

    return call


def test_info_names_the_store_and_the_api_version(fetch):
    status, data = fetch("GET", "info")
    assert status == 200
    assert data["api_version"] == "1" and data["store"].startswith("file://")


def test_parameters_of_a_notebook_and_the_bad_paths(fetch):
    status, data = fetch("GET", "parameters", params={"path": "sales_report.ipynb"})
    assert status == 200, data
    assert data["job"] == "sales_report" and data["kernel"] == "python3"
    days = next(p for p in data["parameters"] if p["name"] == "days")
    assert days["type"] == "int" and days["default"] == 7 and days["help"]
    for path, expected in [
        ("", 400),
        ("missing.ipynb", 404),
        ("../outside.ipynb", 400),
        ("notes.txt", 400),
    ]:
        status, data = fetch("GET", "parameters", params={"path": path})
        assert status == expected and data["message"], (path, data)
    assert fetch("GET", "parameters", params={"job": "no-such-job"})[0] == 404


def test_cron_preview_and_its_field_errors(fetch):
    status, data = fetch(
        "GET", "cron", params={"schedule": "0 7 * * 1-5", "timezone": "Europe/Berlin"}
    )
    assert status == 200
    assert data["description"] == "At 07:00, on Monday through Friday"
    assert len(data["next"]) == 3 and all("T07:00:00+0" in t for t in data["next"])
    for params, field in [
        ({"schedule": "0 7 *"}, "schedule"),
        ({"schedule": "0 7 * * *", "timezone": "Mars/Base"}, "timezone"),
        ({"schedule": "0 7 * * *", "count": "0"}, "count"),
    ]:
        status, data = fetch("GET", "cron", params=params)
        assert status == 400 and data["field"] == field, data


def test_run_now_refuses_bad_input_naming_the_field_and_queues_nothing(fetch):
    cases = [
        ({"path": "trivial.ipynb", "parameters": {"times": "two"}}, 400, "parameters.times"),
        ({"path": "trivial.ipynb", "parameters": {"color": "red"}}, 400, "parameters.color"),
        ({"path": "trivial.ipynb", "name": "bad name!"}, 400, "name"),
        ({"path": "trivial.ipynb", "timeout": "soon"}, 400, "timeout"),
        ({"path": "trivial.ipynb", "kernel": "no-such-kernel"}, 400, "kernel"),
        ({"path": "missing.ipynb"}, 404, None),
        ({}, 400, "path"),
    ]
    for body, expected, field in cases:
        status, data = fetch("POST", "runs", body=body)
        assert status == expected and data["field"] == field, (body, data)
    assert fetch("POST", "runs", raw="{not json")[0] == 400
    assert fetch("POST", "runs", raw="[1]")[0] == 400
    status, data = fetch("GET", "runs")
    assert status == 200 and data["runs"] == []


def test_unknown_runs_and_routes_are_json_404s(fetch):
    for method, route in [("GET", ""), ("POST", "/cancel"), ("POST", "/open")]:
        status, data = fetch(method, f"runs/20260101T000000000Z-00000000{route}")
        assert status == 404 and data["message"], (route, data)
    assert fetch("GET", "no-such-route")[0] == 404


def test_an_optional_parameter_is_labelled_like_the_cli_labels_it(fetch, jp_root_dir):
    from tests.conftest import write_notebook

    write_notebook(
        jp_root_dir / "optional.ipynb",
        "print(depth)",
        parameters="depth: int | None = None  # None: unlimited\nrate: float = 0.5",
    )
    status, data = fetch("GET", "parameters", params={"path": "optional.ipynb"})
    assert status == 200, data
    labels = {p["name"]: (p["type"], p["label"], p["kind"]) for p in data["parameters"]}
    assert labels == {"depth": ("int", "int?", "int"), "rate": ("float", "float", "float")}


def test_a_bad_sweep_answers_400_or_404_naming_the_field_and_queues_nothing(fetch):
    cases = [
        ({"path": "trivial.ipynb", "parameters": {"times": ["1", "two"]}}, 400, "parameters.times"),
        ({"path": "trivial.ipynb", "parameters": {"times": ["1"]}}, 400, "parameters"),
        ({"path": "trivial.ipynb", "parameters": {"times": "1,2"}}, 400, "parameters.times"),
        ({"path": "trivial.ipynb", "parameters": ["times"]}, 400, "parameters"),
        ({"path": "trivial.ipynb", "name": 5, "parameters": {}}, 400, "name"),
        ({"path": "missing.ipynb", "parameters": {"times": ["1", "2"]}}, 404, None),
        ({"parameters": {"times": ["1", "2"]}}, 400, "path"),
    ]
    for body, expected, field in cases:
        status, data = fetch("POST", "sweeps", body=body)
        assert status == expected and data["field"] == field and data["message"], (body, data)
    assert fetch("POST", "sweeps", raw="")[0] == 400
    assert fetch("GET", "runs")[1]["runs"] == []


def test_debug_drift_backfill_and_outputs_refuse_bad_input_naming_the_field(fetch):
    """Issue 15's routes: 400 naming the field, 404 for unknown runs, jobs and paths (a path
    that would leave the store included), nothing written."""
    run = "20260101T000000000Z-00000000"
    assert fetch("POST", f"runs/{run}/debug")[0] == 404
    status, data = fetch("POST", f"runs/{run}/debug", body={"folder": 5})
    assert status == 400 and data["field"] == "folder"
    for path in (f"{run}/x.ipynb", "../../etc/passwd", f"{run}/../../x", "not-a-run/x"):
        status, data = fetch("GET", f"outputs/{path}")
        assert status == 404 and data["message"], (path, data)
    for route in ("drift", "backfill"):
        status, _ = fetch(
            "GET", f"jobs/no-such-job/{route}", params={"from": "2026-01-01", "to": "2026-01-02"}
        )
        assert status == 404, route
    assert fetch("POST", "jobs/no-such-job/update")[0] == 404
    status, data = fetch(
        "POST", "jobs", body={"name": "daily", "path": "trivial.ipynb", "schedule": "0 7 * * *"}
    )
    assert status == 201, data
    for params, field in (
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
        ({"from": "soon", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01", "to": "2026-02-30"}, "to"),
        ({"from": "2000-01-01", "to": "2026-01-01"}, "to"),
    ):
        status, data = fetch("GET", "jobs/daily/backfill", params=params)
        assert status == 400 and data["field"] == field, (params, data)
        status, data = fetch("POST", "jobs/daily/backfill", body=params)
        assert status == 400 and data["field"] == field, (params, data)
    status, data = fetch(
        "GET", "jobs/daily/backfill", params={"from": "2026-01-01", "to": "2026-01-03"}
    )
    assert status == 200 and data["count"] == 3 and data["run_ids"] == []
    status, data = fetch("GET", "jobs/daily/drift")
    assert status == 200 and data["drifted"] is False
    assert fetch("GET", "runs")[1]["runs"] == []  # nothing queued by a preview or a refusal


@pytest.fixture
def user_templates(tmp_path: Path, monkeypatch) -> Path:
    """NBPROD_TEMPLATES, set before the server (and its settings) start."""
    mine = tmp_path / "my-templates"
    mine.mkdir()
    nb = {
        "cells": [],
        "metadata": {"nbprod": {"template": {"name": "etl", "requires": ["nbprod-no-such-dist"]}}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (mine / "etl.ipynb").write_text(json.dumps(nb))
    monkeypatch.setenv("NBPROD_TEMPLATES", str(mine))
    return mine


def test_templates_list_and_a_new_notebook_from_one(user_templates, fetch, jp_root_dir, tmp_path):
    status, data = fetch("GET", "templates")
    assert status == 200, data
    by_name = {t["name"]: t for t in data["templates"]}
    assert set(by_name) == {"basic", "data_quality", "etl", "report", "train_model"}
    assert by_name["report"]["ready"] and by_name["report"]["requires"] == ["pandas", "matplotlib"]
    assert by_name["etl"] == {
        **by_name["etl"],
        "ready": False,
        "source": "user",
        "missing": ["nbprod-no-such-dist"],
        "install": "pip install nbprod-no-such-dist",
    }
    assert "path" not in by_name["etl"]

    (jp_root_dir / "reports").mkdir()
    status, data = fetch("POST", "templates", body={"template": "report", "folder": "reports"})
    assert status == 201 and data["path"] == "reports/report.ipynb", data
    created = json.loads((jp_root_dir / "reports" / "report.ipynb").read_text())
    assert created["metadata"]["nbprod"]["created_from_template"] == "report"
    again = fetch("POST", "templates", body={"template": "report", "folder": "/reports/"})
    assert again == (201, {**again[1], "path": "reports/report1.ipynb"})
    status, data = fetch("POST", "templates", body={"template": "etl", "name": "load"})
    assert status == 201 and data["path"] == "load.ipynb" and data["missing"], data
    for body, expected, field in [
        ({"template": "etl", "name": "load"}, 409, None),
        ({"template": "reprot"}, 400, "template"),
        ({}, 400, "template"),
        ({"template": "basic", "folder": "../.."}, 400, "folder"),
        ({"template": "basic", "folder": "nowhere"}, 404, None),
        ({"template": "basic", "name": "a/b"}, 400, "name"),
        ({"template": "basic", "folder": 3}, 400, "folder"),
    ]:
        status, data = fetch("POST", "templates", body=body)
        assert status == expected and data["field"] == field, (body, data)
    from nbprod.config import Settings
    from nbprod.core.notebooks import templates_info
    from nbprod.errors import FieldError

    with pytest.raises(FieldError) as gone:
        templates_info(dataclasses.replace(Settings.load(), templates=str(tmp_path / "gone")))
    assert gone.value.field == "templates"


def test_report_mode_through_the_forms(fetch):
    """The dialog's *Report mode* box: a boolean only; a job keeps it as a versioned field
    and Run now queues it for the worker."""
    from nbprod.config import Settings
    from nbprod.core import Workspace

    for route in ("runs", "jobs", "sweeps"):
        body = {"path": "trivial.ipynb", "name": "rm", "report_mode": "yes"}
        status, data = fetch("POST", route, body=body)
        assert status == 400 and data["field"] == "report_mode", (route, data)
        assert "true or false" in data["message"]

    status, data = fetch(
        "POST", "jobs", body={"name": "rm", "path": "trivial.ipynb", "report_mode": True}
    )
    assert status == 201, data
    status, data = fetch("GET", "jobs/rm")
    assert status == 200 and data["definition"]["report_mode"] is True, data
    status, data = fetch("PUT", "jobs/rm", body={"report_mode": False})
    assert status == 200 and data["changes"] == ["report_mode: true → false"], data

    status, data = fetch("POST", "runs", body={"path": "trivial.ipynb", "report_mode": True})
    assert status == 202, data
    with Workspace(Settings.load()) as ws:
        (item,) = [i for i in ws.queue.items(("queued",)) if i.run_id == data["run_id"]]
        assert item.payload.report_mode is True


# -- pipelines ----------------------------------------------------------------------------

PIPELINE_YAML = """
name: two-step
schedule: "0 6 * * *"
timezone: Europe/Berlin
steps:
  - name: extract
    notebook: extract.ipynb
    parameters: {days: 3}
  - name: report
    notebook: report.ipynb
    needs: [extract]
    parameters_from: {rows: extract.row_count}
"""


@pytest.fixture
def two_step(jp_root_dir: Path, nbprod_env) -> Path:
    """A 2-step pipeline applied in the server's store (nothing run)."""
    from nbprod.config import Settings
    from nbprod.core import Workspace
    from nbprod.core.pipelines import apply_pipeline
    from tests.conftest import GLUE, write_notebook

    folder = jp_root_dir / "pipelines"
    write_notebook(
        folder / "extract.ipynb",
        f'{GLUE}\nglue("row_count", days * 10)',
        parameters="days: int = 1",
    )
    write_notebook(folder / "report.ipynb", "print(rows)", parameters="rows: int = 0")
    path = folder / "two-step.yaml"
    path.write_text(PIPELINE_YAML)
    with Workspace(Settings.load({})) as ws:
        apply_pipeline(ws, path)
    return path


def _start_queued(name: str) -> str:
    """A pipeline run whose first step is queued (no worker takes it here)."""
    from nbprod.config import Settings
    from nbprod.core import Workspace
    from nbprod.core.pipelines import run_pipeline

    with Workspace(Settings.load({})) as ws:
        return run_pipeline(ws, name).run_id


def test_pipelines_list_each_with_steps_and_latest_run(fetch, two_step):
    status, data = fetch("GET", "pipelines")
    assert status == 200
    (row,) = data["pipelines"]
    assert row["name"] == "two-step" and row["version"] == 1
    assert (row["schedule"], row["timezone"]) == ("0 6 * * *", "Europe/Berlin")
    assert [(s["name"], s["needs"], s["notebook"]) for s in row["steps"]] == [
        ("extract", [], "extract.ipynb"),
        ("report", ["extract"], "report.ipynb"),
    ]
    assert row["latest_run"] is None

    run_id = _start_queued("two-step")
    latest = fetch("GET", "pipelines")[1]["pipelines"][0]["latest_run"]
    assert latest["run_id"] == run_id and latest["status"] == "queued"
    assert latest["steps"] == {"extract": "queued", "report": "pending"}
    assert latest["duration_s"] is None and latest["started_at"] is None


def test_pipeline_shows_its_definition_and_recent_runs(fetch, two_step):
    first, second = _start_queued("two-step"), _start_queued("two-step")
    status, data = fetch("GET", "pipelines/two-step", params={"runs": "5"})
    assert status == 200
    assert data["definition"]["steps"][1]["parameters_from"] == {"rows": "extract.row_count"}
    assert [r["run_id"] for r in data["runs"]] == [second, first]
    assert data["latest_run"]["run_id"] == second

    status, data = fetch("GET", "pipelines/no-such-pipeline")
    assert status == 404 and "no-such-pipeline" in data["message"]
    for bad in ("0", "x"):
        status, data = fetch("GET", "pipelines/two-step", params={"runs": bad})
        assert (status, data["field"]) == (400, "runs")


def test_pipeline_run_shows_its_steps_and_cancels_once(fetch, two_step):
    run_id = _start_queued("two-step")
    status, data = fetch("GET", f"pipeline-runs/{run_id}")
    assert status == 200
    assert data["run_id"] == run_id and data["status"] == "queued"
    assert [(s["name"], s["state"], s["needs"]) for s in data["steps"]] == [
        ("extract", "queued", []),
        ("report", "pending", ["extract"]),
    ]
    assert data["step_states"] == {"extract": "queued", "report": "pending"}

    status, data = fetch("POST", f"pipeline-runs/{run_id}/cancel")
    assert status == 202 and data["run_id"] == run_id
    assert [line.split(":")[0] for line in data["cancelled"]] == ["extract"]
    after = fetch("GET", f"pipeline-runs/{run_id}")[1]
    assert after["status"] == "failed"
    assert after["step_states"] == {"extract": "failed", "report": "skipped"}
    status, data = fetch("POST", f"pipeline-runs/{run_id}/cancel")
    assert status == 409 and "already ended" in data["message"]


def test_pipeline_routes_refuse_unknown_names_and_bad_input(fetch, two_step):
    unknown = "20261202T000000000Z-00000000"
    for method, route in [
        ("GET", f"pipeline-runs/{unknown}"),
        ("POST", f"pipeline-runs/{unknown}/cancel"),
        ("POST", "pipelines/no-such-pipeline/runs"),
    ]:
        status, data = fetch(method, route)
        assert status == 404, (route, data)
        assert data["status"] == 404 and data["message"]
    cases = [
        ({"parameters": {"extract.nope": "1"}}, "parameters.extract.nope"),
        ({"parameters": {"extract.days": "many"}}, "parameters.extract.days"),
        ({"parameters": {"report.rows": "5"}}, "parameters.report.rows"),  # fed by an edge
        ({"parameters": {"nodot": "5"}}, "parameters.nodot"),
        ({"parameters": [1]}, "parameters"),
    ]
    for body, field in cases:
        status, data = fetch("POST", "pipelines/two-step/runs", body=body)
        assert (status, data["field"]) == (400, field), (body, data)
    assert fetch("POST", "pipelines/two-step/runs", raw="{not json")[0] == 400
    assert fetch("GET", "pipelines")[1]["pipelines"][0]["latest_run"] is None  # nothing started
