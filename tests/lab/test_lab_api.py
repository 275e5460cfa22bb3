"""Every REST route under /nbprod/api/ against a real Jupyter server subprocess, with the
installed server extension and its embedded scheduler: 200/201/202, 400 naming the field,
403, 404, 409, and never a bare 500."""

from __future__ import annotations

import os
import stat
import time

import nbformat

from tests.lab.conftest import LabServer

API = "/nbprod/api"


def test_info_and_auth(api_server: LabServer):
    info = api_server.get(f"{API}/info")
    assert info.status_code == 200
    data = info.json()
    assert data["api_version"] == "1"
    assert data["store"].startswith("file://")
    assert data["embedded_scheduler"]["state"] in ("starting", "active")
    # The rules the JupyterLab extension applies instead of keeping copies (test_lab_rules.py).
    rules = data["rules"]
    assert rules["notification_events"] == ["on_start", "on_success", "on_failure"]
    assert rules["active_statuses"] == ["queued", "starting", "running"]
    assert rules["job_name"]["pattern"].startswith("^") and rules["job_name"]["message"]
    assert rules["cell_anchor"] == "cell-id=nbprod-{index}"
    assert "~" in rules["values"]["null"] and "yes" in rules["values"]["true"]
    assert api_server.get(f"{API}/info", auth=False).status_code == 403
    assert api_server.post(f"{API}/runs", {"path": "trivial.ipynb"}, auth=False).status_code == 403


def test_parameters(api_server: LabServer):
    answer = api_server.get(f"{API}/parameters", params={"path": "sales_report.ipynb"})
    assert answer.status_code == 200
    data = answer.json()
    assert data["job"] == "sales_report" and data["kernel"] == "python3"
    days = next(p for p in data["parameters"] if p["name"] == "days")
    assert days["type"] == "int" and days["default"] == 7 and days["help"]
    assert days["kind"] == "int"
    assert (
        api_server.get(f"{API}/parameters", params={"path": "sub/inner.ipynb"}).json()["parameters"]
        == []
    )
    for path, status in [
        ("", 400),
        ("missing.ipynb", 404),
        ("../outside.ipynb", 400),
        ("notes.txt", 400),
    ]:
        answer = api_server.get(f"{API}/parameters", params={"path": path})
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()["message"]
    assert api_server.get(f"{API}/parameters", params={"job": "no-such-job"}).status_code == 404


def test_cron_preview(api_server: LabServer):
    answer = api_server.get(
        f"{API}/cron", params={"schedule": "0 7 * * 1-5", "timezone": "Europe/Berlin"}
    )
    assert answer.status_code == 200
    data = answer.json()
    assert data["description"] == "At 07:00, on Monday through Friday"
    assert len(data["next"]) == 3
    assert all("T07:00:00+0" in t for t in data["next"])  # Berlin wall time, +01/+02
    assert (
        api_server.get(f"{API}/cron", params={"schedule": "@hourly", "count": 5})
        .json()["next"]
        .__len__()
        == 5
    )
    assert api_server.get(f"{API}/cron", params={"schedule": ""}).json()["next"] == []
    for params, field in [
        ({"schedule": "0 7 *"}, "schedule"),
        ({"schedule": "@sometimes"}, "schedule"),
        ({"schedule": "0 7 * * *", "timezone": "Mars/Base"}, "timezone"),
        ({"schedule": "0 7 * * *", "count": "x"}, "count"),
        ({"schedule": "0 7 * * *", "count": "0"}, "count"),
    ]:
        answer = api_server.get(f"{API}/cron", params=params)
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text


def test_timezones(api_server: LabServer):
    zones = api_server.get(f"{API}/timezones").json()["timezones"]
    assert "Europe/Berlin" in zones and "UTC" in zones


def test_run_now_validation(api_server: LabServer):
    cases = [
        ({"path": "trivial.ipynb", "parameters": {"times": "two"}}, 400, "parameters.times"),
        ({"path": "trivial.ipynb", "parameters": {"color": "red"}}, 400, "parameters.color"),
        ({"path": "trivial.ipynb", "name": "bad name!"}, 400, "name"),
        ({"path": "trivial.ipynb", "timeout": "soon"}, 400, "timeout"),
        ({"path": "trivial.ipynb", "kernel": "no-such-kernel"}, 400, "kernel"),
        ({"path": "missing.ipynb"}, 404, None),
        ({}, 400, "path"),
    ]
    for body, status, field in cases:
        answer = api_server.post(f"{API}/runs", body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.text)
    bad_json = api_server.request("POST", f"{API}/runs", data="{not json")
    assert bad_json.status_code == 400
    assert api_server.request("POST", f"{API}/runs", data="[1]").status_code == 400


def test_run_now_executes_and_opens(api_server: LabServer):
    answer = api_server.post(
        f"{API}/runs", {"path": "trivial.ipynb", "parameters": {"times": "3"}, "name": "adhoc"}
    )
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    done = api_server.wait_run(run_id, ("succeeded", "failed"))
    assert done["status"] == "succeeded", done
    assert done["parameters"]["times"] == 3
    progress = done["progress"]  # the injected-parameters cell counts too
    assert progress["cells_done"] == progress["cells_total"] >= 2
    listed = api_server.get(f"{API}/runs", params={"job": "adhoc"}).json()["runs"]
    assert [r["run_id"] for r in listed] == [run_id]
    assert api_server.get(f"{API}/runs", params={"limit": "x"}).status_code == 400
    assert api_server.get(f"{API}/runs", params={"limit": "0"}).status_code == 400

    opened = api_server.post(f"{API}/runs/{run_id}/open")
    assert opened.status_code == 200, opened.text
    copy = api_server.root / opened.json()["path"]
    nb = nbformat.read(copy, as_version=4)
    assert all(c.metadata["editable"] is False for c in nb.cells)
    assert not os.stat(copy).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert opened.json()["cell"] is None

    cancel = api_server.post(f"{API}/runs/{run_id}/cancel")
    assert cancel.status_code == 409 and "already finished" in cancel.json()["message"]
    for route in ("", "/cancel", "/open"):
        method = api_server.get if not route else api_server.post
        missing = method(f"{API}/runs/20260101T000000000Z-00000000{route}")
        assert missing.status_code == 404, (route, missing.text)
    assert api_server.get(f"{API}/runs/not-a-run").status_code == 404


def test_failed_run_points_at_its_failing_cell(api_server: LabServer):
    run_id = api_server.post(f"{API}/runs", {"path": "failing_example.ipynb"}).json()["run_id"]
    done = api_server.wait_run(run_id, ("succeeded", "failed"))
    assert done["status"] == "failed" and done["error"]["cell_index"] is not None
    assert (done["error"]["cell_number"], done["error"]["cell_label"]) == (4, "cell 4")
    opened = api_server.post(f"{API}/runs/{run_id}/open").json()
    assert opened["cell"] == done["error"]["cell_index"] and opened["cell_label"] == "cell 4"
    nb = nbformat.read(api_server.root / opened["path"], as_version=4)
    assert nb.cells[opened["cell"]].outputs[-1]["output_type"] == "error"


def test_cancel_a_running_run(api_server: LabServer):
    run_id = api_server.post(f"{API}/runs", {"path": "slow.ipynb"}).json()["run_id"]
    api_server.wait_run(run_id, ("running",))
    answer = api_server.post(f"{API}/runs/{run_id}/cancel")
    assert answer.status_code == 202, answer.text
    done = api_server.wait_run(run_id, ("cancelled", "succeeded", "failed"), timeout=60)
    assert done["status"] == "cancelled"


def test_job_lifecycle(api_server: LabServer):
    body = {
        "name": "lab-daily",
        "path": "trivial.ipynb",
        "parameters": {"greeting": "hello", "times": "4"},
        "kernel": "python3",
        "schedule": "0 7 * * 1-5",
        "timezone": "Europe/Berlin",
        "retries": "2",
        "timeout": "10m",
        "notifications": {"on_failure": [{"type": "email", "to": ["a@example.org"]}]},
        "store": "",
    }
    created = api_server.post(f"{API}/jobs", body)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["version"] == 1 and job["created"] and not job["paused"]
    assert job["next_run"].endswith(("+01:00", "+02:00")) and "T07:00:00" in job["next_run"]
    assert job["definition"]["parameters"] == {"greeting": "hello", "times": 4}
    assert job["definition"]["notebook"] == str(api_server.root / "trivial.ipynb")
    assert api_server.post(f"{API}/jobs", body).status_code == 409

    for change, field in [
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"schedule": "61 * * * *"}, "schedule"),
        ({"schedule": "0 0 30 2 *"}, "schedule"),  # never fires
        ({"retries": "-1"}, "retries"),
        ({"retries": "x"}, "retries"),
        ({"timeout": "never"}, "timeout"),
        ({"parameters": {"times": "many"}}, "parameters.times"),
        ({"name": "has space"}, "name"),
        ({"store": "ftp://nope"}, "store"),
        ({"notifications": {"on_failure": [{"type": "pager"}]}}, "notifications"),
        ({"kernel": "no-such-kernel"}, "kernel"),
    ]:
        answer = api_server.post(f"{API}/jobs", {**body, "name": "lab-other", **change})
        assert answer.status_code == 400, (change, answer.text)
        assert answer.json()["field"] == field, (change, answer.text)

    jobs = api_server.get(f"{API}/jobs").json()["jobs"]
    assert [j["name"] for j in jobs] == ["lab-daily"]
    assert jobs[0]["schedule"] == "0 7 * * 1-5" and jobs[0]["next_run"]

    edited = api_server.request(
        "PUT", f"{API}/jobs/lab-daily", json={"retries": "3", "schedule": "@hourly"}
    )
    assert edited.status_code == 200, edited.text
    version = edited.json()
    assert version["version"] == 2
    definition = version["definition"]
    assert definition["retries"] == 3 and definition["schedule"] == "@hourly"
    assert definition["timezone"] == "Europe/Berlin" and definition["timeout"] == 600
    assert definition["parameters"] == {"greeting": "hello", "times": 4}
    assert definition["notifications"]["on_failure"][0]["to"] == ["a@example.org"]
    assert [v["version"] for v in version["versions"]] == [1, 2]
    bad = api_server.request("PUT", f"{API}/jobs/lab-daily", json={"retries": "x"})
    assert bad.status_code == 400 and bad.json()["field"] == "retries"
    never = api_server.request("PUT", f"{API}/jobs/lab-daily", json={"schedule": "0 0 31 2 *"})
    assert never.status_code == 400 and never.json()["field"] == "schedule", never.text
    assert api_server.get(f"{API}/jobs/lab-daily").json()["version"] == 2  # nothing stored
    rename = api_server.request("PUT", f"{API}/jobs/lab-daily", json={"name": "other"})
    assert rename.status_code == 400 and rename.json()["field"] == "name"
    assert api_server.request("PUT", f"{API}/jobs/nope", json={}).status_code == 404

    info = api_server.get(f"{API}/parameters", params={"job": "lab-daily"}).json()
    assert [p["name"] for p in info["parameters"]] == ["greeting", "times"]

    paused = api_server.post(f"{API}/jobs/lab-daily/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert paused.json()["next_runs"] == []
    resumed = api_server.post(f"{API}/jobs/lab-daily/resume")
    assert resumed.json()["paused"] is False and resumed.json()["next_run"]
    assert api_server.post(f"{API}/jobs/nope/pause").status_code == 404

    run = api_server.post(f"{API}/jobs/lab-daily/runs", {"parameters": {"times": "1"}})
    assert run.status_code == 202, run.text
    done = api_server.wait_run(run.json()["run_id"], ("succeeded", "failed"))
    assert done["status"] == "succeeded" and done["parameters"]["times"] == 1
    assert done["parameters"]["greeting"] == "hello"
    bad_run = api_server.post(f"{API}/jobs/lab-daily/runs", {"parameters": {"times": "x"}})
    assert bad_run.status_code == 400 and bad_run.json()["field"] == "parameters.times"
    assert api_server.post(f"{API}/jobs/nope/runs").status_code == 404
    listed = api_server.get(f"{API}/jobs").json()["jobs"][0]
    assert listed["last_status"] == "succeeded"

    assert api_server.get(f"{API}/jobs/lab-daily").status_code == 200
    deleted = api_server.request("DELETE", f"{API}/jobs/lab-daily")
    assert deleted.status_code == 200, deleted.text
    assert api_server.get(f"{API}/jobs/lab-daily").status_code == 404
    assert api_server.request("DELETE", f"{API}/jobs/lab-daily").status_code == 404
    assert api_server.get(f"{API}/jobs").json()["jobs"] == []


def test_unknown_api_route_is_404(api_server: LabServer):
    for method, path in [("GET", "/nothing-here"), ("PUT", "/jobs/a/b"), ("GET", "")]:
        answer = api_server.request(method, f"{API}{path}")
        assert answer.status_code == 404, (method, path, answer.text[:200])
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["status"] == 404 and answer.json()["message"]


def test_every_route_is_in_the_openapi_document():
    import re
    from pathlib import Path

    import yaml

    from nbprod.server.api_handlers import API_ROUTES

    spec = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "specification" / "nbprod-api.yml").read_text()
    )
    assert spec["openapi"].startswith("3.")
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for path in spec["paths"]}
    for pattern, _ in API_ROUTES:
        path = re.sub(r"\([^)]*\)", "{}", pattern)
        assert path in documented, f"{pattern} is not in specification/nbprod-api.yml"
    server = spec["servers"][0]["url"].rstrip("/")
    for path in spec["paths"]:  # the server URL must not repeat the paths' prefix
        assert (server + path).startswith("/nbprod/api/"), (server, path)
        assert "/nbprod/api/nbprod/api" not in server + path
    methods = {m for p in spec["paths"].values() for m in p}
    assert {"get", "post", "put", "delete"} <= methods
    time.sleep(0)
