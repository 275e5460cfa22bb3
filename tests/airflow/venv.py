"""The cached virtualenv with a real Airflow 3 for tests/airflow (never nbprod's environment).

Installed once from ``airflow-requirements.txt`` (every package pinned: the registry here
serves no Airflow constraints file) under ``~/.cache/nbprod-test/airflow-<version>-<hash of
the pins>`` ($NBPROD_TEST_CACHE moves it); a lock file keeps two pytest workers from
installing it twice. ``.ci/run`` calls ``python -m tests.airflow.venv`` before the suite so
that the one-off install (1.5-2 min) is not part of the suite's time; the fixture installs
it when it is missing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path


class AirflowInstallError(RuntimeError):
    """pip could not install the pinned Airflow."""


AIRFLOW_VERSION = "3.1.8"
REQUIREMENTS = Path(__file__).with_name("airflow-requirements.txt")
INSTALL_TIMEOUT = 1800


def airflow_venv() -> Path:
    """The cached virtualenv with Airflow, installed on first use."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("NBPROD_TEST_CACHE") or Path.home() / ".cache" / "nbprod-test")
    venv = cache / f"airflow-{AIRFLOW_VERSION}-{key}"
    done = venv / ".installed"
    if done.is_file():
        return venv
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".airflow-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():  # another worker installed it meanwhile
            return venv
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        installed = subprocess.run(
            [*pip, "install", "-q", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
        if installed.returncode != 0:
            raise AirflowInstallError(
                f"installing Airflow {AIRFLOW_VERSION} failed:\n{installed.stderr[-3000:]}"
            )
        done.write_text(f"installed in {time.monotonic() - started:.0f} s\n")
    return venv


if __name__ == "__main__":
    print(f"Airflow {AIRFLOW_VERSION} for the tests: {airflow_venv()}")
