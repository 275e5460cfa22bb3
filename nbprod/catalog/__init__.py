"""The catalog: a SQL index of jobs and runs, rebuildable from the store alone.

Nothing heavy is imported here: ``open_catalog`` loads SQLAlchemy only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbprod.catalog.db import Catalog
    from nbprod.config import Settings

__all__ = ["open_catalog"]


def open_catalog(settings: Settings) -> Catalog:
    """The catalog at ``settings.catalog_url`` (the SQLite file in home by default)."""
    from nbprod.catalog.db import Catalog

    return Catalog.open(settings.catalog_url)
