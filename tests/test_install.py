"""The README's first command gives what the README then uses (issue 16): `jupyter lab` with
the extension, and the packages the built-in templates import."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from nbprod.templates import list_templates
from tests.conftest import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def _quick_start_extras() -> set[str]:
    readme = (REPO / "README.md").read_text()
    first = re.search(r"```bash\n(pip install [^\n]+)", readme).group(1)
    extras = re.search(r'-e "\.\[([\w,]+)\]"', first)
    return set(extras.group(1).split(",")) if extras else set()


def _resolved(extras: set[str]) -> set[str]:
    """The distributions the default install plus ``extras`` brings, nbprod's own extras
    followed (``nbprod[templates]`` inside ``examples``)."""
    project = _project()
    names, todo = _names(project["dependencies"]), list(extras)
    while todo:
        for requirement in project["optional-dependencies"][todo.pop()]:
            inner = re.fullmatch(r"nbprod\[([\w,]+)\]", requirement)
            if inner:
                todo.extend(inner.group(1).split(","))
            else:
                names |= _names([requirement])
    return names


def test_jupyterlab_is_a_runtime_dependency_and_jupyter_lab_is_installed():
    assert "jupyterlab" in _names(_project()["dependencies"])
    bindir = Path(sys.executable).parent
    assert (bindir / "jupyter-lab").exists() or shutil.which("jupyter-lab")
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert re.search(r"nbprod v[\d.]+ .*enabled.*OK", listed.stdout + listed.stderr)


def test_the_readme_first_command_installs_what_every_builtin_template_requires():
    installed = _resolved(_quick_start_extras())
    for template in list_templates():
        missing = _names(template.requires) - installed
        assert not missing, (template.name, missing)
