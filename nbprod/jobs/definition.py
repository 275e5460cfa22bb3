"""Load and validate a job definition (YAML) before anything is stored.

Every check that can fail happens here, with one line naming the file and the field:
bad cron, unknown timezone, unknown or mistyped parameter, unsafe name, missing notebook.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from nbprod.durations import parse_duration
from nbprod.errors import BadInput
from nbprod.jobs.model import PRESETS, JobDefinition, Retention
from nbprod.store import layout

_KNOWN = set(JobDefinition.__dataclass_fields__)
_NOTIFY_EVENTS = ("on_failure", "on_success", "on_start")
_NOTIFY_TYPES = {"webhook": "url", "slack": "url", "email": "to"}


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
            raise _fail(source, f"unknown field '{key}'{hint}")
    for required in ("name", "notebook"):
        if not data.get(required):
            raise _fail(source, f"'{required}' is required")
    values = dict(data)
    try:
        layout.check_job_name(str(values["name"]))
    except BadInput as exc:
        raise _fail(source, str(exc)) from None

    notebook = Path(str(values["notebook"])).expanduser()
    notebook = (base_dir / notebook).resolve() if not notebook.is_absolute() else notebook
    values["notebook"] = str(notebook)

    values["schedule"] = _schedule(values.get("schedule"), source)
    values["timezone"] = _timezone(values.get("timezone", "UTC"), source)
    for key in ("timeout", "cell_timeout"):
        if values.get(key) is not None:
            values[key] = _positive_duration(values[key], key, source)
    values["retry_delay"] = parse_duration(values.get("retry_delay", 60), f"{source}: retry_delay")
    if values.get("catchup_window") is not None:
        values["catchup_window"] = _positive_duration(
            values["catchup_window"], "catchup_window", source
        )
    values["retries"] = _int(values.get("retries", 0), "retries", source, minimum=0)
    values["concurrency"] = _int(values.get("concurrency", 1), "concurrency", source, minimum=1)
    values["overlap"] = _choice(values.get("overlap", "skip"), "overlap", ("skip", "queue"), source)
    values["catchup"] = _choice(
        values.get("catchup", "latest"), "catchup", ("none", "latest", "all"), source
    )
    values["tags"] = _tags(values.get("tags") or [], source)
    values["notifications"] = _notifications(values.get("notifications") or {}, source)
    values["retention"] = _retention(values.get("retention") or {}, source)
    if values.get("paused") is not None and not isinstance(values["paused"], bool):
        raise _fail(source, "'paused' must be true or false")
    if not isinstance(values.get("description", ""), str):
        raise _fail(source, "'description' must be text")
    if values.get("store") is not None:
        from nbprod.store import open_store

        open_store(str(values["store"]))  # raises BadInput for an unusable URL
        values["store"] = str(values["store"])
    if values.get("kernel") is not None:
        values["kernel"] = str(values["kernel"])
    parameters = values.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _fail(source, "'parameters' must be a mapping of name: value")
    values["parameters"] = parameters
    return JobDefinition.from_dict(values)


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
    text = " ".join(str(value).split())
    expression = PRESETS.get(text, text)
    from croniter import croniter

    if text.startswith("@") and text not in PRESETS:
        raise _fail(source, f"unknown schedule preset {text!r} (use {', '.join(PRESETS)})")
    if len(expression.split()) not in (5, 6) or not croniter.is_valid(expression):
        raise _fail(
            source,
            f"invalid cron expression {text!r} (m h dom mon dow, optionally a sixth field "
            "for seconds)",
        )
    return text


def _timezone(value: Any, source: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(
            source, f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)"
        ) from None
    return str(value)


def _positive_duration(value: Any, key: str, source: str) -> float:
    seconds = parse_duration(value, f"{source}: {key}")
    if seconds <= 0:
        raise _fail(source, f"'{key}' must be positive")
    return seconds


def _int(value: Any, key: str, source: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(source, f"'{key}' must be a whole number >= {minimum}, got {value!r}")
    return value


def _choice(value: Any, key: str, options: tuple[str, ...], source: str) -> str:
    if value not in options:
        raise _fail(source, f"'{key}' must be one of {', '.join(options)}, got {value!r}")
    return str(value)


def _tags(value: Any, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise _fail(source, "'tags' must be a list of words")
    return sorted(set(value))


def _notifications(value: Any, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, "'notifications' must be a mapping of on_failure/on_success/on_start")
    for event, targets in value.items():
        if event not in _NOTIFY_EVENTS:
            raise _fail(
                source, f"unknown notification event '{event}' ({', '.join(_NOTIFY_EVENTS)})"
            )
        if not isinstance(targets, list):
            raise _fail(source, f"notifications.{event} must be a list of targets")
        for target in targets:
            kind = target.get("type") if isinstance(target, dict) else None
            if kind not in _NOTIFY_TYPES:
                raise _fail(source, f"notifications.{event}: type must be webhook, slack or email")
            if not target.get(_NOTIFY_TYPES[kind]):
                raise _fail(
                    source, f"notifications.{event}: a {kind} target needs '{_NOTIFY_TYPES[kind]}'"
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
        keep = _int(keep, "retention.keep_last", source, minimum=1)
    older = value.get("older_than")
    days = None
    if older is not None:
        days = (
            parse_duration(
                older if not isinstance(older, int | float) else f"{older}d",
                f"{source}: retention.older_than",
            )
            / 86400
        )
    return Retention(keep_last=keep, older_than_days=days)
