"""Run filters and the parsers that turn command-line text into them.

Kept free of SQLAlchemy so the CLI can parse and reject bad input before opening anything.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from nbprod.errors import BadInput
from nbprod.records import RunStatus, isoformat, parse_iso, utcnow

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")

Condition = tuple[str, str, str]
"""(name, operator, value as text): ``region=eu`` → ``("region", "=", "eu")``."""


@dataclass
class RunFilter:
    """What ``query_runs``/``count_runs`` select; every field narrows the result."""

    job: str | None = None
    status: list[str] = field(default_factory=list)
    """Any of these statuses; empty means all."""
    since: str | None = None
    """ISO UTC lower bound on started_at, inclusive (see :func:`parse_when`)."""
    until: str | None = None
    """ISO UTC upper bound on started_at, exclusive."""
    tag: str | None = None
    """The run's tags contain this tag."""
    params: list[Condition] = field(default_factory=list)
    scraps: list[Condition] = field(default_factory=list)
    error: str | None = None
    """Case-insensitive substring of ``ename: evalue``."""
    limit: int | None = 50
    offset: int = 0

    def validate(self) -> RunFilter:
        known = {s.value for s in RunStatus}
        unknown = [s for s in self.status if s not in known]
        if unknown:
            raise BadInput(
                f"unknown run status {unknown[0]!r} (use one of: {', '.join(sorted(known))})"
            )
        for name, op, _ in [*self.params, *self.scraps]:
            if op not in OPERATORS:
                raise BadInput(f"unknown operator {op!r} in condition on {name!r}")
        if self.limit is not None and self.limit < 0:
            raise BadInput(f"limit must not be negative, got {self.limit}")
        if self.offset < 0:
            raise BadInput(f"offset must not be negative, got {self.offset}")
        return self


_CONDITION = re.compile(r"^([^=!<>]+?)\s*(!=|<=|>=|==|=|<|>)\s*(.*)\Z", re.S)


def parse_condition(text: str) -> Condition:
    """``name OP value`` with OP one of = != < <= > >= (``==`` is read as ``=``)."""
    match = _CONDITION.match(text.strip())
    if not match or not match.group(1).strip():
        raise BadInput(f"invalid condition {text!r}: use NAME=VALUE, or != < <= > >= instead of =")
    name, op, value = match.group(1).strip(), match.group(2), match.group(3)
    return name, "=" if op == "==" else op, value


def as_number(value: str) -> float | None:
    """The value as a finite number when it reads as one (then comparisons are numeric)."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str, now: datetime | None = None) -> str:
    """``7d``/``12h``/``30m`` ago, a date (midnight UTC) or an ISO time → ISO UTC text.

    The result has the run records' own format, so it compares with started_at as text.
    Times without a zone are read as UTC.
    """
    value = (text or "").strip()
    relative = _RELATIVE.match(value.lower())
    if relative:
        seconds = float(relative.group(1)) * _UNITS[relative.group(2)]
        try:
            return isoformat((now or utcnow()) - timedelta(seconds=seconds))
        except (OverflowError, ValueError):  # before the year 1: no run is that old
            raise BadInput(f"invalid time {text!r}: too far back") from None
    try:
        moment = parse_iso(value)
    except ValueError:
        raise BadInput(
            f"invalid time {text!r}: use e.g. 7d, 12h, 30m, 2026-11-01 or 2026-11-01T08:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return isoformat(moment)
