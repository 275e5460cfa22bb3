"""`nbprod templates list` and `nbprod new`: start a notebook from a template."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from nbprod.cli import common

if TYPE_CHECKING:
    from nbprod.templates import Template


@click.group("templates")
def templates() -> None:
    """Notebook templates for `nbprod new` (built-in and NBPROD_TEMPLATES)."""


@templates.command("list")
@common.json_option
def templates_list(as_json: bool) -> None:
    """Every template: name, where it comes from, whether it runs here, description."""
    from nbprod.templates import list_templates

    found = list_templates(common.settings())
    if as_json:
        common.echo_json([t.to_dict(with_parameters=True) for t in found])
        return
    rows = [
        (
            t.name,
            t.source + (" (overrides built-in)" if t.overrides else ""),
            _readiness(t),
            t.description,
        )
        for t in found
    ]
    common.table(("NAME", "SOURCE", "READY", "DESCRIPTION"), rows)
    hints = sorted({t.install_hint() for t in found} - {""})
    if hints:
        click.echo(f"not ready: {'; '.join(hints)}")


def _readiness(template: Template) -> str:
    missing = template.missing()
    return f"no: needs {', '.join(missing)}" if missing else "yes"


@click.command("new")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "-t",
    "--template",
    default="basic",
    show_default=True,
    help="Template name (`nbprod templates list`).",
)
@click.option(
    "--job",
    is_flag=True,
    help="Also write NAME.job.yaml next to it: a job definition for `nbprod jobs apply`.",
)
def new(notebook: str, template: str, job: bool) -> None:
    """Create NOTEBOOK (.ipynb) from a template; never overwrites an existing file."""
    from nbprod.templates import new_notebook

    created = new_notebook(notebook, template, settings=common.settings(), job=job)
    click.echo(f"wrote {created.notebook} (template {created.template.name})")
    missing = created.template.missing()
    if missing:
        click.echo(
            f"note: it imports {', '.join(missing)}, not installed here; before running it: "
            f"{created.template.install_hint()}",
            err=True,
        )
    if created.job_definition is not None:
        click.echo(f"wrote {created.job_definition} (nbprod jobs apply {created.job_definition})")
