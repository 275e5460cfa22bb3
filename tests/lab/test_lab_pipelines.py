"""End to end: a 2-step pipeline applied before `jupyter lab` starts shows in the Jobs
panel's Pipelines section; *Run now* runs it in the server's embedded scheduler (real
kernels) to succeeded, with both step chips succeeded. Debian's headless Chromium;
screenshots go to test-artifacts/."""

from __future__ import annotations

import subprocess
import sys
import time
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


SLOW_PIPELINE = """
name: lab-slow
steps:
  - name: wait
    notebook: ../slow.ipynb
    parameters: {seconds: 120}
  - name: after
    notebook: report.ipynb
    needs: [wait]
"""


def with_pipelines(server: LabServer) -> LabServer:
    """``lab-two-step`` (extract's row_count → report's rows) and ``lab-slow`` (a
    two-minute step, then one more), applied in the server's store before it starts."""
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
    (folder / "slow.yaml").write_text(SLOW_PIPELINE)
    for name in ("two-step.yaml", "slow.yaml"):
        applied = subprocess.run(
            [sys.executable, "-m", "nbprod", "pipelines", "apply", str(folder / name)],
            env=server.env,
            capture_output=True,
            text=True,
        )
        assert applied.returncode == 0, applied.stderr
    return server


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab-pipelines")
    lab_settings(base / "lab-settings")
    server = with_pipelines(LabServer(base, app="lab")).start()
    yield server
    server.stop()


def wait_pipeline_run(server: LabServer, run_id: str, status: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        answer = server.get(f"/nbprod/api/pipeline-runs/{run_id}")
        assert answer.status_code == 200, answer.text
        last = answer.json()
        if last["status"] == status:
            return last
        time.sleep(0.3)
    raise AssertionError(f"pipeline run {run_id} never reached {status}: {last}")


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

    listed = lab.get("/nbprod/api/pipelines").json()["pipelines"]
    run_id = next(p for p in listed if p["name"] == "lab-two-step")["latest_run"]["run_id"]
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


def test_pipeline_cancel_from_the_panel_skips_the_rest(page: Any, lab: LabServer):
    page.goto(f"{lab.base}/lab?token={TOKEN}&reset")
    page.locator('.lm-TabBar-tab[data-id="nbprod-jobs-panel"]').click(timeout=60_000)
    row = page.locator('.nbprod-pipeline[data-pipeline="lab-slow"]')
    row.locator(".nbprod-pipeline-run-now").click()
    expect(row).to_have_attribute("data-status", "running", timeout=60_000)
    chips = row.locator(".nbprod-pipeline-steps .nbprod-step-chip")
    expect(chips.nth(0)).to_have_attribute("data-state", "running")
    expect(chips.nth(1)).to_have_attribute("data-state", "pending")
    page.screenshot(path=str(ARTIFACTS / "lab-pipeline-running.png"))

    row.locator(".nbprod-pipeline-cancel").click()
    expect(row).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(chips.nth(0)).to_have_attribute("data-state", "failed")
    expect(chips.nth(1)).to_have_attribute("data-state", "skipped")
    expect(row.locator(".nbprod-pipeline-cancel")).to_have_count(0)
    listed = lab.get("/nbprod/api/pipelines").json()["pipelines"]
    run_id = next(p for p in listed if p["name"] == "lab-slow")["latest_run"]["run_id"]
    record = lab.get(f"/nbprod/api/pipeline-runs/{run_id}").json()
    wait = next(s for s in record["steps"] if s["name"] == "wait")
    assert wait["run_status"] == "cancelled"
    page.screenshot(path=str(ARTIFACTS / "lab-pipeline-cancelled.png"))


def test_without_a_scheduler_the_server_drains_the_pipeline_run(
    tmp_path_factory: pytest.TempPathFactory,
):
    """Embedded scheduler off, no `nbprod scheduler`: POST .../runs still runs every step
    (each next one queued only when the one it needs ended)."""
    base = tmp_path_factory.mktemp("lab-pipelines-no-scheduler")
    extra = {"NBPROD_EMBEDDED_SCHEDULER": "off"}
    server = with_pipelines(LabServer(base, extra_env=extra)).start()
    try:
        answer = server.post(
            "/nbprod/api/pipelines/lab-two-step/runs", {"parameters": {"extract.days": "5"}}
        )
        assert answer.status_code == 202, answer.text
        started = answer.json()
        assert started["step_states"] == {"extract": "queued", "report": "pending"}
        done = wait_pipeline_run(server, started["run_id"], "succeeded")
        assert done["step_states"] == {"extract": "succeeded", "report": "succeeded"}
        report = next(s for s in done["steps"] if s["name"] == "report")
        assert report["inputs"]["rows"]["value"] == 50
    finally:
        server.stop()
