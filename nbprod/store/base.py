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
MAX_SEGMENT_BYTES = 255
"""NAME_MAX on Linux, macOS and Windows: a longer folder or file name cannot be created."""
MAX_KEY_BYTES = 1024
"""S3's key limit (before the store's own prefix); far above what the layout produces."""


def check_key(key: str) -> str:
    """Reject keys that could escape the root or confuse a backend.

    The last line of defence behind the layout's name checks: the same key must be valid on
    every backend, so a store can be copied from S3 to a folder and back.
    """
    if not key or key.startswith("/") or "\\" in key or _CONTROL.search(key):
        raise InvalidName(f"invalid store key {_show(key)}")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates (undecodable file names): not UTF-8
        raise InvalidName(f"invalid store key {_show(key)}: not valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise InvalidName(f"invalid store key {_show(key)}: longer than {MAX_KEY_BYTES} bytes")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or segment != segment.strip():
            raise InvalidName(f"invalid store key {_show(key)}")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidName(
                f"invalid store key {_show(key)}: a name longer than {MAX_SEGMENT_BYTES} bytes"
            )
    return key


def _show(key: str) -> str:
    """The key for a one-line message: repr'd (no raw control characters), and shortened."""
    text = repr(key)
    return text if len(text) <= 120 else f"{text[:80]}...{text[-30:]}"


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
