"""The stored sweep record, in-process: its store key, write-once, lookup by id prefix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core.sweeps import create_sweep
from nbprod.errors import BadInput
from nbprod.store import layout
from nbprod.sweeps.plan import plan_sweep
from nbprod.sweeps.record import get_sweep, list_sweeps

SWEEP_ID = "20261201T115000123Z-0123abcd"


def test_sweep_keys_live_with_the_other_key_schemes():
    assert layout.sweep_key(SWEEP_ID) == f".nbprod/sweeps/{SWEEP_ID}.json"
    assert layout.parse_sweep_name(f"{SWEEP_ID}.json") == SWEEP_ID
    assert layout.parse_sweep_name(f"{SWEEP_ID}.txt") is None
    assert layout.parse_sweep_name("notes.json") is None
    for bad in ("../x", SWEEP_ID + "\n", "", "20261201T115000123Z-0123ABCD"):
        with pytest.raises(BadInput, match="invalid sweep id"):
            layout.sweep_key(bad)


def test_a_created_sweep_is_stored_once_and_found_by_prefix(nbprod_env, make_notebook):
    nb = make_notebook("pass", parameters="lr: float = 0.1", name="rec.ipynb")
    settings = Settings.load()
    plan = plan_sweep(nb, axes=[("lr", "0.1,0.2")])
    info = create_sweep(Workspace(settings), plan, max_parallel=2)

    stored = Path(settings.store) / layout.sweep_key(info.sweep_id)
    data = json.loads(stored.read_text())
    assert data["run_ids"] == info.run_ids and len(info.run_ids) == 2
    assert data["parameter_sets"] == [{"lr": 0.1}, {"lr": 0.2}]
    assert get_sweep(info.sweep_id[:12], settings=settings).to_dict() == data
    assert [s.sweep_id for s in list_sweeps(settings=settings)] == [info.sweep_id]
    with pytest.raises(BadInput, match="no sweep"):
        get_sweep("19990101", settings=settings)
