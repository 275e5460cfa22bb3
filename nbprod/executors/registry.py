"""Executors by name: the built-in ones and plug-ins from other packages.

A package adds one with an entry point in the ``nbprod.executors`` group, naming a
function that takes an :class:`~nbprod.executors.base.ExecutorContext` and returns an
:class:`~nbprod.executors.base.Executor` (papermill's engine registry works the same way)::

    [project.entry-points."nbprod.executors"]
    slurm = "nbprod_slurm:make_executor"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from nbprod.errors import BadInput

if TYPE_CHECKING:
    from nbprod.config import Settings
    from nbprod.executors.base import Executor, ExecutorContext, RunRef

GROUP = "nbprod.executors"
BUILT_IN = {"local": "nbprod.executors.local:make", "dask": "nbprod.executors.dask:make"}

Factory = Callable[["ExecutorContext"], "Executor"]


def executor_names() -> list[str]:
    """Every executor name this installation knows."""
    return sorted({*BUILT_IN, *(ep.name for ep in entry_points(group=GROUP))})


def factory(name: str) -> Factory:
    """The factory registered as ``name``; BadInput naming the known ones otherwise."""
    key = name.strip().lower()
    if key in BUILT_IN:
        module, _, attr = BUILT_IN[key].partition(":")
        return getattr(importlib.import_module(module), attr)
    for ep in entry_points(group=GROUP):
        if ep.name == key:
            return ep.load()
    raise BadInput(f"unknown executor {name!r} (known: {', '.join(executor_names())})")


def check_executor(settings: Settings) -> None:
    """Refuse a bad executor setting (unknown name, missing or unreachable cluster) before
    anything is queued for it: an executor for no runs is made, started and closed."""
    executor = make_executor(settings, runs=[])
    try:
        executor.start()
    finally:
        executor.close()


def make_executor(
    settings: Settings,
    *,
    workers: int | None = None,
    runs: Sequence[RunRef] | None = None,
    folder: Path | None = None,
    store: str | None = None,
    poll: float = 0.2,
) -> Executor:
    """The configured executor (``settings.executor``) for the whole queue or for ``runs``."""
    from nbprod.executors.base import ExecutorContext

    context = ExecutorContext(
        settings=settings,
        workers=settings.workers if workers is None else workers,
        runs=runs,
        folder=folder,
        store=store,
        poll=poll,
    )
    return factory(settings.executor)(context)
