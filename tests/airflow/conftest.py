"""A real Airflow 3 for the export tests, in its own virtualenv (never nbprod's).

The virtualenv is installed once from ``airflow-requirements.txt`` (every package pinned:
the registry here serves no Airflow constraints file, so the pins are ours, taken from a
working install of apache-airflow 3.1.8 with the standard provider) and cached under
``~/.cache/nbprod-test/airflow-<version>-<hash of the pins>`` ($NBPROD_TEST_CACHE moves
it); a lock file keeps two pytest workers from installing it twice. Each session gets its
own AIRFLOW_HOME (SQLite, `airflow db migrate`) and DAG folder in a temp directory.

The deployment modelled: Airflow's workers call the nbprod of another environment by
absolute path (NBPROD_COMMAND = this interpreter's ``-m nbprod``), with the same
NBPROD_HOME / store / catalog settings as the nbprod side, so Airflow's dependencies and
nbprod's never meet in one interpreter.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.airflow.venv import airflow_venv
from tests.conftest import invoke_inproc, isolated_env


@dataclass
class Airflow:
    """One Airflow home and DAG folder, and the nbprod world its tasks run in."""

    venv: Path
    home: Path
    dags: Path
    env: dict[str, str]
    """Airflow's environment: no PYTHONPATH, AIRFLOW_* and the nbprod settings."""
    nbprod_env: dict[str, str]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.venv / "bin" / "airflow"), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Python code in Airflow's interpreter (its API, not its CLI)."""
        return subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def nbprod(self, *args: str) -> subprocess.CompletedProcess:
        """An nbprod command on the nbprod side (in process: it starts no kernel)."""
        return invoke_inproc(args, env=self.nbprod_env)

    def task_instances(self, dag_id: str) -> list[tuple[str, int]]:
        """(state, try_number) of each of the DAG's task instances, from Airflow's database."""
        import sqlite3

        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute(
                "SELECT state, try_number FROM task_instance WHERE dag_id = ?", (dag_id,)
            ).fetchall()
        return [(str(state), int(number)) for state, number in rows]

    def runs(self, job: str) -> list[dict]:
        listed = self.nbprod("runs", "list", "--job", job, "--json")
        assert listed.returncode == 0, listed.stderr
        return sorted(json.loads(listed.stdout), key=lambda r: r["run_id"])


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    venv = airflow_venv()
    base = tmp_path_factory.mktemp("airflow")
    home, dags = base / "airflow-home", base / "dags"
    home.mkdir()
    dags.mkdir()
    nbprod_env = isolated_env(base)
    command = [sys.executable, "-m", "nbprod"]
    if os.environ.get("PYTHONPATH"):  # a worktree's copy of nbprod, as this session imports it
        command = ["env", f"PYTHONPATH={os.environ['PYTHONPATH']}", *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NBPROD_"))}
    env.pop("PYTHONPATH", None)
    env.update(nbprod_env)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "NBPROD_COMMAND": shlex.join(command),
        }
    )
    world = Airflow(venv, home, dags, env, nbprod_env)
    migrated = world.run("db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    yield world
