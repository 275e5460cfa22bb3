"""The store interface: a flat key space of write-once objects under one root.

Keys are ``/``-separated, relative to the store root, and validated here so that no
backend can be asked for a path outside its root.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from nbprod.errors import CorruptObject, InvalidName
from nbprod.store.layout import MAX_SEGMENT_BYTES, content_sha256

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
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


def verify_content(key: str, data: bytes, *, where: str) -> None:
    """Raise CorruptObject when ``key`` names a sha256 its ``data`` does not have."""
    expected = content_sha256(key)
    if expected is None:
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise CorruptObject(
            f"corrupt object {where}: named for sha256 {expected}, its content has {actual}"
        )


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


class Kind(str, Enum):
    FILE = "file"
    LINK = "link"
    """A symbolic link: removed itself, never followed."""
    DIR = "dir"
    OTHER = "other"
    """A fifo, socket or device node: unlinked like a file."""


@dataclass(frozen=True)
class Item:
    """One thing a removal deletes, listed without following links."""

    key: str
    kind: Kind
    size: int | None = None


@dataclass
class Removal:
    """A planned deletion of everything under ``prefix``, made before anything is deleted."""

    prefix: str
    items: list[Item] = field(default_factory=list)
    first: list[str] = field(default_factory=list)
    """Keys deleted before the rest where deletion is not atomic (a run's record)."""


Forget = Callable[[], None]
"""Drops the catalog's rows for what is being removed; called once the removal is certain."""


class Store(ABC):
    """Four operations, as in papermill's I/O handlers, plus listing and an existence test."""

    url: str

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write an object (atomically: readers see the old or the new bytes, never half).

        Bytes that do not match a content-addressed key (e.g. a spooled snapshot changed
        before it was published) are refused, so the store never holds a wrong object.
        """
        verify_content(key, data, where=f"{key} (not written to {self.url})")
        self._put(key, data, content_type)

    @abstractmethod
    def _put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """The backend's atomic write."""

    def get(self, key: str) -> bytes:
        """Read an object; raise KeyError when it does not exist.

        Content-addressed objects (snapshots, environments) are verified on every read: a
        tampered or damaged one raises CorruptObject instead of reaching a kernel.
        """
        data = self._get(key)
        verify_content(key, data, where=f"{self.location(key)}")
        return data

    @abstractmethod
    def _get(self, key: str) -> bytes:
        """The backend's read: an object's bytes, KeyError when it does not exist."""

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

    @abstractmethod
    def plan_removal(self, prefix: str, first: tuple[str, ...] = ()) -> Removal:
        """Everything under ``prefix``, listed without following links; DeleteRefused (one
        line) when it cannot be removed whole. Deletes nothing."""

    @abstractmethod
    def remove(self, removal: Removal, forget: Forget) -> list[str]:
        """Delete a planned removal, calling ``forget`` at the point the backend makes safe.

        Raises (with nothing deleted and ``forget`` undone or not called) when the removal
        cannot start; returns one line per leftover it could not clean up after that point,
        which :meth:`finish_removal` retries.
        """

    @abstractmethod
    def unfinished_removals(self) -> list[str]:
        """Prefixes whose removal started and did not finish (crash, fault, leftovers)."""

    @abstractmethod
    def finish_removal(self, prefix: str, forget: Forget, first: tuple[str, ...] = ()) -> list[str]:
        """Complete an unfinished removal: ``forget``, then delete what is left of it."""

    def put_if_absent(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        """Write content-addressed objects once; returns whether it wrote."""
        if self.exists(key):
            return False
        self.put(key, data, content_type)
        return True
