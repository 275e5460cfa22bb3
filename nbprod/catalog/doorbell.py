"""Wake the idle workers of a catalog as soon as a run is queued, instead of at their next poll.

Each idle worker binds a Unix datagram socket in a folder named after the catalog (one per
catalog URL, under a per-user folder in the temporary directory, mode 0700, so only the
same user can ring); whoever queues a run that is due now sends one byte to every socket
there. A worker still polls (``nbprod worker --poll``), so a lost ring only costs the poll
interval: workers on other machines sharing a PostgreSQL catalog, a full temporary folder,
or a platform without Unix sockets fall back to polling alone.

Why sockets and not a file to watch: a datagram wakes a ``select`` at once, costs nothing
while nobody rings, and a dead worker's socket refuses the next ring (it is then removed).
The folder's path stays short because socket paths are limited to ~104 bytes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import select
import socket
import tempfile
from pathlib import Path

SUFFIX = ".sock"


def bell_folder(catalog_url: str) -> Path:
    """The folder of ``catalog_url``'s listeners (not created here)."""
    digest = hashlib.sha256(catalog_url.encode("utf-8")).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"nbprod-bell-{user}" / digest


def ring(catalog_url: str) -> int:
    """Wake every listener of this catalog; returns how many were reached. Never raises:
    a ring is an optimisation, the workers' polling is the guarantee."""
    if not hasattr(socket, "AF_UNIX"):
        return 0
    folder = bell_folder(catalog_url)
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.endswith(SUFFIX)]
    except OSError:
        return 0
    if not names:
        return 0
    reached = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for name in names:
            path = folder / name
            try:
                sender.sendto(b"!", str(path))
                reached += 1
            except BlockingIOError:  # its buffer is full of unread rings: it is awake anyway
                reached += 1
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):  # its owner died without cleaning up
                    path.unlink()
            except OSError:
                continue
    return reached


class Listener:
    """One worker's socket: ``wait`` returns early when the bell rings (or ``wake`` is
    called, e.g. from a signal handler asking the worker to stop)."""

    def __init__(self, catalog_url: str) -> None:
        self.sock: socket.socket | None = None
        self.path: Path | None = None
        if not hasattr(socket, "AF_UNIX"):
            return
        folder = bell_folder(catalog_url)
        try:
            folder.parent.mkdir(mode=0o700, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
            path = folder / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(str(path))
            except OSError:
                sock.close()
                raise
        except OSError:
            return  # no bell here: polling alone
        sock.setblocking(False)
        self.sock, self.path = sock, path

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True if rung. Pending rings are drained, so
        several rings while busy wake one wait, not many."""
        if self.sock is None:
            return False
        try:
            ready, _, _ = select.select([self.sock], [], [], max(timeout, 0.0))
        except (OSError, ValueError):
            return False
        if not ready:
            return False
        self.drain()
        return True

    def drain(self) -> None:
        if self.sock is None:
            return
        while True:
            try:
                self.sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno != errno.EINTR:
                    return

    def wake(self) -> None:
        """Ring this listener alone (safe in a signal handler)."""
        if self.sock is None or self.path is None:
            return
        with contextlib.suppress(OSError):
            self.sock.sendto(b"!", str(self.path))

    def close(self) -> None:
        sock, path = self.sock, self.path
        self.sock = self.path = None
        if sock is not None:
            sock.close()
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
