"""Local worker processes: the one place ``nbprod worker`` processes are started.

The queue lives in the catalog, so executing locally is "have workers pulling from it".
Every ``nbprod worker`` process nbprod starts comes from :func:`spawn_worker`, with the
environment built by :func:`worker_env`, whoever asks: the local executor's long-lived
workers (``executors/local.py``), a sweep's burst workers (:class:`BurstWorkers`,
restricted to its run ids) and the one-off workers of :func:`start_burst_workers`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from nbprod.config import Settings


# -- spawning ---------------------------------------------------------------------------


def worker_env(settings: Settings, *, store: str | None = None) -> dict[str, str]:
    """The environment of a worker process: ours, pointed at this home, store and catalog."""
    env = {
        **os.environ,
        "NBPROD_HOME": str(settings.home),
        "NBPROD_STORE": store or settings.store,
    }
    if settings.catalog:
        env["NBPROD_CATALOG"] = settings.catalog
    return env


def worker_command(
    *, burst: bool = False, poll: float | None = None, only_file: Path | None = None
) -> list[str]:
    """``nbprod worker ...`` run by this interpreter, so it runs this nbprod."""
    command = [sys.executable, "-m", "nbprod", "worker"]
    if burst:
        command.append("--burst")
    if poll is not None:
        command += ["--poll", str(poll)]
    if only_file is not None:
        command += ["--only-file", str(only_file)]
    return command


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: if the process that started the worker dies, the worker gets
    # SIGTERM, finishes its current run and exits (nothing is left running unwatched).
    # Linux ties this to the starting *thread*: only for callers on a long-lived thread.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def spawn_worker(
    settings: Settings,
    *,
    store: str | None = None,
    burst: bool = False,
    poll: float | None = None,
    only_file: Path | None = None,
    output: IO[bytes] | int | None = None,
    stdin: int | None = None,
    die_with_parent: bool = True,
) -> subprocess.Popen:
    """Start one ``nbprod worker`` in its own session, so that a Ctrl-C at our terminal
    reaches only us, and we stop our workers ourselves (gracefully).

    ``output`` is where its stdout and stderr go, ``stdin`` what it reads (None: ours).
    The scheduler's workers keep our stdin, as they always did: with /dev/null, workers
    of a killed scheduler were seen not to exit in time
    (test_daemons.py::test_restarted_scheduler_catches_up_per_policy; cause not known).
    """
    return subprocess.Popen(
        worker_command(burst=burst, poll=poll, only_file=only_file),
        env=worker_env(settings, store=store),
        stdin=stdin,
        stdout=output,
        stderr=output,
        start_new_session=True,
        preexec_fn=_die_with_parent if die_with_parent else None,
    )


def write_only_file(path: Path, run_ids: Iterable[str]) -> Path:
    """The run ids a burst worker may claim (``--only-file``), one a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{run_id}\n" for run_id in run_ids), encoding="utf-8")
    return path


# -- stopping ---------------------------------------------------------------------------


def signal_all(procs: Iterable[subprocess.Popen], sig: int) -> None:
    for proc in procs:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


def wait_all(procs: Sequence[subprocess.Popen], seconds: float, tick: float = 0.2) -> list:
    """Wait up to ``seconds`` for them to exit; the ones still running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        time.sleep(tick)
    return [p for p in procs if p.poll() is None]


def kill_all(procs: Iterable[subprocess.Popen]) -> None:
    """SIGKILL each one's whole session (its kernels too) and reap it."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


class BurstWorkers:
    """Burst workers restricted to some run ids (a sweep's), each logging to its own file
    in ``folder``. They exit when nothing they may claim is left; the caller tops them up
    with :meth:`spawn` while runs wait (a job concurrency limit can make one exit early).
    """

    def __init__(
        self,
        settings: Settings,
        run_ids: Sequence[str],
        folder: Path,
        *,
        store: str | None = None,
        capacity: int = 2,
        poll: float = 0.2,
    ) -> None:
        self.settings, self.store, self.folder = settings, store, folder
        self.capacity, self.poll = capacity, poll
        self.only_file = write_only_file(folder / "runs.txt", run_ids)
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.failures = 0
        """Workers that exited with a non-zero code."""
        self.last_exit = 0.0
        """``time.monotonic()`` when a worker was last seen to have exited."""
        self._seen: set[int] = set()

    def alive(self) -> list[subprocess.Popen]:
        """The running workers; counts the newly exited ones' failures."""
        alive = []
        for proc in self.procs:
            code = proc.poll()
            if code is None:
                alive.append(proc)
            elif proc.pid not in self._seen:
                self._seen.add(proc.pid)
                self.last_exit = time.monotonic()
                if code != 0:
                    self.failures += 1
        return alive

    def spawn(self) -> None:
        log = self.folder / f"worker-{len(self.procs) + 1}.log"
        self.logs.append(log)
        with log.open("ab") as out:
            proc = spawn_worker(
                self.settings,
                store=self.store,
                burst=True,
                poll=self.poll,
                only_file=self.only_file,
                output=out,
                stdin=subprocess.DEVNULL,
            )
        self.procs.append(proc)

    def stop(self, grace: float) -> None:
        """SIGINT: each worker cancels its current run (output stored) and exits."""
        alive = self.alive()
        signal_all(alive, signal.SIGINT)
        kill_all(wait_all(alive, grace, tick=0.1))

    def wait(self) -> None:
        for proc in self.procs:
            proc.wait()
        self.alive()

    def remove_files(self) -> None:
        """The logs and the run-id file, once nothing needs looking at."""
        for path in [*self.logs, self.only_file]:
            path.unlink(missing_ok=True)


def start_burst_worker(settings: Settings, run_id: str) -> subprocess.Popen:
    """One background burst worker for one queued run (the Jupyter server's *Run now* when
    no scheduler's workers would take it); its output is discarded.

    It does not die with its starter: the server calls this from a short-lived thread of
    its pool, and the run must go on after the thread is reused or gone.
    """
    return start_burst_workers(settings, [run_id], 1)[0]


def start_burst_workers(
    settings: Settings, run_ids: Sequence[str], count: int
) -> list[subprocess.Popen]:
    """``count`` background burst workers sharing the queued runs ``run_ids`` (a sweep
    queued from JupyterLab with no scheduler running), like :func:`start_burst_worker`."""
    only = write_only_file(Path(settings.home) / "lab" / f"{run_ids[0]}.only", run_ids)
    return [
        spawn_worker(
            settings,
            burst=True,
            only_file=only,
            output=subprocess.DEVNULL,
            die_with_parent=False,
        )
        for _ in range(max(1, min(count, len(run_ids))))
    ]
