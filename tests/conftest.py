"""Shared fixtures: an isolated nbprod home per test, notebook builders, the CLI, S3."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests import file_order

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "example_notebooks"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-durations",
        action="store_true",
        help="write each test file's seconds to tests/durations.json (see tests/file_order.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("store_durations") and not file_order.distributed():
        config.pluginmanager.register(file_order.Recorder(), "nbprod-store-durations")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the longest test files first (tests/file_order.py says why)."""
    if file_order.distributed():
        file_order.longest_first(items, file_order.load())


@pytest.fixture
def nbprod_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """NBPROD_* pointed into tmp_path, for in-process calls and subprocesses alike."""
    for name in ("NBPROD_STORE", "NBPROD_KERNEL", "NBPROD_TIMEOUT", "NBPROD_CELL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in isolated_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def isolated_env(base: Path) -> dict[str, str]:
    """The NBPROD_* settings of a home under ``base`` (for fixtures wider than a test)."""
    return {
        "NBPROD_HOME": str(base / "nbprod-home"),
        "NBPROD_CONFIG": str(base / "no-config.toml"),
        "NBPROD_UPLOAD_BACKOFF": "0.05",
    }


@pytest.fixture
def store_dir(nbprod_env: dict[str, str]) -> Path:
    return Path(nbprod_env["NBPROD_HOME"]) / "store"


NotebookFactory = Callable[..., Path]
ARTIFACTS = REPO / "test-artifacts"
"""Screenshots of browser tests (gitignored; CI keeps them)."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


GLUE = """from IPython.display import display
def glue(name, value):
    mime = 'application/scrapbook.scrap.json+json'
    payload = {'name': name, 'data': value, 'encoder': 'json', 'version': 1}
    meta = {'scrapbook': {'name': name, 'data': True, 'display': False}}
    display({mime: payload}, raw=True, metadata=meta)
"""
"""Notebook code defining ``glue(name, value)``: the output scrapbook's ``sb.glue`` writes for
a JSON value, without its import (pandas, pyarrow, nbformat's schema checkers: ~3 s of CPU in
every kernel). For tests whose subject is not scrapbook; tests of scraps keep the real one."""


def write_notebook(path: Path, *cells: str, parameters: str | None = None) -> Path:
    """A python3 notebook from code strings; ``parameters`` becomes a tagged cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def make_notebook(tmp_path: Path) -> NotebookFactory:
    """Write a notebook from code strings into tmp_path/notebooks."""

    def make(*cells: str, parameters: str | None = None, name: str = "nb.ipynb") -> Path:
        return write_notebook(tmp_path / "notebooks" / name, *cells, parameters=parameters)

    return make


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole session: Playwright's sync API cannot run two at once in
    one thread (the second finds the first one's event loop running)."""
    yield from launch_chromium()


def launch_chromium() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (no `playwright install`)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def nbprod_command() -> list[str]:
    """The installed console script: tests go through the real entry point."""
    script = shutil.which("nbprod") or str(Path(sys.executable).with_name("nbprod"))
    return [script]


@pytest.fixture
def cli(nbprod_env: dict[str, str], tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    def run(
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*nbprod_command(), *args],
            env={**nbprod_env, **(env or {})},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def cli_inproc(nbprod_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess]:
    """``nbprod`` called in this process, like `cli` but without its ~1 s of imports per call.

    For commands that start no kernel and whose process-level behaviour (entry point, signals,
    exit of the interpreter) is not under test: keep one `cli` test per command group for that.
    There is no cwd: callers pass absolute paths. ``env`` is applied for the call only; a
    ``timeout`` the call overran is raised afterwards as subprocess.TimeoutExpired. An exception
    that escapes the command becomes a traceback on stderr and exit 1, as in a real process.
    """

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        return invoke_inproc(args, env=env, timeout=timeout)

    return run


def invoke_inproc(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """One ``nbprod`` command run in this process (see `cli_inproc`), with ``env`` set and the
    working directory ``cwd`` for the call only."""
    from click.testing import CliRunner

    main = _cli_main()
    argv = ["nbprod", *args]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        if cwd is not None:
            patch.chdir(cwd)
        started = time.monotonic()
        result = CliRunner().invoke(main, list(args), prog_name="nbprod")
        elapsed = time.monotonic() - started
    if elapsed > timeout:
        raise subprocess.TimeoutExpired(argv, timeout, result.stdout, result.stderr)
    stderr, code = result.stderr, result.exit_code
    if result.exc_info is not None and not issubclass(result.exc_info[0], SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
        code = 1
    return subprocess.CompletedProcess(argv, code, result.stdout, stderr)


def _cli_main() -> Any:
    """nbprod.cli.main, imported without leaving its console-script-only import trick (the
    `rfc3987_syntax` block) in this process: other tests in the worker see the library as is."""
    absent = "rfc3987_syntax" not in sys.modules
    from nbprod.cli import main

    if absent and sys.modules.get("rfc3987_syntax", ...) is None:
        del sys.modules["rfc3987_syntax"]
    return main


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Servers started by tests stop by themselves if pytest dies (Linux PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class MotoServer:
    """A real S3 server process (moto_server) on 127.0.0.1, reached over HTTP by boto3."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        exe = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
        self.proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, nbprod_env: dict[str, str]
) -> dict[str, str]:
    """AWS settings pointing boto3 at the S3 server, plus a fresh bucket URL in NBPROD_STORE."""
    env = {**S3_ENV, "AWS_ENDPOINT_URL": moto_server.endpoint}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"nbprod-test-{uuid.uuid4().hex[:12]}"
    import boto3

    boto3.client("s3").create_bucket(Bucket=bucket)
    env["NBPROD_STORE"] = f"s3://{bucket}/team/notebooks"
    monkeypatch.setenv("NBPROD_STORE", env["NBPROD_STORE"])
    return {**nbprod_env, **env}


def load_output(path: str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)
