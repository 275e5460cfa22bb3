"""The rules /nbprod/api/info sends the JupyterLab extension agree with the server's own
checks: the job-name pattern (run in Node.js, the engine the extension runs it in) accepts
exactly the names check_job_name accepts, the value words parse as parse_cli_value reads
them, and the active statuses are the non-terminal statuses the API documents."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from nbprod.errors import InvalidName
from nbprod.params import Parameter, ParameterError, parse_cli_value
from nbprod.records import RunStatus
from nbprod.server.lab_rules import ui_rules
from nbprod.store.layout import check_job_name

SPEC = Path(__file__).resolve().parents[2] / "specification" / "nbprod-api.yml"
NAMES = [
    "daily",
    "Daily-report_2.v1",
    "7up",
    "a" * 100,
    "a" * 101,
    "-lead",
    ".hidden",
    "_x",
    "ends.",
    "a.b.",
    "daily\n",
    "has space",
    "slash/x",
    "",
    "ümlaut",
]


def _accepted(name: str) -> bool:
    try:
        check_job_name(name)
    except InvalidName:
        return False
    return True


@pytest.mark.skipif(not shutil.which("node"), reason="needs Node.js")
def test_job_name_pattern_in_javascript_matches_check_job_name():
    pattern = ui_rules()["job_name"]["pattern"]
    script = (
        "const re = new RegExp(process.argv[1]);"
        "const names = JSON.parse(process.argv[2]);"
        "console.log(JSON.stringify(names.map(n => re.test(n))));"
    )
    out = subprocess.run(
        ["node", "-e", script, pattern, json.dumps(NAMES)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert dict(zip(NAMES, json.loads(out), strict=True)) == {n: _accepted(n) for n in NAMES}


def test_value_words_parse_as_the_server_reads_them():
    values = ui_rules()["values"]
    nullable_int = Parameter(name="n", type="int", nullable=True)
    flag = Parameter(name="flag", type="bool")
    for word in values["null"]:
        assert parse_cli_value(nullable_int, word) is None
    for word in values["true"]:
        assert parse_cli_value(flag, word) is True
    for word in values["false"]:
        assert parse_cli_value(flag, word) is False
    int_re = re.compile(values["int"])
    whole = Parameter(name="n", type="int")
    for text in ["7", "-3", "+1_000", "1__0", "1.5", "0x10", "", "_1"]:
        try:
            parse_cli_value(whole, text)
            parsed = True
        except ParameterError:
            parsed = False
        assert bool(int_re.fullmatch(text.strip())) == parsed, text


def test_active_statuses_are_the_documented_unfinished_ones():
    rules = ui_rules()
    spec = yaml.safe_load(SPEC.read_text())
    documented = spec["components"]["schemas"]["Run"]["properties"]["status"]["enum"]
    terminal = {s.value for s in RunStatus if s.terminal}
    assert set(rules["active_statuses"]) == set(documented) - terminal
    assert {s.value for s in RunStatus if not s.terminal} <= set(rules["active_statuses"])


def test_events_targets_and_anchor_are_the_servers():
    from nbprod.jobs.definition import _notifications
    from nbprod.notify import EVENTS, TARGET_FIELDS
    from nbprod.server.render import cell_anchor

    rules = ui_rules()
    assert rules["notification_events"] == list(EVENTS)
    assert set(rules["notification_targets"]) == set(TARGET_FIELDS)
    for kind in rules["notification_targets"]:  # each one the UI offers, a definition accepts
        value = "ops@example.com" if TARGET_FIELDS[kind] == "to" else "https://example.com/h"
        _notifications({"on_failure": [{"type": kind, TARGET_FIELDS[kind]: value}]}, "job.yaml")
    assert rules["cell_anchor"].format(index=3) == cell_anchor(3)


def test_the_frontend_tests_fixture_is_what_the_server_sends():
    """jupyter_extension/test/fixtures/rules.json feeds the jest tests of the form."""
    fixture = SPEC.parents[1] / "jupyter_extension" / "test" / "fixtures" / "rules.json"
    assert json.loads(fixture.read_text()) == ui_rules()
