"""Bad input to the browse UI, against a real `nbprod browse`: names longer than 255 bytes
and out-of-range filters answer 400/404, never 500."""

from __future__ import annotations

import pytest

from tests.browse.conftest import BrowseServer

LONG = "a" * 300  # longer than NAME_MAX (255 bytes): such a file cannot exist on disk


@pytest.mark.parametrize(
    "path",
    [
        f"/nbprod/files/{LONG}",
        f"/nbprod/files/extras/{LONG}",
        f"/nbprod/files/{'é' * 200}",  # 200 characters, 400 bytes
        f"/nbprod/raw/{LONG}",
        f"/nbprod/raw/extras/{LONG}.csv",
        f"/nbprod/render/{LONG}.ipynb",
        f"/nbprod/render/extras/{LONG}.ipynb",
        f"/nbprod/api/contents/{LONG}",
        f"/nbprod/api/contents/extras/{LONG}",
    ],
)
def test_names_longer_than_255_bytes_are_400(server: BrowseServer, path: str):
    answer = server.get(path)
    assert answer.status_code == 400, (path, answer.status_code, answer.text[:300])
    assert "255" in answer.text and "Traceback" not in answer.text


@pytest.mark.parametrize(
    "page, query",
    [
        ("/nbprod/search", {"since": "99999999999d"}),
        ("/nbprod/search", {"until": "99999999999w"}),
        ("/nbprod/search", {"page": "99999999999999999999"}),
        ("/nbprod/search", {"page": "9" * 5000}),
        ("/nbprod/jobs/daily-sales", {"since": "99999999999d"}),
        ("/nbprod/jobs/daily-sales", {"page": "99999999999999999999"}),
        ("/nbprod/jobs/daily-sales", {"per_page": "99999999999999999999"}),
        ("/nbprod/files/", {"page": "99999999999999999999", "sort": "size"}),
        ("/nbprod/api/contents/", {"page": "x", "type": "nope"}),
    ],
)
def test_out_of_range_filters_are_400(server: BrowseServer, page: str, query: dict):
    for fmt in ("html", "json"):
        params = {**query, "format": "json"} if fmt == "json" else query
        answer = server.get(page, params=params)
        assert answer.status_code == 400, (page, query, answer.status_code, answer.text[:300])
        assert "Traceback" not in answer.text and "internal error" not in answer.text
        if fmt == "json":
            assert answer.json()["message"]


def test_unknown_api_path_in_nbprod_browse_is_json_404(server: BrowseServer):
    answer = server.get("/nbprod/api/jobs")  # the REST API is not served by `nbprod browse`
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["status"] == 404
