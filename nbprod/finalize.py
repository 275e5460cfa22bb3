"""Turn an execution into a terminal status, an error summary and a readable output.

Marker cells use papermill's tag and anchor, so tools that know papermill's error
markers (and people who do) find the failing cell the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError

from nbprod import cells
from nbprod.cells import ERROR_MARKER_TAG, MARKERS_BEFORE_FAILING
from nbprod.engine import Execution, RunControl
from nbprod.records import ErrorInfo, RunStatus
from nbprod.scraps import extract_scraps

ANCHOR_ID = "papermill-error-cell"
_STYLE = (
    'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"'
)


@dataclass
class Outcome:
    status: RunStatus
    error: ErrorInfo | None
    scraps: dict[str, Any]
    nb: Any


def _first_error(nb: Any) -> tuple[int, Any] | None:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") == "error":
                return index, output
    return None


def _is_clean_exit(output: Any) -> bool:
    return output.get("ename") == "SystemExit" and str(output.get("evalue", "")) in ("", "0")


def finalize_notebook(execution: Execution, control: RunControl, request: Any) -> Outcome:
    nb = execution.nb
    scraps = extract_scraps(nb)
    found = _first_error(nb)
    exc = execution.exception
    index = execution.current_index
    status: RunStatus
    error: ErrorInfo | None = None

    if control.reason == "timeout" or isinstance(exc, CellTimeoutError):
        status = RunStatus.TIMED_OUT
        if control.reason == "timeout":
            message = f"the run exceeded its {request.timeout:g} s timeout"
        else:
            message = f"a cell exceeded its {request.cell_timeout:g} s timeout"
        error = ErrorInfo("Timeout", message, index)
    elif control.reason == "cancel":
        status = RunStatus.CANCELLED
        error = ErrorInfo("Cancelled", "the run was cancelled (interrupt or SIGTERM)", index)
    elif isinstance(exc, DeadKernelError):
        status = RunStatus.KERNEL_DIED
        error = ErrorInfo("DeadKernelError", "the kernel died while executing a cell", index)
    elif exc is not None:
        status = RunStatus.FAILED
        error = ErrorInfo(type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", index)
    elif found and not _is_clean_exit(found[1]):
        status = RunStatus.FAILED
        cell_index, output = found
        error = ErrorInfo(
            str(output.get("ename", "")),
            str(output.get("evalue", "")),
            cell_index,
            traceback=_plain_traceback(output.get("traceback") or []),
        )
    elif found is None and execution.cell_error is not None:
        status = RunStatus.FAILED
        cell_index, failure = execution.cell_error
        error = ErrorInfo(failure.ename, failure.evalue, cell_index)
        _note_error_output(nb.cells[cell_index], failure)
    else:
        status = RunStatus.SUCCEEDED

    if error is not None:
        if error.cell_index is None and found:
            error.cell_index = found[0]
        if error.cell_index is not None:
            cell = nb.cells[error.cell_index]
            error.execution_count = cell.get("execution_count")
            error.cell_number = cells.number(nb.cells, error.cell_index)
            if status is not RunStatus.FAILED and not cell.get("outputs"):
                _note_in_cell(cell, f"nbprod: {error.evalue}")
            nb, error.cell_index = _insert_markers(nb, error, status)
    return Outcome(status, error, scraps, nb)


def _note_in_cell(cell: Any, text: str) -> None:
    import nbformat

    if cell.get("cell_type") == "code":
        cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=text + "\n"))


def _note_error_output(cell: Any, failure: Any) -> None:
    """An error output for a cell only its execute reply failed, so that readers of the
    notebook (papermill, nbdime, people) see the failure where it happened."""
    import nbformat

    cell.outputs.append(
        nbformat.v4.new_output("error", ename=failure.ename, evalue=failure.evalue, traceback=[])
    )


def _insert_markers(nb: Any, error: ErrorInfo, status: RunStatus) -> tuple[Any, int]:
    import nbformat

    where = f"In [{error.execution_count}]" if error.execution_count else "a cell"
    headline = {
        RunStatus.FAILED: f"An exception was encountered at '{where}'",
        RunStatus.TIMED_OUT: f"The run timed out at '{where}'",
        RunStatus.CANCELLED: f"The run was cancelled at '{where}'",
        RunStatus.KERNEL_DIED: f"The kernel died at '{where}'",
    }[status]
    top = nbformat.v4.new_markdown_cell(
        f'<span {_STYLE}>{headline}: <a href="#{ANCHOR_ID}">jump to it</a>.</span>'
    )
    anchor = nbformat.v4.new_markdown_cell(
        f'<span id="{ANCHOR_ID}" {_STYLE}>Execution stopped here ({status.value}):</span>'
    )
    for cell in (top, anchor):
        cell.metadata["tags"] = [ERROR_MARKER_TAG]
    index = error.cell_index or 0
    nb.cells.insert(index, anchor)
    nb.cells.insert(0, top)
    return nb, index + MARKERS_BEFORE_FAILING


def _plain_traceback(lines: list[str]) -> list[str]:
    """Tracebacks without ANSI colours, for terminals, search and the browse UI."""
    import re

    ansi = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
    return [ansi.sub("", line) for line in lines]
