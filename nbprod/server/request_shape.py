"""The shape of REST request input, checked before any of it reaches the core.

The core validates meaning (a cron expression, a timezone, a parameter's type); this module
checks what no core function should have to: JSON nesting depth, value types per form
field, NUL characters and lone surrogates, and lengths that the OS or a backend would
refuse with an ``OSError`` (a path component longer than ``NAME_MAX``). Every failure is a
:class:`FieldError` naming the field, so the handler answers 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

from nbprod.errors import FieldError

MAX_DEPTH = 32
"""Deepest JSON nesting accepted (a job form is at most 5 deep: notifications)."""
MAX_BODY_BYTES = 1 << 20
"""A request body above 1 MiB is not a form."""
NAME_MAX = 255
"""Bytes of one path component (Linux ``NAME_MAX``; longer names cannot exist on disk)."""
PATH_MAX = 4096
"""Bytes of a whole path (Linux ``PATH_MAX``)."""
MAX_TEXT = 4096
"""Bytes of a free-text field (description, store URL, timeout text, a parameter value)."""
MAX_INT_DIGITS = 1000
"""Digits of a JSON integer (Python refuses more than 4300; no form needs a tenth)."""
MAX_WORD = 255
"""Bytes of a short name: timezone, kernel, schedule."""


class Kind(Enum):
    """What a form field may hold (JSON null always means "not given")."""

    TEXT = "text"
    WORD = "word"
    PATH = "path"
    NAME = "name"
    TEXT_OR_NUMBER = "text or number"
    TEXT_OR_INT = "text or whole number"
    OBJECT = "object"
    WORDS = "a list of text"
    BOOL = "true or false"


RUN_FORM: dict[str, Kind] = {
    "path": Kind.PATH,
    "name": Kind.NAME,
    "parameters": Kind.OBJECT,
    "kernel": Kind.WORD,
    "timeout": Kind.TEXT_OR_NUMBER,
    "store": Kind.TEXT,
    "report_mode": Kind.BOOL,
}
"""``POST /nbprod/api/runs``."""

JOB_FORM: dict[str, Kind] = {
    "name": Kind.NAME,
    "path": Kind.PATH,
    "parameters": Kind.OBJECT,
    "kernel": Kind.WORD,
    "schedule": Kind.WORD,
    "timezone": Kind.WORD,
    "retries": Kind.TEXT_OR_INT,
    "timeout": Kind.TEXT_OR_NUMBER,
    "cell_timeout": Kind.TEXT_OR_NUMBER,
    "notifications": Kind.OBJECT,
    "store": Kind.TEXT,
    "description": Kind.TEXT,
    "concurrency": Kind.TEXT_OR_INT,
    "overlap": Kind.WORD,
    "catchup": Kind.WORD,
    "tags": Kind.WORDS,
    "report_mode": Kind.BOOL,
}
"""``POST /nbprod/api/jobs`` and ``PUT /nbprod/api/jobs/{name}``."""

SWEEP_FORM: dict[str, Kind] = {
    "path": Kind.PATH,
    "name": Kind.NAME,
    "parameters": Kind.OBJECT,
    "kernel": Kind.WORD,
    "timeout": Kind.TEXT_OR_NUMBER,
    "report_mode": Kind.BOOL,
}
"""``POST /nbprod/api/sweeps``."""

JOB_RUN_FORM: dict[str, Kind] = {"parameters": Kind.OBJECT}
"""``POST /nbprod/api/jobs/{name}/runs``."""

PIPELINE_RUN_FORM: dict[str, Kind] = {"parameters": Kind.OBJECT}
"""``POST /nbprod/api/pipelines/{name}/runs``: ``{"step.param": value}``."""

DEBUG_FORM: dict[str, Kind] = {"folder": Kind.PATH}
"""``POST /nbprod/api/runs/{id}/debug``."""

BACKFILL_FORM: dict[str, Kind] = {"from": Kind.WORD, "to": Kind.WORD}
"""``POST /nbprod/api/jobs/{name}/backfill``."""

TEMPLATE_FORM: dict[str, Kind] = {"template": Kind.WORD, "folder": Kind.PATH, "name": Kind.NAME}
"""``POST /nbprod/api/templates``: a new notebook from a template."""


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, not too large and not too deep."""
    if not raw:
        return {}
    if len(raw) > MAX_BODY_BYTES:
        raise FieldError(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    too_deep = _too_deep(raw)
    if too_deep is not None:
        raise FieldError(f"the request body is nested deeper than {MAX_DEPTH} levels", too_deep)
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_int=_int)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FieldError(f"the request body is not valid JSON ({_short(exc)})") from None
    if not isinstance(data, dict):
        raise FieldError("the request body must be a JSON object")
    check_tree(data, None)
    return data


def _too_deep(raw: bytes) -> str | None:
    """Whether the JSON text nests deeper than MAX_DEPTH, found without recursing (a deep
    body would exhaust the parser's stack): the top-level key to blame (or "body")."""
    depth = 0
    in_string = escaped = False
    start = 0
    key = None
    for index, byte in enumerate(raw):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
                if depth == 1:
                    key = raw[start:index].decode("utf-8", "replace")
        elif byte == 0x22:
            in_string, start = True, index + 1
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > MAX_DEPTH + 1:
                return key or "body"
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return None


def check_form(body: Mapping[str, Any], kinds: Mapping[str, Kind]) -> None:
    """Each known field has the right JSON type; unknown fields are left to the core."""
    for key, kind in kinds.items():
        value = body.get(key)
        if value is None:
            continue
        check_field(value, key, kind)
    if "store" in kinds:
        check_store(body.get("store"))


def check_field(value: Any, field: str, kind: Kind) -> None:
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise FieldError(f"'{field}' must be {kind.value}, got {_json_type(value)}", field)
        return
    if kind is Kind.OBJECT:
        if not isinstance(value, dict):
            raise FieldError(f"'{field}' must be an object", field)
        return
    if kind is Kind.WORDS:
        if not isinstance(value, list):
            raise FieldError(f"'{field}' must be {kind.value}, got {_json_type(value)}", field)
        for item in value:
            check_field(item, field, Kind.WORD)
        return
    if kind in (Kind.TEXT_OR_NUMBER, Kind.TEXT_OR_INT) and not isinstance(value, str):
        wanted = int if kind is Kind.TEXT_OR_INT else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise FieldError(f"'{field}' must be {kind.value}, got {_json_type(value)}", field)
        return
    if not isinstance(value, str):
        raise FieldError(f"'{field}' must be text, got {_json_type(value)}", field)
    if kind is Kind.PATH:
        check_path(value, field)
    else:
        limit = MAX_WORD if kind in (Kind.WORD, Kind.NAME) else MAX_TEXT
        check_text(value, field, max_bytes=limit)


def check_store(value: Any, field: str = "store") -> None:
    """A store given through the API is a URL or an absolute path: a relative one would
    be resolved against the Jupyter server's working directory, which no client knows."""
    if not isinstance(value, str) or not value.strip():
        return
    from urllib.parse import urlparse

    text = value.strip()
    if len(urlparse(text).scheme) <= 1 and not text.startswith("/"):
        raise FieldError(
            f"store {text!r} is a relative path; give a URL (file://, s3://) or an absolute path",
            field,
        )


def check_text(value: str, field: str | None, *, max_bytes: int = MAX_TEXT) -> str:
    """Text that every backend can store: UTF-8, no NUL, at most ``max_bytes`` bytes."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise FieldError(f"'{field}' is not valid Unicode text (a lone surrogate)", field) from None
    if "\x00" in value:
        raise FieldError(f"'{field}' contains a NUL character", field)
    if size > max_bytes:
        raise FieldError(f"'{field}' is longer than {max_bytes} bytes ({size})", field)
    return value


def check_path(value: str, field: str) -> str:
    """A relative path the OS can look up: no NUL, components within ``NAME_MAX`` bytes."""
    check_text(value, field, max_bytes=PATH_MAX)
    for part in value.split("/"):
        size = len(part.encode("utf-8"))
        if size > NAME_MAX:
            raise FieldError(
                f"'{field}' has a name longer than {NAME_MAX} bytes ({size}): {part[:40]!r}…",
                field,
            )
    return value


def check_tree(value: Any, field: str | None, depth: int = 0) -> None:
    """No value nested deeper than MAX_DEPTH; every string and key is storable text."""
    if depth > MAX_DEPTH:
        raise FieldError(f"the request body is nested deeper than {MAX_DEPTH} levels", field)
    if isinstance(value, _HugeInt):
        raise FieldError(f"'{field}' is a number of {len(value)} digits; too large", field)
    if isinstance(value, str):
        check_text(value, field or "body", max_bytes=MAX_BODY_BYTES)
    elif isinstance(value, dict):
        for key, item in value.items():
            where = key if field is None else f"{field}.{key}"
            check_text(key, where, max_bytes=MAX_WORD)
            check_tree(item, where, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_tree(item, field, depth + 1)


def check_query(value: str, field: str, *, path: bool = False) -> str:
    """A query argument: the same text rules as a body field."""
    return check_path(value, field) if path else check_text(value, field, max_bytes=MAX_WORD)


class _HugeInt(str):
    """A JSON integer with more digits than Python converts; blamed on its field later."""


def _int(text: str) -> int | _HugeInt:
    if len(text) > MAX_INT_DIGITS:
        return _HugeInt(text)
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "text"


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:119] + "…"
