"""The browse UI's data layer: one object per server, holding the store and the catalog.

Framework-free: views call it, handlers only turn its results into responses. The
catalog is the listing source for jobs and runs; the store serves files and records.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.errors import CorruptData, InvalidName
from nbprod.records import RunRecord
from nbprod.server.listing import checked_key
from nbprod.server.render import NotebookRenderer
from nbprod.server.views.common import NotFound
from nbprod.store import Store, layout, open_store


class BrowseService:
    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or open_store(settings.store)
        self.renderer = NotebookRenderer(Path(settings.home) / "cache" / "html")
        self._catalog: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, store_url: str | None = None) -> BrowseService:
        return cls(Settings.load({"store": store_url}))

    @property
    def catalog(self) -> Any:
        """Opened on first use (a server inside JupyterLab costs nothing until visited)."""
        with self._lock:
            if self._catalog is None:
                from nbprod.catalog import open_catalog

                self._catalog = open_catalog(self.settings)
            return self._catalog

    def close(self) -> None:
        with self._lock:
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None

    # -- runs ---------------------------------------------------------------------------

    def run(self, run_id: str) -> RunRecord:
        """A run by exact id: the catalog's copy, else the store's record."""
        if not layout.is_run_id(run_id):
            raise NotFound(f"no run {run_id!r} (not a run id)")
        record = self.catalog.get_run(self.store.url, run_id)
        if record is not None and record.run_id == run_id:
            return record
        from nbprod.errors import RunNotFound
        from nbprod.history import find_run

        try:
            return find_run(self.store, run_id)
        except RunNotFound:
            raise NotFound(f"no run {run_id!r} in {self.store.url}") from None

    def fresh_run(self, run_id: str) -> RunRecord:
        """The newest knowledge of a run: a running run's record is re-read from the store
        (where a worker on another machine writes it), else the catalog's copy."""
        record = self.run(run_id)
        if record.status.value != "running":
            return record
        try:
            data = self.store.get(layout.record_key(record.job, record.run_id))
        except (KeyError, InvalidName):
            return record
        try:
            stored = RunRecord.from_json(data)
        except CorruptData:
            return record  # the catalog's copy is readable; the page still shows the run
        if stored.status.value != "running" or (
            stored.progress.cells_done >= record.progress.cells_done
        ):
            return stored
        return record

    def previous_run_id(self, record: RunRecord) -> str | None:
        """The job's run just before this one (run ids sort by start time)."""
        return self.catalog.previous_run_id(self.store.url, record.job, record.run_id)

    # -- files --------------------------------------------------------------------------

    def read(self, key: str) -> bytes:
        """An object's bytes; NotFound for a missing one, InvalidName for a bad key."""
        try:
            return self.store.get(checked_key(key))
        except KeyError:
            raise NotFound(f"no file {key!r} in the store") from None

    def is_file(self, key: str) -> bool:
        return self.store.exists(checked_key(key))
