"""All SQL lives in nbprod/catalog/: no other module imports SQLAlchemy, Alembic or the
catalog's tables, neither at module level nor inside a function (found with ``ast``, so a
lazy import counts)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "nbprod"
DATABASE_LIBRARIES = ("sqlalchemy", "alembic")
TABLES = "nbprod.catalog.schema"
"""The tables: a module that imports them writes SQL with them."""


def database_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a database library, or of the catalog's tables,
    anywhere in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name.split(".")[0] in DATABASE_LIBRARIES or name == TABLES:
                found.append((node.lineno, name))
    return sorted(found)


def test_no_module_outside_the_catalog_imports_sqlalchemy():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if relative.startswith("nbprod/catalog/"):
            continue
        for line, name in database_imports(path.read_text("utf-8")):
            offenders.append(f"{relative}:{line} imports {name}")
    assert not offenders, "SQL outside nbprod/catalog/:\n" + "\n".join(offenders)


def test_the_check_finds_lazy_and_from_imports():
    source = (
        "import os\n"
        "def previous():\n"
        "    import sqlalchemy as sa\n"
        "    from sqlalchemy.exc import DBAPIError\n"
        "    from nbprod.catalog import sqlalchemy_free\n"
        "    from nbprod.catalog.schema import runs\n"
        "class M:\n"
        "    def up(self):\n"
        "        from alembic import op\n"
    )
    assert database_imports(source) == [
        (3, "sqlalchemy"),
        (4, "sqlalchemy.exc"),
        (6, "nbprod.catalog.schema"),
        (9, "alembic"),
    ]
