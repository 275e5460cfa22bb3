"""The run page's rendered notebook frame in real headless Chromium: sized to its content
(posted by a script inside the sandboxed frame), clamped to the window for a long notebook,
showing its cells right after load, and still unable to reach the page around it.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browse.conftest import BrowseServer, Populated
from tests.conftest import ARTIFACTS

pytest.importorskip("playwright.sync_api")

# The content's height as the frame's own script measures it (nbprod/server/render.py).
CONTENT_HEIGHT = """() => {
  let most = 0;
  for (const c of document.body.children) {
    most = Math.max(most, c.getBoundingClientRect().bottom);
  }
  const s = getComputedStyle(document.body);
  return Math.ceil(most + window.scrollY + (parseFloat(s.paddingBottom) || 0)
    + (parseFloat(s.marginBottom) || 0));
}"""


def _open(page: Any, server: BrowseServer, run_id: str) -> tuple[Any, Any]:
    page.goto(f"{server.base}/nbprod/runs/{run_id}")
    element = page.wait_for_selector("iframe.notebook[data-fit]")
    page.wait_for_selector("iframe.notebook[data-fitted]", timeout=5000)
    return element, element.content_frame()


FRAME_HEIGHT = "document.querySelector('iframe.notebook').getBoundingClientRect().height"


def _frame_height(page: Any) -> float:
    return page.evaluate(FRAME_HEIGHT)


def _wait_for_frame_height(page: Any, height: float) -> None:
    """Until the frame is ``height`` px tall (±4); a function, as the page's CSP forbids the
    eval Playwright uses for a string condition."""
    page.wait_for_function(f"h => Math.abs({FRAME_HEIGHT} - h) <= 4", arg=height, timeout=5000)


def test_a_notebook_frame_fits_its_content_and_is_clamped_to_the_window(
    page: Any, server: BrowseServer, populated: Populated
):
    run_id = populated.runs["sales_eu"]
    # A window taller than the notebook: the frame is the content's height, no empty space.
    page.set_viewport_size({"width": 1280, "height": 6000})
    element, frame = _open(page, server, run_id)
    frame.wait_for_selector(".jp-Cell", timeout=3000)  # cells are there right after load
    content = frame.evaluate(CONTENT_HEIGHT)
    assert content > 200, content
    _wait_for_frame_height(page, content + 2)
    assert element.get_attribute("data-fitted") == "content"
    # nothing left to scroll inside the frame: all of the notebook is visible
    assert frame.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 2")
    page.screenshot(path=str(ARTIFACTS / "browse-frame-fitted.png"), full_page=True)

    # A window shorter than the notebook: the frame stops at 90% of it and scrolls inside.
    page.set_viewport_size({"width": 1280, "height": 400})
    page.wait_for_function(
        "() => document.querySelector('iframe.notebook').getAttribute('data-fitted') === 'window'",
        timeout=5000,
    )
    assert abs(_frame_height(page) - max(240, round(400 * 0.9))) <= 1, _frame_height(page)
    assert frame.evaluate("document.documentElement.scrollHeight > window.innerHeight")

    # And it grows back with the window.
    page.set_viewport_size({"width": 1280, "height": 6000})
    _wait_for_frame_height(page, content + 2)


def test_the_fitted_frame_still_cannot_reach_the_page(
    page: Any, server: BrowseServer, populated: Populated
):
    element, frame = _open(page, server, populated.runs["sales_eu"])
    assert "allow-same-origin" not in (element.get_attribute("sandbox") or "")
    reached = frame.evaluate(
        """() => {
          const tries = {};
          try { tries.dom = !!parent.document.body; } catch (e) { tries.dom = false; }
          try { tries.cookie = document.cookie; } catch (e) { tries.cookie = null; }
          try { tries.storage = !!window.localStorage; } catch (e) { tries.storage = false; }
          return tries;
        }"""
    )
    assert reached == {"dom": False, "cookie": None, "storage": False}, reached
    # A height posted by the page itself (not by one of its frames) is ignored.
    before = _frame_height(page)
    page.evaluate("window.postMessage({nbprodFrameHeight: 5}, '*')")
    page.wait_for_timeout(300)
    assert _frame_height(page) == before
