"""Drift: the working copy of a job's notebook against the snapshot its latest version pins.

A job runs its pinned snapshot, never the file on disk, so an edit of the notebook changes
nothing until the job pins it again. Drift says when that is the case and what changed,
cell by cell (nbdime aligns the cells, :mod:`nbprod.diff` summarises them), and *Update
job* pins the working copy as a new version.

Only what a run would execute counts: sources, cell types and tags. A working copy that
differs in outputs or metadata alone (the notebook was run interactively and saved) is not
drift.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.jobs.drift import read_notebook as _read


@dataclass
class Drift:
    job: str
    version: int
    notebook: str
    drifted: bool
    pinned_sha256: str
    working_sha256: str | None
    """None when the working copy is missing."""
    message: str
    cells: list[dict[str, Any]] = field(default_factory=list)
    """``{where, kind, what, summary}`` per changed cell (pinned → working copy)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def working_sha(path: str | Path) -> str | None:
    data = _read(Path(path))
    return hashlib.sha256(data).hexdigest() if data is not None else None


def job_drift(ws: Workspace, name: str) -> Drift:
    """How the working copy of job ``name``'s notebook differs from its pinned snapshot."""
    import json

    from nbprod.diff import notebook_changes
    from nbprod.jobs.versions import pinned_version

    pinned = pinned_version(ws.catalog, ws.store.url, name)
    path = Path(pinned.definition.notebook)
    data = _read(path)
    base = {
        "job": name,
        "version": pinned.version,
        "notebook": str(path),
        "pinned_sha256": pinned.notebook_sha256,
    }
    if data is None:
        return Drift(
            **base,
            drifted=False,
            working_sha256=None,
            message=f"the working copy {path} is missing; runs use the pinned snapshot",
        )
    sha = hashlib.sha256(data).hexdigest()
    if sha == pinned.notebook_sha256:
        return Drift(**base, drifted=False, working_sha256=sha, message="up to date")
    snapshot = json.loads(ws.store.get(_snapshot_key(pinned.notebook_sha256)))
    changes = notebook_changes(snapshot, json.loads(data))
    cells = [
        {"where": c.where, "kind": c.kind, "what": c.what, "summary": c.summary} for c in changes
    ]
    if not cells:
        message = "the working copy differs in outputs or metadata only (not drift)"
    else:
        count = f"{len(cells)} cell{'s' if len(cells) != 1 else ''}"
        message = (
            f"the working copy differs from the snapshot version {pinned.version} pins "
            f"({count} changed); runs use the snapshot until the job is updated"
        )
    return Drift(**base, drifted=bool(cells), working_sha256=sha, message=message, cells=cells)


def _snapshot_key(sha: str) -> str:
    from nbprod.store import layout

    return layout.snapshot_key(sha)


def update_job(ws: Workspace, name: str) -> Any:
    """A new version of job ``name`` pinning its working copy, every other field kept (what
    *Update job* and `nbprod jobs update` do); the ApplyResult."""
    from nbprod.core.jobs import apply_definition
    from nbprod.jobs.model import JobDefinition
    from nbprod.jobs.versions import pinned_version

    pinned = pinned_version(ws.catalog, ws.store.url, name)
    definition = JobDefinition.from_dict(pinned.definition.to_dict())
    definition.paused = None
    return apply_definition(ws, definition, source=f"job {name}")
