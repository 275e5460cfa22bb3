"""nbprod: notebooks as production jobs.

The public API lives in :mod:`nbprod.api`; names are imported lazily so that
``nbprod --help`` and ``import nbprod`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "execute": "nbprod.api",
    "list_runs": "nbprod.api",
    "get_run": "nbprod.api",
    "notebook_parameters": "nbprod.api",
    "flush_spool": "nbprod.api",
    "Run": "nbprod.api",
    "RunRecord": "nbprod.records",
    "RunStatus": "nbprod.records",
    "Settings": "nbprod.config",
}

__all__ = [
    "Run",
    "RunRecord",
    "RunStatus",
    "Settings",
    "execute",
    "flush_spool",
    "get_run",
    "list_runs",
    "notebook_parameters",
]

if TYPE_CHECKING:  # pragma: no cover
    from nbprod.api import Run, execute, flush_spool, get_run, list_runs, notebook_parameters
    from nbprod.config import Settings
    from nbprod.records import RunRecord, RunStatus


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'nbprod' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
