"""The browse pages updated by the event stream, in real headless Chromium against a real
``nbprod browse``: a running run's page shows the progress a worker indexes and turns final
without a reload (its status route blocked: only the stream can tell it), a job page's runs
table follows its runs, and the stream needs the token like every page."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.browse.conftest import BrowseServer, Populated, publish, synth_record
from tests.conftest import ARTIFACTS

expect = pytest.importorskip("playwright.sync_api").expect


def running_record(job: str, index: int, store_url: str, done: int) -> Any:
    from nbprod.records import Progress, RunStatus

    record = synth_record(job, index, store_url)
    record.status, record.finished_at, record.duration_s, record.error = (
        RunStatus.RUNNING,
        None,
        None,
        None,
    )
    record.progress = Progress(cells_total=10, cells_done=done)
    return record


def finish(record: Any) -> None:
    from nbprod.records import Progress, RunStatus

    record.status, record.duration_s = RunStatus.SUCCEEDED, 12.0
    record.finished_at = record.started_at
    record.progress = Progress(cells_total=10, cells_done=10)


def loads(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("load", lambda: seen.append(page.url))
    return seen


def test_the_stream_needs_the_token(server: BrowseServer):
    events = f"{server.base}/nbprod/api/events"
    assert requests.get(events, timeout=30).status_code == 403
    with requests.get(events, params={"token": server.token}, stream=True, timeout=30) as answer:
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/event-stream")


def test_a_run_page_is_pushed_progress_and_turns_final_without_reload(
    page: Any, server: BrowseServer, populated: Populated
):
    url = f"file://{populated.store}"
    record = running_record("pushed-job", 600, url, 3)
    publish(populated.home, url, [record])
    page.goto(f"{server.base}/nbprod/runs/{record.run_id}")
    live = page.locator("#live")
    expect(live).to_have_attribute("data-live", "push")
    assert page.locator("#live-text").inner_text() == "3/10 cells"
    # From now on only the stream can tell the page anything.
    page.route("**/status", lambda route: route.abort())
    reloaded = loads(page)

    record.progress.cells_done = 7  # the worker indexes its progress (catalog only)
    publish(populated.home, url, [record], to_store=False)
    expect(page.locator("#live-text")).to_have_text("7/10 cells", timeout=10000)
    assert page.locator("#live-progress").evaluate("p => p.value") == 7

    finish(record)
    publish(populated.home, url, [record])
    expect(page.locator("#run-status .badge")).to_have_text("succeeded", timeout=10000)
    expect(live).to_have_count(0)
    assert page.locator("dl.facts").inner_text().count("12") >= 1  # the final facts
    page.screenshot(path=str(ARTIFACTS / "browse-live-pushed.png"))
    assert reloaded == []  # the content was swapped, the page never reloaded


def test_a_job_page_follows_its_runs(page: Any, server: BrowseServer, populated: Populated):
    url = f"file://{populated.store}"
    first = running_record("followed-job", 700, url, 1)
    publish(populated.home, url, [first])
    page.goto(f"{server.base}/nbprod/jobs/followed-job")
    expect(page.locator("#live-runs")).to_have_attribute("data-live", "push")
    rows = page.locator("#live-runs tr.run-row")
    expect(rows).to_have_count(1)
    reloaded = loads(page)

    second = running_record("followed-job", 701, url, 0)  # a new run appears
    publish(populated.home, url, [second])
    expect(rows).to_have_count(2, timeout=10000)
    finish(first)
    publish(populated.home, url, [first])
    expect(page.locator(f'#live-runs tr.run-row:has(a:text("{first.run_id}"))')).to_have_attribute(
        "data-status", "succeeded", timeout=10000
    )
    assert re.search("running", page.locator("#live-runs").inner_text())
    assert reloaded == []
