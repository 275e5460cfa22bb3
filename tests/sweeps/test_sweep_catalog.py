"""catalog/sweeps.py in-process: the queue states of a sweep's runs, many ids at once."""

from __future__ import annotations

from nbprod.catalog import open_catalog
from nbprod.catalog.sweeps import CHUNK, queue_states
from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core.sweeps import create_sweep
from nbprod.records import new_run_id
from nbprod.sweeps.plan import plan_sweep


def test_queue_states_of_more_ids_than_one_chunk(nbprod_env, make_notebook):
    nb = make_notebook("pass", parameters="n: int = 1", name="states.ipynb")
    settings = Settings.load()
    info = create_sweep(Workspace(settings), plan_sweep(nb, axes=[("n", "1,2,3")]))
    unknown = [new_run_id() for _ in range(CHUNK + 10)]
    catalog = open_catalog(settings)
    try:
        # The sweep's ids straddle the chunk boundary; ids the queue does not hold are absent.
        ids = [*unknown[: CHUNK - 1], *info.run_ids, *unknown[CHUNK - 1 :]]
        states = queue_states(catalog, info.store, ids)
        assert states == {run_id: ("queued", None) for run_id in info.run_ids}
        assert queue_states(catalog, "file:///elsewhere", info.run_ids) == {}
    finally:
        catalog.close()
