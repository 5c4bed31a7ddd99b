"""The report in a real headless Chromium (Debian's ``chromium``), driven by Playwright for Python.

Checks, at desktop (1280 px) and phone (390 px) widths: no console messages, uncaught exceptions or
Content-Security-Policy violations; no request other than the page's own file (anything else is
aborted by the test and would be listed); charts present as ``svg`` with a ``title``; the full-page
screenshot and every chart's part of it are not blank; no horizontal overflow. Control pages prove
each detector can fail.

Without Chromium (or Playwright) these tests skip with a loud note in the terminal summary; with
``CI=true`` they fail instead (see ``conftest.py``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from report.build import build_report, page_name
from tests.report.conftest import browser_unavailable
from tests.report.report_testdata import HOSTILE, build_history

pytestmark = pytest.mark.browser

PROBE = (
    "({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,"
    " svgTitles: Array.from(document.querySelectorAll('svg')).map(s => (s.querySelector(':scope > title') || {})"
    ".textContent || ''),"
    " charts: Array.from(document.querySelectorAll('svg')).map(s => {const r = s.getBoundingClientRect();"
    " return [r.left + window.scrollX, r.top + window.scrollY, r.right + window.scrollX, r.bottom + window.scrollY]}),"
    " scripts: document.querySelectorAll('script').length,"
    " hostileText: document.body.innerText.includes(" + repr(HOSTILE) + "),"
    " h1: (document.querySelector('h1') || {}).textContent || ''})"
)


@pytest.fixture(scope="module")
def browser(chromium):
    try:
        from tests.report.page_visit import Chromium
    except ImportError as exc:  # playwright comes with the test extra
        browser_unavailable(f"Playwright cannot be imported ({exc}); install the test extra")

    b = Chromium(chromium)
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


def _assert_ink(rgb: np.ndarray, what: str, *, min_std: float, min_ink: float) -> None:
    assert rgb.size, f"{what}: nothing to look at"
    assert float(rgb.std()) > min_std, f"{what} is (nearly) uniform"
    non_white = float((rgb.min(axis=2) < 0.9).mean())
    assert non_white > min_ink, f"{what}: only {non_white:.2%} of pixels are not white"


def _assert_not_blank(png: bytes, width: int, boxes: list[list[float]] = ()) -> None:
    """The whole screenshot, and each box (page coordinates, e.g. a chart) cut out of it, has ink (a chart
    may be just a one-line message, "No values to show yet": about 0.7 % of its pixels)."""
    img = _pixels(png)
    assert img.shape[1] == width
    rgb = img[..., :3]
    _assert_ink(rgb, "screenshot", min_std=0.05, min_ink=0.02)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        part = rgb[max(0, round(y0)):round(y1), max(0, round(x0)):min(width, round(x1))]
        _assert_ink(part, f"chart {i} at {[round(v) for v in (x0, y0, x1, y1)]}", min_std=0.02, min_ink=0.002)


def test_detectors_can_fail(browser, tmp_path):
    """A page with a console error, an exception, a script, an external image, a title-less chart and a
    wide element: every detector must fire. A blank page fails the screenshot check."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head>'
                   '<body><div style="width:2000px">wide</div><img src="http://127.0.0.1:9/x.png">'
                   '<svg viewBox="0 0 10 10" style="width:50px;height:50px"><rect width="10" height="10"/></svg>'
                   '<script>console.error("boom"); throw new Error("bang")</script></body></html>')
    v = browser.visit(bad.as_uri(), width=390, height=844, expression=PROBE)
    assert any("boom" in p for p in v.problems)
    assert any("exception" in p and "bang" in p for p in v.problems)
    assert any(u.startswith("http://127.0.0.1:9/") for u in v.requests)
    assert v.blocked == ["http://127.0.0.1:9/x.png"]  # aborted: the test never reaches a network
    assert v.evaluated["scrollWidth"] > 390
    assert v.evaluated["scripts"] == 1
    assert v.evaluated["svgTitles"] == [""]

    blank = tmp_path / "blank.html"
    blank.write_text('<!DOCTYPE html><html><body style="background:#fff"><svg viewBox="0 0 10 10" '
                     'style="width:100px;height:100px"></svg></body></html>')
    b = browser.visit(blank.as_uri(), width=1280, height=900, expression=PROBE)
    with pytest.raises(AssertionError, match="uniform"):
        _assert_not_blank(b.screenshot_png, 1280)
    inked = tmp_path / "inked.html"
    inked.write_text('<!DOCTYPE html><html><body style="margin:0"><div style="height:300px;background:#0072B2">'
                     '</div><svg viewBox="0 0 10 10" style="width:100px;height:100px"></svg></body></html>')
    i = browser.visit(inked.as_uri(), width=1280, height=900, expression=PROBE)
    _assert_not_blank(i.screenshot_png, 1280)
    with pytest.raises(AssertionError, match="chart 0"):  # the empty svg, cut from a page with ink
        _assert_not_blank(i.screenshot_png, 1280, i.evaluated["charts"])


def test_csp_violation_is_a_problem(browser, tmp_path):
    """The report's Content-Security-Policy refuses an inline script and an external image; Chromium reports
    both on the console, so a page that breaks its own policy fails the console check."""
    from report.html import CSP

    bad = tmp_path / "csp.html"
    bad.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}"></head>'
                   '<body>x<img src="https://example.invalid/y.png"><script>document.title = "ran"</script>'
                   '</body></html>')
    v = browser.visit(bad.as_uri(), width=1280, height=900, expression="document.title")
    assert v.evaluated == ""  # the script did not run
    assert any("Content Security Policy" in p and "inline" in p for p in v.problems), v.problems
    assert any("Content Security Policy" in p and "example.invalid" in p for p in v.problems), v.problems


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
@pytest.mark.parametrize("name", ["index.html", page_name("alice")])
def test_page_in_chromium(browser, report_dir, name, width, height):
    url = (report_dir / name).as_uri()
    v = browser.visit(url, width=width, height=height, expression=PROBE)
    assert v.problems == [], v.problems
    assert v.requests == [url], v.requests  # nothing but the page itself: all resources inline
    assert v.blocked == []
    ev = v.evaluated
    assert ev["innerWidth"] == width
    assert ev["scrollWidth"] <= width, f"horizontal overflow at {width} px: {ev['scrollWidth']}"
    assert ev["scripts"] == 0
    _assert_not_blank(v.screenshot_png, width, ev["charts"])
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
