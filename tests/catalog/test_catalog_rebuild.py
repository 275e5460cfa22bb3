"""The catalog is an index of the store: sync picks up what is new, and a catalog dropped
and rebuilt from the store alone is identical. Runs are made by the real ``nbprod exec``."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nbprod.catalog.db import Catalog
from nbprod.catalog.query import RunFilter
from nbprod.catalog.sync import SyncResult, rebuild, sync
from nbprod.store import layout, open_store
from tests.catalog.records_factory import make_record, make_version
from tests.conftest import GLUE

CODE = f"""
{GLUE}
glue("total", days * 10)
glue("label", f"{{region}}-{{days}}")
if fail:
    raise ValueError(f"no data for {{region}}")
"""


def _counts(result: SyncResult) -> tuple[int, int, int, int]:
    return result.added, result.updated, result.removed, result.jobs


def _drop(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.fixture
def populated_store(
    cli: Callable, make_notebook: Callable, store_dir: Path
) -> tuple[object, list[str]]:
    """Three real runs (one failed) of two notebooks, plus job versions and a pause state."""
    params = 'region = "eu"\ndays = 7\nfail = False'
    report = make_notebook(CODE, parameters=params, name="report.ipynb")
    other = make_notebook("x = 1", name="other.ipynb")
    commands = [
        ("exec", str(report), "-p", "region", "us", "-p", "days", "30"),
        ("exec", str(report), "-p", "fail", "true"),
        ("exec", str(other)),
    ]
    with ThreadPoolExecutor(3) as pool:  # independent runs: start them together
        runs = list(pool.map(lambda args: cli(*args), commands))
    assert [r.returncode for r in runs] == [0, 1, 0], [r.stderr for r in runs]
    store = open_store(str(store_dir))
    for number in (1, 2):
        version = make_version("report", number, tags=["team"])
        store.put(layout.job_version_key("report", number), json.dumps(version.to_dict()).encode())
    state = {"paused": True, "updated_at": "2026-11-05T00:00:00.000Z"}
    store.put(layout.job_state_key("report"), json.dumps(state).encode())
    etl = make_version("etl", 1)
    store.put(layout.job_version_key("etl", 1), json.dumps(etl.to_dict()).encode())
    ids = [ln.split()[1] for r in runs for ln in r.stdout.splitlines() if ln.startswith("run ")]
    assert len(ids) == 3
    return store, ids


def test_rebuild_from_the_store_alone_is_identical(populated_store, tmp_path: Path):
    store, ids = populated_store
    db = tmp_path / "catalog.db"
    catalog = Catalog.open(f"sqlite:///{db}")
    assert _counts(sync(catalog, store)) == (3, 0, 0, 2)
    synced = catalog.dump(store.url)
    assert sorted(r["run_id"] for r in synced["runs"]) == sorted(ids)

    failed = catalog.query_runs(store.url, RunFilter(status=["failed"]))
    assert [r.run_id for r in failed] == [ids[1]]
    assert failed[0].error.ename == "ValueError"
    by_scrap = catalog.query_runs(store.url, RunFilter(scraps=[("total", ">", "100")]))
    assert [r.run_id for r in by_scrap] == [ids[0]]
    assert catalog.count_runs(store.url, RunFilter(scraps=[("label", "=", "eu-7")])) == 1
    assert catalog.count_runs(store.url, RunFilter(error="no data for eu")) == 1
    report = catalog.job(store.url, "report")
    assert (report.latest_version, report.paused, report.runs_total) == (2, True, 2)
    assert report.runs_succeeded == 1 and report.tags == ["team"]
    assert catalog.job(store.url, "etl").paused is False
    catalog.close()

    _drop(db)
    fresh = Catalog.open(f"sqlite:///{db}")
    result = rebuild(fresh, store)
    assert _counts(result) == (3, 0, 0, 2)
    assert fresh.dump(store.url) == synced
    assert json.dumps(fresh.dump(store.url), sort_keys=True) == json.dumps(synced, sort_keys=True)

    # rebuilding a populated catalog changes nothing, and leaves other stores alone
    fresh.index_run("s3://elsewhere/x", make_record(0))
    rebuild(fresh, store)
    assert fresh.dump(store.url) == synced
    assert len(fresh.run_ids("s3://elsewhere/x")) == 1
    fresh.close()


def test_sync_is_incremental(populated_store, cli: Callable, make_notebook: Callable, tmp_path):
    store, ids = populated_store
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.db'}")
    assert _counts(sync(catalog, store)) == (3, 0, 0, 2)
    assert _counts(sync(catalog, store)) == (0, 0, 0, 0)

    done = cli("exec", str(make_notebook("y = 2", name="other.ipynb")))
    assert done.returncode == 0, done.stderr
    store.put(
        layout.job_version_key("report", 3),
        json.dumps(make_version("report", 3, tags=["team"]).to_dict()).encode(),
    )
    state = {"paused": False, "updated_at": "2026-11-06T00:00:00.000Z"}
    store.put(layout.job_state_key("report"), json.dumps(state).encode())
    assert _counts(sync(catalog, store)) == (1, 0, 0, 1)
    report = catalog.job(store.url, "report")
    assert (report.latest_version, report.paused) == (3, False)
    assert catalog.count_runs(store.url, RunFilter(job="other")) == 2
    assert _counts(sync(catalog, store, full=True)) == (0, 0, 0, 0)

    # a run deleted from the store: only a full sync forgets it
    gone = ids[2]
    for entry in list(store.list(f"other/{gone}")):
        store.delete(f"other/{gone}/{entry.name}")
    assert _counts(sync(catalog, store)) == (0, 0, 0, 0)
    assert gone in catalog.run_ids(store.url)
    assert _counts(sync(catalog, store, full=True)) == (0, 0, 1, 0)
    assert gone not in catalog.run_ids(store.url)

    # a folder whose record was removed (other files kept) is gone too
    first = ids[0]
    store.delete(layout.record_key("report", first))
    assert _counts(sync(catalog, store, full=True)) == (0, 0, 1, 0)

    # a job version file removed from the store
    store.delete(layout.job_version_key("etl", 1))
    assert sync(catalog, store, full=True).jobs == 1
    assert catalog.job(store.url, "etl") is None

    synced = catalog.dump(store.url)
    rebuild(catalog, store)
    assert catalog.dump(store.url) == synced
    catalog.close()


def test_a_running_record_that_finished_is_updated(tmp_path: Path):
    store = open_store(str(tmp_path / "store"))
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.db'}")
    running = make_record(0, status="running", store=store.url, params={"days": 3})
    key = layout.record_key(running.job, running.run_id)
    store.put(key, running.to_json().encode())
    store.put(f"{running.job}/20261101T090000000Z-00000000/report.ipynb", b"{}")  # no record yet
    store.put(f"{running.job}/not-a-run/run.json", b"{}")
    store.put(".hidden/20261101T090000000Z-00000001/run.json", b"{}")
    assert _counts(sync(catalog, store)) == (1, 0, 0, 0)
    assert _counts(sync(catalog, store)) == (0, 0, 0, 0)  # re-read, unchanged

    finished = make_record(0, status="succeeded", store=store.url, params={"days": 3})
    finished.run_id = running.run_id
    finished.scraps = {"total": {"encoder": "json", "inline": True, "value": 9}}
    store.put(key, finished.to_json().encode())
    assert _counts(sync(catalog, store)) == (0, 1, 0, 0)
    assert catalog.run_ids(store.url) == {running.run_id: "succeeded"}
    assert catalog.count_runs(store.url, RunFilter(scraps=[("total", "=", "9")])) == 1
    assert _counts(sync(catalog, store)) == (0, 0, 0, 0)  # terminal: not read again


def test_unreadable_files_are_skipped_not_fatal(tmp_path: Path):
    store = open_store(str(tmp_path / "store"))
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.db'}")
    good = make_record(0, store=store.url)
    store.put(layout.record_key(good.job, good.run_id), good.to_json().encode())
    broken = "20261101T090000000Z-0000000b"
    store.put(layout.record_key("report", broken), b"{not json")
    store.put(layout.job_version_key("report", 1), b"[]")
    store.put(layout.job_state_key("report"), b'{"paused": "yes"}')
    result = sync(catalog, store)
    assert (result.added, result.jobs) == (1, 0)
    assert sorted(result.skipped) == sorted(
        [
            layout.record_key("report", broken),
            layout.job_version_key("report", 1),
            layout.job_state_key("report"),
        ]
    )
