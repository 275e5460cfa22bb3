"""The ``dask`` executor: queued runs execute as tasks on a Dask distributed cluster.

The catalog queue stays the durable record and the only place a run is claimed. Each
tick, the executor submits the queued runs that are due (up to two per thread of the
cluster: one running, one waiting) as tasks ``execute_run(store, run_id)`` under the key
``nbprod-<run id>``, so one run is never in flight twice, even with two schedulers
submitting. Dask's own retries are off (``retries=0``): a task whose run was not
claimable returns ``refused`` and the run is submitted again on a later tick; a task lost
with its worker is nbprod's business (heartbeats, ``lost_after``, the job's retry
policy), not Dask's. Cancels go through the catalog's flag, which the task's heartbeat
picks up (Dask cannot stop a running task).

A run whose job asks for resources (``resources: {gpu: 1}``) becomes a task with those
Dask resources; while no worker of the cluster has them, the run stays queued and its row
says why (``nbprod status``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbprod.errors import BadInput
from nbprod.executors.base import Executor, ExecutorContext, RunRef
from nbprod.scheduler.events import event

if TYPE_CHECKING:
    from nbprod.config import Settings

KEY_PREFIX = "nbprod-"
CONNECT_TIMEOUT = 10.0


def task_key(run_id: str) -> str:
    return f"{KEY_PREFIX}{run_id}"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise BadInput(
            'the dask executor needs Dask distributed: pip install "nbprod[dask]"'
        ) from None
    return distributed


def check_address(settings: Settings) -> str:
    address = (settings.dask_scheduler or "").strip()
    if not address:
        raise BadInput(
            "the dask executor needs the Dask scheduler's address: "
            "--dask-scheduler tcp://HOST:8786 or NBPROD_DASK_SCHEDULER"
        )
    if "://" not in address:
        address = f"tcp://{address}"
    return address


def unmet(needs: dict[str, float], workers: Sequence[dict[str, float]]) -> str | None:
    """Why no worker can take a task needing ``needs``, or None when one can."""
    if not needs:
        return None
    if any(all(have.get(k, 0) >= v for k, v in needs.items()) for have in workers):
        return None
    wanted = ", ".join(f"{k}={v:g}" for k, v in sorted(needs.items()))
    if not workers:
        return f"no Dask worker is connected (needs {wanted})"
    return f"no Dask worker has the resources {wanted}"


class DaskExecutor:
    """Submits queued runs to a Dask cluster; the whole queue, or given runs."""

    name = "dask"

    def __init__(self, context: ExecutorContext) -> None:
        _distributed()
        self.settings = context.settings
        self.address = check_address(context.settings)
        self.runs = list(context.runs) if context.runs is not None else None
        self.client: Any = None
        self.inflight: dict[str, Any] = {}
        """run id -> its Dask future, while the task is pending or running."""
        self.threads = 0
        self.worker_resources: list[dict[str, float]] = []
        self._last_connect = 0.0
        self._reasons: dict[tuple[str, str], str | None] = {}
        self._catalog: Any = None

    # -- connection ---------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self.threads

    def _connect(self) -> Any:
        if self.client is not None and self.client.status not in ("running", "connecting"):
            event("dask_disconnected", scheduler=self.address, status=self.client.status)
            self._drop_client()  # it gave up on a scheduler that went away: a new one
        if self.client is not None:
            return self.client
        if time.monotonic() - self._last_connect < 2.0:
            return None  # the cluster was unreachable a moment ago; not every tick
        self._last_connect = time.monotonic()
        distributed = _distributed()
        from nbprod.executors.dask_worker import PLUGIN_NAME, NbprodWorkerPlugin

        try:
            client = distributed.Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            event("dask_unreachable", scheduler=self.address, error=str(exc).splitlines()[0])
            return None
        client.register_plugin(NbprodWorkerPlugin(), name=PLUGIN_NAME)
        self.client = client
        event("executor", kind="dask", scheduler=self.address)
        return client

    def _refresh(self, client: Any) -> None:
        info = client.scheduler_info(n_workers=-1)
        workers = list(info.get("workers", {}).values())
        self.threads = sum(int(w.get("nthreads", 1)) for w in workers)
        self.worker_resources = [dict(w.get("resources") or {}) for w in workers]

    # -- Executor -----------------------------------------------------------------------

    def start(self) -> None:
        if self._connect() is None and self.runs is not None:
            raise BadInput(f"cannot reach the Dask scheduler at {self.address}")

    def supervise(self, waiting: int | None = None) -> None:
        client = self._connect()
        if client is None:
            return
        try:
            self._collect()
            self._refresh(client)
            self._submit_due(client)
        except (OSError, TimeoutError) as exc:  # the Dask scheduler went away: reconnect
            event("dask_unreachable", scheduler=self.address, error=str(exc).splitlines()[0])
            self._drop_client()

    def submit(self, runs: Sequence[RunRef]) -> None:
        """Submit these runs now; they go on after this process lets go of them."""
        client = self._connect()
        if client is None:
            raise BadInput(f"cannot reach the Dask scheduler at {self.address}")
        from distributed import fire_and_forget

        for ref in runs:
            fire_and_forget(self._submit(client, ref, self._needs(ref)))

    def problem(self) -> str | None:
        return None

    def stop(self, grace: float) -> None:
        """Stop submitting. Runs already executing go on on the cluster (their cancel, if
        asked, reaches them through the catalog); ``grace`` is how long to wait for a
        run-scoped executor's runs to end."""
        if self.runs is not None:
            deadline = time.monotonic() + grace
            while self.inflight and time.monotonic() < deadline:
                self._collect()
                time.sleep(0.2)
        self.close()

    def close(self) -> None:
        self._drop_client()
        catalog, self._catalog = self._catalog, None
        if catalog is not None:
            catalog.close()

    # -- internals ----------------------------------------------------------------------

    def _drop_client(self) -> None:
        client, self.client = self.client, None
        self.inflight.clear()
        if client is not None:
            try:
                client.close(timeout=5)
            except Exception as exc:  # noqa: BLE001 - closing a dead connection
                event("dask_close_failed", error=str(exc).splitlines()[0])

    def _collect(self) -> None:
        """Forget finished tasks; a ``refused`` run will be submitted again."""
        for run_id, future in list(self.inflight.items()):
            if not future.done():
                continue
            del self.inflight[run_id]
            if future.status == "finished":
                event("dask_task_done", run_id=run_id, result=future.result())
            else:  # lost with its worker, or cancelled: the catalog decides what follows
                error = future.exception() if future.status == "error" else future.status
                event("dask_task_failed", run_id=run_id, error=str(error).splitlines()[0])
            future.release()

    def _queue(self) -> Any:
        from nbprod.catalog import open_catalog
        from nbprod.catalog.queue import Queue

        if self._catalog is None:
            self._catalog = open_catalog(self.settings)
        return Queue(self._catalog)

    def _due(self) -> list[Any]:
        from nbprod.catalog.queue import utcnow

        only = {(r.store, r.run_id) for r in self.runs} if self.runs is not None else None
        items = self._queue().due(utcnow(), limit=500)
        return [i for i in items if only is None or (i.store, i.run_id) in only]

    def _needs(self, ref: Any) -> dict[str, float]:
        item = ref if hasattr(ref, "payload") else self._queue().get(ref.store, ref.run_id)
        if item is None:
            return {}
        try:
            return dict(item.payload.resources or {})
        except Exception:  # noqa: BLE001 - an unreadable payload: its worker reports it
            return {}

    def _submit(self, client: Any, ref: Any, needs: dict[str, float]) -> Any:
        from nbprod.executors.dask_worker import execute_run

        return client.submit(
            execute_run,
            ref.store,
            ref.run_id,
            key=task_key(ref.run_id),
            pure=False,
            retries=0,
            resources=needs or None,
        )

    def _submit_due(self, client: Any) -> None:
        # one task waiting per thread beyond the running ones: a thread that finishes a
        # run starts the next at once, not on our next tick
        free = max(0, 2 * self.threads - len(self.inflight))
        reasons: dict[tuple[str, str], str | None] = {}
        for item in self._due():
            key = (item.store, item.run_id)
            if item.run_id in self.inflight:
                if key in self._reasons:
                    reasons[key] = self._reasons[key]
                continue
            needs = self._needs(item)
            reason = unmet(needs, self.worker_resources)
            reasons[key] = reason
            if self._reasons.get(key) != reason:
                self._queue().set_waiting(item.store, item.run_id, reason)
                if reason:
                    event("dask_unsatisfiable", run_id=item.run_id, reason=reason)
            if reason or free <= 0:
                continue
            self.inflight[item.run_id] = self._submit(client, item, needs)
            event("dask_submitted", run_id=item.run_id, job=item.job, resources=needs or None)
            free -= 1
        self._reasons = reasons  # only the runs still due: a long-lived scheduler keeps no more


def make(context: ExecutorContext) -> Executor:
    """The dask executor for ``context``."""
    return DaskExecutor(context)
