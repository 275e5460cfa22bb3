"""A run's record while it runs: the ``running`` announcement and live progress updates.

Readers elsewhere (browse UI, ``runs show``, ``nbprod status``) see the run at once and
follow it, without the run ever waiting for a slow store: every write here is best effort,
off the run's thread; the final record (published by ``publish``) always wins.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from nbprod.errors import StoreError
from nbprod.records import RunRecord, isoformat, utcnow
from nbprod.store import Store

RecordCallback = Callable[[RunRecord], None]


def notify(on_record: RecordCallback | None, record: RunRecord) -> None:
    """Hand a record to the caller's indexer; its failure never fails the run."""
    if on_record is None:
        return
    try:
        on_record(record)
    except Exception as exc:  # an index is not worth failing a run for
        logging.getLogger("nbprod").warning("could not index run %s: %s", record.run_id, exc)


def announce(
    store: Store, record: RunRecord, source: bytes, on_record: RecordCallback | None
) -> None:
    """Best effort: the snapshot and a 'running' record, so the run is visible at once."""
    try:
        store.put_if_absent(record.artifacts["snapshot"], source, "application/json")
        store.put(record.artifacts["record"], record.to_json().encode(), "application/json")
    except StoreError:
        pass  # the final publish retries and spools; a slow store must not delay the run
    notify(on_record, record)


def result(future: Future[Any], timeout: float | None = 30) -> Any:
    """A helper thread's result, or None if it failed (capture is informative, never fatal)."""
    try:
        return future.result(timeout=timeout)
    except Exception:
        return None


class ProgressPublisher:
    """Live progress: the running record is re-published, at most every ``interval``
    seconds and off the run's thread, with cells done/total and the cell executing now with
    its start time. A change inside the interval is published when the interval is over, so
    a long cell's start is never skipped: a reader can tell a run stuck in one cell from one
    making progress."""

    def __init__(
        self,
        store: Store,
        record: RunRecord,
        pool: ThreadPoolExecutor,
        on_record: RecordCallback | None,
        on_progress: Callable[[int, int], None] | None,
        interval: float,
    ) -> None:
        self.store, self.record, self.pool = store, record, pool
        self.on_record, self.on_progress, self.interval = on_record, on_progress, interval
        self.progress = copy.deepcopy(record.progress)
        self.last = time.monotonic()
        self.pending: list[Future[Any]] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def __call__(self, done: int, total: int) -> None:
        if self.on_progress:
            self.on_progress(done, total)
        with self._lock:
            self.progress.cells_done, self.progress.cells_total = done, total
            self.progress.cell_index = self.progress.cell_started_at = None
            if done < total:  # after the last cell the final record follows at once
                self._request()

    def cell_started(self, index: int) -> None:
        with self._lock:
            self.progress.cell_index = index
            self.progress.cell_started_at = isoformat(utcnow())
            self._request()

    def _request(self) -> None:
        if self.interval <= 0 or self._closed:
            return
        wait = self.interval - (time.monotonic() - self.last)
        self.pending = [f for f in self.pending if not f.done()]
        if wait > 0 or self.pending:  # one in flight at most: a slow store delays updates
            if self._timer is None:
                self._timer = threading.Timer(max(wait, 0.2), self._deferred)
                self._timer.daemon = True
                self._timer.start()
            return
        self.last = time.monotonic()
        snapshot = copy.deepcopy(self.record)
        snapshot.progress = copy.deepcopy(self.progress)
        self.pending.append(self.pool.submit(self._publish, snapshot))

    def _deferred(self) -> None:
        with self._lock:
            self._timer = None
            try:
                self._request()
            except RuntimeError:  # the pool is shut down: the run has ended
                pass

    def _publish(self, snapshot: RunRecord) -> None:
        try:
            self.store.put(
                snapshot.artifacts["record"], snapshot.to_json().encode(), "application/json"
            )
        except StoreError:
            return
        notify(self.on_record, snapshot)

    def drain(self) -> None:
        """Stop, and wait for updates in flight, so none lands after the final record."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            pending = list(self.pending)
        for future in pending:
            result(future, timeout=None)
