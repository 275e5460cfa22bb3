"""Run changes pushed to browsers: ``GET /nbprod/api/events``, a server-sent-events stream.

Server-sent events rather than a websocket: the updates go one way (server to browser), an
SSE stream is a plain authenticated GET (jupyter_server's token or login cookie, no XSRF
needed, nothing to upgrade through proxies), and the browser's ``EventSource`` reconnects
by itself.

One :class:`EventHub` per server (on the extension's settings, no module state) runs one
:class:`~nbprod.catalog.changes.RunWatcher` every ``interval`` seconds, only while at least
one browser is connected, and fans each change out to every stream. The watcher reads the
catalog that the workers write, so a change is pushed within about one interval of its
commit, whichever process or machine made it.

The stream: ``event: ready`` once the watcher has its baseline (the browser loads its
listing then, and misses nothing after it), then one ``event: run`` per change with the run
as JSON (``run_id``, ``job``, ``status``, ``cells_done``, ``cells_total``), ``ready`` again if
the browser fell behind (it reloads), and a comment every ``KEEPALIVE`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from tornado.iostream import StreamClosedError

from nbprod.catalog.changes import RunState
from nbprod.server.handlers import BaseHandler, _Failure, page

log = logging.getLogger("nbprod.server.events")

ENV_VAR = "NBPROD_LIVE_EVENTS"
"""``off``: no stream (the route answers 503 and the pages poll); anything else: on."""

KEEPALIVE = 15.0
"""Seconds between comments on a quiet stream (so proxies and dead peers are noticed)."""

BACKLOG = 1000
"""Changes queued for one slow browser before it is told to reload instead."""

_RESYNC = object()
_CLOSED = object()


def enabled_from_env(default: bool = True) -> bool:
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("0", "false", "no", "off", "never"):
        return False
    return default


class EventHub:
    """The server's one watcher, shared by every connected stream."""

    def __init__(self, poll: Callable[[], Callable[[], list[RunState]]], interval: float) -> None:
        """``poll()`` makes a fresh watcher's poll function (its first call is the baseline)."""
        self.make_poll = poll
        self.interval = interval
        self.subscribers: set[asyncio.Queue[Any]] = set()
        self.task: asyncio.Task[None] | None = None
        self.baseline: asyncio.Future[None] | None = None

    async def subscribe(self) -> asyncio.Queue[Any]:
        """A queue of this hub's changes, once the watcher has its baseline."""
        subscriber: asyncio.Queue[Any] = asyncio.Queue(BACKLOG)
        self.subscribers.add(subscriber)
        if self.task is None or self.task.done():
            loop = asyncio.get_running_loop()
            self.baseline = loop.create_future()
            self.task = loop.create_task(self._watch(self.baseline))
        assert self.baseline is not None
        await asyncio.shield(self.baseline)
        return subscriber

    def unsubscribe(self, subscriber: asyncio.Queue[Any]) -> None:
        self.subscribers.discard(subscriber)

    @property
    def watching(self) -> bool:
        return self.task is not None and not self.task.done()

    def status(self) -> dict[str, Any]:
        """For ``GET /nbprod/api/info``: whether the watcher runs, for how many streams."""
        return {
            "state": "watching" if self.watching else "idle",
            "clients": len(self.subscribers),
            "interval_s": self.interval,
        }

    def close(self) -> None:
        """Server stopping: end every stream and the watcher."""
        for subscriber in list(self.subscribers):
            _offer(subscriber, _CLOSED)
        self.subscribers.clear()
        if self.task is not None:
            self.task.cancel()

    async def _watch(self, baseline: asyncio.Future[None]) -> None:
        loop = asyncio.get_running_loop()
        failing = False
        poll: Callable[[], list[RunState]] | None = None
        try:
            while self.subscribers:
                started = loop.time()
                try:
                    if poll is None:
                        poll = await loop.run_in_executor(None, self.make_poll)
                    changes = await loop.run_in_executor(None, poll)
                    if failing:
                        log.info("nbprod live events: the catalog answers again")
                        failing = False
                except Exception as exc:  # noqa: BLE001 - a catalog outage must not end it
                    if not failing:
                        log.warning("nbprod live events: cannot read the catalog: %s", exc)
                        failing = True
                    changes = []
                if not baseline.done():
                    baseline.set_result(None)  # after a failure too: the streams say ready
                for change in changes:
                    for subscriber in list(self.subscribers):
                        if not _offer(subscriber, change):
                            self._resync(subscriber)
                # One look per interval, but never more than half the time spent looking
                # (a catalog with a long backlog in flight is looked at less often).
                elapsed = loop.time() - started
                await asyncio.sleep(max(self.interval - elapsed, elapsed))
        finally:
            if not baseline.done():
                baseline.set_result(None)

    def _resync(self, subscriber: asyncio.Queue[Any]) -> None:
        """A browser that fell ``BACKLOG`` changes behind reloads instead of catching up."""
        while not subscriber.empty():
            subscriber.get_nowait()
        subscriber.put_nowait(_RESYNC)


def _offer(subscriber: asyncio.Queue[Any], item: Any) -> bool:
    try:
        subscriber.put_nowait(item)
        return True
    except asyncio.QueueFull:
        return False


def make_hub(service: Any, interval: float) -> EventHub:
    """The hub of a server browsing ``service``'s store (the catalog opens on first use)."""
    from nbprod.catalog.changes import RunWatcher

    def make_poll() -> Callable[[], list[RunState]]:
        catalog = service.catalog
        return RunWatcher(catalog.engine, catalog.url, service.store.url).poll

    return EventHub(make_poll, interval)


def sse(event: str, data: Any) -> str:
    """One event; its data JSON on one line (a newline would end the ``data:`` field)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {text}\n\n"


class EventsHandler(BaseHandler):
    """``GET /nbprod/api/events``: the run-change stream, authenticated like every page."""

    json_only = True

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.subscriber: asyncio.Queue[Any] | None = None

    @page
    async def get(self) -> None:
        hub: EventHub | None = self.settings.get("nbprod_events")
        if hub is None:
            raise _Failure(503, f"live events are off on this server ({ENV_VAR}=off)")
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")  # no proxy buffering (nginx)
        self.subscriber = subscriber = await hub.subscribe()
        try:
            self.write("retry: 3000\n" + sse("ready", {}))
            await self.flush()
            while True:
                try:
                    item = await asyncio.wait_for(subscriber.get(), KEEPALIVE)
                except asyncio.TimeoutError:
                    self.write(": keep-alive\n\n")
                    await self.flush()
                    continue
                if item is _CLOSED:
                    break
                self.write(sse("ready", {}) if item is _RESYNC else sse("run", item.to_dict()))
                await self.flush()
        except StreamClosedError:
            pass
        finally:
            hub.unsubscribe(subscriber)
        try:
            self.finish()
        except StreamClosedError:
            pass

    def on_connection_close(self) -> None:
        if self.subscriber is not None:
            _offer(self.subscriber, _CLOSED)
