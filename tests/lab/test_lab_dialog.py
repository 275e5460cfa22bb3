"""The Schedule dialog edits everything a job has, and sweeps (issue 15): a real `jupyter
lab` (one per file) in Debian's headless Chromium. What the dialog did is checked through
the core's own views: `nbprod jobs show --json` and `nbprod sweeps show --json` on the
lab's store. Screenshots go to test-artifacts/ (docs/images/ holds copies for the docs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS, nbprod_command, write_notebook
from tests.lab.conftest import LabServer
from tests.lab.test_lab_ui import lab_settings, open_dialog, open_notebook

expect = pytest.importorskip("playwright.sync_api").expect

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab-dialog")
    lab_settings(base / "lab-settings")
    server = LabServer(base, app="lab")
    # The built-in template whose `max_depth: int | None = None` the issue names.
    shutil.copy(TEMPLATES / "train_model.ipynb", server.root / "train_model.ipynb")
    write_notebook(
        server.root / "grid.ipynb",
        "print(greeting * times)",
        parameters='greeting: str = "hi"\ntimes: int = 1\nlimit: int | None = None',
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, lab: LabServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1500})
    tab = context.new_page()
    yield tab
    context.close()


def core_json(lab: LabServer, *args: str) -> Any:
    """`nbprod ... --json` on the lab's home and store: the core's view, not the API's."""
    done = subprocess.run(
        [*nbprod_command(), *args, "--json"],
        env=lab.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def param_input(form: Any, name: str) -> Any:
    return form.locator(f'.nbprod-param[data-param="{name}"] input')


def test_optional_parameter_and_the_yaml_only_fields_round_trip(page: Any, lab: LabServer):
    open_notebook(page, lab, "train_model.ipynb")
    form = open_dialog(page)
    depth = form.locator('.nbprod-param[data-param="max_depth"]')
    expect(depth.locator(".nbprod-type")).to_have_text("int?")  # as `nbprod params` says
    expect(form.locator('.nbprod-param[data-param="seed"] .nbprod-type')).to_have_text("int")
    param_input(form, "max_depth").fill("4")
    param_input(form, "max_depth").fill("")  # typed, then left empty: None, not ''
    form.locator('input[name="name"]').fill("train-nightly")
    form.locator('input[name="concurrency"]').fill("3")
    form.locator('select[name="overlap"]').select_option("queue")
    form.locator('select[name="catchup"]').select_option("none")
    form.locator('input[name="tags"]').fill("nightly, ml")
    form.locator('textarea[name="description"]').fill("retrain the model every night")
    page.locator(".nbprod-dialog-content").screenshot(path=str(ARTIFACTS / "lab-dialog-create.png"))
    form.locator(".nbprod-create").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0, timeout=30_000)

    job = core_json(lab, "jobs", "show", "train-nightly")
    d = job["definition"]
    assert (d["concurrency"], d["overlap"], d["catchup"]) == (3, "queue", "none")
    assert d["tags"] == ["ml", "nightly"] and d["description"] == "retrain the model every night"
    assert d["parameters"].get("max_depth") is None

    # Edit: the dialog starts from the job's values; max_depth set, then cleared again.
    row = page.locator('.nbprod-job[data-job="train-nightly"]')
    expect(row).to_be_visible(timeout=20_000)
    row.locator(".nbprod-job-edit").click()
    form = page.locator(".nbprod-dialog .nbprod-form")
    expect(form.locator('input[name="concurrency"]')).to_have_value("3")
    expect(form.locator('select[name="overlap"]')).to_have_value("queue")
    expect(form.locator('select[name="catchup"]')).to_have_value("none")
    expect(form.locator('input[name="tags"]')).to_have_value("ml, nightly")
    param_input(form, "max_depth").fill("6")
    form.locator('input[name="tags"]').fill("ml")
    form.locator(".nbprod-create").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0, timeout=30_000)
    d = core_json(lab, "jobs", "show", "train-nightly")["definition"]
    assert d["parameters"]["max_depth"] == 6 and d["tags"] == ["ml"]
    assert (d["concurrency"], d["overlap"], d["catchup"]) == (3, "queue", "none")

    row.locator(".nbprod-job-edit").click()
    form = page.locator(".nbprod-dialog .nbprod-form")
    expect(param_input(form, "max_depth")).to_have_value("6")
    param_input(form, "max_depth").fill("")  # the job sets it: submitted as None
    form.locator(".nbprod-create").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0, timeout=30_000)
    shown = core_json(lab, "jobs", "show", "train-nightly")
    assert shown["version"] == 3
    assert "max_depth" in shown["definition"]["parameters"]
    assert shown["definition"]["parameters"]["max_depth"] is None


def test_a_cron_error_stays_while_another_field_is_invalid(page: Any, lab: LabServer):
    open_notebook(page, lab, "trivial.ipynb")
    form = open_dialog(page)
    cron = form.locator('.nbprod-field-error[data-field="schedule"]')
    times = form.locator('.nbprod-field-error[data-field="parameters.times"]')
    form.locator('input[name="schedule"]').fill("61 * * * *")
    expect(cron).to_be_visible()
    param_input(form, "times").fill("seven")
    expect(times).to_contain_text("expects int")
    form.locator(".nbprod-create").click()  # refused in the form: both stay
    expect(times).to_contain_text("expects int")
    expect(cron).to_be_visible()
    form.locator('input[name="concurrency"]').fill("0")
    form.locator('input[name="schedule"]').fill("61 * * * *  ")  # still bad
    param_input(form, "times").fill("3")
    expect(times).to_have_count(0)
    expect(cron).to_be_visible()
    page.locator(".nbprod-dialog-content").screenshot(path=str(ARTIFACTS / "lab-dialog-errors.png"))
    # The server's 400 names concurrency; the cron error, fixed meanwhile, is gone by then.
    form.locator('input[name="schedule"]').fill("0 6 * * *")
    expect(cron).to_have_count(0)
    form.locator(".nbprod-create").click()
    concurrency = form.locator('.nbprod-field-error[data-field="concurrency"]')
    expect(concurrency).to_contain_text("from 1 to 10000")
    form.locator('input[name="timezone"]').fill("Mars/Base")
    expect(form.locator('.nbprod-field-error[data-field="timezone"]')).to_be_visible()
    expect(concurrency).to_contain_text("from 1 to 10000")  # another field's error: kept
    assert lab.get("/nbprod/api/jobs/trivial").status_code == 404  # nothing stored


def test_a_two_by_two_sweep_from_the_dialog_makes_four_runs_of_one_sweep(page: Any, lab: LabServer):
    open_notebook(page, lab, "grid.ipynb")
    form = open_dialog(page)
    form.locator('.nbprod-mode input[value="sweep"]').check()
    times = form.locator('.nbprod-param[data-param="times"]')
    greeting = form.locator('.nbprod-param[data-param="greeting"]')
    count = form.locator(".nbprod-sweep-count")
    expect(count).to_have_attribute("data-count", "1")
    times.locator(".nbprod-sweep-add").click()
    times.locator('input[name="sweep-times-1"]').fill("two")
    expect(form.locator('.nbprod-field-error[data-field="parameters.times"]')).to_contain_text(
        "value 2 of 2: parameter 'times' expects int"
    )
    times.locator('input[name="sweep-times-1"]').fill("2")
    greeting.locator(".nbprod-sweep-add").click()
    greeting.locator('input[name="sweep-greeting-1"]').fill("ho")
    expect(count).to_have_text("4 runs (2 × 2)")
    expect(form.locator(".nbprod-start-sweep")).to_have_text("Start sweep (4 runs)")
    expect(form.locator('.nbprod-param[data-param="limit"] .nbprod-type')).to_have_text("int?")
    expect(form.locator('input[name="schedule"]')).to_have_count(0)  # a sweep is one-off
    page.locator(".nbprod-dialog-content").screenshot(path=str(ARTIFACTS / "lab-dialog-sweep.png"))
    form.locator(".nbprod-start-sweep").click()

    done = page.locator(".nbprod-sweep-done")
    expect(done).to_be_visible(timeout=30_000)
    sweep_id = done.get_attribute("data-sweep-id")
    expect(done.locator(".nbprod-sweep-id")).to_have_text(sweep_id)
    href = done.locator(".nbprod-sweep-link").get_attribute("href")
    assert href.endswith(f"/nbprod/sweeps/{sweep_id}"), href
    page.locator(".nbprod-dialog-content").screenshot(
        path=str(ARTIFACTS / "lab-dialog-sweep-queued.png")
    )

    deadline = time.monotonic() + 240
    table = core_json(lab, "sweeps", "show", sweep_id)
    while time.monotonic() < deadline and table["counts"].get("succeeded", 0) < 4:
        time.sleep(1)
        table = core_json(lab, "sweeps", "show", sweep_id)
    assert table["counts"] == {"succeeded": 4}, table["counts"]
    assert table["parameters"] == ["greeting", "times"]
    assert sorted(
        (r["parameters"]["greeting"], r["parameters"]["times"]) for r in table["rows"]
    ) == [
        ("hi", 1),
        ("hi", 2),
        ("ho", 1),
        ("ho", 2),
    ]
    runs = [lab.get(f"/nbprod/api/runs/{r['run_id']}").json() for r in table["rows"]]
    assert {run["trigger"] for run in runs} == {"sweep"}
    done.locator(".nbprod-show-runs").click()
    expect(page.locator(".nbprod-dialog")).to_have_count(0)
