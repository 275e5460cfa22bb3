"""The local spool: every run's files land here first, then go to the store.

A run's spool folder holds its files and a ``manifest.json`` naming each file's store key,
in upload order (the run record last, so a record in the store means the run is whole).
The folder is removed once every file is in the store; if the store is unreachable it
stays, and ``nbprod store flush`` publishes it later. Nothing is lost either way.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbprod.errors import StoreError, StoreUnavailable
from nbprod.store import Store

MANIFEST = "manifest.json"


@dataclass
class Upload:
    file: str
    """File name inside the spool folder."""
    key: str
    """Destination key in the store."""
    content_type: str | None = None
    if_absent: bool = False
    """Content-addressed objects: written once, skipped when present."""


@dataclass
class Manifest:
    run_id: str
    job: str
    store: str
    uploads: list[Upload] = field(default_factory=list)
    last_error: str | None = None

    def save(self, folder: Path) -> None:
        write_file(folder / MANIFEST, json.dumps(asdict(self), indent=2).encode("utf-8"))

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
        data["uploads"] = [Upload(**u) for u in data.get("uploads", [])]
        return cls(**data)


def run_folder(spool_root: Path, run_id: str) -> Path:
    folder = spool_root / run_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def publish(
    store: Store,
    folder: Path,
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Upload a spool folder's files in manifest order, then remove the folder.

    Each file is tried ``attempts`` times with doubling delays; if one still fails, the
    folder stays (with the reason in its manifest) and StoreUnavailable is raised.
    """
    manifest = Manifest.load(folder)
    for upload in manifest.uploads:
        data = (folder / upload.file).read_bytes()
        try:
            put(
                store,
                upload.key,
                data,
                upload.content_type,
                upload.if_absent,
                attempts=attempts,
                backoff=backoff,
                sleep=sleep,
            )
        except StoreError as exc:
            manifest.last_error = str(exc)
            try:
                manifest.save(folder)
            except OSError:
                pass  # a full disk: the manifest without the reason is still whole
            raise StoreUnavailable(str(exc)) from exc
    shutil.rmtree(folder, ignore_errors=True)


def put(
    store: Store,
    key: str,
    data: bytes,
    content_type: str | None = None,
    if_absent: bool = False,
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """One object, tried ``attempts`` times with doubling delays; the last StoreError raises."""
    delay = backoff
    for attempt in range(1, max(1, attempts) + 1):
        try:
            if if_absent:
                store.put_if_absent(key, data, content_type)
            else:
                store.put(key, data, content_type)
            return
        except StoreError:
            if attempt >= attempts:
                raise
            sleep(delay)
            delay *= 2


def write_file(path: Path, data: bytes) -> None:
    """Whole or not at all: a write that fails (ENOSPC) leaves no partial file behind."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def pending(spool_root: Path) -> Iterator[tuple[Path, Manifest]]:
    """Spool folders whose manifest is complete (runs that ended but were not published)."""
    for folder in _folders(spool_root):
        manifest = _manifest_or_none(folder)
        if manifest is not None:
            yield folder, manifest


@dataclass
class Leftovers:
    """Spool folders without a readable manifest: runs executing now, or killed mid-run."""

    folders: list[Path] = field(default_factory=list)
    bytes: int = 0


def leftovers(spool_root: Path) -> Leftovers:
    found = Leftovers()
    for folder in _folders(spool_root):
        if _manifest_or_none(folder) is None:
            found.folders.append(folder)
            found.bytes += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return found


def _folders(spool_root: Path) -> list[Path]:
    try:
        # Run ids never start with a dot; ".warm" holds the logs of kernels started ahead.
        return sorted(p for p in spool_root.iterdir() if p.is_dir() and p.name[:1] != ".")
    except (FileNotFoundError, NotADirectoryError):
        return []


def _manifest_or_none(folder: Path) -> Manifest | None:
    try:
        return Manifest.load(folder)
    except (OSError, ValueError, TypeError):  # missing, truncated by a full disk, or garbled
        return None
