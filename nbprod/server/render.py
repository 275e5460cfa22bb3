"""Output notebooks rendered to HTML with nbconvert, cached by content hash.

The cache lives in ``<home>/cache/html/<sha256>-<renderer>.html``: the same bytes always
render the same way, so a cached page never goes stale, and runs are write-once anyway.
Each cell gets the anchor ``cell-id=nbprod-<index>`` (index in the notebook), so the run
page can open a failed run at its failing cell.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from enum import Enum
from pathlib import Path
from typing import Any

RENDERER_VERSION = "3"
"""Bumped when the rendering below changes, so older cached pages are not used."""

_TARGET_STYLE = (
    "<style>.jp-Cell:target{outline:3px solid #c62828;outline-offset:2px;"
    "scroll-margin-top:8px}</style>"
)


# The page that frames a rendered notebook sizes the frame to the notebook's height. The
# frame is sandboxed without allow-same-origin (its scripts run in an opaque origin, never
# with the app's authority), so the page cannot read the frame's document: this script, run
# inside the frame (the sandbox allows scripts), posts the height to the parent. The message
# holds one number, nothing the notebook's own scripts could not post anyway; the parent
# accepts it only from its own frame's window and only as a clamped height (nbprod.js).
_HEIGHT_SCRIPT = (
    "<script>(function(){var last=0,body=document.body;"
    # the content's height, not scrollHeight (never less than the frame's own height)
    "function height(){var most=0;for(var c=body.firstElementChild;c;c=c.nextElementSibling)"
    "{var r=c.getBoundingClientRect();if(r.bottom>most){most=r.bottom;}}"
    "var s=getComputedStyle(body);return Math.ceil(most+window.scrollY+"
    "(parseFloat(s.paddingBottom)||0)+(parseFloat(s.marginBottom)||0));}"
    "function post(){var h=height();if(h!==last){last=h;"
    "parent.postMessage({nbprodFrameHeight:h},'*');}}"
    "if(window.ResizeObserver){var o=new ResizeObserver(post);"
    "for(var c=body.firstElementChild;c;c=c.nextElementSibling){o.observe(c);}}"
    "window.addEventListener('load',post);post();})();</script>"
)
_UNLOADABLE = (
    '<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/',
    '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/',
)
"""Scripts nbconvert's template loads from a CDN: the frame's policy forbids loading
anything, so they are dropped rather than left to fail."""


class CodeView(str, Enum):
    """Which code cells show their source (the run page's *Show code* / *Hide code*)."""

    AS_SAVED = "as-saved"
    """Hidden where the notebook hides it (``metadata.jupyter.source_hidden``, what JupyterLab
    collapses, and what report mode sets on every code cell)."""
    SHOWN = "shown"
    HIDDEN = "hidden"

    @classmethod
    def parse(cls, value: str | None) -> CodeView:
        """The view a ``?code=`` query names; BadInput for any other value."""
        from nbprod.errors import BadInput

        if value in (None, ""):
            return cls.AS_SAVED
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(view.value for view in cls)
            raise BadInput(f"code must be one of {allowed}, not {value[:40]!r}") from None


CELL_ANCHOR = "cell-id=nbprod-{index}"
"""The element id of a cell in a rendered notebook (a template the JupyterLab extension gets)."""


def cell_anchor(index: int) -> str:
    """The element id of cell ``index`` in a rendered notebook."""
    return CELL_ANCHOR.format(index=index)


class NotebookRenderer:
    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()
        self._suffix: str | None = None
        self._rendering: dict[Path, threading.Lock] = {}

    def suffix(self) -> str:
        if self._suffix is None:
            import nbconvert

            self._suffix = f"nbconvert{nbconvert.__version__}-r{RENDERER_VERSION}"
        return self._suffix

    def cache_path(self, data: bytes, code: CodeView = CodeView.AS_SAVED) -> Path:
        digest = hashlib.sha256(data).hexdigest()
        view = "" if code is CodeView.AS_SAVED else f"-code-{code.value}"
        return self.cache_dir / f"{digest}-{self.suffix()}{view}.html"

    def cached(self, data: bytes, code: CodeView = CodeView.AS_SAVED) -> bytes | None:
        try:
            return self.cache_path(data, code).read_bytes()
        except OSError:
            return None

    def render(self, data: bytes, code: CodeView = CodeView.AS_SAVED) -> tuple[bytes, bool]:
        """HTML for the notebook bytes, and whether it came from the cache."""
        path = self.cache_path(data, code)
        try:
            return path.read_bytes(), True
        except OSError:
            pass
        # One render per notebook at a time: the run page renders ahead of its frame's
        # request (prerender), and the frame's request then waits for that render.
        with self._lock:
            busy = self._rendering.setdefault(path, threading.Lock())
        with busy:
            try:
                return path.read_bytes(), True
            except OSError:
                pass
            try:
                return self._render_to(path, data, code), False
            finally:
                with self._lock:
                    self._rendering.pop(path, None)

    def _render_to(self, path: Path, data: bytes, code: CodeView) -> bytes:
        html = to_html(data, code)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".tmp-{secrets.token_hex(6)}")
            tmp.write_bytes(html)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home still renders, just without the cache
        return html


def _hides_source(cell: Any, code: CodeView) -> bool:
    if code is not CodeView.AS_SAVED:
        return code is CodeView.HIDDEN
    jupyter = cell.get("metadata", {}).get("jupyter")
    return isinstance(jupyter, dict) and jupyter.get("source_hidden") is True


def read_notebook(data: bytes) -> Any:
    """Stored notebook bytes as a notebook; CorruptData when they are not one (a truncated
    or edited file), so pages say so instead of failing."""
    import nbformat

    from nbprod.errors import CorruptData

    try:
        text = data.decode("utf-8")
        json.loads(text)  # its error says where the text breaks off; nbformat's quotes it
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several JSON/validation types
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CorruptData(f"not a valid notebook (truncated or edited?): {reason}") from None
    if not isinstance(nb.get("cells"), list):
        raise CorruptData("not a valid notebook (no list of cells)")
    return nb


def to_html(data: bytes, code: CodeView = CodeView.AS_SAVED) -> bytes:
    """Render notebook bytes to a standalone HTML page (nbconvert's lab template)."""
    from nbconvert import HTMLExporter

    nb = read_notebook(data)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"nbprod-{index}"
        if cell.get("cell_type") == "code" and _hides_source(cell, code):
            # what nbconvert's templates skip a cell's input for (its TagRemovePreprocessor's mark)
            cell.metadata["transient"] = {"remove_source": True}
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb)
    for prefix in _UNLOADABLE:
        start = body.find(prefix)
        end = body.find("</script>", start)
        if start >= 0 and end >= 0:
            body = body[:start] + body[end + len("</script>") :]
    body = body.replace("</head>", _TARGET_STYLE + "</head>", 1)
    head, tail = body.rsplit("</body>", 1) if "</body>" in body else (body, "")
    return (head + _HEIGHT_SCRIPT + "</body>" + tail).encode("utf-8")
