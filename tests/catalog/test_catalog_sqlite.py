"""The catalog's behaviour, on SQLite and (same functions, ``catalog_url`` parametrized) on
a real PostgreSQL server: migrations, indexing, every filter, paging, lookups, jobs."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from nbprod.catalog import open_catalog
from nbprod.catalog.db import Catalog
from nbprod.catalog.engine import create_engine, use_wal
from nbprod.catalog.query import RunFilter, parse_condition, parse_when
from nbprod.catalog.schema import HEAD_REVISION, metadata
from nbprod.config import Settings
from nbprod.errors import BadInput, CatalogError, InvalidName, RunNotFound
from tests.catalog.records_factory import BASE_TIME, make_record, make_version
from tests.conftest import free_port

TABLES = {"jobs", "job_versions", "runs", "run_values", "pipeline_runs", "pipelines"}
SCHEDULER_TABLES = {"fires", "pipeline_fires", "queue", "workers", "schedulers"}


# -- schema and migrations -----------------------------------------------------------------


def test_head_revision_is_alembics_head():
    from alembic.script import ScriptDirectory

    from nbprod.catalog.migrate import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_migrations_create_every_table_as_the_schema_declares(catalog: Catalog):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with catalog.engine.connect() as conn:
        assert TABLES | SCHEDULER_TABLES | {"alembic_version"} <= set(
            sa.inspect(conn).get_table_names()
        )
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert version == HEAD_REVISION
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("runs")}
        assert {"ix_runs_store_job_run_id", "ix_runs_store_status_run_id"} <= indexes


def test_reopening_a_current_catalog_does_not_load_alembic(catalog_url: str):
    Catalog.open(catalog_url).close()  # creates and migrates
    code = (
        "import sys; from nbprod.catalog.db import Catalog; "
        f"Catalog.open({catalog_url!r}).close(); "
        "assert 'alembic' not in sys.modules, 'alembic imported'; "
        "assert 'sqlalchemy.orm' not in sys.modules, 'ORM imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_bad_urls_are_clear_errors(tmp_path: Path):
    with pytest.raises(BadInput, match="invalid catalog URL"):
        Catalog.open("not a url")
    with pytest.raises(BadInput, match="unknown database dialect"):
        Catalog.open("nosuchdb://host/db")
    with pytest.raises(CatalogError, match="cannot open catalog") as caught:
        Catalog.open(f"postgresql+psycopg2://u:secret@127.0.0.1:{free_port()}/nbprod")
    assert "secret" not in str(caught.value)
    assert caught.value.exit_code == 6
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CatalogError, match="cannot create"):
        Catalog.open(f"sqlite:///{blocker}/sub/catalog.db")


def test_settings_default_to_a_sqlite_file_in_home(tmp_path: Path):
    home = tmp_path / "home"
    settings = Settings.load(environ={"NBPROD_HOME": str(home), "NBPROD_CONFIG": "/none"})
    assert settings.catalog is None
    assert settings.catalog_url == f"sqlite:///{home / 'catalog.db'}"
    catalog = open_catalog(settings)  # creates home lazily
    catalog.close()
    assert (home / "catalog.db").is_file()
    env = {"NBPROD_HOME": str(home), "NBPROD_CONFIG": "/none", "NBPROD_CATALOG": "sqlite://"}
    assert Settings.load(environ=env).catalog_url == "sqlite://"


def test_sqlite_catalog_uses_wal(tmp_path: Path):
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'c.db'}")
    with catalog.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10000
    catalog.close()


def test_the_wal_switch_waits_out_a_lock_the_busy_handler_would_not(tmp_path: Path):
    """A lock that makes the switch fail at once (as the deadlock between processes
    opening a new file does) is retried until it is released."""
    path = tmp_path / "c.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    switcher = sqlite3.connect(path, isolation_level=None)
    switcher.execute("PRAGMA busy_timeout = 0")  # every locked attempt fails at once
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        switcher.execute("PRAGMA journal_mode = WAL")
    release = threading.Timer(0.3, holder.execute, ["COMMIT"])
    release.start()
    started = time.monotonic()
    use_wal(switcher.cursor(), timeout=10)
    assert time.monotonic() - started >= 0.25
    assert switcher.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    release.join()


def test_the_wal_switch_gives_up_after_its_timeout(tmp_path: Path):
    path = tmp_path / "c.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    switcher = sqlite3.connect(path, isolation_level=None)
    switcher.execute("PRAGMA busy_timeout = 0")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(switcher.cursor(), timeout=0.3)
    assert 0.1 <= time.monotonic() - started < 5
    holder.execute("COMMIT")
    assert switcher.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_file_already_in_wal_mode_is_not_switched_again(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    Catalog.open(url).close()
    statements: list[str] = []
    engine, _label = create_engine(url)

    @sa.event.listens_for(engine, "connect", insert=True)
    def _trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(statements.append)

    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    assert "PRAGMA journal_mode" in statements
    assert not [s for s in statements if "journal_mode = " in s]


def _open_fresh(url: str, barrier) -> None:
    engine, _label = create_engine(url)
    barrier.wait()
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    engine.dispose()


def test_processes_opening_a_new_file_at_once_all_get_wal(tmp_path: Path):
    """Eight processes released together on each of twenty new files (a CI failure: four
    workers opening one new catalog). Without the retry some process failed with "database
    is locked" within the first few files, on each of five tries here."""
    context = multiprocessing.get_context("fork")
    for round_ in range(20):
        url = f"sqlite:///{tmp_path / f'c{round_}.db'}"
        barrier = context.Barrier(8)
        procs = [context.Process(target=_open_fresh, args=(url, barrier)) for _ in range(8)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
        assert [proc.exitcode for proc in procs] == [0] * 8, f"file {round_}"
        with sqlite3.connect(tmp_path / f"c{round_}.db") as check:
            assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- indexing runs -------------------------------------------------------------------------


def test_index_run_is_idempotent_and_replaces_values(catalog: Catalog, store_url: str):
    running = make_record(0, status="running", params={"days": 7}, scraps={"early": 1})
    catalog.index_run(store_url, running)
    catalog.index_run(store_url, running)
    first = catalog.dump(store_url)
    assert len(first["runs"]) == 1
    assert {(v["kind"], v["name"]) for v in first["run_values"]} == {
        ("param", "days"),
        ("scrap", "early"),
    }
    catalog.index_run(store_url, running)
    assert catalog.dump(store_url) == first

    running.status = running.status.__class__("succeeded")
    running.scraps = {"total": {"encoder": "json", "inline": True, "value": 3}}
    catalog.index_run(store_url, running)
    dumped = catalog.dump(store_url)
    assert [r["status"] for r in dumped["runs"]] == ["succeeded"]
    assert {(v["kind"], v["name"]) for v in dumped["run_values"]} == {
        ("param", "days"),
        ("scrap", "total"),
    }
    assert catalog.run_ids(store_url) == {running.run_id: "succeeded"}
    assert catalog.get_run(store_url, running.run_id).to_dict() == running.to_dict()


def test_value_columns(catalog: Catalog, store_url: str):
    record = make_record(
        0,
        params={"region": "eu", "days": 7, "rate": 0.5, "flag": True, "ids": [2, 1], "m": {"b": 1}},
        scraps={"none": None},
    )
    record.scraps["big"] = {"encoder": "display", "inline": False}
    catalog.index_run(store_url, record)
    values = {(v["kind"], v["name"]): v for v in catalog.dump(store_url)["run_values"]}
    assert values[("param", "region")]["value_text"] == "eu"
    assert values[("param", "days")]["value_text"] == "7"
    assert values[("param", "days")]["value_num"] == 7.0
    assert values[("param", "rate")]["value_num"] == 0.5
    assert values[("param", "flag")]["value_text"] == "true"
    assert values[("param", "flag")]["value_num"] is None
    assert values[("param", "ids")]["value_text"] == "[2, 1]"
    assert values[("param", "m")]["value_text"] == '{"b": 1}'
    assert values[("scrap", "none")]["value_text"] == "null"
    assert ("scrap", "big") not in values  # not inline: no value to index


def test_awkward_values_index_on_every_backend(catalog: Catalog, store_url: str):
    """NaN (a YAML ``.nan`` parameter) and NUL characters are valid in a run record."""
    record = make_record(
        0, params={"x": float("nan"), "big": "y" * 1000}, error=("Oops", "bad\x00byte")
    )
    catalog.index_run(store_url, record)
    found = catalog.get_run(store_url, record.run_id)
    assert found.parameters["x"] is None  # kept as null in the index; the store has NaN
    assert catalog.count_runs(store_url, RunFilter(error="bad")) == 1
    assert catalog.count_runs(store_url, RunFilter(params=[("big", "=", "y" * 1000)])) == 1
    assert catalog.count_runs(store_url, RunFilter(params=[("x", "=", "NaN")])) == 1


# -- filters -------------------------------------------------------------------------------


@pytest.fixture
def dataset(catalog: Catalog, store_url: str) -> dict[str, str]:
    """Eight runs over two jobs; returns label → run id."""
    runs = {
        "eu7": make_record(0, params={"region": "eu", "days": 7}, scraps={"total": 70.5}),
        "us30": make_record(
            10, params={"region": "us", "days": 30}, scraps={"total": 300}, tags=["nightly"]
        ),
        "eu_fail": make_record(
            20,
            status="failed",
            params={"region": "eu", "days": 1},
            error=("ValueError", "Bad Region code"),
            tags=["nightly", "critical"],
        ),
        "apac": make_record(30, params={"region": "apac", "days": 14}, scraps={"total": 5}),
        "timeout": make_record(
            60 * 24, job="etl", status="timed_out", params={"source": "s3"}, tags=["etl"]
        ),
        "etl_ok": make_record(60 * 25, job="etl", params={"source": "db", "days": "7"}),
        "queued": make_record(60 * 26, job="etl", status="running", started=False),
        "died": make_record(
            60 * 48, job="etl", status="kernel_died", error=("DeadKernelError", "kernel died")
        ),
    }
    for record in runs.values():
        catalog.index_run(store_url, record)
    catalog.index_run(store_url + "-other", make_record(5, params={"region": "eu"}))
    return {label: record.run_id for label, record in runs.items()}


def _labels(catalog: Catalog, store: str, ids: dict[str, str], **kwargs: object) -> list[str]:
    by_id = {run_id: label for label, run_id in ids.items()}
    found = [by_id[r.run_id] for r in catalog.query_runs(store, RunFilter(**kwargs))]
    assert catalog.count_runs(store, RunFilter(**kwargs)) == len(found)
    return found


def test_every_filter(catalog: Catalog, store_url: str, dataset: dict[str, str]):
    def q(**kwargs: object) -> list[str]:
        return _labels(catalog, store_url, dataset, **kwargs)

    newest_first = ["died", "queued", "etl_ok", "timeout", "apac", "eu_fail", "us30", "eu7"]
    assert q() == newest_first
    assert q(job="report") == ["apac", "eu_fail", "us30", "eu7"]
    assert q(job="missing") == []
    assert q(status=["failed", "kernel_died"]) == ["died", "eu_fail"]
    assert q(status=["running"]) == ["queued"]
    day2 = (BASE_TIME.replace(day=2)).strftime("%Y-%m-%d")
    assert q(since=parse_when(day2)) == ["died", "etl_ok", "timeout"]  # queued: not started
    assert q(until=parse_when(day2)) == ["apac", "eu_fail", "us30", "eu7"]
    # since inclusive, until exclusive
    start_us30 = "2026-11-01T08:10:00.000Z"
    assert q(since=start_us30, until="2026-11-01T08:20:00.000Z") == ["us30"]
    assert q(tag="nightly") == ["eu_fail", "us30"]
    assert q(tag="critical", status=["failed"]) == ["eu_fail"]
    assert q(tag="night") == []
    assert q(params=[("region", "=", "eu")]) == ["eu_fail", "eu7"]
    assert q(params=[("region", "!=", "eu")]) == ["apac", "us30"]  # only runs that have it
    assert q(params=[("days", ">", "7")]) == ["apac", "us30"]  # numeric, not text ("30" < "7")
    assert q(params=[("days", ">=", "7")]) == ["apac", "us30", "eu7"]  # "7" (str) has no number
    assert q(params=[("days", "<", "7")]) == ["eu_fail"]
    assert q(params=[("days", "<=", "7.0")]) == ["eu_fail", "eu7"]
    assert q(params=[("days", "=", "7")]) == ["etl_ok", "eu7"]  # int 7 and the string "7"
    assert q(params=[("days", "!=", "7")]) == ["apac", "eu_fail", "us30"]
    assert q(params=[("region", "<", "eu")]) == ["apac"]  # text order for non-numbers
    assert q(params=[("region", "=", "eu"), ("days", ">", "3")]) == ["eu7"]
    assert q(scraps=[("total", ">", "60")]) == ["us30", "eu7"]
    assert q(scraps=[("total", "=", "70.5")]) == ["eu7"]
    assert q(scraps=[("total", "<=", "5")]) == ["apac"]
    assert q(error="bad region") == ["eu_fail"]
    assert q(error="KERNEL") == ["died"]
    assert q(error="Error:") == ["died", "eu_fail"]
    assert q(error="%") == []  # wildcards are literal
    assert q(job="etl", status=["timed_out"], tag="etl", params=[("source", "=", "s3")]) == [
        "timeout"
    ]


def test_pagination(catalog: Catalog, store_url: str, dataset: dict[str, str]):
    all_ids = [r.run_id for r in catalog.query_runs(store_url, RunFilter(limit=None))]
    assert len(all_ids) == 8
    assert all_ids == sorted(all_ids, reverse=True)
    pages = [
        [r.run_id for r in catalog.query_runs(store_url, RunFilter(limit=3, offset=offset))]
        for offset in (0, 3, 6, 9)
    ]
    assert pages[0] + pages[1] + pages[2] == all_ids
    assert [len(p) for p in pages] == [3, 3, 2, 0]
    assert catalog.count_runs(store_url, RunFilter(limit=3, offset=3)) == 8
    assert len(catalog.query_runs(store_url)) == 8  # default limit 50
    assert catalog.count_runs(store_url + "-other") == 1


def test_bad_filters_are_rejected(catalog: Catalog, store_url: str):
    with pytest.raises(BadInput, match="unknown run status 'fail'"):
        catalog.query_runs(store_url, RunFilter(status=["fail"]))
    with pytest.raises(BadInput, match="operator"):
        catalog.count_runs(store_url, RunFilter(params=[("a", "~", "b")]))
    with pytest.raises(BadInput, match="limit"):
        catalog.query_runs(store_url, RunFilter(limit=-1))


def test_get_run_by_id_or_unique_prefix(catalog: Catalog, store_url: str):
    first = make_record(0)
    first.run_id = "20261101T080000000Z-aaaa0001"
    second = make_record(0)
    second.run_id = "20261101T080000000Z-aaaa0002"
    third = make_record(1)
    for record in (first, second, third):
        catalog.index_run(store_url, record)
    assert catalog.get_run(store_url, first.run_id).run_id == first.run_id
    assert catalog.get_run(store_url, "20261101T080000000Z-aaaa0002").run_id == second.run_id
    assert catalog.get_run(store_url, third.run_id[:16]).run_id == third.run_id
    with pytest.raises(RunNotFound, match="ambiguous"):
        catalog.get_run(store_url, "20261101T080000000Z-aaaa000")
    assert catalog.get_run(store_url, "1999") is None
    assert catalog.get_run(store_url, "2026110_") is None  # '_' is no wildcard
    assert catalog.get_run(store_url + "-other", first.run_id) is None
    with pytest.raises(InvalidName):
        catalog.get_run(store_url, "")


def test_previous_run_id_is_the_same_jobs_run_just_before(catalog: Catalog, store_url: str):
    a, other, b, c = make_record(0), make_record(1, job="etl"), make_record(2), make_record(3)
    for record in (a, other, b, c):
        catalog.index_run(store_url, record)
    assert catalog.previous_run_id(store_url, "report", c.run_id) == b.run_id
    assert catalog.previous_run_id(store_url, "report", b.run_id) == a.run_id  # not etl's
    assert catalog.previous_run_id(store_url, "report", a.run_id) is None
    assert catalog.previous_run_id(store_url + "-other", "report", c.run_id) is None


def test_delete_run_and_clear_are_scoped_to_a_store(catalog: Catalog, store_url: str):
    a, b = make_record(0, params={"x": 1}), make_record(1)
    for record in (a, b):
        catalog.index_run(store_url, record)
        catalog.index_run(store_url + "-other", record)
    catalog.index_job_version(store_url, make_version("report", 1))
    catalog.delete_run(store_url, a.run_id)
    assert set(catalog.run_ids(store_url)) == {b.run_id}
    assert not [v for v in catalog.dump(store_url)["run_values"] if v["run_id"] == a.run_id]
    assert len(catalog.run_ids(store_url + "-other")) == 2
    catalog.clear(store_url)
    assert catalog.dump(store_url) == {t: [] for t in catalog.dump(store_url)}
    assert len(catalog.run_ids(store_url + "-other")) == 2


def test_transaction_rolls_back_when_the_store_step_fails(catalog: Catalog, store_url: str):
    keep = make_record(0)
    catalog.index_run(store_url, keep)
    with pytest.raises(OSError):
        with catalog.transaction():
            catalog.delete_run(store_url, keep.run_id)
            catalog.index_run(store_url, make_record(1))
            assert set(catalog.run_ids(store_url)) != {keep.run_id}  # seen inside
            raise OSError("store delete failed")
    assert set(catalog.run_ids(store_url)) == {keep.run_id}
    with catalog.transaction():
        catalog.delete_run(store_url, keep.run_id)
    assert catalog.run_ids(store_url) == {}


# -- jobs ----------------------------------------------------------------------------------


def test_job_versions_and_summary(catalog: Catalog, store_url: str):
    catalog.index_job_version(store_url, make_version("report", 2, tags=["team"]))
    catalog.index_job_version(store_url, make_version("report", 1))
    catalog.index_job_version(store_url, make_version("report", 2, schedule="@hourly"))  # no-op
    catalog.index_job_version(store_url, make_version("etl", 1, schedule=None))
    versions = catalog.job_versions(store_url, "report")
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].to_dict() == make_version("report", 2, tags=["team"]).to_dict()
    assert catalog.indexed_versions(store_url) == {"report": {1, 2}, "etl": {1}}

    for minutes, status in [(0, "succeeded"), (1, "failed"), (2, "succeeded"), (3, "failed")]:
        catalog.index_run(store_url, make_record(minutes, status=status))
    last = make_record(4, status="succeeded")
    catalog.index_run(store_url, last)
    adhoc = make_record(5, job="scratch", status="failed")
    catalog.index_run(store_url, adhoc)

    summaries = {s.name: s for s in catalog.jobs(store_url)}
    assert set(summaries) == {"etl", "report"}
    report = summaries["report"]
    assert report.latest_version == 2
    assert report.schedule == "@daily"
    assert report.timezone == "Europe/Berlin"
    assert report.tags == ["team"]
    assert report.definition["parameters"] == {"region": "eu", "days": 2}
    assert report.notebook_sha256 == f"{2:064x}"
    assert (report.runs_total, report.runs_succeeded) == (5, 3)
    assert (report.last_run_id, report.last_status) == (last.run_id, "succeeded")
    assert report.last_started_at == last.started_at
    assert report.paused is False
    etl = summaries["etl"]
    assert (etl.schedule, etl.runs_total, etl.last_run_id, etl.last_status) == (None, 0, None, None)

    with_adhoc = {s.name: s for s in catalog.jobs(store_url, include_adhoc=True)}
    assert with_adhoc["scratch"].latest_version is None
    assert (with_adhoc["scratch"].runs_total, with_adhoc["scratch"].last_status) == (1, "failed")
    assert catalog.job(store_url, "report").runs_total == 5
    assert catalog.job(store_url, "scratch").last_run_id == adhoc.run_id
    assert catalog.job(store_url, "missing") is None
    assert catalog.jobs(store_url + "-other") == []


def test_pause_survives_new_versions_and_delete_job(catalog: Catalog, store_url: str):
    catalog.index_job_version(store_url, make_version("report", 1))
    catalog.set_paused(store_url, "report", True)
    catalog.set_paused(store_url, "unknown", True)  # no-op
    catalog.index_job_version(store_url, make_version("report", 2))
    assert catalog.job(store_url, "report").paused is True
    assert catalog.paused_jobs(store_url) == {"report": True}
    catalog.set_paused(store_url, "report", False)
    assert catalog.job(store_url, "report").paused is False

    run = make_record(0)
    catalog.index_run(store_url, run)
    catalog.delete_job(store_url, "report")
    assert catalog.jobs(store_url) == []
    assert catalog.job_versions(store_url, "report") == []
    assert set(catalog.run_ids(store_url)) == {run.run_id}  # runs stay unless asked
    catalog.index_job_version(store_url, make_version("report", 1))
    catalog.delete_job(store_url, "report", runs_too=True)
    assert catalog.dump(store_url) == {t: [] for t in catalog.dump(store_url)}


def test_dump_is_json_and_canonical(catalog: Catalog, store_url: str):
    records = [make_record(i, params={"i": i}, tags=["t"]) for i in range(3)]
    for record in reversed(records):
        catalog.index_run(store_url, record)
    catalog.index_job_version(store_url, make_version("report", 1))
    dumped = catalog.dump(store_url)
    assert json.loads(json.dumps(dumped)) == dumped
    assert [r["run_id"] for r in dumped["runs"]] == [r.run_id for r in records]
    assert set(dumped) == TABLES


# -- parsing -------------------------------------------------------------------------------


def test_parse_when():
    now = BASE_TIME
    assert parse_when("7d", now) == "2026-10-25T08:00:00.000Z"
    assert parse_when("12h", now) == "2026-10-31T20:00:00.000Z"
    assert parse_when("30m", now) == "2026-11-01T07:30:00.000Z"
    assert parse_when("2026-11-01") == "2026-11-01T00:00:00.000Z"
    assert parse_when("2026-11-01T10:00:00Z") == "2026-11-01T10:00:00.000Z"
    assert parse_when("2026-11-01T10:00:00+02:00") == "2026-11-01T08:00:00.000Z"
    assert parse_when("2026-11-01 10:00") == "2026-11-01T10:00:00.000Z"
    for bad in ("", "yesterday", "7 days", "-3d", "2026-13-01", "7x"):
        with pytest.raises(BadInput, match="invalid time") as caught:
            parse_when(bad)
        assert "\n" not in str(caught.value)


def test_parse_condition():
    assert parse_condition("region=eu") == ("region", "=", "eu")
    assert parse_condition("days>=7") == ("days", ">=", "7")
    assert parse_condition("days <= 7") == ("days", "<=", "7")
    assert parse_condition("a!=b") == ("a", "!=", "b")
    assert parse_condition("a==b") == ("a", "=", "b")
    assert parse_condition("a<b") == ("a", "<", "b")
    assert parse_condition("a>b") == ("a", ">", "b")
    assert parse_condition("url=http://x?a=b") == ("url", "=", "http://x?a=b")
    assert parse_condition("empty=") == ("empty", "=", "")
    for bad in ("region", "=eu", "", "  >3"):
        with pytest.raises(BadInput, match="invalid condition"):
            parse_condition(bad)
