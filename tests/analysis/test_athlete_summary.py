"""summarise_athlete: JSON-ready, complete, consistent with the building blocks computed independently."""

import datetime as dt
import json
from collections import defaultdict

import numpy as np
import pytest

from analysis.athlete_summary import summarise_athlete
from analysis.economy import RunEconomy
from analysis.training_load import fitness_fatigue
from sim.athlete import simulate_athlete


@pytest.fixture(scope="module")
def athlete():
    a = simulate_athlete(seed=5, weeks=20, effect=0.04, strength_start_week=8)
    runs = a.fast_economy()
    # one run the user could not use: no HR
    runs.append(
        RunEconomy(
            "nohr-0", "insufficient", "no heart-rate data", a.plans[3].started_at_ns + 3600 * 10**9, local_date=None
        )
    )
    return a, runs


@pytest.fixture(scope="module")
def summary(athlete):
    a, runs = athlete
    trends = {"back_squat": {"mcv_at_reference_load_mps": [0.61, 0.63]}}
    return summarise_athlete(
        runs, None, a.strength_sets, a.profile, a.profile["tz"], e5rm_kg=a.e5rm_kg, neuromuscular_trends=trends
    )


def test_json_ready_without_nan(summary):
    text = json.dumps(summary.to_dict(), allow_nan=False)
    assert "NaN" not in text
    d = json.loads(text)
    assert d["neuromuscular"] == {"back_squat": {"mcv_at_reference_load_mps": [0.61, 0.63]}}
    assert d["literature"] and "oxygen" in d["literature_caveat"] and "proxies" in d["proxy_caveat"]


def test_excluded_runs_are_listed_with_reasons(athlete, summary):
    _a, runs = athlete
    bad = [r for r in runs if r.status != "ok"]
    assert summary.n_runs_excluded == len(bad) and summary.n_runs_total == len(runs)
    listed = {e["activity_id"]: e["reason"] for e in summary.excluded_runs}
    assert listed["nohr-0"] == "no heart-rate data"
    assert set(listed) == {r.activity_id for r in bad}
    assert all(e["reason"] for e in summary.excluded_runs)


def test_load_matches_independent_daily_sum(athlete, summary):
    _a, runs = athlete
    by_day = defaultdict(float)
    for r in runs:
        if r.trimp is not None:
            by_day[r.local_date] += r.trimp
    daily = summary.daily
    assert [d["trimp"] for d in daily] == pytest.approx([by_day.get(d["date"], 0.0) for d in daily])
    x = np.array([d["trimp"] for d in daily])
    seed = sum(x[:42]) / 42  # CTL and ATL start from the mean daily load of the first 6 weeks, not 0
    ctl, _atl, tsb = fitness_fatigue(x, ctl0=seed, atl0=seed)
    assert [d["ctl"] for d in daily] == pytest.approx(ctl.tolist())
    assert [d["tsb"] for d in daily] == pytest.approx(tsb.tolist())
    # weekly TRIMP = sum of its 7 days; weekly CTL = CTL on the week's Sunday
    for i, w in enumerate(summary.weeks):
        days = daily[7 * i : 7 * i + 7]
        assert days[0]["date"] == w["week_start"]
        assert w["trimp"] == pytest.approx(sum(d["trimp"] for d in days))
        assert w["ctl"] == pytest.approx(days[-1]["ctl"])


def test_periods_and_strength_rows(athlete, summary):
    a, _ = athlete
    weeks = summary.weeks
    assert [dt.date.fromisoformat(w["week_start"]).weekday() for w in weeks] == [0] * len(weeks)
    first_block = next(i for i, w in enumerate(weeks) if w["sessions"] > 0)
    assert all(w["period"] == "baseline" for w in weeks[:first_block])
    assert summary.baseline["n_weeks"] == first_block
    assert weeks[first_block]["period"] == "block"
    assert sum(w["sessions"] for w in weeks) == len({s.session_key for s in a.strength_sets})
    assert sum(w["volume_load_kg"] for w in weeks) == pytest.approx(sum(s.reps * s.load_kg for s in a.strength_sets))
    assert all(w["zone_sets"] <= w["sets"] for w in weeks)


def test_every_estimate_carries_n_interval_and_careful_wording(summary):
    for name, ce in summary.changes.items():
        assert ce["n_weeks"] > 0 and ce["n_runs"] > 0, name
        assert ce["ci90_low"] <= ce["estimate"] <= ce["ci90_high"], name
        assert "caused" not in ce["wording"] and "runs over" in ce["wording"]
        assert ce["role"] in ("primary", "secondary") and ce["method"] and ce["se_method"] == "ar1_gls"
    ec = summary.economy_change
    assert [ce["role"] for ce in summary.changes.values()].count("primary") == 1
    assert ec["primary"]["proxy"] == "speed_per_w_per_kg"  # the simulated athlete runs with power
    assert ec["method_version"] and ec["estimand"].startswith("change of the proxy in the last observed week")
    assert summary.typical_error["ef_proxy"]["n_weeks"] >= 6


def test_inputs_not_mutated_and_reference_speed(athlete):
    a, runs = athlete
    before = [r.hr_at_reference_speed_bpm for r in runs]
    s = summarise_athlete(runs, None, a.strength_sets, a.profile, a.profile["tz"], reference_speed_mps=3.0)
    assert [r.hr_at_reference_speed_bpm for r in runs] == before
    assert s.reference_speed_mps == 3.0
    ok = [r for r in s.runs if r["hr_at_reference_speed_bpm"] is not None]
    assert ok  # the fast path's HR-vs-GAP lines are read at 3.0 m/s


def test_no_strength_training_is_said_plainly(athlete):
    a, runs = athlete
    s = summarise_athlete(runs, None, [], a.profile, a.profile["tz"])
    assert s.latest_block is None and any("no heavy lower-body strength session" in n for n in s.notes)
    assert s.changes["ef_proxy"]["estimate"] is None and "not estimable" in s.changes["ef_proxy"]["wording"]
    with pytest.raises(ValueError, match="time zone"):
        summarise_athlete(runs, None, [], a.profile, "Atlantis/Capital")


def test_explicit_run_loads_replace_per_run_trimp(athlete):
    a, runs = athlete
    t0 = a.plans[0].started_at_ns
    iso = dt.datetime.fromtimestamp(t0 / 1e9, tz=dt.UTC).isoformat().replace("+00:00", "Z")
    loads = [{"started_at": iso, "trimp": 100.0}, {"started_at_ns": t0 + 86400 * 10**9, "trimp": 50.0}]
    s = summarise_athlete(runs, loads, a.strength_sets, a.profile, a.profile["tz"])
    nonzero = [(d["date"], d["trimp"]) for d in s.daily if d["trimp"]]
    assert [x for _, x in nonzero] == [100.0, 50.0]
    assert s.daily[0]["trimp"] == 100.0  # the range starts on the first load's Monday
    seed = 150.0 / 42  # both loads fall in the first 6 weeks of the range: CTL starts from their daily mean
    assert s.daily[0]["ctl"] == pytest.approx(seed + (100.0 - seed) / 42)
    assert s.daily[1]["ctl"] == pytest.approx(s.daily[0]["ctl"] + (50.0 - s.daily[0]["ctl"]) / 42)
    with pytest.raises(ValueError, match="started_at"):
        summarise_athlete(runs, [{"trimp": 1.0}], [], a.profile, a.profile["tz"])


def test_rfd_session_medians_by_hand():
    from analysis.athlete_summary import rfd_session_medians

    def rep(sid, load, t, peak, early, ex="back_squat"):
        return {
            "exercise": ex,
            "session_id": sid,
            "load_kg": load,
            "started_at": t,
            "peak_rfd_n_per_s": peak,
            "rfd_0_100ms_n_per_s": early,
        }

    reps = [
        rep("s1", 60.0, "2025-03-03T22:30:00Z", 4000.0, 3000.0),
        rep("s1", 60.0, "2025-03-03T22:30:05Z", 5000.0, 2000.0),
        rep("s1", 60.0, "2025-03-03T22:30:10Z", 3000.0, None),
        rep("s2", 100.0, "2025-03-03T22:40:00Z", 100.0, -200.0),
        rep("s2", 100.0, "2025-03-03T22:40:05Z", -80.0, -150.0),
        rep("s2", 100.0, "2025-03-03T22:40:09Z", None, float("nan")),
        rep("d1", 120.0, "2025-03-01T10:00:00Z", 9000.0, 7000.0, ex="deadlift"),
        rep("x", 50.0, "2025-03-01T10:00:00Z", None, None),  # no RFD at all: no row
        {"exercise": None, "session_id": "s9", "peak_rfd_n_per_s": 1.0},  # unknown exercise: skipped
    ]
    rows = rfd_session_medians(reps, "Europe/Oslo")
    assert [(r["exercise"], r["session_id"]) for r in rows] == [
        ("deadlift", "d1"),
        ("back_squat", "s1"),
        ("back_squat", "s2"),
    ]
    d1, s1, s2 = rows
    assert (s1["peak_rfd_median_n_per_s"], s1["n_peak_rfd"]) == (4000.0, 3)
    assert (s1["rfd_0_100ms_median_n_per_s"], s1["n_rfd_0_100ms"], s1["n_rfd_0_100ms_nonpositive"]) == (2500.0, 2, 0)
    assert s1["date"] == "2025-03-03" and s1["n_reps"] == 3 and s1["load_kg"] == 60.0
    assert (s2["peak_rfd_median_n_per_s"], s2["rfd_0_100ms_median_n_per_s"]) == (10.0, -175.0)
    assert s2["n_rfd_0_100ms_nonpositive"] == 2 and s2["date"] == "2025-03-03"  # 23:40 local: same day
    assert s1["eccentric_first"] is True and d1["eccentric_first"] is False
    late = rfd_session_medians([rep("s3", 60.0, "2025-03-03T23:30:00Z", 1.0, 1.0)], "Europe/Oslo")
    assert late[0]["date"] == "2025-03-04"  # 00:30 local
