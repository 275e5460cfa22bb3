"""Cron expressions in words, for the Schedule dialog ("At 07:00, Monday through Friday").

Covers what people write (lists, ranges, steps, presets); anything else is described
field by field rather than guessed.
"""

from __future__ import annotations

from nbprod.jobs.model import PRESETS

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_ALIASES = {d[:3].lower(): str(i) for i, d in enumerate(_DAYS)}
_ALIASES.update({m[:3].lower(): str(i + 1) for i, m in enumerate(_MONTHS)})


def _name(value: str, names: list[str] | None, offset: int) -> str:
    value = _ALIASES.get(value.lower(), value)
    if names and value.isdigit():
        index = int(value) - offset
        if names is _DAYS:
            index %= 7  # 7 is Sunday too
        if 0 <= index < len(names):
            return names[index]
    return value


def _field(text: str, unit: str, names: list[str] | None = None, offset: int = 0) -> str:
    """One field as words: '*/15' → 'every 15 minutes', '1-5' → 'Monday through Friday'."""
    parts = []
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            parts.append(f"every {step} {unit}s" if step else f"every {unit}")
        elif "-" in base:
            low, high = base.split("-", 1)
            words = f"{_name(low, names, offset)} through {_name(high, names, offset)}"
            parts.append(f"every {step} {unit}s, {words}" if step else words)
        else:
            words = _name(base, names, offset)
            parts.append(f"every {step} {unit}s from {words}" if step else words)
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def describe(schedule: str) -> str:
    """A sentence for a valid cron expression or preset."""
    expression = PRESETS.get(schedule.strip(), schedule.strip())
    fields = expression.split()
    seconds = fields[5] if len(fields) == 6 else None
    minute, hour, dom, month, dow = fields[:5]
    if minute.isdigit() and hour.isdigit():
        when = f"At {int(hour):02d}:{int(minute):02d}"
    elif minute.isdigit() and hour == "*":
        when = f"At minute {int(minute)} of every hour"
    elif minute == "*" and hour == "*":
        when = "Every minute"
    elif hour == "*" and minute.startswith("*/"):
        when = _field(minute, "minute").capitalize()
    elif hour == "*":
        when = f"At minutes {_field(minute, 'minute')} of every hour"
    elif minute.isdigit():
        when = f"At minute {int(minute)} past {_field(hour, 'hour')}"
        if all(p.isdigit() for p in hour.split(",")):
            times = [f"{int(h):02d}:{int(minute):02d}" for h in hour.split(",")]
            when = "At " + ", ".join(times[:-1]) + (" and " if len(times) > 1 else "") + times[-1]
    else:
        when = f"{_field(minute, 'minute')} past {_field(hour, 'hour')}".capitalize()
    if seconds is not None and seconds != "0":
        secs = _field(seconds, "second").capitalize()
        when = secs if when == "Every minute" else f"{secs}, {when[0].lower()}{when[1:]}"
    extra = []
    if dom not in ("*", "?"):
        extra.append(f"on day {_field(dom, 'day')} of the month")
    if dow not in ("*", "?"):
        extra.append(f"on {_field(dow, 'day', _DAYS)}" if "/" not in dow else f"{dow} (weekday)")
    if month not in ("*", "?"):
        extra.append(f"in {_field(month, 'month', _MONTHS, 1)}")
    sentence = ", ".join([when, *extra])
    return sentence.replace("every 1 ", "every ")
