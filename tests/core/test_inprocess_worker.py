"""The queue and the worker in this process: runs queued through the public API, executed by
a burst worker (as rq tests ``Worker.work(burst=True)``), read back through the API.

Real kernels execute real notebooks; only the process boundary is gone, so these cover the
core's queue-to-record path in seconds. The CLI end-to-end proofs (a `nbprod worker` process,
signals, crashes, fencing) stay in tests/scheduler/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nbformat
import pytest

from nbprod import api
from nbprod.config import Settings
from nbprod.records import RunStatus
from nbprod.scheduler.worker import Worker
from nbprod.store import open_store
from tests.conftest import EXAMPLES, GLUE


@pytest.fixture
def settings(nbprod_env: dict[str, str]) -> Settings:
    return Settings.load()


@pytest.fixture
def catalog(settings: Settings) -> Iterator[Any]:
    opened = api.open_catalog(settings)
    yield opened
    opened.close()


def burst(settings: Settings, catalog: Any) -> int:
    """Everything queued, executed here; returns how many runs the worker took."""
    return Worker(settings, catalog, burst=True, poll=0.05).run_forever()


def stored(record: Any, artifact: str) -> bytes:
    return open_store(record.store).get(record.artifacts[artifact])


def test_a_burst_worker_runs_every_queued_set_then_returns(settings, catalog, make_notebook):
    nb = make_notebook(
        GLUE + "glue('doubled', n * 2)\nprint('N IS', n)",
        parameters="n = 1",
    )
    requests = api.enqueue_notebook(nb, [{"n": 2}, {"n": 5}], settings=settings, job="doubler")
    assert {q["run_id"] for q in api.list_queued(settings=settings)} == {r.run_id for r in requests}
    assert burst(settings, catalog) == 2
    assert api.list_queued(settings=settings) == []
    for request, n in zip(requests, (2, 5), strict=True):
        record = api.get_run(request.run_id, settings=settings)
        assert record.status is RunStatus.SUCCEEDED, record.error
        assert record.job == "doubler" and record.parameters["n"] == n
        assert record.scraps["doubled"]["value"] == n * 2
        output = nbformat.reads(stored(record, "output").decode(), as_version=4)
        text = "".join(o.get("text", "") for c in output.cells for o in c.get("outputs", []))
        assert f"N IS {n}" in text
    listed = api.list_runs(settings=settings, job="doubler")
    assert sorted(r.run_id for r in listed) == sorted(r.run_id for r in requests)


def test_a_failing_notebook_ends_failed_with_its_error(settings, catalog):
    (request,) = api.enqueue_notebook(EXAMPLES / "failing_example.ipynb", [{}], settings=settings)
    assert burst(settings, catalog) == 1
    record = api.get_run(request.run_id, settings=settings)
    assert record.status is RunStatus.FAILED
    assert record.error is not None and record.error.ename == "ValueError"
    assert "data quality check failed" in record.error.evalue and record.error.cell_index
    assert stored(record, "output")  # the output is stored in every case


def test_a_cancelled_queued_run_is_never_executed(settings, catalog, make_notebook):
    nb = make_notebook("open(name, 'w').write('x')", parameters="name = 'x'")
    keep, drop = api.enqueue_notebook(
        nb, [{"name": "kept"}, {"name": "dropped"}], settings=settings, cwd=nb.parent
    )
    assert api.cancel_run(drop.run_id, settings=settings) == (
        f"cancelled {drop.run_id} before it started"
    )
    assert burst(settings, catalog) == 1
    assert api.get_run(keep.run_id, settings=settings).status is RunStatus.SUCCEEDED
    assert (nb.parent / "kept").exists() and not (nb.parent / "dropped").exists()
    assert api.list_queued(settings=settings) == []


def test_an_empty_queue_returns_at_once(settings, catalog):
    assert burst(settings, catalog) == 0
