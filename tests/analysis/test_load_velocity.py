"""analysis.load_velocity: closed-form regression, Epley, reference load, zones; 1RM from a simulated history."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.barbell import analyse_session
from analysis.load_velocity import (
    estimate_five_rm_kg,
    estimate_one_rm_kg,
    fit_load_velocity,
    one_rm_for_exercise,
    reference_load_kg,
    set_intensity,
    velocity_at_reference_load_mps,
)
from sim.barbell import simulate_session


@settings(max_examples=40, deadline=None)
@given(st.floats(50, 300), st.floats(-300, -30))
def test_fit_recovers_an_exact_line(intercept, slope):
    v = np.array([0.4, 0.6, 0.8, 1.0])
    load = intercept + slope * v
    if np.any(load <= 0):
        return
    p = fit_load_velocity(load, v)
    assert p.slope_kg_per_mps == pytest.approx(slope, rel=1e-9)
    assert p.intercept_kg == pytest.approx(intercept, rel=1e-9)
    assert p.r_squared == pytest.approx(1.0)
    assert p.velocity_at_load_mps(intercept + slope * 0.5) == pytest.approx(0.5)


def test_e1rm_e5rm_closed_form():
    # load = 200 - 150 v: at the squat MVT 0.30 m/s -> 155 kg; e5RM = 155 / (1 + 5/30)
    p = fit_load_velocity([50, 80, 110, 140], [1.0, 0.8, 0.6, 0.4])
    assert estimate_one_rm_kg(p, 0.30) == pytest.approx(155.0)
    assert estimate_five_rm_kg(155.0) == pytest.approx(155.0 * 30 / 35)
    # back squat and deadlift: estimated and shown, but flagged (velocity at 1RM CV 19 % / 15.7 %)
    est = one_rm_for_exercise("back_squat", p)
    assert est is not None and not est.reliable and est.e1rm_kg == pytest.approx(155.0)
    assert "unreliable" in est.note
    assert one_rm_for_exercise("deadlift", p).reliable is False
    bench = one_rm_for_exercise("bench_press", p)
    assert bench is not None and bench.reliable and bench.note == ""
    assert one_rm_for_exercise("hip_thrust", p) is None


def test_fit_needs_three_distinct_loads_and_a_negative_slope():
    with pytest.raises(ValueError, match="3 distinct loads"):
        fit_load_velocity([100, 100, 120], [0.5, 0.52, 0.4])
    with pytest.raises(ValueError, match="not negative"):
        fit_load_velocity([60, 80, 100], [0.4, 0.6, 0.8])
    with pytest.raises(ValueError, match="> 0"):
        fit_load_velocity([60, 80, -1], [0.8, 0.6, 0.4])


def test_reference_load_and_velocity_at_it():
    assert reference_load_kg(151.0) == 105.0  # 0.7 * 151 = 105.7 -> 105.0
    assert reference_load_kg(152.0) == 107.5  # 106.4 -> 107.5
    p = fit_load_velocity([50, 80, 110, 140], [1.0, 0.8, 0.6, 0.4])
    assert velocity_at_reference_load_mps(p, 110.0) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="fraction"):
        reference_load_kg(100.0, fraction=1.5)


def test_set_intensity_zone():
    assert set_intensity(90.0, 5, 100.0).in_prescription_zone
    assert set_intensity(80.0, 3, 100.0).label == "in zone"
    assert set_intensity(79.0, 4, 100.0).label == "too light"
    assert set_intensity(101.0, 4, 100.0).label == "too heavy"
    s = set_intensity(90.0, 8, 100.0)
    assert not s.in_prescription_zone and s.label == "reps outside 3-5" and s.pct_of_e5rm == pytest.approx(90.0)


@pytest.mark.parametrize(("exercise", "one_rm"), [("back_squat", 150.0), ("bench_press", 95.0)])
def test_simulated_history_recovers_one_rm_within_5pct(exercise, one_rm):
    loads, velocities = [], []
    for i, frac in enumerate([0.4, 0.55, 0.7, 0.85]):
        load = round(frac * one_rm / 2.5) * 2.5
        s = simulate_session(exercise, load, 3, rate_hz=100, seed=20 + i, one_rm_kg=one_rm)
        res = analyse_session(s.to_imu_samples(), exercise, load)
        assert len(res.reps) == 3
        loads.append(load)
        velocities.append(max(r.mean_velocity_mps for r in res.reps))
    est = one_rm_for_exercise(exercise, fit_load_velocity(loads, velocities))
    assert est is not None
    assert est.e1rm_kg == pytest.approx(one_rm, rel=0.05)
