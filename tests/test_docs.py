"""Docs that cannot drift: every run-record field and every setting is documented."""

from __future__ import annotations

import re
from dataclasses import fields

from nbprod.config import Settings
from nbprod.records import RunRecord
from tests.conftest import REPO


def test_every_run_record_field_is_documented():
    doc = (REPO / "docs" / "run-record.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \|", doc, flags=re.M))
    assert {f.name for f in fields(RunRecord)} == documented


def test_every_setting_has_a_documented_environment_variable():
    readme = (REPO / "README.md").read_text()
    for f in fields(Settings):
        assert f"NBPROD_{f.name.upper()}" in readme, f.name


def test_readme_commands_exist():
    readme = (REPO / "README.md").read_text()
    assert 'pip install -e ".[test]" && python -m pytest' in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && python -m pytest' in ci
    assert "nbprod exec example_notebooks/sales_report.ipynb" in readme


def test_every_test_named_in_the_reliability_doc_exists():
    doc = (REPO / "docs" / "reliability.md").read_text()
    refs = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", doc)
    assert refs
    for path, name in refs:
        source = (REPO / path).read_text()
        assert not name or f"def {name}(" in source, f"{path}::{name}"


def test_the_exit_code_table_matches_the_code():
    from nbprod import errors
    from nbprod.records import EXIT_SPOOLED, RunStatus

    doc = (REPO / "docs" / "exit-codes.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \|[^|]*\| ([^|]*) \|$", doc, flags=re.M))
    for status in RunStatus:
        if status.terminal:
            assert f"`RunStatus.{status.name}`" in rows[str(status.exit_code)], status
    for name in ("BadInput", "StoreError", "CatalogError"):
        assert f"`{name}`" in rows[str(getattr(errors, name).exit_code)], name
    assert "`EXIT_SPOOLED`" in rows[str(EXIT_SPOOLED)]


def test_the_architecture_page_names_every_module_and_only_real_ones():
    doc = (REPO / "docs" / "architecture.md").read_text()
    package = REPO / "nbprod"
    for path in package.rglob("*.py"):
        relative = path.relative_to(package).as_posix()
        if path.name in ("__init__.py", "__main__.py") or "migrations/" in relative:
            continue
        placed = f"`{relative}`" in doc or f"`nbprod/{relative}`" in doc
        assert placed, f"docs/architecture.md does not place {relative}"
    named = re.findall(r"`((?:[\w]+/)*[\w]+\.py)`", doc)
    assert named
    for relative in named:
        where = REPO if relative.startswith(("tests/", "nbprod/")) else package
        assert (where / relative).is_file(), f"docs/architecture.md names {relative}"


def test_the_readme_filters_by_scraps_the_example_records():
    """`--scrap NAME...` in the README names a scrap sales_report.ipynb glues (it said
    `revenue`, which no example has: the filter matched nothing)."""
    readme = (REPO / "README.md").read_text()
    example = (REPO / "example_notebooks" / "sales_report.ipynb").read_text()
    glued = set(re.findall(r'glue\(\\"(\w+)', example))
    named = re.findall(r"--scrap '(\w+)", readme)
    assert named and glued
    assert set(named) <= glued, (named, glued)


def test_the_readme_python_example_prints_the_status_value():
    """`print(run.status, ...)` in the README shows `succeeded`, not `RunStatus.SUCCEEDED`."""
    from nbprod.records import RunStatus

    assert "print(run.status," in (REPO / "README.md").read_text()
    assert str(RunStatus.SUCCEEDED) == f"{RunStatus.SUCCEEDED}" == "succeeded"
    assert f"{RunStatus.TIMED_OUT:<11}|" == "timed_out  |"
    assert RunStatus("failed") is RunStatus.FAILED and RunStatus.FAILED == "failed"


def test_the_readme_names_only_files_of_the_repository():
    """Every `path` or (link) in the README to a file resolves inside the checkout (the
    Development section pointed at ../shared/DESIGN.md, outside it)."""
    readme = (REPO / "README.md").read_text()
    assert "../" not in readme
    named = re.findall(r"\]\(((?:docs|specification|benchmarks)/[\w./-]+?)(?:#[\w-]+)?\)", readme)
    named += re.findall(r"`((?:docs|tests|benchmarks)/[\w/.-]+\.(?:md|py))`", readme)
    assert len(named) > 10
    for path in named:
        assert (REPO / path).exists(), path
    assert "## Troubleshooting" in readme and "about 10 minutes on 2 cores" in readme
