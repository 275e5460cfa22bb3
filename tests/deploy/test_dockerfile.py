"""The Dockerfile's facts that can drift from the repository (no Docker engine here).

The image cannot be built on this machine, so these tests read the Dockerfile and
.dockerignore the way `docker build` does and check them against pyproject.toml and the
files in the repository: the extras exist, the wheel's sources are all in the build context,
the runtime stage is non-root with nbprod as its entrypoint. hadolint lints it when present.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for word, args in self.instructions if word == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: continuations joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment line inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        whole = pending + stripped
        pending = ""
        word, _, args = whole.partition(" ")
        result.append((word.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return result


def stages(text: str) -> list[Stage]:
    found: list[Stage] = []
    for word, args in instructions(text):
        if word == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            found.append(Stage(parts[0], name))
        elif found:
            found[-1].instructions.append((word, args))
    return found


def copy_sources(args: str) -> tuple[list[str], str] | None:
    """The sources and destination of a COPY from the build context (None for --from)."""
    words = shlex.split(args)
    flags = [w for w in words if w.startswith("--")]
    if any(f.startswith("--from=") for f in flags):
        return None
    paths = [w for w in words if not w.startswith("--")]
    return paths[:-1], paths[-1]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match plus `**`) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line[1:] if keep else line
        rules.append((keep, _pattern_regex(pattern.strip("/"))))
    return rules


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether ``path`` is sent to `docker build`: the last rule matching it or one of its
    parent folders decides (Docker's MatchesOrParentMatches)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for keep, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            included = keep
    return included


def context_files(repo: Path = REPO) -> list[str]:
    """The repository's tracked files that the build context holds."""
    rules = dockerignore((repo / ".dockerignore").read_text())
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    return [path for path in tracked if path and in_context(path, rules)]


@pytest.fixture(scope="module")
def dockerfile() -> list[Stage]:
    return stages((REPO / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def stage_named(found: list[Stage], name: str) -> Stage:
    return next(s for s in found if s.name == name)


def test_the_parser_reads_a_dockerfile_as_docker_does():
    text = "FROM a AS b\n# c\nRUN x \\\n  # inner\n  && y\nCOPY --from=b /o /o\nCOPY p q/\nUSER 1\n"
    (stage,) = stages(text)
    assert (stage.base, stage.name) == ("a", "b")
    assert stage.all("RUN") == ["x && y"]
    assert [copy_sources(a) for a in stage.all("COPY")] == [None, (["p"], "q/")]
    rules = dockerignore("*\n!keep\nkeep/node_modules\n**/__pycache__\n")
    assert in_context("keep/a.py", rules)
    assert not in_context("other/a.py", rules)
    assert not in_context("keep/node_modules/x/y.js", rules)
    assert not in_context("keep/sub/__pycache__/a.pyc", rules)
    assert not in_context("top.txt", rules)


def test_the_runtime_stage_runs_nbprod_as_a_non_root_user(dockerfile):
    runtime = dockerfile[-1]
    assert runtime.name == "runtime"
    entrypoint = json.loads(runtime.all("ENTRYPOINT")[-1])
    assert entrypoint[-1] == "nbprod", entrypoint
    assert entrypoint[:-1] in ([], ["tini", "--"]), entrypoint
    user = runtime.all("USER")[-1].split(":")[0]
    assert user not in ("root", "0"), user
    # The uid it names is the one the image creates (numeric, for runAsNonRoot).
    created = " ".join(runtime.all("RUN"))
    assert re.search(rf"useradd [^&]*--uid {re.escape(user)}\b", created), created
    # The home (spool, default catalog) is a volume the user owns.
    assert "NBPROD_HOME=/data/nbprod" in " ".join(runtime.all("ENV"))
    assert "/data/nbprod" in runtime.all("VOLUME")[-1]
    assert re.search(r"chown [^&]*nbprod:nbprod /data/nbprod", created), created
    assert runtime.all("STOPSIGNAL") == ["SIGTERM"]


def test_the_runtime_stage_has_no_node_and_copies_only_the_venv(dockerfile):
    runtime = dockerfile[-1]
    copies = [shlex.split(args) for args in runtime.all("COPY")]
    assert copies == [["--from=build", "/opt/nbprod", "/opt/nbprod"]], copies
    assert "node" not in " ".join(runtime.all("RUN"))
    assert "/opt/nbprod/bin" in " ".join(runtime.all("ENV"))
    # ... and the build stage does have npm: the wheel's build hook runs it.
    build = stage_named(dockerfile, "build")
    assert "npm --version" in " ".join(build.all("RUN"))
    assert build.base.startswith("python:")
    assert runtime.base == build.base, "the venv is copied: both stages need the same Python"


def test_the_extras_it_installs_exist_in_pyproject(dockerfile, pyproject):
    build = stage_named(dockerfile, "build")
    args = dict(a.split("=", 1) for a in build.all("ARG") if "=" in a)
    extras = args["NBPROD_EXTRAS"].split(",")
    assert {"postgres", "dask"} <= set(extras)
    optional = pyproject["project"]["optional-dependencies"]
    assert set(extras) <= set(optional), sorted(set(extras) - set(optional))
    assert optional["dask"] == ["distributed>=2024.8"]
    installs = [r for r in build.all("RUN") if "pip install" in r]
    assert any('[${NBPROD_EXTRAS}]"' in r for r in installs), installs


def test_every_file_it_copies_is_in_the_repository_and_the_build_context(dockerfile):
    context = set(context_files())
    sources = []
    for stage in dockerfile:
        for args in stage.all("COPY") + stage.all("ADD"):
            parsed = copy_sources(args)
            if parsed:
                sources.extend(parsed[0])
    assert sources
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: not in the repository"
        prefix = source.rstrip("/")
        sent = [f for f in context if f == prefix or f.startswith(prefix + "/")]
        assert sent, f"COPY {source}: excluded by .dockerignore"
        if path.is_dir():
            tracked = subprocess.run(
                ["git", "ls-files", prefix], cwd=REPO, capture_output=True, text=True
            ).stdout.split()
            assert set(tracked) <= context, sorted(set(tracked) - context)[:5]


def test_the_build_context_holds_every_source_of_the_wheel(dockerfile, pyproject):
    copied = set()
    for args in stage_named(dockerfile, "build").all("COPY"):
        parsed = copy_sources(args)
        if parsed:
            copied.update(s.rstrip("/") for s in parsed[0])
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", pyproject["project"]["readme"], *wheel["packages"]}
    needed |= {src.split("/")[0] for src in wheel["force-include"]}
    needed |= {src.split("/")[0] for src in wheel["shared-data"] if not src.startswith("nbprod/")}
    builder = pyproject["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
    needed.add(builder["build-kwargs"]["path"])
    assert needed <= copied, sorted(needed - copied)
    # Nothing bulky, built or private rides along (node_modules is platform-specific; these
    # paths are untracked, so the rules are asked directly).
    rules = dockerignore((REPO / ".dockerignore").read_text())
    for path in (
        "jupyter_extension/node_modules/react/package.json",
        "jupyter_extension/lib/index.js",
        "nbprod/labextension/package.json",
        "nbprod/__pycache__/api.cpython-311.pyc",
        "nbprod/catalog/__pycache__/db.cpython-311.pyc",
        ".git/HEAD",
        "tests/conftest.py",
        "test-artifacts/shot.png",
        ".env",
    ):
        assert not in_context(path, rules), path


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed")
def test_hadolint_finds_nothing():
    result = subprocess.run(
        ["hadolint", "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
