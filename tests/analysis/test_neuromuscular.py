"""analysis.neuromuscular: best rep per set, per-exercise profile, per-day trends in the athlete's zone."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis.neuromuscular import neuromuscular_trends

UTC = dt.UTC


def reps_of_day(session: str, start: dt.datetime, intercept_kg: float) -> list[dict]:
    """Three sets at 70/80/100 kg on the exact line L = intercept - 100 v; each set's second rep
    is slower (it must not be the set's point)."""
    out = []
    for k, load in enumerate((70.0, 80.0, 100.0)):
        v = (intercept_kg - load) / 100.0
        for i, vel in enumerate((v, v - 0.2)):
            out.append(
                {
                    "exercise": "back_squat",
                    "session_id": f"{session}-{k}",
                    "set_index": 1,
                    "rep_index": i + 1,
                    "load_kg": load,
                    "mean_velocity_mps": vel,
                    "started_at": start + dt.timedelta(minutes=10 * k, seconds=5 * i),
                }
            )
    return out


def test_profiles_e1rm_and_trend_days_in_the_athletes_zone():
    # day 1: 23:10-23:30 UTC on 1 March = 00:10-00:30 on 2 March in Oslo; day 2 a week later
    reps = (
        reps_of_day("a", dt.datetime(2026, 3, 1, 23, 10, tzinfo=UTC), 160.0)
        + reps_of_day("b", dt.datetime(2026, 3, 8, 17, 0, tzinfo=UTC), 165.0)
        + [{"exercise": "back_squat", "session_id": "c", "set_index": 1, "load_kg": 60.0, "mean_velocity_mps": None}]
    )  # no velocity: not a point
    out = neuromuscular_trends([], reps, {}, "Europe/Oslo")
    (prof,) = out["profiles"]
    assert prof["n_sets"] == 6 and prof["n_loads"] == 3
    assert sorted(prof["velocities_mps"]) == pytest.approx(sorted([0.9, 0.8, 0.6, 0.95, 0.85, 0.65]))
    # per day: exact lines, e1RM at the back squat's MVT (0.30 m/s) = intercept - 30 kg
    assert [(p["date"], p["e1rm_kg"]) for p in out["e1rm_trend"]] == [
        ("2026-03-02", pytest.approx(130.0)),
        ("2026-03-08", pytest.approx(135.0)),
    ]
    assert out["e1rm_trend"][0]["session_id"] == "a-0,a-1,a-2" and out["e1rm_trend"][0]["n_sets"] == 3
    # pooled OLS line of load on velocity through the six best reps, by hand
    pts = [(0.9, 70.0), (0.8, 80.0), (0.6, 100.0), (0.95, 70.0), (0.85, 80.0), (0.65, 100.0)]
    vm, lm = sum(v for v, _ in pts) / 6, sum(w for _, w in pts) / 6
    slope = sum((v - vm) * (w - lm) for v, w in pts) / sum((v - vm) ** 2 for v, _ in pts)
    intercept = lm - slope * vm
    assert prof["slope_kg_per_mps"] == pytest.approx(slope) and prof["intercept_kg"] == pytest.approx(intercept)
    e1 = intercept + slope * 0.30
    assert prof["e1rm_kg"] == pytest.approx(e1) and out["e5rm_kg"]["back_squat"] == pytest.approx(e1 / (1 + 5 / 30))
    # no stored reference load: 70 % of the e1RM to 2.5 kg; velocity there per day
    ref = round(0.7 * e1 / 2.5) * 2.5
    assert prof["reference_load_kg"] == ref and prof["reference_load_source"].startswith("70 %")
    assert [p["velocity_mps"] for p in out["velocity_at_reference_load"]] == pytest.approx(
        [(160 - ref) / 100, (165 - ref) / 100]
    )
    # in UTC the first day is 1 March; a stored reference load wins
    utc = neuromuscular_trends([], reps, {"back_squat": 100.0}, "UTC")
    assert [p["date"] for p in utc["e1rm_trend"]] == ["2026-03-01", "2026-03-08"]
    assert utc["profiles"][0]["reference_load_kg"] == 100.0
    assert utc["profiles"][0]["reference_load_source"] == "stored"


def test_too_few_loads_is_a_note_not_an_error():
    reps = reps_of_day("a", dt.datetime(2026, 3, 1, 17, 0, tzinfo=UTC), 160.0)[:4]  # two loads
    out = neuromuscular_trends([], reps, {}, "UTC")
    assert out["e1rm_trend"] == [] and out["e5rm_kg"] == {}
    assert "needs >= 3 distinct loads" in out["profiles"][0]["note"]
