"""nbprod.execute through real ipykernel kernels: statuses, records, outputs, markers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import nbprod
from nbprod.errors import KernelNotFound, NotebookError, ParameterError
from nbprod.records import RunRecord, RunStatus
from tests.conftest import EXAMPLES, GLUE, load_output


def _record(store_dir: Path, run: nbprod.Run) -> RunRecord:
    path = store_dir / run.record.artifacts["record"]
    return RunRecord.from_json(path.read_text("utf-8"))


def test_success_stores_output_record_snapshot_and_scraps(nbprod_env, store_dir):
    run = nbprod.execute(EXAMPLES / "sales_report.ipynb", {"region": "us", "days": 30})
    assert run.status is RunStatus.SUCCEEDED and run.exit_code == 0
    out = Path(run.output_location)
    assert out == store_dir / "sales_report" / run.run_id / "sales_report.ipynb"
    record = _record(store_dir, run)
    assert record.status is RunStatus.SUCCEEDED
    assert record.parameters["region"] == "us" and record.parameters["days"] == 30
    assert record.parameters["currency"] == "EUR"  # defaults are recorded too
    assert record.parameters_given == ["days", "region"]
    assert record.scraps["orders"]["value"] > 0
    assert record.scraps["top_product"]["value"] == "widget"
    assert isinstance(record.scraps["total_revenue"]["value"], float)
    assert record.duration_s > 0 and record.started_at < record.finished_at
    assert record.progress.cells_done == record.progress.cells_total
    snapshot = store_dir / record.artifacts["snapshot"]
    assert snapshot.read_bytes() == (EXAMPLES / "sales_report.ipynb").read_bytes()
    packages = (store_dir / record.artifacts["environment"]).read_text()
    assert "papermill==" in packages
    assert record.environment["python"] and record.environment["hostname"]
    nb = load_output(out)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'region = "us"' in injected[0].source
    assert all(c.metadata["papermill"]["status"] == "completed" for c in nb.cells)
    assert any(o.get("data", {}).get("image/png") for c in nb.cells for o in c.get("outputs", []))
    # the spool folder is cleared once the run is in the store
    assert not (Path(nbprod_env["NBPROD_HOME"]) / "spool" / run.run_id).exists()


def test_failing_cell_keeps_output_and_marks_the_cell(nbprod_env, store_dir):
    run = nbprod.execute(EXAMPLES / "failing_example.ipynb")
    assert run.status is RunStatus.FAILED and run.exit_code == 1
    error = run.record.error
    assert error.ename == "ValueError" and "data quality check failed" in error.evalue
    nb = load_output(run.output_location)
    failing = nb.cells[error.cell_index]
    assert any(o.output_type == "error" for o in failing.outputs)
    assert 'id="papermill-error-cell"' in nb.cells[error.cell_index - 1].source
    assert "papermill-error-cell-tag" in nb.cells[0].metadata["tags"]
    assert failing.metadata["papermill"]["status"] == "failed"
    later = nb.cells[error.cell_index + 1 :]
    assert later and all(c.get("execution_count") is None for c in later if c.cell_type == "code")
    assert run.record.scraps["score"]["value"] == pytest.approx(0.33, abs=0.01)
    assert error.traceback and "\x1b[" not in "".join(error.traceback)


def test_sys_exit_zero_ends_the_run_successfully(make_notebook, nbprod_env):
    nb = make_notebook("print('before')", "import sys; sys.exit(0)", "print('never')")
    run = nbprod.execute(nb)
    assert run.status is RunStatus.SUCCEEDED and run.record.error is None
    out = load_output(run.output_location)
    assert out.cells[2].execution_count is None


def test_sys_exit_nonzero_is_a_failure(make_notebook, nbprod_env):
    run = nbprod.execute(make_notebook("import sys; sys.exit(3)"))
    assert run.status is RunStatus.FAILED and run.record.error.ename == "SystemExit"


def test_whole_run_timeout_interrupts_and_keeps_output(make_notebook, nbprod_env):
    nb = make_notebook("print('started', flush=True)", "import time; time.sleep(60)", "print(3)")
    run = nbprod.execute(nb, timeout=3)
    assert run.status is RunStatus.TIMED_OUT and run.exit_code == 3
    assert run.record.duration_s < 30
    out = load_output(run.output_location)
    assert out.cells[0].source.startswith("<span")  # the marker at the top
    assert any("started" in o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert out.cells[run.record.error.cell_index].source.startswith("import time")


def test_cell_timeout(make_notebook, nbprod_env):
    run = nbprod.execute(make_notebook("1 + 1", "import time; time.sleep(60)"), cell_timeout=2)
    assert run.status is RunStatus.TIMED_OUT
    assert "cell exceeded" in run.record.error.evalue


def test_timeout_kills_a_kernel_that_ignores_interrupts(make_notebook, nbprod_env, tmp_path):
    from nbprod.config import Settings

    nb = make_notebook(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)"
    )
    settings = Settings.load({"kill_grace": 1})
    run = nbprod.execute(nb, timeout=2, settings=settings)
    assert run.status is RunStatus.TIMED_OUT and run.record.duration_s < 30
    assert Path(run.output_location).is_file()


def test_kernel_death_is_its_own_status(make_notebook, nbprod_env):
    run = nbprod.execute(make_notebook("print(1)", "import os; os._exit(1)", "print(3)"))
    assert run.status is RunStatus.KERNEL_DIED and run.exit_code == 4
    out = load_output(run.output_location)
    dead = out.cells[run.record.error.cell_index]
    assert dead.source.startswith("import os")
    assert "kernel died" in "".join(o.get("text", "") for o in dead.outputs)


def test_notebook_without_parameters_cell(make_notebook, nbprod_env):
    nb = make_notebook("x = 40 + 2", "print(x)")
    run = nbprod.execute(nb)
    assert run.status is RunStatus.SUCCEEDED and run.record.parameters == {}
    out = load_output(run.output_location)
    assert len(out.cells) == 2  # nothing injected
    with pytest.raises(ParameterError, match="no parameters cell"):
        nbprod.execute(nb, {"x": 1})


def test_bad_input_is_rejected_before_a_kernel_starts(make_notebook, nbprod_env, store_dir):
    nb = make_notebook("print(days)", parameters="days: int = 7  # history")
    with pytest.raises(ParameterError, match="days"):
        nbprod.execute(nb, {"days": "seven"})
    with pytest.raises(ParameterError, match="unknown parameter 'dayz'"):
        nbprod.execute(nb, {"dayz": 1})
    with pytest.raises(KernelNotFound, match="no kernel named 'nope'"):
        nbprod.execute(nb, kernel="nope")
    with pytest.raises(NotebookError, match="not found"):
        nbprod.execute(nb.with_name("missing.ipynb"))
    broken = nb.with_name("broken.ipynb")
    broken.write_text('{"cells": [', "utf-8")
    with pytest.raises(NotebookError, match="not a valid notebook"):
        nbprod.execute(broken)
    assert not store_dir.exists() or not any(store_dir.iterdir())  # no run recorded


def test_non_ascii_parameters_and_outputs(make_notebook, nbprod_env, store_dir):
    nb = make_notebook(
        "import scrapbook as sb\nprint(f'Grüße aus {city} 🚀')\nsb.glue('city', city)",
        parameters="city = 'Köln'  # Stadt",
        name="Berichte_ä.ipynb",
    )
    run = nbprod.execute(nb, {"city": "São Paulo – 東京"})
    assert run.status is RunStatus.SUCCEEDED
    assert run.record.scraps["city"]["value"] == "São Paulo – 東京"
    out = load_output(run.output_location)
    assert "Grüße aus São Paulo – 東京 🚀" in out.cells[-1].outputs[0].text
    raw = (store_dir / run.record.artifacts["record"]).read_text("utf-8")
    assert "São Paulo – 東京" in raw  # stored readable, not \u-escaped
    assert run.record.notebook.name == "Berichte_ä.ipynb"


def test_two_megabyte_output(make_notebook, nbprod_env):
    run = nbprod.execute(make_notebook("print('x' * 2_000_000)"))
    assert run.status is RunStatus.SUCCEEDED
    assert Path(run.output_location).stat().st_size > 2_000_000
    out = load_output(run.output_location)
    assert len("".join(o.text for o in out.cells[0].outputs)) >= 2_000_000


def test_cwd_defaults_to_the_notebook_folder_and_can_be_set(make_notebook, nbprod_env, tmp_path):
    nb = make_notebook(GLUE + "import os\nglue('cwd', os.getcwd())")
    run = nbprod.execute(nb)
    assert run.record.scraps["cwd"]["value"] == str(nb.parent)
    other = tmp_path / "elsewhere"
    other.mkdir()
    run = nbprod.execute(nb, cwd=other)
    assert run.record.scraps["cwd"]["value"] == str(other)


def test_git_information_for_a_notebook_in_a_checkout(make_notebook, nbprod_env):
    nb = make_notebook("1 + 1")
    repo = nb.parent
    git = ["git", "-C", str(repo), "-c", "user.email=t@e.st", "-c", "user.name=T"]
    subprocess.run([*git, "init", "-q", "-b", "trunk"], check=True)
    subprocess.run([*git, "add", nb.name], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "nb"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    run = nbprod.execute(nb)
    assert run.record.git["commit"] == head.strip()
    assert run.record.git["branch"] == "trunk" and run.record.git["dirty"] is False
    nb.write_text(nb.read_text() + "\n")
    assert nbprod.execute(nb).record.git["dirty"] is True


def test_runs_are_listed_newest_first_and_found_by_prefix(make_notebook, nbprod_env):
    nb = make_notebook("print(n)", parameters="n = 0")
    first = nbprod.execute(nb, {"n": 1}, job="counting")
    second = nbprod.execute(nb, {"n": 2}, job="counting")
    other = nbprod.execute(make_notebook("1", name="other.ipynb"))
    runs = nbprod.list_runs()
    assert [r.run_id for r in runs] == [other.run_id, second.run_id, first.run_id]
    assert [r.run_id for r in nbprod.list_runs(job="counting", limit=1)] == [second.run_id]
    assert nbprod.get_run(first.run_id[:22]).parameters == {"n": 1}
    assert nbprod.list_runs(status="failed") == []
    record = json.loads(nbprod.get_run(second.run_id).to_json())
    assert record["schema_version"] == 1 and record["job"] == "counting"


def _kernelspec(tmp_path: Path, name: str, script: str) -> Path:
    """A kernelspec whose process runs ``script`` before becoming an ipykernel."""
    import json
    import sys

    folder = tmp_path / "jupyter" / "kernels" / name
    folder.mkdir(parents=True)
    launcher = folder / "launch.py"
    launcher.write_text(
        script + "\nfrom ipykernel import kernelapp\nkernelapp.launch_new_instance()\n"
    )
    spec = {
        "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
        "display_name": name,
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    return tmp_path / "jupyter"


def test_a_kernel_that_dies_while_starting_is_started_again(
    make_notebook, nbprod_env, tmp_path, monkeypatch
):
    marker = tmp_path / "first-start"
    script = (
        "import os, sys, pathlib\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "if not m.exists():\n"
        "    m.write_text('x'); sys.stderr.write('simulated start-up crash\\n'); os._exit(1)\n"
    )
    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path, "flaky", script)))
    run = nbprod.execute(make_notebook("print('ran')"), kernel="flaky")
    assert run.status is RunStatus.SUCCEEDED and marker.exists()
    log = Path(run.output_location).with_name("kernel.log").read_text()
    assert "simulated start-up crash" in log and "starting another" in log


def test_a_kernel_that_never_starts_fails_the_run_with_its_output(
    make_notebook, nbprod_env, tmp_path, monkeypatch
):
    script = "import os\nos._exit(1)\n"
    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path, "broken", script)))
    run = nbprod.execute(make_notebook("print('never')"), kernel="broken")
    assert run.status is RunStatus.FAILED and run.record.error.ename == "KernelStartError"
    assert Path(run.output_location).is_file()
