"""Notebook templates: list them, and start a new notebook (and job definition) from one.

Built-in templates live in the repository's ``templates/`` folder; the wheel carries them
as ``nbprod/_templates`` (hatch ``force-include``). A user's own folder
(``NBPROD_TEMPLATES`` / ``templates`` in the config file) adds templates and overrides
built-in ones of the same name. A template is any ``.ipynb`` file there (names starting with
``_`` or ``.`` are skipped); its name, description and required packages come from
``metadata.nbprod.template`` (``{"name", "description", "requires"}``), else the file stem.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbprod.config import Settings
from nbprod.errors import BadInput, NotebookError

BUILTIN = "built-in"
USER = "user"
JOB_SUFFIX = ".job.yaml"


def builtin_dir() -> Path:
    """The built-in templates: packaged next to this module, else the source checkout's."""
    packaged = Path(__file__).resolve().parent / "_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


@dataclass
class Template:
    name: str
    description: str
    path: Path
    source: str
    """``built-in`` or ``user``."""
    requires: list[str] = field(default_factory=list)
    overrides: bool = False
    """A user template that hides a built-in one of the same name."""

    def missing(self) -> list[str]:
        """The ``requires`` entries not installed in this Python (the default ``python3``
        kernel's): a run of the new notebook would fail on their import."""
        return [r for r in self.requires if not _installed(r)]

    def install_hint(self) -> str:
        """What to run so that the template's notebook runs here ('' when it is ready)."""
        missing = self.missing()
        if not missing:
            return ""
        if self.source == BUILTIN:
            return 'pip install "nbprod[templates]"'
        import shlex

        return "pip install " + " ".join(shlex.quote(r) for r in missing)

    def to_dict(self, *, with_parameters: bool = False) -> dict[str, Any]:
        missing = self.missing()
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "path": str(self.path),
            "requires": list(self.requires),
            "missing": missing,
            "ready": not missing,
            "install": self.install_hint(),
            "overrides": self.overrides,
        }
        if with_parameters:
            data["parameters"] = self.schema().to_dict()["parameters"]
        return data

    def notebook(self) -> Any:
        from nbprod.runner import load_notebook

        return load_notebook(self.path)[2]

    def schema(self) -> Any:
        from nbprod.params import infer_schema

        return infer_schema(self.notebook())


def _installed(requirement: str) -> bool:
    """Whether the distribution a requirement names (``pandas``, ``scikit-learn>=1.3``) is
    installed; distribution names, not import names (``scikit-learn`` imports ``sklearn``)."""
    from importlib import metadata

    name = re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0]
    if not name:
        return True
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _read_template(path: Path, source: str) -> Template:
    from nbprod.safe_yaml import MAX_NOTEBOOK_BYTES, read_text

    try:
        data = json.loads(read_text(path, "template", limit=MAX_NOTEBOOK_BYTES))
        meta = ((data.get("metadata") or {}).get("nbprod") or {}).get("template") or {}
    except (BadInput, ValueError, AttributeError, RecursionError):  # bounded, like notebooks
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    requires = meta.get("requires") if isinstance(meta.get("requires"), list) else []
    return Template(
        name=name or path.stem,
        description=str(meta.get("description") or ""),
        path=path,
        source=source,
        requires=[str(r) for r in requires],
    )


def _scan(folder: Path, source: str) -> list[Template]:
    found = [
        _read_template(path, source)
        for path in sorted(folder.glob("*.ipynb"))
        if path.is_file() and not path.name.startswith(("_", "."))
    ]
    return found


def user_dir(settings: Settings) -> Path | None:
    return Path(settings.templates).expanduser() if settings.templates else None


def list_templates(settings: Settings | None = None) -> list[Template]:
    """Built-in templates plus the user's folder (user templates win by name), by name.

    A configured user folder that does not exist is bad input (BadInput), not ignored.
    """
    settings = settings or Settings.load()
    by_name = {t.name: t for t in _scan(builtin_dir(), BUILTIN)}
    folder = user_dir(settings)
    if folder is not None:
        if not folder.is_dir():
            raise BadInput(f"templates folder not found: {folder} (NBPROD_TEMPLATES)")
        for template in _scan(folder, USER):
            template.overrides = by_name.get(template.name, template).source == BUILTIN
            by_name[template.name] = template
    return [by_name[name] for name in sorted(by_name)]


def get_template(name: str, settings: Settings | None = None) -> Template:
    templates = {t.name: t for t in list_templates(settings)}
    if name in templates:
        return templates[name]
    close = difflib.get_close_matches(name, list(templates), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise BadInput(f"unknown template {name!r} (known: {', '.join(templates)}){hint}")


@dataclass
class NewNotebook:
    notebook: Path
    template: Template
    job_definition: Path | None = None


def new_notebook(
    path: str | os.PathLike[str],
    template: str,
    *,
    settings: Settings | None = None,
    job: bool = False,
) -> NewNotebook:
    """Write a new notebook from ``template`` at ``path``; with ``job`` also a job YAML.

    Never overwrites: if the notebook (or, with ``job``, the YAML) exists, nothing is
    written and BadInput is raised.
    """
    import nbformat

    from nbprod.store import layout

    target = Path(path).expanduser()
    if target.suffix != ".ipynb":
        raise BadInput(f"the new notebook's name must end in .ipynb, got {str(path)!r}")
    layout.check_file_name(target.name)
    chosen = get_template(template, settings)
    job_path = target.with_name(target.stem + JOB_SUFFIX) if job else None
    for existing in (target, job_path):
        if existing is not None and existing.exists():
            raise BadInput(f"{existing} already exists; not overwriting it")
    nb = chosen.notebook()
    meta = dict(nb.metadata.get("nbprod") or {})
    meta.pop("template", None)
    meta["created_from_template"] = chosen.name
    nb.metadata["nbprod"] = meta
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    job_text = job_definition_text(chosen, target, nb) if job_path else None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("x", encoding="utf-8", newline="\n") as fh:
            nbformat.write(nb, fh)
    except FileExistsError:
        raise BadInput(f"{target} already exists; not overwriting it") from None
    if job_path is not None and job_text is not None:
        try:
            with job_path.open("x", encoding="utf-8", newline="\n") as fh:
                fh.write(job_text)
        except FileExistsError:
            target.unlink()
            raise BadInput(f"{job_path} already exists; not overwriting it") from None
    return NewNotebook(target, chosen, job_path)


def job_definition_text(template: Template, notebook: Path, nb: Any) -> str:
    """A job definition for ``notebook`` that ``nbprod jobs apply`` accepts as it is:
    the parameters' defaults, and the scheduling fields as commented examples."""
    from nbprod.params import infer_schema
    from nbprod.store import layout

    schema = infer_schema(nb)
    name = layout.job_name_from_stem(notebook.stem)
    lines = [
        f"# Job definition for {notebook.name} (from template {template.name!r}).",
        f"# Create or update the job:  nbprod jobs apply {notebook.stem}{JOB_SUFFIX}",
        f"name: {name}",
        f"description: {_yaml_value(template.description)}",
        f"notebook: {_yaml_value(notebook.name)}  # relative to this file",
    ]
    entries = []
    for param in schema.parameters:
        help_text = f"  # {param.help}" if param.help else ""
        if param.literal_default:
            entries.append(f"  {param.name}: {_yaml_value(param.default)}{help_text}")
        elif param.required:
            entries.append(f"  # {param.name}: VALUE  # required ({param.type}){help_text}")
        else:
            entries.append(
                f"  # {param.name}: VALUE  # default in the notebook: {param.default_source}"
            )
    if entries:
        lines.append("parameters:  # the notebook's defaults; every value is type-checked")
        lines.extend(entries)
    else:
        lines.append("parameters: {}")
    lines += [
        "# Uncomment to run on a schedule (`nbprod scheduler` fires it):",
        '# schedule: "0 7 * * *"  # cron (m h dom mon dow) or @hourly, @daily, @weekly, ...',
        "# timezone: Europe/Berlin",
        "# timeout: 30m",
        "# retries: 1",
        "# retry_delay: 5m",
        "# notifications:",
        "#   on_failure:",
        "#     - {type: webhook, url: https://hooks.example.com/nbprod}",
        f"tags: [{_yaml_value(template.name)}]",
        "",
    ]
    return "\n".join(lines)


def _yaml_value(value: Any) -> str:
    """A YAML flow value that ``yaml.safe_load`` reads back as exactly ``value``.

    JSON is almost YAML, except for floats such as ``1e-05`` (YAML 1.1 needs a dot in the
    mantissa) and non-finite floats.
    """
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(str(k))}: {_yaml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise NotebookError(f"cannot write the default {value!r} as YAML")
