"""Debug a failed run: a new notebook made from the run's input snapshot with its exact
parameters injected, where the user can step up to the cell that failed.

The notebook is what the run's kernel executed at its start (the pinned snapshot, not
today's working copy, with the same ``injected-parameters`` cell), outputs cleared, and its
``metadata.nbprod_debug`` says which run it came from and which cell failed, so JupyterLab
selects that cell when it opens the file (from the Jobs panel, the browse page or
`nbprod runs debug`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from nbprod import cells
from nbprod.core.workspace import Workspace
from nbprod.errors import BadInput, Conflict, FieldError
from nbprod.records import RunRecord, RunStatus

DEBUG_DIR = "nbprod-debug"
"""Where debug notebooks go by default, under the Jupyter root (or the current folder)."""

DEBUGGABLE = (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.LOST, RunStatus.KERNEL_DIED)
"""The statuses a run can be debugged in: it stopped in a cell."""

MAX_SAME_NAME = 1000


@dataclass
class DebugNotebook:
    path: str
    """Where it was written: relative to the root it was written under, or as given."""
    run_id: str
    job: str
    status: str
    cell: int | None
    """The failing cell's index in the debug notebook (None: the run stopped elsewhere)."""
    kernel: str
    cell_number: int | None = None
    """The failing cell as its author counts it (nbprod.cells); None for none or the
    injected parameters."""

    @property
    def cell_label(self) -> str | None:
        """``cell 3`` (or ``injected parameters``), as the run's record names it."""
        return None if self.cell is None else cells.label(self.cell_number)

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "cell_label": self.cell_label}


def failing_cell(record: RunRecord) -> int | None:
    """The cell the run stopped in, as an index into the notebook it executed.

    A failed or timed-out run's error names the cell in the *output* notebook, below the
    error markers; a lost run knows only the cell its last published progress was in.
    """
    if record.error is not None and record.error.cell_index is not None:
        return cells.executed_index(record.error.cell_index)
    return record.progress.cell_index


def build(ws: Workspace, record: RunRecord) -> tuple[Any, int | None]:
    """The debug notebook of ``record`` (a NotebookNode) and its failing cell."""
    from nbprod.inject import parameterize
    from nbprod.jobs.versions import materialize_snapshot
    from nbprod.kernel import kernel_spec_manager
    from nbprod.runner import prepare

    if record.status not in DEBUGGABLE:
        shown = ", ".join(s.value for s in DEBUGGABLE)
        raise Conflict(f"run {record.run_id} is {record.status.value}; only {shown} runs debug")
    snapshot = materialize_snapshot(
        ws.store, record.notebook.sha256, record.notebook.name, ws.settings.home / "snapshots"
    )
    given = {name: record.parameters[name] for name in record.parameters_given}
    request = prepare(snapshot, settings=ws.settings, parameters=given, kernel=record.kernel)
    nb = parameterize(request)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("papermill", None)
    spec = kernel_spec_manager().get_kernel_spec(request.kernel)
    nb.metadata["kernelspec"] = {
        "name": request.kernel,
        "display_name": spec.display_name,
        "language": spec.language,
    }
    cell = failing_cell(record)
    if cell is not None and cell >= len(nb.cells):
        cell = None
    nb.metadata["nbprod_debug"] = {
        "run_id": record.run_id,
        "job": record.job,
        "status": record.status.value,
        "error": record.error.line if record.error else None,
        "failing_cell": cell,
        "failing_cell_number": cells.number(nb.cells, cell),
        "parameters": given,
    }
    return nb, cell


def debug_file_name(record: RunRecord) -> str:
    """``<job>-<run id>-debug.ipynb``: named after the job and the run."""
    return f"{record.job}-{record.run_id}-debug.ipynb"


def folder_under(root: str | os.PathLike[str], folder: str) -> Path:
    """``folder`` (relative, no ``..``) under ``root``; FieldError naming ``folder``."""
    text = (folder or "").strip().rstrip("/")
    parts = PurePosixPath(text).parts
    if (
        not text
        or text.startswith(("/", "~"))
        or "\\" in text
        or any(p in ("..", ".") for p in parts)
    ):
        raise FieldError(
            f"folder must be a relative path inside the Jupyter root, got {folder!r}", "folder"
        )
    return Path(root).joinpath(*parts)


def free_path(path: Path) -> Path:
    """``path``, or ``stem-2.ipynb``, ``stem-3.ipynb``, ... : never an existing file."""
    candidate = path
    for n in range(2, MAX_SAME_NAME + 2):
        if not candidate.exists():
            return candidate
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    raise Conflict(f"{MAX_SAME_NAME} debug notebooks of this run exist in {path.parent}")


def write_debug_notebook(
    ws: Workspace,
    run_id: str,
    *,
    root: str | os.PathLike[str] = ".",
    folder: str = DEBUG_DIR,
    output: str | os.PathLike[str] | None = None,
) -> DebugNotebook:
    """Write the debug notebook of run ``run_id`` (id or unique prefix).

    Into ``output`` when given (refused if it exists), else a new file named after the job
    and run in ``folder`` under ``root`` (a ``-2``, ``-3`` ... suffix instead of
    overwriting). Conflict for a run that did not stop in a cell (succeeded, running).
    """
    import nbformat

    from nbprod.core.runs import get_run

    record = get_run(ws, run_id)
    nb, cell = build(ws, record)
    if output is not None:
        target = Path(output)
        if target.exists():
            raise BadInput(f"{target} exists; give another -o FILE (it is never overwritten)")
        shown = str(target)
    else:
        base = folder_under(root, folder)
        target = free_path(base / debug_file_name(record))
        shown = target.relative_to(Path(root)).as_posix()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = nbformat.writes(nb)
    with open(target, "x", encoding="utf-8") as handle:  # "x": a file made meanwhile stays
        handle.write(data)
    return DebugNotebook(
        shown,
        record.run_id,
        record.job,
        record.status.value,
        cell,
        nb.metadata.kernelspec.name,
        cells.number(nb.cells, cell),
    )
