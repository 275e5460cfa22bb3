"""Sweep planning (no kernels): value splitting, grid forms, typing and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbprod.errors import BadInput, ParameterError
from nbprod.sweeps.plan import plan_sweep, split_values
from nbprod.sweeps.record import SweepInfo
from nbprod.sweeps.table import SweepRow, SweepTable

PARAMS = """
lr: float = 0.1  # learning rate
depth: int = 3  # tree depth
name: str = "x"  # a label
features: list[str] = []  # feature subset
options: dict = {}  # extra options
flag: bool = False  # a switch
"""


@pytest.fixture
def nb(make_notebook) -> Path:
    return make_notebook("pass", parameters=PARAMS, name="plan.ipynb")


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("0.1,0.01", ["0.1", "0.01"]),
        ("eu", ["eu"]),
        ("[1, 2],[3]", ["[1, 2]", "[3]"]),
        ("{a: 1, b: 2},{}", ["{a: 1, b: 2}", "{}"]),
        ("'a,b',c", ["'a,b'", "c"]),
        (r"a\,b,c", ["a,b", "c"]),
        ("a,,b", ["a", "", "b"]),
    ],
)
def test_split_values(text: str, values: list[str]):
    assert split_values(text) == values


def test_cli_axes_are_typed_by_the_schema_and_multiplied(nb: Path):
    plan = plan_sweep(nb, axes=[("lr", "0.1,1e-3"), ("depth", "3,5"), ("name", "007")])
    assert plan.swept == ["lr", "depth", "name"]
    assert plan.sets == [
        {"lr": 0.1, "depth": 3, "name": "007"},
        {"lr": 0.1, "depth": 5, "name": "007"},
        {"lr": 0.001, "depth": 3, "name": "007"},
        {"lr": 0.001, "depth": 5, "name": "007"},
    ]
    assert isinstance(plan.sets[0]["name"], str) and isinstance(plan.sets[2]["lr"], float)


def test_list_and_dict_values_on_the_command_line(nb: Path):
    plan = plan_sweep(nb, axes=[("features", "[a, b],[c]"), ("options", "{k: 1},{}")])
    assert [s["features"] for s in plan.sets] == [["a", "b"], ["a", "b"], ["c"], ["c"]]
    assert [s["options"] for s in plan.sets] == [{"k": 1}, {}, {"k": 1}, {}]


def test_grid_mapping_form_with_a_scalar_and_a_list_parameter(nb: Path, tmp_path: Path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("lr: [0.1, 0.01]\nfeatures: [[a, 'b,c'], []]\nflag: true\n")
    plan = plan_sweep(nb, grid_file=grid)
    assert plan.swept == ["lr", "features", "flag"]
    assert len(plan.sets) == 4 and plan.sets[1] == {"lr": 0.1, "features": [], "flag": True}
    assert plan.sets[0]["features"] == ["a", "b,c"]  # commas inside values: use a grid file
    assert plan.grid["axes"]["flag"] == [True] and plan.grid["sets"] is None


def test_grid_list_form_crossed_with_cli_axes_and_fixed_values(nb: Path, tmp_path: Path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("- {lr: 0.5, depth: 2}\n- {lr: 0.05}\n")
    plan = plan_sweep(nb, grid_file=grid, axes=[("flag", "yes,no")], parameter_yaml=["name: fixed"])
    assert plan.sets == [
        {"lr": 0.5, "depth": 2, "flag": True},
        {"lr": 0.5, "depth": 2, "flag": False},
        {"lr": 0.05, "flag": True},
        {"lr": 0.05, "flag": False},
    ]
    assert plan.base == {"name": "fixed"} and plan.parameters(2)["name"] == "fixed"
    assert plan.swept == ["lr", "depth", "flag"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("lr: [0.1, fast]\n", "run 2 of 2 (lr=\"fast\"): parameter 'lr' expects float"),
        ("lrr: [0.1]\n", "did you mean 'lr'?"),
        ("- {lr: 0.1}\n- 3\n", "entry 2 must be a mapping"),
        ("just text\n", "expected a mapping of name: [values] or a list"),
        ("features: [a, b]\n", "parameter 'features' expects list[str]"),
        ("lr: []\n", "empty list of values"),
        ("lr: [0.1\n", "not valid YAML/JSON"),
    ],
)
def test_bad_grid_files(nb: Path, tmp_path: Path, content: str, message: str):
    grid = tmp_path / "grid.yaml"
    grid.write_text(content)
    with pytest.raises(BadInput) as err:
        plan_sweep(nb, grid_file=grid)
    assert message in str(err.value)


def test_same_name_in_grid_and_cli_is_rejected(nb: Path, tmp_path: Path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("lr: [0.1]\n")
    with pytest.raises(ParameterError, match="in both --grid and -p"):
        plan_sweep(nb, grid_file=grid, axes=[("lr", "0.2")])


def _table() -> SweepTable:
    info = SweepInfo(
        sweep_id="20261126T000000000Z-00000000",
        created_at="2026-11-26T00:00:00.000Z",
        notebook={"path": "/x.ipynb", "name": "x.ipynb", "sha256": "0" * 64},
        job="x",
        store="/store",
        swept=["lr", "status"],
        grid={"axes": {}, "sets": None},
        base={},
        parameter_sets=[],
        run_ids=["r1", "r2", "r3"],
    )
    rows = [
        SweepRow(0, "r1", {"lr": 0.1, "status": "a"}, "succeeded", 1.0, {"acc": 0.8, "lr": 1}),
        SweepRow(1, "r2", {"lr": 0.2, "status": "b"}, "failed", 2.0, {}, "ValueError: x"),
        SweepRow(2, "r3", {"lr": 0.3, "status": "c"}, "succeeded", 3.0, {"acc": 0.9, "lr": 2}),
    ]
    return SweepTable(info, ["lr", "status"], ["acc", "lr"], rows)


def test_table_columns_avoid_clashes_and_sorting_keeps_missing_values_last():
    table = _table()
    assert table.columns() == [
        "run_id", "lr", "param.status", "status", "duration_s", "acc", "scrap.lr", "error",
    ]  # fmt: skip
    assert [r.run_id for r in table.sorted_by("acc", descending=True).rows] == ["r3", "r1", "r2"]
    assert [r.run_id for r in table.sorted_by("acc").rows] == ["r1", "r3", "r2"]
    assert [r.run_id for r in table.sorted_by("param.lr", descending=True).rows] == [
        "r3", "r2", "r1",
    ]  # fmt: skip
    assert table.points("param.lr", "acc") == [(0.1, 0.8, "r1"), (0.3, 0.9, "r3")]
    assert table.counts == {"succeeded": 2, "failed": 1}
    assert table.to_csv().splitlines()[2] == "r2,0.2,b,failed,2.0,,,ValueError: x"
    with pytest.raises(BadInput, match="cannot sort by 'nope'"):
        table.sorted_by("nope")
