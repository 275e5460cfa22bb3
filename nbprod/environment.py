"""What a run executed in: interpreter, platform, installed packages and git state.

Captured in a background thread while the kernel starts, so it costs no wall time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_CACHE_HEADER = "# nbprod package list, sha256 "
KEY_PACKAGES = ("nbprod", "papermill", "nbclient", "ipykernel", "jupyter_client", "nbformat")


@dataclass
class Environment:
    info: dict[str, Any]
    packages_text: str
    """``name==version`` lines, sorted: stored once per distinct environment."""
    packages_sha256: str


def _packages_key() -> str:
    """Changes whenever a package is installed or removed (its folder's mtime changes)."""
    parts = [sys.executable]
    for entry in filter(None, sys.path):  # '' is the cwd, which says nothing of packages
        try:
            parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
        except OSError:
            continue
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _scan_packages() -> str:
    from importlib import metadata

    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            versions[name.lower().replace("_", "-")] = dist.version
    return "".join(f"{name}=={versions[name]}\n" for name in sorted(versions))


def _packages_text(cache_dir: Path | None) -> str:
    """The package list, scanned once per distinct environment (a scan costs ~60 ms of CPU,
    which on a small machine competes with the kernel's start-up).

    The cached copy carries its own sha256 and is checked on every read: a changed copy
    would otherwise be recorded (and stored) as the run's environment. A bad copy is
    rescanned, not fatal: the truth is at hand and the kernel may already be starting.
    """
    if cache_dir is None:
        return _scan_packages()
    cache = cache_dir / f"packages-{_packages_key()[:32]}.txt"
    try:
        cached = cache.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        cached = None
    if cached is not None:
        header, _, text = cached.partition("\n")
        expected = header.removeprefix(_CACHE_HEADER)
        actual = hashlib.sha256(text.encode()).hexdigest()
        if header.startswith(_CACHE_HEADER):
            if expected == actual:
                return text
            log.warning("package list cache %s does not match its sha256; rescanning", cache)
        # else: written by an older nbprod (no hash line): rescanned once, quietly
    text = _scan_packages()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        digest = hashlib.sha256(text.encode()).hexdigest()
        tmp.write_text(f"{_CACHE_HEADER}{digest}\n{text}", "utf-8")
        tmp.replace(cache)
    except OSError:
        pass  # a read-only home only costs the rescan
    return text


def capture_environment(cache_dir: Path | None = None) -> Environment:
    text = _packages_text(cache_dir)
    versions = dict(line.split("==", 1) for line in text.splitlines() if "==" in line)
    digest = hashlib.sha256(text.encode()).hexdigest()
    info = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "hostname": platform.node(),
        "packages_sha256": digest,
        "packages_count": len(versions),
        "key_packages": {
            name: versions[name.replace("_", "-")]
            for name in KEY_PACKAGES
            if name.replace("_", "-") in versions
        },
    }
    return Environment(info=info, packages_text=text, packages_sha256=digest)


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def capture_git(notebook: Path) -> dict[str, Any] | None:
    """Commit, branch and dirtiness of the checkout holding the notebook; None outside git."""
    folder = notebook.parent
    root = _git(folder, "rev-parse", "--show-toplevel")
    if root is None:
        return None
    commit = _git(folder, "rev-parse", "HEAD")
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    notebook_status = _git(folder, "status", "--porcelain", "--", notebook.name)
    remote = _git(folder, "config", "--get", "remote.origin.url")
    return {
        "root": root,
        "commit": commit,
        "branch": None if branch == "HEAD" else branch,
        "dirty": bool(status),
        "notebook_modified": bool(notebook_status),
        "remote": remote,
    }
