"""A home (spool, store, catalog) on a real, full tmpfs: runs still end in one record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import load_output, nbprod_command

BIG = "print('x' * 4_000_000)"  # a 4 MB output notebook on a 2 MB filesystem


@pytest.fixture
def full_home(tmp_path: Path, nbprod_env: dict[str, str]) -> dict[str, str]:
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    temp = tmp_path / "tmp"
    temp.mkdir()
    try:
        yield {**nbprod_env, "NBPROD_HOME": str(mount / "home"), "TMPDIR": str(temp)}
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _exec(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*nbprod_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _run_id(stdout: str) -> str:
    assert stdout.startswith("run "), stdout
    return stdout.split()[1]


def test_big_output_on_a_full_home_ends_in_a_record_and_later_runs_work(
    full_home, make_notebook, tmp_path
):
    home = Path(full_home["NBPROD_HOME"])
    done = _exec(full_home, "exec", str(make_notebook(BIG, name="big.ipynb")), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    problem = [line for line in done.stderr.splitlines() if line.startswith("nbprod: ")]
    assert len(problem) == 1 and "No space left on device" in problem[0], done.stderr
    run_id = _run_id(done.stdout)
    record = json.loads((home / "store" / "big" / run_id / "run.json").read_text())
    assert record["status"] == "failed" and record["error"]["ename"] == "OutputNotSaved"
    assert "output" not in record["artifacts"]
    kept = tmp_path / "tmp" / "nbprod-unsaved" / run_id / "big.ipynb"
    assert str(kept) in problem[0] and kept.stat().st_size > 4_000_000
    assert "x" * 1000 in load_output(kept).cells[0].outputs[0].text
    assert not any((home / "spool").iterdir())  # nothing half-written blocks the next run
    listed = json.loads(_exec(full_home, "runs", "list", "--json", cwd=tmp_path).stdout)
    assert [r["status"] for r in listed if r["run_id"] == run_id] == ["failed"]

    later = _exec(
        full_home, "exec", str(make_notebook("print(1)", name="small.ipynb")), cwd=tmp_path
    )
    assert later.returncode == 0, later.stderr
    info = _exec(full_home, "store", "info", cwd=tmp_path)
    assert "(0 runs waiting)" in info.stdout and "other folders" not in info.stdout


def test_a_full_home_with_the_store_elsewhere_publishes_directly(
    full_home, make_notebook, tmp_path
):
    store = tmp_path / "store"
    nb = make_notebook(BIG, name="big.ipynb")
    done = _exec(full_home, "exec", str(nb), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "No space left on device" in done.stderr and "published to the store directly" in (
        done.stderr
    )
    run_id = _run_id(done.stdout)
    record = json.loads((store / "big" / run_id / "run.json").read_text())
    assert record["status"] == "succeeded"
    out = store / record["artifacts"]["output"]
    assert out.stat().st_size > 4_000_000 and (store / record["artifacts"]["snapshot"]).is_file()
    assert not any((Path(full_home["NBPROD_HOME"]) / "spool").iterdir())


def test_a_completely_full_home_is_one_line_and_no_traceback(full_home, make_notebook, tmp_path):
    home = Path(full_home["NBPROD_HOME"])
    home.mkdir()
    filler = home / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    done = _exec(full_home, "exec", str(make_notebook("print(1)")), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "record could not be written" in done.stderr
    run_id = _run_id(done.stdout)
    assert (tmp_path / "tmp" / "nbprod-unsaved" / run_id / "nb.ipynb").is_file()
    assert not list((home / "spool").glob("*/*"))
    filler.unlink()
    again = _exec(full_home, "exec", str(make_notebook("print(2)")), cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_store_info_counts_what_a_killed_run_left_in_the_spool(nbprod_env, make_notebook, tmp_path):
    nb = make_notebook("import time; time.sleep(300)")
    proc = subprocess.Popen(
        [*nbprod_command(), "exec", str(nb)],
        env=nbprod_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.readline()
    spool = Path(nbprod_env["NBPROD_HOME"]) / "spool"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(spool.glob("*/kernel.log")):
        time.sleep(0.2)
    time.sleep(2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    info = subprocess.run(
        [*nbprod_command(), "store", "info"], env=nbprod_env, capture_output=True, text=True
    )
    assert info.returncode == 0, info.stderr
    assert "(0 runs waiting)" in info.stdout
    assert "1 other folders" in info.stdout and "left by a crash" in info.stdout
