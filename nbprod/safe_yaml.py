"""The one way user files are read: bounded reads, and the one YAML loader.

Every YAML nbprod reads from a person (job files, ``-f`` parameter files, ``-y`` texts,
grid files) goes through :func:`load`. It is PyYAML's ``SafeLoader`` (already a
dependency, a complete YAML parser, and it never builds arbitrary objects), subclassed
rather than replaced by a hand-written parser: a few overrides are all it takes to refuse
what makes YAML dangerous or surprising, and parsing itself stays PyYAML's tested code.
The subclass refuses

- aliases beyond a small bound, and aliases that expand to more than ``MAX_EXPANDED``
  nodes (billion laughs: a kilobyte that expands to 10^9 nodes when anything walks it),
- recursive aliases (``&a [*a]``: a list containing itself),
- nesting deeper than ``MAX_DEPTH`` (PyYAML's composer recurses; RecursionError),
- duplicate keys in one mapping (PyYAML silently keeps the last),
- values that are not JSON: ``!!binary``, ``!!set``, ``!!timestamp``, ``!!omap``, ``!!pairs``,

and reads numbers as YAML 1.2 does (``1e3`` is a float; ``010``, ``1:30`` and ``2024-01-01``
are strings, not 8, 90 and a date). Files are read with :func:`read_bounded`: regular files
only (never ``/dev/zero`` or a FIFO), at most a fixed number of bytes.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from nbprod.errors import BadInput

MAX_YAML_BYTES = 1024 * 1024
"""YAML/JSON files people write (job, parameters, grid): 1 MiB is far more than any needs
(and pure-Python YAML parsing of more would take seconds)."""
MAX_NOTEBOOK_BYTES = 256 * 1024 * 1024
"""Input notebooks (embedded images make them large, but not this large)."""
MAX_ALIASES = 100
MAX_EXPANDED = 100_000
"""Nodes that aliases may add in total when the document is expanded."""
MAX_DEPTH = 100


class SafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with bounds on aliases and depth, no duplicate keys, only JSON
    types and YAML 1.2 numbers (see the module docstring)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._expanded = 0
        self._depth = 0
        self._sizes: dict[int, int] = {}
        """id(node) -> its size with aliases expanded; only for finished nodes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_ALIASES} aliases", event.start_mark
                )
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None, None, f"recursive alias *{event.anchor}", event.start_mark
                )
            node = super().compose_node(parent, index)
            self._expanded += self._sizes.get(id(node), 1)
            if self._expanded > MAX_EXPANDED:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases expand to more than {MAX_EXPANDED} nodes",
                    event.start_mark,
                )
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(child), 1) for child in _children(node))
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` may be overridden on purpose
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue  # unhashable: SafeConstructor names it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _refuse(loader: SafeLoader, node: Any) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"{node.tag.rsplit(':', 1)[-1]} values are not supported", node.start_mark
    )


for _tag in ("binary", "set", "timestamp", "omap", "pairs"):
    SafeLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse)

SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in rules if not tag.endswith((":int", ":float", ":timestamp"))]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0|[1-9][0-9]*(?:_[0-9]+)*)$"),
    list("-+0123456789"),
)
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def load(
    text: str,
    source: str,
    *,
    loader: type[SafeLoader] = SafeLoader,
    error: type[BadInput] = BadInput,
) -> Any:
    """The YAML document in ``text``; ``error`` (naming ``source`` and the line) if it is
    not valid or breaks a bound."""
    if len(text) > MAX_YAML_BYTES:
        raise error(f"{source}: larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{source}: invalid YAML{at}: {reason}") from None
    except ValueError:  # an int past Python's int/str conversion limit
        raise error(
            f"{source}: an int of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    except RecursionError:  # not expected past MAX_DEPTH; never a traceback
        raise error(f"{source}: invalid YAML: nested too deeply") from None


def load_json(text: str, source: str, *, error: type[BadInput] = BadInput) -> Any:
    """A JSON document with the same refusals as YAML: no duplicate keys, bounded depth."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in items:
            if key in data:
                raise error(f"{source}: invalid JSON: duplicate key {key!r}")
            data[key] = value
        return data

    if len(text) > MAX_YAML_BYTES:
        raise error(f"{source}: larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise error(f"{source}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except ValueError:  # an int past Python's int/str conversion limit
        raise error(
            f"{source}: an int of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    except RecursionError:
        raise error(f"{source}: invalid JSON: nested too deeply") from None


def read_bounded(
    path: str | os.PathLike[str],
    what: str,
    *,
    limit: int = MAX_YAML_BYTES,
    error: type[BadInput] = BadInput,
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``error`` naming ``what``
    and the path otherwise (missing, a directory, a device or FIFO, too large)."""
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except ValueError:  # an embedded NUL byte
        raise error(f"{what} path contains a NUL byte: {str(path)!r}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{what} {path} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} {path} is not a regular file (a device, FIFO or socket)")
        if info.st_size > limit:
            raise error(f"{what} {path} is larger than {_size(limit)}")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while we read
            raise error(f"{what} {path} is larger than {_size(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_text(
    path: str | os.PathLike[str],
    what: str,
    *,
    limit: int = MAX_YAML_BYTES,
    error: type[BadInput] = BadInput,
) -> str:
    """A bounded regular file decoded as UTF-8; ``error`` if it is binary or not UTF-8."""
    data = read_bounded(path, what, limit=limit, error=error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise error(f"{what} {path} is not text (it contains NUL bytes)")
    return text


def load_file(
    path: str | os.PathLike[str],
    what: str,
    *,
    loader: type[SafeLoader] = SafeLoader,
    error: type[BadInput] = BadInput,
) -> Any:
    """A bounded YAML file (JSON when it ends in ``.json``), parsed by :func:`load`."""
    text = read_text(path, what, error=error)
    source = f"{what} {path}"
    if Path(path).suffix.lower() == ".json":
        return load_json(text, source, error=error)
    return load(text, source, loader=loader, error=error)


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
