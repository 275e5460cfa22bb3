"""One workspace: the settings with the store, catalog and queue they name.

Each part is opened on first use, so an operation that only reads the store never imports
SQLAlchemy, and the catalog is opened once however many steps an operation takes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from nbprod.config import Settings

if TYPE_CHECKING:
    from nbprod.catalog.db import Catalog
    from nbprod.store.base import Store


class Workspace:
    """Use as a context manager (``with Workspace(settings) as ws:``): closing it closes the
    catalog if one was opened. Safe to share between the threads of one run."""

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None) -> None:
        """``store``: one already open for ``settings.store`` (a server's, reused)."""
        self.settings = settings or Settings.load()
        self._store: Store | None = store
        self._catalog: Catalog | None = None
        self._queue: Any = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                from nbprod.store import open_store

                self._store = open_store(self.settings.store)
            return self._store

    @property
    def catalog(self) -> Catalog:
        with self._lock:
            if self._catalog is None:
                from nbprod.catalog import open_catalog

                self._catalog = open_catalog(self.settings)
            return self._catalog

    @property
    def queue(self) -> Any:
        """The run queue, in the catalog's database."""
        catalog = self.catalog
        with self._lock:
            if self._queue is None:
                from nbprod.catalog.queue import Queue

                self._queue = Queue(catalog)
            return self._queue

    @property
    def catalog_opened(self) -> bool:
        return self._catalog is not None

    def close(self) -> None:
        with self._lock:
            catalog, self._catalog, self._queue = self._catalog, None, None
        if catalog is not None:
            catalog.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
