"""Browse UI fixtures: a store populated once per session (a few real runs, made through the
API in this process, plus synthetic records), and `nbprod browse` servers as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests

from tests.conftest import (
    EXAMPLES,
    _die_with_parent,
    free_port,
    invoke_inproc,
    nbprod_command,
)

XSS_JOB = "<script>window.__pwned=1</script>"
XSS_PARAM = '<img src=x onerror="window.__pwned=1">'
XSS_OUTPUT = (
    "<b id='nb-output'>notebook html output</b><script>window.__pwned = 1;"
    "try { window.top.__pwned = 1; document.title = 'top reached'; }"
    " catch (e) { document.title = 'blocked: ' + e.name; }</script>"
)
CHART_JOB = "metrics-job"
CHART_RUNS = 30


def _env(home: Path, store: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBPROD_", "JUPYTER_"))}
    env.update(
        {
            "NBPROD_HOME": str(home),
            "NBPROD_STORE": store,
            "NBPROD_CONFIG": str(home / "no-config.toml"),
            "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
            "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra or {})
    return env


def settings_for(home: Path, store: str) -> Any:
    from nbprod.config import Settings

    return Settings.load(
        {"home": str(home), "store": store}, environ={"NBPROD_CONFIG": str(home / "none.toml")}
    )


def synth_record(job: str, index: int, store_url: str, **overrides: Any) -> Any:
    from nbprod.records import (
        ErrorInfo,
        NotebookInfo,
        Progress,
        RunRecord,
        RunStatus,
        isoformat,
        new_run_id,
    )

    moment = datetime(2026, 10, 1, 6, 0, tzinfo=timezone.utc) + timedelta(hours=index)
    run_id = new_run_id(moment)
    failed = index % 7 == 3
    record = RunRecord(
        run_id=run_id,
        job=job,
        status=RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
        notebook=NotebookInfo(path=f"/nb/{job}.ipynb", name="report.ipynb", sha256="0" * 64),
        kernel="python3",
        store=store_url,
        created_at=isoformat(moment),
        started_at=isoformat(moment),
        finished_at=isoformat(moment + timedelta(seconds=4)),
        duration_s=4.0 + index % 3,
        parameters={"region": ["eu", "us"][index % 2], "days": index},
        parameters_given=["region", "days"],
        scraps={
            "revenue": {"encoder": "json", "inline": True, "value": 1000.0 + 10 * index},
            "accuracy": {"encoder": "json", "inline": True, "value": 0.8 + index / 1000},
        },
        error=ErrorInfo("KeyError", f"'col{index}'", 2) if failed else None,
        progress=Progress(cells_total=5, cells_done=5 if not failed else 3),
        artifacts={"record": f"{job}/{run_id}/run.json"},
    )
    for key, value in overrides.items():
        setattr(record, key, value)
    return record


def publish(
    home: Path, store_url: str, records: list[Any], *, to_store: bool = True, catalog: bool = True
) -> None:
    """Write records to the store and/or index them in the catalog."""
    from nbprod.catalog import open_catalog
    from nbprod.store import layout, open_store

    settings = settings_for(home, store_url)
    store = open_store(store_url)
    if to_store:
        for record in records:
            store.put(layout.record_key(record.job, record.run_id), record.to_json().encode())
    if catalog:
        index = open_catalog(settings)
        try:
            index.index_runs(store.url, records)
        finally:
            index.close()


@dataclass
class Populated:
    home: Path
    store: Path
    env: dict[str, str]
    runs: dict[str, str] = field(default_factory=dict)
    """name → run id: sales_eu, sales_us, failing, xss."""
    failing_cell: int = -1

    def record(self, name: str) -> dict[str, Any]:
        run_id = self.runs[name]
        for path in self.store.glob(f"*/{run_id}/run.json"):
            return json.loads(path.read_text())
        raise KeyError(name)


def _exec(env: dict[str, str], cwd: Path, *runs: tuple[Path, ...]) -> list[str]:
    """The run ids of real runs started together, as `nbprod exec` makes them (each:
    notebook, *args with ``-p NAME VALUE`` pairs), but through the API in threads of this
    process: the fixtures need stored runs to browse, not an interpreter start and an import
    of nbprod per run (~1.5 s of CPU each). The kernels start with ``env`` as the CLI's."""
    from concurrent.futures import ThreadPoolExecutor

    from nbprod import api
    from nbprod.runner import prepare

    settings = settings_for(Path(env["NBPROD_HOME"]), env["NBPROD_STORE"])

    def one(notebook: Path, *args: str) -> str:
        assert all(args[i] == "-p" for i in range(0, len(args), 3)), args
        pairs = [(args[i + 1], args[i + 2]) for i in range(0, len(args), 3)]
        request = prepare(notebook, settings=settings, cli_parameters=pairs)
        run = api.run(request, handle_signals=False)
        assert run.status.value in ("succeeded", "failed"), run.record.error
        return run.record.run_id

    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith(("NBPROD_", "JUPYTER_"))]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(cwd)
        with ThreadPoolExecutor(len(runs)) as pool:
            return list(pool.map(lambda run: one(*run), runs))


@pytest.fixture(scope="session")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Populated:
    """The populated store and home (see `_build_populated`), this worker's own copy.

    The real runs are executed once per test session, not once per xdist worker: the first
    worker to get here builds them under a file lock in the session's shared tmp folder, the
    others wait and copy. Each worker's copy is its own (the UI tests publish into it, the
    server writes its render cache there), as when every worker built its own."""
    template = _populated_template(tmp_path_factory)
    root = tmp_path_factory.mktemp("browse")
    return _copy_populated(template, root)


def _populated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the session's one build: built here unless another worker did."""
    import fcntl
    import shutil

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    template = shared / "browse-populated"
    with open(shared / "browse-populated.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (template / "populated.json").is_file():
            shutil.rmtree(template, ignore_errors=True)  # a build that failed half-way
            template.mkdir()
            data = _build_populated(template)
            ready = {"runs": data.runs, "failing_cell": data.failing_cell}
            (template / "populated.json").write_text(json.dumps(ready))
    return template


def _copy_populated(template: Path, root: Path) -> Populated:
    """A copy of the template under ``root``, with the template's absolute paths (the store
    URL in run records and in every catalog row) made the copy's."""
    import shutil
    import sqlite3

    shutil.copytree(template, root, dirs_exist_ok=True)
    old, new = str(template), str(root)
    for path in root.rglob("*"):
        if not path.is_file() or path.name.startswith("catalog.db"):
            continue
        data = path.read_bytes()
        if old.encode() in data:
            path.write_bytes(data.replace(old.encode(), new.encode()))
    catalog = sqlite3.connect(root / "home" / "catalog.db")
    try:
        tables = [
            r[0] for r in catalog.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            for column in [r[1] for r in catalog.execute(f'PRAGMA table_info("{table}")')]:
                catalog.execute(
                    f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?)'
                    f' WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                    (old, new, old),
                )
        catalog.commit()
    finally:
        catalog.close()
    ready = json.loads((root / "populated.json").read_text())
    home = root / "home"
    data = Populated(home=home, store=home / "store", env=_env(home, str(home / "store")))
    data.runs, data.failing_cell = ready["runs"], ready["failing_cell"]
    return data


def _build_populated(root: Path) -> Populated:
    """Four real runs (two sales reports, a failing run, a notebook with <script> output),
    a defined job with a schedule, 30 synthetic runs with numeric scraps, and an XSS job."""
    home = root / "home"
    store = home / "store"
    env = _env(home, str(store))
    data = Populated(home=home, store=store, env=env)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# XSS probe\n\n<script>window.__pwned = 1</script>"),
        nbformat.v4.new_code_cell(
            f"from IPython.display import HTML, display\ndisplay(HTML({XSS_OUTPUT!r}))"
        ),
    ]
    xss_path = root / "xss_probe.ipynb"
    nbformat.write(nb, xss_path)
    sales = EXAMPLES / "sales_report.ipynb"
    # three at once, then the second sales report: its previous run must be the first
    first = (sales, "-p", "region", "eu"), (EXAMPLES / "failing_example.ipynb",), (xss_path,)
    data.runs["sales_eu"], data.runs["failing"], data.runs["xss"] = _exec(env, root, *first)
    (data.runs["sales_us"],) = _exec(env, root, (sales, "-p", "region", "us", "-p", "days", "30"))

    job_yaml = root / "daily.yaml"
    job_yaml.write_text(
        "name: daily-sales\n"
        f"notebook: {EXAMPLES / 'sales_report.ipynb'}\n"
        "description: Daily revenue report\n"
        "parameters: {region: eu, days: 7}\n"
        'schedule: "0 7 * * *"\n'
        "timezone: Europe/Berlin\n"
        "tags: [sales]\n"
    )
    done = invoke_inproc(["jobs", "apply", str(job_yaml)], env=env, cwd=root)
    assert done.returncode == 0, done.stderr

    url = f"file://{store}"
    publish(home, url, [synth_record(CHART_JOB, i, url) for i in range(CHART_RUNS)])
    xss = synth_record(XSS_JOB, 0, url, parameters={"region": XSS_PARAM})
    publish(home, url, [xss], to_store=False)  # an unsafe job name never reaches the store

    failing = data.record("failing")
    data.failing_cell = failing["error"]["cell_index"]
    extra = store / "extras"
    extra.mkdir()
    (extra / "notes.md").write_text("# Notes\n\n**bold** <script>window.__pwned=1</script>\n")
    (extra / "table.csv").write_text("region,revenue\neu,100\nus,<b>200</b>\n")
    (extra / "data.json").write_text('{"b": 1, "a": [1, 2]}')
    (extra / "job.log").write_text("line one\n<script>x</script>\n")
    (extra / "page.html").write_text("<h1>stored page</h1><script>window.__pwned=1</script>")
    (extra / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (extra / "pixel.png").write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
        )
    )
    (home / "secret.txt").write_text("TOP SECRET outside the store\n")
    return data


class BrowseServer:
    """`nbprod browse` as a real subprocess on 127.0.0.1 (dies with pytest)."""

    def __init__(self, env: dict[str, str], *args: str, token: str | None = "test-token") -> None:
        self.port = free_port()
        self.token = token
        self.env = env
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []
        self.url: str | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> BrowseServer:
        command = [*nbprod_command(), "browse", "--port", str(self.port), *self.args]
        if self.token:
            command += ["--token", self.token]
        self.proc = subprocess.Popen(
            command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent,
        )
        found = threading.Event()

        def read() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self.output.append(line)
                match = re.search(r"nbprod browse: open (\S+)", line)
                if match:
                    self.url = match.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nbprod browse did not start:\n" + "".join(self.output))
        return self

    def get(self, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        params = dict(kwargs.pop("params", {}) or {})
        if auth and self.token:
            params["token"] = self.token
        kwargs.setdefault("allow_redirects", False)
        return requests.get(self.base + path, params=params, timeout=60, **kwargs)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def server(populated: Populated) -> Iterator[BrowseServer]:
    browse = BrowseServer(populated.env).start()
    yield browse
    browse.stop()


@pytest.fixture
def page(browser: Any, server: BrowseServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(server.url)  # the token URL logs the browser in (cookie)
    yield tab
    context.close()
