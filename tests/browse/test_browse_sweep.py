"""The sweep pages against a real 2x2 sweep (``nbprod sweep``, real kernels): the listing
linked from the nav, the results table (4 rows, sortable), the chart of a chosen scrap
against a chosen parameter, the run page's link to its sweep; in real headless Chromium,
with screenshots in test-artifacts/."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.browse.conftest import BrowseServer, Populated
from tests.browse.test_browse_layout import assert_fits
from tests.conftest import ARTIFACTS, EXAMPLES, nbprod_command

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def sweep(populated: Populated, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 2x2 sweep of the train_model example, executed: its table as `sweeps show --json`."""
    cwd = tmp_path_factory.mktemp("sweep")
    notebook = EXAMPLES / "train_model.ipynb"
    axes = ["-p", "model", "logreg,forest", "-p", "max_iter", "50,200"]
    done = subprocess.run(
        [*nbprod_command(), "sweep", str(notebook), *axes, "-q"],
        env=populated.env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sweep_id = done.stdout.strip().splitlines()[0]
    shown = subprocess.run(
        [*nbprod_command(), "sweeps", "show", sweep_id, "--json"],
        env=populated.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_sweep_json_is_the_cli_table_and_bad_input_is_400(server: BrowseServer, sweep):
    sweep_id = sweep["sweep"]["sweep_id"]
    data = server.get(f"/nbprod/sweeps/{sweep_id}.json").json()
    assert [r["run_id"] for r in data["rows"]] == [r["run_id"] for r in sweep["rows"]]
    assert data["parameters"] == ["model", "max_iter"]
    assert {"accuracy", "f1"} <= set(data["scraps"])
    assert data["counts"] == {"succeeded": 4}
    listing = server.get("/nbprod/sweeps.json").json()
    assert sweep_id in [s["sweep_id"] for s in listing["sweeps"]]

    bad = server.get(f"/nbprod/sweeps/{sweep_id}.json", params={"sort": "nope"})
    assert bad.status_code == 400 and "nope" in bad.json()["message"]
    bad = server.get(f"/nbprod/sweeps/{sweep_id}.json", params={"x": "accuracy"})
    assert bad.status_code == 400 and bad.json()["field"] == "x"
    assert server.get("/nbprod/sweeps/20200101T000000000Z-00000000.json").status_code == 404
    assert server.get(f"/nbprod/sweeps/{sweep_id}.json", auth=False).status_code == 403


def test_sweep_page_table_sorting_chart_and_links(page: Any, server: BrowseServer, sweep):
    sweep_id = sweep["sweep"]["sweep_id"]
    accuracy = {r["run_id"]: r["scraps"]["accuracy"] for r in sweep["rows"]}

    page.goto(f"{server.base}/nbprod/")
    page.locator("header nav a", has_text="Sweeps").click()
    page.wait_for_url("**/nbprod/sweeps")
    page.locator(f'a.sweep-id:text("{sweep_id}")').click()
    page.wait_for_url(f"**/nbprod/sweeps/{sweep_id}")

    rows = page.locator("tr.sweep-run")
    expect(rows).to_have_count(4)
    shown = rows.locator("td.run a").all_inner_texts()
    assert shown == [r["run_id"] for r in sweep["rows"]]  # grid order
    assert rows.locator('td[data-param="model"]').all_inner_texts() == [
        "logreg",
        "logreg",
        "forest",
        "forest",
    ]
    headers = page.locator("table.sweep-results th").all_inner_texts()
    assert [h.lower() for h in headers[:5]] == ["run", "model", "max_iter", "status", "duration"]
    assert {"ACCURACY", "F1", "N_TRAIN"} <= {h.upper() for h in headers}

    chart = page.locator("figure.scatter")
    assert chart.get_attribute("data-chart") == "accuracy"
    assert chart.locator("circle.pt").count() == 4
    assert chart.locator("text.tick.x").all_text_contents() == ["logreg", "forest"]
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / "browse-sweep.png"), full_page=True)

    def column(name: str) -> list[float]:
        cells = rows.locator(f'td[data-scrap="{name}"]').all_inner_texts()
        return [float(c.replace(",", "")) for c in cells]

    page.locator('a.sort[data-key="scrap.accuracy"]').click()
    page.wait_for_url("**sort=scrap.accuracy**")
    assert column("accuracy") == sorted(column("accuracy"))
    by_accuracy = sorted(accuracy, key=accuracy.__getitem__)  # stable: ties in grid order
    assert rows.locator("td.run a").all_inner_texts() == by_accuracy
    page.locator('a.sort[data-key="scrap.accuracy"]').click()  # again: descending
    page.wait_for_url(re.compile(r".*desc=1.*"))
    assert column("accuracy") == sorted(column("accuracy"), reverse=True)
    assert page.locator('a.sort.active.desc[data-key="scrap.accuracy"]').count() == 1
    page.locator('a.sort[data-key="param.max_iter"]').click()
    values = rows.locator('td[data-param="max_iter"]').all_inner_texts()
    assert values == sorted(values, key=int)

    # Another scrap against another parameter: a numeric x axis.
    page.locator("form.chart-axes select[name=y]").select_option("f1")
    page.locator("form.chart-axes select[name=x]").select_option("max_iter")
    page.locator("form.chart-axes button[type=submit]").click()
    page.wait_for_url("**x=max_iter**")
    chart = page.locator("figure.scatter")
    assert chart.get_attribute("data-chart") == "f1" and chart.get_attribute("data-x") == "max_iter"
    assert chart.locator("circle.pt").count() == 4
    xs = sorted({float(c.get_attribute("cx")) for c in chart.locator("circle.pt").all()})
    assert len(xs) == 2 and xs[0] < xs[1]  # 50 left of 200
    ticks = chart.locator("text.tick.x").all_text_contents()
    assert ticks[0] == "0" and all(t.isdigit() for t in ticks)
    assert_fits(page)
    page.screenshot(path=str(ARTIFACTS / "browse-sweep-f1-max-iter.png"), full_page=True)

    # A point opens its run; the run page links back to its sweep.
    chart.locator("a").first.click()
    page.wait_for_url("**/nbprod/runs/**")
    page.locator("#sweep-link").click()
    page.wait_for_url(f"**/nbprod/sweeps/{sweep_id}")
    expect(page.locator("tr.sweep-run")).to_have_count(4)
