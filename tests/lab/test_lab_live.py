"""The Jobs panel's live updates in a real `jupyter lab` and headless Chromium: a run's status
is pushed to the panel by the event stream (with polling all but off), and the panel polls
instead, saying nothing alarming, when the stream is refused or off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS, write_notebook
from tests.lab.conftest import TOKEN, LabServer

expect = pytest.importorskip("playwright.sync_api").expect


def panel_settings(folder: Path, refresh_seconds: float) -> None:
    (folder / "nbprod").mkdir(parents=True, exist_ok=True)
    (folder / "nbprod" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"refreshSeconds": refresh_seconds})
    )
    apputils = folder / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True, exist_ok=True)
    (apputils / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))


@pytest.fixture(scope="module")
def slow_polling_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """The panel would poll every 10 minutes: whatever arrives sooner was pushed."""
    base = tmp_path_factory.mktemp("lab-live")
    panel_settings(base / "lab-settings", 600)
    server = LabServer(base, app="lab").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stream_off_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab-live-off")
    panel_settings(base / "lab-settings", 0.5)
    server = LabServer(base, app="lab", extra_env={"NBPROD_LIVE_EVENTS": "off"}).start()
    yield server
    server.stop()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    yield context
    context.close()


def open_notebook(page: Any, lab: LabServer, name: str) -> None:
    page.goto(f"{lab.base}/lab/tree/{name}?token={TOKEN}&reset")
    page.locator(".nbprod-schedule-button").first.wait_for(timeout=60_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()


def run_now(page: Any, job: str) -> Any:
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .nbprod-schedule-button").click()
    form = page.locator(".nbprod-dialog .nbprod-form")
    form.locator(".nbprod-param, .nbprod-muted").first.wait_for()
    form.locator('input[name="name"]').fill(job)
    form.locator(".nbprod-run-now").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0)
    return page.locator(f'.nbprod-run[data-job="{job}"]').first


def test_a_run_status_reaches_the_panel_by_push(context: Any, slow_polling_lab: LabServer):
    page = context.new_page()
    streams, listings = [], []
    page.on("request", lambda r: streams.append(r) if "/nbprod/api/events" in r.url else None)
    page.on(
        "request",
        lambda r: listings.append(r.url) if "/nbprod/api/runs?" in r.url else None,
    )
    # Running for seconds, so the panel can be seen showing it running: a trivial run could
    # be queued, run and kept between two looks of a loaded machine's watcher.
    write_notebook(slow_polling_lab.root / "pushed.ipynb", "import time", "time.sleep(6)")
    open_notebook(page, slow_polling_lab, "pushed.ipynb")
    panel = page.locator(".nbprod-jobs-panel")
    expect(panel).to_have_attribute("data-live", "push", timeout=30_000)
    assert streams and streams[0].resource_type == "eventsource", streams
    assert streams[0].method == "GET"

    row = run_now(page, "pushed")
    expect(row).to_have_attribute("data-status", "running", timeout=60_000)
    expect(row).to_have_attribute("data-status", "succeeded", timeout=120_000)
    expect(row).to_contain_text("2/2")
    expect(page.locator(".nbprod-general-error")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "lab-live-pushed.png"))
    # The panel reloaded its listing because changes were pushed (polling is 10 minutes).
    assert len(listings) >= 3, listings


def test_the_panel_polls_when_the_stream_route_fails(context: Any, slow_polling_lab: LabServer):
    page = context.new_page()
    page.route("**/nbprod/api/events*", lambda route: route.fulfill(status=500, body="broken"))
    open_notebook(page, slow_polling_lab, "trivial.ipynb")
    panel = page.locator(".nbprod-jobs-panel")
    expect(panel).to_have_attribute("data-live", "poll", timeout=30_000)
    expect(page.locator(".nbprod-general-error")).to_have_count(0)


def test_the_panel_polls_when_live_events_are_off(context: Any, stream_off_lab: LabServer):
    assert stream_off_lab.get("/nbprod/api/events").status_code == 503
    page = context.new_page()
    open_notebook(page, stream_off_lab, "trivial.ipynb")
    panel = page.locator(".nbprod-jobs-panel")
    expect(panel).to_have_attribute("data-live", "poll", timeout=30_000)
    row = run_now(page, "polled")
    expect(row).to_have_attribute("data-status", "succeeded", timeout=120_000)
    expect(page.locator(".nbprod-general-error")).to_have_count(0)
    expect(panel).not_to_contain_text("stream")
