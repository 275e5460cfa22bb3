"""Issue 15 end to end in a real `jupyter lab` driven by Debian's headless Chromium (one lab
session for the file): debug a failed run, drift and *Update job*, open an output without
touching the user's folder, backfill. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS
from tests.lab.conftest import TOKEN, LabServer
from tests.lab.test_lab_ui import lab_settings, run_row

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab-loop")
    lab_settings(base / "lab-settings")
    server = LabServer(base, app="lab").start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, lab: LabServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    tab = context.new_page()
    yield tab
    context.close()


def open_panel(page: Any, lab: LabServer) -> Any:
    page.goto(f"{lab.base}/lab?token={TOKEN}&reset")
    page.locator('li[data-id="nbprod-jobs-panel"]').click()
    panel = page.locator(".nbprod-jobs-panel")
    expect(panel).to_be_visible(timeout=60_000)
    return panel


def create_job(lab: LabServer, **form: Any) -> None:
    answer = lab.post("/nbprod/api/jobs", form)
    assert answer.status_code == 201, answer.text


def injected(nb: dict) -> str:
    (cell,) = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


def test_debug_opens_the_failed_runs_snapshot_at_the_failing_cell(page: Any, lab: LabServer):
    create_job(lab, name="quality", path="failing_example.ipynb")
    queued = lab.post("/nbprod/api/jobs/quality/runs", {"parameters": {"threshold": "0.75"}})
    run_id = queued.json()["run_id"]
    lab.wait_run(run_id, ("failed",))
    source = lab.root / "failing_example.ipynb"  # today's working copy differs
    source.write_text(source.read_text().replace("data quality check failed", "EDITED"))

    open_panel(page, lab)
    row = run_row(page, "quality")
    expect(row).to_have_attribute("data-status", "failed", timeout=30_000)
    row.locator(".nbprod-run-debug").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("side effects")
    page.screenshot(path=str(ARTIFACTS / "lab-debug-dialog.png"))
    dialog.locator(".nbprod-debug-rerun").click()

    debug = page.locator('.jp-NotebookPanel.nbprod-debug[data-nbprod-debug="ready"]')
    expect(debug).to_have_count(1, timeout=120_000)
    active = debug.locator(".jp-Cell.jp-mod-active")
    expect(active).to_have_class(re.compile(r"\bnbprod-failing-cell\b"))
    expect(active).to_contain_text("raise ValueError")
    expect(active).to_contain_text("data quality check failed")  # the snapshot's text
    cells = debug.locator(".jp-Cell")
    index = int(
        cells.evaluate_all("(cs) => cs.findIndex(c => c.classList.contains('jp-mod-active'))")
    )
    expect(cells.nth(index - 1).locator(".jp-InputPrompt")).to_contain_text(
        "[3]"
    )  # parameters, injected, then this one
    expect(active.locator(".jp-InputPrompt")).not_to_contain_text("[4]")  # not run
    page.screenshot(path=str(ARTIFACTS / "lab-debug-notebook.png"))

    written = lab.root / "nbprod-debug" / f"quality-{run_id}-debug.ipynb"
    nb = json.loads(written.read_text())
    output = lab.get(f"/nbprod/api/outputs/{run_id}/").json()["content"]
    assert injected(nb) == injected(output) and "threshold = 0.75" in injected(nb)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["nbprod_debug"]["failing_cell"] == index
    assert "EDITED" not in written.read_text()

    # The browse run page (served inside JupyterLab) opens the same in JupyterLab.
    page.goto(f"{lab.base}/nbprod/runs/{run_id}")
    page.locator("#debug-in-lab").click()
    page.wait_for_url(f"**/lab/tree/nbprod-debug/quality-{run_id}-debug-2.ipynb", timeout=60_000)
    debug = page.locator('.jp-NotebookPanel.nbprod-debug[data-nbprod-debug="ready"]')
    expect(debug.locator(".jp-Cell.jp-mod-active")).to_contain_text(
        "raise ValueError", timeout=60_000
    )
    assert (lab.root / "nbprod-debug" / f"quality-{run_id}-debug-2.ipynb").is_file()


def test_drift_banner_shows_the_change_until_update_job(page: Any, lab: LabServer):
    create_job(lab, name="drifty", path="trivial.ipynb", schedule="0 7 * * *")
    notebook = lab.root / "trivial.ipynb"
    notebook.write_text(notebook.read_text().replace("greeting * times", "greeting * times * 2"))

    panel = open_panel(page, lab)
    job = panel.locator('.nbprod-job[data-job="drifty"]')
    expect(job.locator(".nbprod-drifted")).to_be_visible(timeout=30_000)
    banner = job.locator(".nbprod-drift")
    expect(banner).to_contain_text("Notebook changed")
    banner.locator(".nbprod-drift-toggle").click()
    expect(banner.locator(".nbprod-drift-cells")).to_contain_text("+print(greeting * times * 2)")
    page.screenshot(path=str(ARTIFACTS / "lab-drift-banner.png"))

    job.locator(".nbprod-job-edit").click()  # the Schedule dialog says so too
    dialog = page.locator(".nbprod-dialog")
    expect(dialog.locator(".nbprod-drift")).to_contain_text("Notebook changed", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "lab-drift-dialog.png"))
    dialog.locator(".jp-mod-reject").first.click()
    expect(dialog).to_have_count(0)

    banner.locator(".nbprod-drift-update").click()
    expect(job.locator(".nbprod-drift")).to_have_count(0, timeout=30_000)
    expect(job.locator(".nbprod-drifted")).to_have_count(0)
    expect(job).to_contain_text("v2")
    assert lab.get("/nbprod/api/jobs/drifty/drift").json()["drifted"] is False


def tree(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}


def test_open_reads_the_output_from_the_store_and_leaves_the_folder_unchanged(
    page: Any, lab: LabServer
):
    queued = lab.post("/nbprod/api/runs", {"path": "sub/inner.ipynb", "name": "inner"})
    run_id = queued.json()["run_id"]
    lab.wait_run(run_id, ("succeeded",))
    panel = open_panel(page, lab)
    before = tree(lab.root)

    row = run_row(page, "inner")
    expect(row).to_have_attribute("data-status", "succeeded", timeout=30_000)
    row.locator(".nbprod-run-open").click()
    output = page.locator(".jp-NotebookPanel.nbprod-output")
    expect(output).to_have_count(1, timeout=30_000)
    expect(output.locator(".jp-Cell").first).to_be_visible()
    tab = page.locator(".lm-TabBar-tab.nbprod-readonly-tab")
    expect(tab).to_contain_text(f"inner run {run_id}.ipynb")
    expect(output.locator(".nbprod-schedule-button")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "lab-output-from-store.png"))
    assert panel.is_visible()
    assert tree(lab.root) == before  # no copy, no .ipynb_checkpoints, nothing touched


def test_backfill_of_three_days_makes_three_runs_with_their_scheduled_time(
    page: Any, lab: LabServer
):
    create_job(lab, name="filler", path="sub/inner.ipynb", schedule="0 7 * * *")
    today = datetime.now(timezone.utc).date()
    days = [today - timedelta(days=n) for n in (3, 2, 1)]

    panel = open_panel(page, lab)
    job = panel.locator('.nbprod-job[data-job="filler"]')
    job.locator(".nbprod-job-backfill").click()
    form = page.locator(".nbprod-backfill")
    form.locator('input[name="to"]').fill(days[-1].isoformat())
    form.locator('input[name="from"]').fill("2099-01-01")
    expect(form.locator('.nbprod-field-error[data-field="from"]')).to_be_visible()
    form.locator('input[name="from"]').fill(days[0].isoformat())
    expect(form.locator(".nbprod-backfill-count")).to_have_attribute("data-count", "3")
    expect(form.locator(".nbprod-backfill-count")).to_contain_text("3 runs")
    page.screenshot(path=str(ARTIFACTS / "lab-backfill.png"))
    form.locator(".nbprod-backfill-submit").click()
    expect(form).to_have_count(0)

    expected = sorted(datetime(d.year, d.month, d.day, 7, tzinfo=timezone.utc) for d in days)
    runs = lab.get("/nbprod/api/runs?job=filler").json()["runs"]
    assert len(runs) == 3
    for run in runs:
        lab.wait_run(run["run_id"], ("succeeded",))
    records = [lab.get(f"/nbprod/api/runs/{r['run_id']}").json() for r in runs]
    assert sorted(datetime.fromisoformat(r["scheduled_for"]) for r in records) == expected
    assert {r["trigger"] for r in records} == {"backfill"}
