"""Pipeline operations for every face: apply, list, show; run, show a run, rerun from a
step (docs/pipelines.md).

Every function takes the :class:`~nbprod.core.workspace.Workspace` first and raises typed
errors (``BadInput`` for a bad definition or override, ``NotFound`` for an unknown
pipeline or run), so the faces only parse input and format the answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from nbprod.core.workspace import Workspace
from nbprod.pipelines.model import PipelineVersion
from nbprod.pipelines.versions import ApplyResult


def apply_pipeline(ws: Workspace, path: str | os.PathLike[str]) -> ApplyResult:
    """Validate a YAML definition (graph, references, every step against its notebook)
    and store it as a new version if anything changed."""
    from nbprod.pipelines import versions
    from nbprod.pipelines.definition import check_against_notebooks, load_definition

    definition = load_definition(path)
    checked = check_against_notebooks(definition, source=str(path))
    return versions.apply(definition, ws.store, checked)


@dataclass
class PipelineView:
    """A pipeline as the faces list it: its latest version and its newest run."""

    name: str
    version: PipelineVersion
    versions: list[PipelineVersion] = field(default_factory=list)
    last_run: Any = None
    """The newest PipelineRun, or None."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version.version,
            "definition": self.version.definition.to_dict(),
            "pinned": self.version.to_dict()["pinned"],
            "versions": [
                {"version": v.version, "created_at": v.created_at, "changes": v.changes}
                for v in self.versions
            ],
            "last_run": self.last_run.to_dict() if self.last_run is not None else None,
        }


def list_pipelines(ws: Workspace) -> list[PipelineView]:
    """Every pipeline in the store, by name, with its latest version."""
    from nbprod.pipelines.versions import pipeline_names, store_versions

    views = []
    for name in pipeline_names(ws.store):
        versions = store_versions(ws.store, name)
        if versions:
            views.append(PipelineView(name, versions[-1], versions, _last_run(ws, name)))
    return views


def show_pipeline(ws: Workspace, name: str) -> PipelineView:
    """A pipeline with every version; PipelineNotFound (a NotFound) for an unknown one."""
    from nbprod.pipelines.versions import get_version, store_versions

    latest = get_version(ws.store, name)
    return PipelineView(name, latest, store_versions(ws.store, name), _last_run(ws, name))


def _last_run(ws: Workspace, name: str) -> Any:
    return None
