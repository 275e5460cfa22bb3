"""`nbprod templates list` and `nbprod new`: start a notebook from a template."""

from __future__ import annotations

import click

from nbprod.cli import common


@click.group("templates")
def templates() -> None:
    """Notebook templates for `nbprod new` (built-in and NBPROD_TEMPLATES)."""


@templates.command("list")
@common.json_option
def templates_list(as_json: bool) -> None:
    """Every template: name, where it comes from, description."""
    from nbprod.templates import list_templates

    found = list_templates(common.settings())
    if as_json:
        common.echo_json([t.to_dict(with_parameters=True) for t in found])
        return
    rows = [
        (
            t.name,
            t.source + (" (overrides built-in)" if t.overrides else ""),
            t.description,
        )
        for t in found
    ]
    common.table(("NAME", "SOURCE", "DESCRIPTION"), rows)


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
    if created.job_definition is not None:
        click.echo(f"wrote {created.job_definition} (nbprod jobs apply {created.job_definition})")
