"""Every route of `nbprod browse` over real HTTP against a real server subprocess."""

from __future__ import annotations

import dataclasses
import http.client
import re
import subprocess
from pathlib import Path

import pytest

from tests.browse.conftest import CHART_JOB, CHART_RUNS, BrowseServer, Populated
from tests.conftest import nbprod_command


def test_root_redirects_to_the_jobs_view(server: BrowseServer):
    response = server.get("/", auth=False)
    assert response.status_code == 302
    assert response.headers["Location"].rstrip("?").endswith("/nbprod/")


def test_token_is_required(server: BrowseServer):
    page = server.get("/nbprod/", auth=False)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    for path in ("/nbprod/jobs.json", "/nbprod/api/contents/", "/nbprod/search?format=json"):
        assert server.get(path, auth=False).status_code == 403, path
    wrong = server.get("/nbprod/jobs.json", auth=False, params={"token": "not-the-token"})
    assert wrong.status_code == 403
    assert server.get("/nbprod/jobs.json").status_code == 200
    header = server.get(
        "/nbprod/jobs.json", auth=False, headers={"Authorization": "token test-token"}
    )
    assert header.status_code == 200


def test_the_started_server_prints_a_url_with_its_token(server: BrowseServer):
    assert server.url == f"http://127.0.0.1:{server.port}/nbprod/?token=test-token"
    # Only the real URL: not jupyter_server's masked `?token=...` one before it, nor its lines
    # about notebooks and kernels a browse server has none of.
    printed = "".join(server.output)
    assert "?token=..." not in printed and "token=test-token" in printed
    for noise in ("Serving notebooks from local directory", "shut down all kernels"):
        assert noise not in printed, printed


def test_no_token_is_refused_off_loopback(populated: Populated):
    done = subprocess.run(
        [*nbprod_command(), "browse", "--no-token", "--ip", "0.0.0.0", "--port", "1"],
        env=populated.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--no-token is only allowed with --ip 127.0.0.1" in done.stderr


def test_no_token_on_loopback_serves_without_auth(populated: Populated):
    open_server = BrowseServer(populated.env, "--no-token", token=None).start()
    try:
        assert open_server.url == f"http://127.0.0.1:{open_server.port}/nbprod/"
        assert open_server.get("/nbprod/jobs.json").status_code == 200
    finally:
        open_server.stop()


def test_no_jupyter_write_or_kernel_endpoints(server: BrowseServer, populated: Populated):
    for path in ("/api/contents", "/api/kernels", "/api/sessions", "/api/terminals", "/lab"):
        assert server.get(path).status_code == 404, path
    run_id = populated.runs["sales_eu"]
    key = f"sales_report/{run_id}/run.json"
    import requests

    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in (f"/nbprod/raw/{key}", f"/nbprod/api/contents/{key}", f"/nbprod/runs/{run_id}"):
            response = requests.request(
                method, server.base + path, params={"token": "test-token"}, timeout=30
            )
            assert response.status_code in (403, 405), (method, path, response.status_code)
    assert (populated.store / key).is_file()


def test_jobs_view_html_and_json(server: BrowseServer):
    html = server.get("/nbprod/")
    assert html.status_code == 200 and "text/html" in html.headers["Content-Type"]
    assert "script-src 'self'" in html.headers["Content-Security-Policy"]
    for name in ("sales_report", "failing_example", "daily-sales", CHART_JOB):
        assert f">{name}</a>" in html.text
    assert '<link rel="alternate" type="application/json"' in html.text
    jobs = {j["name"]: j for j in server.get("/nbprod/jobs.json").json()["jobs"]}
    assert server.get("/nbprod/", params={"format": "json"}).json()["jobs"]
    daily = jobs["daily-sales"]
    assert daily["defined"] and daily["schedule"] == "0 7 * * *"
    assert daily["timezone"] == "Europe/Berlin" and daily["next_run"].endswith(("+01:00", "+02:00"))
    assert "0 7 * * *" in html.text and "Europe/Berlin" in html.text
    sales = jobs["sales_report"]
    assert sales["runs_total"] == 2 and sales["success_rate"] == 1.0
    assert jobs["failing_example"]["last_status"] == "failed"
    assert jobs["failing_example"]["success_rate"] == 0.0
    metrics = jobs[CHART_JOB]
    assert metrics["runs_total"] == CHART_RUNS
    assert metrics["runs_succeeded"] == CHART_RUNS - len(
        [i for i in range(CHART_RUNS) if i % 7 == 3]
    )


def test_job_page_history_filters_chart_and_pagination(server: BrowseServer):
    page = server.get(f"/nbprod/jobs/{CHART_JOB}")
    assert page.status_code == 200
    assert page.text.count('class="run-row"') == CHART_RUNS  # 50 per page by default
    assert 'data-chart="revenue"' in page.text and 'data-chart="duration (s)"' in page.text
    data = server.get(f"/nbprod/jobs/{CHART_JOB}.json").json()
    charts = {c["name"]: c for c in data["charts"]}
    assert set(charts) == {"duration (s)", "revenue", "accuracy"}
    revenue = charts["revenue"]
    assert len(revenue["points"]) == CHART_RUNS
    assert [p["value"] for p in revenue["points"]] == [1000.0 + 10 * i for i in range(CHART_RUNS)]
    assert revenue["low"] == 1000.0 and revenue["high"] == 1290.0
    assert "polyline" not in revenue  # SVG geometry stays out of the JSON
    assert data["key_scraps"] == ["accuracy", "revenue"] or set(data["key_scraps"]) == {
        "accuracy",
        "revenue",
    }

    failed = server.get(f"/nbprod/jobs/{CHART_JOB}.json", params={"status": "failed"}).json()
    assert failed["runs"] and {r["status"] for r in failed["runs"]} == {"failed"}
    assert failed["pagination"]["total"] == len([i for i in range(CHART_RUNS) if i % 7 == 3])
    eu = server.get(f"/nbprod/jobs/{CHART_JOB}.json", params={"param": "region=eu"}).json()
    assert eu["pagination"]["total"] == 15 and all(
        r["parameters"]["region"] == "eu" for r in eu["runs"]
    )
    rich = server.get(f"/nbprod/jobs/{CHART_JOB}.json", params={"scrap": "revenue>=1250"}).json()
    assert rich["pagination"]["total"] == 5
    err = server.get(f"/nbprod/jobs/{CHART_JOB}.json", params={"error": "'col10'"}).json()
    assert [r["error"] for r in err["runs"]] == ["KeyError: 'col10'"]
    dated = server.get(
        f"/nbprod/jobs/{CHART_JOB}.json",
        params={"since": "2026-10-02", "until": "2026-10-02T02:00Z"},
    ).json()
    assert dated["pagination"]["total"] == 2

    pages = []
    query = {"per_page": "8"}
    url = f"/nbprod/jobs/{CHART_JOB}.json"
    while True:
        body = server.get(url, params=query).json()
        pages.append([r["run_id"] for r in body["runs"]])
        if not body["pagination"]["next_url"]:
            break
        query = dict(re.findall(r"([^?&=]+)=([^&]*)", body["pagination"]["next_url"]))
    assert [len(p) for p in pages] == [8, 8, 8, 6]
    flat = [run for p in pages for run in p]
    assert flat == sorted(flat, reverse=True) and len(set(flat)) == CHART_RUNS
    html_page2 = server.get(f"/nbprod/jobs/{CHART_JOB}", params={"per_page": "8", "page": "2"})
    assert "page 2 of 4" in html_page2.text and 'rel="next"' in html_page2.text


def test_job_page_bad_input_and_unknown_job(server: BrowseServer):
    for params in ({"status": "nope"}, {"since": "yesterday-ish"}, {"param": "=x"}, {"page": "0"}):
        response = server.get(f"/nbprod/jobs/{CHART_JOB}.json", params=params)
        assert response.status_code == 400, params
        assert response.json()["status"] == 400 and response.json()["message"]
    html = server.get(f"/nbprod/jobs/{CHART_JOB}", params={"per_page": "x"})
    assert html.status_code == 400 and "per_page must be a whole number" in html.text
    missing = server.get("/nbprod/jobs/no-such-job")
    assert missing.status_code == 404 and "no job" in missing.text


def test_run_page(server: BrowseServer, populated: Populated):
    run_id = populated.runs["failing"]
    page = server.get(f"/nbprod/runs/{run_id}")
    assert page.status_code == 200
    text = page.text
    assert "ValueError: data quality check failed" in text
    anchor = f"cell-id=nbprod-{populated.failing_cell}"
    assert f'href="/nbprod/render/failing_example/{run_id}/failing_example.ipynb#{anchor}"' in text
    frame = re.search(r"<iframe[^>]*>", text, re.S).group(0)
    assert 'sandbox="allow-scripts"' in frame and "allow-same-origin" not in frame
    assert f"#{anchor}" in frame
    assert ">threshold</th>" in text and ">score</th>" in text
    assert "input snapshot" in text and ".nbprod/notebooks/" in text
    data = server.get(f"/nbprod/runs/{run_id}.json").json()
    assert data["run"]["run_id"] == run_id and data["run"]["status"] == "failed"
    assert data["failing_cell"] == anchor and data["live"] is False
    # the link names the author's 4th cell (the anchor is its position, markers included)
    assert data["failing_cell_label"] == "cell 4" and data["run"]["error"]["cell_number"] == 4
    assert "Go to the failing cell (cell 4)</a>" in text
    assert data["run"]["notebook"]["cells"] == data["run"]["progress"]["cells_total"] == 6
    assert {p["name"]: p["given"] for p in data["parameters"]} == {
        "threshold": False,
        "fail": False,
    }

    us = server.get(f"/nbprod/runs/{populated.runs['sales_us']}.json").json()
    assert us["previous_run_id"] == populated.runs["sales_eu"]
    html = server.get(f"/nbprod/runs/{populated.runs['sales_us']}").text
    assert f"/nbprod/diff/{populated.runs['sales_eu']}/{populated.runs['sales_us']}" in html
    assert server.get("/nbprod/runs/20990101T000000000Z-00000000").status_code == 404
    assert server.get("/nbprod/runs/not-a-run.json").status_code == 404


def test_run_status_endpoint(server: BrowseServer, populated: Populated):
    status = server.get(f"/nbprod/api/runs/{populated.runs['failing']}/status").json()
    record = populated.record("failing")
    assert status == {
        "run_id": populated.runs["failing"],
        "status": "failed",
        "terminal": True,
        "cells_done": record["progress"]["cells_done"],
        "cells_total": record["progress"]["cells_total"],
        "duration_s": record["duration_s"],
        "error": f"ValueError: {record['error']['evalue']}",
    }
    assert server.get("/nbprod/api/runs/nope/status").status_code == 404


def test_diff_page(server: BrowseServer, populated: Populated):
    a, b = populated.runs["sales_eu"], populated.runs["sales_us"]
    page = server.get(f"/nbprod/diff/{a}/{b}")
    assert page.status_code == 200
    assert re.search(r"<th>region</th><td[^>]*>eu</td><td[^>]*>us</td>", page.text)
    assert re.search(r"<th>days</th><td[^>]*>7</td><td[^>]*>30</td>", page.text)
    assert "Outputs" in page.text and 'class="cell-diff' in page.text
    data = server.get(f"/nbprod/diff/{a}/{b}.json").json()
    changes = {c["name"]: c for c in data["parameters"]}
    assert changes["days"]["delta"].startswith("+23")
    assert data["diff"]["a"]["run_id"] == a and data["output_cells"]
    redirect = server.get("/nbprod/diff", params={"a": a, "b": b})
    assert redirect.status_code == 302 and redirect.headers["Location"].endswith(
        f"/nbprod/diff/{a}/{b}"
    )
    assert server.get("/nbprod/diff").status_code == 400
    assert server.get(f"/nbprod/diff/{a}/20990101T000000000Z-00000000").status_code == 404


def test_search(server: BrowseServer, populated: Populated):
    failed = server.get("/nbprod/search.json", params={"q": "status:failed"}).json()
    assert failed["runs"] and {r["status"] for r in failed["runs"]} == {"failed"}
    assert populated.runs["failing"] in {r["run_id"] for r in failed["runs"]}
    by_job = server.get("/nbprod/search.json", params={"q": "sales_report"}).json()
    assert {r["run_id"] for r in by_job["runs"]} == {
        populated.runs["sales_eu"],
        populated.runs["sales_us"],
    }
    by_param = server.get(
        "/nbprod/search.json", params={"q": "param:region=us job:sales_report"}
    ).json()
    assert [r["run_id"] for r in by_param["runs"]] == [populated.runs["sales_us"]]
    # Other files' tests publish runs with larger revenues into this worker's store (the
    # live pages' synthetic runs): across jobs only "all above", within the chart job exactly.
    by_scrap = server.get("/nbprod/search.json", params={"scrap": "revenue>1280"}).json()
    revenues = [r["scraps"]["revenue"] for r in by_scrap["runs"]]
    assert 1290.0 in revenues and all(v > 1280 for v in revenues), revenues
    in_job = {"q": f"job:{CHART_JOB}", "scrap": "revenue>1280"}
    by_scrap = server.get("/nbprod/search.json", params=in_job).json()
    assert [r["scraps"]["revenue"] for r in by_scrap["runs"]] == [1290.0]
    by_error = server.get("/nbprod/search", params={"q": "quality check"})
    assert populated.runs["failing"] in by_error.text
    jump = server.get("/nbprod/search", params={"q": populated.runs["failing"][:22]})
    assert jump.status_code == 302 and jump.headers["Location"].endswith(populated.runs["failing"])
    empty = server.get("/nbprod/search")
    assert empty.status_code == 200 and 'class="run-row"' not in empty.text
    assert server.get("/nbprod/search.json", params={"q": 'error:"unbalanced'}).status_code == 400


def test_files_view_folders_breadcrumbs_sorting(server: BrowseServer, populated: Populated):
    root = server.get("/nbprod/files/")
    assert root.status_code == 200
    for name in ("sales_report/", "failing_example/", ".nbprod/", "extras/"):
        assert f">{name}</a>" in root.text
    run_id = populated.runs["sales_eu"]
    folder = server.get(f"/nbprod/files/sales_report/{run_id}")
    assert folder.status_code == 200
    assert '<a href="/nbprod/files/">store</a>' in folder.text
    assert '<a href="/nbprod/files/sales_report">sales_report</a>' in folder.text
    assert ">run.json</a>" in folder.text and ">sales_report.ipynb</a>" in folder.text
    names = re.findall(
        r'class="entry file">\s*<td><a href="[^"]+">([^<]+)</a>',
        server.get("/nbprod/files/extras", params={"sort": "size", "order": "desc"}).text,
    )
    sizes = {p.name: p.stat().st_size for p in (populated.store / "extras").iterdir()}
    assert names == sorted(sizes, key=lambda n: (sizes[n], n), reverse=True)
    paged = server.get("/nbprod/files/extras", params={"per_page": "3"})
    assert "entries 1–3" in paged.text and 'rel="next"' in paged.text
    assert server.get("/nbprod/files/extras", params={"sort": "colour"}).status_code == 400
    assert server.get("/nbprod/files/no/such/folder").status_code == 404


def test_file_viewers_and_raw_downloads(server: BrowseServer, populated: Populated):
    md = server.get("/nbprod/files/extras/notes.md").text
    assert "<strong>bold</strong>" in md and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in md
    csv = server.get("/nbprod/files/extras/table.csv").text
    assert "<th>region</th><th>revenue</th>" in csv and "<td>&lt;b&gt;200&lt;/b&gt;</td>" in csv
    js = server.get("/nbprod/files/extras/data.json").text
    assert "&#34;b&#34;: 1" in js or "&quot;b&quot;: 1" in js
    log = server.get("/nbprod/files/extras/job.log").text
    assert "&lt;script&gt;x&lt;/script&gt;" in log
    image = server.get("/nbprod/files/extras/pixel.png").text
    assert '<img class="image" src="/nbprod/raw/extras/pixel.png"' in image
    html = server.get("/nbprod/files/extras/page.html").text
    frame = re.search(r"<iframe[^>]*>", html, re.S).group(0)
    assert 'src="/nbprod/raw/extras/page.html"' in frame and "allow-same-origin" not in frame
    binary = server.get("/nbprod/files/extras/blob.bin").text
    assert "Binary file" in binary
    notebook = server.get(
        f"/nbprod/files/sales_report/{populated.runs['sales_eu']}/sales_report.ipynb"
    )
    assert 'src="/nbprod/render/sales_report/' in notebook.text

    raw = server.get("/nbprod/raw/extras/blob.bin", params={"download": "1"})
    assert raw.content == (populated.store / "extras" / "blob.bin").read_bytes()
    assert raw.headers["Content-Disposition"] == "attachment; filename*=UTF-8''blob.bin"
    stored_html = server.get("/nbprod/raw/extras/page.html")
    assert stored_html.headers["Content-Security-Policy"].startswith("sandbox allow-scripts")
    assert stored_html.headers["X-Content-Type-Options"] == "nosniff"
    png = server.get("/nbprod/raw/extras/pixel.png")
    assert png.headers["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert server.get("/nbprod/raw/extras/missing.txt").status_code == 404


def test_rendered_notebook_is_sandboxed_and_cached(server: BrowseServer, populated: Populated):
    key = f"sales_report/{populated.runs['sales_us']}/sales_report.ipynb"
    first = server.get(f"/nbprod/render/{key}")
    assert first.status_code == 200 and 'id="cell-id=nbprod-0"' in first.text
    csp = first.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts") and "allow-same-origin" not in csp
    assert "default-src 'none'" in csp
    second = server.get(f"/nbprod/render/{key}")
    assert second.headers["X-Nbprod-Render-Cache"] == "hit" and second.text == first.text
    cached = list((populated.home / "cache" / "html").glob("*.html"))
    import hashlib

    digest = hashlib.sha256((populated.store / key).read_bytes()).hexdigest()
    assert any(p.name.startswith(digest) for p in cached)
    assert server.get("/nbprod/render/extras/notes.md").status_code == 400


def test_contents_api(server: BrowseServer, populated: Populated):
    root = server.get("/nbprod/api/contents/").json()
    assert root["type"] == "directory" and root["writable"] is False and root["format"] == "json"
    assert {"sales_report", "extras"} <= {c["name"] for c in root["content"]}
    run_id = populated.runs["sales_eu"]
    folder = server.get(f"/nbprod/api/contents/sales_report/{run_id}").json()
    kinds = {c["name"]: c["type"] for c in folder["content"]}
    assert kinds["sales_report.ipynb"] == "notebook" and kinds["run.json"] == "file"
    nb = server.get(f"/nbprod/api/contents/sales_report/{run_id}/sales_report.ipynb").json()
    assert nb["type"] == "notebook" and nb["format"] == "json" and nb["content"]["nbformat"] == 4
    assert nb["path"] == f"sales_report/{run_id}/sales_report.ipynb" and nb["size"] > 0
    text = server.get("/nbprod/api/contents/extras/job.log").json()
    assert text["format"] == "text" and text["content"].startswith("line one")
    assert text["mimetype"] == "text/plain" and text["last_modified"]
    binary = server.get("/nbprod/api/contents/extras/blob.bin").json()
    import base64

    assert binary["format"] == "base64"
    assert base64.b64decode(binary["content"]) == (populated.store / "extras/blob.bin").read_bytes()
    bare = server.get("/nbprod/api/contents/extras/job.log", params={"content": "0"}).json()
    assert bare["content"] is None and bare["format"] is None
    missing = server.get("/nbprod/api/contents/extras/nothing.txt")
    assert missing.status_code == 404 and "No such file or directory" in missing.json()["message"]
    assert server.get("/nbprod/api/contents/extras", params={"format": "xml"}).status_code == 400


def _raw_get(server: BrowseServer, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sep = "&" if "?" in path else "?"
    conn.request("GET", f"{path}{sep}token=test-token")  # sent exactly as written
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


@pytest.mark.parametrize(
    "prefix", ["/nbprod/files/", "/nbprod/raw/", "/nbprod/render/", "/nbprod/api/contents/"]
)
def test_path_traversal_is_refused(server: BrowseServer, populated: Populated, prefix: str):
    attempts = [
        "../secret.txt",
        "extras/../../secret.txt",
        "%2e%2e/secret.txt",
        "%2E%2E%2Fsecret.txt",
        "extras/..%2F..%2Fsecret.txt",
        "..%5Csecret.txt",
        "/" + str(populated.home / "secret.txt").lstrip("/"),
        "%2F" + str(populated.home / "secret.txt").lstrip("/").replace("/", "%2F"),
        "extras/%00/../../secret.txt",
        "./extras/job.log",
    ]
    for attempt in attempts:
        status, body = _raw_get(server, prefix + attempt)
        assert status in (400, 404), (attempt, status)
        assert b"TOP SECRET" not in body
        assert b"Traceback" not in body


def test_every_page_context_field_has_help():
    from nbprod.server import charts
    from nbprod.server.views import common, diff, files, filters, job, jobs, run, search

    contexts = [
        obj
        for module in (common, charts, diff, files, filters, job, jobs, run, search)
        for obj in vars(module).values()
        if dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
    ]
    assert len(contexts) >= 15
    for context in contexts:
        for f in dataclasses.fields(context):
            assert f.metadata.get("help"), f"{context.__name__}.{f.name} has no help text"


def test_extension_loads_into_a_jupyter_server(populated: Populated, tmp_path: Path):
    """The same pages inside a full Jupyter server, behind its own token, enabled by the
    config file the wheel installs into etc/jupyter/jupyter_server_config.d."""
    import shutil
    import sys
    import time

    import requests

    from tests.conftest import _die_with_parent, free_port, wait_for_port

    config_d = Path(populated.env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.d"
    config_d.mkdir(parents=True, exist_ok=True)
    shipped = Path(__file__).resolve().parents[2] / "jupyter-config/server-config/nbprod.json"
    shutil.copy(shipped, config_d / "nbprod.json")
    port = free_port()
    exe = shutil.which("jupyter") or str(Path(sys.executable).with_name("jupyter"))
    proc = subprocess.Popen(
        [
            exe,
            "server",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--no-browser",
            "--allow-root",
            "--IdentityProvider.token=lab-token",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        env=populated.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    try:
        wait_for_port(port, 60)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            jobs = requests.get(
                f"{base}/nbprod/jobs.json", params={"token": "lab-token"}, timeout=30
            )
            if jobs.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert jobs.status_code == 200
        assert "sales_report" in {j["name"] for j in jobs.json()["jobs"]}
        assert requests.get(f"{base}/nbprod/jobs.json", timeout=30).status_code == 403
        status = requests.get(f"{base}/api/status", params={"token": "lab-token"}, timeout=30)
        assert status.status_code == 200  # a full Jupyter server, not the standalone app
    finally:
        proc.terminate()
        proc.wait(15)
