"""User text is escaped everywhere, and notebook JavaScript never runs in the app's origin."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.browse.conftest import XSS_JOB, XSS_PARAM, BrowseServer, Populated
from tests.conftest import ARTIFACTS


def test_job_name_and_parameters_are_escaped_in_html(server: BrowseServer):
    for path in (
        "/nbprod/",
        f"/nbprod/jobs/{quote(XSS_JOB, safe='')}",
        "/nbprod/search?q=status:succeeded",
    ):
        html = server.get(path).text
        assert XSS_JOB not in html, path
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html, path
    job = server.get(f"/nbprod/jobs/{quote(XSS_JOB, safe='')}").text
    assert XSS_PARAM not in job and "&lt;img src=x onerror=" in job
    data = server.get(f"/nbprod/jobs/{quote(XSS_JOB, safe='')}.json").json()
    assert data["job"]["name"] == XSS_JOB  # JSON keeps the text as it is


def test_rendered_notebook_keeps_its_script_inside_the_sandbox(
    server: BrowseServer, populated: Populated
):
    key = f"xss_probe/{populated.runs['xss']}/xss_probe.ipynb"
    render = server.get(f"/nbprod/render/{key}")
    assert "window.top.__pwned" in render.text  # the output is rendered as the notebook made it
    assert "allow-same-origin" not in render.headers["Content-Security-Policy"]
    run_page = server.get(f"/nbprod/runs/{populated.runs['xss']}").text
    assert "window.top.__pwned" not in run_page  # only ever inside the frame


def test_nothing_executes_in_the_app_origin(page: Any, server: BrowseServer, populated: Populated):
    """In Chromium: the job with a <script> name, and the notebook whose output runs
    `window.__pwned = 1; window.top.__pwned = 1`. The top page's flag stays undefined."""
    page.goto(f"{server.base}/nbprod/")
    assert page.evaluate("window.__pwned") is None
    assert page.get_by_text(XSS_JOB).count() >= 1  # shown as text

    page.goto(f"{server.base}/nbprod/jobs/{quote(XSS_JOB, safe='')}")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0

    page.goto(f"{server.base}/nbprod/runs/{populated.runs['xss']}")
    frame_element = page.wait_for_selector("iframe.notebook")
    frame = frame_element.content_frame()
    frame.wait_for_selector("#nb-output")
    # The notebook's script ran, inside its opaque-origin frame only.
    assert frame.evaluate("window.__pwned") == 1
    assert frame.evaluate("document.title").startswith("blocked: ")
    assert frame.evaluate("window.origin") == "null"
    assert page.evaluate("window.__pwned") is None
    assert page.title().endswith("· nbprod")
    page.screenshot(path=str(ARTIFACTS / "browse-xss-run.png"))

    page.goto(f"{server.base}/nbprod/files/extras/page.html")
    stored = page.wait_for_selector("iframe.notebook").content_frame()
    stored.wait_for_selector("h1")
    assert stored.evaluate("window.origin") == "null"
    assert page.evaluate("window.__pwned") is None

    page.goto(f"{server.base}/nbprod/files/extras/notes.md")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("article.markdown strong").inner_text() == "bold"
