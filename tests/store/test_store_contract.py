"""The Store contract: every backend (a local folder, S3 through the real moto_server) passes
the same tests, so code above the store cannot tell which one it was given.

Backend-specific behaviour (symlinks, temporary files, paging past 1000 keys, intents) stays in
test_local_store.py, test_s3_store.py and test_removal.py; this file is what they share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from nbprod.errors import CorruptObject, InvalidName
from nbprod.store import Store, open_store
from nbprod.store.layout import record_key, snapshot_key

RUN = "job/20240101T000000000Z-0123abcd"
OTHER = "job/20240102T000000000Z-0123abce"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh, empty store of each backend, opened by URL as the code above opens it."""
    if request.param == "local":
        return open_store(f"file://{tmp_path / 'store'}")
    request.applymarker(pytest.mark.s3)
    s3_env: dict[str, str] = request.getfixturevalue("s3_env")
    return open_store(s3_env["NBPROD_STORE"])


def names(store: Store, prefix: str = "") -> list[tuple[str, bool]]:
    return [(e.name, e.is_dir) for e in store.list(prefix)]


def test_put_get_exists_roundtrip(store: Store) -> None:
    assert not store.exists(f"{RUN}/run.json")
    store.put(f"{RUN}/run.json", b'{"a": 1}', "application/json")
    assert store.exists(f"{RUN}/run.json")
    assert store.get(f"{RUN}/run.json") == b'{"a": 1}'
    store.put(f"{RUN}/run.json", b"replaced")
    assert store.get(f"{RUN}/run.json") == b"replaced"


def test_binary_and_empty_objects_survive(store: Store) -> None:
    payload = bytes(range(256)) * 64
    store.put(f"{RUN}/blob.bin", payload)
    store.put(f"{RUN}/empty", b"")
    assert store.get(f"{RUN}/blob.bin") == payload
    assert store.get(f"{RUN}/empty") == b""


def test_get_of_a_missing_key_is_keyerror(store: Store) -> None:
    with pytest.raises(KeyError):
        store.get(f"{RUN}/missing.json")


def test_a_folder_is_not_an_object(store: Store) -> None:
    store.put(f"{RUN}/run.json", b"{}")
    assert not store.exists(RUN)
    assert not store.exists("job")


def test_list_gives_immediate_children_in_key_order_with_sizes(store: Store) -> None:
    store.put(f"{OTHER}/out.ipynb", b"12345")
    store.put(f"{RUN}/run.json", b"{}")
    store.put(f"{RUN}/sub/deeper.csv", b"1,2")
    store.put("job/notes.txt", b"abc")
    assert names(store) == [("job", True)]
    listed = list(store.list("job"))
    assert [(e.name, e.is_dir) for e in listed] == [
        ("20240101T000000000Z-0123abcd", True),
        ("20240102T000000000Z-0123abce", True),
        ("notes.txt", False),
    ]
    assert listed[-1].size == 3
    assert names(store, RUN) == [("run.json", False), ("sub", True)]
    assert names(store, f"{RUN}/") == names(store, RUN)


def test_list_of_a_missing_prefix_is_empty(store: Store) -> None:
    assert list(store.list("nothing/here")) == []
    store.put(f"{RUN}/run.json", b"{}")
    assert list(store.list(f"{RUN}/run.json")) == []


def test_delete_removes_one_object_only(store: Store) -> None:
    store.put(f"{RUN}/run.json", b"{}")
    store.put(f"{RUN}/out.ipynb", b"x")
    store.delete(f"{RUN}/run.json")
    assert not store.exists(f"{RUN}/run.json")
    assert store.exists(f"{RUN}/out.ipynb")
    store.delete(f"{RUN}/run.json")  # deleting what is gone is not an error


def test_put_if_absent_writes_once(store: Store) -> None:
    assert store.put_if_absent(f"{RUN}/once", b"first") is True
    assert store.put_if_absent(f"{RUN}/once", b"second") is False
    assert store.get(f"{RUN}/once") == b"first"


@pytest.mark.parametrize(
    "key", ["", "/abs", "a/../b", "a//b", "./a", "a\\b", "a\x00b", " a", "x" * 1100]
)
def test_bad_keys_are_invalid_names_on_every_operation(store: Store, key: str) -> None:
    operations: list[Callable[[], object]] = [
        lambda: store.put(key, b"x"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
    ]
    for operation in operations:
        with pytest.raises(InvalidName):
            operation()


def test_content_addressed_keys_are_verified_on_write_and_read(store: Store) -> None:
    data = b'{"cells": []}'
    key = snapshot_key(hashlib.sha256(data).hexdigest())
    store.put(key, data)
    assert store.get(key) == data
    with pytest.raises(CorruptObject):
        store.put(snapshot_key(hashlib.sha256(b"other").hexdigest()), data)


def test_location_names_the_object_where_a_person_finds_it(store: Store) -> None:
    key = record_key("job", "20240101T000000000Z-0123abcd")
    store.put(key, b"{}")
    where = store.location(key)
    assert where.endswith(key)
    assert where.startswith(("/", "s3://"))


def _populate(store: Store) -> None:
    store.put(f"{RUN}/run.json", b"{}")
    store.put(f"{RUN}/out.ipynb", b"output")
    store.put(f"{RUN}/sub/deeper/data.csv", b"1,2")
    store.put(f"{OTHER}/out.ipynb", b"kept")


def test_removal_plans_without_deleting_then_removes_the_prefix_only(store: Store) -> None:
    _populate(store)
    removal = store.plan_removal(RUN, first=(f"{RUN}/run.json",))
    planned = {item.key for item in removal.items}
    assert {f"{RUN}/run.json", f"{RUN}/out.ipynb", f"{RUN}/sub/deeper/data.csv"} <= planned
    assert store.exists(f"{RUN}/run.json")  # planning deletes nothing
    forgotten: list[int] = []
    assert store.remove(removal, lambda: forgotten.append(1)) == []
    assert forgotten == [1]
    assert not store.exists(f"{RUN}/run.json") and not store.exists(f"{RUN}/out.ipynb")
    assert list(store.list(RUN)) == []
    assert store.get(f"{OTHER}/out.ipynb") == b"kept"
    assert store.unfinished_removals() == []


def test_removal_whose_forget_fails_deletes_nothing(store: Store) -> None:
    _populate(store)

    def fail() -> None:
        raise RuntimeError("the catalog is down")

    with pytest.raises(RuntimeError):
        store.remove(store.plan_removal(RUN), fail)
    assert store.get(f"{RUN}/run.json") == b"{}"
    assert store.get(f"{RUN}/sub/deeper/data.csv") == b"1,2"
    assert store.unfinished_removals() == []


def test_removal_of_a_missing_prefix_only_forgets(store: Store) -> None:
    removal = store.plan_removal(RUN)
    assert removal.items == []
    forgotten: list[int] = []
    assert store.remove(removal, lambda: forgotten.append(1)) == []
    assert forgotten == [1]
