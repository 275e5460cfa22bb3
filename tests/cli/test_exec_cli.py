"""`nbprod exec`, `params`, `runs` through the installed console script.

Every run goes through the real console script; bad-input refusals (no kernel starts),
`params` and the listings of made runs call the CLI in this process (`cli_inproc`). The
subprocess proofs of those: test_a_non_utf8_parameter_is_bad_input (exit 2 from argv bytes),
test_the_command_skips_the_iri_grammars_jsonschema_would_build (`params`), and
test_a_kernel_that_cannot_start_ends_the_announced_run_in_a_record (`runs list`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import EXAMPLES, GLUE, load_output, nbprod_command


def _output_path(stdout: str) -> Path:
    lines = [line for line in stdout.splitlines() if line.startswith("output: ")]
    assert lines, stdout
    return Path(lines[-1].removeprefix("output: "))


def test_exec_example_prints_run_and_output(cli, store_dir):
    done = cli(
        "exec", str(EXAMPLES / "sales_report.ipynb"), "-p", "region", "eu", "-p", "days", "7"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("run ")
    assert "succeeded in" in done.stdout
    out = _output_path(done.stdout)
    assert out.is_file() and out.is_relative_to(store_dir / "sales_report")
    record = json.loads((out.parent / "run.json").read_text())
    assert record["parameters"]["region"] == "eu" and record["parameters"]["days"] == 7


def test_string_parameter_stays_a_string_and_lists_parse(cli, make_notebook):
    nb = make_notebook(
        GLUE + "glue('kinds', [type(region).__name__, type(ids).__name__])",
        parameters="region = 'eu'\nids: list[int] = []\nflag = False",
    )
    done = cli(
        "exec",
        str(nb),
        "-p",
        "region",
        "123",
        "-p",
        "ids",
        "[1, 2]",
        "-p",
        "flag",
        "true",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["parameters"] == {"region": "123", "ids": [1, 2], "flag": True}
    assert record["scraps"]["kinds"]["value"] == ["str", "list"]


def test_parameters_from_yaml_file_and_inline_yaml(cli, make_notebook, tmp_path):
    nb = make_notebook("print(a, b)", parameters="a = 1\nb = 'x'")
    params = tmp_path / "p.yaml"
    params.write_text("a: 5\nb: from-file\n")
    done = cli("exec", str(nb), "-f", str(params), "-y", "b: inline", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["parameters"] == {"a": 5, "b": "inline"}


def test_bad_input_exits_2_with_one_line_and_records_nothing(cli_inproc, make_notebook, store_dir):
    cli = cli_inproc
    nb = make_notebook("print(days)", parameters="days = 7  # history")
    broken = nb.with_name("broken.ipynb")
    broken.write_text("{not json")
    cases = [
        (("-p", "days", "seven"), "parameter 'days' expects int"),
        (("-p", "dayz", "1"), "unknown parameter 'dayz'"),
        (("-k", "no-such-kernel"), "no kernel named 'no-such-kernel'"),
        (("--job", "../escape"), "invalid job name"),
        (("--timeout", "-1"), "timeout"),
    ]
    for args, message in cases:
        done = cli("exec", str(nb), *args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, done.stderr)
    for path, message in (
        (broken, "not a valid notebook"),
        (nb.with_name("nope.ipynb"), "notebook not found"),
    ):
        done = cli("exec", str(path))
        assert done.returncode == 2 and message in done.stderr
    assert not store_dir.exists() or not any(store_dir.iterdir())


def test_failure_timeout_and_dead_kernel_exit_codes(cli, make_notebook):
    failing = cli("exec", str(EXAMPLES / "failing_example.ipynb"))
    assert failing.returncode == 1
    assert (
        "failed in" in failing.stdout and "ValueError: data quality check failed" in failing.stdout
    )
    out = load_output(_output_path(failing.stdout))
    assert "papermill-error-cell" in out.cells[0].source

    slow = make_notebook("import time; time.sleep(60)", name="slow.ipynb")
    timed = cli("exec", str(slow), "--timeout", "2")
    assert timed.returncode == 3 and "timed_out" in timed.stdout
    assert _output_path(timed.stdout).is_file()

    dying = make_notebook("import os; os._exit(1)", name="dying.ipynb")
    died = cli("exec", str(dying))
    assert died.returncode == 4 and "kernel_died" in died.stdout


def test_ctrl_c_cancels_and_stores_the_output(nbprod_env, make_notebook, store_dir):
    nb = make_notebook(
        "print('working', flush=True)", "import time; time.sleep(120)", "print('never')"
    )
    proc = subprocess.Popen(
        [*nbprod_command(), "exec", str(nb)],
        env={**nbprod_env, "NBPROD_AUTOSAVE_SECONDS": "0.3"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the long cell is running: the autosaved partial output shows the first
    # cell's print (a fixed sleep lost the race on a loaded machine)
    spool = Path(nbprod_env["NBPROD_HOME"]) / "spool"

    def printed() -> bool:
        for partial in spool.glob(f"*/{nb.name}"):
            try:
                cells = json.loads(partial.read_text())["cells"]
            except (OSError, ValueError, KeyError):  # caught mid-write
                continue
            if any("working" in str(o.get("text", "")) for o in cells[0].get("outputs", [])):
                return True
        return False

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not printed():
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "cancelled" in stdout
    out = load_output(_output_path(stdout))
    texts = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert "working" in texts and "never" not in texts
    record = json.loads((_output_path(stdout).parent / "run.json").read_text())
    assert record["status"] == "cancelled"


def test_quiet_prints_only_the_location_and_no_progress_when_piped(cli, make_notebook):
    nb = make_notebook("print(1)")
    done = cli("exec", str(nb), "-q")
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1 and Path(done.stdout.strip()).is_file()
    assert "cell/s" not in done.stderr and "Executing" not in done.stderr
    shown = cli("exec", str(nb), "--progress", "-q")
    assert "Executing" in shown.stderr  # the bar when asked for explicitly


def test_log_output_streams_cell_output(cli, make_notebook):
    done = cli("exec", str(make_notebook("print('streamed-line')")), "--log-output")
    assert done.returncode == 0 and "streamed-line" in done.stdout


def test_params_command(cli_inproc):
    cli = cli_inproc
    table = cli("params", str(EXAMPLES / "sales_report.ipynb"))
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split() == ["NAME", "TYPE", "DEFAULT", "HELP"]
    assert any(line.split()[:3] == ["days", "int", "7"] for line in table.stdout.splitlines())
    schema = json.loads(cli("params", str(EXAMPLES / "sales_report.ipynb"), "--json").stdout)
    days = next(p for p in schema["parameters"] if p["name"] == "days")
    assert days["type"] == "int" and days["default"] == 7 and days["help"]
    none = cli("params", str(EXAMPLES / "no_parameters.ipynb"))
    assert none.returncode == 0 and "no parameters cell" in none.stdout


def test_runs_list_and_show(cli, cli_inproc, make_notebook):
    nb = make_notebook(GLUE + "glue('n', n)", parameters="n = 1")
    ids = []
    for n in ("1", "2"):
        done = cli("exec", str(nb), "-p", "n", n, "--job", "counter", "--json")
        ids.append(json.loads(done.stdout)["run_id"])
    failed = cli("exec", str(EXAMPLES / "failing_example.ipynb"), "--json")
    failed_id = json.loads(failed.stdout)["run_id"]

    listing = cli_inproc("runs", "list")
    rows = listing.stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [failed_id, ids[1], ids[0]]
    only = json.loads(cli_inproc("runs", "list", "--job", "counter", "--json", "-n", "1").stdout)
    assert [r["run_id"] for r in only] == [ids[1]]
    failures = json.loads(cli_inproc("runs", "list", "--status", "failed", "--json").stdout)
    assert [r["run_id"] for r in failures] == [failed_id]

    shown = cli_inproc("runs", "show", ids[0])
    assert shown.returncode == 0
    assert "status     succeeded" in shown.stdout and "n = 1" in shown.stdout
    as_json = json.loads(cli_inproc("runs", "show", ids[0], "--json").stdout)
    assert as_json["scraps"]["n"]["value"] == 1
    missing = cli_inproc("runs", "show", "20200101T000000000Z-00000000")
    assert missing.returncode == 2 and "no run" in missing.stderr


def test_config_file_and_environment(cli, make_notebook, tmp_path):
    config = tmp_path / "config.toml"
    other_store = tmp_path / "configured-store"
    config.write_text(f'store = "{other_store}"\n')
    done = cli("exec", str(make_notebook("1")), env={"NBPROD_CONFIG": str(config)})
    assert done.returncode == 0 and _output_path(done.stdout).is_relative_to(other_store)
    env_store = tmp_path / "env-store"
    done = cli(
        "exec",
        str(make_notebook("1")),
        env={"NBPROD_CONFIG": str(config), "NBPROD_STORE": f"file://{env_store}"},
    )
    assert _output_path(done.stdout).is_relative_to(env_store)


def test_help_lists_commands_and_cli_imports_stay_lazy():
    done = subprocess.run(
        [*nbprod_command(), "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0 and "exec" in done.stdout and "runs" in done.stdout
    lazy = subprocess.run(
        ["python", "-X", "importtime", "-c", "import nbprod.cli"],
        capture_output=True,
        text=True,
    )
    assert "papermill" not in lazy.stderr and "boto3" not in lazy.stderr
    assert "nbclient" not in lazy.stderr and "yaml" not in lazy.stderr


def test_the_command_skips_the_iri_grammars_jsonschema_would_build(tmp_path):
    """`nbprod params` on a format-3 notebook (converted by nbformat -> jsonschema) does
    not import rfc3987_syntax, whose 39 lark grammars cost 1-3 s per process; a library
    import of nbformat outside the command still gets it."""
    nb = tmp_path / "n.ipynb"
    nb.write_text(
        '{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": ['
        '{"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [],'
        ' "metadata": {"tags": ["parameters"]}}]}]}'
    )
    code = "import sys; from nbprod.cli import main; main(['params', sys.argv[1]])"
    done = subprocess.run(
        ["python", "-X", "importtime", "-c", code, str(nb)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "x " in done.stdout and "int" in done.stdout

    def imported(stderr: str) -> set[str]:
        return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if "|" in line}

    assert "nbformat" in imported(done.stderr) and "lark" not in imported(done.stderr)
    plain = subprocess.run(
        ["python", "-X", "importtime", "-c", "import nbformat"], capture_output=True, text=True
    )
    assert "lark" in imported(plain.stderr)  # installed here: the check above means something


def test_running_record_shows_live_progress(nbprod_env, make_notebook, store_dir):
    cells = [f"import time; time.sleep(0.7); print({n})" for n in range(8)]
    nb = make_notebook(*cells, name="slowcells.ipynb")
    env = {**nbprod_env, "NBPROD_PROGRESS_SECONDS": "0.3"}
    proc = subprocess.Popen(
        [*nbprod_command(), "exec", str(nb), "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        for path in (store_dir / "slowcells").glob("*/run.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record["status"] == "running":
                seen.add(record["progress"]["cells_done"])
        time.sleep(0.1)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert any(0 < done < 8 for done in seen), seen  # progress seen mid-run, not only 0
    final = json.loads(next((store_dir / "slowcells").glob("*/run.json")).read_text())
    assert final["status"] == "succeeded" and final["progress"]["cells_done"] == 8


def _stored_record(store_dir: Path, job: str, run_id: str) -> dict:
    return json.loads((store_dir / job / run_id / "run.json").read_text())


def test_ctrl_c_right_after_the_run_id_is_printed_still_ends_in_a_record(
    cli_inproc, nbprod_env, make_notebook, store_dir
):
    nb = make_notebook("print('first')", "print('second')")
    proc = subprocess.Popen(
        [*nbprod_command(), "exec", str(nb)],
        env=nbprod_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)  # before the kernel is up
    rest, stderr = proc.communicate(timeout=120)
    assert first.startswith("run "), (first, stderr)
    run_id = first.split()[1]
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    record = _stored_record(store_dir, "nb", run_id)
    assert record["status"] == "cancelled"
    out = load_output(_output_path(rest))
    assert out.metadata["papermill"]["nbprod_run_id"] == run_id
    listed = cli_inproc("runs", "list", "--json")
    assert [r["status"] for r in json.loads(listed.stdout) if r["run_id"] == run_id] == [
        "cancelled"
    ]


def test_a_kernel_that_cannot_start_ends_the_announced_run_in_a_record(
    cli, make_notebook, store_dir, tmp_path
):
    spec = tmp_path / "jupyter" / "kernels" / "broken"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(tmp_path / "no-such-python"), "-f", "{connection_file}"],
                "display_name": "broken",
                "language": "python",
            }
        )
    )
    nb = make_notebook("print('never')")
    done = cli(
        "exec", str(nb), "--kernel", "broken", env={"JUPYTER_PATH": str(tmp_path / "jupyter")}
    )
    assert done.stdout.startswith("run "), done.stderr
    run_id = done.stdout.split()[1]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    record = _stored_record(store_dir, "nb", run_id)
    assert record["status"] == "failed" and record["error"]["ename"] == "FileNotFoundError"
    assert (store_dir / "nb" / run_id / "nb.ipynb").is_file()
    listed = json.loads(cli("runs", "list", "--json").stdout)
    assert [r["status"] for r in listed if r["run_id"] == run_id] == ["failed"]


def test_ipython_syntax_in_the_parameters_cell_runs(cli, make_notebook):
    nb = make_notebook(
        GLUE + "glue('got', [n, isinstance(home, str), len(files) >= 0])",
        parameters="files = !ls\nhome = %env HOME\nn = 1",
    )
    done = cli("exec", str(nb), "-p", "n", "5", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["parameters"] == {"n": 5}
    assert record["scraps"]["got"]["value"] == [5, True, True]


def test_parameter_values_a_strict_json_record_cannot_hold_exit_2(
    cli_inproc, make_notebook, store_dir
):
    cli = cli_inproc
    nb = make_notebook("print(rate, n)", parameters="rate = 1.0\nn = 1")
    for args in (("-p", "rate", "nan"), ("-p", "rate", "inf"), ("-p", "n", "9" * 5000)):
        done = cli("exec", str(nb), *args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert "not a finite number" in done.stderr or "more than 4300 digits" in done.stderr
    assert not (store_dir / "nb").exists()


def test_untyped_parameter_words_stay_strings(cli, make_notebook):
    """Two words in one run (one kernel): a YAML boolean word and a YAML mapping-like text."""
    nb = make_notebook(
        GLUE + "glue('got', [[msg, type(msg).__name__], [note, type(note).__name__]])",
        parameters="msg = None\nnote = None",
    )
    done = cli("exec", str(nb), "-p", "msg", "yes", "-p", "note", "Note: hello", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["parameters"] == {"msg": "yes", "note": "Note: hello"}
    assert record["scraps"]["got"]["value"] == [["yes", "str"], ["Note: hello", "str"]]


def test_cell_timeout_fractional_times_out_and_nan_is_bad_input(
    cli, cli_inproc, make_notebook, store_dir
):
    nb = make_notebook("import time; time.sleep(30)")
    done = cli("exec", str(nb), "--cell-timeout", "0.5")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "timed_out" in done.stdout
    record = _stored_record(store_dir, "nb", done.stdout.split()[1])
    assert record["status"] == "timed_out" and record["cell_timeout_s"] == 0.5
    bad = cli_inproc("exec", str(nb), "--cell-timeout", "nan")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert len(list((store_dir / "nb").iterdir())) == 1  # the nan run recorded nothing


def test_a_non_utf8_parameter_is_bad_input(cli, make_notebook, store_dir):
    nb = make_notebook("print(name)", parameters="name = 'x'")
    done = cli("exec", str(nb), "-p", "name", "caf\udce9")  # the byte 0xe9 (latin-1 é)
    assert done.returncode == 2, done.stderr
    assert "not valid UTF-8" in done.stderr and "Traceback" not in done.stderr
    assert not (store_dir / "nb").exists()
