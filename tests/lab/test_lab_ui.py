"""End to end: a real `jupyter lab` with the installed extension, driven in Debian's headless
Chromium. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS
from tests.lab.conftest import TOKEN, LabServer

expect = pytest.importorskip("playwright.sync_api").expect


def lab_settings(folder: Path) -> None:
    """A faster Jobs panel and no news prompt (user settings, as a person would set them)."""
    (folder / "nbprod").mkdir(parents=True, exist_ok=True)
    (folder / "nbprod" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"refreshSeconds": 0.5})
    )
    apputils = folder / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True, exist_ok=True)
    (apputils / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))


def user_templates(folder: Path) -> Path:
    """A template folder of the user's (NBPROD_TEMPLATES): one whose import is missing."""
    import nbformat

    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import nbprod_no_such_dist")]
    meta = {"name": "etl", "description": "Load a day", "requires": ["nbprod-no-such-dist"]}
    nb.metadata["nbprod"] = {"template": meta}
    nbformat.write(nb, folder / "etl.ipynb")
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab-ui")
    lab_settings(base / "lab-settings")
    templates = user_templates(base / "my-templates")
    server = LabServer(base, app="lab", extra_env={"NBPROD_TEMPLATES": str(templates)}).start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, lab: LabServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    tab = context.new_page()
    yield tab
    context.close()


def open_notebook(page: Any, lab: LabServer, name: str) -> None:
    page.goto(f"{lab.base}/lab/tree/{name}?token={TOKEN}&reset")
    page.locator(".nbprod-schedule-button").first.wait_for(timeout=60_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()


def open_dialog(page: Any) -> Any:
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .nbprod-schedule-button").click()
    form = page.locator(".nbprod-dialog .nbprod-form")
    form.locator(".nbprod-param, .nbprod-muted").first.wait_for()
    return form


def run_row(page: Any, job: str) -> Any:
    return page.locator(f'.nbprod-run[data-job="{job}"]').first


def test_schedule_button_run_now_reaches_succeeded_and_opens(page: Any, lab: LabServer):
    open_notebook(page, lab, "sales_report.ipynb")
    form = open_dialog(page)
    assert form.locator('input[name="name"]').input_value() == "sales_report"
    days = form.locator('.nbprod-param[data-param="days"]')
    assert "int" in days.inner_text() and "how many days" in days.inner_text()
    days.locator("input").fill("3")
    form.locator('input[name="report_mode"]').check()  # the output hides its code
    page.screenshot(path=str(ARTIFACTS / "lab-schedule-dialog.png"))
    form.locator(".nbprod-run-now").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0)

    panel = page.locator(".nbprod-jobs-panel")
    expect(panel).to_be_visible()
    row = run_row(page, "sales_report")
    expect(row).to_have_attribute("data-status", "running", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "lab-run-running.png"))
    expect(row).to_have_attribute("data-status", "succeeded", timeout=120_000)
    assert re.search(r"\b(\d+)/\1\b", row.inner_text())  # cells done/total
    page.screenshot(path=str(ARTIFACTS / "lab-run-succeeded.png"))

    run_id = row.get_attribute("data-run-id")
    record = lab.get(f"/nbprod/api/runs/{run_id}").json()
    assert record["parameters"]["days"] == 3 and record["report_mode"] is True

    row.locator(".nbprod-run-open").click()
    output = page.locator(".jp-NotebookPanel.nbprod-output")
    expect(output).to_have_count(1, timeout=30_000)
    # report mode: JupyterLab opens every code cell with its input collapsed
    expect(output.locator(".jp-CodeCell .jp-InputPlaceholder").first).to_be_visible()
    expect(output.locator(".jp-CodeCell .jp-InputArea:visible")).to_have_count(0)
    expect(page.locator(".lm-TabBar-tab.nbprod-readonly-tab")).to_have_count(1)
    assert not (lab.root / "nbprod-outputs").exists()  # read from the store, not copied
    page.screenshot(path=str(ARTIFACTS / "lab-output-opened.png"))

    href = row.locator(".nbprod-run-browse").get_attribute("href")
    assert href.endswith(f"/nbprod/runs/{run_id}")


def test_mistyped_parameter_shows_the_error_in_the_form(page: Any, lab: LabServer):
    open_notebook(page, lab, "trivial.ipynb")
    form = open_dialog(page)
    form.locator('.nbprod-param[data-param="times"] input').fill("seven")
    form.locator(".nbprod-run-now").click()
    error = form.locator('.nbprod-field-error[data-field="parameters.times"]')
    expect(error).to_contain_text("expects int")
    # The server checks again: an unknown timezone answers 400 naming the field.
    form.locator('.nbprod-param[data-param="times"] input').fill("2")
    form.locator('input[name="timezone"]').fill("Mars/Base")
    expect(form.locator('.nbprod-field-error[data-field="timezone"]')).to_contain_text(
        "unknown timezone"
    )
    form.locator(".nbprod-create").click()
    expect(form.locator('.nbprod-field-error[data-field="timezone"]')).to_contain_text(
        "unknown timezone"
    )
    page.screenshot(path=str(ARTIFACTS / "lab-parameter-error.png"))
    assert lab.get("/nbprod/api/jobs").json()["jobs"] == []


def test_create_schedule_lists_it_with_its_next_run(page: Any, lab: LabServer):
    open_notebook(page, lab, "trivial.ipynb")
    # Unsaved edits are saved before scheduling (the dialog acts on the active notebook).
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new empty cell below: the notebook is dirty
    form = open_dialog(page)
    form.locator('input[name="name"]').fill("lab-weekday")
    form.locator('select[name="preset"]').select_option("0 7 * * 1-5")
    form.locator('input[name="timezone"]').fill("Europe/Berlin")
    expect(form.locator(".nbprod-cron-description")).to_have_text(
        "At 07:00, on Monday through Friday"
    )
    expect(form.locator(".nbprod-next-runs li")).to_have_count(3)
    assert "07:00" in form.locator(".nbprod-next-runs li").first.inner_text()
    form.locator('input[name="retries"]').fill("1")
    form.locator(".nbprod-create").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0)

    job = page.locator('.nbprod-job[data-job="lab-weekday"]')
    expect(job).to_be_visible(timeout=20_000)
    expect(job.locator(".nbprod-next-run-time")).to_contain_text("07:00")
    assert "0 7 * * 1-5 (Europe/Berlin)" in job.inner_text()
    page.screenshot(path=str(ARTIFACTS / "lab-schedule-created.png"))
    saved = json.loads((lab.root / "trivial.ipynb").read_text())
    assert len(saved["cells"]) == 3  # the new cell was saved before the job pinned it

    job.locator(".nbprod-job-pause").click()
    expect(job).to_have_attribute("data-paused", "true")
    job.locator(".nbprod-job-pause").click()
    expect(job).to_have_attribute("data-paused", "false")

    job.locator(".nbprod-job-edit").click()
    form = page.locator(".nbprod-dialog .nbprod-form")
    expect(form.locator('input[name="retries"]')).to_have_value("1")
    form.locator('input[name="retries"]').fill("4")
    form.locator(".nbprod-create").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0)
    expect(job).to_contain_text("v2")
    definition = lab.get("/nbprod/api/jobs/lab-weekday").json()["definition"]
    assert definition["retries"] == 4 and definition["timezone"] == "Europe/Berlin"

    job.locator(".nbprod-job-delete").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    expect(job).to_have_count(0)


def test_failed_run_jumps_to_the_failing_cell(page: Any, lab: LabServer):
    open_notebook(page, lab, "failing_example.ipynb")
    form = open_dialog(page)
    form.locator(".nbprod-run-now").click()
    row = run_row(page, "failing_example")
    expect(row).to_have_attribute("data-status", "failed", timeout=120_000)
    # its 4th cell raises: named as exec, runs show and the browse page name it
    expect(row.locator(".nbprod-run-error")).to_have_text(
        re.compile(r"^ValueError: .* \(cell 4\)$")
    )
    row.locator(".nbprod-run-failing-cell").click()
    failing = page.locator(".nbprod-output .jp-Cell.nbprod-failing-cell")
    expect(failing).to_have_count(1, timeout=30_000)
    expect(failing).to_contain_text("ValueError")
    page.screenshot(path=str(ARTIFACTS / "lab-failing-cell.png"))
    # The browse link opens the run's page at the failing cell (the anchor /info sends).
    cell = lab.get(f"/nbprod/api/runs/{row.get_attribute('data-run-id')}").json()["error"]
    href = row.locator(".nbprod-run-browse").get_attribute("href")
    assert href.endswith(f"#cell-id=nbprod-{cell['cell_index']}"), href


def test_a_running_run_can_be_cancelled_from_the_panel(page: Any, lab: LabServer):
    """Cancel shows while the run's status is one of the server's active statuses."""
    open_notebook(page, lab, "slow.ipynb")
    form = open_dialog(page)
    form.locator(".nbprod-run-now").click()
    row = run_row(page, "slow")
    expect(row).to_have_attribute("data-status", "running", timeout=60_000)
    assert row.locator(".nbprod-run-open").count() == 0
    row.locator(".nbprod-run-cancel").click()
    expect(row).to_have_attribute("data-status", "cancelled", timeout=60_000)
    expect(row.locator(".nbprod-run-cancel")).to_have_count(0)


def test_new_notebook_from_template_in_the_launcher_and_the_file_menu(page: Any, lab: LabServer):
    """The launcher's card writes the chosen template into the file browser's folder and
    opens it; the File > New entry lists the user's templates too, with what they need."""
    page.goto(f"{lab.base}/lab/tree/sub?token={TOKEN}&reset")
    crumbs = page.locator(".jp-FileBrowser .jp-BreadCrumbs")
    expect(crumbs).to_contain_text("sub", timeout=60_000)
    page.locator('.jp-FileBrowser [data-command="launcher:create"]').click()
    launcher = page.locator(".jp-Launcher:not(.lm-mod-hidden)").last
    launcher.locator(".jp-LauncherCard", has_text="From Template").click()
    dialog = page.locator(".jp-Dialog")
    report = dialog.locator('.nbprod-template[data-template="report"]')
    expect(report).to_contain_text("ready (pandas, matplotlib)")
    expect(report).to_contain_text("per segment")
    etl = dialog.locator('.nbprod-template[data-template="etl"]')
    expect(etl).to_contain_text("needs nbprod-no-such-dist: pip install nbprod-no-such-dist")
    page.screenshot(path=str(ARTIFACTS / "lab-new-from-template.png"))
    report.click()
    dialog.locator(".jp-mod-accept").click()
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")).to_be_visible(timeout=60_000)
    current = page.locator('.lm-TabBar-tab.jp-mod-current[data-type="document-title"]')
    expect(current).to_contain_text("report.ipynb")
    created = json.loads((lab.root / "sub" / "report.ipynb").read_text())
    assert created["metadata"]["nbprod"]["created_from_template"] == "report"

    page.locator(".lm-MenuBar-item", has_text="File").click()
    page.locator(".lm-Menu-item", has_text="New").first.hover()
    page.locator(".lm-Menu-item", has_text="Notebook from Template").click()
    dialog.locator('.nbprod-template[data-template="etl"]').click()
    dialog.locator(".jp-mod-accept").click()
    expect(page.locator(".jp-toast-container, .Toastify")).to_contain_text(
        "not installed here", timeout=30_000
    )
    assert (lab.root / "sub" / "etl.ipynb").is_file()
    # BrowseApp no longer hides ExtensionApp's open_browser trait (it warned twice per start).
    assert "not recognized by `BrowseApp`" not in lab.log.read_text()
