"""The demo's synthetic athlete (sim.athlete): determinism, agreement of the 1 Hz and fast paths.

The coverage of the economy-change model is validated on the independent field athletes of
:mod:`sim.field_athletes` (tests/analysis/test_economy_validation.py and
benchmarks/bench_economy_validation.py), not on this simulator, which shares the old model's
assumptions (instant step, independent weeks, no trend).
"""

import datetime as dt

import numpy as np
import pytest

from analysis.athlete_summary import summarise_athlete
from analysis.economy import run_economy
from sim.athlete import simulate_athlete


def test_simulation_is_deterministic_and_seed_dependent():
    a, b, c = simulate_athlete(seed=7), simulate_athlete(seed=7), simulate_athlete(seed=8)
    assert a.plans == b.plans and a.strength_sets == b.strength_sets
    assert a.plans != c.plans
    ra, rb = a.run_records(3), b.run_records(3)
    for name in ("t_ns", "heart_rate_bpm", "speed_mps", "altitude_m", "power_w", "temperature_c"):
        assert np.array_equal(getattr(ra, name), getattr(rb, name), equal_nan=True)
    # rendering order does not matter
    assert np.array_equal(a.run_records(5).heart_rate_bpm, list(b.iter_run_records())[5].heart_rate_bpm, equal_nan=True)


def test_simulation_structure():
    a = simulate_athlete(weeks=30, seed=2, strength_start_week=10, effect=0.04)
    weeks_with_runs = {p.week for p in a.plans}
    assert set(a.truth["missing_weeks"]).isdisjoint(weeks_with_runs)
    assert len(a.truth["missing_weeks"]) == 2
    first_lift_week = min(s.started_at_ns for s in a.strength_sets)
    local = dt.datetime.fromtimestamp(first_lift_week / 1e9, tz=dt.UTC).date()
    assert (local - a.start_date).days // 7 == 10
    assert all(p.economy_multiplier == (1.04 if p.week >= 10 else 1.0) for p in a.plans)
    assert {p.route for p in a.plans} == {"flat", "rolling", "hilly"}
    assert a.truth["hr_at_fixed_speed_step_pct"] == pytest.approx(100 * (1 / 1.04 - 1))
    r = a.run_records(0)
    assert r.t_ns.dtype == np.int64 and np.all(np.diff(r.t_ns) >= 10**9)
    assert np.nanmax(r.heart_rate_bpm) <= a.profile["hr_max_bpm"]


def test_heat_raises_hr_like_wingo():
    # same run, 22 C vs 35 C: HR rise between minutes 15 and 45 is ~2 % vs ~11 % (Lafrenz et al. 2008)
    a = simulate_athlete(seed=3, weeks=4, heat_day_prob=0.0)
    p = next(p for p in a.plans if p.moving_s >= 50 * 60 and p.pause_at_s is None and p.has_hr)
    from dataclasses import replace

    from sim.athlete import _drift, _render

    def rise(temp):
        q = replace(
            p,
            temperature_c=temp,
            drift_per_30min=_drift(temp),
            block_offsets_mps=(0.0,) * len(p.block_offsets_mps),
            route="flat",
            hill_amp_m=0.0,
        )
        hr = _render(a, q).heart_rate_bpm
        return hr[44 * 60 : 46 * 60].mean() / hr[14 * 60 : 16 * 60].mean() - 1

    assert rise(22.0) == pytest.approx(0.02, abs=0.006)
    assert rise(35.0) == pytest.approx(0.11, abs=0.01)


def test_fast_path_agrees_with_1hz_path():
    a = simulate_athlete(seed=21, weeks=10)
    fast = a.fast_economy(reference_speed_mps=3.0)
    ratios, agree = [], 0
    n = 40
    for i in range(n):
        slow = run_economy(a.run_records(i), tz=a.profile["tz"], body_mass_kg=a.profile["body_mass_kg"])
        agree += slow.status == fast[i].status
        if slow.ok and fast[i].ok:
            ratios.append(slow.ef_proxy / fast[i].ef_proxy)
            assert slow.speed_per_w_per_kg == pytest.approx(fast[i].speed_per_w_per_kg, rel=0.03)
    assert agree >= 0.85 * n
    assert abs(np.median(ratios) - 1) < 0.01 and np.max(np.abs(np.array(ratios) - 1)) < 0.03


def test_1hz_pipeline_recovers_the_step_for_one_athlete():
    """End to end on 1 Hz data (one seed: a smoke check of the path; calibration is the field validation).
    This simulator's effect is an instant step, the shape of the level+slope model, which is used here."""
    a = simulate_athlete(seed=11, weeks=24, effect=0.04)
    p = a.profile
    econ = [
        run_economy(
            r,
            body_mass_kg=p["body_mass_kg"],
            tz=p["tz"],
            hr_rest_bpm=p["hr_rest_bpm"],
            hr_max_bpm=p["hr_max_bpm"],
            sex=p["sex"],
        )
        for r in a.iter_run_records()
    ]
    s = summarise_athlete(econ, None, a.strength_sets, p, p["tz"], e5rm_kg=a.e5rm_kg, model="level_slope")
    ce = s.changes["ef_proxy"]
    assert ce["ci90_low"] < 4.0 < ce["ci90_high"]
    hr = s.changes["hr_at_reference_speed_bpm"]
    assert hr["ci90_low"] < a.truth["hr_at_fixed_speed_step_pct"] < hr["ci90_high"]
    pw = s.changes["speed_per_w_per_kg"]  # power does not change in this simulator: truth 0
    assert pw["role"] == "primary" and pw["ci90_low"] < 0.0 < pw["ci90_high"]
    assert s.economy_change["strength_start"]["week"] == 8


def test_sim_strength_follows_the_prescription_and_e5rm_override():
    from analysis.training_load import weekly_strength
    from sim.athlete import simulate_athlete

    a = simulate_athlete(weeks=14, seed=5, strength_start_week=6)
    b = simulate_athlete(weeks=14, seed=5, strength_start_week=6, e5rm_kg={"back_squat": 107.0})
    # the override changes the back-squat loads only: same runs, same sessions, same other lifts
    assert a.plans == b.plans and b.e5rm_kg["back_squat"] == 107.0
    assert [(s.started_at_ns, s.exercise, s.reps) for s in a.strength_sets] == [
        (s.started_at_ns, s.exercise, s.reps) for s in b.strength_sets
    ]
    assert [s.load_kg for s in a.strength_sets if s.exercise != "back_squat"] == [
        s.load_kg for s in b.strength_sets if s.exercise != "back_squat"
    ]
    for s in b.strength_sets:  # 4-5 reps at 80-100 % of the athlete's e5RM (2.5 kg plates: +-1.25 kg)
        assert s.reps in (4, 5)
        assert 0.80 * b.e5rm_kg[s.exercise] - 1.25 <= s.load_kg <= 0.98 * b.e5rm_kg[s.exercise] + 1.25
    # no strength before week 6 (the baseline), and with the athlete's e5RM every session meets the prescription
    weeks = weekly_strength(b.strength_sets, b.profile["tz"], e5rm_kg=b.e5rm_kg)
    first = min(s.started_at_ns for s in b.strength_sets)
    assert (
        first
        >= int(dt.datetime.combine(b.start_date + dt.timedelta(weeks=6), dt.time(0), tzinfo=dt.UTC).timestamp()) * 10**9
        - 86400 * 10**9
    )
    assert sum(w.sessions for w in weeks) > 0
    assert all(w.sessions_meeting_prescription == w.sessions for w in weeks)
    assert all(w.bilateral_trained and w.unilateral_trained for w in weeks if w.sessions)
    with pytest.raises(ValueError, match="unknown exercise"):
        simulate_athlete(weeks=3, e5rm_kg={"bench_press": 80.0})
