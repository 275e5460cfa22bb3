"""The browse UI: a jupyter_server extension (``nbprod browse`` or inside JupyterLab).

Importing this package is cheap; jupyter_server loads only when the extension does.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from nbprod.server.app import BrowseApp

    return [{"module": "nbprod.server.app", "app": BrowseApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "nbprod"}]
