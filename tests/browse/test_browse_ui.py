"""The browse pages in real headless Chromium (Playwright, Debian's chromium), with
screenshots saved to test-artifacts/."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.browse.conftest import CHART_JOB, CHART_RUNS, BrowseServer, Populated, publish
from tests.conftest import ARTIFACTS

expect = pytest.importorskip("playwright.sync_api").expect


def test_jobs_list(page: Any, server: BrowseServer):
    page.goto(f"{server.base}/nbprod/")
    rows = page.locator("tr.job-row")
    names = rows.locator("a.job-name").all_inner_texts()
    assert {"sales_report", "failing_example", "daily-sales", CHART_JOB} <= set(names)
    daily = rows.filter(has_text="daily-sales")
    assert "0 7 * * *" in daily.inner_text() and "Europe/Berlin" in daily.inner_text()
    assert rows.filter(has_text="failing_example").locator(".badge").inner_text() == "failed"
    page.screenshot(path=str(ARTIFACTS / "browse-jobs.png"), full_page=True)
    page.locator("a.job-name", has_text="sales_report").click()
    page.wait_for_url("**/nbprod/jobs/sales_report")
    assert page.locator("tr.run-row").count() == 2


def test_job_page_with_chart_and_filters(page: Any, server: BrowseServer):
    page.goto(f"{server.base}/nbprod/jobs/{CHART_JOB}")
    chart = page.locator('figure.chart[data-chart="revenue"]')
    chart.wait_for()
    assert chart.locator("circle.pt").count() == CHART_RUNS
    box = chart.locator("svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100  # drawn, not collapsed
    points = chart.locator("polyline").get_attribute("points").split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys == sorted(ys, reverse=True)  # revenue grows run after run: the line rises
    assert page.locator('figure.chart[data-chart="duration (s)"] circle.pt').count() == CHART_RUNS
    page.screenshot(path=str(ARTIFACTS / "browse-job-chart.png"), full_page=True)

    page.locator("form.filters input[value=failed]").check()
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**status=failed**")
    statuses = page.locator("tr.run-row").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses and set(statuses) == {"failed"}
    chart.locator("a").first.click()
    page.wait_for_url("**/nbprod/runs/**")
    assert page.locator("#run-status .badge").inner_text() == "failed"


def test_failed_run_opens_at_the_failing_cell(
    page: Any, server: BrowseServer, populated: Populated
):
    page.goto(f"{server.base}/nbprod/runs/{populated.runs['failing']}")
    assert "ValueError" in page.locator(".error-box h2").inner_text()
    # Standalone `nbprod browse` has no JupyterLab: the command instead of the Debug button.
    assert page.locator("#debug-in-lab").count() == 0
    assert "nbprod runs debug" in page.locator("#debug-cli").inner_text()
    frame = page.wait_for_selector("iframe.notebook").content_frame()
    anchor = f"cell-id=nbprod-{populated.failing_cell}"
    target = frame.wait_for_selector(f'[id="{anchor}"]')
    frame.wait_for_function("document.readyState === 'complete'")
    assert frame.evaluate("location.hash") == f"#{anchor}"
    assert (
        frame.evaluate("document.querySelector(':target') && document.querySelector(':target').id")
        == anchor
    )
    assert "ValueError" in target.inner_text()  # the cell with the error output
    assert_scrolled_to(frame, anchor)  # opened at the failing cell, not at the top
    page.screenshot(path=str(ARTIFACTS / "browse-failed-run.png"))

    # The error summary's link jumps there again after scrolling the frame away.
    frame.evaluate("window.scrollTo(0, 0)")
    page.locator("#goto-failing-cell").click()
    time.sleep(0.5)
    frame = page.frame(name="notebook")
    assert frame.evaluate("window.scrollY") > 0
    assert_scrolled_to(frame, anchor)


def assert_scrolled_to(frame: Any, anchor: str) -> None:
    """The frame is scrolled so the cell is at the top (or as far as the page can scroll)."""
    got = frame.evaluate(
        """id => {
            const el = document.getElementById(id);
            const top = el.getBoundingClientRect().top + window.scrollY;
            const most = document.documentElement.scrollHeight - window.innerHeight;
            return {scrollY: window.scrollY, want: Math.min(top, most),
                    visible: el.getBoundingClientRect().top < window.innerHeight};
        }""",
        anchor,
    )
    assert got["visible"] and got["scrollY"] > 0
    assert abs(got["scrollY"] - got["want"]) <= 12, got


def test_diff_page(page: Any, server: BrowseServer, populated: Populated):
    page.goto(f"{server.base}/nbprod/runs/{populated.runs['sales_us']}")
    page.get_by_text("Compare with previous run").click()
    page.wait_for_url("**/nbprod/diff/**")
    rows = page.locator("table.changes tr")
    region = rows.filter(has_text="region")
    assert region.locator("td.del").inner_text() == "eu"
    assert region.locator("td.add").inner_text() == "us"
    assert page.locator(".cell-diff").count() >= 1
    assert page.locator("pre.diff .add").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "browse-diff.png"), full_page=True)


def test_running_run_updates_live(page: Any, server: BrowseServer, populated: Populated):
    from nbprod.records import Progress, RunStatus
    from tests.browse.conftest import synth_record

    url = f"file://{populated.store}"
    record = synth_record("live-job", 500, url)
    record.status, record.finished_at, record.duration_s, record.error = (
        RunStatus.RUNNING,
        None,
        None,
        None,
    )
    record.progress = Progress(cells_total=10, cells_done=3)
    publish(populated.home, url, [record])
    page.goto(f"{server.base}/nbprod/runs/{record.run_id}")
    assert page.locator("#live-text").inner_text() == "3/10 cells"
    assert page.locator("#run-status .badge").inner_text() == "running"

    record.progress = Progress(cells_total=10, cells_done=7)  # a worker writes the store
    publish(populated.home, url, [record], catalog=False)
    expect(page.locator("#live-text")).to_have_text(re.compile(r"^7/10 cells"), timeout=10000)
    assert page.locator("#live-progress").evaluate("p => p.value") == 7
    page.screenshot(path=str(ARTIFACTS / "browse-live.png"))

    record.status, record.duration_s = RunStatus.SUCCEEDED, 12.0
    record.progress = Progress(cells_total=10, cells_done=10)
    publish(populated.home, url, [record])
    # The page's own poll sees the terminal status and reloads (the page's CSP forbids
    # eval, so Playwright waits through locators here).
    expect(page.locator("#run-status .badge")).to_have_text("succeeded", timeout=15000)
    assert page.locator("#live").count() == 0
