"""`nbprod runs delete` and `nbprod gc` on real run folders with links and faults in them.

A run is deleted whole or not at all, store and catalog together; links inside a run are
removed as links, never followed. Interruptions are real: an immutable file (chattr +i,
which stops root too), a mount point inside a run folder (in a private mount namespace).

Listing, syncing and most deletions call the CLI in this process (`cli_inproc`); the proof
through the real console script is the `runs delete` of
test_runs_delete_removes_links_not_their_targets and of
test_an_undeletable_file_refuses_the_whole_command (exit 5), the `gc` of
test_gc_removes_links_not_their_targets, the killed deletions and the mount-namespace test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import isolated_env, nbprod_command, write_notebook


def clone_run(store_dir: Path, source: dict, job: str, run_id: str, started_at: str) -> str:
    """A copy of a real run folder under another id (and job), its record rewritten to match."""
    folder = store_dir / job / run_id
    shutil.copytree(store_dir / source["job"] / source["run_id"], folder, symlinks=True)
    record = json.loads((folder / "run.json").read_text())
    prefix = f"{source['job']}/{source['run_id']}/"
    for name, key in record["artifacts"].items():
        if key.startswith(prefix):
            record["artifacts"][name] = f"{job}/{run_id}/{key[len(prefix) :]}"
    record.update(
        run_id=run_id, job=job, logical_run_id=run_id, started_at=started_at, created_at=started_at
    )
    (folder / "run.json").write_text(json.dumps(record))
    return run_id


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One real run of job 'metrics' (one kernel per module, not per test): its store
    folder and record, copied into each test's store by `runs`."""
    base = tmp_path_factory.mktemp("real-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBPROD_")}
    env.update(isolated_env(base))
    nb = write_notebook(
        base / "notebooks" / "metrics.ipynb", "print('day', day)", parameters="day = 0"
    )
    done = subprocess.run(
        [*nbprod_command(), "exec", str(nb), "-p", "day", "3", "--job", "metrics", "--json"],
        env=env,
        cwd=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return Path(env["NBPROD_HOME"]) / "store", json.loads(done.stdout)


@pytest.fixture
def runs(cli_inproc, real_run, store_dir):
    """Three finished runs of job 'metrics' (oldest first) and one of job 'other': the
    module's real run, its store copied here (paths in its record rewritten to this store),
    and copies of its folder under older ids."""
    source_store, source = real_run
    shutil.copytree(source_store, store_dir, symlinks=True)
    record_path = store_dir / "metrics" / source["run_id"] / "run.json"
    record_path.write_text(record_path.read_text().replace(str(source_store), str(store_dir)))
    real = json.loads(record_path.read_text())
    assert real["store"] == f"file://{store_dir}"
    ids = [
        clone_run(
            store_dir,
            real,
            "metrics",
            f"2020010{day}T000000000Z-0000000{day}",
            f"2020-01-0{day}T00:00:00Z",
        )
        for day in (1, 2)
    ]
    other = clone_run(
        store_dir, real, "other", "20200103T000000000Z-0000000f", "2020-01-03T00:00:00Z"
    )
    synced = cli_inproc("catalog", "sync")
    assert synced.returncode == 0, synced.stderr
    assert listed(cli_inproc) == {*ids, real["run_id"], other}
    return [*ids, real["run_id"]], other


def listed(cli) -> set[str]:
    done = cli("runs", "list", "--json", "-n", "0")
    assert done.returncode == 0, done.stderr
    return {r["run_id"] for r in json.loads(done.stdout)}


def snapshot_tree(root: Path) -> dict[str, str]:
    """Every path under root (links as links) with its content or link target."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                tree[rel] = f"-> {os.readlink(path)}"
            elif path.is_file():
                tree[rel] = path.read_bytes().hex()
            else:
                tree[rel] = "dir"
    return tree


def plant_links(folder: Path, victim_output: Path, outside: Path) -> None:
    """Links of every kind in a run folder: to another run's output, out of the store."""
    (folder / "link-to-other-run.ipynb").symlink_to(victim_output)
    (folder / "link-outside.txt").symlink_to(outside / "secret.txt")
    (folder / "dirlink-outside").symlink_to(outside, target_is_directory=True)
    (folder / "dirlink-other-run").symlink_to(victim_output.parent, target_is_directory=True)
    (folder / "dangling").symlink_to(folder / "nothing-here")
    sub = folder / "extra" / "deeper"
    sub.mkdir(parents=True)
    (sub / "data.csv").write_text("a,b\n1,2\n")
    (sub / "link-outside").symlink_to(outside / "secret.txt")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside-the-store"
    folder.mkdir()
    (folder / "secret.txt").write_text("not nbprod's to delete")
    return folder


def test_runs_delete_removes_links_not_their_targets(cli, cli_inproc, runs, store_dir, outside):
    (oldest, middle, newest), other = runs
    doomed = store_dir / "metrics" / oldest
    victim = store_dir / "metrics" / middle / "metrics.ipynb"
    plant_links(doomed, victim, outside)
    before_victim = victim.read_bytes()
    before_outside = snapshot_tree(outside)

    done = cli("runs", "delete", oldest, "--yes")
    assert done.returncode == 0, done.stderr
    assert f"deleted {oldest}" in done.stdout
    assert not doomed.exists() and not doomed.is_symlink()
    assert sorted(p.name for p in (store_dir / "metrics").iterdir()) == [middle, newest]
    assert victim.read_bytes() == before_victim
    assert snapshot_tree(outside) == before_outside
    assert listed(cli_inproc) == {middle, newest, other}
    rebuilt = cli_inproc("catalog", "rebuild")  # the catalog agrees with the store
    assert rebuilt.returncode == 0 and listed(cli_inproc) == {middle, newest, other}


def test_gc_removes_links_not_their_targets(cli, cli_inproc, runs, store_dir, outside):
    (oldest, middle, newest), other = runs
    victim = store_dir / "metrics" / newest / "metrics.ipynb"
    for run_id in (oldest, middle):
        plant_links(store_dir / "metrics" / run_id, victim, outside)
    before_victim = victim.read_bytes()
    before_outside = snapshot_tree(outside)

    done = cli("gc", "--job", "metrics", "--keep-last", "1", "--yes")
    assert done.returncode == 0, done.stderr
    assert "deleted 2 run(s)" in done.stdout
    assert sorted(p.name for p in (store_dir / "metrics").iterdir()) == [newest]
    assert victim.read_bytes() == before_victim
    assert snapshot_tree(outside) == before_outside
    assert listed(cli_inproc) == {newest, other}


def test_a_run_folder_that_is_a_link_is_unlinked(cli_inproc, runs, store_dir, outside):
    """The run folder itself replaced by a link elsewhere: the link goes, the target stays."""
    (oldest, middle, _), _ = runs
    folder = store_dir / "metrics" / oldest
    elsewhere = outside / "moved-run"
    shutil.move(str(folder), str(elsewhere))
    folder.symlink_to(elsewhere, target_is_directory=True)
    before = snapshot_tree(outside)

    done = cli_inproc("runs", "delete", oldest, "--yes")
    assert done.returncode == 0, done.stderr
    assert not folder.is_symlink() and not folder.exists()
    assert snapshot_tree(outside) == before
    assert oldest not in listed(cli_inproc)


# --- faults: a run is deleted whole or not at all ---------------------------------------


@pytest.fixture
def immutable(tmp_path: Path):
    """chattr +i (which stops root too); cleared at teardown under all of tmp_path (files
    may have moved since), so pytest can remove it."""
    if not shutil.which("chattr"):
        pytest.skip("chattr is not installed")

    def set_flag(path: Path, on: bool = True) -> None:
        done = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"chattr does not work here: {done.stderr.decode().strip()}")

    yield set_flag
    subprocess.run(["chattr", "-R", "-i", str(tmp_path)], capture_output=True)


def test_an_undeletable_file_refuses_the_whole_command(cli, cli_inproc, runs, store_dir, immutable):
    (oldest, middle, newest), other = runs
    folder = store_dir / "metrics" / oldest
    (folder / "extra").mkdir()
    stuck = folder / "extra" / "stuck.csv"
    stuck.write_text("x")
    immutable(stuck)
    before = snapshot_tree(store_dir)

    done = cli("runs", "delete", middle, oldest, "--yes")
    assert done.returncode == 5, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "immutable" in lines[0] and "nothing was deleted" in lines[0]
    assert str(stuck) in lines[0]
    assert snapshot_tree(store_dir) == before  # planned first: not even `middle` went
    assert listed(cli_inproc) == {oldest, middle, newest, other}


def test_gc_skips_a_run_that_cannot_go_whole_and_deletes_the_rest(
    cli_inproc, runs, store_dir, immutable
):
    (oldest, middle, newest), other = runs
    folder = store_dir / "metrics" / oldest
    before = snapshot_tree(folder)
    immutable(folder / "metrics.ipynb")

    done = cli_inproc("gc", "--job", "metrics", "--keep-last", "1", "--yes")
    assert done.returncode == 5, done.stderr
    assert "deleted 1 run(s)" in done.stdout
    assert f"skipped: cannot delete metrics/{oldest}" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("nbprod: error: 1 run(s)")
    assert snapshot_tree(folder) == before
    assert not (store_dir / "metrics" / middle).exists()
    assert listed(cli_inproc) == {oldest, newest, other}

    immutable(folder / "metrics.ipynb", on=False)
    again = cli_inproc("gc", "--job", "metrics", "--keep-last", "1", "--yes")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (store_dir / "metrics").iterdir()) == [newest]
    assert listed(cli_inproc) == {newest, other}


def test_a_fault_after_the_rename_leaves_the_run_gone_and_gc_finishes_it(
    cli_inproc, runs, store_dir, immutable, nbprod_env
):
    """A file that turns undeletable between planning and deleting (a real EPERM)."""
    from nbprod.api import get_run, open_catalog
    from nbprod.config import Settings
    from nbprod.retention import delete_run, plan_delete
    from nbprod.store import open_store

    (oldest, middle, newest), other = runs
    settings = Settings.load()
    store = open_store(settings.store)
    record = get_run(oldest, settings=settings)
    removal = plan_delete(store, record)
    stuck = store_dir / "metrics" / oldest / "metrics.ipynb"
    immutable(stuck)  # after the plan: only the deletion itself can meet it
    catalog = open_catalog(settings)
    try:
        notes = delete_run(store, catalog, record, removal)
    finally:
        catalog.close()
    assert (
        len(notes) == 1 and "is deleted, but" in notes[0] and "Operation not permitted" in notes[0]
    )
    assert listed(cli_inproc) == {middle, newest, other}  # gone from the catalog...
    assert sorted(
        p.name for p in (store_dir / "metrics").iterdir() if not p.name.startswith(".")
    ) == [middle, newest]
    assert [e.name for e in store.list("metrics")] == [middle, newest]  # ...and the store
    (trash,) = (store_dir / "metrics").glob(f".deleting-{oldest}.*")
    assert [p.name for p in trash.iterdir()] == ["metrics.ipynb"]

    pending = cli_inproc("gc", "--dry-run")
    assert f"interrupted deletion of metrics/{oldest} is pending" in pending.stderr
    again = cli_inproc("gc", "--yes")  # still stuck: reported again, nothing listed
    assert again.returncode == 0 and "would not go" in again.stderr, again.stderr
    assert listed(cli_inproc) == {middle, newest, other}
    immutable(trash / "metrics.ipynb", on=False)
    done = cli_inproc("gc", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"finished the interrupted deletion of run {oldest}" in done.stderr
    assert not trash.exists()
    assert listed(cli_inproc) == {middle, newest, other}


def hold_catalog_lock(home: Path):
    """A writer's lock on the SQLite catalog, as another process would hold it."""
    import sqlite3

    conn = sqlite3.connect(home / "catalog.db", isolation_level=None, timeout=30)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def wait_for(predicate, timeout: float = 90.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_in_the_middle_of_a_deletion_then_gc_completes_it(
    cli_inproc, runs, store_dir, nbprod_env, tmp_path
):
    """SIGKILL between the rename and the catalog commit (held there by a catalog lock)."""
    (oldest, middle, newest), other = runs
    before = snapshot_tree(store_dir / "metrics" / oldest)
    lock = hold_catalog_lock(Path(nbprod_env["NBPROD_HOME"]))
    try:
        proc = subprocess.Popen(
            [*nbprod_command(), "runs", "delete", oldest, "--yes"],
            env=nbprod_env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: any((store_dir / "metrics").glob(f".deleting-{oldest}.*")))
        proc.kill()
        proc.wait(30)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    (trash,) = (store_dir / "metrics").glob(f".deleting-{oldest}.*")
    assert snapshot_tree(trash) == before  # whole, out of every reader's sight
    assert not (store_dir / "metrics" / oldest).exists()

    done = cli_inproc("gc", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"finished the interrupted deletion of run {oldest}" in done.stderr
    assert not trash.exists()
    assert listed(cli_inproc) == {middle, newest, other}


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare (mount namespaces)")
def test_a_mount_point_inside_a_run_refuses_the_deletion(cli_inproc, runs, store_dir, nbprod_env):
    (oldest, middle, newest), other = runs
    mounted = store_dir / "metrics" / oldest / "extra"
    mounted.mkdir()
    script = (
        f"mount -t tmpfs none {mounted} && echo kept > {mounted}/on-tmpfs.txt && "
        f"{' '.join(nbprod_command())} runs delete {oldest} --yes; "
        f"echo rc=$?; cat {mounted}/on-tmpfs.txt"
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        env=nbprod_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "mount:" in done.stderr and "rc=" not in done.stdout:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    assert "rc=5" in done.stdout and "kept" in done.stdout, done.stdout + done.stderr
    assert "on another filesystem (a mount point)" in done.stderr
    assert (store_dir / "metrics" / oldest / "run.json").is_file()
    assert listed(cli_inproc) == {oldest, middle, newest, other}


# --- S3 (a real S3 server over HTTP) ----------------------------------------------------


def test_s3_delete_is_complete_and_a_killed_one_is_finished_by_gc(
    cli, cli_inproc, make_notebook, s3_env, tmp_path
):
    import boto3

    nb = make_notebook("print('hi')", name="metrics.ipynb")
    done = cli("exec", str(nb), "--job", "metrics", "--json", env=s3_env)
    assert done.returncode == 0, done.stderr
    real = json.loads(done.stdout)["run_id"]
    bucket, _, prefix = s3_env["NBPROD_STORE"].removeprefix("s3://").partition("/")
    client = boto3.client("s3")

    def objects(run_id: str) -> dict[str, bytes]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/metrics/{run_id}/")
        return {
            o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in listed.get("Contents", [])
        }

    # A copy of the run under an older id, with nested objects a run folder may hold.
    clone = "20200101T000000000Z-00000001"
    for key, data in objects(real).items():
        new_key = key.replace(real, clone)
        if key.endswith("/run.json"):
            record = json.loads(data)
            record.update(run_id=clone, logical_run_id=clone, started_at="2020-01-01T00:00:00Z")
            record["artifacts"] = {
                k: v.replace(real, clone) for k, v in record["artifacts"].items()
            }
            data = json.dumps(record).encode()
        client.put_object(Bucket=bucket, Key=new_key, Body=data)
    for run_id in (real, clone):
        client.put_object(
            Bucket=bucket, Key=f"{prefix}/metrics/{run_id}/extra/deep/x.csv", Body=b"1"
        )
    assert cli_inproc("catalog", "sync", env=s3_env).returncode == 0
    assert listed(lambda *a: cli_inproc(*a, env=s3_env)) == {real, clone}

    gone = cli("runs", "delete", clone, "--yes", env=s3_env)
    assert gone.returncode == 0, gone.stderr
    assert objects(clone) == {}
    assert listed(lambda *a: cli_inproc(*a, env=s3_env)) == {real}

    before = objects(real)
    intent = f"{prefix}/.nbprod/deleting/metrics/{real}.json"

    def intent_written() -> bool:
        return client.list_objects_v2(Bucket=bucket, Prefix=intent).get("KeyCount", 0) > 0

    lock = hold_catalog_lock(Path(s3_env["NBPROD_HOME"]))
    try:
        proc = subprocess.Popen(
            [*nbprod_command(), "runs", "delete", real, "--yes"],
            env=s3_env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(intent_written)
        proc.kill()  # after the intent, before the catalog commit
        proc.wait(30)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert objects(real) == before  # nothing deleted yet: whole, and still listed
    assert listed(lambda *a: cli_inproc(*a, env=s3_env)) == {real}
    pending = cli_inproc("gc", "--dry-run", env=s3_env)
    assert f"interrupted deletion of metrics/{real} is pending" in pending.stderr

    finished = cli_inproc("gc", "--yes", env=s3_env)
    assert finished.returncode == 0, finished.stderr
    assert f"finished the interrupted deletion of run {real}" in finished.stderr
    assert objects(real) == {} and not intent_written()
    assert listed(lambda *a: cli_inproc(*a, env=s3_env)) == set()
