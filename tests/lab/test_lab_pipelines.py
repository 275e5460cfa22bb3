"""End to end: a 2-step pipeline applied before `jupyter lab` starts shows in the Jobs
panel's Pipelines section; *Run now* runs it in the server's embedded scheduler (real
kernels) to succeeded, with both step chips succeeded. Debian's headless Chromium;
screenshots go to test-artifacts/."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ARTIFACTS, GLUE, write_notebook
from tests.lab.conftest import TOKEN, LabServer
from tests.lab.test_lab_ui import lab_settings

expect = pytest.importorskip("playwright.sync_api").expect

PIPELINE = """
name: lab-two-step
steps:
  - name: extract
    notebook: extract.ipynb
    parameters: {days: 4}
  - name: report
    notebook: report.ipynb
    needs: [extract]
    parameters_from: {rows: extract.row_count}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab-pipelines")
    lab_settings(base / "lab-settings")
    server = LabServer(base, app="lab")
    folder = server.root / "pipelines"
    write_notebook(
        folder / "extract.ipynb",
        f'{GLUE}\nglue("row_count", days * 10)',
        parameters="days: int = 1",
    )
    write_notebook(
        folder / "report.ipynb", f'{GLUE}\nglue("seen", rows)', parameters="rows: int = 0"
    )
    (folder / "two-step.yaml").write_text(PIPELINE)
    applied = subprocess.run(
        [sys.executable, "-m", "nbprod", "pipelines", "apply", str(folder / "two-step.yaml")],
        env=server.env,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stderr
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, lab: LabServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    tab = context.new_page()
    yield tab
    context.close()


def test_pipeline_run_now_reaches_succeeded_with_its_step_chips(page: Any, lab: LabServer):
    page.goto(f"{lab.base}/lab?token={TOKEN}&reset")
    page.locator('.lm-TabBar-tab[data-id="nbprod-jobs-panel"]').click(timeout=60_000)
    row = page.locator('.nbprod-pipeline[data-pipeline="lab-two-step"]')
    expect(row).to_be_visible(timeout=30_000)
    expect(row).to_have_attribute("data-status", "never run")
    chips = row.locator(".nbprod-pipeline-steps .nbprod-step-chip")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_have_attribute("data-state", "none")
    page.screenshot(path=str(ARTIFACTS / "lab-pipeline-listed.png"))

    row.locator(".nbprod-pipeline-run-now").click()
    expect(page.locator(".nbprod-message")).to_contain_text("started pipeline run")
    expect(row).to_have_attribute("data-status", "succeeded", timeout=180_000)
    step = row.locator(".nbprod-pipeline-steps .nbprod-step-chip")
    expect(step.nth(0)).to_have_attribute("data-step", "extract")
    expect(step.nth(0)).to_have_attribute("data-state", "succeeded")
    expect(step.nth(1)).to_have_attribute("data-step", "report")
    expect(step.nth(1)).to_have_attribute("data-state", "succeeded")

    colour = "el => getComputedStyle(el).backgroundColor"
    badge = row.locator(".nbprod-badge.nbprod-status-succeeded").first
    assert step.nth(1).evaluate(colour) == badge.evaluate(colour)  # drawn as succeeded

    (latest,) = lab.get("/nbprod/api/pipelines").json()["pipelines"]
    run_id = latest["latest_run"]["run_id"]
    record = lab.get(f"/nbprod/api/pipeline-runs/{run_id}").json()
    report = next(s for s in record["steps"] if s["name"] == "report")
    assert report["inputs"]["rows"] == {"from": "extract.row_count", "value": 40}

    row.locator(".nbprod-pipeline-expand").click()
    listed = row.locator(f'.nbprod-pipeline-run[data-run-id="{run_id}"]')
    expect(listed).to_have_attribute("data-status", "succeeded")
    expect(listed).to_contain_text("2/2 steps succeeded")
    expect(listed.locator(".nbprod-pipeline-run-cancel")).to_have_count(0)
    href = listed.locator(".nbprod-pipeline-run-browse").get_attribute("href")
    assert href.endswith(f"/nbprod/pipeline-runs/{run_id}")
    page.screenshot(path=str(ARTIFACTS / "lab-pipeline-succeeded.png"))
