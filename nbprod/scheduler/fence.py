"""A worker's hold on one claimed run, and a store that writes only while it holds.

The store has no conditional writes, so the catalog row arbitrates: before the first
final object of a run goes to the store, the worker moves its row ``running ->
finishing`` under its claim token (a reaper takes over only ``running`` rows, or stale
``finishing`` ones, and clears the token). A worker whose claim is gone — it was frozen
or cut off past ``lost_after`` and the run was marked ``lost`` meanwhile — writes its
output under a non-final name (``<stem>.fenced-<token>.ipynb``) and no run record.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nbprod.catalog.queue import Item, Queue, utcnow
from nbprod.scheduler.durable import persist
from nbprod.scheduler.events import event
from nbprod.store import layout


@dataclass
class Progress:
    cells_done: int = 0
    cells_total: int = 0
    at: datetime | None = None


class Fence:
    """One claim as its worker sees it: held, publishing (``finishing``) or fenced."""

    def __init__(self, queue: Queue, item: Item, *, patience: float | None = None) -> None:
        self.queue = queue
        self.item = item
        self.patience = patience
        self.progress = Progress()
        self.ending = False
        """Set once the worker records the end itself (a refused beat is then expected)."""
        self._fenced = threading.Event()
        self._lock = threading.Lock()
        self._finishing: bool | None = None

    @property
    def token(self) -> str:
        return self.item.claim or "none"

    def fenced(self) -> bool:
        return self._fenced.is_set()

    def mark_fenced(self, why: str) -> None:
        if not self._fenced.is_set():
            self._fenced.set()
            event(
                "fenced",
                run_id=self.item.run_id,
                job=self.item.job,
                claim=self.item.claim,
                reason=why,
            )

    def _persist(self, action: Any, what: str) -> Any:
        kwargs = {} if self.patience is None else {"patience": self.patience}
        return persist(action, what, run_id=self.item.run_id, **kwargs)

    def enter_finishing(self) -> bool:
        """running -> finishing under the claim (once); False means fenced."""
        item = self.item
        with self._lock:
            if self._finishing is None:
                if self.fenced():
                    self._finishing = False
                else:
                    try:
                        self._finishing = self._persist(
                            lambda: self.queue.begin_finish(
                                item.store, item.run_id, item.claim, utcnow()
                            ),
                            "begin_finish",
                        )
                    except Exception as exc:  # the catalog stayed away: never publish blind
                        event("catalog_gave_up", action="begin_finish", error=str(exc))
                        self._finishing = False
                    if not self._finishing:
                        self.mark_fenced("the claim was gone when the run ended")
            return bool(self._finishing)

    def may_publish(self) -> bool:
        """Before each final object: in ``finishing`` and still holding the claim."""
        if not self.enter_finishing():
            return False
        item = self.item
        try:
            held = self._persist(
                lambda: self.queue.holds(item.store, item.run_id, item.claim), "holds"
            )
        except Exception as exc:  # noqa: BLE001
            event("catalog_gave_up", action="holds", error=str(exc))
            held = False
        if not held:
            with self._lock:
                self._finishing = False
            self.mark_fenced("the claim was taken over while publishing")
        return held

    def publishing(self) -> bool:
        """Whether this worker entered ``finishing`` and was not fenced since."""
        with self._lock:
            return bool(self._finishing) and not self.fenced()

    def aside(self, key: str) -> str:
        """The non-final name a fenced worker keeps an object under."""
        folder, _, name = key.rpartition("/")
        stem, dot, suffix = name.rpartition(".")
        if not dot:
            stem, suffix = name, ""
        renamed = f"{stem}.fenced-{self.token}" + (f".{suffix}" if suffix else "")
        return f"{folder}/{renamed}" if folder else renamed


class FencedStore:
    """The run's store, as the runner sees it on a worker: run objects go through the fence.

    Objects outside the run's folder (content-addressed snapshots, environments) pass.
    A ``running`` record (announce, live progress) is dropped once fenced; a terminal
    record is written only by a worker in ``finishing`` that still holds its claim; other
    objects of the run (output notebook, kernel log) go under a non-final name otherwise.
    """

    def __init__(self, store: Any, fence: Fence, job: str, run_id: str) -> None:
        self._store = store
        self._fence = fence
        self._prefix = layout.run_prefix(job, run_id) + "/"
        self._record = layout.record_key(job, run_id)
        self._partial = layout.partial_key(job, run_id)
        self.kept_aside: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        target = self._route(key, data)
        if target is not None:
            self._store.put(target, data, content_type)

    def put_if_absent(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        target = self._route(key, data)
        if target is None:
            return False
        return self._store.put_if_absent(target, data, content_type)

    def _route(self, key: str, data: bytes) -> str | None:
        if not key.startswith(self._prefix):
            return key
        if key == self._partial:  # the autosaved partial output: while the claim holds
            return None if self._fence.fenced() else key
        if key == self._record:
            if _is_running_record(data):
                return None if self._fence.fenced() else key
            return key if self._fence.may_publish() else None
        if self._fence.may_publish():
            return key
        aside = self._fence.aside(key)
        if aside not in self.kept_aside:
            self.kept_aside.append(aside)
            event("fenced_output_kept", run_id=self._fence.item.run_id, key=aside)
        return aside


def _is_running_record(data: bytes) -> bool:
    try:
        return json.loads(data).get("status") == "running"
    except (ValueError, AttributeError):
        return False
