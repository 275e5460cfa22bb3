"""The executed notebook's copy: the ``injected-parameters`` cell and papermill metadata.

The cell is what papermill writes (same tag, same place, same metadata), so outputs read
the same in papermill-aware tools.
"""

from __future__ import annotations

from typing import Any

from nbprod.nbread import executable
from nbprod.request import RunRequest

INJECTED_TAG = "injected-parameters"


def parameterize(request: RunRequest) -> Any:
    """A copy of the notebook with an ``injected-parameters`` cell after the parameters cell.

    The values are rendered by papermill's language translators from typed values, never
    pasted as text. No cell is injected when nothing was supplied.
    """
    import nbformat

    nb = executable(request.nb)
    if request.parameters:
        from papermill.translators import translate_parameters

        language = notebook_language(nb)
        values = dict(request.parameters)
        source = translate_parameters(request.kernel, language, values, "Parameters")
        cell = nbformat.v4.new_code_cell(source=source)
        cell.metadata["tags"] = [INJECTED_TAG]
        # Earlier injected cells (a papermill output run again) go; only those above the
        # parameters cell move it up.
        at = request.schema.cell_index
        at = 0 if at is None else at + 1
        at -= sum(1 for c in nb.cells[:at] if INJECTED_TAG in _tags(c))
        cells = [c for c in nb.cells if INJECTED_TAG not in _tags(c)]
        cells.insert(max(at, 0), cell)
        nb.cells = cells
    nb.metadata.setdefault("papermill", {})
    nb.metadata.papermill.update(
        {
            "parameters": dict(request.parameters),
            "input_path": str(request.notebook_path),
            "output_path": request.store.location(request.output_key),
            "nbprod_run_id": request.run_id,
        }
    )
    return nb


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def notebook_language(nb: Any) -> str:
    meta = nb.get("metadata", {})
    return (
        (meta.get("kernelspec") or {}).get("language")
        or (meta.get("language_info") or {}).get("name")
        or "python"
    )
