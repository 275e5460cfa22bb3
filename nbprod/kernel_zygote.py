"""A process that has imported ipykernel once and forks a fresh kernel for each request.

Run by the kernel's own interpreter (not necessarily nbprod's) through kernel_fork.py,
with the standard library and ipykernel only. Booting ``python -m ipykernel_launcher``
costs ~0.6 s of CPU, almost all of it imports; a child forked from here costs ~0.1 s.
Nothing but imports happens before a fork: no user code, no thread, no zmq context; the
child then does what ``python -m ipykernel_launcher`` does, in the run's directory and
environment, with its own session, stdin pipe and log file.

Protocol, over the Unix socket inherited as file descriptor ``argv[1]`` (one JSON object
per datagram, file descriptors passed alongside):
  -> {"argv": [...], "cwd": "...", "env": {...}}  with fds [stdin, stdout, stderr]
  <- {"pid": N} or {"error": "..."}
  <- {"exited": N, "status": S} whenever a child ends (S: its exit code, -signal if killed)
The zygote exits when the socket closes (its worker is gone).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import threading

MAX_MESSAGE = 1 << 20
PRELOAD = (
    "ipykernel.kernelapp",  # what `python -m ipykernel_launcher` imports
    # and what starting the kernel app imports before it runs any cell (the debugger,
    # debugpy, is half the start-up): a cold kernel has all of them loaded by then too
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "faulthandler",
    "tornado.platform.asyncio",
)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    import importlib

    before = dict(os.environ)
    for name in PRELOAD:  # the point: imported once, before any fork
        try:
            importlib.import_module(name)
        except ImportError:  # another ipykernel version: its kernels import it themselves
            pass

    # What the imports did to the environment (ipykernel's debugger sets a variable), to
    # be done again over each kernel's own environment, as its imports would have done.
    changes = {k: v for k, v in os.environ.items() if before.get(k) != v}
    removed = [k for k in before if k not in os.environ]
    if threading.active_count() != 1:  # a thread would not survive fork() consistently
        sock.send(json.dumps({"error": "threads running after import"}).encode())
        return
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sock.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        ready, _, _ = select.select([sock, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(sock)
        if sock in ready:
            try:
                data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 3)
            except OSError:
                return
            if not data:
                return  # the worker closed its end
            try:
                request = json.loads(data)
                env = {k: v for k, v in request["env"].items() if k not in removed}
                request["env"] = {**env, **changes}
                pid = _fork(request, fds, sock, (wake_r, wake_w))
                reply = {"pid": pid}
            except Exception as exc:  # noqa: BLE001 - reported to the worker
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                for fd in fds:
                    os.close(fd)
            sock.send(json.dumps(reply).encode())
        _reap(sock)


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        try:
            sock.send(json.dumps({"exited": pid, "status": code}).encode())
        except OSError:
            return


def _fork(request: dict, fds: list[int], sock: socket.socket, wake: tuple[int, int]) -> int:
    argv, cwd, env = request["argv"], request["cwd"], request["env"]
    if len(fds) != 3:
        raise ValueError("expected stdin, stdout and stderr")
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: from here on only os._exit leaves
        _become_kernel(argv, cwd, env, fds, sock, wake)
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def _die_with_zygote() -> None:
    """SIGKILL when the zygote ends (it ends with its worker), as a kernel started by the
    worker ends when the worker does (ipykernel watches its parent)."""
    import ctypes  # ipykernel imported it already

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the zygote was gone before the line above
        os._exit(1)


def _become_kernel(
    argv: list[str], cwd: str, env: dict, fds: list[int], sock: socket.socket, wake: tuple
) -> None:
    """What ``subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True)`` and then
    ``python -m ipykernel_launcher ...`` would have set up."""
    import runpy  # as `python -m` does

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sock.close()
    for fd in wake:
        os.close(fd)
    os.setsid()
    _die_with_zygote()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:
        os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if not sys.flags.safe_path:
        sys.path[0] = os.getcwd()  # what `python -m` puts first
    # argv: [interpreter, "-m", "ipykernel_launcher", *arguments]
    sys.argv = [argv[2], *argv[3:]]
    runpy.run_module(argv[2], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
