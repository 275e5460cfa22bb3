"""The workspace opens each part on first use, once, and closes what it opened."""

from __future__ import annotations

import subprocess
import sys

from nbprod.config import Settings
from nbprod.core import Workspace


def _settings(tmp_path):
    return Settings.load({"store": str(tmp_path / "store"), "home": str(tmp_path / "home")})


def test_parts_open_once_and_close(tmp_path):
    with Workspace(_settings(tmp_path)) as ws:
        assert not ws.catalog_opened
        assert ws.store is ws.store
        catalog = ws.catalog
        assert ws.catalog is catalog and ws.catalog_opened
        assert ws.queue is ws.queue
        assert ws.store.url.startswith("file://")
    assert not ws.catalog_opened


def test_reading_the_store_does_not_import_the_database_layer(tmp_path):
    code = (
        "import sys; from nbprod.config import Settings; from nbprod.core import Workspace;"
        f"ws = Workspace(Settings.load({{'store': {str(tmp_path / 's')!r},"
        f" 'home': {str(tmp_path / 'h')!r}}})); ws.store;"
        "print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
