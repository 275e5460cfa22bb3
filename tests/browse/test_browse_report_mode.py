"""Report mode in the browse UI: a report-mode run's notebook renders without its code, the
run page toggles code on and off (server-side, ``?code=``: the sandboxed frame is unchanged),
and any run's code can be hidden. Real runs, a real `nbprod browse` process, and Chromium
for the toggle."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browse.conftest import BrowseServer, _env
from tests.conftest import GLUE, nbprod_command, write_notebook

SOURCE = "source_marker_value"
OUTPUT = "OUTPUT-LINE-SHOWN"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BrowseServer, dict[str, str]]]:
    root = tmp_path_factory.mktemp("report-mode")
    env = _env(root / "home", str(root / "store"))
    nb = write_notebook(
        root / "nb" / "weekly.ipynb",
        f"{SOURCE} = days * 2\nprint('{OUTPUT}', {SOURCE})",
        GLUE + "glue('total', days)",
        parameters="days = 7",
    )
    ids = {}
    for name, extra in (("report", ["--report-mode"]), ("plain", [])):
        done = subprocess.run(
            [*nbprod_command(), "exec", str(nb), "-p", "days", "3", "--json", *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        ids[name] = re.search(r'"run_id": "([^"]+)"', done.stdout).group(1)
    server = BrowseServer(env).start()
    yield server, ids
    server.stop()


def _output_key(server: BrowseServer, run_id: str) -> str:
    return server.get(f"/nbprod/runs/{run_id}.json").json()["output_key"]


def _frame(server: BrowseServer, run_id: str, code: str | None = None) -> str:
    params = {"code": code} if code else {}
    key = _output_key(server, run_id)
    answer = server.get(
        f"/nbprod/render/{key}", params=params, headers={"Sec-Fetch-Dest": "iframe"}
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_report_mode_runs_notebook_renders_without_code_until_asked(runs):
    server, ids = runs
    hidden = _frame(server, ids["report"])
    assert OUTPUT in hidden
    assert SOURCE not in hidden and "# Parameters" not in hidden  # the injected cell's too
    shown = _frame(server, ids["report"], "shown")
    assert SOURCE in shown and OUTPUT in shown


def test_any_runs_code_can_be_hidden_and_a_bad_choice_is_a_400(runs):
    server, ids = runs
    assert SOURCE in _frame(server, ids["plain"])
    hidden = _frame(server, ids["plain"], "hidden")
    assert SOURCE not in hidden and OUTPUT in hidden
    key = _output_key(server, ids["plain"])
    for path in (f"/nbprod/render/{key}", f"/nbprod/runs/{ids['plain']}"):
        bad = server.get(path, params={"code": "sideways"}, headers={"Sec-Fetch-Dest": "iframe"})
        assert bad.status_code == 400, (path, bad.status_code)
        assert "code must be one of as-saved, shown, hidden, not &#39;sideways&#39;" in bad.text


def test_the_run_page_offers_the_toggle_that_fits_the_run(runs):
    server, ids = runs
    report = server.get(f"/nbprod/runs/{ids['report']}").text
    assert "report mode" in report
    assert re.search(r'id="code-toggle"><a href="\?code=shown"[^>]*>Show code</a>', report)
    frame_src = re.search(r'<iframe class="notebook"[^>]*src="([^"]+)"', report, re.S).group(1)
    assert frame_src.endswith(".ipynb")  # as saved: the report's own choice
    shown = server.get(f"/nbprod/runs/{ids['report']}", params={"code": "shown"}).text
    assert re.search(r'<iframe class="notebook"[^>]*src="[^"]+\?code=shown"', shown, re.S)
    assert ">Hide code</a>" in shown
    plain = server.get(f"/nbprod/runs/{ids['plain']}").text
    assert "report mode" not in plain and ">Hide code</a>" in plain
    assert server.get(f"/nbprod/runs/{ids['report']}.json").json()["code_hidden"] is True


def test_show_code_in_chromium(runs, browser: Any):
    server, ids = runs
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url)
        page.goto(f"{server.base}/nbprod/runs/{ids['report']}")
        frame = page.wait_for_selector("iframe.notebook").content_frame()
        frame.wait_for_selector(".jp-OutputArea", timeout=10000)
        assert OUTPUT in frame.inner_text("body") and SOURCE not in frame.inner_text("body")
        page.click("#code-toggle a")
        page.wait_for_url(re.compile(r"\?code=shown$"))
        frame = page.wait_for_selector("iframe.notebook").content_frame()
        frame.wait_for_selector(".jp-InputArea", timeout=10000)
        assert SOURCE in frame.inner_text("body")
        page.click("#code-toggle a")  # and back: Hide code
        page.wait_for_url(re.compile(r"\?code=hidden$"))
        frame = page.wait_for_selector("iframe.notebook").content_frame()
        frame.wait_for_selector(".jp-OutputArea", timeout=10000)
        assert SOURCE not in frame.inner_text("body")
    finally:
        context.close()
