"""Runs through the catalog: filters, pagination, rerun, delete, gc, rebuild."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, isolated_env, nbprod_command, write_notebook


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
        "import scrapbook as sb\nsb.glue('score', days / 10)\nprint('CODE-V1', region)",
        parameters="region = 'eu'\ndays = 1",
    )

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*nbprod_command(), *args],
            env=env,
            cwd=live,
            capture_output=True,
            text=True,
            timeout=120,
        )

    ids: dict = {}
    for region, days in (("eu", 1), ("us", 5), ("eu", 9), ("apac", 3)):
        done = cli(
            "exec",
            str(nb),
            "-p",
            "region",
            region,
            "-p",
            "days",
            str(days),
            "--job",
            "metrics",
            "--json",
        )
        assert done.returncode == 0, done.stderr
        ids[(region, days)] = json.loads(done.stdout)["run_id"]
    failed = cli("exec", str(EXAMPLES / "failing_example.ipynb"), "--json")
    ids["failed"] = json.loads(failed.stdout)["run_id"]
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


def test_filters_and_pagination(cli, history):
    _, ids = history
    metrics = [ids[("apac", 3)], ids[("eu", 9)], ids[("us", 5)], ids[("eu", 1)]]
    assert _ids(cli, "--job", "metrics") == metrics
    assert _ids(cli, "--status", "failed") == [ids["failed"]]
    assert _ids(cli, "--param", "region=eu") == [ids[("eu", 9)], ids[("eu", 1)]]
    assert _ids(cli, "--param", "days>=5") == [ids[("eu", 9)], ids[("us", 5)]]
    assert _ids(cli, "--scrap", "score>0.4") == [ids[("eu", 9)], ids[("us", 5)]]
    assert _ids(cli, "--error", "QUALITY CHECK") == [ids["failed"]]
    assert _ids(cli, "--since", "1h") == [ids["failed"], *metrics]
    assert _ids(cli, "--until", "2000-01-01") == []
    assert _ids(cli, "--job", "metrics", "-n", "2", "--offset", "1") == metrics[1:3]
    bad = cli("runs", "list", "--since", "yesterday-ish")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    store_only = cli("runs", "list", "--from-store", "--json", "--job", "metrics")
    assert [r["run_id"] for r in json.loads(store_only.stdout)] == metrics


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


def test_delete_removes_store_files_and_catalog_row(cli, history, store_dir):
    _, ids = history
    victim = ids[("eu", 1)]
    folder = store_dir / "metrics" / victim
    assert folder.is_dir()
    done = cli("runs", "delete", victim, "--yes")
    assert done.returncode == 0 and f"deleted {victim}" in done.stdout
    assert not any(folder.glob("*"))
    assert victim not in _ids(cli, "--job", "metrics")
    assert cli("runs", "show", victim).returncode == 2


def test_gc_keep_last(cli, history, store_dir):
    _, ids = history
    dry = cli("gc", "--job", "metrics", "--keep-last", "2", "--dry-run")
    assert "metrics: keep 2, delete 2" in dry.stdout
    assert len(_ids(cli, "--job", "metrics")) == 4
    done = cli("gc", "--job", "metrics", "--keep-last", "2", "--yes")
    assert done.returncode == 0 and "deleted 2 run(s)" in done.stdout
    assert _ids(cli, "--job", "metrics") == [ids[("apac", 3)], ids[("eu", 9)]]
    assert not (store_dir / "metrics" / ids[("eu", 1)] / "run.json").exists()
    assert _ids(cli, "--status", "failed") == [ids["failed"]]  # other jobs untouched


def test_catalog_rebuild_restores_listing(cli, history, nbprod_env):
    _, ids = history
    before = json.loads(cli("runs", "list", "--json", "-n", "0").stdout)
    for path in Path(nbprod_env["NBPROD_HOME"]).glob("catalog.db*"):
        path.unlink()  # the database and its WAL files: a machine without a catalog
    assert _ids(cli) == []
    rebuilt = cli("catalog", "rebuild")
    assert rebuilt.returncode == 0 and "indexed 5 run(s)" in rebuilt.stdout
    assert json.loads(cli("runs", "list", "--json", "-n", "0").stdout) == before


def test_runs_diff_through_the_cli(cli, history):
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
