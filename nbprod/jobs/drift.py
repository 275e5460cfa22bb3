"""Whether a job's working copy differs from its pinned snapshot in what a run executes
(sources, cell types, tags), without nbdime: cheap enough for every job of a listing.
The cell-by-cell diff is :mod:`nbprod.core.drift`'s."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nbprod.store import Store, layout


def read_notebook(path: Path) -> bytes | None:
    """The notebook's bytes (bounded), None when missing or unreadable."""
    from nbprod.errors import BadInput
    from nbprod.safe_yaml import MAX_NOTEBOOK_BYTES, read_bounded

    try:
        return read_bounded(path, "notebook", limit=MAX_NOTEBOOK_BYTES)
    except BadInput:
        return None


def _cells(nb: Any) -> list[tuple[Any, str, list[str]]]:
    def text(value: Any) -> str:
        return "".join(value) if isinstance(value, list) else str(value or "")

    return [
        (
            c.get("cell_type"),
            text(c.get("source")),
            list((c.get("metadata") or {}).get("tags") or []),
        )
        for c in nb.get("cells", [])
    ]


def drifted(store: Store, notebook: str | None, pinned_sha256: str | None) -> bool | None:
    """Whether the working copy ``notebook`` differs from the snapshot ``pinned_sha256`` in
    what a run executes. None when either is unknown or unreadable."""
    if not notebook or not pinned_sha256:
        return None
    data = read_notebook(Path(notebook))
    if data is None:
        return None
    if hashlib.sha256(data).hexdigest() == pinned_sha256:
        return False
    try:
        snapshot = json.loads(store.get(layout.snapshot_key(pinned_sha256)))
        return _cells(snapshot) != _cells(json.loads(data))
    except (KeyError, ValueError):
        return None
