"""The ``world`` of the daemon tests: one home, its CLI and daemons, cleaned up after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.scheduler.test_daemons import Env


@pytest.fixture
def world(nbprod_env: dict[str, str], tmp_path: Path, make_notebook: Callable) -> Iterator[Env]:
    env = Env(nbprod_env, tmp_path, make_notebook)
    try:
        yield env
    finally:
        env.cleanup()
