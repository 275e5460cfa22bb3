"""The partial output notebook of a queued run, copied to the store while it executes.

The local spool copy survives only on the worker's machine; a reaper elsewhere (the
scheduler, another host's ``nbprod status``) finds this one when the worker died with its
machine or its Dask worker. Uploads happen on a thread of their own, latest copy first
(a slow or unreachable store never holds up the notebook), and the object is removed
once the run's final output is published.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from nbprod.store import layout

log = logging.getLogger("nbprod.autosave")


class PartialUploader:
    """Uploads the newest partial copy; older ones still waiting are skipped."""

    def __init__(self, store: Any, job: str, run_id: str) -> None:
        self.store = store
        self.key = layout.partial_key(job, run_id)
        self._latest: bytes | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.uploads = 0
        self._thread = threading.Thread(target=self._loop, name="nbprod-autosave", daemon=True)
        self._thread.start()

    def __call__(self, path: Path) -> None:
        """The engine saved a partial copy at ``path``."""
        data = path.read_bytes()
        with self._lock:
            self._latest = data
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                data, self._latest = self._latest, None
                closed = self._closed
            if data is not None and not closed:
                try:
                    self.store.put(self.key, data, "application/x-ipynb+json")
                    self.uploads += 1
                except Exception as exc:  # noqa: BLE001 - best effort; the spool copy stays
                    log.debug("partial upload failed: %s", exc)
            if closed:
                return

    def close(self) -> None:
        """No more uploads (the final output is being written): stop the thread."""
        with self._lock:
            self._closed = True
        self._wake.set()
        self._thread.join(30)

    def remove(self) -> None:
        """The final output is in the store: the partial copy is not needed any more."""
        try:
            self.store.delete(self.key)
        except Exception as exc:  # noqa: BLE001 - a left-over partial is harmless
            log.debug("partial copy not removed: %s", exc)
