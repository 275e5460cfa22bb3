"""Structured logs of scheduler and worker decisions: one line per event, logfmt or JSON."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

log = logging.getLogger("nbprod.scheduler")


def event(name: str, **fields: Any) -> None:
    """Log one decision (fired, skipped, claimed, finished, retried, lost, cancelled...)."""
    clean = {k: v for k, v in fields.items() if v is not None}
    log.info(name, extra={"nbprod_event": name, "nbprod_fields": clean})


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        name = getattr(record, "nbprod_event", record.getMessage())
        fields = getattr(record, "nbprod_fields", {})
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}"
        if self.as_json:
            return json.dumps(
                {"ts": stamp, "level": record.levelname.lower(), "event": name, **fields},
                default=str,
                ensure_ascii=False,
            )
        pairs = " ".join(f"{k}={_logfmt(v)}" for k, v in fields.items())
        return f"{stamp} {record.levelname.lower():<7} {name} {pairs}".rstrip()


def _logfmt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if (" " in text or "=" in text or not text) else text


def configure(as_json: bool = False, level: int = logging.INFO) -> None:
    """Send nbprod's logs to stderr (daemons only; library use leaves logging alone)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json))
    root = logging.getLogger("nbprod")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
