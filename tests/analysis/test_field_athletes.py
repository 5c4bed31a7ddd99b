"""The independent field-athlete generator (sim.field_athletes): determinism, sizes, truth, realism.

Checks are against independently computed answers: sizes from the rendered calendar, the strength
start from the set rows and e5RMs, the truth from a closed-form steady-state re-computation and
from the proxies that analysis.economy.run_economy measures on rendered runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections import Counter

import numpy as np
import pytest

from analysis.economy import run_economy
from analysis.exercises import exercise_info
from sim.field_athletes import (
    PROXIES,
    SCENARIOS,
    _acute_fraction,
    _hr_true,
    simulate_field_athlete,
    true_change_pct_at,
)

LOWER_BODY = {"back_squat", "deadlift", "romanian_deadlift", "split_squat", "bulgarian_split_squat", "lunge", "step_up"}
NO_EFFECT = [n for n, s in SCENARIOS.items() if s.effect_kind == "none"]


def _local_date(ns: int, tz: str) -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).astimezone(ZoneInfo(tz)).date()


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def _iso_ns(s: str) -> int:
    return int(dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()) * 10**9


def _first_zone_session_date(a) -> dt.date:
    """Independent rule: first local date with a lower-body set of 3-5 reps at 80-100 % of the e5RM."""
    for r in sorted(a.strength_sets, key=lambda r: r["started_at"]):
        ex = r["exercise"]
        if ex in LOWER_BODY and 3 <= r["reps"] <= 5 and 0.8 <= r["load_kg"] / a.e5rm_kg[ex] <= 1.0:
            return _local_date(_iso_ns(r["started_at"]), a.tz)
    raise AssertionError("no zone set")


def _econ(a, run):
    return run_economy(
        run.records,
        tz=a.tz,
        body_mass_kg=a.profile["body_mass_kg"],
        reference_speed_mps=a.truth.reference_speed_mps,
    )


# ------------------------------------------------------------------------------------------------ plumbing


def test_deterministic_seed_dependent_and_order_free():
    a, b, c = (simulate_field_athlete("step_4", s) for s in (3, 3, 4))
    assert [r.activity_id for r in a.runs] == [r.activity_id for r in b.runs]
    assert a.strength_sets == b.strength_sets and a.truth == b.truth and a.events == b.events
    assert [r.started_at_ns for r in a.runs] != [r.started_at_ns for r in c.runs]
    # render b's runs in reverse order: same arrays as a's in order
    rb = {r.activity_id: r.records for r in reversed(b.runs[:6])}
    for r in a.runs[:6]:
        for name in ("t_ns", "heart_rate_bpm", "speed_mps", "distance_m", "altitude_m", "temperature_c", "power_w"):
            assert np.array_equal(getattr(r.records, name), getattr(rb[r.activity_id], name), equal_nan=True)
    assert a.runs == sorted(a.runs, key=lambda r: r.started_at_ns)


def test_unknown_scenario_and_bad_seed_raise():
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate_field_athlete("nope", 1)
    with pytest.raises(ValueError, match="seed"):
        simulate_field_athlete("null", 1.5)  # type: ignore[arg-type]


def test_paired_scenarios_share_everything_but_the_effect():
    a, b = simulate_field_athlete("null", 11), simulate_field_athlete("step_4", 11)
    assert [r.started_at_ns for r in a.runs] == [r.started_at_ns for r in b.runs]
    start = a.truth.strength_start_date
    ra, rb = a.runs[0].records, b.runs[0].records
    assert _local_date(a.runs[0].started_at_ns, a.tz) < start
    assert np.array_equal(ra.heart_rate_bpm, rb.heart_rate_bpm, equal_nan=True)
    late = [i for i, r in enumerate(a.runs) if _local_date(r.started_at_ns, a.tz) > start + dt.timedelta(days=3)]
    i = late[-1]
    assert np.nanmean(b.runs[i].records.heart_rate_bpm) < np.nanmean(a.runs[i].records.heart_rate_bpm) - 1.0


def test_strength_rows_shape_and_start_date():
    for seed in range(8):
        a = simulate_field_athlete("null", seed)
        rows = a.strength_sets
        assert rows and all(
            set(r)
            >= {
                "set_id",
                "activity_id",
                "session_id",
                "started_at",
                "exercise",
                "set_type",
                "reps",
                "load_kg",
                "duration_s",
                "source",
            }
            for r in rows
        )
        assert all(r["session_id"] is None and r["set_type"] == "active" and r["source"] == "fit" for r in rows)
        assert all(r["started_at"].endswith("Z") for r in rows)
        assert len({r["set_id"] for r in rows}) == len(rows)
        assert all(exercise_info(r["exercise"]).known for r in rows)
        assert _first_zone_session_date(a) == a.truth.strength_start_date
        # heavy sessions from the start: 3-5 zone sets of the main lift each
        sessions: dict[str, list[dict]] = {}
        for r in rows:
            sessions.setdefault(r["activity_id"], []).append(r)
        heavy = 0
        for srows in sessions.values():
            zone = Counter(
                r["exercise"]
                for r in srows
                if r["exercise"] in ("back_squat", "deadlift")
                and 3 <= r["reps"] <= 5
                and 0.8 <= r["load_kg"] / a.e5rm_kg[r["exercise"]] <= 1.0
            )
            if zone:
                heavy += 1
                assert 3 <= max(zone.values()) <= 5
        block_weeks = (a.truth.last_observed_week - _monday(a.truth.strength_start_date)).days // 7 + 1
        assert 1 <= heavy / block_weeks <= 3.0


def test_upper_body_zone_sets_in_the_baseline_do_not_start_the_block():
    seen = 0
    for seed in range(40):
        a = simulate_field_athlete("null", seed)
        upper = [r for r in a.strength_sets if r["exercise"] in ("bench_press", "overhead_press")]
        if not upper:
            continue
        seen += 1
        zone_dates = [
            _local_date(_iso_ns(r["started_at"]), a.tz)
            for r in upper
            if 3 <= r["reps"] <= 5 and 0.8 <= r["load_kg"] / a.e5rm_kg[r["exercise"]] <= 1.0
        ]
        assert zone_dates and min(zone_dates) < a.truth.strength_start_date
        assert _first_zone_session_date(a) == a.truth.strength_start_date
    assert seen >= 5


def test_sizes_within_the_drawn_ranges():
    for name, spec in SCENARIOS.items():
        for seed in range(4):
            a = simulate_field_athlete(name, seed)
            start_week = _monday(a.truth.strength_start_date)
            weeks = Counter(_monday(_local_date(r.started_at_ns, a.tz)) for r in a.runs)
            first, last = min(weeks), max(weeks)
            assert last == a.truth.last_observed_week
            all_weeks = [first + dt.timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
            missing = [w for w in all_weeks if w not in weeks]
            assert missing == a.truth.missing_weeks
            assert spec.missing_weeks[0] <= len(missing) <= spec.missing_weeks[1]
            base = [w for w in weeks if w < start_week]
            block = [w for w in weeks if w >= start_week]
            assert spec.baseline_weeks[0] <= len(base) <= spec.baseline_weeks[1], (name, seed)
            assert spec.block_weeks[0] <= len(block) <= spec.block_weeks[1], (name, seed)
            assert (len(base), len(block)) == (a.truth.baseline_weeks_observed, a.truth.block_weeks_observed)
            top = 7 if spec.overreaching else 6
            assert all(2 <= n <= top for n in weeks.values())
            if spec.missing_around_start:
                assert start_week - dt.timedelta(weeks=1) in missing
                assert {start_week, start_week + dt.timedelta(weeks=1)} & set(missing)


# ------------------------------------------------------------------------------------------------ truth


@pytest.mark.parametrize("name", NO_EFFECT)
def test_truth_is_zero_without_a_strength_effect(name):
    for seed in range(3):
        a = simulate_field_athlete(name, seed)
        assert a.truth.effect_kind == "none"
        assert a.truth.true_change_pct == {k: 0.0 for k in PROXIES}


def test_nuisances_are_reported_not_counted_as_effects():
    shoe = simulate_field_athlete("shoe_change_unlogged", 5)
    assert shoe.truth.nuisance_change_pct["ef_proxy"] > 1.0  # +2 % economy shows up in EF, truth stays 0
    assert shoe.events == [] and all(r.shoe is None for r in shoe.runs)
    logged = simulate_field_athlete("shoe_change_logged", 5)
    assert logged.events == [
        {"date": logged.truth.strength_start_date.isoformat(), "kind": "shoe", "note": logged.events[0]["note"]}
    ]
    shoes = [r.shoe for r in logged.runs]
    assert len(set(shoes)) == 2 and None not in shoes
    strap = simulate_field_athlete("strap_change", 5)
    sensors = [r.hr_sensor for r in strap.runs]
    switches = sum(x != y for x, y in itertools.pairwise(sensors))
    assert switches == 1 and sensors[0] == "wrist-ohr" and sensors[-1].startswith("strap:")
    assert strap.events == []
    assert 0.9 < abs(strap.truth.nuisance_change_pct["hr_at_reference_speed_bpm"]) < 3.5
    assert strap.truth.true_change_pct["ef_proxy"] == 0.0


def test_step_truth_matches_a_closed_form_recomputation():
    """Truth = noiseless reference run with/without the effect; re-computed from the steady-state formula
    HR = HRrest + (HRmax - HRrest)(a0 + a1 VO2net / (VO2max - 3.5)) without kinetics or drift."""
    for seed in range(6):
        a = simulate_field_athlete("step_4", seed)
        m = a._model
        w, v = m.n_weeks - 1, a.truth.reference_speed_mps

        def hr(e, m=m, w=w, v=v):
            vo2 = m.c0 * (1 + m.kappa * (v - 3)) * v * 60 * math.exp(-m.econ_week[w]) / (1 + e)
            return m.hr_rest + (m.hr_max - m.hr_rest) * (m.a0 + m.a1 * vo2 / (m.vo2max * math.exp(m.vo2_week[w]) - 3.5))

        t = a.truth.true_change_pct
        assert t["ef_proxy"] == pytest.approx(100 * (hr(0.0) / hr(0.04) - 1), abs=0.05)
        assert 2.0 < t["ef_proxy"] < 3.6  # the HR intercept: a 4 % economy change is a smaller EF change
        assert t["hr_at_reference_speed_bpm"] == pytest.approx(100 * (1 / (1 + t["ef_proxy"] / 100) - 1), abs=1e-9)
        assert t["speed_per_w_per_kg"] == pytest.approx(100 * (1.04**m.rho_power - 1), abs=1e-9)
        assert a.truth.economy_effect_pct == pytest.approx(4.0)


def test_ramp_truth_grows_then_plateaus():
    for seed in range(4):
        step = simulate_field_athlete("step_4", seed)
        for name, n_weeks in (("ramp_6w", 6), ("ramp_12w", 12)):
            a = simulate_field_athlete(name, seed)
            start = a.truth.strength_start_date
            days = list(range(-7, 7 * 17, 7))
            econ = [true_change_pct_at(a, start + dt.timedelta(days=d))["ef_proxy"] for d in days]
            assert econ[0] == 0.0
            assert all(y >= x - 0.05 for x, y in itertools.pairwise(econ))  # week states move it a little
            mid = true_change_pct_at(a, start + dt.timedelta(days=7 * n_weeks // 2))["ef_proxy"]
            full = true_change_pct_at(a, start + dt.timedelta(days=7 * n_weeks + 7))["ef_proxy"]
            assert mid == pytest.approx(full / 2, rel=0.1)
            block_days = (a.truth.last_observed_week + dt.timedelta(days=3) - start).days
            frac = min(block_days / (7 * n_weeks), 1.0)
            assert a.truth.economy_effect_pct == pytest.approx(4.0 * frac, abs=0.05)
            if frac == 1.0:
                assert a.truth.true_change_pct["ef_proxy"] == pytest.approx(
                    step.truth.true_change_pct["ef_proxy"], abs=0.02
                )


def test_noiseless_reference_runs_measure_the_truth():
    """With noise off and every run the reference run, run_economy's EF of the last week over the
    baseline median equals the truth within 0.3 % (the truth is computed without run_economy)."""
    for seed in (0, 1):
        a = simulate_field_athlete("step_4", seed, noise=False, controlled=True)
        start = _monday(a.truth.strength_start_date)
        base, last = [], []
        for r in a.runs:
            e = run_economy(r.records, tz=a.tz, reference_speed_mps=a.truth.reference_speed_mps)
            assert e.ok
            wk = _monday(_local_date(r.started_at_ns, a.tz))
            if wk < start:
                base.append(e.ef_proxy)
            elif wk == a.truth.last_observed_week:
                last.append(e.ef_proxy)
        ratio = 100 * (np.median(last) / np.median(base) - 1)
        assert ratio == pytest.approx(a.truth.true_change_pct["ef_proxy"], abs=0.3)
        assert ratio > 2.0


def test_trend_moves_ef_by_the_stated_rate():
    """null_trend_0.2: the noiseless EF of reference runs (run_economy) rises ~0.2 %/week."""
    a = simulate_field_athlete("null_trend_0.2", 2, noise=False, controlled=True)
    ys, xs = [], []
    for r in a.runs[::3]:
        e = run_economy(r.records, tz=a.tz)
        ys.append(100 * math.log(e.ef_proxy))
        xs.append((r.started_at_ns - a.runs[0].started_at_ns) / 1e9 / 86400 / 7)
    slope = np.polyfit(xs, ys, 1)[0]
    assert slope == pytest.approx(0.2, abs=0.03)
    assert a.truth.true_change_pct["ef_proxy"] == 0.0


@pytest.mark.slow
def test_week_noise_random_walk_and_ar1_have_their_stated_sizes():
    """Pooled over 40 seeds: week-noise SD 1-2 %, lag-1 autocorrelation ~0 (null) vs high (ar1_0.8),
    random-walk steps SD 0.3 %."""

    def lag1(name):
        num = den = 0.0
        for seed in range(40):
            x = simulate_field_athlete(name, seed)._model.econ_week
            x = x - x.mean()
            num += float(x[1:] @ x[:-1])
            den += float(x @ x)
        return num / den

    assert abs(lag1("null")) < 0.12
    assert lag1("ar1_0.8") > 0.55
    sds = [np.std(simulate_field_athlete("null", s)._model.econ_week, ddof=1) for s in range(40)]
    assert 0.01 < np.median(sds) < 0.02
    steps = np.concatenate([np.diff(simulate_field_athlete("null_random_walk", s)._model.phi_week) for s in range(40)])
    assert np.std(steps) == pytest.approx(0.003, rel=0.15)


# ------------------------------------------------------------------------------------------------ physiology


def test_heat_raises_hr_like_lafrenz_2008():
    """HR rise between minutes 15 and 45 at ~60 % VO2max: ~2-4 % at 22 C, ~8-11 % at 35 C (Lafrenz et al. 2008)."""
    for seed in range(5):
        a = simulate_field_athlete("null", seed)
        m, p = a._model, a.runs[0]._plan
        v = 0.6 * (m.vo2max - 3.5) / (m.c0 * 60)
        rise = {}
        for temp in (22.0, 35.0):
            q = dataclasses.replace(
                p,
                t_eff_c=temp,
                t_air_c=temp,
                econ_log=0.0,
                vo2max_log=0.0,
                acute_frac=0.0,
                hr_offset_bpm=0.0,
                overreach_bpm=0.0,
            )
            hr = _hr_true(m, np.full(3600, v), np.zeros(3600), np.arange(3600.0), q)
            rise[temp] = hr[44 * 60 : 46 * 60].mean() / hr[14 * 60 : 16 * 60].mean() - 1
        assert 0.015 < rise[22.0] < 0.05
        assert 0.07 < rise[35.0] < 0.12


def test_acute_impairment_follows_the_logged_heavy_sessions():
    a = simulate_field_athlete("null", 7)
    heavy = sorted(
        {
            _iso_ns(r["started_at"])
            for r in a.strength_sets
            if r["exercise"] in LOWER_BODY and r["reps"] <= 5 and r["load_kg"] >= 0.8 * a.e5rm_kg[r["exercise"]]
        }
    )
    session_start: dict[str, int] = {}
    for r in a.strength_sets:
        session_start.setdefault(r["activity_id"], _iso_ns(r["started_at"]))
    starts = sorted(t for aid, t in session_start.items() if any(abs(t - h) < 4 * 3600 * 10**9 for h in heavy))
    n_hit = 0
    for r in a.runs:
        prev = [s for s in starts if s < r.started_at_ns]
        hours = (r.started_at_ns - prev[-1]) / 3.6e12 if prev else 1e9
        if hours < 48:
            assert r._plan.acute_frac > 0
            n_hit += 1
        elif not any(0 < (r.started_at_ns - s) / 3.6e12 < 48 for s in session_start.values()):
            assert r._plan.acute_frac == 0
    assert n_hit >= 3
    assert _acute_fraction(12) == 1.0 and _acute_fraction(3) < 1.0 and _acute_fraction(47) < 0.1


def test_hot_summer_air_and_watch_temperatures():
    a = simulate_field_athlete("hot_summer", 4)
    start = a.truth.strength_start_date
    known = [(r, r.air_temperature_c) for r in a.runs if r.air_temperature_c is not None]
    assert 0.2 < len(known) / len(a.runs) < 0.95
    base = [t for r, t in known if _local_date(r.started_at_ns, a.tz) < start]
    block = [t for r, t in known if _local_date(r.started_at_ns, a.tz) >= start + dt.timedelta(weeks=6)]
    assert np.mean(base) > np.mean(block) + 6
    gaps = []
    for r, t in known[:25]:
        watch = r.records.temperature_c
        gaps.append(np.mean(watch[len(watch) // 2 :]) - t)
    assert np.median(gaps) > 1.0  # skin-warmed watch reads above air
    assert np.std(gaps) > 1.0  # by an amount that varies with exposure and clothing


def test_runs_pass_the_steady_state_selection_at_a_realistic_rate():
    ok = total = 0
    hr_ref = 0
    for seed in (0, 1):
        a = simulate_field_athlete("null", seed)
        for r in a.runs:
            e = _econ(a, r)
            ok += e.ok
            total += 1
            hr_ref += e.hr_at_reference_speed_bpm is not None
        last = [r for r in a.runs if _monday(_local_date(r.started_at_ns, a.tz)) == a.truth.last_observed_week]
        assert any(_econ(a, r).ok for r in last)
    assert 0.7 <= ok / total <= 0.97  # realistic: some intervals, short runs and hills fail
    assert hr_ref >= 0.5 * ok


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_last_observed_week_has_an_ok_run(name):
    """Truth.last_observed_week is the Monday of the last week with a run that run_economy accepts."""
    for seed in range(10):
        a = simulate_field_athlete(name, seed)
        last = [r for r in a.runs if _monday(_local_date(r.started_at_ns, a.tz)) == a.truth.last_observed_week]
        assert last and a.runs[-1] is last[-1]
        assert any(_econ(a, r).ok for r in last), (name, seed)

        # by construction, not by luck: a flat easy run of >= 45 min without stops, nearly all steady
        def flat_easy(r, a=a):
            rec = r.records
            dur_min = (rec.t_ns[-1] - rec.t_ns[0]) / 6e10
            e = _econ(a, r)
            return (
                r.kind == "easy"
                and dur_min >= 44.9
                and np.all(np.diff(rec.t_ns) == 10**9)
                and np.nanmin(rec.speed_mps[600:]) > 1.0
                and e.ok
                and e.steady_minutes >= 0.8 * (dur_min - 10)
            )

        assert any(flat_easy(r) for r in last), (name, seed)


def test_paired_step_minus_null_in_noisy_field_runs_tracks_the_truth():
    """Same seed, noise on: per-run EF of step_4 over null in the last 3 weeks ~ the truth (the runner's
    pace-by-feel adds up to ~0.3 %)."""
    for seed in (0, 1):
        a, b = simulate_field_athlete("step_4", seed), simulate_field_athlete("null", seed)
        cut = a.truth.last_observed_week - dt.timedelta(weeks=2)
        ratios = []
        for ra, rb in zip(a.runs, b.runs, strict=True):
            if _monday(_local_date(ra.started_at_ns, a.tz)) < cut:
                continue
            ea, eb = _econ(a, ra), _econ(b, rb)
            if ea.ok and eb.ok:
                ratios.append(ea.ef_proxy / eb.ef_proxy)
        assert len(ratios) >= 4
        assert 100 * (np.median(ratios) - 1) == pytest.approx(a.truth.true_change_pct["ef_proxy"], abs=0.5)
