"""A run's output notebook read from the store, for JupyterLab's read-only ``nbprod-run``
drive: nothing is copied into the user's folder.

The drive's path is ``<run id>/<job> run <run id>.ipynb`` (the file name is the tab's label:
JupyterLab names a tab after its file); the run id is looked up (the catalog, else the
store) and the name must be that label or the run's own output's, so a path never reaches
any other key of the store, let alone a file outside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.errors import NotFound, RunNotFound
from nbprod.records import RunRecord, RunStatus

DRIVE = "nbprod-run"
"""The JupyterLab drive's name: its paths read ``nbprod-run:<run id>/<file>``."""


@dataclass
class OutputFile:
    run_id: str
    job: str
    status: str
    name: str
    path: str
    """``<run id>/<name>``: the path in the drive."""
    cell: int | None
    """The failing cell (an index into this notebook), for a run that failed in one."""
    created: str | None
    last_modified: str | None
    content: dict[str, Any] | None = None

    def model(self) -> dict[str, Any]:
        """A Jupyter contents model of the file (read-only), plus who it belongs to."""
        return {
            "name": self.name,
            "path": self.path,
            "type": "notebook",
            "format": "json" if self.content is not None else None,
            "mimetype": None,
            "content": self.content,
            "writable": False,
            "created": self.created,
            "last_modified": self.last_modified,
            "size": None,
            "nbprod": {
                "run_id": self.run_id,
                "job": self.job,
                "status": self.status,
                "cell": self.cell,
            },
        }


def _output_key(record: RunRecord) -> str:
    from nbprod.store import check_key

    key = record.artifacts.get("output")
    if not key:
        raise RunNotFound(f"run {record.run_id} has no output notebook")
    return check_key(key)


def label(record: RunRecord) -> str:
    """The output's file name in the drive: the job and the run, not the source's name."""
    return f"{record.job} run {record.run_id}.ipynb"


def read_output(ws: Workspace, path: str, *, content: bool = True) -> OutputFile:
    """The output notebook at drive path ``<run id>/<name>`` (NotFound for anything else)."""
    from nbprod.core.runs import show_run
    from nbprod.store import layout

    run_id, _, name = path.strip("/").partition("/")
    if not layout.is_run_id(run_id) or "/" in name:
        raise NotFound(f"no output {path!r} (a path is <run id>/<file name>)")
    record = show_run(ws, run_id).record
    if record is None or record.status is RunStatus.RUNNING:
        raise NotFound(f"run {run_id} has no output yet")
    key = _output_key(record)
    own = label(record)
    if name not in ("", own, key.rsplit("/", 1)[-1]):
        raise NotFound(f"run {run_id} has no file {name!r} (its output is {own!r})")
    data = None
    if content:
        try:
            data = json.loads(ws.store.get(key))
        except KeyError:
            raise RunNotFound(f"run {run_id}: its output {key} is not in the store") from None
    cell = record.error.cell_index if record.error else None
    return OutputFile(
        run_id,
        record.job,
        record.status.value,
        own,
        f"{run_id}/{own}",
        cell,
        record.started_at or record.created_at or None,
        record.finished_at,
        data,
    )
