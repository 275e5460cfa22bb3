"""Load and validate a job definition (YAML) before anything is stored.

Every check that can fail happens here, with one line naming the file and the field:
bad cron, unknown timezone, unknown or mistyped parameter, unsafe name, missing notebook.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any

from nbprod.durations import parse_duration
from nbprod.errors import BadInput, brief
from nbprod.jobs.model import PRESETS, JobDefinition, Retention
from nbprod.store import layout

_KNOWN = set(JobDefinition.__dataclass_fields__)
OVERLAP = ("skip", "queue")
"""What a fire does while the job is at its concurrency limit (the first is the default)."""
CATCHUP = ("latest", "none", "all")
"""Which fires missed during downtime run (the first is the default)."""


def _fail(source: str, message: str) -> BadInput:
    return BadInput(f"{source}: {message}")


def load_definition(path: str | Path) -> JobDefinition:
    from nbprod import safe_yaml

    path = Path(path)
    data = safe_yaml.load_file(path, "job definition")
    return validate_definition(data, base_dir=path.resolve().parent, source=str(path))


def validate_definition(data: Any, *, base_dir: Path, source: str = "job") -> JobDefinition:
    """A checked JobDefinition with the notebook path made absolute and parameters typed."""
    if not isinstance(data, dict):
        raise _fail(source, "a job definition must be a YAML mapping")
    for key in data:
        if key not in _KNOWN:
            close = difflib.get_close_matches(str(key), sorted(_KNOWN), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _fail(source, f"unknown field {brief(key)}{hint}")
    for required in ("name", "notebook"):
        if data.get(required) in (None, ""):
            raise _fail(source, f"'{required}' is required")
    _no_nul(data, source)
    values = dict(data)
    if not isinstance(values["name"], str):  # `name: 123` / `true` is not the job "123"
        raise _fail(source, f"'name' must be text (quote it), got {brief(values['name'])}")
    try:
        layout.check_job_name(values["name"])
    except BadInput as exc:
        raise _fail(source, f"name: {exc}") from None

    notebook = Path(_path(values["notebook"], "notebook", source)).expanduser()
    notebook = (base_dir / notebook).resolve() if not notebook.is_absolute() else notebook
    values["notebook"] = str(notebook)

    values.update(_scheduling(values, source))
    values["tags"] = _tags(values.get("tags") or [], source)
    values["notifications"] = _notifications(values.get("notifications") or {}, source)
    values["retention"] = _retention(values.get("retention") or {}, source)
    values["resources"] = _resources(values.get("resources") or {}, source)
    if not isinstance(values.get("report_mode", False), bool):
        raise _fail(
            source, f"'report_mode' must be true or false, got {brief(values['report_mode'])}"
        )
    if values.get("paused") is not None and not isinstance(values["paused"], bool):
        raise _fail(source, "'paused' must be true or false")
    values["scheduled_by"] = scheduled_by(values.get("scheduled_by"), source)
    if not isinstance(values.get("description", ""), str):
        raise _fail(source, "'description' must be text")
    if values.get("store") is not None:
        from nbprod.store import open_store

        values["store"] = _path(values["store"], "store", source)
        open_store(values["store"])  # raises BadInput for an unusable URL
    if values.get("kernel") is not None:
        if not isinstance(values["kernel"], str) or not 0 < len(values["kernel"]) <= 255:
            raise _fail(source, f"'kernel' must be a kernel name, got {brief(values['kernel'])}")
    parameters = values.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _fail(source, "'parameters' must be a mapping of name: value")
    values["parameters"] = parameters
    return JobDefinition.from_dict(values)


def _scheduling(values: dict[str, Any], source: str) -> dict[str, Any]:
    """The checked fields the scheduler and the listings compute with."""
    checked: dict[str, Any] = {
        "schedule": _schedule(values.get("schedule"), source),
        "timezone": _timezone(values.get("timezone", "UTC"), source),
        "retry_delay": parse_duration(values.get("retry_delay", 60), f"{source}: retry_delay"),
        "retries": _int(values.get("retries", 0), "retries", source, minimum=0, maximum=1000),
        "concurrency": _int(
            values.get("concurrency", 1), "concurrency", source, minimum=1, maximum=10_000
        ),
        "overlap": _choice(values.get("overlap", OVERLAP[0]), "overlap", OVERLAP, source),
        "catchup": _choice(values.get("catchup", CATCHUP[0]), "catchup", CATCHUP, source),
    }
    for key in ("timeout", "cell_timeout", "catchup_window"):
        if values.get(key) is not None:
            checked[key] = _positive_duration(values[key], key, source)
    return checked


EXTERNAL_SCHEDULERS = ("airflow",)
"""What ``scheduled_by`` may name: the schedulers `nbprod export` writes files for."""


def scheduled_by(value: Any, source: str) -> str | None:
    """A checked ``scheduled_by``: None (nbprod schedules the job) or a known scheduler."""
    if value is None:
        return None
    return _choice(value, "scheduled_by", EXTERNAL_SCHEDULERS, source)


def stored_problem(data: Any) -> str | None:
    """Why a stored definition (from an older version, or written by hand into the store)
    cannot be scheduled or listed, or None. Applies the checks of `jobs apply` to the
    fields the scheduler computes with; the notebook and store are not touched."""
    try:
        if not isinstance(data, dict):
            return "the definition is not a mapping"
        JobDefinition.from_dict(data)
        _scheduling(data, "definition")
    except BadInput as exc:
        return str(exc).removeprefix("definition: ")
    except Exception as exc:  # noqa: BLE001 - any unreadable definition is broken, not fatal
        return f"unreadable definition: {type(exc).__name__}: {exc}"
    return None


def check_against_notebook(definition: JobDefinition, source: str = "job") -> tuple[bytes, Any]:
    """Validate the notebook, kernel and parameters; returns the notebook bytes and node."""
    from nbprod import params
    from nbprod.runner import check_kernel, load_notebook

    _, data, nb = load_notebook(definition.notebook)
    schema = params.infer_schema(nb)
    try:
        definition.parameters = params.resolve_parameters(schema, values=definition.parameters)
    except BadInput as exc:
        raise _fail(source, str(exc)) from None
    kernel = definition.kernel or (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    check_kernel(kernel)
    return data, nb


def _schedule(value: Any, source: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise _fail(source, f"'schedule' must be a cron expression or preset, got {brief(value)}")
    text = " ".join(value.split())
    expression = PRESETS.get(text, text)
    from croniter import croniter

    from nbprod.scheduler.cron import MAX_GAP_YEARS, first_fire

    if text.startswith("@") and text not in PRESETS:
        raise _fail(source, f"unknown schedule preset {text!r} (use {', '.join(PRESETS)})")
    if len(expression.split()) not in (5, 6) or not croniter.is_valid(expression):
        raise _fail(
            source,
            f"invalid cron expression {text!r} (m h dom mon dow, optionally a sixth field "
            "for seconds)",
        )
    if first_fire(expression) is None:
        raise _fail(
            source,
            f"schedule {text!r} never fires (no fire time in the next {MAX_GAP_YEARS} years, "
            "e.g. a day the month does not have)",
        )
    return text


MAX_TIMEZONE_LENGTH = 64
"""The longest IANA name has 32 characters."""


def _timezone(value: Any, source: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problem = f"unknown timezone {brief(value)} (use an IANA name like Europe/Berlin)"
    if not isinstance(value, str) or not value or len(value) > MAX_TIMEZONE_LENGTH:
        raise _fail(source, problem)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        raise _fail(source, problem) from None
    return value


def _path(value: Any, key: str, source: str) -> str:
    """A path or URL as text the file system can take: no NUL byte, no component longer
    than 255 bytes, at most 4096 bytes."""
    if not isinstance(value, str) or not value:
        raise _fail(source, f"'{key}' must be a path, got {brief(value)}")
    encoded = value.encode("utf-8", "surrogateescape")
    if len(encoded) > 4096 or any(len(part) > 255 for part in encoded.split(b"/")):
        raise _fail(
            source, f"'{key}' is too long (at most 255 bytes per path component): {brief(value)}"
        )
    return value


def _no_nul(value: Any, source: str, where: str = "") -> None:
    """Refuse NUL bytes in any text of the definition (parameter values aside)."""
    if isinstance(value, str) and "\x00" in value:
        raise _fail(source, f"{where or 'a value'} contains a NUL byte")
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and "\x00" in key:
                raise _fail(source, f"field name {brief(key)} contains a NUL byte")
            if name != "parameters":
                _no_nul(item, source, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_nul(item, source, f"{where}[{index}]")


def _positive_duration(value: Any, key: str, source: str) -> float:
    seconds = parse_duration(value, f"{source}: {key}")
    if seconds <= 0:
        raise _fail(source, f"'{key}' must be positive")
    return seconds


def _int(value: Any, key: str, source: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(
            source,
            f"'{key}' must be a whole number from {minimum} to {maximum}, got {brief(value)}",
        )
    return value


def _choice(value: Any, key: str, options: tuple[str, ...], source: str) -> str:
    if value not in options:
        raise _fail(source, f"'{key}' must be one of {', '.join(options)}, got {brief(value)}")
    return str(value)


_RESOURCE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(i?)b?\s*$", re.IGNORECASE)
_SIZE_POWER = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def _resources(value: Any, source: str) -> dict[str, float]:
    """``{gpu: 1, memory: 8GB}`` -> ``{"gpu": 1.0, "memory": 8e9}``: each a positive
    amount; sizes with a unit (8GB, 512MiB) are bytes, as Dask's ``memory`` resource."""
    if not isinstance(value, dict):
        raise _fail(source, "'resources' must be a mapping of name: amount, e.g. {gpu: 1}")
    checked: dict[str, float] = {}
    for name, amount in value.items():
        if not isinstance(name, str) or not _RESOURCE_NAME.match(name):
            raise _fail(source, f"resources: {brief(name)} is not a resource name")
        checked[name] = _amount(amount, name, source)
    return checked


def _amount(amount: Any, name: str, source: str) -> float:
    number: float | None = None
    if isinstance(amount, (int, float)) and not isinstance(amount, bool):
        number = float(amount)
    elif isinstance(amount, str):
        match = _SIZE.match(amount)
        if match:
            base = 1024 if match.group(3) else 1000
            number = float(match.group(1)) * base ** _SIZE_POWER[match.group(2).lower()]
    if number is None or not math.isfinite(number) or number <= 0:
        raise _fail(
            source,
            f"resources.{name} must be a positive amount (1, 0.5, 8GB), got {brief(amount)}",
        )
    return number


def _tags(value: Any, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise _fail(source, "'tags' must be a list of words")
    return sorted(set(value))


def _notifications(value: Any, source: str) -> dict[str, Any]:
    from nbprod.notify import EVENTS, TARGET_FIELDS

    if not isinstance(value, dict):
        raise _fail(source, "'notifications' must be a mapping of on_failure/on_success/on_start")
    for event, targets in value.items():
        if event not in EVENTS:
            raise _fail(source, f"unknown notification event '{event}' ({', '.join(EVENTS)})")
        if not isinstance(targets, list):
            raise _fail(source, f"notifications.{event} must be a list of targets")
        for target in targets:
            kind = target.get("type") if isinstance(target, dict) else None
            if not isinstance(kind, str) or kind not in TARGET_FIELDS:
                raise _fail(source, f"notifications.{event}: type must be webhook, slack or email")
            if not target.get(TARGET_FIELDS[kind]):
                raise _fail(
                    source, f"notifications.{event}: a {kind} target needs '{TARGET_FIELDS[kind]}'"
                )
            if kind in ("webhook", "slack"):
                from nbprod.notify import url_problem

                problem = url_problem(target["url"])
                if problem:
                    raise _fail(
                        source, f"notifications.{event}: {problem}, got {brief(target['url'])}"
                    )
    return value


def _retention(value: Any, source: str) -> Retention:
    if not isinstance(value, dict):
        raise _fail(source, "'retention' must be a mapping (keep_last, older_than)")
    unknown = set(value) - {"keep_last", "older_than"}
    if unknown:
        raise _fail(source, f"unknown retention field '{sorted(unknown)[0]}'")
    keep = value.get("keep_last")
    if keep is not None:
        keep = _int(keep, "retention.keep_last", source, minimum=1, maximum=1_000_000)
    older = value.get("older_than")
    days = None
    if older is not None:
        in_days = isinstance(older, int | float) and not isinstance(older, bool)
        seconds = parse_duration(
            older * 86400 if in_days else older, f"{source}: retention.older_than"
        )
        days = seconds / 86400
    return Retention(keep_last=keep, older_than_days=days)
