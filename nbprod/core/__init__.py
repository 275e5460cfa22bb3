"""The core: every operation the faces (CLI, REST, browse UI, Python API) offer.

Faces parse input, call one function here and format its answer; the modules under the
core (runner, jobs, scheduler, catalog, store) never import it or the facade above it.
"""

from nbprod.core.workspace import Workspace

__all__ = ["Workspace"]
