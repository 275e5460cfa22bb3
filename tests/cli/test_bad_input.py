"""Bad input through the real CLI: exit 2, one line on stderr naming the field or file, no
traceback, nothing recorded (no run folder, no job version, no catalog row), and fast.

Each case is a command line plus the files it reads, written into the test's folder. The
subprocess timeout is generous (a loaded machine) but far below what an alias bomb took
before it was refused (a minute, then out of memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nbprod.catalog.schema import fires, job_versions, jobs, queue, runs

JOB = "name: j\nnotebook: notebooks/nb.ipynb\n"
BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{b}: &{b} [{', '.join(['*' + a] * 9)}]"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)
"""Billion laughs: nine levels of nine aliases, 9^9 strings once expanded."""
WEBHOOK = "notifications:\n  on_failure:\n    - type: {kind}\n      url: '{url}'\n"
TIMEOUT = 30


def job(extra: str) -> dict[str, str | bytes]:
    return {"job.yaml": JOB + extra}


# Each case: (id, files, argv, env, expected text in the one stderr line); argv [] is
# `jobs apply job.yaml` and NB is the test's notebook.
FILE_CASES: list[tuple[str, dict[str, Any], list[str], dict[str, str], str]] = [
    ("job-alias-bomb", {"job.yaml": JOB + BOMB}, [], {}, "aliases expand to more than"),
    (
        "job-recursive-alias",
        job("parameters: &p {x: *p}\n"),
        [],
        {},
        "recursive alias",
    ),
    ("job-deep", job("parameters: {x: " + "[" * 5000 + "]" * 5000 + "}\n"), [], {}, "deeper"),
    ("job-duplicate-key", {"job.yaml": JOB + "name: k\n"}, [], {}, "duplicate key 'name'"),
    ("job-binary-tag", job("description: !!binary aGVsbG8=\n"), [], {}, "binary values"),
    ("job-binary-file", {"job.yaml": bytes(range(256)) * 4}, [], {}, "not UTF-8"),
    ("job-latin-1", {"job.yaml": JOB.encode() + b"description: caf\xe9\n"}, [], {}, "not UTF-8"),
    ("job-dev-zero", {}, ["jobs", "apply", "/dev/zero"], {}, "not a regular file"),
    ("job-notebook-dev-zero", {"job.yaml": "name: j\nnotebook: /dev/zero\n"}, [], {}, "regular"),
    ("params-alias-bomb", {"p.yaml": BOMB}, ["exec", "NB", "-f", "p.yaml"], {}, "aliases"),
    ("params-recursive", {"p.yaml": "x: &a [*a]"}, ["exec", "NB", "-f", "p.yaml"], {}, "recursive"),
    ("params-deep", {"p.yaml": "x: " + "[" * 5000}, ["exec", "NB", "-f", "p.yaml"], {}, "deeper"),
    ("params-dup", {"p.yaml": "x: 1\nx: 2\n"}, ["exec", "NB", "-f", "p.yaml"], {}, "duplicate"),
    ("params-dup-json", {"p.json": '{"x": 1, "x": 2}'}, ["exec", "NB", "-f", "p.json"], {}, "dup"),
    ("params-deep-json", {"p.json": "[" * 100_000}, ["exec", "NB", "-f", "p.json"], {}, "deep"),
    ("params-binary", {"p.yaml": bytes(range(256))}, ["exec", "NB", "-f", "p.yaml"], {}, "UTF-8"),
    ("params-dev-zero", {}, ["exec", "NB", "-f", "/dev/zero"], {}, "not a regular file"),
    ("params-too-big", {"p.yaml": "x: 1\n" * 300_000}, ["exec", "NB", "-f", "p.yaml"], {}, "large"),
    ("yaml-alias-bomb", {}, ["exec", "NB", "-y", BOMB], {}, "-y text: invalid YAML"),
    ("yaml-duplicate", {}, ["exec", "NB", "-y", "{x: 1, x: 2}"], {}, "duplicate key 'x'"),
    ("grid-alias-bomb", {"g.yaml": BOMB}, ["sweep", "NB", "--grid", "g.yaml"], {}, "aliases"),
    ("exec-dev-zero", {}, ["exec", "/dev/zero"], {}, "notebook /dev/zero is not a regular file"),
    ("exec-binary", {"b.ipynb": bytes(range(256))}, ["exec", "b.ipynb"], {}, "not UTF-8"),
    ("params-cmd-dev-zero", {}, ["params", "/dev/zero"], {}, "not a regular file"),
    ("config-dev-zero", {}, ["exec", "NB"], {"NBPROD_CONFIG": "/dev/zero"}, "config file"),
]
"""Files that must be refused before parsing, and YAML the one loader refuses."""


CASES = FILE_CASES


def _recorded(home: Path) -> dict[str, Any]:
    """Everything a run or an apply leaves behind: store files, spool entries, catalog rows."""
    found: dict[str, Any] = {}
    for folder in ("store", "spool"):
        root = home / folder
        found[folder] = sorted(str(p) for p in root.rglob("*") if p.is_file())
    db = home / "catalog.db"
    if db.is_file():
        engine = sa.create_engine(f"sqlite:///{db}")
        try:
            with engine.connect() as conn:
                for table in (runs, jobs, job_versions, queue, fires):
                    found[table.name] = conn.execute(
                        sa.select(sa.func.count()).select_from(table)
                    ).scalar()
        finally:
            engine.dispose()
    return found


def _nothing(found: dict[str, Any]) -> bool:
    return not any(found.values())


@pytest.mark.parametrize(
    ("files", "argv", "env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_exits_2_with_one_line_and_records_nothing(
    cli, make_notebook, tmp_path, nbprod_env, files, argv, env, expected
):
    notebook = make_notebook("print('ran')", parameters="x: int = 1")
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    argv = argv or ["jobs", "apply", "job.yaml"]
    argv = [str(notebook) if a == "NB" else a for a in argv]
    env = {
        k: str(tmp_path / v) if k == "NBPROD_CONFIG" and v != "/dev/zero" else v
        for k, v in env.items()
    }

    done = cli(*argv, env=env, timeout=TIMEOUT)

    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("nbprod: error: ") and expected in lines[0], lines[0]
    assert len(lines[0]) < 400, lines[0]
    assert "Traceback" not in done.stderr and "ran" not in done.stdout
    assert _nothing(_recorded(Path(nbprod_env["NBPROD_HOME"]))), _recorded(
        Path(nbprod_env["NBPROD_HOME"])
    )
