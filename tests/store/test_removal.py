"""Store removals on a real folder and a real S3 server: planned without following links,
then whole or not at all (local) or resumable and never half-listed (S3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbprod.errors import DeleteRefused
from nbprod.store.base import Kind
from nbprod.store.layout import META
from nbprod.store.local import LocalStore
from nbprod.store.s3 import INTENTS, S3Store

RUN = "job/20240101T000000000Z-0123abcd"


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("the catalog is down")


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    store.put(f"{RUN}/run.json", b"{}")
    store.put(f"{RUN}/out.ipynb", b"output")
    store.put(f"{RUN}/sub/deeper/data.csv", b"1,2")
    store.put("job/20240102T000000000Z-0123abce/out.ipynb", b"another run's output")
    return store


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_local_plan_lists_links_as_links_and_does_not_enter_them(local, tmp_path):
    outside = tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    (outside / "inner" / "secret").write_text("x")
    run = local.root / RUN
    (run / "to-outside").symlink_to(outside, target_is_directory=True)
    (run / "to-other").symlink_to(local.root / "job/20240102T000000000Z-0123abce/out.ipynb")
    removal = local.plan_removal(RUN, first=(f"{RUN}/run.json",))
    kinds = {item.key.removeprefix(f"{RUN}/"): item.kind for item in removal.items}
    assert kinds == {
        RUN: Kind.DIR,
        "out.ipynb": Kind.FILE,
        "run.json": Kind.FILE,
        "sub": Kind.DIR,
        "sub/deeper": Kind.DIR,
        "sub/deeper/data.csv": Kind.FILE,
        "to-other": Kind.LINK,
        "to-outside": Kind.LINK,
    }
    forgotten = []
    assert local.remove(removal, lambda: forgotten.append(True)) == []
    assert forgotten == [True]
    assert not run.exists()
    assert (outside / "inner" / "secret").read_text() == "x"
    assert local.get("job/20240102T000000000Z-0123abce/out.ipynb") == b"another run's output"
    assert tree(local.root / "job") == [
        "20240102T000000000Z-0123abce",
        "20240102T000000000Z-0123abce/out.ipynb",
    ]


def test_local_remove_undoes_the_rename_when_the_catalog_fails(local):
    before = tree(local.root)
    removal = local.plan_removal(RUN)
    with pytest.raises(Boom):
        local.remove(removal, boom)
    assert tree(local.root) == before  # whole again, where it was
    assert local.unfinished_removals() == []


def test_local_refuses_a_job_folder_that_is_a_link(tmp_path):
    store = LocalStore(tmp_path / "store")
    real = tmp_path / "elsewhere"
    (real / "20240101T000000000Z-0123abcd").mkdir(parents=True)
    (real / "20240101T000000000Z-0123abcd" / "run.json").write_text("{}")
    store.root.mkdir()
    (store.root / "job").symlink_to(real, target_is_directory=True)
    with pytest.raises(DeleteRefused, match="is a link") as caught:
        store.plan_removal(RUN)
    assert "nothing was deleted" in str(caught.value) and "\n" not in str(caught.value)
    assert (real / "20240101T000000000Z-0123abcd" / "run.json").is_file()


def test_local_missing_run_folder_only_forgets(tmp_path):
    store = LocalStore(tmp_path / "store")
    removal = store.plan_removal(RUN)
    assert removal.items == []
    forgotten = []
    assert store.remove(removal, lambda: forgotten.append(1)) == [] and forgotten == [1]


def test_local_delete_of_a_link_removes_the_link_only(local):
    target = local.root / "job/20240102T000000000Z-0123abce/out.ipynb"
    (local.root / RUN / "alias.ipynb").symlink_to(target)
    local.delete(f"{RUN}/alias.ipynb")
    assert not (local.root / RUN / "alias.ipynb").is_symlink()
    assert target.read_bytes() == b"another run's output"


def test_local_listing_hides_removals_in_progress(local):
    (local.root / "job" / ".deleting-20240101T000000000Z-0123abcd.abcd1234").mkdir()
    assert ".deleting-20240101T000000000Z-0123abcd.abcd1234" not in {
        e.name for e in local.list("job")
    }
    assert local.unfinished_removals() == [RUN]


# --- S3 ---------------------------------------------------------------------------------


@pytest.fixture
def s3(s3_env) -> S3Store:
    import boto3

    bucket, _, prefix = s3_env["NBPROD_STORE"].removeprefix("s3://").partition("/")
    store = S3Store(bucket, prefix, client=boto3.client("s3"))
    store.put(f"{RUN}/run.json", b"{}")
    store.put(f"{RUN}/out.ipynb", b"output")
    store.put(f"{RUN}/sub/deeper/data.csv", b"1,2")
    store.put("job/20240102T000000000Z-0123abce/out.ipynb", b"kept")
    return store


def keys(store: S3Store) -> list[str]:
    return sorted(k for k, _ in store._all_keys("job"))


def test_s3_removal_deletes_every_object_and_its_intent(s3):
    removal = s3.plan_removal(RUN, first=(f"{RUN}/run.json",))
    assert sorted(i.key for i in removal.items) == [
        f"{RUN}/out.ipynb",
        f"{RUN}/run.json",
        f"{RUN}/sub/deeper/data.csv",
    ]
    seen = []

    def forget() -> None:  # the intent is durable before the catalog forgets the run
        seen.append(s3.unfinished_removals())

    assert s3.remove(removal, forget) == []
    assert seen == [[RUN]]
    assert keys(s3) == ["job/20240102T000000000Z-0123abce/out.ipynb"]
    assert s3.unfinished_removals() == []


def test_s3_catalog_failure_deletes_nothing_and_leaves_no_intent(s3):
    before = keys(s3)
    with pytest.raises(Boom):
        s3.remove(s3.plan_removal(RUN), boom)
    assert keys(s3) == before
    assert s3.unfinished_removals() == []


def test_s3_unfinished_removal_is_found_and_finished(s3):
    # The state an interrupted removal leaves: its intent, the record gone, the rest there.
    s3.put(f"{INTENTS}/{RUN}.json", json.dumps({"prefix": RUN}).encode())
    s3.delete(f"{RUN}/run.json")
    assert s3.unfinished_removals() == [RUN]
    forgotten = []
    assert s3.finish_removal(RUN, lambda: forgotten.append(1)) == []
    assert forgotten == [1]
    assert keys(s3) == ["job/20240102T000000000Z-0123abce/out.ipynb"]
    assert s3.unfinished_removals() == []
    assert not list(s3.list(f"{META}/deleting"))
