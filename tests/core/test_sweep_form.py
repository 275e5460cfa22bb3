"""A sweep from the JupyterLab dialog's form (``POST /nbprod/api/sweeps``), in process: the
core's sweep function queues one run per combination, tagged with the sweep, or refuses
the form naming the field and queues nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbprod.config import Settings
from nbprod.core import Workspace
from nbprod.core.sweeps import sweep_from_form
from nbprod.errors import FieldError, NotFound
from nbprod.sweeps.record import get_sweep

PARAMETERS = "lr: float = 0.1\ndepth: int | None = None\nname: str = 'a'\nflag: bool = False"


@pytest.fixture
def ws(nbprod_env, tmp_path):
    with Workspace(Settings.load()) as workspace:
        yield workspace


@pytest.fixture
def notebook(make_notebook) -> Path:
    return make_notebook("print(lr, depth)", parameters=PARAMETERS, name="train.ipynb")


def test_a_two_by_two_form_queues_four_runs_of_one_sweep(ws, notebook):
    form = {
        "path": notebook.name,
        "name": "grid",
        "parameters": {"lr": ["0.1", "0.01"], "depth": [None, "3"], "name": ["b"]},
    }
    info = sweep_from_form(ws, form, root=notebook.parent)
    assert info.swept == ["lr", "depth"] and info.base == {"name": "b"} and info.job == "grid"
    assert info.parameter_sets == [
        {"lr": 0.1, "depth": None},
        {"lr": 0.1, "depth": 3},
        {"lr": 0.01, "depth": None},
        {"lr": 0.01, "depth": 3},
    ]
    queued = [ws.queue.get(ws.store.url, run_id) for run_id in info.run_ids]
    assert [q.state for q in queued] == ["queued"] * 4
    assert all(f"sweep:{info.sweep_id}" in q.request["tags"] for q in queued)
    assert [q.request["parameters"] for q in queued] == [
        {**s, "name": "b"} for s in info.parameter_sets
    ]
    assert get_sweep(info.sweep_id, settings=ws.settings).run_ids == info.run_ids


@pytest.mark.parametrize(
    ("parameters", "extra", "field", "message"),
    [
        ({"lr": ["0.1", "fast"]}, {}, "parameters.lr", "value 2 of 2: parameter 'lr' expects"),
        ({"depth": ["", "3"]}, {}, "parameters.depth", "value 1 of 2"),  # '' is no None word
        ({"flag": ["true", "maybe"]}, {}, "parameters.flag", "expects bool"),
        ({"epochs": ["1", "2"]}, {}, "parameters.epochs", "unknown parameter 'epochs'"),
        ({"lr": []}, {}, "parameters.lr", "empty list"),
        ({"lr": ["0.1"]}, {}, "parameters", "nothing to sweep"),
        ({"lr": ["0.1", "0.2"]}, {"name": "bad name!"}, "name", "letters, digits"),
        ({"lr": ["0.1", "0.2"]}, {"timeout": "soon"}, "timeout", "soon"),
        ({"lr": ["0.1", "0.2"]}, {"kernel": "no-such-kernel"}, "kernel", "no-such-kernel"),
        ([1, 2], {}, "parameters", "must be an object"),
    ],
)
def test_a_bad_form_names_its_field_and_queues_nothing(
    ws, notebook, parameters, extra, field, message
):
    form = {"path": notebook.name, "parameters": parameters, **extra}
    with pytest.raises(FieldError, match=message) as failed:
        sweep_from_form(ws, form, root=notebook.parent)
    assert failed.value.field == field
    assert ws.queue.items(("queued",), limit=10) == []


def test_a_missing_notebook_is_not_found(ws, notebook):
    with pytest.raises(NotFound):
        sweep_from_form(ws, {"path": "nope.ipynb", "parameters": {}}, root=notebook.parent)
