"""LocalStore on a real folder, open_store's URL handling, key checks and the store layout."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nbprod.errors import BadInput, InvalidName, StoreUnavailable
from nbprod.store import Entry, check_key, layout, open_store
from nbprod.store.local import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- put / get / exists / list / delete -------------------------------------------------


def test_put_get_exists_roundtrip(store: LocalStore) -> None:
    assert not store.exists("job/run/nb.ipynb")
    store.put("job/run/nb.ipynb", b'{"cells": []}')
    assert store.exists("job/run/nb.ipynb")
    assert store.get("job/run/nb.ipynb") == b'{"cells": []}'
    assert (store.root / "job" / "run" / "nb.ipynb").read_bytes() == b'{"cells": []}'
    assert store.location("job/run/nb.ipynb") == str(store.root / "job" / "run" / "nb.ipynb")
    assert store.url == f"file://{store.root}"


def test_put_replaces_whole_object(store: LocalStore) -> None:
    store.put("a.txt", b"x" * 10_000)
    store.put("a.txt", b"short")
    assert store.get("a.txt") == b"short"


def test_exists_is_false_for_a_folder(store: LocalStore) -> None:
    store.put("job/run/run.json", b"{}")
    assert not store.exists("job")
    assert not store.exists("job/run")


def test_get_missing_raises_keyerror(store: LocalStore) -> None:
    with pytest.raises(KeyError):
        store.get("nope.txt")
    store.put("job/run/run.json", b"{}")
    with pytest.raises(KeyError):
        store.get("job/run")  # a folder is not an object
    with pytest.raises(KeyError):
        store.get("job/run/run.json/child")  # below a file


def test_list_folders_and_objects_sorted_with_sizes(store: LocalStore) -> None:
    store.put("b.txt", b"12345")
    store.put("a.txt", b"")
    store.put("zeta/x", b"1")
    store.put("alpha/y", b"1")
    store.put("alpha/sub/z", b"22")
    assert list(store.list("")) == [
        Entry("a.txt", False, 0),
        Entry("alpha", True),
        Entry("b.txt", False, 5),
        Entry("zeta", True),
    ]
    assert list(store.list("alpha")) == [Entry("sub", True), Entry("y", False, 1)]
    assert list(store.list("alpha/")) == list(store.list("alpha"))
    assert list(store.list("alpha/sub")) == [Entry("z", False, 2)]


def test_list_missing_or_file_prefix_is_empty(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "not-created-yet")
    assert list(store.list("")) == []
    store.put("f.txt", b"1")
    assert list(store.list("missing")) == []
    assert list(store.list("f.txt")) == []


def test_delete(store: LocalStore) -> None:
    store.put("job/a.txt", b"1")
    store.delete("job/a.txt")
    assert not store.exists("job/a.txt")
    store.delete("job/a.txt")  # deleting a missing key is not an error
    with pytest.raises(KeyError):
        store.get("job/a.txt")


def test_put_leaves_no_temporary_files(store: LocalStore) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.put(f"job/obj-{i % 4}", os.urandom(2048)), range(64)))
    assert files_under(store.root) == [f"job/obj-{i}" for i in range(4)]
    assert [e.name for e in store.list("job")] == [f"obj-{i}" for i in range(4)]


def test_listing_hides_temporary_files(store: LocalStore) -> None:
    store.put("job/real.ipynb", b"{}")
    (store.root / "job" / ".tmp-abc123.ipynb").write_bytes(b"half written")
    assert list(store.list("job")) == [Entry("real.ipynb", False, 2)]


def test_failed_put_leaves_no_temporary_file(store: LocalStore) -> None:
    (store.root / "job" / "taken").mkdir(parents=True)
    with pytest.raises(StoreUnavailable):
        store.put("job/taken", b"data")  # a folder is in the way
    assert sorted(p.name for p in (store.root / "job").iterdir()) == ["taken"]


def test_put_if_absent_writes_once(store: LocalStore) -> None:
    assert store.put_if_absent(".nbprod/notebooks/abc.ipynb", b"first") is True
    assert store.put_if_absent(".nbprod/notebooks/abc.ipynb", b"second") is False
    assert store.get(".nbprod/notebooks/abc.ipynb") == b"first"


# --- open_store ---------------------------------------------------------------------------


def test_open_store_plain_path(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "plain"))
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "plain").resolve()
    store.put("k", b"v")
    assert (tmp_path / "plain" / "k").read_bytes() == b"v"


def test_open_store_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("rel/store")
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "rel" / "store").resolve()


def test_open_store_file_url(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/viaurl")
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "viaurl").resolve()
    store.put("k", b"v")
    assert (tmp_path / "viaurl" / "k").read_bytes() == b"v"
    assert open_store(f"file://localhost{tmp_path}/viaurl").get("k") == b"v"


def test_open_store_file_url_with_remote_host_is_bad_input() -> None:
    with pytest.raises(BadInput, match="local"):
        open_store("file://otherhost/data")


@pytest.mark.parametrize("url", ["ftp://host/x", "gs://bucket/x", "http://example.com/store"])
def test_open_store_unsupported_scheme(url: str) -> None:
    with pytest.raises(BadInput, match="unsupported store"):
        open_store(url)


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix"])
def test_open_store_s3_without_bucket(url: str) -> None:
    with pytest.raises(BadInput, match="bucket"):
        open_store(url)


# --- keys that could escape the root --------------------------------------------------------

BAD_KEYS = [
    "",
    "../x",
    "..",
    "a/../../x",
    "a/..",
    "/etc/passwd",
    "a\\b",
    "..\\x",
    "a//b",
    "a/",
    "a/./b",
    "./a",
    "a\x00b",
    "a\nb",
    "run.json\n",
    "a\rb",
    " a",
    "a/b ",
    "job/" + "x" * 256,  # one name over NAME_MAX
    "job/" + "\u00e9" * 128,  # 128 characters, 256 bytes of UTF-8
    "job/\udcff.ipynb",  # a lone surrogate: no UTF-8 spelling, no S3 key
    "/".join(["x" * 200] * 6),  # over S3's 1024-byte key limit
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_check_key_rejects(key: str) -> None:
    with pytest.raises(InvalidName):
        check_key(key)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_local_store_rejects_bad_keys_everywhere(store: LocalStore, key: str) -> None:
    store.put("ok.txt", b"1")
    for operation in (
        lambda: store.put(key, b"evil"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.location(key),
        lambda: store.put_if_absent(key, b"evil"),
    ):
        with pytest.raises(InvalidName):
            operation()
    assert files_under(store.root.parent) == ["store/ok.txt"]


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "job/20240101T000000000Z-0123abcd/run.json",
        "a b/c.d",
        "job/" + "x" * 255,
        "job/" + "\u00e9" * 127,
    ],
)
def test_check_key_accepts(key: str) -> None:
    assert check_key(key) == key


def test_list_rejects_escaping_prefix(store: LocalStore) -> None:
    for prefix in ("..", "../x", "a/../..", "a//b"):
        with pytest.raises(InvalidName):
            list(store.list(prefix))


def test_symlink_to_outside_cannot_be_read_or_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"top secret")
    store = LocalStore(tmp_path / "store")
    store.put("job/ok.txt", b"fine")
    (store.root / "dirlink").symlink_to(outside, target_is_directory=True)
    (store.root / "job" / "filelink").symlink_to(outside / "secret.txt")

    for key in ("dirlink/secret.txt", "job/filelink"):
        # check_key accepts these: only the resolving check in LocalStore._path stops them.
        assert check_key(key) == key
        with pytest.raises(InvalidName, match="outside"):
            store.get(key)
        with pytest.raises(InvalidName):
            store.exists(key)
    with pytest.raises(InvalidName):
        store.put("dirlink/planted.txt", b"evil")
    with pytest.raises(InvalidName):
        store.delete("dirlink/secret.txt")
    with pytest.raises(InvalidName):
        list(store.list("dirlink"))
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"top secret"


def test_dangling_symlink_does_not_break_listing(store: LocalStore) -> None:
    store.put("job/ok.txt", b"fine")
    (store.root / "job" / "dangling").symlink_to(store.root / "job" / "gone")
    assert list(store.list("job")) == [Entry("ok.txt", False, 4)]
    with pytest.raises(KeyError):
        store.get("job/dangling")


def test_symlink_inside_the_store_still_works(store: LocalStore) -> None:
    store.put("real/a.txt", b"inside")
    (store.root / "alias").symlink_to(store.root / "real", target_is_directory=True)
    assert store.get("alias/a.txt") == b"inside"


# --- layout -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["daily-sales", "sales_report.v2", "A", "9lives", "x" * 100, "a..b", "job_"]
)
def test_check_job_name_accepts(name: str) -> None:
    assert layout.check_job_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        ".hidden",
        "a/b",
        "a\\b",
        "",
        "x" * 101,
        "x.",
        "-x",
        "_x",
        "has space",
        "daily\n",
        "tab\tjob",
        "caf\u00e9",
    ],
)
def test_check_job_name_rejects(name: str) -> None:
    with pytest.raises(InvalidName):
        layout.check_job_name(name)


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("Sales Report (2)", "Sales-Report-2"),
        ("Sales Report", "Sales-Report"),
        ("daily-sales", "daily-sales"),
        ("report.v2.", "report.v2"),
        ("  --weird//name..  ", "weird-name"),
        ("_private", "private"),
        ("...", "notebook"),
        ("", "notebook"),
        ("\u00fcber", "ber"),
        ("a" * 150, "a" * 100),
        ("a" * 99 + ".b", "a" * 99),
    ],
)
def test_job_name_from_stem(stem: str, expected: str) -> None:
    name = layout.job_name_from_stem(stem)
    assert name == expected
    assert layout.check_job_name(name) == name


def test_check_key_refuses_in_one_line_before_touching_the_disk(store: LocalStore) -> None:
    """A 256-byte name used to reach the filesystem and fail as 'store unavailable' (exit 5)."""
    for key in ("job/" + "\u00e9" * 200 + ".ipynb", "job/a\x00b.ipynb"):
        with pytest.raises(InvalidName) as caught:
            store.put(key, b"1")
        assert "\n" not in str(caught.value) and "\x00" not in str(caught.value)
        assert len(str(caught.value)) < 200
    assert not store.root.exists()


@pytest.mark.parametrize(
    "name",
    ["\u00e9" * 200, "\u00e9" * 128, "a\x00b.ipynb", "\udcff.ipynb"],
    ids=["200-chars-400-bytes", "256-bytes", "nul", "surrogate"],
)
def test_check_file_name_counts_bytes_not_characters(name: str) -> None:
    with pytest.raises(InvalidName):
        layout.check_file_name(name)
    assert layout.check_file_name("\u00e9" * 127) == "\u00e9" * 127


def test_layout_keys() -> None:
    run_id = "20240102T030405006Z-0123abcd"
    assert layout.is_run_id(run_id)
    assert not layout.is_run_id(run_id + "\n")
    assert not layout.is_run_id("latest")
    assert layout.record_key("daily", run_id) == f"daily/{run_id}/run.json"
    assert layout.output_key("daily", run_id, "nb.ipynb") == f"daily/{run_id}/nb.ipynb"
    assert layout.snapshot_key("ab" * 32) == f".nbprod/notebooks/{'ab' * 32}.ipynb"
    with pytest.raises(InvalidName):
        layout.output_key("daily", run_id, "../nb.ipynb")
    with pytest.raises(InvalidName):
        layout.record_key("../daily", run_id)
    for key in (layout.record_key("daily", run_id), layout.snapshot_key("ab" * 32)):
        assert check_key(key) == key


def test_written_files_honour_the_umask_so_a_shared_store_is_readable(tmp_path):
    import stat

    store = LocalStore(tmp_path / "shared")
    store.put("job/run/run.json", b"{}")
    mode = stat.S_IMODE((tmp_path / "shared" / "job" / "run" / "run.json").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
