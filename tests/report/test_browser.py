"""The report in a real headless Chromium (Debian's ``chromium``), driven by Playwright for Python.

Checks, at desktop (1280 px) and phone (390 px) widths: no console messages, uncaught exceptions or
Content-Security-Policy violations; no request other than the page's own file (anything else is
aborted by the test and would be listed); charts present as ``svg`` with a ``title``; the full-page
screenshot and every chart's part of it are not blank; no horizontal overflow; no text clipped by
its container (``text_clipping.js``: HTML text against ancestors that clip or scroll, chart text
against the SVG viewBox and clip paths, measured in the rendered page). Control pages prove each
detector can fail.

Without Chromium (or Playwright) these tests skip with a loud note in the terminal summary; with
``CI=true`` they fail instead (see ``conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from jobs.report import build_report
from report.build import page_name
from tests.report.report_testdata import HOSTILE, barbell_day, build_history

pytestmark = pytest.mark.browser

#: measures text clipped by its container (HTML overflow, SVG viewBox, clip paths): see the file's header
TEXT_CLIPPING = (Path(__file__).with_name("text_clipping.js")).read_text(encoding="utf-8")
#: per chart over time (data lines carry ids "data-N"), the number of distinct dates it draws, counted as
#: distinct horizontal screen positions of its markers and line vertices
TIME_CHART_DATES = """() => Array.from(document.querySelectorAll("svg")).filter((s) => s.querySelector("g[id*='data-']"))
  .map((s) => {
    const xs = new Set();
    for (const g of s.querySelectorAll("g[id*='data-']")) {
      for (const u of g.querySelectorAll("use")) {
        const r = u.getBoundingClientRect();
        xs.add(Math.round(r.left + r.width / 2));
      }
      for (const p of g.querySelectorAll("path")) {
        if (p.closest("defs")) continue;  // marker shapes, in marker coordinates
        const m = p.getScreenCTM();
        const v = (p.getAttribute("d").match(/-?\\d+(?:\\.\\d+)?(?:e-?\\d+)?/g) || []).map(Number);
        for (let i = 0; i + 1 < v.length; i += 2) xs.add(Math.round(m.a * v[i] + m.c * v[i + 1] + m.e));
      }
    }
    return {title: (s.querySelector(":scope > title") || {}).textContent || "", dates: xs.size};
  })"""
PROBE = (
    "({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,"
    " svgTitles: Array.from(document.querySelectorAll('svg')).map(s => (s.querySelector(':scope > title') || {})"
    ".textContent || ''),"
    " charts: Array.from(document.querySelectorAll('svg')).map(s => {const r = s.getBoundingClientRect();"
    " return [r.left + window.scrollX, r.top + window.scrollY, r.right + window.scrollX, r.bottom + window.scrollY]}),"
    " scripts: document.querySelectorAll('script').length,"
    " hostileText: document.body.innerText.includes(" + repr(HOSTILE) + "),"
    " h1: (document.querySelector('h1') || {}).textContent || '',"
    " bodyText: document.body.innerText,"
    " timeCharts: (\n" + TIME_CHART_DATES + "\n)(),"
    " clipping: (\n" + TEXT_CLIPPING + "\n)()})"
)


RUNNER = "runner"
CORE_TITLE = "Core finisher"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    """alice: 6 weeks of runs and strength sessions with hostile strings; runner: 12 simulated weeks (a baseline
    and a strength block, so the n-of-1 forest plot with its long proxy names is drawn) and one day of
    barbell sets at three loads (one e1RM day, one session of RFD medians); the runner also logged the strength
    sessions in Strong and Hevy (reconciled with the watch's) and one last Hevy workout with an unmapped name."""
    from ingest.fit.importer import import_paths
    from jobs.demo import write_app_exports, write_simulated_history
    from sim.app_exports import ExportSet, ExportWorkout, write_hevy
    from sim.athlete import simulate_athlete
    from store.connection import open_store

    tmp = tmp_path_factory.mktemp("browser-report")
    con = open_store(tmp / "x.duckdb", wait_s=1.0)
    try:
        build_history(con, "alice", weeks=6)
        sim = simulate_athlete(weeks=12, seed=3, runs_per_week=3, run_minutes=(30, 30), strength_start_week=5)
        write_simulated_history(con, RUNNER, sim)
        last = max(p.started_at_ns for p in sim.plans) // 1_000_000_000
        barbell_day(con, RUNNER, dt.datetime.fromtimestamp(last, dt.UTC) - dt.timedelta(days=1))
        apps = write_app_exports(tmp / "apps", sim)
        core = (
            dt.datetime.fromtimestamp(last, dt.UTC)
            .astimezone(ZoneInfo(sim.profile["tz"]))
            .replace(tzinfo=None, hour=20, minute=0, second=0, microsecond=0)
        )
        (tmp / "apps" / "core.csv").write_bytes(
            write_hevy(
                [
                    ExportWorkout(
                        CORE_TITLE,
                        core,
                        1200,
                        (
                            ExportSet("Cable Crunch", "working", 15, 30.0, rpe=7.0),
                            ExportSet("Cable Crunch", "working", 12, 35.0, rpe=8.0),
                        ),
                    )
                ]
            )
        )
        imported = import_paths(con, [*apps, tmp / "apps" / "core.csv"], athlete=RUNNER, workers=1, show_progress=False)
        assert [f.status for f in imported.files] == ["imported"] * 3
        build_report(con, tmp / "out")
    finally:
        con.close()
    return tmp / "out"


def _pixels(png: bytes) -> np.ndarray:
    """The screenshot as an RGB uint8 array (Pillow decodes it; it comes with matplotlib)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


def _assert_ink(rgb: np.ndarray, what: str, *, min_std: float, min_ink: float) -> None:
    """``rgb``: uint8. Standard deviation (on a 0..1 scale, from every 2nd pixel of every 2nd row) and the
    share of pixels darker than 0.9 must exceed the minimums."""
    assert rgb.size, f"{what}: nothing to look at"
    std = float(rgb[::2, ::2].std(dtype=np.float32)) / 255.0
    assert std > min_std, f"{what} is (nearly) uniform"
    non_white = float((rgb.min(axis=2) < round(0.9 * 255)).mean())
    assert non_white > min_ink, f"{what}: only {non_white:.2%} of pixels are not white"


def _assert_not_blank(png: bytes, width: int, boxes: list[list[float]] = ()) -> None:
    """The whole screenshot, and each box (page coordinates, e.g. a chart) cut out of it, has ink (a chart
    may be just a one-line message, "No values to show yet": about 0.7 % of its pixels)."""
    img = _pixels(png)
    assert img.shape[1] == width
    rgb = img[..., :3]
    _assert_ink(rgb, "screenshot", min_std=0.05, min_ink=0.02)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        part = rgb[max(0, round(y0)) : round(y1), max(0, round(x0)) : min(width, round(x1))]
        _assert_ink(part, f"chart {i} at {[round(v) for v in (x0, y0, x1, y1)]}", min_std=0.02, min_ink=0.002)


def _assert_no_clipped_text(clipping: dict, *, n_svgs: int) -> None:
    assert clipping["htmlTexts"] > 0
    # every chart has measured text (axis labels, tick labels, a message): the SVG half is not vacuous
    assert len(clipping["svgTexts"]) == n_svgs and all(n > 0 for n in clipping["svgTexts"].values()), clipping
    assert clipping["clipped"] == [], "\n".join(map(str, clipping["clipped"]))


#: each element is clipped in one way the detector must see; "ok" ones must not be reported
CLIPPING_CONTROL = """<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">
<style>body { margin: 0; font: 16px sans-serif } .box { width: 120px; margin: 8px 0 }</style></head><body>
<div class="box" style="overflow:hidden;white-space:nowrap">hidden-nowrap: a sentence far too long for the box</div>
<div class="box" style="overflow:hidden;white-space:nowrap;text-overflow:ellipsis">ellipsis: another long sentence</div>
<div class="box" style="overflow:hidden;height:20px">height-clip: a paragraph that wraps onto several lines</div>
<div class="box" style="overflow-x:auto"><span style="position:relative;left:-60px">scroll-negative text</span></div>
<div class="box" style="overflow-x:auto;white-space:nowrap">ok-scrollable: a long line reachable by scrolling</div>
<p style="margin-left:-50px">page-negative paragraph text</p>
<p>ok-plain text</p>
<svg viewBox="0 0 200 40" style="width:200px;height:40px">
  <title>control chart</title>
  <g id="c1-text_1"><path d="M -30 10 L 60 10 L 60 25 L -30 25 z"/></g>
  <g id="c1-text_2"><path d="M 80 10 L 120 10 L 120 25 L 80 25 z"/></g>
  <text x="150" y="70" font-size="12">svg-text-below</text>
</svg>
<svg viewBox="0 0 200 40" style="width:200px;height:40px">
  <defs><clipPath id="cp"><rect x="0" y="0" width="50" height="40"/></clipPath></defs>
  <g clip-path="url(#cp)"><text x="10" y="20" font-size="12">clip-path-text</text></g>
</svg>
</body></html>"""


def test_text_clipping_detector_can_fail(browser, tmp_path):
    """Text cut by overflow: hidden (one line, an ellipsis, a fixed height), text at a negative offset in a scroll
    container or on the page, matplotlib-style glyph groups and <text> outside the SVG viewBox, text under a
    clip path: each is reported; text that fits, or is reachable by scrolling, is not."""
    page = tmp_path / "clip.html"
    page.write_text(CLIPPING_CONTROL)
    v = browser.visit(page.as_uri(), width=390, height=844, expression=PROBE)
    clipped = v.evaluated["clipping"]["clipped"]
    found = {(c["text"].split(":")[0].split(" ")[0], c["side"]) for c in clipped}
    for expected in [
        ("hidden-nowrap", "right"),
        ("ellipsis", "right"),
        ("height-clip", "bottom"),
        ("scroll-negative", "left"),
        ("page-negative", "left"),
        ("text_1", "left"),
        ("svg-text-below", "bottom"),
        ("clip-path-text", "right"),
    ]:
        assert expected in found, (expected, clipped)
    texts = " ".join(c["text"] for c in clipped)
    assert "ok-" not in texts and "text_2" not in texts, clipped
    assert v.evaluated["clipping"]["svgTexts"] == {"0": 3, "1": 1}
    with pytest.raises(AssertionError, match="hidden-nowrap"):
        _assert_no_clipped_text(v.evaluated["clipping"], n_svgs=2)


def test_single_date_chart_detector_can_fail(browser, tmp_path):
    """A chart drawn the old way for one e1RM day (one dot on a two-week axis) is counted as one date; a series
    chart (markers) and a load chart (lines only) over three days count three."""
    from report import charts, sections
    from report.templating import environment

    fig, ax = charts._fig()
    day = dt.date(2025, 3, 3)
    ax.plot([day], [127.5], marker="o", gid=charts._data_gid())
    ax.set_xlim(day - dt.timedelta(days=7), day + dt.timedelta(days=7))
    charts._date_axis(ax)
    one = charts.to_svg(fig, title="one e1RM day")
    days = ["2025-03-03", "2025-03-05", "2025-03-07"]
    series = charts.series_chart("three e1RM days", days, [120.0, 121.0, 122.5], ylabel="e1RM, kg")
    load = charts.load_chart(days, [10.0, 11.0, 12.0], [20.0, 25.0, 22.0], [-10.0, -14.0, -10.0])
    f = tmp_path / "dates.html"
    page = environment().from_string(
        '{% extends "base.html.j2" %}{% import "macros.html.j2" as m %}'
        "{% block main %}{% for f in figures %}{{ m.figure(f) }}{% endfor %}{% endblock %}"
    )
    f.write_text(page.render(title="dates", figures=[sections.figure(c, "") for c in (one, series, load)]))
    v = browser.visit(f.as_uri(), width=1280, height=900, expression=PROBE)
    assert [(c["title"], c["dates"]) for c in v.evaluated["timeCharts"]] == [
        ("one e1RM day", 1),
        ("three e1RM days", 3),
        (load_title(load), 3),
    ]


def load_title(svg: str) -> str:
    import html
    import re

    return html.unescape(re.search(r"<title[^>]*>([^<]*)</title>", svg).group(1))


def test_detectors_can_fail(browser, tmp_path):
    """A page with a console error, an exception, a script, an external image, a title-less chart and a
    wide element: every detector must fire. A blank page fails the screenshot check."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head>'
        '<body><div style="width:2000px">wide</div><img src="http://127.0.0.1:9/x.png">'
        '<svg viewBox="0 0 10 10" style="width:50px;height:50px"><rect width="10" height="10"/></svg>'
        '<script>console.error("boom"); throw new Error("bang")</script></body></html>'
    )
    v = browser.visit(bad.as_uri(), width=390, height=844, expression=PROBE)
    assert any("boom" in p for p in v.problems)
    assert any("exception" in p and "bang" in p for p in v.problems)
    assert any(u.startswith("http://127.0.0.1:9/") for u in v.requests)
    assert v.blocked == ["http://127.0.0.1:9/x.png"]  # aborted: the test never reaches a network
    assert v.evaluated["scrollWidth"] > 390
    assert v.evaluated["scripts"] == 1
    assert v.evaluated["svgTitles"] == [""]

    blank = tmp_path / "blank.html"
    blank.write_text(
        '<!DOCTYPE html><html><body style="background:#fff"><svg viewBox="0 0 10 10" '
        'style="width:100px;height:100px"></svg></body></html>'
    )
    b = browser.visit(blank.as_uri(), width=1280, height=900, expression=PROBE)
    with pytest.raises(AssertionError, match="uniform"):
        _assert_not_blank(b.screenshot_png, 1280)
    inked = tmp_path / "inked.html"
    inked.write_text(
        '<!DOCTYPE html><html><body style="margin:0"><div style="height:300px;background:#0072B2">'
        '</div><svg viewBox="0 0 10 10" style="width:100px;height:100px"></svg></body></html>'
    )
    i = browser.visit(inked.as_uri(), width=1280, height=900, expression=PROBE)
    _assert_not_blank(i.screenshot_png, 1280)
    with pytest.raises(AssertionError, match="chart 0"):  # the empty svg, cut from a page with ink
        _assert_not_blank(i.screenshot_png, 1280, i.evaluated["charts"])


def test_csp_violation_is_a_problem(browser, tmp_path):
    """The report's Content-Security-Policy refuses an inline script and an external image; Chromium reports
    both on the console, so a page that breaks its own policy fails the console check."""
    from report.templating import CSP

    bad = tmp_path / "csp.html"
    bad.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}"></head>'
        '<body>x<img src="https://example.invalid/y.png"><script>document.title = "ran"</script>'
        "</body></html>"
    )
    v = browser.visit(bad.as_uri(), width=1280, height=900, expression="document.title")
    assert v.evaluated == ""  # the script did not run
    assert any("Content Security Policy" in p and "inline" in p for p in v.problems), v.problems
    assert any("Content Security Policy" in p and "example.invalid" in p for p in v.problems), v.problems


@pytest.mark.slow  # a full-page screenshot of a long page: 3-7 s
@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
@pytest.mark.parametrize("name", ["index.html", page_name("alice"), page_name(RUNNER)])
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
    if name == page_name("alice"):
        titles = ev["svgTitles"]
        assert len(titles) >= 7 and all(titles), titles
        assert any("prescription zone" in t for t in titles)
        assert any("proxy" in t.lower() for t in titles)
        assert ev["hostileText"], "the hostile activity name should be shown as text"
        assert ev["h1"] == "Athlete alice"
    # a chart over time draws three dates or more; fewer are a sentence or a small table
    assert all(c["dates"] >= 3 for c in ev["timeCharts"]), ev["timeCharts"]
    if name == page_name(RUNNER):
        assert any(
            t.startswith("Change in the last observed week net of the pre-strength trend") for t in ev["svgTitles"]
        )  # the forest plot
        # economy, load and no e1RM / velocity / RFD charts over time: one barbell day
        assert len(ev["timeCharts"]) >= 4, ev["timeCharts"]  # three proxies and the running load
        assert not any(
            t.startswith(("Estimated 1RM over time", "Velocity at the reference load", "Rate of force"))
            for t in ev["svgTitles"]
        ), ev["svgTitles"]
        assert "Estimated 1RM over time: back_squat: e1RM " in ev["bodyText"]
        assert "the only date so far; a chart over time is drawn from 3 dates on." in ev["bodyText"]
        assert (
            "Rate of force development per session (median of reps, experimental): back_squat: one date so far"
            in ev["bodyText"]
        )
        # the strength ledger: its load chart, every session once with its sources, the latest sessions' sets with
        # theirs (the last one the app-only core workout, with its unmapped name), and the data-quality line
        assert "Weekly strength load (session RPE x minutes)" in ev["svgTitles"]
        body = ev["bodyText"]
        assert "Strength sessions from every source" in body
        assert "strong + fit" in body and "hevy + fit" in body
        assert f"{CORE_TITLE} (hevy)" in body and "Cable Crunch (unmapped)" in body
        assert "Strength ledger: 1 exercise name(s) not mapped to the exercise vocabulary (Cable Crunch; " in body
        assert "Training sessions merged across sources, counted once (n = " in body
        # by hand: the core workout's 20 min x its highest set RPE 8 = 160 AU (Foster 2001), no warm-up, Hevy alone
        assert f"{CORE_TITLE}\thevy\t2 + 0\t20 min\t8 (highest set RPE, a substitute)\t160" in body
        # the app logged warm-ups the watch did not: each merged session shows them apart (the simulator's 12 sets of
        # 4 exercises per session, sim.athlete seed 3, + a warm-up per exercise from sim_workouts(warmups=True))
        assert "Strength\tstrong + fit\t12 + 4\t" in body and "Strength\thevy + fit\t12 + 4\t" in body
    _assert_no_clipped_text(ev["clipping"], n_svgs=len(ev["svgTitles"]))


def test_index_link_opens_the_athlete_page(browser, report_dir):
    v = browser.visit(
        (report_dir / "index.html").as_uri(),
        width=1280,
        height=900,
        expression="Array.from(document.querySelectorAll('a')).map(a => a.href)",
    )
    target = (report_dir / page_name("alice")).as_uri()
    assert target in v.evaluated
