"""JupyterLab fixtures: a real `jupyter server` / `jupyter lab` subprocess on 127.0.0.1 with a
token, its NBPROD_HOME and contents root in a temporary folder, dying with pytest; the
extension is the installed one (the wheel's shared-data), nothing is enabled by hand, except
that a labextension built in the tree under test (``nbprod/labextension``, e.g. a worktree's
``npm run build``) is found ahead of the installed copy, so the browser runs the code tested."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import (
    EXAMPLES,
    _die_with_parent,
    free_port,
    write_notebook,
)

TOKEN = "lab-test-token"


def make_root(root: Path) -> Path:
    """The contents root: the example notebooks plus small ones made for the tests."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("sales_report.ipynb", "failing_example.ipynb", "no_parameters.ipynb"):
        shutil.copy(EXAMPLES / name, root / name)
    write_notebook(
        root / "trivial.ipynb",
        "print(greeting * times)",
        parameters='greeting: str = "hi"  # what to print\ntimes: int = 2  # how often',
    )
    write_notebook(
        root / "slow.ipynb",
        "import time\nfor _ in range(seconds):\n    time.sleep(1)",
        parameters="seconds: int = 60",
    )
    write_notebook(root / "sub" / "inner.ipynb", "x = 1")
    (root / "notes.txt").write_text("not a notebook\n")
    return root


class LabServer:
    """`jupyter server` (REST tests) or `jupyter lab` (browser tests) as a subprocess."""

    def __init__(self, base: Path, app: str = "server", extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.home = base / "home"
        self.root = make_root(base / "root")
        self.app = app
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("NBPROD_", "JUPYTER_"))
        }
        self.env.update(
            {
                "NBPROD_HOME": str(self.home),
                "NBPROD_CONFIG": str(base / "no-config.toml"),
                "NBPROD_PROGRESS_SECONDS": "1",
                "NBPROD_HEARTBEAT_SECONDS": "1",
                "JUPYTER_CONFIG_DIR": str(base / "jupyter-config"),
                "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
                "JUPYTERLAB_SETTINGS_DIR": str(base / "lab-settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(base / "lab-workspaces"),
                "PYTHONDONTWRITEBYTECODE": "1",
                **(extra_env or {}),
            }
        )
        built = Path(__file__).resolve().parents[2] / "nbprod" / "labextension"
        if (built / "package.json").is_file():
            data = base / "jupyter-data" / "labextensions"
            data.mkdir(parents=True, exist_ok=True)
            if not (data / "nbprod").exists():
                (data / "nbprod").symlink_to(built, target_is_directory=True)
            self.env["JUPYTER_PATH"] = str(data.parent)
        self.proc: subprocess.Popen | None = None
        self.log = base / f"jupyter-{app}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LabServer:
        exe = shutil.which(f"jupyter-{self.app}") or str(
            Path(sys.executable).with_name(f"jupyter-{self.app}")
        )
        command = [
            exe,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.allow_root=True",
        ]
        if self.app == "lab":
            command.append("--LabApp.news_url=None")
        self.proc = subprocess.Popen(
            command,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited:\n{self.log.read_text()}")
            try:
                if self.get("/nbprod/api/info").status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"jupyter {self.app} did not start:\n{self.log.read_text()}")

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any):
        headers = dict(kwargs.pop("headers", {}) or {})
        if auth:
            headers["Authorization"] = f"token {TOKEN}"
        body = kwargs.pop("json", None)
        if body is not None:
            kwargs["data"] = json.dumps(body)
        return requests.request(method, self.base + path, headers=headers, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any):
        return self.request("POST", path, json=body if body is not None else {}, **kwargs)

    def wait_run(self, run_id: str, statuses: tuple[str, ...], timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        last: dict = {}
        while time.monotonic() < deadline:
            answer = self.get(f"/nbprod/api/runs/{run_id}")
            assert answer.status_code == 200, answer.text
            last = answer.json()
            if last["status"] in statuses:
                return last
            time.sleep(0.3)
        raise AssertionError(f"run {run_id} never reached {statuses}: {last}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer(tmp_path_factory.mktemp("lab-api")).start()
    yield server
    server.stop()
