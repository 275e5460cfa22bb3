"""The executed notebook's copy: the ``injected-parameters`` cell and papermill metadata.

The cell is what papermill writes (same tag, same place, same metadata), so outputs read
the same in papermill-aware tools.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

from nbprod.cells import INJECTED_TAG, is_injected
from nbprod.nbread import executable
from nbprod.request import RunRequest

_PAPERMILL_ALIAS = "nbprod._papermill"


def parameterize(request: RunRequest) -> Any:
    """A copy of the notebook with an ``injected-parameters`` cell after the parameters cell.

    The values are rendered by papermill's language translators from typed values, never
    pasted as text. No cell is injected when nothing was supplied.
    """
    import nbformat

    nb = executable(request.nb)
    if request.parameters:
        translators = papermill_module("translators")
        language = notebook_language(nb)
        values = dict(request.parameters)
        source = translators.translate_parameters(request.kernel, language, values, "Parameters")
        cell = nbformat.v4.new_code_cell(source=source)
        cell.metadata["tags"] = [INJECTED_TAG]
        # Earlier injected cells (a papermill output run again) go; only those above the
        # parameters cell move it up.
        at = request.schema.cell_index
        at = 0 if at is None else at + 1
        at -= sum(1 for c in nb.cells[:at] if is_injected(c))
        cells = [c for c in nb.cells if not is_injected(c)]
        cells.insert(max(at, 0), cell)
        nb.cells = cells
    if request.report_mode:
        hide_code(nb)
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


def hide_code(nb: Any) -> None:
    """Report mode: every code cell's source hidden, as papermill's ``--report-mode`` does.

    ``metadata.jupyter.source_hidden`` is what JupyterLab itself sets when a reader collapses
    an input, so the output opens collapsed there; the cell's other ``jupyter`` metadata
    (``outputs_hidden``) is kept, where papermill replaces it.
    """
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.setdefault("metadata", {}).setdefault("jupyter", {})["source_hidden"] = True


def notebook_language(nb: Any) -> str:
    meta = nb.get("metadata", {})
    return (
        (meta.get("kernelspec") or {}).get("language")
        or (meta.get("language_info") or {}).get("name")
        or "python"
    )


def papermill_module(name: str) -> types.ModuleType:
    """papermill's module ``name`` (``translators``), without papermill's package import.

    ``import papermill.translators`` runs papermill/__init__.py first, which imports
    papermill's whole I/O layer (boto3, pyarrow, requests, the Azure and GCS clients when
    installed: 0.5-1.5 s of CPU) that rendering parameters never uses. The module is loaded
    from papermill's own folder under a private package name, so its relative imports
    (``.exceptions``, ``.models``) resolve there and ``papermill`` itself stays unimported: a
    later ``import papermill`` in the same process is the real, whole package.
    """
    if "papermill" in sys.modules:  # paid for already: use the real one
        return importlib.import_module(f"papermill.{name}")
    if _PAPERMILL_ALIAS not in sys.modules:
        spec = importlib.util.find_spec("papermill")  # locates the package, runs none of it
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError("papermill is not installed", name="papermill")
        package = types.ModuleType(_PAPERMILL_ALIAS, "papermill's modules, by file")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules.setdefault(_PAPERMILL_ALIAS, package)
    return importlib.import_module(f"{_PAPERMILL_ALIAS}.{name}")
