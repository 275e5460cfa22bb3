"""The scheduler embedded in a Jupyter server, for a single user who runs nothing else.

It runs the same ``Scheduler`` ticks as ``nbprod scheduler`` in a background thread, with
the configured executor (local ``nbprod worker`` processes by default) executing the queue.
It beats a lease in the catalog and fires/reaps only while no ``nbprod scheduler`` is alive
on the same store (and no older embedded one is): a team's daemon wins, and a culled
notebook server stops nothing that the daemon runs. Fires stay exactly-once regardless (a
primary key per scheduled time).

Workers are spawned from the background thread itself: they die with it (PDEATHSIG is tied
to the spawning thread), and the thread lives until the server stops.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from nbprod.config import Settings

log = logging.getLogger("nbprod.server.embedded")

ENV_VAR = "NBPROD_EMBEDDED_SCHEDULER"
"""``auto`` (default): run when no external scheduler is alive; ``off``: never."""


def mode_from_env(default: str = "auto") -> str:
    value = os.environ.get(ENV_VAR, default).strip().lower()
    if value in ("0", "false", "no", "off", "never"):
        return "off"
    return "auto"


class EmbeddedScheduler:
    def __init__(self, settings: Settings, *, workers: int = 1, tick: float = 1.0) -> None:
        self.settings = settings
        self.workers = workers
        self.tick_seconds = tick
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.state = "starting"
        self.reason = ""
        self.name = ""
        self.store_url = ""

    def start(self) -> None:
        self.thread = threading.Thread(target=self._main, name="nbprod-embedded", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "workers": self.workers,
        }

    # -- the thread ---------------------------------------------------------------------

    def _main(self) -> None:
        from nbprod.catalog import open_catalog
        from nbprod.catalog.lease import EMBEDDED, alive, should_fire
        from nbprod.catalog.queue import utcnow
        from nbprod.executors.registry import make_executor
        from nbprod.scheduler.daemon import Scheduler, safe_beat

        try:
            catalog = open_catalog(self.settings)
        except Exception as exc:  # noqa: BLE001 - reported by /nbprod/api/info
            self.state, self.reason = "failed", f"catalog: {exc}"
            log.error("nbprod embedded scheduler: cannot open the catalog: %s", exc)
            return
        try:
            executor = make_executor(self.settings, workers=self.workers)
        except Exception as exc:  # noqa: BLE001 - reported by /nbprod/api/info
            self.state, self.reason = "failed", f"executor: {exc}"
            log.error("nbprod embedded scheduler: cannot make its executor: %s", exc)
            catalog.close()
            return
        scheduler = Scheduler(self.settings, catalog, executor, tick=self.tick_seconds)
        self.name = f"{scheduler.name}:embedded"
        self.store_url = scheduler.store_url
        started = False
        try:
            while not self.stopping.is_set():
                now = utcnow()
                try:
                    leases = alive(catalog.engine, self.store_url, now, self.settings.lost_after)
                    fire, self.reason = should_fire(leases, self.name)
                    self.state = "active" if fire else "standby"
                    safe_beat(catalog, self.name, self.store_url, EMBEDDED, self.state, now)
                    if fire:
                        if not started:
                            executor.start()
                            started = True
                            log.info("nbprod embedded scheduler active (%s)", self.reason)
                        scheduler.tick()
                        executor.supervise()
                    elif started:
                        log.info("nbprod embedded scheduler standing by (%s)", self.reason)
                        executor.stop(self.settings.shutdown_grace)
                        started = False
                except Exception as exc:  # noqa: BLE001 - one bad tick must not end the loop
                    log.warning("nbprod embedded scheduler tick failed: %s", exc)
                self.stopping.wait(self.tick_seconds)
        finally:
            if started:
                executor.stop(min(self.settings.shutdown_grace, 10))
            safe_beat(catalog, self.name, self.store_url, EMBEDDED, "stopped", utcnow())
            self.state = "stopped"
            catalog.close()
