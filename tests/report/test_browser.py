"""The report in a real headless Chromium (Debian's ``chromium``), driven over the DevTools protocol.

Checks: no console messages, exceptions or error log entries (a CSP violation would be one); no
network request other than the page's own file; charts present as ``svg`` with a ``title``;
screenshots at desktop (1280 px) and phone (390 px) widths are not blank; no horizontal
overflow at phone width. A control page proves each detector can fail.

Without Chromium these tests skip with a loud note in the terminal summary; with ``CI=true``
they fail instead (see ``conftest.py``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from jobs.report import build_report
from report.build import page_name
from tests.report.conftest import browser_unavailable
from tests.report.report_testdata import HOSTILE, build_history

pytestmark = pytest.mark.browser

PROBE = (
    "({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,"
    " svgTitles: Array.from(document.querySelectorAll('svg')).map(s => (s.querySelector(':scope > title') || {})"
    ".textContent || ''),"
    " scripts: document.querySelectorAll('script').length,"
    " hostileText: document.body.innerText.includes(" + repr(HOSTILE) + "),"
    " h1: (document.querySelector('h1') || {}).textContent || ''})"
)


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    try:
        from tests.report.cdp_client import Chromium
    except ImportError as exc:  # websockets comes with the test extra (through bumble)
        browser_unavailable(f"the DevTools client cannot be imported ({exc}); install the test extra")

    b = Chromium(chromium, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    from store.connection import open_store

    tmp = tmp_path_factory.mktemp("browser-report")
    con = open_store(tmp / "x.duckdb", wait_s=1.0)
    try:
        build_history(con, "alice", weeks=6)
        build_report(con, tmp / "out")
    finally:
        con.close()
    return tmp / "out"


def _pixels(png: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(png), format="png")


def _assert_not_blank(png: bytes, width: int) -> None:
    img = _pixels(png)
    assert img.shape[1] == width
    rgb = img[..., :3]
    assert float(rgb.std()) > 0.05, "screenshot is (nearly) uniform"
    non_white = float((rgb.min(axis=2) < 0.9).mean())
    assert non_white > 0.02, f"only {non_white:.1%} of pixels are not white"


def test_detectors_can_fail(browser, tmp_path):
    """A page with a console error, a script and an external image: every detector must fire."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head>'
                   '<body><div style="width:2000px">wide</div><img src="http://127.0.0.1:9/x.png">'
                   '<script>console.error("boom")</script></body></html>')
    v = browser.visit(bad.as_uri(), width=390, height=844, expression=PROBE)
    assert any("boom" in p for p in v.problems)
    assert any(u.startswith("http://127.0.0.1:9/") for u in v.requests)
    assert v.evaluated["scrollWidth"] > 390
    assert v.evaluated["scripts"] == 1


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
@pytest.mark.parametrize("name", ["index.html", page_name("alice")])
def test_page_in_chromium(browser, report_dir, name, width, height):
    url = (report_dir / name).as_uri()
    v = browser.visit(url, width=width, height=height, expression=PROBE)
    assert v.problems == [], v.problems
    assert v.requests == [url], v.requests  # nothing but the page itself: all resources inline
    ev = v.evaluated
    assert ev["innerWidth"] == width
    assert ev["scrollWidth"] <= width, f"horizontal overflow at {width} px: {ev['scrollWidth']}"
    assert ev["scripts"] == 0
    _assert_not_blank(v.screenshot_png, width)
    if name != "index.html":
        titles = ev["svgTitles"]
        assert len(titles) >= 7 and all(titles), titles
        assert any("prescription zone" in t for t in titles)
        assert any("proxy" in t.lower() for t in titles)
        assert ev["hostileText"], "the hostile activity name should be shown as text"
        assert ev["h1"] == "Athlete alice"


def test_index_link_opens_the_athlete_page(browser, report_dir):
    v = browser.visit((report_dir / "index.html").as_uri(), width=1280, height=900,
                      expression="Array.from(document.querySelectorAll('a')).map(a => a.href)")
    target = (report_dir / page_name("alice")).as_uri()
    assert target in v.evaluated
