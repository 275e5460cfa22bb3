"""Which cells of a run's notebook are nbprod's own, and the number a person calls a cell.

The notebook a run executes, and its output, hold cells the author never wrote: the
``injected-parameters`` cell (papermill's tag, right after the parameters cell) and, when a
run stops in a cell, two error markers (papermill's tag: one at the top, one just above
that cell). Every count and every "cell N" a user sees counts the author's cells only,
1-based in file order: a 14-cell notebook shows 14 cells however it ran, and "cell 3" is
the third cell of the file as the author sees it in JupyterLab. The injected cell has no
number ("injected parameters"). Positions (``cell_index``) stay positions in the notebook
they index, for anchors and JupyterLab's active cell.

This is the one definition: the engine, the run record, the diffs and every face use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

INJECTED_TAG = "injected-parameters"
"""papermill's tag on the cell holding the supplied parameters."""
ERROR_MARKER_TAG = "papermill-error-cell-tag"
"""papermill's tag on the markdown cells that point at the failing cell."""
INJECTED_LABEL = "injected parameters"
"""What the injected cell is called where another cell would say ``cell N``."""
MARKERS_BEFORE_FAILING = 2
"""Error markers above the failing cell in an output notebook: the top one and its own."""


def tags(cell: Any) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags") or [])


def is_injected(cell: Any) -> bool:
    return INJECTED_TAG in tags(cell)


def is_marker(cell: Any) -> bool:
    return ERROR_MARKER_TAG in tags(cell)


def is_own(cell: Any) -> bool:
    """Whether nbprod (or papermill before it) added the cell: not the author's."""
    own = tags(cell)
    return INJECTED_TAG in own or ERROR_MARKER_TAG in own


def count(cells: Iterable[Any]) -> int:
    """The author's cells: what "N cells" means to a user."""
    return sum(1 for cell in cells if not is_own(cell))


def numbers(cells: Iterable[Any]) -> list[int | None]:
    """Each cell's number (1-based, the author's cells only); None for nbprod's own."""
    result: list[int | None] = []
    seen = 0
    for cell in cells:
        if is_own(cell):
            result.append(None)
        else:
            seen += 1
            result.append(seen)
    return result


def number(cells: Sequence[Any], index: int | None) -> int | None:
    """The number of ``cells[index]``; None for nbprod's own cell or no index."""
    if index is None or not 0 <= index < len(cells) or is_own(cells[index]):
        return None
    return count(cells[:index]) + 1


def label(number: int | None) -> str:
    """``cell 3``; the injected cell (no number) is ``injected parameters``."""
    return INJECTED_LABEL if number is None else f"cell {number}"


def executed_index(output_index: int) -> int:
    """A failing cell's index in the notebook as executed, from its index in the output
    notebook (which has the error markers above it)."""
    return max(output_index - MARKERS_BEFORE_FAILING, 0)


def number_without_notebook(output_index: int, injected: bool) -> int:
    """A failing cell's number from its output index alone, for records written before they
    carried ``cell_number``: exact unless the failing cell came before the injected one."""
    return max(executed_index(output_index) + 1 - (1 if injected else 0), 1)
