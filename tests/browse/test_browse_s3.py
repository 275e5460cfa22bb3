"""The files view and contents API on S3 (a real moto_server process): pagination past
1,000 objects, folders and files mixed across page boundaries."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

import pytest

from tests.browse.conftest import BrowseServer, _env
from tests.conftest import S3_ENV, MotoServer

FILES = 1100
FOLDERS = 1100


@pytest.fixture(scope="module")
def s3_server(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    import boto3

    aws = {**S3_ENV, "AWS_ENDPOINT_URL": moto_server.endpoint}
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=aws["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"nbprod-browse-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    keys = [f"team/nb/big/f{i:05d}.txt" for i in range(FILES)]
    keys += [f"team/nb/big/d{i:05d}/x.txt" for i in range(FOLDERS)]
    keys += ["team/nb/big/d00010.txt", "team/nb/big/e.txt", "team/nb/readme.md"]

    def put(key: str) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, keys))
    home = tmp_path_factory.mktemp("browse-s3") / "home"
    env = _env(home, f"s3://{bucket}/team/nb", aws)
    server = BrowseServer(env).start()
    yield server
    server.stop()


def _names(html: str) -> list[str]:
    return re.findall(r'class="entry (?:dir|file)">\s*<td><a href="[^"]+">([^<]+)</a>', html)


def test_s3_listing_pages_past_1000_objects(s3_server: BrowseServer):
    expected = sorted(
        [f"f{i:05d}.txt" for i in range(FILES)]
        + [f"d{i:05d}/" for i in range(FOLDERS)]
        + ["d00010.txt", "e.txt"]
    )
    seen: list[str] = []
    params: dict[str, str] = {"per_page": "1000"}
    pages = 0
    while True:
        response = s3_server.get("/nbprod/files/big", params=params)
        assert response.status_code == 200
        names = _names(response.text)
        assert len(names) <= 1000
        seen += names
        pages += 1
        match = re.search(r'<a rel="next" href="\?([^"]+)"', response.text)
        if not match:
            break
        params = dict(p.split("=", 1) for p in match.group(1).replace("&amp;", "&").split("&"))
        params = {k: unquote(v) for k, v in params.items()}
    assert pages == 3
    assert seen == expected  # every entry once, in key order (folder "a" sorts as "a/")


def test_s3_small_pages_across_folder_boundaries(s3_server: BrowseServer):
    first = s3_server.get("/nbprod/files/big", params={"per_page": "10"})
    assert _names(first.text) == [f"d{i:05d}/" for i in range(10)]
    cursor = re.search(r'<a rel="next" href="\?([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = s3_server.get("/nbprod/files/big?" + cursor)
    # d00010.txt sorts before the folder d00010/ ('.' < '/'); neither is lost or repeated
    assert _names(second.text)[:3] == ["d00010.txt", "d00010/", "d00011/"]
    assert "entries 11–20" in second.text


def test_s3_sorted_listing_and_contents_api(s3_server: BrowseServer):
    page3 = s3_server.get(
        "/nbprod/files/big",
        params={"sort": "name", "order": "desc", "per_page": "1000", "page": "3"},
    )
    assert page3.status_code == 200
    assert "of 2202" in page3.text
    names = _names(page3.text)
    # folders first, then files, each in descending name order
    assert len(names) == 202 and names[-3:] == ["f00000.txt", "e.txt", "d00010.txt"]
    model = s3_server.get("/nbprod/api/contents/big").json()
    assert model["type"] == "directory" and len(model["content"]) == FILES + FOLDERS + 2
    one = s3_server.get("/nbprod/api/contents/big/f00999.txt").json()
    assert one["content"] == "team/nb/big/f00999.txt" and one["size"] == len(one["content"])
    assert one["last_modified"]
    assert s3_server.get("/nbprod/files/big/f00001.txt").status_code == 200
    raw = s3_server.get("/nbprod/raw/big/d00002/x.txt", params={"download": "1"})
    assert raw.content == b"team/nb/big/d00002/x.txt"
    assert s3_server.get("/nbprod/files/big/nope").status_code == 404
    assert s3_server.get("/nbprod/files/%2e%2e/other").status_code in (400, 404)
