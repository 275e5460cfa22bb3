"""Keeping a finished run: its files go to the spool (the record last), then to the store.

When the spool cannot be written (a full or read-only home), the files go to the store
straight from memory; an output notebook the store refuses too is kept in the system temp
folder, and the record says so. Nothing half-written is left in the spool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbprod.errors import StoreError
from nbprod.records import ErrorInfo, RunRecord, RunStatus
from nbprod.request import RunRequest
from nbprod.store import layout


@dataclass
class Kept:
    """Where a run's files ended up (the runner's ``Run`` carries these)."""

    output_location: str
    spooled_to: Path | None = None
    spool_reason: str | None = None
    problem: str | None = None


def keep(request: RunRequest, record: RunRecord, nb: Any, env: Any, folder: Path) -> Kept:
    """Spool the run's files (the record last), then publish them to the store; when that
    fails unexpectedly (a bug of ours), still end the run with a record in the store."""
    try:
        return _spool_and_publish(request, record, nb, env, folder)
    except Exception as exc:
        kept = Kept("", problem=f"could not store the run: {type(exc).__name__}: {exc}")
        record.artifacts.pop("output", None)
        if record.status is RunStatus.SUCCEEDED:
            record.status = RunStatus.FAILED
            record.error = ErrorInfo("OutputNotSaved", f"{type(exc).__name__}: {exc}")
        try:
            request.store.put(request.record_key, record.to_json().encode(), "application/json")
        except Exception:
            kept.problem = f"{kept.problem}; its record could not be written either"
        return kept


def _files(request: RunRequest, record: RunRecord, nb: Any, env: Any, folder: Path) -> list:
    """(upload, bytes) for each file of the run but its record; adds the artifacts' keys."""
    from nbprod import engine, spool

    files: list[tuple[spool.Upload, bytes]] = [
        (
            spool.Upload("input.ipynb", record.artifacts["snapshot"], "application/json", True),
            request.source,
        )
    ]
    if env is not None:
        upload = spool.Upload("packages.txt", record.artifacts["environment"], "text/plain", True)
        files.append((upload, env.packages_text.encode("utf-8")))
    output = engine.notebook_bytes(nb)
    name = request.notebook_path.name
    files.append((spool.Upload(name, request.output_key, "application/x-ipynb+json"), output))
    kernel_log = _read_or_none(folder / "kernel.log")
    if kernel_log:
        log_key = layout.kernel_log_key(request.job, request.run_id)
        record.artifacts["kernel_log"] = log_key
        files.append((spool.Upload("kernel.log", log_key, "text/plain"), kernel_log))
    return files


def _spool_and_publish(
    request: RunRequest, record: RunRecord, nb: Any, env: Any, folder: Path
) -> Kept:
    from nbprod import spool

    settings = request.settings
    files = _files(request, record, nb, env, folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for upload, data in files:
            if upload.file != "kernel.log":
                spool.write_file(folder / upload.file, data)
        spool.write_file(folder / layout.RECORD_NAME, record.to_json().encode("utf-8"))
        uploads = [upload for upload, _ in files]
        uploads.append(spool.Upload(layout.RECORD_NAME, request.record_key, "application/json"))
        spool.Manifest(request.run_id, request.job, request.store.url, uploads).save(folder)
    except OSError as exc:
        return _publish_unspooled(request, record, files, folder, exc)
    try:
        spool.publish(
            request.store,
            folder,
            attempts=settings.upload_attempts,
            backoff=settings.upload_backoff,
        )
    except StoreError as exc:
        return Kept(str(folder / request.notebook_path.name), folder, str(exc))
    return Kept(request.store.location(request.output_key))


def _publish_unspooled(
    request: RunRequest,
    record: RunRecord,
    files: list[tuple[Any, bytes]],
    folder: Path,
    spool_error: OSError,
) -> Kept:
    """No room in the spool: publish from memory, the record last, saying what was lost."""
    import shutil

    from nbprod import spool

    shutil.rmtree(folder, ignore_errors=True)  # frees what the partial writes took
    settings = request.settings
    problem = f"cannot write the spool {folder.parent}: {spool_error.strerror or spool_error}"
    location = request.store.location(request.output_key)
    for upload, data in files:
        try:
            spool.put(
                request.store,
                upload.key,
                data,
                upload.content_type,
                upload.if_absent,
                attempts=settings.upload_attempts,
                backoff=settings.upload_backoff,
            )
        except StoreError as exc:
            for role, key in list(record.artifacts.items()):
                if key == upload.key:
                    del record.artifacts[role]
            if upload.key != request.output_key:
                continue
            kept = _keep_in_temp(request, data)
            location = str(kept) if kept else ""
            where = f"kept in {kept}" if kept else "lost"
            problem += f"; the store refused the output notebook too ({exc}): {where}"
            if record.status is RunStatus.SUCCEEDED:
                record.status = RunStatus.FAILED
                record.error = ErrorInfo("OutputNotSaved", f"the output notebook was {where}")
    try:
        spool.put(
            request.store,
            request.record_key,
            record.to_json().encode("utf-8"),
            "application/json",
            attempts=settings.upload_attempts,
            backoff=settings.upload_backoff,
        )
    except StoreError as exc:
        problem += f"; the run record could not be written either ({exc})"
    else:
        if location == request.store.location(request.output_key):
            problem += "; the run was published to the store directly"
    return Kept(location, problem=problem)


def _keep_in_temp(request: RunRequest, data: bytes) -> Path | None:
    import tempfile

    folder = Path(tempfile.gettempdir()) / "nbprod-unsaved" / request.run_id
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / request.notebook_path.name
        path.write_bytes(data)
    except OSError:
        return None
    return path


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
