"""The job page's charts and tables at 1280 px in real headless Chromium: every tick label
inside its chart, no horizontal overflow, human numbers (no ``e+``), every scrap a column.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browse.conftest import BrowseServer, Populated, publish, synth_record
from tests.conftest import ARTIFACTS

pytest.importorskip("playwright.sync_api")

WIDE_JOB = "wide-metrics"
ORDERS = (0, 479, 12, 230, 88, 301)
SCRAPS = ("revenue_eur", "orders", "delta", "conversion", "latency_ms", "rows", "label")


def _wide_records(store_url: str) -> list[Any]:
    """Runs whose values used to break the charts: six-digit revenue (``.333e+05`` cut
    off), counts from 0 (an axis from -23.95), values around zero, long errors and
    parameters, seven scraps."""
    from nbprod.records import ErrorInfo

    records = []
    for i in range(12):
        record = synth_record(WIDE_JOB, 200 + i, store_url)
        record.scraps = {
            "revenue_eur": {"encoder": "json", "inline": True, "value": 120000 + 2777.7 * i},
            "orders": {"encoder": "json", "inline": True, "value": ORDERS[i % 6]},
            "delta": {"encoder": "json", "inline": True, "value": -5 + i * 0.9},
            "conversion": {"encoder": "json", "inline": True, "value": 0.031 + i / 10000},
            "latency_ms": {"encoder": "json", "inline": True, "value": 1.5e7 + i * 1e5},
            "rows": {"encoder": "json", "inline": True, "value": 3_000_000_000 + i},
            "label": {"encoder": "text", "inline": True, "value": f"batch-{i}"},
        }
        record.parameters = {
            "region": "europe-west-" + "x" * 40,
            "columns": ["customer_id", "order_id", "amount", "currency", "created_at"],
        }
        if i % 4 == 1:
            record.error = ErrorInfo(
                "ValueError",
                "could not convert string to float: 'n/a' in column amount of "
                + "the_quarterly_orders_table_with_a_long_name " * 3,
                2,
            )
        records.append(record)
    return records


@pytest.fixture(scope="module")
def wide_job(populated: Populated) -> str:
    url = f"file://{populated.store}"
    publish(populated.home, url, _wide_records(url))
    return WIDE_JOB


LAYOUT_PROBE = """() => {
    const out = {scrollWidth: document.documentElement.scrollWidth, clipped: [], labels: []};
    for (const svg of document.querySelectorAll('figure.chart svg')) {
        const box = svg.getBoundingClientRect();
        for (const t of svg.querySelectorAll('text.tick')) {
            const r = t.getBoundingClientRect();
            out.labels.push(t.textContent);
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
                r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5 || r.left < 0)
                out.clipped.push(t.textContent);
        }
    }
    return out;
}"""


def assert_fits(page: Any) -> dict[str, Any]:
    got = page.evaluate(LAYOUT_PROBE)
    assert got["scrollWidth"] <= 1280, f"page is {got['scrollWidth']} px wide"
    assert not got["clipped"], f"labels cut off: {got['clipped']}"
    assert not [t for t in got["labels"] if "e+" in t or "e-" in t], got["labels"]
    return got


def test_job_page_fits_1280_with_readable_charts(page: Any, server: BrowseServer, wide_job):
    page.goto(f"{server.base}/nbprod/jobs/{wide_job}")
    page.locator('figure.chart[data-chart="revenue_eur"]').wait_for()
    page.screenshot(path=str(ARTIFACTS / "browse-layout-job.png"), full_page=True)
    got = assert_fits(page)
    assert got["labels"]

    def y_labels(name: str) -> list[str]:
        chart = page.locator(f'figure.chart[data-chart="{name}"]')
        return chart.locator("text.tick.y").all_text_contents()

    assert y_labels("revenue_eur") == ["120k", "130k", "140k", "150k", "160k"]
    orders = y_labels("orders")
    assert orders[0] == "0" and not any(t.startswith("-") for t in orders)  # from 0, not -23.95
    assert any(t.endswith("M") for t in y_labels("latency_ms"))
    assert any(t.endswith("G") for t in y_labels("rows"))
    assert any(t.startswith("-") for t in y_labels("delta"))  # negative data keeps its sign

    # The runs table fits too (not only the page): the error column keeps a readable width.
    wrap = page.locator("#live-runs .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the runs table overflows"
    error_cell = page.locator("table.runs td.error").filter(has_text="ValueError").first
    assert error_cell.bounding_box()["width"] >= 190
    headers = page.locator("table.runs thead th").all_inner_texts()
    assert [h for h in headers if h.lower() in SCRAPS] == [s.upper() for s in SCRAPS[:4]]
    assert "e+" not in page.locator("table.runs").inner_text()  # 15,000,000 and 3,000,000,000

    # The column picker shows every scrap; a wide table scrolls in its box, not the page.
    page.locator("details.columns summary").click()
    for name in SCRAPS:
        page.locator(f'details.columns input[value="{name}"]').check()
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**cols=1**")
    headers = page.locator("table.runs thead th").all_inner_texts()
    assert [h for h in headers if h.lower() in SCRAPS] == [s.upper() for s in SCRAPS]
    assert "batch-3" in page.locator("table.runs").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=str(ARTIFACTS / "browse-layout-job-all-columns.png"), full_page=True)
