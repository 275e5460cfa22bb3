"""Store listings for the files view: one page at a time, with sizes and modification times.

The store interface lists a whole folder; a browser wants a page of it. Here a folder is
listed in key order (a folder ``a`` sorts as ``a/``, as S3 orders keys), and a page starts
*after* a name (a cursor), so on S3 a page costs one request however deep it is. Sorting by
size or time needs the whole folder, which is listed in full (all S3 pages) and sliced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from nbprod.errors import InvalidName
from nbprod.store import Store, check_key

MAX_PAGE = 1000
"""The largest page a caller may ask for (S3 returns at most 1,000 keys per request)."""
NAME_MAX = 255
"""Bytes of one name in a key (Linux ``NAME_MAX``)."""

_SORTS = ("name", "size", "modified")


@dataclass(frozen=True)
class FileEntry:
    """One child of a folder."""

    name: str
    is_dir: bool
    size: int | None = None
    modified: str | None = None
    """ISO 8601 UTC modification time, when the backend knows it."""

    @property
    def order_key(self) -> str:
        return self.name + "/" if self.is_dir else self.name


@dataclass
class Page:
    entries: list[FileEntry]
    next_after: str | None
    """Cursor for the next page (name order), None on the last page."""
    total: int | None
    """Number of entries in the folder when it was listed in full, else None."""


def normalize_folder(path: str) -> str:
    """'' for the root, else a checked key without slashes at the ends."""
    folder = (path or "").strip("/")
    return checked_key(folder) if folder else ""


def checked_key(key: str) -> str:
    """A store key the browse UI may look up: the store's key rules, and no name longer
    than NAME_MAX bytes (such a name cannot exist on disk; asking a local store for it
    fails with ENAMETOOLONG)."""
    key = check_key(key)
    for name in key.split("/"):
        size = len(name.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            raise InvalidName(f"invalid store key: a name of {size} bytes (at most {NAME_MAX})")
    return key


def list_page(store: Store, folder: str, *, after: str | None = None, limit: int = 100) -> Page:
    """Up to ``limit`` entries of ``folder`` in name order after the cursor ``after``."""
    folder = normalize_folder(folder)
    limit = max(1, min(limit, MAX_PAGE))
    fetch = getattr(_backend(store), "page", None)
    if fetch is not None:
        entries, more = fetch(store, folder, after, limit)
    else:
        everything = [e for e in list_all(store, folder) if after is None or e.order_key > after]
        entries, more = everything[:limit], len(everything) > limit
    return Page(entries, entries[-1].order_key if more and entries else None, None)


def list_all(store: Store, folder: str) -> list[FileEntry]:
    """Every entry of ``folder`` in name order (all S3 pages)."""
    folder = normalize_folder(folder)
    backend = _backend(store)
    if backend is not None:
        return backend.all(store, folder)
    entries = [FileEntry(e.name, e.is_dir, e.size) for e in store.list(folder)]
    return sorted(entries, key=lambda e: e.order_key)


def sort_entries(entries: list[FileEntry], sort: str, descending: bool) -> list[FileEntry]:
    """Folders first, then files, each group by ``sort`` (name, size or modified)."""
    if sort not in _SORTS:
        raise InvalidName(f"unknown sort {sort!r} (use one of: {', '.join(_SORTS)})")

    def key(e: FileEntry) -> Any:
        if sort == "size":
            return (e.size or 0, e.order_key)
        if sort == "modified":
            return (e.modified or "", e.order_key)
        return e.order_key

    dirs = sorted((e for e in entries if e.is_dir), key=key, reverse=descending)
    files = sorted((e for e in entries if not e.is_dir), key=key, reverse=descending)
    return dirs + files


# -- backends ---------------------------------------------------------------------------


def _backend(store: Store) -> Any:
    from nbprod.store.local import LocalStore

    if isinstance(store, LocalStore):
        return _Local
    try:
        from nbprod.store.s3 import S3Store
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    return _S3 if isinstance(store, S3Store) else None


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class _Local:
    @staticmethod
    def _folder(store: Any, folder: str) -> Any:
        root = store.root
        path = (root / folder).resolve() if folder else root
        if not path.is_relative_to(root):
            raise InvalidName(f"store key {folder!r} points outside the store root")
        return path

    @staticmethod
    def all(store: Any, folder: str) -> list[FileEntry]:
        path = _Local._folder(store, folder)
        try:
            children = list(os.scandir(path))
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries = []
        for child in children:
            if child.name.startswith(".tmp-"):
                continue  # a write in progress
            try:
                is_dir = child.is_dir()
                stat = child.stat()
            except OSError:
                continue  # removed since the scan, or a dangling symlink
            entries.append(
                FileEntry(child.name, is_dir, None if is_dir else stat.st_size, _iso(stat.st_mtime))
            )
        return sorted(entries, key=lambda e: e.order_key)

    @staticmethod
    def page(store: Any, folder: str, after: str | None, limit: int) -> tuple[list, bool]:
        entries = [e for e in _Local.all(store, folder) if after is None or e.order_key > after]
        return entries[:limit], len(entries) > limit


class _S3:
    @staticmethod
    def _prefix(store: Any, folder: str) -> str:
        full = "/".join(p for p in (store.prefix, folder) if p)
        return f"{full}/" if full else ""

    @staticmethod
    def _entries(response: dict, full: str) -> list[FileEntry]:
        entries = []
        for common in response.get("CommonPrefixes", []):
            name = common["Prefix"][len(full) :].rstrip("/")
            if name:
                entries.append(FileEntry(name, True))
        for obj in response.get("Contents", []):
            name = obj["Key"][len(full) :]
            if name and "/" not in name:
                modified = obj.get("LastModified")
                entries.append(
                    FileEntry(
                        name,
                        False,
                        obj.get("Size"),
                        _iso(modified.timestamp()) if modified else None,
                    )
                )
        return entries

    @staticmethod
    def _call(store: Any, **kwargs: Any) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        from nbprod.errors import StoreUnavailable

        try:
            return store.client.list_objects_v2(Bucket=store.bucket, Delimiter="/", **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"S3 listing failed on {store.url}: {exc}") from exc

    @staticmethod
    def all(store: Any, folder: str) -> list[FileEntry]:
        full = _S3._prefix(store, folder)
        entries: list[FileEntry] = []
        token = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            response = _S3._call(store, Prefix=full, **extra)
            entries += _S3._entries(response, full)
            token = response.get("NextContinuationToken")
            if not response.get("IsTruncated") or not token:
                break
        return sorted(entries, key=lambda e: e.order_key)

    @staticmethod
    def page(store: Any, folder: str, after: str | None, limit: int) -> tuple[list, bool]:
        """One request per page in the common case: StartAfter the cursor's key.

        A folder cursor ``a/`` starts after the key ``<prefix>a/``; S3 then reports the
        folder ``a/`` once more (its keys sort after it), so entries at or before the
        cursor are dropped and the request asks for two extra entries.
        """
        full = _S3._prefix(store, folder)
        found: list[FileEntry] = []
        start = f"{full}{after}" if after else None
        token = None
        while len(found) <= limit:
            extra: dict[str, Any] = {"MaxKeys": min(limit + 2, MAX_PAGE)}
            if token:
                extra["ContinuationToken"] = token
            elif start:
                extra["StartAfter"] = start
            response = _S3._call(store, Prefix=full, **extra)
            batch = _S3._entries(response, full)
            found += [e for e in batch if after is None or e.order_key > after]
            token = response.get("NextContinuationToken")
            if not response.get("IsTruncated") or not token:
                break
        found.sort(key=lambda e: e.order_key)
        return found[:limit], len(found) > limit


def file_info(store: Store, key: str) -> FileEntry | None:
    """The object at ``key`` (size, modification time), or None when there is none."""
    key = checked_key(key)
    name = key.rsplit("/", 1)[-1]
    backend = _backend(store)
    if backend is _Local:
        path = _Local._folder(store, key)
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        return FileEntry(name, False, stat.st_size, _iso(stat.st_mtime))
    if backend is _S3:
        from botocore.exceptions import BotoCoreError, ClientError

        from nbprod.errors import StoreUnavailable

        full = "/".join(p for p in (store.prefix, key) if p)
        try:
            head = store.client.head_object(Bucket=store.bucket, Key=full)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StoreUnavailable(f"S3 head failed on {store.url}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"S3 head failed on {store.url}: {exc}") from exc
        modified = head.get("LastModified")
        return FileEntry(
            name, False, head.get("ContentLength"), _iso(modified.timestamp()) if modified else None
        )
    return FileEntry(name, False) if store.exists(key) else None
