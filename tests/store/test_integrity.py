"""Content-addressed objects are verified on every read: a changed snapshot never runs.

Each case tampers with a real snapshot (in a local store, in S3 over HTTP, in the local
snapshot cache) and drives the real CLI: the command must fail with one line naming the
object and both hashes, exit 5 (StoreError family), start no kernel and record no run.
The refused commands and the runs go through the console script; `jobs apply`, `jobs
history` and `runs list` around them are called in this process (`cli_inproc`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from nbprod.errors import CorruptObject
from nbprod.store import layout
from nbprod.store.local import LocalStore
from tests.conftest import write_notebook


@pytest.fixture
def job(tmp_path: Path):
    """A job whose notebook leaves a marker when a kernel runs it; its definition file."""
    ran = tmp_path / "kernel-ran"
    notebook = write_notebook(
        tmp_path / "notebooks" / "report.ipynb",
        f"open({str(ran)!r}, 'a').write('ORIGINAL-CODE ' + str(days) + '\\n')",
        parameters="days = 7",
    )
    definition = tmp_path / "report.yaml"
    definition.write_text(yaml.safe_dump({"name": "report", "notebook": str(notebook)}))
    return notebook, definition, ran


def tamper(data: bytes, tmp_path: Path) -> bytes:
    """The same notebook with its code swapped for code that leaves a 'tampered' marker."""
    evil = f"open({str(tmp_path / 'tampered')!r}, 'w').write('EVIL')"
    nb = json.loads(data)
    nb["cells"][-1]["source"] = evil
    return json.dumps(nb).encode()


def pinned_sha(cli) -> str:
    shown = cli("jobs", "history", "report", "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)[-1]["notebook_sha256"]


def run_ids(cli, env=None) -> list[str]:
    listed = cli("runs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    return [r["run_id"] for r in json.loads(listed.stdout)]


def assert_refused(done, sha: str, tmp_path: Path) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 5, done.stderr
    assert len(lines) == 1, done.stderr
    assert "corrupt" in lines[0] and sha in lines[0]
    actual = lines[0].rsplit(" ", 1)[-1]
    assert len(actual) == 64 and actual != sha  # the hash the bytes really have
    assert not (tmp_path / "tampered").exists(), "the tampered code ran"


def test_tampered_snapshot_in_a_local_store_is_refused(cli, cli_inproc, job, store_dir, tmp_path):
    _, definition, ran = job
    assert cli_inproc("jobs", "apply", str(definition)).returncode == 0
    sha = pinned_sha(cli_inproc)
    snapshot = store_dir / layout.snapshot_key(sha)
    snapshot.write_bytes(tamper(snapshot.read_bytes(), tmp_path))

    done = cli("jobs", "run", "report")
    assert_refused(done, sha, tmp_path)
    assert str(snapshot) in done.stderr
    assert not ran.exists(), "a kernel started"
    assert run_ids(cli_inproc) == []
    assert not (store_dir / "report").exists()
    assert not (store_dir.parent / "snapshots" / sha).exists()


def test_tampered_snapshot_cache_is_refused_by_jobs_run_and_rerun(
    cli, cli_inproc, job, store_dir, tmp_path
):
    _, definition, ran = job
    assert cli_inproc("jobs", "apply", str(definition)).returncode == 0
    first = cli("jobs", "run", "report", "--json")
    assert first.returncode == 0, first.stderr
    first_id = json.loads(first.stdout)["run_id"]
    sha = pinned_sha(cli_inproc)
    cached = store_dir.parent / "snapshots" / sha / "report.ipynb"
    assert cached.is_file()
    cached.write_bytes(tamper(cached.read_bytes(), tmp_path))
    ran.unlink()

    for args in (("jobs", "run", "report"), ("runs", "rerun", first_id)):
        done = cli(*args)
        assert_refused(done, sha, tmp_path)
        assert str(cached) in done.stderr
        assert not ran.exists(), f"a kernel started for {args}"
    assert run_ids(cli_inproc) == [first_id]
    assert [p.name for p in (store_dir / "report").iterdir()] == [first_id]
    # the store's own copy is intact: nbprod refuses the cache, it does not "repair" it
    assert hashlib.sha256((store_dir / layout.snapshot_key(sha)).read_bytes()).hexdigest() == sha


def test_tampered_snapshot_is_refused_by_rerun_of_an_exec_run(
    cli, cli_inproc, make_notebook, tmp_path
):
    ran = tmp_path / "kernel-ran"
    notebook = make_notebook(f"open({str(ran)!r}, 'a').write('ran\\n')", name="plain.ipynb")
    done = cli("exec", str(notebook), "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    ran.unlink()
    store = LocalStore(Path(record["store"].removeprefix("file://")))
    key = record["artifacts"]["snapshot"]
    (store.root / key).write_bytes(tamper(store.get(key), tmp_path))

    again = cli("runs", "rerun", record["run_id"])
    assert_refused(again, record["notebook"]["sha256"], tmp_path)
    assert not ran.exists()
    assert run_ids(cli_inproc) == [record["run_id"]]


def test_tampered_snapshot_in_s3_is_refused(cli, cli_inproc, job, s3_env, tmp_path):
    import boto3

    _, definition, ran = job
    assert cli_inproc("jobs", "apply", str(definition), env=s3_env).returncode == 0
    first = cli("jobs", "run", "report", "--json", env=s3_env)
    assert first.returncode == 0, first.stderr
    first_id = json.loads(first.stdout)["run_id"]
    ran.unlink()
    sha = pinned_sha(lambda *a: cli_inproc(*a, env=s3_env))
    bucket, _, prefix = s3_env["NBPROD_STORE"].removeprefix("s3://").partition("/")
    client = boto3.client("s3")
    key = f"{prefix}/{layout.snapshot_key(sha)}"
    data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=tamper(data, tmp_path))
    # Without a local copy the S3 object itself is read (and verified).
    cache = Path(s3_env["NBPROD_HOME"]) / "snapshots" / sha
    for child in cache.iterdir():
        child.unlink()
    cache.rmdir()

    for args in (("jobs", "run", "report"), ("runs", "rerun", first_id)):
        done = cli(*args, env=s3_env)
        assert_refused(done, sha, tmp_path)
        assert f"s3://{bucket}/{key}" in done.stderr
        assert not ran.exists(), f"a kernel started for {args}"
        assert not cache.exists(), "the tampered bytes were cached"
    assert run_ids(cli_inproc, env=s3_env) == [first_id]
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/report/")
    assert {o["Key"].split("/")[3] for o in listed["Contents"]} == {first_id}


def test_store_get_and_put_verify_content_addressed_keys(tmp_path):
    store = LocalStore(tmp_path / "store")
    good = b'{"cells": []}'
    sha = hashlib.sha256(good).hexdigest()
    store.put(layout.snapshot_key(sha), good)
    assert store.get(layout.snapshot_key(sha)) == good
    with pytest.raises(CorruptObject, match=sha):
        store.put(layout.environment_key(sha), b"other bytes")  # never stored under a lie
    assert not store.exists(layout.environment_key(sha))
    (store.root / layout.snapshot_key(sha)).write_bytes(b"changed")
    with pytest.raises(CorruptObject) as caught:
        store.get(layout.snapshot_key(sha))
    assert hashlib.sha256(b"changed").hexdigest() in str(caught.value)
    # objects that are not content-addressed are read as they are
    store.put("job/run/run.json", b"{}")
    assert store.get("job/run/run.json") == b"{}"


def test_tampered_package_list_cache_is_rescanned_not_recorded(cli, make_notebook, store_dir):
    notebook = make_notebook("print('hi')", name="env.ipynb")
    first = json.loads(cli("exec", str(notebook), "--json").stdout)
    true_sha = first["environment"]["packages_sha256"]
    (cache,) = (store_dir.parent / "cache").glob("packages-*.txt")
    header, _, text = cache.read_text().partition("\n")
    cache.write_text(f"{header}\n{text}evil-package==6.6.6\n")

    done = cli("exec", str(notebook), "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["environment"]["packages_sha256"] == true_sha
    stored = (store_dir / record["artifacts"]["environment"]).read_text()
    assert "evil-package" not in stored
    assert "evil-package" not in cache.read_text()  # rewritten from the rescan
