"""TRIMP, CTL/ATL/TSB and the weekly strength rollup against hand-computed answers."""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.training_load import (
    StrengthSet,
    banister_trimp,
    daily_load,
    fitness_fatigue,
    strength_sets_from_dicts,
    weekly_strength,
)

NS = 10**9


def utc_ns(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp()) * NS


def test_trimp_constant_hr_hour_by_hand_men_and_women():
    t = np.arange(3601, dtype=np.int64) * NS  # 3600 one-second intervals = 60 min
    hr = np.full(3601, 120.0)
    # HRr = (120 - 50) / (190 - 50) = 0.5
    men = 60 * 0.5 * 0.64 * math.exp(1.92 * 0.5)  # = 50.14...
    women = 60 * 0.5 * 0.86 * math.exp(1.67 * 0.5)
    assert banister_trimp(t, hr, hr_rest_bpm=50, hr_max_bpm=190, sex="male") == pytest.approx(men, rel=1e-12)
    assert banister_trimp(t, hr, hr_rest_bpm=50, hr_max_bpm=190, sex="female") == pytest.approx(women, rel=1e-12)
    assert men == pytest.approx(50.1446, abs=1e-3)


def test_trimp_pauses_missing_hr_and_clipping():
    t = np.concatenate((np.arange(1801), 1800 + 600 + np.arange(1, 1801))).astype(np.int64) * NS
    hr = np.full(t.size, 120.0)
    full = 60 * 0.5 * 0.64 * math.exp(0.96)
    # the 600 s pause interval is not counted: 1800 + 1799 intervals of 1 s
    got = banister_trimp(t, hr, hr_rest_bpm=50, hr_max_bpm=190, sex="m")
    assert got == pytest.approx(full * 3599 / 3600, rel=1e-12)
    hr2 = hr.copy()
    hr2[:900] = np.nan
    assert banister_trimp(t, hr2, hr_rest_bpm=50, hr_max_bpm=190, sex="male") == pytest.approx(full * 2699 / 3600)
    # HR above max is clipped to HRr = 1; below rest to 0
    one = np.arange(61, dtype=np.int64) * NS
    assert banister_trimp(one, np.full(61, 230.0), hr_rest_bpm=50, hr_max_bpm=190, sex="male") == pytest.approx(
        1 * 1.0 * 0.64 * math.exp(1.92)
    )
    assert banister_trimp(one, np.full(61, 40.0), hr_rest_bpm=50, hr_max_bpm=190, sex="male") == 0.0


def test_trimp_validation():
    t = np.arange(3, dtype=np.int64)
    with pytest.raises(ValueError, match="sex"):
        banister_trimp(t, np.ones(3), hr_rest_bpm=50, hr_max_bpm=190, sex="x")
    with pytest.raises(ValueError, match="hr_rest_bpm"):
        banister_trimp(t, np.ones(3), hr_rest_bpm=190, hr_max_bpm=50, sex="male")
    with pytest.raises(ValueError):
        banister_trimp(t, np.ones(4), hr_rest_bpm=50, hr_max_bpm=190, sex="male")


def test_ewma_step_response_closed_form():
    n = 200
    ctl, atl, tsb = fitness_fatigue(np.full(n, 100.0))
    d = np.arange(n)
    assert np.allclose(ctl, 100 * (1 - (1 - 1 / 42) ** (d + 1)), rtol=1e-12)
    assert np.allclose(atl, 100 * (1 - (1 - 1 / 7) ** (d + 1)), rtol=1e-12)
    assert np.allclose(tsb, ctl - atl)
    # after one time constant the step has reached 1 - (1 - 1/tau)^tau (~ 1 - 1/e)
    assert ctl[41] == pytest.approx(100 * (1 - (41 / 42) ** 42))
    assert 62 < ctl[41] < 64


def test_ewma_impulse_decay_and_initial_values():
    x = np.zeros(30)
    x[0] = 70.0
    ctl, atl, _ = fitness_fatigue(x, ctl0=10.0, atl0=20.0)
    # day 0: y = y0 + (70 - y0)/tau; then geometric decay by (1 - 1/tau)
    assert ctl[0] == pytest.approx(10 + (70 - 10) / 42)
    assert atl[10] == pytest.approx((20 + (70 - 20) / 7) * (6 / 7) ** 10)
    with pytest.raises(ValueError, match="finite"):
        fitness_fatigue(np.array([1.0, np.nan]))


def test_daily_load_uses_local_dates():
    tz = "America/New_York"
    # 2025-03-04 02:00 UTC is 2025-03-03 21:00 in New York (UTC-5)
    days, load = daily_load([utc_ns(2025, 3, 4, 2), utc_ns(2025, 3, 4, 15), utc_ns(2025, 3, 6, 12)], [10, 20, 5], tz)
    assert days[0] == dt.date(2025, 3, 3) and days[-1] == dt.date(2025, 3, 6)
    assert load.tolist() == [10.0, 20.0, 0.0, 5.0]


def test_weekly_strength_by_hand():
    tz = "America/New_York"
    e5 = {"back_squat": 100.0, "bulgarian_split_squat": 40.0}
    sets = [
        # session A: Sunday 2025-03-09 evening local (Monday 00:30 UTC) -> week of Monday 2025-03-03
        StrengthSet(utc_ns(2025, 3, 10, 0, 30), "back_squat", 5, 85.0, "active", "A"),  # zone
        StrengthSet(utc_ns(2025, 3, 10, 0, 35), "back_squat", 6, 85.0, "active", "A"),  # 6 reps: not zone
        StrengthSet(utc_ns(2025, 3, 10, 0, 40), "back_squat", 5, 75.0, "active", "A"),  # 75 %: not zone
        StrengthSet(utc_ns(2025, 3, 10, 0, 41), "back_squat", None, None, "rest", "A"),  # rest: ignored
        # session B (no key: grouped by time), Wednesday 2025-03-12 local
        StrengthSet(utc_ns(2025, 3, 12, 17, 0), "bulgarian_split_squat", 3, 40.0, "active"),  # 100 %: zone
        StrengthSet(utc_ns(2025, 3, 12, 17, 5), "cable_row", 10, 30.0, "active"),  # unknown laterality, no e5RM
        # session C, same day 5 h later -> a separate session
        StrengthSet(utc_ns(2025, 3, 12, 22, 5), "back_squat", 3, 100.0, "active"),  # zone
    ]
    weeks = weekly_strength(sets, tz, e5rm_kg=e5)
    assert [w.week_start for w in weeks] == ["2025-03-03", "2025-03-10"]
    w0, w1 = weeks
    assert (w0.sessions, w0.sets, w0.zone_sets) == (1, 3, 1)
    assert w0.volume_load_kg == pytest.approx(5 * 85 + 6 * 85 + 5 * 75)
    assert (w0.bilateral_sets, w0.unilateral_sets) == (3, 0)
    assert (w1.sessions, w1.sets, w1.zone_sets, w1.sets_without_e5rm) == (2, 3, 2, 1)
    assert w1.volume_load_kg == pytest.approx(3 * 40 + 10 * 30 + 3 * 100)
    assert (w1.bilateral_sets, w1.unilateral_sets, w1.unknown_laterality_sets) == (1, 1, 1)
    assert w1.unilateral_volume_load_kg == pytest.approx(120.0)
    assert w1.adherence == pytest.approx(1.0) and w0.adherence == pytest.approx(0.5)
    assert (w0.cumulative_sessions, w1.cumulative_sessions) == (1, 3)


def test_weekly_strength_range_and_dict_rows():
    rows = [
        {
            "started_at": "2025-03-05T18:00:00Z",
            "exercise": "step_up",
            "reps": 8,
            "load_kg": 20.0,
            "set_type": "active",
            "activity_id": "x-0",
        }
    ]
    sets = strength_sets_from_dicts(rows)
    assert sets[0].session_key == "x-0" and sets[0].started_at_ns == utc_ns(2025, 3, 5, 18)
    weeks = weekly_strength(sets, "UTC", first_week=dt.date(2025, 2, 20), last_week=dt.date(2025, 3, 20))
    assert [w.week_start for w in weeks] == ["2025-02-17", "2025-02-24", "2025-03-03", "2025-03-10", "2025-03-17"]
    assert [w.sessions for w in weeks] == [0, 0, 1, 0, 0]
    assert weeks[2].unilateral_sets == 1 and weeks[2].sets_without_e5rm == 1
    with pytest.raises(ValueError, match="time zone"):
        weekly_strength(sets, "Nowhere/Land")
    with pytest.raises(ValueError, match="e5rm"):
        weekly_strength(sets, "UTC", e5rm_kg={"step_up": 0})


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 500), min_size=1, max_size=60),
    st.lists(st.floats(0, 500), min_size=1, max_size=60),
    st.floats(0, 3),
    st.floats(0, 3),
)
def test_ewma_is_linear_in_the_load(x, y, a, b):
    n = min(len(x), len(y))
    x, y = np.array(x[:n]), np.array(y[:n])
    lhs = fitness_fatigue(a * x + b * y)
    fx, fy = fitness_fatigue(x), fitness_fatigue(y)
    for k in range(3):
        assert np.allclose(lhs[k], a * fx[k] + b * fy[k], atol=1e-6)


def test_session_prescription_by_hand():
    """3-5 zone sets of one exercise per session, sessions meeting it vs the target of 2, laterality."""
    e5 = {"back_squat": 100.0, "bulgarian_split_squat": 40.0}
    bs = "back_squat"
    sets = [
        # Mon 2025-03-03, session A: 3 back-squat zone sets (80, 90, 100 % e5RM, 3-5 reps) + 1 split squat
        StrengthSet(utc_ns(2025, 3, 3, 9, 0), bs, 5, 80.0, "active", "A"),
        StrengthSet(utc_ns(2025, 3, 3, 9, 5), bs, 4, 90.0, "active", "A"),
        StrengthSet(utc_ns(2025, 3, 3, 9, 10), bs, 3, 100.0, "active", "A"),
        StrengthSet(utc_ns(2025, 3, 3, 9, 15), "bulgarian_split_squat", 5, 20.0, "active", "A"),  # 50 %
        # Wed, session B: 2 zone sets of each of two exercises -> 4 zone sets, but no exercise has 3: not met
        StrengthSet(utc_ns(2025, 3, 5, 9, 0), bs, 5, 85.0, "active", "B"),
        StrengthSet(utc_ns(2025, 3, 5, 9, 5), bs, 5, 85.0, "active", "B"),
        StrengthSet(utc_ns(2025, 3, 5, 9, 10), "bulgarian_split_squat", 5, 35.0, "active", "B"),
        StrengthSet(utc_ns(2025, 3, 5, 9, 15), "bulgarian_split_squat", 5, 35.0, "active", "B"),
        # Fri, session C: 6 back-squat zone sets: more than 5 -> not met
        *[StrengthSet(utc_ns(2025, 3, 7, 9, k), bs, 5, 85.0, "active", "C") for k in range(6)],
        # next week, Mon: session D: 3 split-squat zone sets (unilateral only) -> met
        *[StrengthSet(utc_ns(2025, 3, 10, 9, k), "bulgarian_split_squat", 5, 36.0, "active", "D") for k in range(3)],
        # Tue, session E: 2 romanian-deadlift sets of 5 without an e5RM + 1 zone set of it? no e5RM at all:
        # 3 sets of 3-5 reps undecidable -> not met, but undecidable
        *[StrengthSet(utc_ns(2025, 3, 11, 9, k), "romanian_deadlift", 5, 80.0, "active", "E") for k in range(3)],
        # Tue evening: three streamed sensor sets (each its own sensor session) within 3 h of E's last set:
        # they join session E (one training session, not four)
        *[StrengthSet(utc_ns(2025, 3, 11, 10, k), bs, 4, 90.0, "active", f"stream{k}", "sensor") for k in range(3)],
    ]
    w0, w1 = weekly_strength(sets, "UTC", e5rm_kg=e5)
    assert (w0.sessions, w0.zone_sets, w0.sessions_meeting_prescription) == (3, 3 + 4 + 6, 1)
    assert w0.sessions_zone_undecidable == 0 and not w0.prescription_met
    assert w0.bilateral_trained and w0.unilateral_trained
    assert [d["meets_prescription"] for d in w0.session_details] == [True, False, False]
    assert w0.session_details[0]["zone_sets_by_exercise"] == {bs: 3}
    assert w0.session_details[1]["zone_sets_by_exercise"] == {bs: 2, "bulgarian_split_squat": 2}
    assert w0.session_details[2]["zone_sets_by_exercise"] == {bs: 6}
    # week 2: D (unilateral, met) and E (RDL undecidable + 3 streamed back-squat zone sets -> met)
    assert w1.sessions == 2 and w1.sessions_meeting_prescription == 2 and w1.prescription_met
    assert w1.sessions_zone_undecidable == 0  # E is met through its streamed sets, so not "undecidable"
    assert [d["local_date"] for d in w1.session_details] == ["2025-03-10", "2025-03-11"]
    assert w1.session_details[1]["sets"] == 6 and w1.session_details[1]["zone_sets_by_exercise"] == {bs: 3}
    assert w1.bilateral_trained and w1.unilateral_trained
    assert w1.session_details[0] == {
        "local_date": "2025-03-10",
        "sets": 3,
        "zone_sets_by_exercise": {"bulgarian_split_squat": 3},
        "meets_prescription": True,
        "zone_undecidable": False,
        "bilateral": False,
        "unilateral": True,
    }
    # without the streamed sets, E is undecidable (3 RDL sets of 5 reps, no e5RM) and the week falls short
    w1b = weekly_strength(sets[:-3], "UTC", e5rm_kg=e5)[1]
    assert (w1b.sessions_meeting_prescription, w1b.sessions_zone_undecidable, w1b.prescription_met) == (1, 1, False)
    assert w1b.bilateral_trained and w1b.unilateral_trained
    # a streamed set far from any other set is its own session
    lone = weekly_strength(
        [
            StrengthSet(utc_ns(2025, 3, 12, 9), bs, 5, 85.0, "active", "s9", "sensor"),
            StrengthSet(utc_ns(2025, 3, 12, 15), bs, 5, 85.0, "active", "s10", "sensor"),
        ],
        "UTC",
        e5rm_kg=e5,
    )[0]
    assert lone.sessions == 2 and lone.sessions_meeting_prescription == 0 and not lone.unilateral_trained


def test_session_prescription_only_bilateral_week_and_dict_source():
    rows = [
        {
            "started_at": f"2025-03-0{d}T09:0{k}:00Z",
            "exercise": "back_squat",
            "reps": 5,
            "load_kg": 90.0,
            "set_type": "active",
            "activity_id": f"a{d}",
        }
        for d in (3, 5)
        for k in range(4)
    ]
    rows.append(
        {
            "started_at": "2025-03-05T09:30:00Z",
            "exercise": "back_squat",
            "reps": 3,
            "load_kg": 95.0,
            "set_type": "active",
            "activity_id": None,
            "session_id": "x",
        }
    )
    sets = strength_sets_from_dicts(rows)
    assert sets[-1].source == "sensor" and sets[0].source is None
    (w,) = weekly_strength(sets, "UTC", e5rm_kg={"back_squat": 100.0})
    # session a3: 4 zone sets (met); a5: 4 + the streamed set joins it = 5 zone sets (met)
    assert (w.sessions, w.sessions_meeting_prescription, w.prescription_met) == (2, 2, True)
    assert w.bilateral_trained and not w.unilateral_trained
    assert [d["zone_sets_by_exercise"] for d in w.session_details] == [{"back_squat": 4}, {"back_squat": 5}]
    with pytest.raises(ValueError, match="zone_sets_per_session"):
        weekly_strength(sets, "UTC", zone_sets_per_session=(5, 3))


def test_load_seed_is_the_mean_of_the_first_six_weeks_and_removes_the_ramp():
    from analysis.training_load import load_seed

    x = np.r_[np.full(42, 60.0), np.full(20, 90.0)]
    assert load_seed(x) == (60.0, 42)
    assert load_seed(np.array([10.0, 20.0])) == (15.0, 2)  # fewer days: the mean of what there is
    ctl, atl, _ = fitness_fatigue(x, ctl0=60.0, atl0=60.0)
    assert ctl[:42] == pytest.approx(np.full(42, 60.0))  # seeded at the steady state: no ramp from 0
    assert atl[:42] == pytest.approx(np.full(42, 60.0))
    unseeded, _, _ = fitness_fatigue(x)
    assert unseeded[41] == pytest.approx(60.0 * (1 - (1 - 1 / 42) ** 42))  # from 0: still ramping after 6 weeks


def test_heavy_lower_body_sessions_need_a_zone_set_of_a_lower_body_lift():
    from analysis.training_load import heavy_lower_body_sessions

    t0 = 1_740_000_000 * 10**9
    h = 3600 * 10**9
    sets = [
        # session A: heavy bench press only (upper body): not a heavy lower-body session
        {"started_at_ns": t0, "exercise": "bench_press", "reps": 5, "load_kg": 80.0, "activity_id": "A"},
        # session B: light squats (60 % of the e5RM): not heavy
        {"started_at_ns": t0 + 48 * h, "exercise": "back_squat", "reps": 5, "load_kg": 60.0, "activity_id": "B"},
        # session C: one zone set of squats (85 %): heavy, decided
        {"started_at_ns": t0 + 96 * h, "exercise": "back_squat", "reps": 5, "load_kg": 85.0, "activity_id": "C"},
        {
            "started_at_ns": t0 + 96 * h + 600 * 10**9,
            "exercise": "back_squat",
            "reps": 8,
            "load_kg": 85.0,
            "activity_id": "C",
        },
        # session D: loaded 3-5-rep split squats without an e5RM: heavy only by rep count (undecided)
        {"started_at_ns": t0 + 150 * h, "exercise": "split_squat", "reps": 4, "load_kg": 30.0, "activity_id": "D"},
        # a rest set never counts
        {
            "started_at_ns": t0 + 200 * h,
            "exercise": "back_squat",
            "reps": 5,
            "load_kg": 90.0,
            "activity_id": "E",
            "set_type": "rest",
        },
    ]
    e5 = {"back_squat": 100.0, "bench_press": 90.0}
    out = heavy_lower_body_sessions(sets, e5rm_kg=e5)
    assert [(d["started_at_ns"], d["decided"], d["exercises"]) for d in out] == [
        (t0 + 96 * h, True, ["back_squat"]),
        (t0 + 150 * h, False, ["split_squat"]),
    ]
    assert out[0]["ended_at_ns"] == t0 + 96 * h + 600 * 10**9
    assert heavy_lower_body_sessions(sets[:2], e5rm_kg=e5) == []
