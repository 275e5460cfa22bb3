"""The browse UI's pipeline pages against a real store: a three-step pipeline applied
and run for real with `nbprod pipelines run` (real kernels), once succeeding and once
with its middle step failing, served by a real `nbprod browse`; HTTP checks of every
page and its JSON, and Chromium checks of the layout and the graph's links."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.browse.conftest import BrowseServer, _env, settings_for
from tests.conftest import ARTIFACTS, GLUE, nbprod_command, write_notebook

MARKUP = "<script>window.__pwned=1</script>"
"""A scrap value (extract's label, train's parameter) and part of the description."""
PIPELINE = "flow"
YAML = f"""
name: {PIPELINE}
description: "Nightly <b>flow</b> {MARKUP}"
schedule: "0 6 * * *"
timezone: Europe/Berlin
steps:
  - name: extract
    notebook: extract.ipynb
    parameters: {{days: 7}}
  - name: train
    notebook: train.ipynb
    needs: [extract]
    parameters_from: {{rows: extract.row_count, label: extract.label}}
  - name: report
    notebook: report.ipynb
    needs: [train]
    parameters_from: {{accuracy: train.accuracy}}
"""


@dataclass
class PipelineStore:
    env: dict[str, str]
    good: str
    """The pipeline run that succeeded."""
    bad: str
    """The second run: train failed, report skipped."""
    rerun: str
    """The newest: `rerun BAD --from train` (extract reused, train failed again)."""


def _nbprod(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*nbprod_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def pipeline_store(tmp_path_factory: pytest.TempPathFactory) -> PipelineStore:
    root = tmp_path_factory.mktemp("pipelines")
    home = root / "home"
    env = _env(home, str(home / "store"))
    marker = root / "fail-train"
    folder = root / "notebooks"
    write_notebook(
        folder / "extract.ipynb",
        f"{GLUE}\nglue('row_count', days * 10)\nglue('label', {MARKUP!r})",
        parameters="days: int = 1",
    )
    write_notebook(
        folder / "train.ipynb",
        f"{GLUE}\nfrom pathlib import Path\n"
        "if Path(fail_marker).exists():\n    raise ValueError('training failed on purpose')\n"
        "glue('accuracy', rows / 100)",
        parameters=f"rows: int = 0\nlabel: str = ''\nfail_marker: str = {str(marker)!r}",
    )
    write_notebook(
        folder / "report.ipynb",
        f"{GLUE}\nglue('summary', f'accuracy {{accuracy}}')",
        parameters="accuracy: float = 0.0",
    )
    (folder / "flow.yaml").write_text(YAML)
    applied = _nbprod(env, root, "pipelines", "apply", str(folder / "flow.yaml"))
    assert applied.returncode == 0, applied.stderr
    good = _nbprod(env, root, "pipelines", "run", PIPELINE, "-p", "extract.days=30")
    assert good.returncode == 0, good.stdout + good.stderr
    marker.write_text("fail")
    bad = _nbprod(env, root, "pipelines", "run", PIPELINE)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    rerun = _nbprod(env, root, "pipelines", "rerun", _run_id(bad.stdout), "--from", "train")
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    return PipelineStore(env, _run_id(good.stdout), _run_id(bad.stdout), _run_id(rerun.stdout))


def _run_id(stdout: str) -> str:
    first = stdout.splitlines()[0]
    assert first.startswith("pipeline run "), stdout
    return first.split()[2]


@pytest.fixture(scope="module")
def pserver(pipeline_store: PipelineStore) -> Iterator[BrowseServer]:
    browse = BrowseServer(pipeline_store.env).start()
    yield browse
    browse.stop()


def _json(server: BrowseServer, path: str) -> Any:
    answer = server.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json()


def _svg(html: str) -> ElementTree.Element:
    """The page's graph, parsed as XML (it must be well formed)."""
    match = re.search(r'<svg class="dag".*?</svg>', html, re.S)
    assert match, "no pipeline graph on the page"
    return ElementTree.fromstring(match.group(0))


SVG = "{http://www.w3.org/2000/svg}"


def _nodes(svg: ElementTree.Element) -> dict[str, ElementTree.Element]:
    return {
        g.get("data-step"): g
        for g in svg.iter()
        if g.tag in ("g", f"{SVG}g") and "node" in (g.get("class") or "").split()
    }


def test_the_pipelines_listing_and_its_json(pserver: BrowseServer, pipeline_store: PipelineStore):
    page = pserver.get("/nbprod/pipelines")
    assert page.status_code == 200
    html = page.text
    assert f'href="/nbprod/pipelines/{PIPELINE}"' in html
    assert f'href="/nbprod/pipeline-runs/{pipeline_store.rerun}"' in html  # the last run
    assert '<span class="step-count">3</span>' in html and "extract → train → report" in html
    assert "<code>0 6 * * *</code>" in html and "Europe/Berlin" in html
    assert 'class="badge status-failed"' in html
    assert MARKUP not in html and "&lt;script&gt;" in html  # the description, escaped
    # the navigation links the listing from every page, next to sweeps
    jobs = pserver.get("/nbprod/jobs").text
    assert re.search(r'/nbprod/sweeps"[^>]*>Sweeps</a>\s*<a href="/nbprod/pipelines"', jobs)

    data = _json(pserver, "/nbprod/pipelines.json")
    (row,) = data["pipelines"]
    assert row["name"] == PIPELINE and row["version"] == 1 and row["step_count"] == 3
    assert row["steps"] == ["extract", "train", "report"]
    assert row["last_run_id"] == pipeline_store.rerun and row["last_status"] == "failed"
    assert row["schedule"] == "0 6 * * *" and row["timezone"] == "Europe/Berlin"
    assert row["paused"] is False and row["next_run"].endswith(("+01:00", "+02:00"))
    assert row["next_run"][11:16] == "06:00"  # 6 a.m. in Berlin

    root = Path(pipeline_store.env["NBPROD_HOME"])
    assert _nbprod(pipeline_store.env, root, "pipelines", "pause", PIPELINE).returncode == 0
    try:
        assert '<span class="tag paused">paused</span>' in pserver.get("/nbprod/pipelines").text
        data = _json(pserver, f"/nbprod/pipelines/{PIPELINE}.json")
        assert data["pipeline"]["paused"] is True and data["pipeline"]["next_run"] is None
    finally:
        assert _nbprod(pipeline_store.env, root, "pipelines", "resume", PIPELINE).returncode == 0


def test_the_pipeline_page_graph_history_and_charts(
    pserver: BrowseServer, pipeline_store: PipelineStore
):
    html = pserver.get(f"/nbprod/pipelines/{PIPELINE}").text
    svg = _svg(html)
    nodes = _nodes(svg)
    assert list(nodes) == ["extract", "train", "report"]  # one node per step
    # coloured by the newest run (the rerun): extract reused, train failed, report skipped
    classes = {step: g.get("class") for step, g in nodes.items()}
    assert classes == {
        "extract": "node status-succeeded",
        "train": "node status-failed",
        "report": "node status-skipped",
    }
    bad = _json(pserver, f"/nbprod/pipeline-runs/{pipeline_store.bad}.json")
    rerun = _json(pserver, f"/nbprod/pipeline-runs/{pipeline_store.rerun}.json")
    old = {s["name"]: s for s in bad["steps"]}
    steps = {s["name"]: s for s in rerun["steps"]}
    assert steps["extract"]["run_id"] == old["extract"]["run_id"]  # reused
    assert steps["train"]["run_id"] != old["train"]["run_id"]  # ran again
    links = [a.get("href") for a in svg.iter("a")]
    assert links == [
        f"/nbprod/runs/{steps['extract']['run_id']}",
        f"/nbprod/runs/{steps['train']['run_id']}",
    ]  # report never ran: no link

    def groups(kind: str) -> dict[tuple[str, str], ElementTree.Element]:
        found = [g for g in svg.iter("g") if g.get("class") == kind]
        return {(g.get("data-source"), g.get("data-target")): g for g in found}

    edges, labelled = groups("edge"), groups("edge-labels")
    assert set(edges) == set(labelled) == {("extract", "train"), ("train", "report")}
    for edge in edges.values():
        (path,) = edge.iter("path")
        assert path.get("marker-end") == "url(#dag-arrow)" and path.get("d").startswith("M")
    labels = ["".join(t.itertext()).strip() for t in labelled[("extract", "train")].iter("text")]
    assert labels[0].startswith("row_count → rows") and labels[1].startswith("label → label")
    # the columns are the depths: extract, then train, then report
    xs = [float(g.find("rect").get("x")) for g in nodes.values()]
    assert xs[0] < xs[1] < xs[2]

    # the run history, newest first, and a duration chart per step that ran
    rows = re.findall(r'<tr class="pipeline-run-row" data-run-id="([^"]+)"', html)
    assert rows == [pipeline_store.rerun, pipeline_store.bad, pipeline_store.good]
    for step in ("extract", "train"):
        assert f'data-chart="{step} duration (s)"' in html
    assert 'data-chart="report duration (s)"' in html  # it ran once, in the good run
    assert "Nightly &lt;b&gt;flow&lt;/b&gt;" in html and MARKUP not in html

    data = _json(pserver, f"/nbprod/pipelines/{PIPELINE}.json")
    assert data["graph_run_id"] == pipeline_store.rerun
    runs = [r["run_id"] for r in data["runs"]]
    assert runs == [pipeline_store.rerun, pipeline_store.bad, pipeline_store.good]
    again, failed, good = data["runs"]
    assert good["status"] == "succeeded" and good["counts"] == {"succeeded": 3}
    assert failed["counts"] == {"succeeded": 1, "failed": 1, "skipped": 1}
    assert good["duration_s"] > 0 and good["trigger"] == "manual"
    assert again["trigger"] == "rerun" and again["rerun_of"] == pipeline_store.bad
    assert f'of <a class="mono" href="/nbprod/pipeline-runs/{pipeline_store.bad}"' in html
    assert [n["status"] for n in data["graph"]["nodes"]] == ["succeeded", "failed", "skipped"]
    assert "path" not in data["graph"]["edges"][0]  # geometry stays out of the JSON
    charts = {c["name"]: c for c in data["charts"]}
    # extract ran twice (reused in the rerun: not charted again), train three times
    assert len(charts["extract duration (s)"]["points"]) == 2
    assert len(charts["train duration (s)"]["points"]) == 3
    assert charts["train duration (s)"]["points"][-1]["status"] == "failed"
    assert len(charts["report duration (s)"]["points"]) == 1
    assert data["versions"][0]["version"] == 1


def test_the_pipeline_run_page_steps_links_and_values(
    pserver: BrowseServer, pipeline_store: PipelineStore
):
    good = _json(pserver, f"/nbprod/pipeline-runs/{pipeline_store.good}.json")
    assert good["status"] == "succeeded" and good["pipeline"] == PIPELINE
    steps = {s["name"]: s for s in good["steps"]}
    assert all(s["linked"] and s["run_id"] for s in steps.values())
    passed = {
        (v["source"], v["scrap"], v["target"], v["parameter"]): v["value"] for v in good["passed"]
    }
    assert passed == {
        ("extract", "row_count", "train", "rows"): 300,
        ("extract", "label", "train", "label"): MARKUP,
        ("train", "accuracy", "report", "accuracy"): 3.0,
    }
    html = pserver.get(f"/nbprod/pipeline-runs/{pipeline_store.good}").text
    for step in steps.values():
        assert f'href="/nbprod/runs/{step["run_id"]}"' in html
    assert 'extract.row_count → train.rows</th><td class="mono">300</td>' in html
    assert 'train.accuracy → report.accuracy</th><td class="mono">3.0</td>' in html
    assert MARKUP not in html and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    svg = _svg(html)  # the markup value is in the edge's tooltip, escaped: still well formed
    titles = ["".join(t.itertext()) for t in svg.iter("title")]
    assert f"extract.label → train.label = {MARKUP}" in titles
    assert {g.get("class") for g in _nodes(svg).values()} == {"node status-succeeded"}

    bad = _json(pserver, f"/nbprod/pipeline-runs/{pipeline_store.bad}.json")
    assert bad["status"] == "failed"
    steps = {s["name"]: s for s in bad["steps"]}
    assert [steps[n]["status"] for n in ("extract", "train", "report")] == [
        "succeeded",
        "failed",
        "skipped",
    ]
    assert "training failed on purpose" in steps["train"]["error"]
    assert steps["report"]["error"] == "step train failed" and not steps["report"]["linked"]
    html = pserver.get(f"/nbprod/pipeline-runs/{pipeline_store.bad}").text
    assert "ValueError: training failed on purpose" in html
    assert '<tr class="step-row" data-step="report" data-status="skipped">' in html
    assert f'href="/nbprod/runs/{steps["train"]["run_id"]}"' in html
    assert f'href="/nbprod/pipelines/{PIPELINE}"' in html

    # a unique prefix opens the run's own page
    prefix = pipeline_store.good[:-3]
    moved = pserver.get(f"/nbprod/pipeline-runs/{prefix}")
    assert moved.status_code == 302
    assert moved.headers["Location"].endswith(f"/nbprod/pipeline-runs/{pipeline_store.good}")


def test_a_rerun_page_names_the_reused_step_and_its_origin(
    pserver: BrowseServer, pipeline_store: PipelineStore
):
    rerun = _json(pserver, f"/nbprod/pipeline-runs/{pipeline_store.rerun}.json")
    assert rerun["trigger"] == "rerun" and rerun["rerun_of"] == pipeline_store.bad
    assert rerun["rerun_from"] == "train"
    steps = {s["name"]: s for s in rerun["steps"]}
    assert steps["extract"]["reused_from"] == pipeline_store.bad and steps["extract"]["linked"]
    assert steps["train"]["reused_from"] is None
    html = pserver.get(f"/nbprod/pipeline-runs/{pipeline_store.rerun}").text
    assert (
        f'reused from <a class="mono reused-from" href="/nbprod/pipeline-runs/{pipeline_store.bad}"'
        in html
    )
    assert "from step train" in html
    # the values extract passed in the run it is reused from are passed again
    assert 'extract.row_count → train.rows</th><td class="mono">70</td>' in html


def test_a_step_run_page_links_back_to_its_pipeline_run(
    pserver: BrowseServer, pipeline_store: PipelineStore
):
    bad = _json(pserver, f"/nbprod/pipeline-runs/{pipeline_store.bad}.json")
    train = next(s for s in bad["steps"] if s["name"] == "train")
    html = pserver.get(f"/nbprod/runs/{train['run_id']}").text
    assert (
        f'id="pipeline-run-link" class="mono" href="/nbprod/pipeline-runs/{pipeline_store.bad}"'
        in html
    )
    assert f'href="/nbprod/pipelines/{PIPELINE}"' in html and "step train of" in html
    job = pserver.get(f"/nbprod/jobs/{PIPELINE}.train").text  # the step's runs, as a job
    assert f'id="job-pipeline" href="/nbprod/pipelines/{PIPELINE}"' in job
    assert 'id="job-pipeline"' not in pserver.get("/nbprod/jobs").text
    record = _json(pserver, f"/nbprod/runs/{train['run_id']}.json")
    assert record["pipeline"] == {"name": PIPELINE, "run_id": pipeline_store.bad, "step": "train"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/nbprod/pipelines/nope", 404),
        ("/nbprod/pipelines/nope.json", 404),
        ("/nbprod/pipelines/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400),
        ("/nbprod/pipeline-runs/20990101T000000000Z-deadbeef", 404),
        ("/nbprod/pipeline-runs/20990101T000000000Z-deadbeef.json", 404),
        ("/nbprod/pipeline-runs/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404),
        ("/nbprod/pipeline-runs/2", 404),
    ],
)
def test_unknown_or_bad_pipelines_and_runs_answer_one_line(
    pserver: BrowseServer, pipeline_store: PipelineStore, path: str, status: int
):
    answer = pserver.get(path)
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text and "<script>alert" not in answer.text
    if path.endswith(".json"):
        assert answer.json()["status"] == status and answer.json()["message"]


def test_a_run_in_flight_shows_queued_and_pending_steps_unlinked(tmp_path: Path):
    """`pipelines run --no-wait` with no worker alive: the first step stays queued (no run
    page yet: no link), the next pending; the listing and pages say so."""
    home = tmp_path / "home"
    env = _env(home, str(home / "store"))
    write_notebook(tmp_path / "a.ipynb", f"{GLUE}\nglue('n', 1)")
    write_notebook(tmp_path / "b.ipynb", "x", parameters="n: int = 0")
    (tmp_path / "wait.yaml").write_text(
        "name: waiting\nsteps:\n  - {name: a, notebook: a.ipynb}\n"
        "  - {name: b, notebook: b.ipynb, needs: [a], parameters_from: {n: a.n}}\n"
    )
    assert _nbprod(env, tmp_path, "pipelines", "apply", str(tmp_path / "wait.yaml")).returncode == 0
    started = _nbprod(env, tmp_path, "pipelines", "run", "waiting", "--no-wait")
    assert started.returncode == 0, started.stderr
    run_id = re.search(r"\d{8}T\d{9}Z-[0-9a-f]{8}", started.stdout).group(0)
    browse = BrowseServer(env).start()
    try:
        listing = _json(browse, "/nbprod/pipelines.json")
        assert listing["pipelines"][0]["last_status"] == "queued"
        html = browse.get(f"/nbprod/pipeline-runs/{run_id}").text
        nodes = _nodes(_svg(html))
        assert {k: g.get("class") for k, g in nodes.items()} == {
            "a": "node status-queued",
            "b": "node status-pending",
        }
        assert "<a " not in re.search(r'<svg class="dag".*?</svg>', html, re.S).group(0)
        assert "still going" in html
        data = _json(browse, f"/nbprod/pipeline-runs/{run_id}.json")
        assert data["live"] is True and data["passed"] == []
        assert [(s["status"], s["linked"]) for s in data["steps"]] == [
            ("queued", False),
            ("pending", False),
        ]
        page = _json(browse, "/nbprod/pipelines/waiting.json")
        assert page["runs"][0]["status"] == "queued" and page["charts"] == []
    finally:
        browse.stop()


def test_a_corrupt_pipeline_version_is_a_one_line_502(tmp_path: Path):
    """In process: a damaged version file names its key (the browse UI answers 502 with
    it, as for a corrupt run record), never a 500 with a traceback."""
    from nbprod.errors import CorruptData
    from nbprod.server.browse_data import BrowseData
    from nbprod.server.handlers import failure_for
    from nbprod.server.views import pipelines

    store = tmp_path / "store"
    folder = store / ".nbprod" / "pipelines" / "broken"
    folder.mkdir(parents=True)
    (folder / "v000001.json").write_text('{"pipeline": "broken", "vers')
    service = BrowseData(settings_for(tmp_path / "home", f"file://{store}"))
    try:
        for call in (
            lambda: pipelines.listing(service),
            lambda: pipelines.build(service, "broken"),
        ):
            with pytest.raises(CorruptData, match="v000001.json is corrupt") as caught:
                call()
            failure = failure_for(caught.value)
            assert failure.status_code == 502 and "\n" not in failure.message
    finally:
        service.close()


def test_every_pipeline_page_context_field_has_help():
    from nbprod.server import pipeline_graph
    from nbprod.server.views import pipeline_run, pipelines

    contexts = [
        obj
        for module in (pipeline_graph, pipeline_run, pipelines)
        for obj in vars(module).values()
        if dataclasses.is_dataclass(obj)
        and obj.__module__ == module.__name__
        and obj.__name__ != "StepState"  # layout input, not a context
    ]
    assert len(contexts) >= 10
    for context in contexts:
        for f in dataclasses.fields(context):
            assert f.metadata.get("help"), f"{context.__name__}.{f.name} has no help text"


def _definition(steps: list[dict[str, Any]]) -> Any:
    from nbprod.pipelines.model import PipelineDefinition

    return PipelineDefinition.from_dict(
        {"name": "g", "steps": [{"notebook": "x.ipynb", **step} for step in steps]}
    )


def test_the_layout_places_steps_by_depth_without_overlaps():
    """In process: a diamond whose last step also takes a scrap of the first (not a direct
    need: an edge of its own), and a ten-step fan-out."""
    from nbprod.server.pipeline_graph import StepState, layout

    diamond = _definition(
        [
            {"name": "a"},
            {"name": "b", "needs": ["a"], "parameters_from": {"n": "a.count"}},
            {"name": "c", "needs": ["a"]},
            {"name": "d", "needs": ["c", "b"], "parameters_from": {"x": "b.x", "m": "a.mean"}},
        ]
    )
    states = {"a": StepState("succeeded", "r1", True, 1.5), "b": StepState("failed", "r2", True)}
    graph = layout(diamond, states, {("b", "n"): 7})
    nodes = {n.step: n for n in graph.nodes}
    assert [nodes[s].depth for s in "abcd"] == [0, 1, 1, 2]
    assert [nodes[s].status for s in "abcd"] == ["succeeded", "failed", "none", "none"]
    assert nodes["a"].detail == "succeeded · 1.5 s" and nodes["a"].linked
    assert not nodes["c"].linked  # no run
    assert nodes["b"].x == nodes["c"].x and nodes["b"].y != nodes["c"].y
    pairs = [(e.source, e.target) for e in graph.edges]
    assert pairs == [("a", "b"), ("a", "c"), ("c", "d"), ("b", "d"), ("a", "d")]
    edges = {(e.source, e.target): e for e in graph.edges}
    (label,) = edges[("a", "b")].labels
    assert (label.text, label.passed, label.value) == ("count → n", True, 7)
    assert label.title == "a.count → b.n = 7"
    assert [lb.text for lb in edges[("a", "d")].labels] == ["mean → m"]
    assert not edges[("a", "c")].labels and edges[("a", "c")].label_w == 0
    # a→d crosses column 1 straight, in a slot of its own beside b and c, not through them
    crossing = re.search(r"L([\d.]+),([\d.]+)", edges[("a", "d")].path)
    assert crossing and float(crossing.group(1)) == nodes["b"].x + nodes["b"].width
    y = float(crossing.group(2))
    for step in "bc":
        assert not nodes[step].y <= y <= nodes[step].y + nodes[step].height, (step, y)
    assert 0 < y < graph.height
    assert " L" not in edges[("a", "b")].path  # neighbouring columns: one curve

    fan = _definition(
        [{"name": "src"}]
        + [{"name": f"part-{i}", "needs": ["src"]} for i in range(10)]
        + [{"name": "sink", "needs": [f"part-{i}" for i in range(10)]}]
    )
    graph = layout(fan, {})
    boxes = [(n.x, n.y, n.x + n.width, n.y + n.height) for n in graph.nodes]
    for i, one in enumerate(boxes):
        assert 0 <= one[0] and one[2] <= graph.width and 0 <= one[1] and one[3] <= graph.height
        for other in boxes[i + 1 :]:
            apart = one[2] <= other[0] or other[2] <= one[0] or one[3] <= other[1]
            assert apart or other[3] <= one[1], (one, other)
    assert graph.width < 1000 and len(graph.edges) == 20


# -- Chromium -------------------------------------------------------------------------------


@pytest.fixture
def ptab(browser: Any, pserver: BrowseServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(pserver.url)  # the token URL logs the browser in (cookie)
    yield tab
    context.close()


def _fits(tab: Any) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page scrolls sideways: {width} px"


@pytest.mark.parametrize("kind", ["pipeline", "pipeline-run"])
def test_the_graph_fits_1280_pixels_and_its_nodes_open_the_step_runs(
    ptab: Any, pserver: BrowseServer, pipeline_store: PipelineStore, kind: str
):
    errors: list[str] = []
    ptab.on("pageerror", lambda exc: errors.append(str(exc)))
    path = (
        f"/nbprod/pipelines/{PIPELINE}"
        if kind == "pipeline"
        else f"/nbprod/pipeline-runs/{pipeline_store.good}"
    )
    ptab.goto(pserver.base + path)
    graph = ptab.locator("svg.dag")
    graph.wait_for(state="visible")
    box = graph.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 40
    assert ptab.locator("svg.dag g.node").count() == 3
    _fits(ptab)
    assert ptab.evaluate("window.__pwned") is None  # the markup value stayed text
    ptab.screenshot(path=str(ARTIFACTS / f"browse-{kind}.png"), full_page=True)

    node = ptab.locator('svg.dag g.node[data-step="extract"]')
    expected = ptab.locator("svg.dag a.node-link").first.get_attribute("href")
    node.click()
    ptab.wait_for_url(re.compile(re.escape(expected) + "$"))
    assert ptab.locator("#pipeline-run-link").is_visible()
    _fits(ptab)
    assert not errors
