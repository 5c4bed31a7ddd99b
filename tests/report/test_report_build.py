"""build_report: escaping, report.json = analysis outputs, links, data quality, cache, reuse."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest

from analysis.athlete_summary import summarise_athlete
from analysis.economy import run_economy
from jobs.report import build_report
from report.build import page_name
from store import readers
from tests.report.html_tags import parse_html as _parse
from tests.report.report_testdata import HOSTILE, build_history


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from store.connection import open_store

    tmp = tmp_path_factory.mktemp("rep")
    con = open_store(tmp / "x.duckdb", wait_s=1.0)
    ids = build_history(con, "alice", weeks=10)
    build_history(con, "bob", weeks=4, hostile=False)
    out = tmp / "out"
    res = build_report(con, out)
    yield {"con": con, "out": out, "res": res, "ids": ids, "tmp": tmp}
    con.close()


def test_hostile_strings_are_escaped_everywhere(built):
    out: Path = built["out"]
    page = (out / page_name("alice")).read_text()
    # the hostile activity name, exclusion reason and failed-file path are shown, escaped
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    assert "<script" not in page.lower()
    assert "<script" not in (out / "index.html").read_text().lower()
    # the parsed text (what a reader sees) contains the literal string
    text = "".join(_parse(page).text)
    assert HOSTILE in text


def test_pages_are_self_contained(built):
    out: Path = built["out"]
    for f in [out / "index.html", out / page_name("alice"), out / page_name("bob")]:
        html = f.read_text()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert "Content-Security-Policy" in html
        for tag, attrs in _parse(html).tags:
            assert tag not in ("script", "link", "img", "iframe", "object"), (f, tag)
            for k in ("src", "href", "xlink:href"):
                v = attrs.get(k)
                if v is None:
                    continue
                assert not re.match(r"^[a-z]+:", v) or v.startswith("#"), (f, tag, v)
                assert not v.startswith("/"), v


def test_index_links_every_athlete_page_relatively(built):
    out: Path = built["out"]
    tags = _parse((out / "index.html").read_text()).tags
    hrefs = [a["href"] for t, a in tags if t == "a" and a.get("href", "").endswith(".html")]
    assert sorted(hrefs) == sorted([page_name("alice"), page_name("bob")])
    for h in hrefs:
        assert (out / h).is_file()
        back = [a.get("href") for t, a in _parse((out / h).read_text()).tags if t == "a"]
        assert "index.html" in back


def test_charts_have_titles(built):
    page = (built["out"] / page_name("alice")).read_text()
    svgs = re.findall(r"<svg\b[^>]*>\s*<title id=\"[^\"]+\">([^<]+)</title>", page)
    assert len(svgs) >= 7
    assert any("prescription zone" in t for t in svgs)
    assert all('role="img"' in s for s in re.findall(r"<svg\b[^>]*>", page))


def test_data_quality_lists_failed_file_and_excluded_run(built):
    doc = json.loads((built["out"] / "report.json").read_text())
    alice = next(a for a in doc["athletes"] if a["athlete"] == "alice")
    h = alice["data_health"]
    assert [f["path"] for f in h["files_failed"]] == [f"broken/{HOSTILE}.fit"]
    assert h["files_failed"][0]["reason"] == "FitCRCError: CRC mismatch"
    ex = h["runs_excluded_by_user"]
    assert [e["activity_id"] for e in ex] == [built["ids"]["excluded"]]
    assert ex[0]["reason"] == "treadmill run " + HOSTILE
    page = (built["out"] / page_name("alice")).read_text()
    dq = page[page.index('id="data-quality"') :]
    assert "broken/&lt;script&gt;alert(1)&lt;/script&gt;.fit" in dq
    assert "treadmill run &lt;script&gt;" in dq
    assert (
        "Runs excluded from the economy analysis by the user or, for files without a calendar date, "
        "automatically (n = 1)" in dq
    )
    # the index's data-health columns count them
    idx = (built["out"] / "index.html").read_text()
    assert "1 failed, 0 partial" in idx


def test_report_json_equals_the_analysis(built):
    """Recompute independently from the store with the analysis functions; report.json must match."""
    con = built["con"]
    doc = json.loads((built["out"] / "report.json").read_text())
    alice = next(a for a in doc["athletes"] if a["athlete"] == "alice")
    prof = {"body_mass_kg": 70.0, "sex": "female", "hr_rest_bpm": 50.0, "hr_max_bpm": 190.0, "tz": "Europe/Oslo"}
    econ = {}
    for rr in readers.run_records(con, "alice", include_excluded=True):
        econ[rr.activity_id] = run_economy(
            rr, body_mass_kg=70.0, tz="Europe/Oslo", hr_rest_bpm=50.0, hr_max_bpm=190.0, sex="female"
        )
    by_id = {r["activity_id"]: r for r in alice["runs"]}
    assert set(by_id) == set(econ)
    for aid, e in econ.items():
        assert by_id[aid]["ef_proxy"] == pytest.approx(e.ef_proxy, rel=1e-12)
        assert by_id[aid]["trimp"] == pytest.approx(e.trimp, rel=1e-12)
        assert by_id[aid]["status"] == e.status
    excluded = built["ids"]["excluded"]
    runs = [
        dataclasses.replace(e, status="excluded", reason="excluded by the user: x") if a == excluded else e
        for a, e in sorted(econ.items(), key=lambda kv: kv[1].started_at_ns)
    ]
    sets = [s for s in readers.sets(con, "alice")]
    ctx = {aid: {"hr_sensor": None, "air_temperature_c": None, "shoe": None} for aid in econ}
    ref = summarise_athlete(runs, None, sets, prof, "Europe/Oslo", run_context=ctx).to_dict()
    got = alice["summary"]
    assert got["n_runs_ok"] == ref["n_runs_ok"] == 19
    assert got["n_runs_excluded"] == 1
    assert [w["week_start"] for w in got["weeks"]] == [w["week_start"] for w in ref["weeks"]]
    for gw, rw in zip(got["weeks"], ref["weeks"], strict=True):
        assert gw["ef_proxy"] == pytest.approx(rw["ef_proxy"], rel=1e-12)
        assert gw["sessions"] == rw["sessions"] == 2
        assert gw["volume_load_kg"] == pytest.approx(rw["volume_load_kg"])
        assert gw["ctl"] == pytest.approx(rw["ctl"])
    for name in ref["proxies"]:
        for k in ("estimate", "ci90_low", "ci90_high", "n_runs", "reason"):
            assert got["changes"][name].get(k) == pytest.approx(ref["changes"][name].get(k), nan_ok=True), (name, k)
    assert got["economy_change"]["method_version"] == ref["economy_change"]["method_version"]
    assert got["economy_change"]["strength_start"] == ref["economy_change"]["strength_start"]
    # the numbers the page prints are the report.json numbers
    page = (built["out"] / page_name("alice")).read_text()
    assert f"{got['n_runs_ok']} of {got['n_runs_total']}" in page


def test_proxy_cache_and_reuse(built, tmp_path):
    con = built["con"]
    n_cached = con.execute("SELECT count(*) FROM run_metric WHERE athlete = 'alice'").fetchall()[0][0]
    assert n_cached == 20
    again = build_report(con, built["out"])
    assert again["runs_computed"] == 0 and again["rebuilt"]
    same = build_report(con, built["out"], reuse_unchanged=True)
    assert not same["rebuilt"]
    # a profile change invalidates the cached proxies (the HR profile enters TRIMP) and changes the
    # store fingerprint, so nightly's reuse rebuilds; so does a new exclusion
    con.execute("UPDATE athlete SET hr_max_bpm = 195 WHERE athlete = 'bob'")
    changed = build_report(con, built["out"], reuse_unchanged=True)
    assert changed["rebuilt"] and changed["runs_computed"] == 8
    con.execute("INSERT INTO activity_exclusion VALUES ('bob', ?, 'GPS drift', now())", [built["ids"]["run_ids"][0]])
    excluded = build_report(con, built["out"], reuse_unchanged=True)
    assert excluded["rebuilt"] and excluded["runs_computed"] == 0


def test_chart_svg_carries_no_raw_text(tmp_path):
    from report.charts import lv_profile_chart

    svg = lv_profile_chart("--><script>alert(1)</script><!--", [60.0, 80.0, 100.0], [1.0, 0.8, 0.6])
    assert "<script" not in svg and "<!--" not in svg
    assert "<title id=" in svg and "&lt;script&gt;" in svg


def test_simulated_athlete_is_labelled(make_store, tmp_path):
    from jobs.demo import write_simulated_history
    from sim.athlete import simulate_athlete

    con, _ = make_store()
    sim = simulate_athlete(weeks=3, seed=3, runs_per_week=2, run_minutes=(30, 30), strength_start_week=1)
    counts = write_simulated_history(con, "simulated-runner", sim)
    assert counts["runs"] == len(sim.plans)
    assert write_simulated_history(con, "simulated-runner", sim)["runs"] == 0  # idempotent
    res = build_report(con, tmp_path / "o")
    page = Path(res["pages"][0]).read_text()
    assert "SIMULATED DATA" in page and 'class="banner"' in page
    assert "(SIMULATED data)</title>" in page
    assert "simulated-runner (simulated data)" in (tmp_path / "o" / "index.html").read_text()
    names = {r[0] for r in con.execute("SELECT name FROM activity").fetchall()}
    assert all(n.startswith("SIMULATED ") for n in names)


def test_load_velocity_numbers_equal_the_analysis(make_store, tmp_path):
    """Barbell reps at three loads on one day: the page's profile, e1RM and e5RM are the bar-velocity
    module's, fitted on each set's best rep (its e5RM is the one handed to the zone count)."""
    import datetime as dt

    from analysis import load_velocity as lv
    from store.writers import insert_rows

    con, _ = make_store()
    day = dt.datetime(2025, 3, 3, 17, 0, tzinfo=dt.UTC)
    reps, sessions = [], []
    mcv = {60.0: [0.95, 1.01, 0.98], 80.0: [0.80, 0.78, 0.74], 100.0: [0.62, 0.60, 0.55]}
    for k, (load, vs) in enumerate(mcv.items()):
        sid = f"sess{k}"
        start = day + dt.timedelta(minutes=5 * k)
        sessions.append(
            {
                "athlete": "lifter",
                "session_id": sid,
                "sensor": "witmotion",
                "started_at": start,
                "anchor_t_ns": 0,
                "exercise": "back_squat",
                "load_kg": load,
                "status": "complete",
            }
        )
        for i, v in enumerate(vs):
            reps.append(
                {
                    "athlete": "lifter",
                    "session_id": sid,
                    "set_index": 1,
                    "rep_index": i + 1,
                    "exercise": "back_squat",
                    "load_kg": load,
                    "started_at": start + dt.timedelta(seconds=4 * i),
                    "mean_velocity_mps": v,
                    "peak_rfd_n_per_s": 3000.0 + 100 * i,
                }
            )
    insert_rows(con, "stream_session", sessions)
    insert_rows(con, "rep", reps)
    insert_rows(
        con, "stream_gap", [{"athlete": "lifter", "session_id": "sess1", "start_ns": 10**9, "end_ns": 3 * 10**9}]
    )
    res = build_report(con, tmp_path / "o")
    import json

    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    nm = doc["athletes"][0]["summary"]["neuromuscular"]
    prof = lv.fit_load_velocity([60.0, 80.0, 100.0], [1.01, 0.80, 0.62])
    orm = lv.one_rm_for_exercise("back_squat", prof)
    p = nm["profiles"][0]
    assert p["velocities_mps"] == [1.01, 0.80, 0.62]  # best rep of each set
    assert p["e1rm_kg"] == pytest.approx(orm.e1rm_kg) and p["e5rm_kg"] == pytest.approx(orm.e5rm_kg)
    assert nm["e5rm_kg"] == {"back_squat": pytest.approx(orm.e5rm_kg)}
    assert [t["e1rm_kg"] for t in nm["e1rm_trend"]] == [pytest.approx(orm.e1rm_kg)]
    page = Path(res["pages"][0]).read_text()
    assert f"e1RM {orm.e1rm_kg:.1f} kg" in page
    # the session with a link gap is in the data-quality section, with its 2 s gap
    gaps = doc["athletes"][0]["data_health"]["sessions_with_gaps"]
    assert [(g["session_id"], g["gaps"], g["gap_s"]) for g in gaps] == [("sess1", 1, 2.0)]
    assert "Streamed sessions with link gaps or lost samples (n = 1)" in page
    # RFD: one median per session (and load), per exercise, with the eccentric-first sentence under the chart
    rfd = doc["athletes"][0]["summary"]["rfd_sessions"]
    assert [(r["session_id"], r["load_kg"], r["peak_rfd_median_n_per_s"], r["n_peak_rfd"]) for r in rfd] == [
        ("sess0", 60.0, 3100.0, 3),
        ("sess1", 80.0, 3100.0, 3),
        ("sess2", 100.0, 3100.0, 3),
    ]
    strength = page[page.index('id="strength"') : page.index('id="load-velocity"')]
    assert "Rate of force development per session (median of reps, experimental): back_squat" in strength
    assert "n = 3 session medians from 9 reps" in strength
    assert (
        "is not the isometric RFD of the literature, and is comparable only within this athlete and exercise"
        in strength
    )


def test_adherence_shows_the_per_session_prescription(built):
    """build_history: two sessions a week of back squat 5, 5, 4 reps + split squat 8 reps, and no bar-velocity
    data, so no e5RM: every session has three 3-5-rep back-squat sets that cannot be placed -> undecidable,
    none meets the prescription; bilateral and unilateral lifts are both trained."""
    doc = json.loads((built["out"] / "report.json").read_text())
    alice = next(a for a in doc["athletes"] if a["athlete"] == "alice")
    weeks = [w for w in alice["summary"]["weeks"] if w["sessions"]]
    assert len(weeks) == 10
    for w in weeks:
        assert (w["sessions_meeting_prescription"], w["sessions_zone_undecidable"]) == (0, 2)
        assert w["prescription_met"] is False
        assert w["bilateral_trained"] and w["unilateral_trained"]
        assert [d["zone_undecidable"] for d in w["session_details"]] == [True, True]
        assert all(d["sets"] == 4 and d["zone_sets_by_exercise"] == {} for d in w["session_details"])
    page = (built["out"] / page_name("alice")).read_text()
    adh = page[page.index('id="adherence"') : page.index('id="strength"')]
    assert "sessions meeting prescription / target" in adh
    assert "0 / 2 (2 undecidable)" in adh
    assert "undecidable (no e5RM)" in adh  # the per-session table
    assert "both" in adh and "bilateral / unilateral lifts" in adh
    cards = page[page.index('id="headline"') : page.index('id="adherence"')]
    assert "Sessions meeting the prescription, latest week" in cards and "2 undecidable (no e5RM)" in cards


def test_zone_sessions_from_a_bar_velocity_e5rm(make_store, tmp_path):
    """Streamed sets at three loads give back squat an e5RM; FIT sessions with 3 sets at ~90 % of it meet the
    prescription, a FIT session with 2 such sets does not, and the streamed sets count in no extra session."""
    import datetime as dt

    from analysis import load_velocity as lv
    from store.writers import insert_rows
    from tests.report.report_testdata import strength_activity, write

    con, _ = make_store()
    day = dt.datetime(2025, 3, 3, 17, 0, tzinfo=dt.UTC)
    sessions, reps, sets = [], [], []
    for k, (load, v) in enumerate(((60.0, 1.0), (80.0, 0.8), (100.0, 0.6))):
        sid = f"sess{k}"
        start = day + dt.timedelta(minutes=5 * k)
        sessions.append(
            {
                "athlete": "lifter",
                "session_id": sid,
                "sensor": "witmotion",
                "started_at": start,
                "anchor_t_ns": 0,
                "exercise": "back_squat",
                "load_kg": load,
                "status": "complete",
            }
        )
        reps.append(
            {
                "athlete": "lifter",
                "session_id": sid,
                "set_index": 1,
                "rep_index": 1,
                "exercise": "back_squat",
                "load_kg": load,
                "started_at": start,
                "mean_velocity_mps": v,
            }
        )
        sets.append(
            {
                "athlete": "lifter",
                "set_id": f"{sid}-1",
                "session_id": sid,
                "set_index": 1,
                "started_at": start,
                "exercise": "back_squat",
                "set_type": "active",
                "reps": 12,
                "load_kg": load,
                "source": "sensor",
            }
        )
    insert_rows(con, "stream_session", sessions)
    insert_rows(con, "rep", reps)
    insert_rows(con, "strength_set", sets)
    e5 = lv.one_rm_for_exercise("back_squat", lv.fit_load_velocity([60.0, 80.0, 100.0], [1.0, 0.8, 0.6])).e5rm_kg
    load = round(0.9 * e5, 1)
    write(
        con,
        "lifter",
        [
            strength_activity(
                "fitA000000000000-0", day + dt.timedelta(days=1), [("back_squat", 5, load)] * 3 + [("step_up", 5, 20.0)]
            ),
            strength_activity("fitB000000000000-0", day + dt.timedelta(days=3), [("back_squat", 5, load)] * 2),
        ],
    )
    build_report(con, tmp_path / "o")
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    (w,) = [w for w in doc["athletes"][0]["summary"]["weeks"] if w["sessions"]]
    # the three streamed 12-rep sets are one session (same afternoon), outside the zone (12 reps)
    assert w["sessions"] == 3 and w["zone_sets"] == 5
    assert [d["zone_sets_by_exercise"] for d in w["session_details"]] == [{}, {"back_squat": 3}, {"back_squat": 2}]
    assert (w["sessions_meeting_prescription"], w["prescription_met"]) == (1, False)
    assert w["bilateral_trained"] and w["unilateral_trained"]


def test_runs_on_a_device_relative_clock_stay_off_the_calendar(make_store, tmp_path):
    import datetime as dt

    from tests.report.report_testdata import run_activity, write

    con, _ = make_store()
    good = run_activity("good000000000000-0", dt.datetime(2025, 3, 4, 8, tzinfo=dt.UTC), seed=1)
    rel = dataclasses.replace(
        run_activity("rel0000000000000-0", dt.datetime(1970, 7, 10, 7, tzinfo=dt.UTC), seed=2),
        time_reference="device_relative",
    )
    write(con, "runner", [good, rel])
    build_report(con, tmp_path / "o")
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    s = doc["athletes"][0]["summary"]
    assert s["n_weeks"] == 1 and s["weeks"][0]["week_start"] == "2025-03-03"
    ex = {r["activity_id"]: r for r in s["excluded_runs"]}
    assert "device-relative clock" in ex["rel0000000000000-0"]["reason"]
    assert ex["rel0000000000000-0"]["local_date"] is None
    # the page never shows the 1970-based time as a date
    page = (tmp_path / "o" / page_name("runner")).read_text()
    assert "1970-07" not in page
    assert page.count("no date (device clock)") >= 2  # runs table and data-quality table


def test_report_writes_a_run_log_row(make_store, tmp_path):
    from store.report_queries import last_run_log
    from tests.report.report_testdata import build_history

    con, _ = make_store()
    build_history(con, "carol", weeks=2, hostile=False)
    assert last_run_log(con, "report") is None
    res = build_report(con, tmp_path / "o")
    row = last_run_log(con, "report")
    assert row is not None and row["seconds"] == pytest.approx(res["seconds"])
    summary = json.loads(row["summary"])
    assert summary["command"] == "report" and summary["athletes"] == 1 and summary["rebuilt"] is True
    assert summary["index_html"] == str(tmp_path / "o" / "index.html")
    build_report(con, tmp_path / "o", log_command=None)
    assert con.execute("SELECT count(*) FROM run_log").fetchall()[0][0] == 1


def test_strength_charts_start_shortly_before_the_first_session(make_store, tmp_path):
    """30 weeks of runs, strength only from week 25: the strength charts show weeks 17-29 (8 lead weeks), the
    economy charts all 30 weeks."""
    import datetime as dt

    from tests.report.report_testdata import run_activity, strength_activity, write

    con, _ = make_store()
    start = dt.datetime(2025, 1, 6, 8, tzinfo=dt.UTC)  # a Monday
    acts = [
        run_activity(f"r{w:02d}0000000000000-0", start + dt.timedelta(weeks=w, days=1), minutes=30, seed=w)
        for w in range(30)
    ]
    acts += [
        strength_activity(
            f"s{w:02d}0000000000000-0", start + dt.timedelta(weeks=w, days=3), [("back_squat", 5, 80.0)] * 3
        )
        for w in range(25, 30)
    ]
    write(con, "late", acts)
    res = build_report(con, tmp_path / "o")
    page = Path(res["pages"][0]).read_text()
    first_shown = (start + dt.timedelta(weeks=17)).date().isoformat()
    assert (
        f"n = 13 weeks from {first_shown}, 8 weeks before the first strength session"
        in page[page.index('id="adherence"') : page.index('id="strength"')]
    )
    assert f"n = 13 weeks from {first_shown}" in page[page.index('id="strength"') : page.index('id="load-velocity"')]
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    assert doc["athletes"][0]["summary"]["n_weeks"] == 30  # the analysis keeps every week


def test_report_folder_is_swapped_whole_and_never_writes_through_a_link(make_store, tmp_path):
    """Hardening items 3 and 8: a rebuild replaces the whole folder at once (pages, index and
    report.json of one build, never mixed); a link planted where the report writes is never
    followed; a folder that is not a report is refused, not overwritten."""
    from store.snapshot_dir import OutputDirError
    from tests.report.report_testdata import build_history

    con, _ = make_store()
    build_history(con, "alice", weeks=3, hostile=False)
    out = tmp_path / "site"
    build_report(con, out)
    first = json.loads((out / "report.json").read_text())["generated_at"]
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    current = Path(os.path.realpath(out))
    (current / "report.json.tmp").symlink_to(secret)  # planted inside the live report
    build_report(con, out)
    assert secret.read_text() == "keep me"
    doc = json.loads((out / "report.json").read_text())
    assert doc["generated_at"] != first and not (out / "report.json").is_symlink()
    from report.text import when as _when

    for a in doc["athletes"]:
        assert f"Generated {_when(doc['generated_at'])}" in (out / a["page"]).read_text()  # the same build's

    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "report.json.tmp").symlink_to(secret)  # an earlier version's folder with a planted link
    with pytest.raises(OutputDirError, match=r"report\.json\.tmp"):
        build_report(con, legacy)
    (legacy / "report.json.tmp").unlink()
    (legacy / "index.html").write_text("an old report")
    build_report(con, legacy)
    assert legacy.is_symlink() and "an old report" not in (legacy / "index.html").read_text()
    assert secret.read_text() == "keep me"
