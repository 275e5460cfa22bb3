"""The browse UI's data layer: one object per server, holding the store and the catalog.

Framework-free: views call it, handlers only turn its results into responses. The
catalog is the listing source for jobs and runs; the store serves files and records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.core.workspace import Workspace
from nbprod.errors import NotFound
from nbprod.records import RunRecord
from nbprod.server.listing import checked_key
from nbprod.server.render import CodeView, NotebookRenderer
from nbprod.store import Store, layout, open_store


class BrowseData:
    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.workspace = Workspace(settings, store=store or open_store(settings.store))
        self.store = self.workspace.store
        self.renderer = NotebookRenderer(Path(settings.home) / "cache" / "html")

    @classmethod
    def from_store(cls, store_url: str | None = None) -> BrowseData:
        return cls(Settings.load({"store": store_url}))

    @property
    def catalog(self) -> Any:
        """Opened on first use (a server inside JupyterLab costs nothing until visited)."""
        return self.workspace.catalog

    def close(self) -> None:
        self.workspace.close()

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
        """The newest knowledge of a run (core.runs.fresh_record, the rule every face
        uses): a running run's record is re-read from the store, where its worker, maybe
        on another machine, writes it."""
        from nbprod.core.runs import fresh_record

        record = self.run(run_id)
        return fresh_record(self.workspace, record, record.job, record.run_id) or record

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

    def prerender(self, key: str, code: CodeView = CodeView.AS_SAVED) -> None:
        """Render an output notebook into the cache ahead of its frame's request (the run
        page starts this as it answers, so the frame finds the page rendered or being
        rendered). Failures are left to the frame's own request, which reports them."""
        try:
            self.renderer.render(self.read(key), code)
        except Exception:  # noqa: BLE001 - the frame's request shows the error
            pass

    def is_file(self, key: str) -> bool:
        return self.store.exists(checked_key(key))
