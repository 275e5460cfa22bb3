"""Stores chosen by URL scheme through one registry.

``open_store("s3://bucket/prefix")``, ``open_store("file:///data/nb")`` or a plain path.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from nbprod.errors import BadInput
from nbprod.store.base import Entry, Store, check_key

__all__ = ["Entry", "Store", "check_key", "open_store", "OPENERS"]


def _open_file(url: str) -> Store:
    from nbprod.store.local import LocalStore

    parsed = urlparse(url)
    path = parsed.path if parsed.scheme == "file" else url
    if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
        raise BadInput(f"file:// store URLs must be local paths, got {url!r}")
    return LocalStore(path)


def _open_s3(url: str) -> Store:
    from nbprod.store.s3 import S3Store

    parsed = urlparse(url)
    if not parsed.netloc:
        raise BadInput(f"S3 store URL needs a bucket: {url!r} (s3://bucket/prefix)")
    return S3Store(parsed.netloc, parsed.path)


OPENERS: dict[str, Callable[[str], Store]] = {"file": _open_file, "s3": _open_s3}
"""Scheme → opener. Plain paths (no scheme) open as local folders."""


def open_store(url: str) -> Store:
    url = str(url)
    scheme = urlparse(url).scheme
    if len(scheme) <= 1:  # no scheme, or a Windows drive letter
        return _open_file(url)
    opener = OPENERS.get(scheme)
    if opener is None:
        raise BadInput(f"unsupported store {url!r} (use a path, file:// or s3://)")
    return opener(url)
