"""Two machines share one S3 prefix (a real moto_server over HTTP), each with its own
catalog: each writes runs, syncs, and sees the other's runs too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbprod.catalog.db import Catalog
from nbprod.catalog.query import RunFilter
from nbprod.catalog.sync import rebuild, sync
from nbprod.records import RunRecord
from nbprod.store import Store, layout, open_store
from tests.catalog.records_factory import make_record, make_version

pytestmark = pytest.mark.s3


def _publish(store: Store, record: RunRecord) -> None:
    """What a run does at its end: the output notebook, then the record last."""
    name = record.notebook.name
    store.put(layout.output_key(record.job, record.run_id, name), b'{"cells": []}')
    store.put(layout.record_key(record.job, record.run_id), record.to_json().encode())


def test_two_machines_see_each_others_runs(s3_env: dict[str, str], tmp_path: Path):
    url = s3_env["NBPROD_STORE"]
    machine_a, machine_b = open_store(url), open_store(url)  # separate clients
    assert machine_a.url == machine_b.url == url
    catalog_a = Catalog.open(f"sqlite:///{tmp_path / 'a' / 'catalog.db'}")
    catalog_b = Catalog.open(f"sqlite:///{tmp_path / 'b' / 'catalog.db'}")

    from_a = [
        make_record(i, params={"region": "eu", "days": i}, store=url, tags=["a"]) for i in range(3)
    ]
    from_a.append(make_record(3, status="failed", error=("KeyError", "x"), store=url))
    for record in from_a:
        _publish(machine_a, record)
    version = make_version("report", 1)
    machine_a.put(layout.job_version_key("report", 1), json.dumps(version.to_dict()).encode())

    from_b = [make_record(10 + i, job="etl", params={"region": "us"}, store=url) for i in range(2)]
    running_b = make_record(20, job="etl", status="running", store=url)
    for record in [*from_b, running_b]:
        _publish(machine_b, record)

    result_a = sync(catalog_a, machine_a)
    result_b = sync(catalog_b, machine_b)
    assert (result_a.added, result_a.jobs) == (7, 1)
    assert (result_b.added, result_b.jobs) == (7, 1)
    every = {r.run_id for r in [*from_a, *from_b, running_b]}
    for catalog in (catalog_a, catalog_b):
        assert set(catalog.run_ids(url)) == every
        assert catalog.count_runs(url, RunFilter(job="report")) == 4
        assert catalog.count_runs(url, RunFilter(job="etl")) == 3
        assert catalog.count_runs(url, RunFilter(params=[("region", "=", "us")])) == 2
        assert catalog.count_runs(url, RunFilter(params=[("days", ">=", "1")])) == 2
        assert catalog.count_runs(url, RunFilter(status=["failed"], tag=None)) == 1
        assert catalog.count_runs(url, RunFilter(tag="a")) == 3
        assert catalog.job(url, "report").latest_version == 1

    # B's run finishes; A writes another run: each side picks up only what changed
    finished = make_record(20, job="etl", status="succeeded", store=url)
    finished.run_id = running_b.run_id
    _publish(machine_b, finished)
    late = make_record(30, store=url)
    _publish(machine_a, late)
    result_a = sync(catalog_a, machine_a)
    assert (result_a.added, result_a.updated, result_a.removed) == (1, 1, 0)
    result_b = sync(catalog_b, machine_b, full=True)
    assert (result_b.added, result_b.updated, result_b.removed) == (1, 1, 0)
    assert catalog_a.dump(url) == catalog_b.dump(url)
    assert catalog_b.run_ids(url)[running_b.run_id] == "succeeded"
    assert catalog_a.count_runs(url) == catalog_b.count_runs(url) == 8

    # and a third machine rebuilds the same index from the bucket alone
    catalog_c = Catalog.open(f"sqlite:///{tmp_path / 'c' / 'catalog.db'}")
    rebuild(catalog_c, open_store(url))
    assert catalog_c.dump(url) == catalog_a.dump(url)
    for catalog in (catalog_a, catalog_b, catalog_c):
        catalog.close()
