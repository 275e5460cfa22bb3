"""A store in a local folder: the embedded default."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from nbprod.errors import InvalidName, StoreUnavailable
from nbprod.store.base import Entry, Store, check_key


class LocalStore(Store):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidName(f"store key {key!r} points outside the store root")
        return path

    def _put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Not mkstemp: its 0600 mode would hide a shared store from its other readers;
            # os.open with 0o666 honours the umask as any other file the user writes.
            tmp = str(path.parent / f".tmp-{secrets.token_hex(8)}{path.suffix}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)  # no half-written leftovers
            raise StoreUnavailable(f"cannot write {path}: {exc.strerror or exc}") from exc

    def _get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[Entry]:
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for child in children:
            if child.name.startswith(".tmp-"):
                continue
            if child.is_dir():
                yield Entry(child.name, True)
                continue
            try:
                size = child.stat().st_size
            except FileNotFoundError:
                continue  # a dangling symlink, or removed since the scan
            yield Entry(child.name, False, size)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def location(self, key: str) -> str:
        return str(self._path(key))
