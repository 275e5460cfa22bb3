"""The files view (commuter parity): folders with breadcrumbs, sorting and pagination
past 1,000 objects; files shown by kind; raw download for everything; and the read-only
contents API for tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from nbprod.errors import BadInput, NotFound
from nbprod.server import listing
from nbprod.server.browse_data import BrowseData
from nbprod.server.listing import FileEntry
from nbprod.server.viewers import contents_model, mimetype, prepare
from nbprod.server.views.common import doc, int_arg
from nbprod.store import check_key

PER_PAGE = 100


@dataclass
class Crumb:
    """One step of the breadcrumbs."""

    name: str = doc("Folder name ('store' for the root).")
    path: str = doc("Store key of the folder ('' for the root).")


@dataclass
class EntryRow:
    """One child of a folder."""

    name: str = doc("File or folder name.")
    path: str = doc("Store key.")
    is_dir: bool = doc("Whether it is a folder.")
    size: int | None = doc("Bytes (files).")
    modified: str | None = doc("ISO 8601 UTC modification time, when known.")
    linkable: bool = doc("False for names the store's key rules reject (shown, not served).")


@dataclass
class FolderContext:
    """A folder of the store."""

    store: str = doc("URL of the store being browsed.")
    path: str = doc("Store key of the folder ('' for the root).")
    crumbs: list[Crumb] = doc("Breadcrumbs from the root.")
    entries: list[EntryRow] = doc("This page of the folder.")
    sort: str = doc("name, size or modified.")
    order: str = doc("asc or desc.")
    per_page: int = doc("Entries per page (at most 1,000).")
    page: int | None = doc("Page number when sorting needs the whole folder, else null.")
    total: int | None = doc("Entries in the folder, when it was listed in full.")
    first: int = doc("1-based position of the first entry on this page.")
    next_url: str | None = doc("Query string of the next page, or null.")
    prev_url: str | None = doc("Query string of the previous page, or null.")


@dataclass
class FileContext:
    """One file of the store."""

    store: str = doc("URL of the store being browsed.")
    path: str = doc("Store key of the file.")
    name: str = doc("File name.")
    crumbs: list[Crumb] = doc("Breadcrumbs from the root.")
    size: int | None = doc("Bytes.")
    modified: str | None = doc("ISO 8601 UTC modification time, when known.")
    mimetype: str = doc("Guessed media type.")
    viewer: str = doc("notebook, html, markdown, csv, image, json, text or binary.")
    text: str | None = doc("Text shown (json, text, markdown source).")
    table: list[list[str]] = doc("Rows of a CSV file (the first is usually the header).")
    truncated: bool = doc("Whether the page shows only the beginning of the file.")
    markdown_html: str | None = doc("Markdown rendered with raw HTML escaped.")
    anchor: str | None = doc("Cell anchor the rendered notebook opens at (?cell=N), or null.")


def crumbs(path: str) -> list[Crumb]:
    out = [Crumb("store", "")]
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        out.append(Crumb(part, "/".join(parts[: i + 1])))
    return out


def _row(folder: str, entry: FileEntry) -> EntryRow:
    path = f"{folder}/{entry.name}" if folder else entry.name
    try:
        check_key(path)
        linkable = True
    except BadInput:
        linkable = False
    return EntryRow(entry.name, path, entry.is_dir, entry.size, entry.modified, linkable)


def _arg(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or []
    return values[-1] if values else None


def build(service: BrowseData, path: str, args: Mapping[str, Sequence[str]]) -> Any:
    """A FolderContext or a FileContext for ``path``; NotFound when there is neither."""
    path = listing.normalize_folder(path)
    if path:
        info = listing.file_info(service.store, path)
        if info is not None:
            return _file(service, path, info, args)
    return _folder(service, path, args)


def _folder(service: BrowseData, path: str, args: Mapping[str, Sequence[str]]) -> Any:
    sort = _arg(args, "sort") or "name"
    order = _arg(args, "order") or "asc"
    if sort not in ("name", "size", "modified") or order not in ("asc", "desc"):
        raise BadInput("sort must be name, size or modified and order asc or desc")
    per_page = int_arg(_arg(args, "per_page"), "per_page", PER_PAGE, 1, listing.MAX_PAGE)
    keep = {"sort": sort if sort != "name" else None, "order": order if order != "asc" else None}
    keep["per_page"] = per_page if per_page != PER_PAGE else None
    keep = {k: v for k, v in keep.items() if v is not None}
    if sort == "name" and order == "asc" and not _arg(args, "page"):
        after = _arg(args, "after")
        start = int_arg(_arg(args, "start"), "start", 1)
        result = listing.list_page(service.store, path, after=after, limit=per_page)
        entries, total, page = result.entries, None, None
        next_url = None
        if result.next_after:
            query = {**keep, "after": result.next_after, "start": start + len(entries)}
            next_url = "?" + urlencode(query)
        prev_url = "?" + urlencode(keep) if after else None
        first = start
    else:
        page = int_arg(_arg(args, "page"), "page", 1)
        everything = listing.sort_entries(
            listing.list_all(service.store, path), sort, order == "desc"
        )
        total = len(everything)
        entries = everything[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-total // per_page))
        next_url = "?" + urlencode({**keep, "page": page + 1}) if page < pages else None
        prev_url = "?" + urlencode({**keep, "page": page - 1}) if page > 1 else None
        first = (page - 1) * per_page + 1
    if path and not entries and not _arg(args, "after") and (page or 1) == 1:
        raise NotFound(f"no file or folder {path!r} in the store")
    return FolderContext(
        store=service.store.url,
        path=path,
        crumbs=crumbs(path),
        entries=[_row(path, e) for e in entries],
        sort=sort,
        order=order,
        per_page=per_page,
        page=page,
        total=total,
        first=first,
        next_url=next_url,
        prev_url=prev_url,
    )


def _file(
    service: BrowseData, path: str, info: FileEntry, args: Mapping[str, Sequence[str]]
) -> FileContext:
    from nbprod.server.render import cell_anchor

    name = path.rsplit("/", 1)[-1]
    cell = _arg(args, "cell")
    anchor = cell_anchor(int_arg(cell, "cell", 0, 0)) if cell else None
    data = b""
    shown = prepare(name, b"")
    if shown.viewer not in ("notebook", "html", "image"):
        data = service.read(path)
        shown = prepare(name, data)
    return FileContext(
        store=service.store.url,
        path=path,
        name=name,
        crumbs=crumbs(path),
        size=info.size,
        modified=info.modified,
        mimetype=mimetype(name),
        viewer=shown.viewer,
        text=shown.text,
        table=shown.table,
        truncated=shown.truncated,
        markdown_html=shown.markdown_html,
        anchor=anchor,
    )


def contents(service: BrowseData, path: str, args: Mapping[str, Sequence[str]]) -> dict:
    """The Jupyter contents-API model of a file or folder (read-only)."""
    path = listing.normalize_folder(path)
    with_content = _arg(args, "content") not in ("0", "false")
    fmt = _arg(args, "format")
    if fmt not in (None, "text", "base64", "json"):
        raise BadInput("format must be text, base64 or json")
    wanted = _arg(args, "type")
    if wanted not in (None, "file", "notebook", "directory"):
        raise BadInput("type must be file, notebook or directory")
    info = listing.file_info(service.store, path) if path else None
    if info is not None and wanted != "directory":
        data = service.read(path) if with_content else None
        model = contents_model(path, info.name, info, data, "text" if wanted == "file" else fmt)
        return model
    entries = listing.list_all(service.store, path)
    if path and not entries:
        raise NotFound(f"No such file or directory: {path}")
    name = path.rsplit("/", 1)[-1] if path else ""
    model: dict[str, Any] = {
        "name": name,
        "path": path,
        "type": "directory",
        "writable": False,
        "created": None,
        "last_modified": max((e.modified or "" for e in entries), default="") or None,
        "size": None,
        "mimetype": None,
        "content": None,
        "format": None,
    }
    if with_content:
        children = []
        for entry in entries:
            child_path = f"{path}/{entry.name}" if path else entry.name
            if entry.is_dir:
                children.append(
                    {
                        "name": entry.name,
                        "path": child_path,
                        "type": "directory",
                        "writable": False,
                        "created": None,
                        "last_modified": None,
                        "size": None,
                        "mimetype": None,
                        "content": None,
                        "format": None,
                    }
                )
            else:
                children.append(contents_model(child_path, entry.name, entry, None, None))
        model["content"] = children
        model["format"] = "json"
    return model
