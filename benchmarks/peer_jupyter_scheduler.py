"""Peer benchmark: jupyter-scheduler executing N trivial notebook jobs submitted at once.

Usage::

    python benchmarks/peer_jupyter_scheduler.py [--count 20] [--venv DIR] [--keep]

jupyter-scheduler (the ``jupyter_scheduler`` JupyterLab extension from PyPI) is installed once
into its own virtualenv (default ``~/.cache/nbprod-bench/jupyter-scheduler``, with ipykernel so
the jobs' ``python3`` kernel is that venv's python); nbprod's environment is never touched. A
``jupyter server`` from that venv runs with the extension on 127.0.0.1, a token, a temporary
root dir and its own HOME/JUPYTER_* dirs. ``count`` jobs are POSTed to /scheduler/jobs at once
and the job list is polled every 0.1 s until every job is terminal; the time printed is from
the first submission to the last completion observed (so its resolution is about 0.1 s plus one
request). The server's own records (first create_time to last end_time, in ms) are printed too.

jupyter-scheduler's default Scheduler has no pool and no concurrency limit: every job is a new
``multiprocessing`` *spawn* process (re-importing nbconvert, SQLAlchemy, ...) that starts its
own kernel, so N jobs submitted at once run N-wide. Only the standard library and nbformat are
used here, so this runs from nbprod's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat

DEFAULT_VENV = Path("~/.cache/nbprod-bench/jupyter-scheduler").expanduser()
PACKAGES = ("jupyter_scheduler", "ipykernel")
POLL_INTERVAL = 0.1


def _finished(job: dict) -> bool:
    """COMPLETED or FAILED, or STOPPED after it started.

    A new job row reads STOPPED (the ORM column's default) until its process has started and
    set IN_PROGRESS, one to several seconds later, so STOPPED alone does not mean finished.
    """
    status = job["status"]
    if status in ("COMPLETED", "FAILED"):
        return True
    return status == "STOPPED" and bool(job.get("start_time"))


# Runs the server as its child, as a child subreaper: whatever the server spawns (job processes,
# kernels in their own sessions) stays in its tree even when orphaned, and is killed when the
# benchmark closes stdin, exits or dies (PR_SET_PDEATHSIG), so nothing outlives a crash. It
# exits when the server does, so an early server exit is seen at once. Its last log line is the
# CPU time of the whole reaped tree (server, job processes, kernels): a load-independent figure.
_SUPERVISOR = r"""
import ctypes, os, signal, subprocess, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1)                 # PR_SET_CHILD_SUBREAPER
libc.prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
def _stop(*_):
    raise SystemExit(0)
signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGINT, _stop)
def descendants():
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [os.getpid()]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found
def signal_all(sig):
    for pid in descendants():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
def reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return
def watch_stdin():
    sys.stdin.read()
    os.kill(os.getpid(), signal.SIGTERM)
try:
    server = subprocess.Popen(sys.argv[2:], start_new_session=True)
    threading.Thread(target=watch_stdin, daemon=True).start()
    server.wait()
finally:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reap()
        if not descendants():
            break
        time.sleep(0.1)
    signal_all(signal.SIGKILL)
    time.sleep(0.2)
    reap()
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"nbprod-bench-cpu-seconds {usage.ru_utime + usage.ru_stime:.2f}", flush=True)
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """An environment without nbprod's PYTHONPATH, venv, Jupyter or user settings."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
    proxies = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    env = {key: os.environ[key] for key in keep + proxies if key in os.environ}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def _venv_version(venv: Path) -> str | None:
    """The venv's jupyter_scheduler version if the venv can run the benchmark, else None."""
    python = venv / "bin" / "python"
    if not python.exists() or not (venv / "bin" / "jupyter-server").exists():
        return None
    probe = (
        "import ipykernel, jupyter_server, jupyter_scheduler; print(jupyter_scheduler.__version__)"
    )
    result = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        text=True,
        env=_clean_env(HOME=str(venv)),
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def installed_version(venv: Path) -> str:
    """jupyter_scheduler's version from the venv's metadata (no interpreter start)."""
    for info in Path(venv).glob("lib/python*/site-packages/jupyter_scheduler-*.dist-info"):
        return info.name[len("jupyter_scheduler-") : -len(".dist-info")]
    return "unknown"


def ensure_venv(cache_dir: Path = DEFAULT_VENV) -> Path:
    """Create (once) the virtualenv with jupyter_scheduler and ipykernel; reuse it if it works."""
    venv = Path(cache_dir).expanduser().absolute()
    version = _venv_version(venv)
    if version:
        print(f"reusing {venv} (jupyter_scheduler {version})")
        return venv
    if venv.exists():
        if not (venv / "pyvenv.cfg").exists():
            raise SystemExit(f"{venv} exists and is not a virtualenv: not touching it")
        print(f"{venv} is incomplete or broken: recreating it")
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"creating virtualenv {venv} with {sys.executable}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_clean_env())
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *PACKAGES]
    print(f"installing into it: {' '.join(command[1:])} (a few minutes the first time)")
    pip_settings = {key: value for key, value in os.environ.items() if key.startswith("PIP_")}
    env = _clean_env(HOME=os.environ.get("HOME", str(venv)), VIRTUAL_ENV=str(venv))
    subprocess.run(command, check=True, env={**pip_settings, **env})
    version = _venv_version(venv)
    if not version:
        raise SystemExit(f"{venv}: jupyter_scheduler, ipykernel or jupyter-server is not usable")
    print(f"installed jupyter_scheduler {version}")
    return venv


def write_trivial_notebook(path: Path) -> Path:
    """The workload: a parameters-tagged ``x = 1`` cell, then ``print(x)``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(x)")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Client:
    """Token-authenticated JSON calls to the server (urllib, no requests)."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=self.headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:2000]
            raise RuntimeError(f"{method} {path}: HTTP {error.code}: {detail}") from None


def _wait_ready(client: _Client, supervisor: subprocess.Popen, log: Path, timeout: float) -> list:
    """Wait until the scheduler extension answers; returns its runtime environments."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise RuntimeError(f"jupyter server exited early:\n{_tail(log)}")
        try:
            return client.call("GET", "/scheduler/runtime_environments", timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
        except RuntimeError as error:
            if "HTTP 404" in str(error):
                raise RuntimeError(f"jupyter_scheduler is not loaded:\n{_tail(log)}") from None
            raise
    raise RuntimeError(f"jupyter server not ready after {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def time_jobs(
    venv: Path,
    notebook: Path,
    count: int,
    workdir: Path,
    ready_timeout: float = 120,
    timeout: float = 900,
) -> float:
    """Seconds from the first of ``count`` job submissions to the last completion observed.

    ``workdir`` holds the server's root dir (``root``), HOME, Jupyter dirs and ``server.log``;
    the notebook is copied into ``root`` unless it is already there. Raises if a job does not
    end COMPLETED.
    """
    workdir = Path(workdir).absolute()
    root, home = workdir / "root", workdir / "home"
    jupyter = workdir / "jupyter"
    for folder in (root, home, jupyter / "config", jupyter / "data", jupyter / "runtime"):
        folder.mkdir(parents=True, exist_ok=True)
    notebook = Path(notebook).absolute()
    if notebook.parent != root:
        shutil.copy(notebook, root / notebook.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = _clean_env(
        HOME=str(home),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        VIRTUAL_ENV=str(venv),
        JUPYTER_TOKEN=token,
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_DATA_DIR=str(jupyter / "data"),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        IPYTHONDIR=str(home / ".ipython"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    server = [
        str(venv / "bin" / "jupyter-server"),
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions=jupyter_scheduler=True",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    log = workdir / "server.log"
    with open(log, "wb") as log_file:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", _SUPERVISOR, str(os.getpid()), *server],
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=env,
        )
    try:
        client = _Client(port, token)
        environments = _wait_ready(client, supervisor, log, ready_timeout)
        # What the UI offers: the server's own python (basename of sys.executable) without conda.
        names = [item["name"] for item in environments]
        environment = names[0] if names else "python3"
        payload = {
            "input_uri": notebook.name,
            "runtime_environment_name": environment,
            "output_formats": ["ipynb"],
            "parameters": {},
            "compute_type": None,
            "idempotency_token": None,
            "tags": [],
        }

        def submit(index: int) -> str:
            body = {**payload, "name": f"bench-{index}"}
            return client.call("POST", "/scheduler/jobs", body, timeout=300)["job_id"]

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            job_ids = list(pool.map(submit, range(count)))
        submitted = time.perf_counter() - start
        pending = set(job_ids)
        while pending:
            # One list call per cycle (what the JupyterLab UI polls), not one GET per job, so
            # the benchmark adds the same small load whatever the count.
            listed = client.call("GET", f"/scheduler/jobs?max_items={count + 100}", timeout=60)
            for job in listed["jobs"]:
                if job["job_id"] in pending and _finished(job):
                    pending.discard(job["job_id"])
            if pending:
                if supervisor.poll() is not None:
                    raise RuntimeError(f"jupyter server died:\n{_tail(log)}")
                if time.perf_counter() - start > timeout:
                    states = sorted(
                        f"{job['job_id']}: {job['status']}"
                        for job in listed["jobs"]
                        if job["job_id"] in pending
                    )
                    raise RuntimeError(
                        f"{len(pending)} jobs unfinished after {timeout:.0f} s: {states}\n"
                        f"{_tail(log)}"
                    )
                time.sleep(POLL_INTERVAL)
        elapsed = time.perf_counter() - start
        jobs = {job_id: client.call("GET", f"/scheduler/jobs/{job_id}") for job_id in job_ids}
    finally:
        supervisor.stdin.close()
        try:
            supervisor.wait(30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            supervisor.wait()
    cpu = next(
        (
            line.split()[1]
            for line in reversed(_tail(log, 5).splitlines())
            if line.startswith("nbprod-bench-cpu-seconds ")
        ),
        "?",
    )
    failed = [job for job in jobs.values() if job["status"] != "COMPLETED"]
    if failed:
        details = "\n".join(
            f"  {job['job_id']}: {job['status']}: {job.get('status_message')}" for job in failed
        )
        raise RuntimeError(f"{len(failed)} of {count} jobs did not complete:\n{details}")
    recorded = (
        max(job["end_time"] for job in jobs.values())
        - min(job["create_time"] for job in jobs.values())
    ) / 1000
    print(
        f"  {count} jobs (runtime environment {environment!r}, output ipynb): "
        f"submitted in {submitted:.2f} s, all COMPLETED after {elapsed:.2f} s "
        f"observed (server records: first create to last end {recorded:.2f} s); CPU time of "
        f"server, job processes and kernels, start-up and shutdown included: {cpu} s"
    )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="jobs submitted at once")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="virtualenv to use")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    venv = ensure_venv(args.venv)
    version = installed_version(venv)
    workdir = Path(tempfile.mkdtemp(prefix="nbprod-bench-js-"))
    load_before = os.getloadavg()[0]
    ok = False
    try:
        notebook = write_trivial_notebook(workdir / "root" / "trivial.ipynb")
        elapsed = time_jobs(venv, notebook, args.count, workdir)
        ok = True
    finally:
        if args.keep or not ok:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"jupyter_scheduler {version}: {args.count} trivial jobs submitted at once, "
        f"all completed in {elapsed:.2f} s (poll interval {POLL_INTERVAL} s; "
        f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
