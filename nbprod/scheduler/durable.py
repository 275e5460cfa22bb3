"""Catalog writes that must land: retried with exponential backoff across an outage.

A worker whose run has ended holds the only knowledge of that ending besides the store;
if it gave up on a catalog that is restarting, the reaper would take the finished run for
a lost one and run it again. So the end-of-run writes wait the outage out (bounded, much
longer than a database restart) and log every retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from nbprod.catalog.sql import transient
from nbprod.scheduler.events import event

T = TypeVar("T")

PATIENCE_S = 900.0
"""How long end-of-run catalog writes are retried before the worker gives up."""


def persist(
    action: Callable[[], T],
    what: str,
    *,
    patience: float = PATIENCE_S,
    first_delay: float = 0.2,
    max_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    **fields: object,
) -> T:
    """``action()``, retried on transient catalog errors for up to ``patience`` seconds.

    The delay doubles from ``first_delay`` to ``max_delay``: short enough that a catalog
    coming back is seen within seconds (well inside ``lost_after``).
    """
    deadline = time.monotonic() + patience
    delay = first_delay
    attempt = 1
    while True:
        try:
            return action()
        except Exception as exc:
            if not transient(exc) or time.monotonic() + delay > deadline:
                raise
            event(
                "catalog_retry",
                action=what,
                attempt=attempt,
                delay_s=round(delay, 2),
                error=_first_line(exc),
                **fields,
            )
        sleep(delay)
        delay = min(delay * 2, max_delay)
        attempt += 1


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
