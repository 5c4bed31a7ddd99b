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
    rows = [{"started_at": "2025-03-05T18:00:00Z", "exercise": "step_up", "reps": 8, "load_kg": 20.0,
             "set_type": "active", "activity_id": "x-0"}]
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
