"""Kernels forked from a zygote that has imported ipykernel once (see kernel_zygote.py).

A worker's warm kernels come from here: ``KernelForks.provisioner(km)`` gives a
jupyter_client kernel manager a provisioner whose ``launch_kernel`` asks the zygote for a
child instead of starting ``python -m ipykernel_launcher`` from scratch, so a kernel costs
~0.1 s of CPU instead of ~0.6 s (the imports). Everything else is jupyter_client's
LocalProvisioner: the connection file, ports, signals to the process group, shutdown.

Only the standard kernel command (``<python> -m ipykernel_launcher ...``) is forked, on
Linux (``os.pidfd_open`` follows a process that is not our child); anything else, or a
zygote that fails, falls back to a normal launch. One zygote per interpreter and
environment (a few at most); it exits with the worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

log = logging.getLogger("nbprod.kernel_fork")

ZYGOTE = Path(__file__).with_name("kernel_zygote.py")
# Run as -c, not as a script: sys.path[0] is then '' (the zygote's own empty folder), not
# the nbprod package folder, whose module names could shadow others while ipykernel loads.
BOOT = "import sys; p = sys.argv.pop(1); exec(compile(open(p).read(), p, 'exec'))"
LAUNCHERS = ("ipykernel_launcher",)
START_TIMEOUT = 60.0
MAX_ZYGOTES = 4
"""Interpreters/environments a worker forks kernels for; more start their kernels normally."""
MAX_MESSAGE = 1 << 16


class ForkUnavailable(RuntimeError):
    """The zygote could not start or answer; kernels are launched normally."""


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


class Zygote:
    """One zygote process and the socket to it (shared by threads: one lock)."""

    def __init__(self, interpreter: str, env: dict[str, str], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.lock = threading.Lock()
        self.exited: dict[int, int] = {}
        try:
            self.proc = subprocess.Popen(
                [interpreter, "-c", BOOT, str(ZYGOTE), str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=env,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        finally:
            theirs.close()
        self.ready = False
        self.started = time.monotonic()

    def check_ready(self) -> bool:
        """Whether the zygote has done its imports (without waiting for it: kernels are
        launched normally meanwhile); ForkUnavailable if it failed or takes too long."""
        if self.ready:
            return True
        with self.lock:
            try:
                self.sock.settimeout(0)
                data = self.sock.recv(MAX_MESSAGE)
            except BlockingIOError:
                if time.monotonic() - self.started > START_TIMEOUT:
                    raise ForkUnavailable("the kernel zygote did not start in time") from None
                return False
            except OSError as exc:
                raise ForkUnavailable(f"the kernel zygote did not start: {exc}") from None
        try:
            hello = json.loads(data or b"{}")
        except ValueError:
            hello = {}
        if "ready" not in hello:
            raise ForkUnavailable(f"the kernel zygote did not start: {hello.get('error')}")
        self.ready = True
        return True

    def fork(self, argv: list[str], cwd: str, env: dict[str, str], fds: list[int]) -> int:
        request = json.dumps({"argv": argv, "cwd": cwd, "env": env}).encode()
        with self.lock:
            try:
                self.sock.settimeout(START_TIMEOUT)
                socket.send_fds(self.sock, [request], fds)
                while True:
                    reply = self._receive()
                    if "exited" not in reply:
                        break
            except (OSError, ValueError) as exc:
                raise ForkUnavailable(f"the kernel zygote failed: {exc}") from None
        if "pid" not in reply:
            raise ForkUnavailable(f"the kernel zygote refused: {reply.get('error')}")
        return int(reply["pid"])

    def _receive(self) -> dict[str, Any]:
        data = self.sock.recv(MAX_MESSAGE)
        if not data:
            raise OSError("the kernel zygote is gone")
        message = json.loads(data)
        if "exited" in message:
            self.exited[int(message["exited"])] = int(message["status"])
        return message

    def exit_status(self, pid: int, wait: float) -> int | None:
        """The exit code the zygote reported for ``pid`` (it reports right after reaping)."""
        with self.lock:
            if pid not in self.exited:
                self.sock.settimeout(wait)
                with contextlib.suppress(OSError, ValueError):
                    while pid not in self.exited:
                        self._receive()
            return self.exited.pop(pid, None)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Stop the zygote: it exits when its socket closes, unless it is still importing
        (then it is only killed: it holds nothing). Its forked kernels are not waited for:
        they belong to their runs, and get SIGKILL when the zygote is gone."""
        with contextlib.suppress(OSError):
            self.sock.close()
        if not self.ready:
            self.proc.kill()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class ForkedProcess:
    """The parts of ``subprocess.Popen`` jupyter_client's LocalProvisioner uses, for a
    kernel that is the zygote's child: followed through a pidfd."""

    def __init__(self, zygote: Zygote, pid: int, stdin: Any) -> None:
        self.zygote = zygote
        self.pid = pid
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # ended (and reaped) already
            self.pidfd = None
        self.stdin = stdin
        self.stdout = self.stderr = None
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self._ended(0):
            self._collect()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not self._ended(timeout):
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            self._collect()
        assert self.returncode is not None
        return self.returncode

    def _ended(self, timeout: float | None) -> bool:
        if self.pidfd is None:
            return True
        ready, _, _ = select.select([self.pidfd], [], [], timeout)
        return bool(ready)

    def _collect(self) -> None:
        status = self.zygote.exit_status(self.pid, wait=2.0)
        # -SIGKILL when the zygote did not say (it died): the kernel is gone either way
        self.returncode = status if status is not None else -signal.SIGKILL
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def send_signal(self, signum: int) -> None:
        if self.returncode is None and self.pidfd is not None:
            signal.pidfd_send_signal(self.pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class KernelForks:
    """A worker's zygotes, by interpreter and environment."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.zygotes: dict[tuple[str, tuple[tuple[str, str], ...]], Zygote] = {}
        self.failed: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self.lock = threading.Lock()

    def provisioner(self, km: Any) -> ForkingProvisioner:
        """A provisioner for ``km`` (set before ``start_kernel``) that forks its kernel."""
        provisioner = ForkingProvisioner(
            kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km
        )
        provisioner.forks = self
        return provisioner

    def spawn(self, cmd: list[str], kwargs: dict[str, Any]) -> ForkedProcess | None:
        """The kernel as a forked child, or None to launch it normally."""
        if len(cmd) < 3 or cmd[1] != "-m" or cmd[2] not in LAUNCHERS:
            return None
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it
        interpreter = shutil.which(cmd[0], path=env.get("PATH")) or cmd[0]
        key = (interpreter, tuple(sorted(env.items())))
        zygote = self._zygote(key, env)
        if zygote is None:
            return None
        stdin_r, stdin_w = os.pipe()
        try:
            fds = [stdin_r, _fileno(kwargs.get("stdout"), 1), _fileno(kwargs.get("stderr"), 2)]
            cwd = str(kwargs.get("cwd") or os.getcwd())
            try:
                pid = zygote.fork(cmd, cwd, env, fds)
            except ForkUnavailable as exc:
                log.warning("%s; starting the kernel normally", exc)
                self._drop(key)
                os.close(stdin_w)
                return None
        finally:
            os.close(stdin_r)
        return ForkedProcess(zygote, pid, os.fdopen(stdin_w, "wb"))

    def _zygote(self, key: Any, env: dict[str, str]) -> Zygote | None:
        """The ready zygote for ``key``; None while it boots (started here, from the
        caller's thread: it lives as long as that thread) or when it cannot be had."""
        with self.lock:
            if key in self.failed:
                return None
            zygote = self.zygotes.get(key)
            if zygote is None or not zygote.alive():
                if zygote is not None:
                    self.zygotes.pop(key).close()
                if len(self.zygotes) >= MAX_ZYGOTES:
                    return None  # other zygotes' kernels may be running: they stay
                try:
                    self.zygotes[key] = Zygote(key[0], env, self.folder)
                except OSError as exc:
                    log.warning("kernels are started normally: %s", exc)
                    self.failed.add(key)
                return None
        try:
            return zygote if zygote.check_ready() else None
        except ForkUnavailable as exc:
            log.warning("kernels are started normally: %s", exc)
            self._drop(key)
            return None

    def _drop(self, key: Any) -> None:
        with self.lock:
            zygote = self.zygotes.pop(key, None)
            self.failed.add(key)
        if zygote is not None:
            zygote.close()

    def close(self) -> None:
        with self.lock:
            zygotes, self.zygotes = list(self.zygotes.values()), {}
        for zygote in zygotes:
            zygote.close()


class ForkingProvisioner(LocalProvisioner):  # type: ignore[misc]
    """LocalProvisioner whose kernel process is forked from a zygote when it can be."""

    forks: KernelForks | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        forks = self.forks
        process = None
        if forks is not None:
            expanded = [os.path.expanduser(part) for part in cmd]
            process = forks.spawn(expanded, LocalProvisioner._scrub_kwargs(kwargs))
        if process is None:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = process
        self.pid = process.pid
        self.pgid = process.pid  # the child called setsid(): it leads its process group
        self.cwd = kwargs.get("cwd", Path.cwd())
        return self.connection_info


def _fileno(stream: Any, default: int) -> int:
    if stream is None:
        return default
    return stream if isinstance(stream, int) else stream.fileno()


def _die_with_parent() -> None:
    """The zygote gets SIGKILL when the thread that started it ends (Linux)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
