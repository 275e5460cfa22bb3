"""Bad input through the real CLI: exit 2, one line on stderr naming the field or file, no
traceback, nothing recorded (no run folder, no job version, no catalog row), and fast.

Each case is a command line plus the files it reads, written into the test's folder. The
timeout is generous (a loaded machine) but far below what an alias bomb took before it was
refused (a minute, then out of memory).

Most cases call the CLI in this process (`cli_inproc`: no kernel starts, ~1 s of imports saved
per case); the cases in SUBPROCESS_CASES, and
test_bounded_aliases_and_fractions_are_still_accepted, are the proof through the real console
script (its exit code and one-line error from a process of its own).
"""

from __future__ import annotations

import json
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
    ("grid-deep-json", {"g.json": "[" * 100_000}, ["sweep", "NB", "--grid", "g.json"], {}, "deep"),
    (
        "grid-dup-json",
        {"g.json": '{"x": [1], "x": [2]}'},
        ["sweep", "NB", "--grid", "g.json"],
        {},
        "dup",
    ),
    ("exec-dev-zero", {}, ["exec", "/dev/zero"], {}, "notebook /dev/zero is not a regular file"),
    ("exec-binary", {"b.ipynb": bytes(range(256))}, ["exec", "b.ipynb"], {}, "not UTF-8"),
    ("params-cmd-dev-zero", {}, ["params", "/dev/zero"], {}, "not a regular file"),
    ("config-dev-zero", {}, ["exec", "NB"], {"NBPROD_CONFIG": "/dev/zero"}, "config file"),
]
"""Files that must be refused before parsing, and YAML the one loader refuses."""

VALUE_CASES: list[tuple[str, dict[str, Any], list[str], dict[str, str], str]] = [
    ("timeout-nan", job("timeout: .nan\n"), ["jobs", "apply", "job.yaml"], {}, "timeout must be"),
    ("timeout-inf", job("timeout: .inf\n"), ["jobs", "apply", "job.yaml"], {}, "timeout must be"),
    ("timeout-1e308", job("timeout: 1e308\n"), ["jobs", "apply", "job.yaml"], {}, "timeout"),
    ("timeout-bool", job("timeout: true\n"), ["jobs", "apply", "job.yaml"], {}, "timeout"),
    ("cell-timeout-nan", job("cell_timeout: .nan\n"), ["jobs", "apply", "job.yaml"], {}, "cell"),
    ("retry-delay-nan", job("retry_delay: .nan\n"), ["jobs", "apply", "job.yaml"], {}, "retry_de"),
    ("retry-delay-inf", job("retry_delay: .inf\n"), ["jobs", "apply", "job.yaml"], {}, "retry_de"),
    ("retry-delay-neg", job("retry_delay: -5\n"), ["jobs", "apply", "job.yaml"], {}, "retry_del"),
    ("window-nan", job("catchup_window: .nan\n"), ["jobs", "apply", "job.yaml"], {}, "catchup_w"),
    ("retries-1e30", job("retries: 1e30\n"), ["jobs", "apply", "job.yaml"], {}, "'retries'"),
    ("retries-10^30", job(f"retries: {10**30}\n"), ["jobs", "apply", "job.yaml"], {}, "'retries'"),
    ("retries-negative", job("retries: -1\n"), ["jobs", "apply", "job.yaml"], {}, "'retries'"),
    ("retries-bool", job("retries: true\n"), ["jobs", "apply", "job.yaml"], {}, "'retries'"),
    ("concurrency-bool", job("concurrency: true\n"), ["jobs", "apply", "job.yaml"], {}, "concurr"),
    ("concurrency-huge", job("concurrency: 100000000\n"), ["jobs", "apply", "job.yaml"], {}, "con"),
    (
        "older-than-nan",
        job("retention: {older_than: .nan}\n"),
        ["jobs", "apply", "job.yaml"],
        {},
        "retention.older_than",
    ),
    ("name-int", {"job.yaml": "name: 123\nnotebook: notebooks/nb.ipynb\n"}, [], {}, "'name'"),
    ("name-bool", {"job.yaml": "name: true\nnotebook: notebooks/nb.ipynb\n"}, [], {}, "'name'"),
    ("name-nul", {"job.yaml": 'name: "a\\0b"\nnotebook: notebooks/nb.ipynb\n'}, [], {}, "NUL"),
    ("notebook-nul", {"job.yaml": 'name: j\nnotebook: "nb\\0.ipynb"\n'}, [], {}, "NUL"),
    (
        "notebook-long-component",
        {"job.yaml": f"name: j\nnotebook: notebooks/{'x' * 300}.ipynb\n"},
        [],
        {},
        "'notebook' is too long",
    ),
    ("store-long", job(f"store: /tmp/{'s' * 300}\n"), [], {}, "'store' is too long"),
    ("timezone-10k", job(f"timezone: {'A' * 10_000}\n"), [], {}, "unknown timezone"),
    ("timezone-folder", job("timezone: America\n"), [], {}, "unknown timezone"),
    ("timezone-int", job("timezone: 1\n"), [], {}, "unknown timezone"),
    (
        "webhook-javascript",
        job(WEBHOOK.format(kind="webhook", url="javascript:alert(1)")),
        [],
        {},
        "notifications.on_failure: the url must be http:// or https://",
    ),
    (
        "webhook-file",
        job(WEBHOOK.format(kind="webhook", url="file:///etc/passwd")),
        [],
        {},
        "http:// or https://",
    ),
    ("slack-file", job(WEBHOOK.format(kind="slack", url="file:///x")), [], {}, "http:// or https"),
    ("webhook-no-host", job(WEBHOOK.format(kind="webhook", url="http:///x")), [], {}, "host"),
    ("exec-cell-timeout-nan", {}, ["exec", "NB", "--cell-timeout", "nan"], {}, "cell_timeout"),
    ("exec-timeout-nan", {}, ["exec", "NB", "--timeout", "nan"], {}, "'timeout'"),
    ("exec-timeout-inf", {}, ["exec", "NB", "--timeout", "inf"], {}, "'timeout'"),
    ("exec-timeout-1e308", {}, ["exec", "NB", "--timeout", "1e308"], {}, "'timeout'"),
    ("exec-timeout-negative", {}, ["exec", "NB", "--timeout", "-1"], {}, "'timeout'"),
    ("env-timeout-nan", {}, ["exec", "NB"], {"NBPROD_TIMEOUT": "nan"}, "'timeout'"),
    ("env-workers-huge", {}, ["exec", "NB"], {"NBPROD_WORKERS": "10000000000"}, "'workers'"),
    ("catalog-notaurl", {}, ["exec", "NB"], {"NBPROD_CATALOG": "notaurl"}, "catalog URL"),
    ("catalog-dialect", {}, ["exec", "NB"], {"NBPROD_CATALOG": "nosuch://x/y"}, "dialect"),
    (
        "config-nan",
        {"c.toml": "timeout = nan\n"},
        ["exec", "NB"],
        {"NBPROD_CONFIG": "c.toml"},
        "ti",
    ),
]
"""Values that parse but make no sense: numbers, names, paths, timezones, URLs, settings."""

SCHEDULE_CASES: list[tuple[str, dict[str, Any], list[str], dict[str, str], str]] = [
    ("feb-31", job("schedule: '0 0 31 2 *'\n"), ["jobs", "apply", "job.yaml"], {}, "never fires"),
    ("apr-31", job("schedule: '0 0 31 4,6,9,11 *'\n"), ["jobs", "apply", "job.yaml"], {}, "never"),
    ("schedule-int", job("schedule: 5\n"), ["jobs", "apply", "job.yaml"], {}, "'schedule'"),
]
"""Schedules that parse but never fire."""

USAGE_CASES: list[tuple[str, dict[str, Any], list[str], dict[str, str], str]] = [
    ("job-directory", {}, ["jobs", "apply", "notebooks"], {}, "is a directory"),
    ("exec-timeout-text", {}, ["exec", "NB", "--timeout", "abc"], {}, "'--timeout'"),
]
"""Usage errors (click's own checks) are one line too."""

CASES = FILE_CASES + VALUE_CASES + SCHEDULE_CASES + USAGE_CASES
SUBPROCESS_CASES = {"job-alias-bomb", "params-alias-bomb", "config-dev-zero", "exec-timeout-text"}
"""Run through the real `nbprod` process: a YAML refusal of each command, a settings refusal
and a usage error."""


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
    ("case", "files", "argv", "env", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_exits_2_with_one_line_and_records_nothing(
    request, make_notebook, tmp_path, nbprod_env, case, files, argv, env, expected
):
    cli = request.getfixturevalue("cli" if case in SUBPROCESS_CASES else "cli_inproc")
    notebook = make_notebook("print('ran')", parameters="x: int = 1")
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    argv = argv or ["jobs", "apply", "job.yaml"]
    # Absolute paths: the in-process CLI has no cwd of its own.
    argv = [
        str(notebook) if a == "NB" else str(tmp_path / a) if a in {*files, "notebooks"} else a
        for a in argv
    ]
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


def test_bounded_aliases_and_fractions_are_still_accepted(cli, make_notebook, tmp_path):
    """The bounds refuse abuse, not use: a few aliases and fractional timeouts still work."""
    notebook = make_notebook("print('ran')", parameters="x: int = 1")
    (tmp_path / "job.yaml").write_text(
        JOB
        + "cell_timeout: 0.5\ntimeout: 1.5m\nretry_delay: 0.25\n"
        + "notifications:\n  on_failure: &targets\n    - {type: webhook, url: 'https://example.invalid/h'}\n"
        + "  on_success: *targets\n"
    )
    applied = cli("jobs", "apply", "job.yaml", "--json")
    assert applied.returncode == 0, applied.stderr
    definition = json.loads(applied.stdout)["definition"]
    assert definition["cell_timeout"] == 0.5 and definition["timeout"] == 90
    assert definition["notifications"]["on_success"][0]["url"] == "https://example.invalid/h"

    (tmp_path / "p.yaml").write_text("x: &n 3\n")
    done = cli("exec", str(notebook), "--cell-timeout", "30.5", "-f", "p.yaml", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["parameters"] == {"x": 3}


def test_status_choices_follow_the_core_statuses(cli_inproc):
    cli = cli_inproc
    from nbprod.records import RunStatus

    for status in RunStatus:
        done = cli("runs", "list", "--status", status.value)
        assert done.returncode == 0, (status, done.stderr)
    wrong = cli("runs", "list", "--status", "nope")
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "'--status'" in wrong.stderr and "lost" in wrong.stderr


def test_every_option_read_from_an_environment_variable_names_it_in_its_help():
    import click

    from nbprod.cli import main

    def commands(cmd: click.Command, path: list[str]):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from commands(sub, [*path, name])

    checked = 0
    for path, cmd in commands(main, []):
        with click.Context(cmd, info_name=" ".join(["nbprod", *path])) as ctx:
            text = " ".join(cmd.get_help(ctx).split())
        assert "[env: " not in text, path  # click names it once, not a hand-written copy too
        for param in cmd.params:
            if isinstance(param, click.Option) and param.envvar:
                assert f"env var: {param.envvar}" in text.replace("[env var: ", "env var: ")
                checked += 1
        if any(p.name == "executor_name" for p in cmd.params):
            assert "NBPROD_EXECUTOR" in text and "NBPROD_DASK_SCHEDULER" in text, path
    assert checked > 30


def test_store_info_says_when_the_config_file_does_not_exist(cli_inproc, tmp_path):
    missing = tmp_path / "nowhere.toml"
    done = cli_inproc("store", "info", env={"NBPROD_CONFIG": str(missing)})
    line = next(x for x in done.stdout.splitlines() if x.startswith("config:"))
    assert line == f"config:  {missing}  (not found: built-in defaults and NBPROD_* variables)"
    missing.write_text("timeout = 60\n")
    done = cli_inproc("store", "info", env={"NBPROD_CONFIG": str(missing)})
    assert f"config:  {missing}\n" in done.stdout
