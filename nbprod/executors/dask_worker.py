"""What runs inside a Dask worker process: claim one queued run and execute it there.

A task carries only the store URL and the run id; the catalog URL, store credentials and
settings come from the Dask worker's own environment (as for ``nbprod worker``), so no
secret travels through Dask. The claim in the catalog decides: a task whose run is not
claimable (already claimed, cancelled, over its job's concurrency) returns ``refused``
without executing anything, so a task Dask runs twice executes the notebook at most once.

:class:`NbprodWorkerPlugin` holds, per Dask worker process, an open catalog per catalog
URL (a task does not pay for opening one) and the runs executing there, so that a Dask
worker told to stop (SIGTERM) cancels them with their output kept.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from typing import Any

from distributed import WorkerPlugin

PLUGIN_NAME = "nbprod"
REFUSED = "refused"
"""A task's result when the catalog did not give it the run's claim."""


class NbprodWorkerPlugin(WorkerPlugin):
    """Registered by the executor's client on every Dask worker (pickled there: its
    locks and catalogs are made in :meth:`setup`, on the worker)."""

    name = PLUGIN_NAME

    def __init__(self, stop_grace: float = 8.0) -> None:
        self.stop_grace = stop_grace
        """How long a stopping Dask worker waits for its cancelled runs to store their
        output (``dask worker`` gives its worker 10 s on SIGTERM)."""
        self.address = ""

    def setup(self, worker: Any) -> None:
        self.address = str(getattr(worker, "address", ""))
        # the first run would import the run machinery (papermill, nbclient; seconds):
        # do it now, off the worker's event loop, so that run starts as fast as the next
        threading.Thread(target=_import_run_machinery, name="nbprod-warm", daemon=True).start()
        self._lock = threading.Lock()
        self._catalogs: dict[str, Any] = {}
        self._runners: set[Any] = set()
        self._stopping = threading.Event()

    def teardown(self, worker: Any) -> None:
        """The Dask worker is closing: cancel what runs here, give it time to store output."""
        self._stopping.set()
        with self._lock:
            runners = list(self._runners)
        for runner in runners:
            runner.cancel_pending = True
            if runner.control is not None:
                runner.control.stop("cancel")
        deadline = time.monotonic() + self.stop_grace
        while time.monotonic() < deadline:
            with self._lock:
                if not self._runners:
                    break
            time.sleep(0.1)
        with self._lock:
            catalogs, self._catalogs = list(self._catalogs.values()), {}
        for catalog in catalogs:
            catalog.close()

    def catalog(self, settings: Any) -> Any:
        from nbprod.catalog import open_catalog

        url = settings.catalog_url
        with self._lock:
            found = self._catalogs.get(url)
            if found is None:
                found = self._catalogs[url] = open_catalog(settings)
            return found

    def track(self, runner: Any) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            self._runners.add(runner)
            return True

    def untrack(self, runner: Any) -> None:
        with self._lock:
            self._runners.discard(runner)


def _import_run_machinery() -> None:
    try:
        import nbprod.engine  # noqa: F401 - papermill, nbclient, jupyter_client
        import nbprod.runner  # noqa: F401
        import nbprod.scheduler.worker  # noqa: F401
    except Exception:  # noqa: BLE001, S110 - the first run imports them again, and says why
        pass


def worker_name(address: str) -> str:
    """``host:pid#dask-N``: the host and pid of the Dask worker process (so a reaper on its
    host sees at once when it is gone), and the task's thread within it."""
    thread = threading.current_thread().name.rsplit("-", 1)[-1]
    suffix = f"#dask-{thread}" if thread.isdigit() else "#dask"
    return f"{platform.node()}:{os.getpid()}{suffix}"


def execute_run(store: str, run_id: str) -> str:
    """The Dask task: claim ``run_id`` of ``store`` and execute it in this process.

    Returns the run's final status, ``fenced``, or ``refused`` (not claimable now).
    """
    from distributed import get_worker

    from nbprod.config import Settings
    from nbprod.scheduler.worker import Worker

    settings = Settings.load()
    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    own = plugin is None
    if own:
        plugin = NbprodWorkerPlugin()
        plugin.setup(worker)
    catalog = plugin.catalog(settings)
    runner = Worker(settings, catalog, burst=True, name=worker_name(plugin.address))
    if not plugin.track(runner):
        return REFUSED  # this Dask worker is closing; the run stays queued for another
    try:
        status = runner.run_one(store, run_id)
        return REFUSED if status is None else status
    finally:
        plugin.untrack(runner)
        if own:
            plugin.teardown(worker)
