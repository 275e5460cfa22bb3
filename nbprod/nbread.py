"""Read a notebook file as nbformat reads it, without importing nbformat.

``import nbformat`` imports jsonschema and its format checkers (0.1-0.2 s on a quiet
machine, several times that under load) to validate every read. Validation never rejects a
notebook there (``nbformat.reads`` only logs a schema error), so the commands that only look
at a notebook (``nbprod params``, every bad-input check before a run) read it here: the same
JSON parse, the same version-4 reading (multi-line text joined, transient metadata dropped)
and the same failures for a file nbformat cannot read, as attribute-accessible dicts.

What this skips is nbformat's validation and its repairs (missing or duplicate cell ids);
the notebook a run executes still goes through them (:func:`executable`), so an output
notebook is exactly what it was. Other versions (v1-v3 to convert, an unknown one to refuse)
go to nbformat too. tests/run/test_nbread.py checks both readers accept, refuse and read alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

VERSION = 4
"""The notebook format major version read here; others go through nbformat."""


class NotebookNode(dict):
    """A dict with attribute access, as nbformat's NotebookNode (nested mappings assigned
    to it become nodes too), so code written for either works on both."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        if hasattr(dict, key):
            raise AttributeError(f"attr {key} is a protected member of class NotebookNode.")
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, Mapping) and not isinstance(value, NotebookNode):
            value = from_dict(value)
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


def from_dict(data: Any) -> Any:
    """``data`` with every dict in it (in lists too) a NotebookNode; a deep copy of containers."""
    if isinstance(data, dict):
        return NotebookNode({k: from_dict(v) for k, v in data.items()})
    if isinstance(data, list | tuple):
        return [from_dict(v) for v in data]
    return data


def reads(text: str) -> Any:
    """The notebook in ``text`` as version 4; raises ValueError (or what nbformat raises
    for other versions) where ``nbformat.reads(text, as_version=4)`` would raise."""
    try:
        data = json.loads(text)
    except ValueError:
        message = f"Notebook does not appear to be JSON: {text!r}"
        raise ValueError(message[:77] + "..." if len(message) > 80 else message) from None
    major, minor = data.get("nbformat", 1), data.get("nbformat_minor", 0)  # a list: refused
    if major != VERSION:
        import nbformat

        # Older formats are upgraded (v2/v3 -> v4); from_dict makes the converted
        # metadata attribute-accessible, as the engine's bookkeeping needs.
        return nbformat.from_dict(nbformat.reads(text, as_version=VERSION))
    nb = from_dict(data)
    try:
        _join_lines(nb)
        _drop_transient(nb)
    except AttributeError as exc:  # nbformat's message for the same failures
        raise ValueError(f"The notebook is invalid and is missing an expected key: {exc}") from None
    _check_versions_and_ids(major, minor, nb)
    return nb


def executable(nb: Any) -> Any:
    """A deep copy of ``nb`` in nbformat's own nodes, validated as ``nbformat.reads``
    validates (a schema error is logged; missing or duplicate cell ids of format 4.5 are
    repaired), so a run executes and stores what nbformat would have read. Runs import
    nbformat anyway (nbclient does)."""
    import nbformat

    node = nbformat.from_dict(nb)
    if isinstance(nb, nbformat.NotebookNode):  # read by nbformat itself, validated then
        return node
    try:
        nbformat.validate(node)
    except nbformat.ValidationError as exc:
        from traitlets.log import get_logger

        get_logger().error("Notebook JSON is invalid: %s", exc)
    return node


def _check_versions_and_ids(major: Any, minor: Any, nb: NotebookNode) -> None:
    """What nbformat's validation refuses outright (it logs every other schema error):
    versions that are not integers, and, from format 4.5 on, a cell id that is a list or an
    object (its duplicate-id repair cannot compare those)."""
    if not (isinstance(major, int) and isinstance(minor, int)):
        raise ValueError(f"nbformat {major!r}.{minor!r} is not a pair of integers")
    if (major, minor) < (4, 5):
        return
    for index, cell in enumerate(nb.cells):
        if isinstance(cell.get("id"), list | dict):
            raise ValueError(f"cell {index} has an id that is not a string")


def _join_lines(nb: NotebookNode) -> None:
    """Multi-line text stored as lists of lines becomes one string (nbformat's reading)."""
    for cell in nb.cells:
        if "source" in cell and isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        for attachment in cell.get("attachments", {}).values():
            _join_bundle(attachment)
        if cell.get("cell_type", None) != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type", "")
            if kind in {"execute_result", "display_data"}:
                _join_bundle(output.get("data", {}))
            elif kind and isinstance(output.get("text", ""), list):
                output.text = "".join(output.text)


def _join_bundle(data: Any) -> None:
    for mime, value in list(data.items()):
        is_json = mime == "application/json" or (
            mime.startswith("application/") and mime.endswith("+json")
        )
        if not is_json and isinstance(value, list) and all(isinstance(v, str) for v in value):
            data[mime] = "".join(value)


def _drop_transient(nb: NotebookNode) -> None:
    """Values that are never stored (signatures, trust marks), as nbformat drops them."""
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("trusted", None)
