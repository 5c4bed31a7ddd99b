"""demo end to end: bundled FIT files + simulated history + streamed barbell sets -> report, < 2 min."""

from __future__ import annotations

import json
import time

import pytest

from jobs.demo import DEMO_STREAM_SETS, SAMPLE_ATHLETE, SIM_ATHLETE, run_demo
from report.build import page_name
from store.connection import open_store


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    t0 = time.monotonic()
    index = run_demo(out_dir=tmp_path, log=lambda m: None)
    elapsed = time.monotonic() - t0
    assert elapsed < 120, f"demo took {elapsed:.0f} s"
    assert index == tmp_path / "report" / "index.html" and index.is_file()
    html = index.read_text()
    assert page_name(SAMPLE_ATHLETE) in html and page_name(SIM_ATHLETE) in html
    sim_page = (index.parent / page_name(SIM_ATHLETE)).read_text()
    assert "SIMULATED DATA" in sim_page
    assert "SIMULATED" not in (index.parent / page_name(SAMPLE_ATHLETE)).read_text().split("<h1>")[0]

    con = open_store(tmp_path / "runstrong.duckdb", wait_s=5)
    try:
        sources = con.execute("SELECT path FROM source_file WHERE athlete = ?", [SAMPLE_ATHLETE]).fetchall()
        reps = con.execute(
            "SELECT load_kg, count(*) FROM rep WHERE athlete = ? GROUP BY 1 ORDER BY 1", [SIM_ATHLETE]
        ).fetchall()
        names = con.execute("SELECT DISTINCT name FROM activity WHERE athlete = ?", [SIM_ATHLETE]).fetchall()
        sessions = con.execute("SELECT count(*) FROM stream_session WHERE status = 'complete'").fetchall()[0][0]
    finally:
        con.close()
    # only the valid runs/strength folders were imported, never invalid/ or other/
    assert sources and all("/runs/" in p or "/strength/" in p for (p,) in sources)
    assert all(n.startswith("SIMULATED ") for (n,) in names)
    # the three streamed sets went through the virtual BLE device into the store (merged landing files)
    assert [load for load, _ in reps] == sorted(load for load, _, _ in DEMO_STREAM_SETS)
    assert sessions == len(DEMO_STREAM_SETS)
    assert not list((tmp_path / "runstrong.duckdb.landing").glob("*.duckdb"))
    doc = json.loads((index.parent / "report.json").read_text())
    sim = next(a for a in doc["athletes"] if a["athlete"] == SIM_ATHLETE)
    assert sim["simulated"]["simulated_activities"] > 0
    lv = sim["summary"]["neuromuscular"]["profiles"]
    assert lv[0]["exercise"] == "back_squat" and lv[0]["n_loads"] == 3 and lv[0]["e1rm_kg"] > 100
    # realism: a pre-strength baseline of >= 6 weeks, so the n-of-1 change is estimable; zone sets against the
    # load-velocity e5RM; sessions meeting the prescription; RFD as per-session medians; nothing in the future
    summ = sim["summary"]
    assert summ["baseline"]["n_weeks"] >= 6
    assert summ["changes"]["ef_proxy"]["estimate"] is not None
    # the economy section: the trend-adjusted change of the primary proxy, TE and SWC with sources, sensitivity
    ec = summ["economy_change"]
    prim = ec["primary"]["proxy"]
    assert summ["changes"][prim]["role"] == "primary" and summ["changes"][prim]["ci90_low"] is not None
    assert ec["method_version"] and ec["se_method"] == "ar1_gls" and ec["validation"]["seeds_per_scenario"] == 200
    assert ec["swc_pct"] == 2.0 and "Saunders" in ec["swc_source"] and ec["sensitivity"]["text"]
    for text in (
        "net of the pre-strength level and trend",
        "Typical error of the baseline weeks",
        "Smallest worthwhile change: 2 %",
        "Saunders et al. 2004",
        "Sensitivity:",
        "Primary proxy:",
    ):
        assert text in sim_page, text
    assert "lagged regression" not in sim_page.lower() and "0.2 x the between-week SD" not in sim_page
    lifted = [w for w in summ["weeks"] if w["sessions"]]
    assert sum(w["zone_sets"] for w in lifted) >= 3 * len(lifted)
    assert sum(w["sessions_meeting_prescription"] for w in lifted) >= len(lifted)
    assert all(w["bilateral_trained"] and w["unilateral_trained"] for w in lifted)
    assert {r["load_kg"] for r in summ["rfd_sessions"]} == {load for load, _, _ in DEMO_STREAM_SETS}
    assert sim["last_activity_at"] <= doc["generated_at"]
    # the lifter's Strong and Hevy exports: every strength session once, the watch and one app its sources
    led = summ["strength_ledger"]
    by_source = led["counts"]["sessions_by_source"]
    n_sessions = led["counts"]["sessions"]
    # the streamed sets are one session of their own unless the demo runs within an hour of a simulated one
    sensor_alone = sum(s["sources"] == ["sensor"] for s in led["sessions"])
    assert by_source["strong"] + by_source["hevy"] == by_source["fit"] == n_sessions - sensor_alone
    assert by_source["strong"] == by_source["fit"] // 2 and by_source["sensor"] == 1
    assert led["counts"]["merged_sessions"] == by_source["fit"]
    assert sum(w["sessions"] for w in lifted) == n_sessions
    assert {tuple(x for x in s["sources"] if x != "sensor") for s in led["sessions"] if "fit" in s["sources"]} == {
        ("strong", "fit"),
        ("hevy", "fit"),
    }
    assert all(s["warmup_sets"] > 0 for s in led["sessions"] if "fit" in s["sources"])
    assert summ["strength_load"]["n_sessions"] == n_sessions
