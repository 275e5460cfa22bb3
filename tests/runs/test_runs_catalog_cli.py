"""Runs through the catalog: filters, pagination, rerun, delete, gc, rebuild.

Listing, delete, gc, rebuild and diff call the CLI in this process (`cli_inproc`: they start
no kernel); test_rerun_uses_the_snapshot_and_parameters is the proof through the real console
script (and the module's runs are made by it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, GLUE, isolated_env, nbprod_command, write_notebook


@pytest.fixture(scope="module")
def built_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """Four runs of one notebook and a failure of another, via the real CLI, made once per
    module in ``live`` and copied to ``golden``; each test gets ``live`` back as built."""
    base = tmp_path_factory.mktemp("history")
    live = base / "live"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBPROD_")}
    env.update(isolated_env(live))
    nb = write_notebook(
        live / "notebooks" / "metrics.ipynb",
        GLUE + "glue('score', days / 10)\nprint('CODE-V1', region)",
        parameters="region = 'eu'\ndays = 1",
    )

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*nbprod_command(), "exec", *args, "--json"],
            env=env,
            cwd=live,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # The five runs at once (each is a process and a kernel of its own): the listing order
    # the tests expect comes from the run ids, which sort by start time.
    points = (("eu", 1), ("us", 5), ("eu", 9), ("apac", 3))
    started = {
        (region, days): start(
            str(nb), "-p", "region", region, "-p", "days", str(days), "--job", "metrics"
        )
        for region, days in points
    }
    started["failed"] = start(str(EXAMPLES / "failing_example.ipynb"))
    ids: dict = {}
    for key, proc in started.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == (1 if key == "failed" else 0), err
        ids[key] = json.loads(out)["run_id"]
    ids["metrics"] = sorted((ids[p] for p in points), reverse=True)
    shutil.copytree(live, base / "golden", symlinks=True)
    return live, base / "golden", ids


@pytest.fixture
def nbprod_env(built_history, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The module's NBPROD_HOME, restored to the built history before each test (tests
    rerun, delete, gc and drop the catalog; every path in the records stays the same)."""
    live, golden, _ = built_history
    shutil.rmtree(live)
    shutil.copytree(golden, live, symlinks=True)
    for name in ("NBPROD_STORE", "NBPROD_KERNEL", "NBPROD_TIMEOUT", "NBPROD_CELL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in isolated_env(live).items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


@pytest.fixture
def history(nbprod_env, built_history) -> tuple[Path, dict]:
    live, _, ids = built_history
    return live / "notebooks" / "metrics.ipynb", ids


def _ids(cli, *args):
    done = cli("runs", "list", "--json", *args)
    assert done.returncode == 0, done.stderr
    return [r["run_id"] for r in json.loads(done.stdout)]


def _newest_first(*run_ids: str) -> list[str]:
    return sorted(run_ids, reverse=True)


def test_filters_and_pagination(cli_inproc, history):
    cli = cli_inproc
    _, ids = history
    metrics = ids["metrics"]
    assert _ids(cli, "--job", "metrics") == metrics
    assert _ids(cli, "--status", "failed") == [ids["failed"]]
    assert _ids(cli, "--param", "region=eu") == _newest_first(ids[("eu", 9)], ids[("eu", 1)])
    assert _ids(cli, "--param", "days>=5") == _newest_first(ids[("eu", 9)], ids[("us", 5)])
    assert _ids(cli, "--scrap", "score>0.4") == _newest_first(ids[("eu", 9)], ids[("us", 5)])
    assert _ids(cli, "--error", "QUALITY CHECK") == [ids["failed"]]
    assert _ids(cli, "--since", "1h") == _newest_first(ids["failed"], *metrics)
    assert _ids(cli, "--until", "2000-01-01") == []
    assert _ids(cli, "--job", "metrics", "-n", "2", "--offset", "1") == metrics[1:3]
    bad = cli("runs", "list", "--since", "yesterday-ish")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    store_only = cli("runs", "list", "--from-store", "--json", "--job", "metrics")
    assert [r["run_id"] for r in json.loads(store_only.stdout)] == metrics


def test_an_empty_listing_says_so_and_names_the_scraps_and_parameters_that_exist(
    cli_inproc, history
):
    done = cli_inproc("runs", "list", "--job", "metrics", "--scrap", "revenue>1000")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "no runs match"
    assert lines[1].startswith("no recent run of job metrics has a scrap 'revenue'; scraps: ")
    assert "score" in lines[1]
    typo = cli_inproc("runs", "list", "--param", "regoin=eu", "--scrap", "score>0.4")
    assert typo.stdout.splitlines()[1:] == [
        "no recent run has a parameter 'regoin'; parameters: days, fail, region, threshold"
    ]
    empty = cli_inproc("runs", "list", "--until", "2000-01-01")
    assert empty.stdout.splitlines() == ["no runs match"]


def test_rerun_uses_the_snapshot_and_parameters(cli, history):
    nb, ids = history
    nb.write_text(nb.read_text().replace("CODE-V1", "CODE-V2"))
    done = cli("runs", "rerun", ids[("us", 5)], "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["rerun_of"] == ids[("us", 5)] and record["trigger"] == "rerun"
    assert record["parameters"]["region"] == "us" and record["parameters"]["days"] == 5
    output = Path(record["output_location"]).read_text()
    assert "CODE-V1" in output and "CODE-V2" not in output
    override = json.loads(cli("runs", "rerun", ids[("us", 5)], "-p", "days", "7", "--json").stdout)
    assert override["parameters"]["days"] == 7 and override["parameters"]["region"] == "us"


def test_delete_removes_store_files_and_catalog_row(cli_inproc, history, store_dir):
    cli = cli_inproc
    _, ids = history
    victim = ids[("eu", 1)]
    folder = store_dir / "metrics" / victim
    assert folder.is_dir()
    done = cli("runs", "delete", victim, "--yes")
    assert done.returncode == 0 and f"deleted {victim}" in done.stdout
    assert not any(folder.glob("*"))
    assert victim not in _ids(cli, "--job", "metrics")
    assert cli("runs", "show", victim).returncode == 2


def test_gc_keep_last(cli_inproc, history, store_dir):
    cli = cli_inproc
    _, ids = history
    dry = cli("gc", "--job", "metrics", "--keep-last", "2", "--dry-run")
    assert "metrics: keep 2, delete 2" in dry.stdout
    assert len(_ids(cli, "--job", "metrics")) == 4
    done = cli("gc", "--job", "metrics", "--keep-last", "2", "--yes")
    assert done.returncode == 0 and "deleted 2 run(s)" in done.stdout
    assert _ids(cli, "--job", "metrics") == ids["metrics"][:2]
    assert not (store_dir / "metrics" / ids["metrics"][-1] / "run.json").exists()
    assert _ids(cli, "--status", "failed") == [ids["failed"]]  # other jobs untouched


def test_catalog_rebuild_restores_listing(cli_inproc, history, nbprod_env):
    cli = cli_inproc
    _, ids = history
    before = json.loads(cli("runs", "list", "--json", "-n", "0").stdout)
    for path in Path(nbprod_env["NBPROD_HOME"]).glob("catalog.db*"):
        path.unlink()  # the database and its WAL files: a machine without a catalog
    assert _ids(cli) == []
    rebuilt = cli("catalog", "rebuild")
    assert rebuilt.returncode == 0 and "indexed 5 run(s)" in rebuilt.stdout
    assert json.loads(cli("runs", "list", "--json", "-n", "0").stdout) == before


def test_runs_diff_through_the_cli(cli_inproc, history):
    cli = cli_inproc
    _, ids = history
    a, b = ids[("eu", 1)], ids[("eu", 9)]
    text = cli("runs", "diff", a, b, "--no-color")
    assert text.returncode == 0, text.stderr
    assert "days" in text.stdout and "score" in text.stdout and "\x1b[" not in text.stdout
    data = json.loads(cli("runs", "diff", a[:22], b, "--json").stdout)
    assert [c["name"] for c in data["parameters"]] == ["days"]
    score = next(c for c in data["scraps"] if c["name"] == "score")
    assert score["delta"] == pytest.approx(0.8)
    assert data["notebook_changed"] is False
    missing = cli("runs", "diff", a, "20200101T000000000Z-00000000")
    assert missing.returncode == 2 and "no run" in missing.stderr
