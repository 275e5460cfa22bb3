"""How each kind of file is shown: picked by extension, prepared as escaped-safe data."""

from __future__ import annotations

import csv
import io
import json
import mimetypes
from dataclasses import dataclass, field
from typing import Any

TEXT_LIMIT = 2 * 1024 * 1024
"""Bytes of a text file shown on the page (the raw link has the rest)."""
CSV_ROWS = 1000
IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico"}
TEXT_TYPES = {
    ".txt", ".log", ".py", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".sql", ".sh", ".r",
    ".tsv", ".xml", ".js", ".css", ".rst", ".out", ".err",
}  # fmt: skip


def viewer_for(name: str) -> str:
    """notebook, html, markdown, csv, image, json, text or binary."""
    lower = name.lower()
    suffix = lower[lower.rfind(".") :] if "." in lower else ""
    if suffix == ".ipynb":
        return "notebook"
    if suffix in (".html", ".htm"):
        return "html"
    if suffix in (".md", ".markdown"):
        return "markdown"
    if suffix == ".csv":
        return "csv"
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix == ".json":
        return "json"
    if suffix in TEXT_TYPES:
        return "text"
    return "auto"


def mimetype(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    if guessed:
        return guessed
    if viewer_for(name) == "text":
        return "text/plain"
    return "application/x-ipynb+json" if name.endswith(".ipynb") else "application/octet-stream"


@dataclass
class Shown:
    """What the page shows of a file."""

    viewer: str
    text: str | None = None
    table: list[list[str]] = field(default_factory=list)
    truncated: bool = False
    markdown_html: str | None = None


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a character cut at the sample's end is fine
    return False


def prepare(name: str, data: bytes) -> Shown:
    viewer = viewer_for(name)
    if viewer == "auto":
        viewer = "binary" if looks_binary(data) else "text"
    if viewer in ("notebook", "html", "image", "binary"):
        return Shown(viewer)
    truncated = len(data) > TEXT_LIMIT
    text = data[:TEXT_LIMIT].decode("utf-8", errors="replace")
    if viewer == "json":
        if not truncated:
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                pass  # shown as it is
        return Shown("json", text=text, truncated=truncated)
    if viewer == "csv":
        rows: list[list[str]] = []
        reader = csv.reader(io.StringIO(text))
        try:
            for row in reader:
                if len(rows) > CSV_ROWS:
                    truncated = True
                    break
                rows.append(row)
        except csv.Error:
            return Shown("text", text=text, truncated=truncated)
        return Shown("csv", table=rows, truncated=truncated)
    if viewer == "markdown":
        return Shown(
            "markdown", text=text, markdown_html=render_markdown(text), truncated=truncated
        )
    return Shown("text", text=text, truncated=truncated)


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML escaped and unsafe link schemes dropped."""
    import mistune

    markdown = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    return str(markdown(text))


def contents_model(path: str, name: str, info: Any, data: bytes | None, fmt: str | None) -> dict:
    """A Jupyter contents-API model of a file (``data`` None: without content)."""
    is_notebook = name.endswith(".ipynb")
    model: dict[str, Any] = {
        "name": name,
        "path": path,
        "type": "notebook" if is_notebook and fmt != "text" else "file",
        "writable": False,
        "created": info.modified if info else None,
        "last_modified": info.modified if info else None,
        "size": info.size if info else None,
        "mimetype": None if is_notebook and fmt != "text" else mimetype(name),
        "content": None,
        "format": None,
    }
    if data is None:
        return model
    if model["type"] == "notebook":
        from nbprod.errors import CorruptData

        try:
            model["content"] = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            reason = f"{path} is not a valid notebook (truncated or edited?): {exc}"
            raise CorruptData(reason) from None
        model["format"] = "json"
        return model
    if fmt != "base64":
        try:
            model["content"] = data.decode("utf-8")
            model["format"] = "text"
            return model
        except UnicodeDecodeError:
            if fmt == "text":
                from nbprod.errors import BadInput

                raise BadInput(f"{path} is not UTF-8 text (ask for format=base64)") from None
    import base64

    model["content"] = base64.b64encode(data).decode("ascii")
    model["format"] = "base64"
    model["mimetype"] = mimetype(name)
    return model
