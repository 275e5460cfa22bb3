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
        path = folder / MANIFEST
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), "utf-8")
        tmp.replace(path)

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
        delay = backoff
        for attempt in range(1, max(1, attempts) + 1):
            try:
                if upload.if_absent:
                    store.put_if_absent(upload.key, data, upload.content_type)
                else:
                    store.put(upload.key, data, upload.content_type)
                break
            except StoreError as exc:
                if attempt >= attempts:
                    manifest.last_error = str(exc)
                    manifest.save(folder)
                    raise StoreUnavailable(str(exc)) from exc
                sleep(delay)
                delay *= 2
    shutil.rmtree(folder, ignore_errors=True)


def pending(spool_root: Path) -> Iterator[tuple[Path, Manifest]]:
    """Spool folders whose manifest is complete (runs that ended but were not published)."""
    if not spool_root.is_dir():
        return
    for folder in sorted(spool_root.iterdir()):
        if (folder / MANIFEST).is_file():
            yield folder, Manifest.load(folder)
