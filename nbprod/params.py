"""Typed notebook parameters: infer a schema from the ``parameters`` cell, then
parse and validate user values against it before any kernel starts.

Catching a mistyped ``-p days seven`` here costs nothing; catching it forty minutes
into a run costs the run. Every user mistake becomes a one-line :class:`ParameterError`.

Over 500 lines on purpose: the types that inference reads from the cell and the value grammar
that parses ``-p`` text are one contract (``int | None`` means the same in both halves), and
reading them side by side is how a change keeps them in step.
"""

from __future__ import annotations

import ast
import difflib
import io
import math
import os
import re
import sys
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nbprod import safe_yaml
from nbprod.errors import ParameterError

PARAMETERS_TAG = "parameters"
_NULLS = {"none", "null", "~"}
_BOOLS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}
_INT_RE = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")
_SCALAR_TYPES = {"int", "float", "str", "bool", "list", "dict", "any"}


class _Loader(safe_yaml.SafeLoader):
    """The bounded SafeLoader (nbprod.safe_yaml), whose YAML 1.2-style numbers and lack of
    timestamps it inherits: YAML 1.1 turns ``010`` into 8, ``1:30`` into 90 and
    ``2024-01-01`` into a date (not JSON-able); users mean a string, a string and a string.
    ``1e-3`` is a float.
    """


@dataclass(frozen=True)
class Parameter:
    """One assignment in the parameters cell, as the user may override it."""

    name: str
    type: str
    default: Any = None
    default_source: str = ""
    literal_default: bool = False
    nullable: bool = False
    help: str = ""
    required: bool = False

    def to_dict(self) -> dict:
        default = None
        if self.literal_default:
            try:
                default = _to_json(self.default)
            except TypeError:
                default = None
        return {
            "name": self.name,
            "type": self.type,
            "default": default,
            "default_source": self.default_source,
            "nullable": self.nullable,
            "help": self.help,
            "required": self.required,
        }


def recordable_default(param: Parameter) -> tuple[bool, Any]:
    """(True, JSON value) for a literal default a strict-JSON run record can hold."""
    if not param.literal_default:
        return False, None
    try:
        return True, _to_json(param.default)
    except TypeError:
        return False, None


@dataclass(frozen=True)
class ParameterSchema:
    """All parameters of a notebook, in cell order; ``cell_index`` None means no cell."""

    parameters: tuple[Parameter, ...] = ()
    cell_index: int | None = None

    def get(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def to_dict(self) -> dict:
        return {"cell_index": self.cell_index, "parameters": [p.to_dict() for p in self.parameters]}


# --------------------------------------------------------------------------- inference


def infer_schema(nb: Any) -> ParameterSchema:
    """Read the first code cell tagged ``parameters``; works on NotebookNode or plain dict."""
    for index, cell in enumerate(nb.get("cells", [])):
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags:
            source = cell.get("source", "")
            if not isinstance(source, str):
                source = "".join(source)
            return ParameterSchema(_parameters_from_source(source), index)
    return ParameterSchema((), None)


def _python_source(source: str) -> str:
    """The cell as the kernel runs it: IPython's own transforms turn ``files = !ls``,
    ``x = %env HOME`` and ``%matplotlib inline`` into Python calls, line for line. If that
    does not parse either, lines starting with ``%`` or ``!`` are blanked (not deleted, so
    line numbers still match the comments)."""
    code = source + "\n"
    if _parses(code):
        return code
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        transformed = TransformerManager().transform_cell(source)
    except Exception:  # no IPython, or its transformers gave up on broken input
        transformed = code
    if _parses(transformed):
        return transformed
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    blanked = "\n".join(lines) + "\n"
    return blanked if _parses(blanked) else transformed


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _parameters_from_source(source: str) -> tuple[Parameter, ...]:
    code = _python_source(source)
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise ParameterError(f"parameters cell does not parse: {e.msg} (line {e.lineno})") from None
    comments = _comments(code)
    found: dict[str, dict[str, Any]] = {}  # name -> latest annotation/value/help; first order
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, annotation, value = stmt.targets[0], None, stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, annotation, value = stmt.target, stmt.annotation, stmt.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        entry = found.setdefault(target.id, {"annotation": None, "value": None, "help": ""})
        entry["annotation"] = annotation or entry["annotation"]
        entry["value"] = value or entry["value"]
        entry["help"] = _help_for(stmt, comments) or entry["help"]
    return tuple(_make_parameter(name, e, code, source) for name, e in found.items())


def _make_parameter(name: str, entry: dict[str, Any], code: str, source: str) -> Parameter:
    annotation, value = entry["annotation"], entry["value"]
    type_, nullable = _annotation_type(annotation) if annotation is not None else ("any", False)
    if value is None:
        return Parameter(name, type_, None, "", False, nullable, entry["help"], required=True)
    literal, default = True, None
    try:
        default = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        literal = False
    if annotation is None and literal:
        type_ = _literal_type(default)
    return Parameter(
        name,
        type_,
        default,
        _default_source(code, source, value),
        literal,
        nullable or (literal and default is None),
        entry["help"],
        required=False,
    )


def _default_source(code: str, source: str, value: ast.expr) -> str:
    """The default as written: ``!ls``, not the ``get_ipython()`` call IPython makes of it."""
    text = ast.get_source_segment(code, value) or ""
    lines = source.splitlines()
    if "get_ipython()" in text and value.lineno <= len(lines):
        original = lines[value.lineno - 1]
        if original != code.splitlines()[value.lineno - 1] and "=" in original:
            return original.split("=", 1)[1].strip()
    return text


def _literal_type(value: Any) -> str:
    if isinstance(value, bool):  # must precede int: bool is an int subclass
        return "bool"
    kinds = ((int, "int"), (float, "float"), (str, "str"), ((list, tuple), "list"), (dict, "dict"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "any")


def _annotation_type(node: ast.expr) -> tuple[str, bool]:
    """Map an annotation to (type string, nullable); anything unrecognised is ``any``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # x: "int"
        try:
            return _annotation_type(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return "any", False
    if isinstance(node, ast.Constant) and node.value is None:
        return "any", True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        base = _simple_name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "optional" and len(args) == 1:
            return _annotation_type(args[0])[0], True
        if base == "union":
            return _union(args)
        if base == "annotated":  # Annotated[int, "meta"] is an int
            return _annotation_type(args[0])
        if base in ("list", "tuple", "set", "sequence"):
            if base == "tuple" and not (len(args) == 2 and getattr(args[1], "value", None) is ...):
                return "list", False
            inner, inner_nullable = _annotation_type(args[0])
            return ("list" if inner == "any" or inner_nullable else f"list[{inner}]"), False
        if base in ("dict", "mapping") and len(args) == 2:
            key, _ = _annotation_type(args[0])
            inner, inner_nullable = _annotation_type(args[1])
            if key != "str" or inner == "any" or inner_nullable:
                return "dict", False
            return f"dict[str, {inner}]", False
        return _annotation_type(node.value)
    name = _simple_name(node)
    if name in ("tuple", "set", "sequence"):
        return "list", False
    if name == "mapping":
        return "dict", False
    return (name if name in _SCALAR_TYPES else "any"), False


def _union(members: list[ast.expr]) -> tuple[str, bool]:
    non_none = [
        m
        for m in members
        if not (isinstance(m, ast.Constant) and m.value is None) and _simple_name(m) != "none"
    ]
    if len(non_none) == 1:
        return _annotation_type(non_none[0])[0], len(non_none) < len(members)
    return "any", len(non_none) < len(members)


def _simple_name(node: ast.expr) -> str:
    """``typing.List`` / ``List`` / ``list`` -> ``list``; lower-case so typing aliases match."""
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    if isinstance(node, ast.Name):
        return node.id.lower()
    return ""


def _comments(code: str) -> dict[int, tuple[str, bool]]:
    """line number -> (comment text, whether the comment is the whole line)."""
    found: dict[int, tuple[str, bool]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.COMMENT:
                whole = not tok.line[: tok.start[1]].strip()
                found[tok.start[0]] = (tok.string.lstrip("#").strip(), whole)
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def _help_for(stmt: ast.stmt, comments: dict[int, tuple[str, bool]]) -> str:
    for line in (stmt.lineno, stmt.end_lineno or stmt.lineno):
        if line in comments and not comments[line][1]:
            return comments[line][0]
    above: list[str] = []
    line = stmt.lineno - 1
    while line in comments and comments[line][1]:
        above.insert(0, comments[line][0])
        line -= 1
    return " ".join(t for t in above if t)


# --------------------------------------------------------------------------- values


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _split_type(type_: str) -> tuple[str, str | None, str | None]:
    """``dict[str, list[int]]`` -> (dict, str, list[int]); ``list[int]`` -> (list, int, None)."""
    if "[" not in type_ or not type_.endswith("]"):
        return (type_ if type_ in _SCALAR_TYPES else "any"), None, None
    base, inner = type_[:-1].split("[", 1)
    if base == "dict":
        key, _, val = inner.partition(",")
        return "dict", key.strip(), val.strip() or "any"
    return base, inner.strip(), None


def _text_problem(value: str) -> str | None:
    """A string that is not Unicode text (a lone surrogate, e.g. from non-UTF-8 argv bytes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{_describe(value)}, which is not valid UTF-8 text"
    return None


def _number_problem(value: Any) -> str | None:
    """Why a number cannot go into a strict-JSON run record, or None when it can."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r}, not a finite number"
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            str(value)
        except ValueError:  # Python's int/str conversion limit (4,300 digits)
            return f"an int of more than {sys.get_int_max_str_digits()} digits"
    return None


def _to_json(value: Any) -> Any:
    """Normalise to plain JSON types (tuple -> list) or raise TypeError: run records are JSON."""
    if isinstance(value, (int, float)) and (problem := _number_problem(value)):
        raise TypeError(problem)
    if isinstance(value, str) and (problem := _text_problem(value)):
        raise TypeError(problem)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _to_json(v) for k, v in value.items()}
    raise TypeError(_describe(value))


def _check(value: Any, type_: str, nullable: bool = False) -> Any:
    """Validate/convert ``value`` for ``type_``; raise ValueError(reason) when it does not fit."""
    if value is None:
        if nullable or type_ == "any":
            return None
        raise ValueError(f"got {_describe(value)}")
    base, inner, val_type = _split_type(type_)
    if isinstance(value, (int, float)) and (problem := _number_problem(value)):
        raise ValueError(f"got {problem}")
    if isinstance(value, str) and (problem := _text_problem(value)):
        raise ValueError(f"got {problem}")
    if base == "str":
        if isinstance(value, str):
            return value
        hint = " (quote it in YAML)" if isinstance(value, (bool, int, float)) else ""
        raise ValueError(f"got {_describe(value)}{hint}")
    if base == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base == "bool" and isinstance(value, bool):
        return value
    if base == "list" and isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_check(item, inner or "any"))
            except ValueError as e:
                raise ValueError(f"{e} at [{i}]") from None
        return out
    if base == "dict" and isinstance(value, dict):
        out_d = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"got non-string key {_describe(key)}")
            try:
                out_d[key] = _check(item, val_type or "any")
            except ValueError as e:
                raise ValueError(f"{e} at [{key!r}]") from None
        return out_d
    if base == "any":
        try:
            return _to_json(value)
        except TypeError as e:  # names the innermost offending value
            if "finite" in str(e) or "digits" in str(e) or "UTF-8" in str(e):
                raise ValueError(f"got {e}") from None
            raise ValueError(f"got {e}, which is not JSON-compatible") from None
    raise ValueError(f"got {_describe(value)}")


def coerce_value(param: Parameter, value: Any) -> Any:
    """Validate an already-typed value (YAML, JSON, Python API) for ``param``."""
    try:
        return _check(value, param.type, param.nullable)
    except ValueError as e:
        raise ParameterError(f"parameter {param.name!r} expects {param.type}, {e}") from None


def base_type(type_: str) -> str:
    """The type ``parse_cli_value`` reads a text by: ``list[int]`` -> list, unknown -> any."""
    return _split_type(type_)[0]


def type_label(type_: str, nullable: bool) -> str:
    """A parameter's type as `nbprod params` and the Schedule dialog show it: ``int?`` for
    ``int | None`` (``any`` already admits None)."""
    return type_ + ("?" if nullable and type_ != "any" else "")


def value_syntax() -> dict[str, Any]:
    """How ``parse_cli_value`` reads the words a form has no widget for, so that the
    JupyterLab extension checks a value as typed instead of keeping a copy of these rules:
    the words for None (nullable parameters) and for booleans, an int's pattern."""
    return {
        "null": sorted(_NULLS),
        "true": [word for word, value in _BOOLS.items() if value],
        "false": [word for word, value in _BOOLS.items() if not value],
        "int": _INT_RE.pattern,
    }


def parse_cli_value(param: Parameter, text: str) -> Any:
    """Parse the VALUE of ``-p NAME VALUE``: the parameter's type decides, not the text's look."""
    base = _split_type(param.type)[0]
    bad = ParameterError(f"parameter {param.name!r} expects {param.type}, got {text!r}")
    if base == "any":
        return _parse_untyped(param, text)
    if param.nullable and text.strip().lower() in _NULLS:
        return None
    if base == "str":
        return coerce_value(param, text)
    if base == "int":
        if not _INT_RE.fullmatch(text.strip()):
            raise bad
        return coerce_value(param, _int(param, text.strip().replace("_", "")))
    if base == "float":
        try:
            value = float(text)
        except ValueError:
            raise bad from None
        return coerce_value(param, value)
    if base == "bool":
        if text.strip().lower() not in _BOOLS:
            raise bad
        return _BOOLS[text.strip().lower()]
    try:
        value = _yaml_value(param, text)
    except yaml.YAMLError:
        raise ParameterError(f"{bad} (not valid YAML/JSON)") from None
    return coerce_value(param, value)


_UNTYPED_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*(?:_[0-9]+)*)")
_UNTYPED_FLOAT = re.compile(
    r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
)
_UNTYPED_WORDS = {"True": True, "true": True, "False": False, "false": False, "None": None}


def _parse_untyped(param: Parameter, text: str) -> Any:
    """A parameter without a declared type (``msg = None``), papermill's rule: ``True`` /
    ``False`` (or lower case), ``None``, an int, a finite float, a ``[...]`` or ``{...}``
    literal; anything else, ``yes``, ``off``, ``null``, ``~``, ``#general``, ``Note: hi``,
    ``- a``, stays the string typed."""
    word = text.strip()
    if word in _UNTYPED_WORDS:
        return _UNTYPED_WORDS[word]
    if _UNTYPED_INT.fullmatch(word):
        return coerce_value(param, _int(param, word.replace("_", "")))
    if _UNTYPED_FLOAT.fullmatch(word):
        return coerce_value(param, float(word))
    if word[:1] in ("[", "{"):
        try:
            value = _yaml_value(param, word)
        except yaml.YAMLError:
            return coerce_value(param, text)
        if isinstance(value, (list, dict)):
            return coerce_value(param, value)
    return coerce_value(param, text)


def _int(param: Parameter, digits: str) -> int:
    try:
        return int(digits)
    except ValueError:  # Python's int/str conversion limit
        raise ParameterError(
            f"parameter {param.name!r} expects {param.type}, got an int of more than "
            f"{sys.get_int_max_str_digits()} digits"
        ) from None


def _yaml_value(param: Parameter, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except ValueError:  # an int past Python's conversion limit inside the YAML
        raise ParameterError(
            f"parameter {param.name!r} expects {param.type}, got an int of more than "
            f"{sys.get_int_max_str_digits()} digits"
        ) from None


# --------------------------------------------------------------------------- merging


def _load_mapping(text: str, where: str, as_json: bool) -> dict[str, Any]:
    if as_json:
        data = safe_yaml.load_json(text, where, error=ParameterError)
    else:
        data = safe_yaml.load(text, where, loader=_Loader, error=ParameterError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(
            f"{where}: expected a mapping of parameter names to values, got {type(data).__name__}"
        )
    for key in data:
        if not isinstance(key, str):
            raise ParameterError(f"{where}: parameter names must be strings, got {_describe(key)}")
    return data


def _load_file(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path)
    text = safe_yaml.read_text(p, "parameters file", error=ParameterError)
    return _load_mapping(text, f"parameters file {path}", p.suffix.lower() == ".json")


def _unknown(schema: ParameterSchema, name: str) -> ParameterError:
    if schema.cell_index is None:
        return ParameterError(
            "this notebook has no parameters cell (a cell tagged "
            f"'{PARAMETERS_TAG}'); cannot set {name!r}"
        )
    known = ", ".join(schema.names) or "none"
    close = difflib.get_close_matches(name, schema.names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ParameterError(f"unknown parameter {name!r} (known: {known}){hint}")


def resolve_parameters(
    schema: ParameterSchema,
    *,
    files: Sequence[str | os.PathLike] = (),
    yaml_texts: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
    cli: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Merge files < yaml_texts < values < cli (later wins) and type-check the result.

    Returns only what the user supplied, in schema order: notebook defaults stay in
    the notebook, so the run record shows exactly what was overridden.
    """
    raw: dict[str, tuple[bool, Any]] = {}  # name -> (is_cli_text, value)
    layers: list[Mapping[str, Any]] = [_load_file(f) for f in files]
    layers += [_load_mapping(t, "-y text", as_json=False) for t in yaml_texts]
    layers.append(values or {})
    for layer in layers:
        raw.update((name, (False, value)) for name, value in layer.items())
    raw.update((name, (True, text)) for name, text in cli)
    for name in raw:
        if schema.get(name) is None:
            raise _unknown(schema, name)
    result: dict[str, Any] = {}
    for param in schema.parameters:
        if param.name in raw:
            is_text, value = raw[param.name]
            result[param.name] = (
                parse_cli_value(param, value) if is_text else coerce_value(param, value)
            )
        elif param.required:
            raise ParameterError(
                f"missing required parameter {param.name!r} ({param.type}); "
                f"set it with -p {param.name} VALUE"
            )
    return result
