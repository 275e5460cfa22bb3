"""S3Store against a real moto_server process over HTTP (the session-scoped server)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import boto3
import pytest

from nbprod.errors import InvalidName, StoreUnavailable
from nbprod.store import Entry, open_store
from nbprod.store.s3 import S3Store
from tests.conftest import S3_ENV, free_port

pytestmark = pytest.mark.s3


@pytest.fixture
def store(s3_env: dict[str, str]) -> S3Store:
    opened = open_store(os.environ["NBPROD_STORE"])
    assert isinstance(opened, S3Store)
    return opened


@pytest.fixture
def bucket(store: S3Store) -> str:
    return store.bucket


def raw_keys(bucket: str) -> list[str]:
    client = boto3.client("s3")
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return sorted(keys)


def test_store_url_and_prefix(store: S3Store, s3_env: dict[str, str]) -> None:
    parsed = urlparse(s3_env["NBPROD_STORE"])
    assert store.bucket == parsed.netloc
    assert store.prefix == "team/notebooks"
    assert store.url == f"s3://{store.bucket}/team/notebooks"
    assert (
        store.location("job/run/nb.ipynb") == f"s3://{store.bucket}/team/notebooks/job/run/nb.ipynb"
    )


def test_put_get_exists_under_prefix(store: S3Store, bucket: str) -> None:
    assert not store.exists("job/run/run.json")
    store.put("job/run/run.json", b'{"status": "running"}', "application/json")
    assert store.exists("job/run/run.json")
    assert store.get("job/run/run.json") == b'{"status": "running"}'
    assert raw_keys(bucket) == ["team/notebooks/job/run/run.json"]
    head = boto3.client("s3").head_object(Bucket=bucket, Key="team/notebooks/job/run/run.json")
    assert head["ContentType"] == "application/json"
    store.put("job/run/run.json", b'{"status": "succeeded"}')
    assert store.get("job/run/run.json") == b'{"status": "succeeded"}'


def test_store_without_prefix(s3_env: dict[str, str], bucket: str) -> None:
    bare = open_store(f"s3://{bucket}")
    assert isinstance(bare, S3Store)
    bare.put("top.txt", b"1")
    assert raw_keys(bucket) == ["top.txt"]
    assert bare.location("top.txt") == f"s3://{bucket}/top.txt"
    assert [e.name for e in bare.list("")] == ["top.txt"]


def test_get_missing_raises_keyerror(store: S3Store) -> None:
    with pytest.raises(KeyError):
        store.get("job/nope.json")
    assert store.exists("job/nope.json") is False


def test_delete(store: S3Store, bucket: str) -> None:
    store.put("job/a.txt", b"1")
    store.put("job/b.txt", b"2")
    store.delete("job/a.txt")
    assert not store.exists("job/a.txt")
    with pytest.raises(KeyError):
        store.get("job/a.txt")
    assert raw_keys(bucket) == ["team/notebooks/job/b.txt"]
    store.delete("job/a.txt")  # deleting a missing key is not an error


def test_put_if_absent_writes_once(store: S3Store) -> None:
    assert store.put_if_absent(".nbprod/notebooks/abc.ipynb", b"first") is True
    assert store.put_if_absent(".nbprod/notebooks/abc.ipynb", b"second") is False
    assert store.get(".nbprod/notebooks/abc.ipynb") == b"first"


def test_list_folders_and_objects(store: S3Store, bucket: str) -> None:
    store.put("b.txt", b"12345")
    store.put("a.txt", b"")
    store.put("zeta/x", b"1")
    store.put("alpha/y", b"1")
    store.put("alpha/sub/z", b"22")
    # Outside the store prefix: must never show up.
    boto3.client("s3").put_object(Bucket=bucket, Key="team/other/c.txt", Body=b"x")
    boto3.client("s3").put_object(Bucket=bucket, Key="team/notebooks-old/d.txt", Body=b"x")
    assert list(store.list("")) == [
        Entry("a.txt", False, 0),
        Entry("alpha", True),
        Entry("b.txt", False, 5),
        Entry("zeta", True),
    ]
    assert list(store.list("alpha")) == [Entry("sub", True), Entry("y", False, 1)]
    assert list(store.list("alpha/")) == list(store.list("alpha"))
    assert list(store.list("alpha/sub")) == [Entry("z", False, 2)]
    assert list(store.list("missing")) == []


def test_list_pages_past_1000_keys(store: S3Store, bucket: str) -> None:
    client = boto3.client("s3")
    names = [f"obj-{i:05d}" for i in range(1050)]
    folders = [f"run-{i:04d}" for i in range(30)]

    def put(key: str) -> None:
        client.put_object(Bucket=bucket, Key=f"team/notebooks/job/{key}", Body=b"x" * 3)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, names + [f"{f}/run.json" for f in folders]))

    # The server really pages: a single request does not return everything.
    first = client.list_objects_v2(Bucket=bucket, Prefix="team/notebooks/job/", Delimiter="/")
    assert first["IsTruncated"] is True
    assert len(first.get("Contents", [])) + len(first.get("CommonPrefixes", [])) <= 1000

    entries = list(store.list("job"))
    assert len(entries) == 1080
    assert entries == sorted(entries, key=lambda e: e.name)
    assert [e.name for e in entries if e.is_dir] == folders
    objects = [e for e in entries if not e.is_dir]
    assert [e.name for e in objects] == names
    assert {e.size for e in objects} == {3}


@pytest.mark.parametrize(
    "key",
    ["../x", "a/../../x", "/etc/passwd", "a\\b", "a//b", "a\nb", "a\x00b", "j/" + "\u00e9" * 128],
)
def test_bad_keys_rejected_before_any_request(store: S3Store, bucket: str, key: str) -> None:
    for operation in (
        lambda: store.put(key, b"evil"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.location(key),
    ):
        with pytest.raises(InvalidName):
            operation()
    assert raw_keys(bucket) == []


def test_missing_bucket_is_store_unavailable(s3_env: dict[str, str]) -> None:
    store = open_store("s3://nbprod-no-such-bucket-here/x")
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.put("k", b"v")
    with pytest.raises(StoreUnavailable):
        list(store.list(""))


def test_closed_port_raises_store_unavailable_quickly(
    monkeypatch: pytest.MonkeyPatch, nbprod_env: dict[str, str]
) -> None:
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    store = open_store("s3://some-bucket/prefix")
    operations = {
        "put": lambda: store.put("k", b"v"),
        "get": lambda: store.get("k"),
        "exists": lambda: store.exists("k"),
        "list": lambda: list(store.list("")),
    }
    for name, operation in operations.items():
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="Could not connect") as info:
            operation()
        elapsed = time.monotonic() - started
        assert elapsed < 8, f"{name} took {elapsed:.1f}s on a closed port"
        assert "s3://some-bucket/prefix" in str(info.value)
