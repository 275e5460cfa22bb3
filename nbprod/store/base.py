"""The store interface: a flat key space of write-once objects under one root.

Keys are ``/``-separated, relative to the store root, and validated here so that no
backend can be asked for a path outside its root.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from nbprod.errors import InvalidName

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_key(key: str) -> str:
    """Reject keys that could escape the root or confuse a backend."""
    if not key or key.startswith("/") or "\\" in key or _CONTROL.search(key):
        raise InvalidName(f"invalid store key {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or segment != segment.strip():
            raise InvalidName(f"invalid store key {key!r}")
    return key


@dataclass(frozen=True)
class Entry:
    """One listing entry: a 'folder' (common prefix) or an object."""

    name: str
    is_dir: bool
    size: int | None = None


class Store(ABC):
    """Four operations, as in papermill's I/O handlers, plus listing and an existence test."""

    url: str

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write an object (atomically: readers see the old or the new bytes, never half)."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Read an object; raise KeyError when it does not exist."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[Entry]:
        """Immediate children of ``prefix`` (a folder key or ''), in key order, all pages."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def location(self, key: str) -> str:
        """Where a person finds the object: a filesystem path or an s3:// URL."""

    def put_if_absent(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        """Write content-addressed objects once; returns whether it wrote."""
        if self.exists(key):
            return False
        self.put(key, data, content_type)
        return True
