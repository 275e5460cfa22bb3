"""The layering of nbprod/ (faces, facade, core, domain, infrastructure): no import
cycles, and only the faces import the facade.

Imports are read with ``ast`` from every module, function-level ones included (a lazy
import is still a dependency); ``if TYPE_CHECKING:`` blocks are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nbprod"

FACADE = "nbprod.api"
FACADE_USERS = ("nbprod", "nbprod.api", "nbprod.cli", "nbprod.server")
"""Modules (and packages, with everything under them) that may import the facade."""

CORE = "nbprod.core"
CORE_USERS = (*FACADE_USERS, "nbprod.core")
"""The core is called by the faces and the facade; the domain and infrastructure under it
never reach up into it."""

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Import pairs that form a cycle another helper's branch removes, each with its owner
(the coordinator empties this at merge). None left on this branch."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The nbprod modules ``name`` imports: ``from nbprod.core import runs`` names the
    module nbprod.core.runs (not the package, which Python initialises first whoever
    imports it), ``from nbprod.store import open_store`` the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # a submodule, else a name from the module itself
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text("utf-8"), str(path)))
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as one cycle
    through it, for the message."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return [_path_through(group, edges) for group in groups]


def _path_through(group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """One cycle inside a strongly connected group: a shortest way back to its start."""
    start = min(group)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges[node] & group):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    return sorted(group)


def test_no_import_cycles_in_nbprod():
    edges = graph()
    for pair in KNOWN_CYCLES:
        a, b = sorted(pair)
        edges[a].discard(b)
    found = cycles(edges)
    assert not found, "import cycles in nbprod/:\n" + "\n".join(" -> ".join(c) for c in found)


def test_only_the_faces_import_the_facade():
    def may(name: str) -> bool:
        return any(
            name == user or (user != "nbprod" and name.startswith(user + "."))
            for user in FACADE_USERS
        )

    offenders = sorted(name for name, deps in graph().items() if FACADE in deps and not may(name))
    assert not offenders, f"modules below the facade import {FACADE}: {', '.join(offenders)}"


def test_only_the_faces_and_the_facade_import_the_core():
    def may(name: str) -> bool:
        return any(
            name == user or (user != "nbprod" and name.startswith(user + "."))
            for user in CORE_USERS
        )

    offenders = sorted(
        f"{name} imports {dep}"
        for name, deps in graph().items()
        for dep in deps
        if (dep == CORE or dep.startswith(CORE + ".")) and not may(name)
    )
    assert not offenders, "modules below the core import it:\n" + "\n".join(offenders)


def test_the_checks_see_cycles_and_function_level_imports(tmp_path):
    """The graph reads lazy imports and the cycle search finds a loop (a check that cannot
    fail would prove nothing)."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c", "a"]]
    lazy = tmp_path / "lazy.py"
    lazy.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from nbprod.records import RunRecord\n"
        "def f():\n    from nbprod.core import runs\n    import nbprod.api\n"
    )
    known = {"nbprod.core", "nbprod.core.runs", "nbprod.api", "nbprod.records"}
    assert imports_of("nbprod.lazy", lazy, known) == {"nbprod.core.runs", FACADE}
