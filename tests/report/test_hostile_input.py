"""A report whose every free-text field is hostile, checked in the system Chromium (Playwright): nothing of it
is live in the DOM.

The store gets hostile text wherever it takes text from a FIT file or a user: activity names, devices and
HR sensors, file paths and import errors, exclusion reasons, exercise names as written (FIT sets and
streamed barbell sets), set and session ids, sensor names, shoes, event notes, the smallest worthwhile
change's source. Then every other string of the resulting report.json (the analysis' labels, units,
reasons, readings, notes...) gets the payload appended, except names the page compares or looks up
(status, proxy keys, the page's file name, ...) and dates, and the pages are rendered from that document (the
athlete's name too: the store refuses any name but a slug, and the pages do not rely on that). The payload
carries script elements, attribute breakers for both quotes, an element with a handler, a closing
</title> and </style>, a pre-escaped entity, an ANSI escape sequence and template syntax.

In Chromium, on every page: no dialog opened, the window flag the payload's scripts set is unset, the one
Content-Security-Policy meta tag is in the head and unchanged, no console message (a CSP violation would be
one), no uncaught error, no request but the page; the elements outside the charts are the same, in order, as on
the same pages rendered from a harmless string of the same length; the charts hold only elements the
harmless charts hold; no attribute is an event handler; every payload reads as text, whole (``{{ 7*7 }}``
still literal, ``&lt;b&gt;`` not turned into a tag), the escape character shown as ``\\x1b``.

Controls: the same document through the same templates with autoescape off and data evaluated as a
template (a renderer that injects) fails every DOM and text check and, with its Content-Security-Policy,
the console check; one payload left unescaped on the safe page is enough for the DOM, text and console checks;
the same pages without the CSP run the scripts (alert dialogs, the window flag) and fail the CSP check.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from report.build import page_name
from report.templating import CSP

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a 16-week store (~8 s), then six page visits

PAYLOAD = (
    "<script>window.pwned=1;alert(1)</script>\"><img src=x onerror=window.pwned=2;alert(2)>' "
    "onmouseover='alert(3)' data-x='</title><script>window.pwned=4;alert(4)</script></style>"
    "<svg onload=window.pwned=5;alert(5)><iframe src=javascript:alert(6)></iframe>"
    "&lt;b&gt;bold?&lt;/b&gt; \x1b[31mred\x1b[0m {{ 7*7 }}"
)
#: how a page must show it: as text, the control characters as \x1b
VISIBLE = PAYLOAD.replace("\x1b", "\\x1b")
ATHLETE = "hostile"

#: report.json keys whose strings the page compares or looks up (not free text): left as they are. (The athlete's
#: name is poisoned too: the store refuses anything but a slug, but the pages must not rely on it.)
STRUCTURAL = {"page", "status", "source", "se_method", "time_reference", "proxy"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$")


def tagged(tag: str) -> str:
    return f"{tag}:{PAYLOAD}"


# ------------------------------------------------------------------------------------------
# the hostile store, report.json and pages
# ------------------------------------------------------------------------------------------


def _hostile_store(con) -> None:
    """A simulated athlete (8 baseline weeks, 8 weeks of strength: the n-of-1 estimate is drawn) with hostile
    text in every free-text column, a hostile FIT strength session, and streamed barbell sets of a hostile
    exercise on three days (load-velocity profile, e1RM and RFD over time, a link gap)."""
    import numpy as np

    from jobs.demo import write_simulated_history
    from records.activities import ActivityData, SetRow, SourceFile
    from records.runs import RunRecords
    from sim.athlete import simulate_athlete
    from store.activities import write_activities
    from store.connection import transaction
    from store.economy_inputs import add_event, set_run_context, set_settings
    from store.writers import insert_rows

    sim = simulate_athlete(weeks=16, seed=5, runs_per_week=3, run_minutes=(30, 30), strength_start_week=8)
    write_simulated_history(con, ATHLETE, sim)
    runs = [
        r[0]
        for r in con.execute(
            "SELECT activity_id FROM activity WHERE athlete = ? AND sport = 'running' ORDER BY started_at", [ATHLETE]
        ).fetchall()
    ]
    con.execute(
        "UPDATE activity SET name = ?, device = ?, hr_sensor = ? WHERE athlete = ?",
        [tagged("name"), tagged("device"), tagged("hr_sensor"), ATHLETE],
    )
    con.execute(
        "UPDATE source_file SET status = 'partial', error = ?, path = ? WHERE athlete = ? AND sha256 = "
        "(SELECT min(sha256) FROM source_file WHERE athlete = ?)",
        [tagged("partial_error"), tagged("partial_path"), ATHLETE, ATHLETE],
    )
    con.execute(
        "INSERT INTO import_event VALUES (?, ?, NULL, 'failed', ?, now())",
        [ATHLETE, tagged("failed_path"), tagged("failed_reason")],
    )
    con.execute(
        "INSERT INTO import_event VALUES (?, ?, NULL, 'skipped', ?, now())",
        [ATHLETE, tagged("skipped_path"), tagged("skipped_reason")],
    )
    con.execute("INSERT INTO activity_exclusion VALUES (?, ?, ?, now())", [ATHLETE, runs[20], tagged("excluded")])
    for aid in runs[:6]:
        set_run_context(con, ATHLETE, aid, shoe=tagged("shoe"), air_temperature_c=14.0)
    last = max(p.started_at_ns for p in sim.plans) // 1_000_000_000
    end = dt.datetime.fromtimestamp(last, dt.UTC)
    add_event(con, ATHLETE, "shoe", end - dt.timedelta(days=20), note=tagged("event_note"))
    set_settings(con, ATHLETE, swc_pct=2.5, swc_source=tagged("swc_source"))

    exercise = tagged("exercise")
    fit_day = end - dt.timedelta(days=2)
    aid = "hostilefit0000000-0"
    sets = [
        SetRow(
            set_id=tagged(f"set{i}"),
            set_index=i,
            started_at=fit_day + dt.timedelta(minutes=3 * i),
            exercise=exercise,
            exercise_candidates=[exercise],
            fit_category=None,
            fit_category_subtype=None,
            set_type="active",
            reps=5,
            load_kg=60.0 + 5 * i,
            duration_s=30.0,
            activity_id=aid,
        )
        for i in range(3)
    ]
    act = ActivityData(
        activity_id=aid,
        session_index=0,
        sport="training",
        sub_sport="strength_training",
        started_at=fit_day,
        duration_s=600.0,
        distance_m=None,
        sets=sets,
        name=tagged("fit_name"),
        records=RunRecords.from_arrays(aid, np.zeros(0, dtype=np.int64), sport="training"),
    )
    with transaction(con):
        write_activities(
            con, ATHLETE, SourceFile("f" * 64, tagged("fit_path"), 1000, "imported", "fast", "activity"), [act]
        )

    sessions, reps, gaps = [], [], []
    for d in range(3):
        day = end - dt.timedelta(days=7 * (3 - d))
        for k, (load, v) in enumerate(((60.0, 1.0), (80.0, 0.8), (100.0, 0.6))):
            sid = f"{tagged('session')}-{d}-{k}"
            start = day + dt.timedelta(minutes=5 * k)
            sessions.append(
                {
                    "athlete": ATHLETE,
                    "session_id": sid,
                    "sensor": "witmotion",
                    "started_at": start,
                    "anchor_t_ns": 0,
                    "exercise": exercise,
                    "load_kg": load,
                    "status": "complete",
                    "device_name": tagged("sensor_name"),
                    "device_address": tagged("sensor_address"),
                    "lost_samples": 3 if k == 1 else 0,
                }
            )
            for i in range(3):
                reps.append(
                    {
                        "athlete": ATHLETE,
                        "session_id": sid,
                        "set_index": 1,
                        "rep_index": i + 1,
                        "exercise": exercise,
                        "load_kg": load,
                        "started_at": start + dt.timedelta(seconds=4 * i),
                        "mean_velocity_mps": v - 0.02 * i - 0.01 * d,
                        "peak_velocity_mps": 1.6 * v,
                        "peak_rfd_n_per_s": 3000.0 + 100 * i - 10 * load + 50 * d,
                        "rfd_0_100ms_n_per_s": 900.0 - 8 * load,
                    }
                )
            if k == 2:
                gaps.append({"athlete": ATHLETE, "session_id": sid, "start_ns": 10**9, "end_ns": 3 * 10**9})
    insert_rows(con, "stream_session", sessions)
    insert_rows(con, "rep", reps)
    insert_rows(con, "stream_gap", gaps)


def poison(doc: Any, payload: str, *, key: str | None = None, seen: list[str] | None = None) -> Any:
    """``doc`` with ``" " + payload`` appended to every string that is free text: not under a
    :data:`STRUCTURAL` key, not a date or instant, not already carrying the payload."""
    if isinstance(doc, dict):
        return {k: poison(v, payload, key=k, seen=seen) for k, v in doc.items()}
    if isinstance(doc, list):
        return [poison(v, payload, key=key, seen=seen) for v in doc]
    if isinstance(doc, str) and key not in STRUCTURAL and not _DATE.match(doc) and payload not in doc:
        if seen is not None:
            seen.append(str(key))
        return f"{doc} {payload}"
    return doc


def _write(files: dict[str, str], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Any]:
    """The hostile report.json (as the report job built it from the hostile store), the same poisoned further
    (every free-text string), its pages, and the same pages from a harmless string of the payload's length."""
    from jobs.report import build_report
    from report.build import render_files
    from store.connection import open_store

    tmp = tmp_path_factory.mktemp("hostile")
    con = open_store(tmp / "x.duckdb", wait_s=1.0)
    try:
        _hostile_store(con)
        build_report(con, tmp / "built")
    finally:
        con.close()
    built = json.loads((tmp / "built" / "report.json").read_text())
    seen: list[str] = []
    doc = poison(built, PAYLOAD, seen=seen)
    harmless = "h" * len(PAYLOAD)
    plain = poison(json.loads(json.dumps(built).replace(json.dumps(PAYLOAD)[1:-1], harmless)), harmless)
    return {
        "built": built,
        "doc": doc,
        "poisoned_keys": seen,
        "tmp": tmp,
        "harmless": harmless,
        "pages": _write(render_files(doc), tmp / "hostile"),
        "plain": _write(render_files(plain), tmp / "plain"),
    }


# ------------------------------------------------------------------------------------------
# what a page holds, measured in Chromium
# ------------------------------------------------------------------------------------------

DOM = """() => {
  const all = Array.from(document.querySelectorAll("*"));
  const inChart = (e) => e.tagName.toLowerCase() !== "svg" && e.closest("svg") !== null;
  const handlers = [];
  const attrs = new Set();
  for (const e of all) for (const a of e.attributes) {
    attrs.add(a.name.toLowerCase());
    if (a.name.toLowerCase().startsWith("on")) handlers.push(e.tagName.toLowerCase() + "[" + a.name + "]");
  }
  const count = (t) => document.getElementsByTagName(t).length;
  return {
    outside: all.filter((e) => !inChart(e)).map((e) => e.tagName.toLowerCase()),
    chartTags: Array.from(new Set(all.filter(inChart).map((e) => e.tagName))).sort(),
    attrs: Array.from(attrs).sort(),
    handlers: handlers,
    counts: Object.fromEntries(["script", "img", "iframe", "object", "embed", "link", "base", "form", "input",
                                "meta", "foreignObject"].map((t) => [t, count(t)])),
    text: document.body.textContent,
    pwned: window.pwned === undefined ? null : String(window.pwned),
    csp: Array.from(document.querySelectorAll("meta[http-equiv]")).map(
      (m) => [m.parentElement.tagName.toLowerCase(), m.httpEquiv, m.content]),
    title: document.title,
    headText: document.head.textContent.length,
  };
}"""


def _visit(browser, path: Path) -> Any:
    return browser.visit(path.as_uri(), width=1280, height=900, expression=DOM, full_page=False)


def findings(v, plain: dict[str, Any], harmless: str) -> dict[str, list[str]]:
    """What is live of the payload on a visited page (empty lists: nothing), against the same page rendered
    from ``harmless`` (a plain string of the payload's length) in place of the payload."""
    ev = v.evaluated
    text: str = ev["text"]
    shown = plain["text"].count(harmless)
    out: dict[str, list[str]] = {
        "dialogs": list(v.dialogs),
        "console": list(v.problems),
        "requests": [u for u in v.requests if u != v.url],
        "elements": [],
        "handlers": list(ev["handlers"]),
        "script": [] if ev["pwned"] is None else [f"a payload's script ran: window.pwned = {ev['pwned']}"],
        "csp": [] if ev["csp"] == [["head", "Content-Security-Policy", CSP]] else [f"CSP meta tags: {ev['csp']}"],
        "text": [],
    }
    if ev["outside"] != plain["outside"]:
        extra = sorted(set(ev["outside"]) - set(plain["outside"])) or "order or count"
        out["elements"].append(f"elements outside the charts differ from the harmless page: {extra}")
    if not set(ev["chartTags"]) <= set(plain["chartTags"]):
        out["elements"].append(
            f"chart elements not in harmless charts: {set(ev['chartTags']) - set(plain['chartTags'])}"
        )
    if not set(ev["attrs"]) <= set(plain["attrs"]):
        out["elements"].append(f"attributes not on the harmless page: {set(ev['attrs']) - set(plain['attrs'])}")
    if ev["counts"] != plain["counts"]:
        out["elements"].append(f"element counts {ev['counts']} != {plain['counts']}")
    if ev["title"] != plain["title"].replace(harmless, VISIBLE):
        out["elements"].append(f"document title {ev['title']!r}")
    if text.count(VISIBLE) != shown:
        out["text"].append(f"{shown - text.count(VISIBLE)} of {shown} payloads not shown as text, whole and literal")
    if "\x1b" in text:
        out["text"].append("a raw escape character in the text")
    return out


def _plain_dom(browser, folder: Path, name: str) -> dict[str, Any]:
    return _visit(browser, folder / name).evaluated


PAGES = ["index.html", page_name(ATHLETE)]


# ------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------


def test_every_free_text_field_is_hostile(hostile):
    """The store's free text reached report.json (and so the renderer), and the rest was poisoned too."""
    blob = json.dumps(hostile["built"])
    # (shoes, devices, sensor names and set ids stay in the store: report.json does not carry them)
    for tag in (
        "name",
        "partial_error",
        "partial_path",
        "failed_path",
        "failed_reason",
        "excluded",
        "swc_source",
        "exercise",
        "session",
        "hr_sensor",
        "event_note",
    ):
        assert json.dumps(tagged(tag))[1:-1] in blob, tag
    keys = set(hostile["poisoned_keys"])
    assert {
        "activity_id",
        "label",
        "unit",
        "units",
        "reason",
        "wording",
        "text",
        "note",
        "notes",
        "multiplicity",
        "model",
        "why",
        "literature_caveat",
        "role",
        "tz",
        "start_source",
    } <= keys, sorted(keys)
    assert len(hostile["poisoned_keys"]) > 200


@pytest.mark.parametrize("name", PAGES)
def test_nothing_hostile_is_live_in_the_dom(browser, hostile, name):
    plain = _plain_dom(browser, hostile["plain"], name)
    v = _visit(browser, hostile["pages"] / name)
    assert findings(v, plain, hostile["harmless"]) == {
        "dialogs": [],
        "console": [],
        "requests": [],
        "elements": [],
        "handlers": [],
        "script": [],
        "csp": [],
        "text": [],
    }
    text = v.evaluated["text"]
    assert plain["counts"]["script"] == 0 and plain["counts"]["img"] == 0 and plain["counts"]["iframe"] == 0
    assert "\x1b" not in (hostile["pages"] / name).read_text(encoding="utf-8")  # nor in the file a terminal shows
    assert f"{ATHLETE} {VISIBLE}" in text  # the athlete's name: in the index's link, in the page's heading
    assert v.evaluated["title"].startswith(f"runstrong{'' if name == 'index.html' else ': ' + ATHLETE + ' ' + VISIBLE}")
    if name == page_name(ATHLETE):
        assert text.count(VISIBLE) >= 100
        assert "{{ 7*7 }}" in text and "&lt;b&gt;bold?&lt;/b&gt;" in text and "\\x1b[31mred" in text
        # the store's hostile fields, each shown as text where the page shows it (charts' titles included)
        for tag in (
            "name",
            "partial_error",
            "partial_path",
            "failed_path",
            "failed_reason",
            "excluded",
            "swc_source",
            "exercise",
            "session",
        ):
            assert f"{tag}:{VISIBLE}" in text, tag
        titles = re.findall(r"Load-velocity profile: exercise:", text)
        assert titles, "the hostile exercise's chart title"


def test_the_checks_fail_on_a_page_that_injects(browser, hostile, monkeypatch, tmp_path):
    """The same document through the same templates with autoescape off and data evaluated as a template:
    every DOM and text check fires, and the CSP's refusals reach the console; without the CSP the injected
    handlers and scripts run and open dialogs."""
    import jinja2
    from markupsafe import Markup, escape

    from report import templating
    from report.build import render_files

    safe = templating.environment()

    def evaluate(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str) and not isinstance(value, Markup):
            try:
                return unsafe.from_string(value).render()
            except jinja2.TemplateError:
                return value
        return value

    unsafe = safe.overlay(autoescape=False, finalize=evaluate)
    monkeypatch.setattr(templating, "environment", lambda templates_dir=None: unsafe)
    monkeypatch.setattr(
        templating,
        "CSP_META",  # the policy, not escaped as the unsafe templates print it
        Markup(f'<meta http-equiv="Content-Security-Policy" content="{templating.CSP}">'),
    )
    injected = _write(render_files(hostile["doc"]), tmp_path / "injected")
    name = page_name(ATHLETE)
    plain = _plain_dom(browser, hostile["plain"], name)

    v = _visit(browser, injected / name)
    f = findings(v, plain, hostile["harmless"])
    assert f["dialogs"] == []  # the CSP refused the scripts and handlers...
    assert any("Content Security Policy" in c for c in f["console"]), f["console"]  # ...and said so
    assert f["elements"] and f["handlers"] and f["text"], f
    assert any("img" in e or "iframe" in e or "script" in e for e in f["elements"]), f["elements"]
    assert "red\x1b[0m 49" in v.evaluated["text"]  # the template syntax in the data was evaluated

    # one field left unescaped on the safe page (the last in the body, a caption or a table cell) is enough
    safe_page = (hostile["pages"] / name).read_text(encoding="utf-8")
    escaped = str(escape(VISIBLE))
    at = safe_page.rfind(escaped)
    assert at > safe_page.find("<body>")
    one = tmp_path / "one-unescaped.html"
    one.write_text(safe_page[:at] + PAYLOAD + safe_page[at + len(escaped) :], encoding="utf-8")
    f = findings(_visit(browser, one), plain, hostile["harmless"])
    assert f["elements"] and f["handlers"] and f["text"] and f["console"], f

    no_csp = injected / "no-csp.html"
    no_csp.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", (injected / name).read_text()))
    v = _visit(browser, no_csp)
    assert any("alert: 1" in d for d in v.dialogs) and any("alert: 2" in d for d in v.dialogs), v.dialogs
    f = findings(v, plain, hostile["harmless"])
    assert f["dialogs"] and f["script"] and f["csp"], f
