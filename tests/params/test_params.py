"""Unit tests for nbprod.params: schema inference, value parsing, merging. No kernels."""

from __future__ import annotations

import json
import math

import nbformat
import pytest

from nbprod.errors import BadInput, ParameterError
from nbprod.params import (
    Parameter,
    ParameterSchema,
    coerce_value,
    infer_schema,
    parse_cli_value,
    recordable_default,
    resolve_parameters,
)


def make_nb(source: str | list[str], *, tag: str = "parameters", before: int = 1):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os") for _ in range(before)]
    nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": [tag]}))
    nb.cells.append(nbformat.v4.new_code_cell("print(region)"))
    return nb


def schema_of(source: str) -> ParameterSchema:
    return infer_schema(make_nb(source))


def p(name: str, type_: str, **kw) -> Parameter:
    return Parameter(name=name, type=type_, **kw)


# --------------------------------------------------------------------------- inference


def test_literal_defaults_give_types_and_bool_before_int():
    s = schema_of(
        "region = 'eu'\ndays = 7\nrate = 0.5\nverbose = True\nitems = [1, 2]\n"
        "cfg = {'a': 1}\npair = (1, 2)\nmissing = None\nneg = -3\n"
    )
    assert s.cell_index == 1
    assert s.names == [
        "region",
        "days",
        "rate",
        "verbose",
        "items",
        "cfg",
        "pair",
        "missing",
        "neg",
    ]
    types = {q.name: q.type for q in s.parameters}
    assert types == {
        "region": "str",
        "days": "int",
        "rate": "float",
        "verbose": "bool",
        "items": "list",
        "cfg": "dict",
        "pair": "list",
        "missing": "any",
        "neg": "int",
    }
    days = s.get("days")
    assert days == Parameter("days", "int", 7, "7", True, False, "", False)
    assert s.get("region").default_source == "'eu'"
    assert s.get("missing").nullable and s.get("missing").default is None
    assert s.get("neg").default == -3
    assert s.get("nope") is None


def test_annotations_give_types():
    s = schema_of(
        "from typing import Any, Dict, List, Optional\nimport typing\n"
        "a: int = 1\nb: float = 1\nc: list[int] = []\nd: List[str] = []\n"
        "e: dict[str, float] = {}\nf: Dict[str, int] = {}\ng: Optional[int] = None\n"
        "h: str | None = None\ni: typing.Any = 3\nj: Any = 'x'\nk: MyClass = make()\n"
        "l: typing.List[int] = []\nm: dict[int, str] = {}\nn: int | str = 1\n"
        "o: 'int' = 2\np: tuple[int, ...] = ()\nq: list = []\nr: dict = {}\ns: bool = False\n"
    )
    got = {q.name: (q.type, q.nullable) for q in s.parameters}
    assert got == {
        "a": ("int", False),
        "b": ("float", False),
        "c": ("list[int]", False),
        "d": ("list[str]", False),
        "e": ("dict[str, float]", False),
        "f": ("dict[str, int]", False),
        "g": ("int", True),
        "h": ("str", True),
        "i": ("any", False),
        "j": ("any", False),
        "k": ("any", False),
        "l": ("list[int]", False),
        "m": ("dict", False),
        "n": ("any", False),
        "o": ("int", False),
        "p": ("list[int]", False),
        "q": ("list", False),
        "r": ("dict", False),
        "s": ("bool", False),
    }


def test_annotated_with_none_default_is_nullable():
    q = schema_of("x: int = None\n").get("x")
    assert (q.type, q.nullable, q.required) == ("int", True, False)


def test_non_literal_default():
    s = schema_of("import datetime\nday = datetime.date.today()\nn: int = len('abc')\n")
    day = s.get("day")
    assert (day.type, day.default, day.literal_default) == ("any", None, False)
    assert day.default_source == "datetime.date.today()"
    assert s.get("n").type == "int" and not s.get("n").literal_default


def test_required_annotation_only():
    q = schema_of("threshold: float  # must be given\n").get("threshold")
    assert q == Parameter("threshold", "float", None, "", False, False, "must be given", True)


def test_help_from_trailing_and_above_comments():
    s = schema_of(
        "# Region to process\n# (two-letter code)\nregion = 'eu'\n"
        "days = 7  #  how many days back \n\n# orphan\n\nplain = 1\n"
        "both = 2  # trailing wins\n"
        "cfg = {\n  'a': 1,\n}  # closing comment\n"
        "x = 1  # about x\ny = 2\n"
    )
    assert s.get("region").help == "Region to process (two-letter code)"
    assert s.get("days").help == "how many days back"
    assert s.get("plain").help == ""
    assert s.get("both").help == "trailing wins"
    assert s.get("cfg").help == "closing comment"
    assert s.get("y").help == ""  # a trailing comment of the line above is not its help


def test_ignores_non_assignments_multi_target_and_unpacking():
    s = schema_of("import os\nprint('hi')\na = b = 1\nc, d = 1, 2\nobj.attr = 3\nx = 5\nx += 1\n")
    assert s.names == ["x"]


def test_magics_are_blanked_and_source_list_accepted():
    src = [
        "%matplotlib inline\n",
        "!ls -la\n",
        "  %time y = 1\n",
        "# the region\n",
        "region = 'eu'\n",
    ]
    s = infer_schema(make_nb(src))
    assert s.names == ["region"]
    assert s.get("region").help == "the region"


def test_plain_dict_notebook_and_first_tagged_cell():
    nb = {
        "nbformat": 4,
        "cells": [
            {"cell_type": "markdown", "metadata": {"tags": ["parameters"]}, "source": "x = 1"},
            {
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]},
                "source": ["a = 1\n", "b = 2"],
            },
            {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "c = 3"},
        ],
    }
    s = infer_schema(nb)
    assert (s.cell_index, s.names) == (1, ["a", "b"])


def test_redefinition_keeps_position_and_latest_value():
    s = schema_of("a: float\nb = 1\na = 2  # the a\n")
    assert s.names == ["a", "b"]
    a = s.get("a")
    assert (a.type, a.default, a.required, a.help) == ("float", 2, False, "the a")


def test_infer_without_parameters_cell():
    nb = make_nb("x = 1", tag="other")
    s = infer_schema(nb)
    assert s == ParameterSchema((), None)
    assert s.to_dict() == {"cell_index": None, "parameters": []}


def test_unparsable_cell():
    with pytest.raises(ParameterError, match=r"^parameters cell does not parse: .*line 2"):
        schema_of("x = 1\ny = = 2\n")


def test_to_dict_is_json_and_hides_non_json_defaults():
    s = schema_of("a = (1, 2)  # pair\nb = {1, 2}\nimport os\nc = os.getcwd()\nd: int\n")
    d = s.to_dict()
    json.dumps(d)
    assert d["cell_index"] == 1
    first = d["parameters"][0]
    assert first == {
        "name": "a",
        "type": "list",
        "default": [1, 2],
        "default_source": "(1, 2)",
        "nullable": False,
        "help": "pair",
        "required": False,
    }
    assert d["parameters"][1]["default"] is None  # set literal: not JSON-able
    assert d["parameters"][2]["default"] is None and d["parameters"][2]["default_source"]
    assert d["parameters"][3]["required"] is True


def test_parameter_error_is_bad_input():
    assert issubclass(ParameterError, BadInput)
    assert ParameterError("x").exit_code == 2


# --------------------------------------------------------------------------- CLI parsing


@pytest.mark.parametrize(
    ("type_", "text", "expected"),
    [
        ("str", "123", "123"),
        ("str", "  eu ", "  eu "),
        ("str", "none", "none"),
        ("int", "7", 7),
        ("int", "-7", -7),
        ("int", "+7", 7),
        ("int", "1_000", 1000),
        ("float", "1.5", 1.5),
        ("float", "2", 2.0),
        ("float", "1e-3", 0.001),
        ("bool", "true", True),
        ("bool", "YES", True),
        ("bool", "On", True),
        ("bool", "1", True),
        ("bool", "False", False),
        ("bool", "no", False),
        ("bool", "off", False),
        ("bool", "0", False),
        ("list", "[a, b]", ["a", "b"]),
        ("list", '["a", 1, 2.5]', ["a", 1, 2.5]),
        ("list[int]", "[1, 2, 3]", [1, 2, 3]),
        ("list[float]", "[1, 2.5]", [1.0, 2.5]),
        ("list[str]", "[a, '1']", ["a", "1"]),
        ("list[str]", "[2024-01-01]", ["2024-01-01"]),
        ("dict", '{"a": 1, "b": [1]}', {"a": 1, "b": [1]}),
        ("dict", "{a: 1}", {"a": 1}),
        ("dict[str, float]", "{a: 1, b: 2.5}", {"a": 1.0, "b": 2.5}),
        ("any", "7", 7),
        ("any", "2.5", 2.5),
        ("any", "true", True),
        ("any", "null", "null"),
        ("any", "None", None),
        ("any", "[1, 2]", [1, 2]),
        ("any", "{a: 1}", {"a": 1}),
        ("any", "hello", "hello"),
        ("any", "2024-01-01", "2024-01-01"),
        ("any", "2024-01-01T10:00:00", "2024-01-01T10:00:00"),
        ("any", "010", "010"),
        ("any", "'quoted'", "'quoted'"),
        ("any", "a: [", "a: ["),
        ("any", "", ""),
    ],
)
def test_parse_cli_value(type_, text, expected):
    got = parse_cli_value(p("x", type_), text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_parse_cli_float_refuses_non_finite(text):
    """Run records are strict JSON: a NaN or an infinity has no place in them."""
    with pytest.raises(ParameterError, match=r"^parameter 'x' expects float, got .*not a finite"):
        parse_cli_value(p("x", "float"), text)


@pytest.mark.parametrize("text", ["none", "null", "None", "~", "NULL"])
def test_nullable_accepts_null_words(text):
    assert parse_cli_value(p("n", "int", nullable=True), text) is None
    assert parse_cli_value(p("s", "str", nullable=True), text) is None
    assert parse_cli_value(p("l", "list[int]", nullable=True), text) is None


def test_not_nullable_rejects_null():
    with pytest.raises(ParameterError, match=r"^parameter 'n' expects int, got 'none'$"):
        parse_cli_value(p("n", "int"), "none")
    with pytest.raises(ParameterError, match=r"^parameter 'l' expects list, got null$"):
        parse_cli_value(p("l", "list"), "null")


@pytest.mark.parametrize(
    ("type_", "text"),
    [
        ("int", "seven"),
        ("int", "1.5"),
        ("int", ""),
        ("int", "true"),
        ("int", "1__0"),
        ("int", "_1"),
        ("float", "abc"),
        ("float", ""),
        ("bool", "maybe"),
        ("bool", "2"),
        ("bool", ""),
    ],
)
def test_parse_cli_scalar_errors(type_, text):
    with pytest.raises(ParameterError) as info:
        parse_cli_value(p("days", type_), text)
    assert str(info.value) == f"parameter 'days' expects {type_}, got {text!r}"


def test_parse_cli_container_errors():
    with pytest.raises(ParameterError, match=r"^parameter 'xs' expects list, got str 'a'$"):
        parse_cli_value(p("xs", "list"), "a")
    with pytest.raises(
        ParameterError, match=r"^parameter 'xs' expects list\[int\], got str 'b' at \[1\]$"
    ):
        parse_cli_value(p("xs", "list[int]"), "[1, b]")
    with pytest.raises(
        ParameterError,
        match=r"^parameter 'xs' expects list, got '\[1' "
        r"\(not valid YAML/JSON\)$",
    ):
        parse_cli_value(p("xs", "list"), "[1")
    with pytest.raises(ParameterError, match=r"^parameter 'd' expects dict, got list \[1\]$"):
        parse_cli_value(p("d", "dict"), "[1]")
    with pytest.raises(ParameterError, match=r"expects dict\[str, int\], got str 'x' at \['a'\]"):
        parse_cli_value(p("d", "dict[str, int]"), "{a: x}")


def test_error_messages_are_one_line():
    with pytest.raises(ParameterError) as info:
        parse_cli_value(p("xs", "list"), "[1,\n2")
    assert "\n" not in str(info.value).replace("'[1,\\n2'", "")


# --------------------------------------------------------------------------- coerce_value


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("str", "eu", "eu"),
        ("int", 7, 7),
        ("float", 7, 7.0),
        ("float", 2.5, 2.5),
        ("bool", False, False),
        ("list", (1, "a"), [1, "a"]),
        ("list[int]", [1, 2], [1, 2]),
        ("list[float]", [1, 2.5], [1.0, 2.5]),
        ("list[list[int]]", [[1], [2, 3]], [[1], [2, 3]]),
        ("dict", {"a": [1, 2]}, {"a": [1, 2]}),
        ("dict[str, list[str]]", {"a": ["x"]}, {"a": ["x"]}),
        ("any", {"a": (1, None)}, {"a": [1, None]}),
        ("any", None, None),
        ("any", 3, 3),
    ],
)
def test_coerce_value_accepts(type_, value, expected):
    got = coerce_value(p("x", type_), value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("str", 123, r"^parameter 'x' expects str, got int 123 \(quote it in YAML\)$"),
        ("str", True, r"^parameter 'x' expects str, got bool True \(quote it in YAML\)$"),
        ("str", ["a"], r"^parameter 'x' expects str, got list \['a'\]$"),
        ("int", True, r"^parameter 'x' expects int, got bool True$"),
        ("int", 7.0, r"^parameter 'x' expects int, got float 7.0$"),
        ("int", "7", r"^parameter 'x' expects int, got str '7'$"),
        ("int", None, r"^parameter 'x' expects int, got null$"),
        ("float", False, r"^parameter 'x' expects float, got bool False$"),
        ("float", "1.5", r"^parameter 'x' expects float, got str '1.5'$"),
        ("bool", 1, r"^parameter 'x' expects bool, got int 1$"),
        ("bool", "true", r"^parameter 'x' expects bool, got str 'true'$"),
        ("list", "abc", r"^parameter 'x' expects list, got str 'abc'$"),
        ("list", {"a": 1}, r"^parameter 'x' expects list, got dict"),
        ("list[int]", [1, 2.5], r"^parameter 'x' expects list\[int\], got float 2.5 at \[1\]$"),
        ("dict", [1], r"^parameter 'x' expects dict, got list \[1\]$"),
        ("dict", {1: "a"}, r"^parameter 'x' expects dict, got non-string key int 1$"),
        ("any", {1, 2}, r"^parameter 'x' expects any, got set \{1, 2\}, which is not JSON"),
        ("any", {"a": object()}, r"^parameter 'x' expects any, got object .*not JSON-compatible"),
    ],
)
def test_coerce_value_rejects(type_, value, message):
    with pytest.raises(ParameterError, match=message):
        coerce_value(p("x", type_), value)


def test_coerce_nullable():
    assert coerce_value(p("x", "str", nullable=True), None) is None
    assert coerce_value(p("x", "int", nullable=True), 3) == 3


def test_long_values_are_truncated_in_errors():
    with pytest.raises(ParameterError) as info:
        coerce_value(p("x", "int"), "y" * 500)
    assert len(str(info.value)) < 120 and str(info.value).endswith("...")


# --------------------------------------------------------------------------- resolve

SCHEMA_SRC = (
    "region = 'eu'  # region code\ndays = 7\nrate: float = 0.5\nverbose = False\n"
    "tags: list[str] = []\nlimit: int | None = None\n"
)


@pytest.fixture
def schema() -> ParameterSchema:
    return schema_of(SCHEMA_SRC)


def test_resolve_returns_only_supplied_in_schema_order(schema):
    got = resolve_parameters(schema, cli=[("verbose", "yes"), ("region", "123"), ("days", "3")])
    assert got == {"region": "123", "days": 3, "verbose": True}
    assert list(got) == ["region", "days", "verbose"]
    assert resolve_parameters(schema) == {}


def test_precedence_files_yaml_values_cli(schema, tmp_path):
    f1 = tmp_path / "a.yaml"
    f1.write_text("region: us\ndays: 1\nrate: 1\nverbose: true\ntags: [x]\n")
    f2 = tmp_path / "b.json"
    f2.write_text(json.dumps({"days": 2, "rate": 2.5, "verbose": False}))
    got = resolve_parameters(
        schema,
        files=[f1, str(f2)],
        yaml_texts=["days: 3\nrate: 3", "rate: 4.5\nlimit: 10"],
        values={"rate": 5, "limit": None},
        cli=[("limit", "6"), ("limit", "7")],
    )
    assert got == {
        "region": "us",
        "days": 3,
        "rate": 5.0,
        "verbose": False,
        "tags": ["x"],
        "limit": 7,
    }
    assert type(got["rate"]) is float


def test_only_the_final_value_is_validated(schema, tmp_path):
    f = tmp_path / "p.yml"
    f.write_text("days: seven\n")
    assert resolve_parameters(schema, files=[f], cli=[("days", "7")]) == {"days": 7}


def test_resolve_yaml_str_param_number(schema):
    with pytest.raises(
        ParameterError, match=r"^parameter 'region' expects str, got int 123 \(quote it in YAML\)$"
    ):
        resolve_parameters(schema, yaml_texts=["region: 123"])
    assert resolve_parameters(schema, yaml_texts=["region: '123'"]) == {"region": "123"}


def test_resolve_yaml_dates_stay_strings(tmp_path):
    s = schema_of("day = '2024-01-01'\n")
    assert resolve_parameters(s, yaml_texts=["day: 2024-02-03"]) == {"day": "2024-02-03"}


def test_unknown_parameter_with_suggestion(schema):
    with pytest.raises(ParameterError) as info:
        resolve_parameters(schema, cli=[("dayz", "3")])
    assert str(info.value) == (
        "unknown parameter 'dayz' (known: region, days, rate, verbose, "
        "tags, limit); did you mean 'days'?"
    )


def test_unknown_parameter_without_suggestion(schema):
    with pytest.raises(
        ParameterError, match=r"^unknown parameter 'zzz' \(known: region, .*limit\)$"
    ):
        resolve_parameters(schema, values={"zzz": 1})


def test_unknown_parameter_from_file(schema, tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("regoin: eu\n")
    with pytest.raises(ParameterError, match=r"unknown parameter 'regoin'.*did you mean 'region'"):
        resolve_parameters(schema, files=[f])


def test_empty_parameters_cell_known_none():
    with pytest.raises(ParameterError, match=r"^unknown parameter 'x' \(known: none\)$"):
        resolve_parameters(schema_of("import os\n"), cli=[("x", "1")])


def test_no_parameters_cell():
    s = infer_schema(make_nb("x = 1", tag="nope"))
    with pytest.raises(ParameterError) as info:
        resolve_parameters(s, cli=[("x", "1")])
    assert str(info.value) == (
        "this notebook has no parameters cell (a cell tagged 'parameters'); cannot set 'x'"
    )
    assert resolve_parameters(s) == {}


def test_missing_required():
    s = schema_of("threshold: float\nname = 'a'\n")
    with pytest.raises(
        ParameterError,
        match=r"^missing required parameter 'threshold' \(float\); "
        r"set it with -p threshold VALUE$",
    ):
        resolve_parameters(s, cli=[("name", "b")])
    assert resolve_parameters(s, values={"threshold": 1}) == {"threshold": 1.0}


def test_file_not_found(schema, tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ParameterError, match=r"^parameters file not found: .*nope\.yaml$"):
        resolve_parameters(schema, files=[missing])


def test_bad_yaml_file_names_file_and_line(schema, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("region: eu\ndays: [1, 2\nrate: 1\n")
    with pytest.raises(ParameterError) as info:
        resolve_parameters(schema, files=[f])
    msg = str(info.value)
    assert msg.startswith(f"parameters file {f}: invalid YAML at line ")
    assert "\n" not in msg


def test_bad_json_file_names_file_and_line(schema, tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('{\n  "days": 1,\n}\n')
    with pytest.raises(ParameterError, match=rf"^parameters file {f}: invalid JSON at line 3: .+$"):
        resolve_parameters(schema, files=[f])


@pytest.mark.parametrize("content", ["[1, 2]\n", "just text\n", "42\n"])
def test_file_top_level_must_be_mapping(schema, tmp_path, content):
    f = tmp_path / "p.yaml"
    f.write_text(content)
    with pytest.raises(ParameterError, match=r"^parameters file .*: expected a mapping"):
        resolve_parameters(schema, files=[f])


def test_empty_file_is_empty_mapping(schema, tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("# nothing yet\n")
    assert resolve_parameters(schema, files=[f]) == {}


def test_yaml_text_errors(schema):
    with pytest.raises(ParameterError, match=r"^-y text: invalid YAML at line 1: "):
        resolve_parameters(schema, yaml_texts=["days: [1"])
    with pytest.raises(ParameterError, match=r"^-y text: expected a mapping .*got list$"):
        resolve_parameters(schema, yaml_texts=["[1, 2]"])
    with pytest.raises(ParameterError, match=r"^-y text: parameter names must be strings"):
        resolve_parameters(schema, yaml_texts=["1: 2"])


def test_values_mapping_is_type_checked(schema):
    with pytest.raises(ParameterError, match=r"^parameter 'tags' expects list\[str\], got int 1 "):
        resolve_parameters(schema, values={"tags": ["a", 1]})
    assert resolve_parameters(schema, values={"tags": ("a", "b")}) == {"tags": ["a", "b"]}


# --------------------------------------------------------------------------- reliability


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", "yes"),
        ("off", "off"),
        ("No", "No"),
        ("null", "null"),
        ("~", "~"),
        ("#general", "#general"),
        ("Note: hello", "Note: hello"),
        ("- a", "- a"),
        ("hello world", "hello world"),
        ("nan", "nan"),
        ("True", True),
        ("false", False),
        ("None", None),
        ("7", 7),
        ("-2.5", -2.5),
        ("1e3", 1000.0),
        ("[1, a]", [1, "a"]),
        ("{a: 1}", {"a": 1}),
        ("[not closed", "[not closed"),
    ],
)
def test_untyped_parameter_follows_papermills_rule(text, expected):
    """`msg = None`: a plain word or sentence stays a string (no YAML yes/no/~/null)."""
    param = schema_of("msg = None\n").get("msg")
    got = parse_cli_value(param, text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("float", math.nan),
        ("float", math.inf),
        ("any", -math.inf),
        ("list[float]", [1.0, math.nan]),
        ("dict", {"a": {"b": math.inf}}),
        ("int", "huge"),
        ("any", ["huge"]),
    ],
)
def test_values_a_strict_json_record_cannot_hold_are_refused(type_, value):
    huge = 10**5000
    value = huge if value == "huge" else [huge] if value == ["huge"] else value
    with pytest.raises(ParameterError, match=r"not a finite number|more than 4300 digits"):
        coerce_value(p("x", type_), value)


def test_huge_ints_are_one_line_errors_from_every_source(tmp_path):
    huge = "9" * 5000
    s = schema_of("n = 1\nx = None\nd: dict = {}\n")
    for name in ("n", "x"):
        with pytest.raises(ParameterError, match=rf"^parameter '{name}' .*more than 4300 digits$"):
            resolve_parameters(s, cli=[(name, huge)])
    with pytest.raises(ParameterError, match=r"more than 4300 digits"):
        resolve_parameters(s, cli=[("d", "{a: " + huge + "}")])
    with pytest.raises(ParameterError, match=r"more than 4300 digits"):
        resolve_parameters(s, yaml_texts=[f"n: {huge}"])
    f = tmp_path / "p.json"
    f.write_text('{"n": ' + huge + "}")
    with pytest.raises(ParameterError, match=r"p.json: an int of more than 4300 digits"):
        resolve_parameters(s, files=[f])


def test_non_finite_numbers_from_files_are_refused(tmp_path):
    s = schema_of("rate = 1.0\n")
    (tmp_path / "p.json").write_text('{"rate": NaN}')
    (tmp_path / "p.yaml").write_text("rate: .inf\n")
    for name in ("p.json", "p.yaml"):
        with pytest.raises(ParameterError, match=r"^parameter 'rate' expects float, got .*finite"):
            resolve_parameters(s, files=[tmp_path / name])


def test_ipython_syntax_in_the_parameters_cell_parses_as_ipython_does():
    s = schema_of(
        "files = !ls\nx = %env HOME\n%matplotlib inline\n# how many\nn: int = 3\nregion = 'eu'\n"
    )
    assert s.names == ["files", "x", "n", "region"]
    files, x, n, region = s.parameters
    assert (files.type, files.default_source, files.literal_default) == ("any", "!ls", False)
    assert (x.default_source, x.required) == ("%env HOME", False)
    assert (n.type, n.default, n.help) == ("int", 3, "how many")
    assert region.default == "eu"


def test_recordable_defaults_leave_out_what_json_cannot_hold():
    s = schema_of("a = 1e999\nb = b'x'\nc = {1, 2}\nd = (1, 'x')\ne = None\n")
    got = {q.name: recordable_default(q) for q in s.parameters}
    assert got == {
        "a": (False, None),
        "b": (False, None),
        "c": (False, None),
        "d": (True, [1, "x"]),
        "e": (True, None),
    }


def test_text_that_is_not_utf8_is_refused():
    """Non-UTF-8 bytes in argv arrive as lone surrogates; no record or kernel can take them."""
    s = schema_of("name = 'x'\nmsg = None\nnames: list = []\n")
    for name, text in (("name", "a\udcff"), ("msg", "\udcff"), ("names", "[a]")):
        if name == "names":
            with pytest.raises(ParameterError, match="not valid UTF-8"):
                coerce_value(s.get(name), ["ok", "\ud800"])
            continue
        with pytest.raises(ParameterError, match=rf"^parameter '{name}' .*not valid UTF-8 text$"):
            resolve_parameters(s, cli=[(name, text)])
