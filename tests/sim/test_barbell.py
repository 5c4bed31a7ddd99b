"""sim.barbell: determinism, internal consistency of the truth, sensor model, options."""

import numpy as np
import pytest

from analysis.kinematics import cumulative_trapezoid
from ingest.ble.protocols.witmotion import raw_to_si
from records.units import STANDARD_GRAVITY_MPS2 as G
from sim.barbell import RepTruth, SimulatedSession, simulate_session


def test_deterministic_from_seed_and_seed_matters():
    a = simulate_session("back_squat", 100, 3, seed=5)
    b = simulate_session("back_squat", 100, 3, seed=5)
    c = simulate_session("back_squat", 100, 3, seed=6)
    assert np.array_equal(a.raw_i16, b.raw_i16) and np.array_equal(a.t_s, b.t_s)
    assert not np.array_equal(a.raw_i16[: min(len(a.t_s), len(c.t_s))], c.raw_i16[: min(len(a.t_s), len(c.t_s))])


def test_public_shape():
    s = simulate_session()
    assert isinstance(s, SimulatedSession) and isinstance(s.reps[0], RepTruth)
    assert s.raw_i16.dtype == np.int16 and s.raw_i16.shape == (s.t_s.size, 9)
    assert s.t_s.dtype == np.float64 and s.true_velocity_mps.shape == s.t_s.shape
    assert s.rate_hz == 200.0 and s.exercise == "back_squat" and s.load_kg == 100.0 and len(s.reps) == 5
    np.testing.assert_allclose(np.diff(s.t_s), 1 / 200.0, rtol=1e-9)


def test_truth_is_consistent_position_velocity_and_rep_means():
    s = simulate_session("back_squat", 100, 4, rate_hz=1000, seed=2)
    z = cumulative_trapezoid(s.true_velocity_mps, s.t_s, initial=s.true_position_m[0])
    np.testing.assert_allclose(z, s.true_position_m, atol=2e-5)
    for r in s.reps:
        inside = (s.t_s > r.concentric_start_s + 0.005) & (s.t_s < r.concentric_end_s - 0.005)
        assert np.all(s.true_velocity_mps[inside] > 0)
        # MCV = mean of v over the concentric phase, ROM = its integral
        assert r.mean_velocity_mps == pytest.approx(r.rom_m / (r.concentric_end_s - r.concentric_start_s))
        assert np.mean(s.true_velocity_mps[inside]) == pytest.approx(r.mean_velocity_mps, rel=0.02)
        assert r.peak_velocity_mps == pytest.approx(s.true_velocity_mps[inside].max(), abs=2e-3)
        assert r.start_s < r.concentric_start_s < r.concentric_end_s <= r.end_s + 1e-9


def test_accelerometer_reads_gravity_at_rest_and_motion_when_moving():
    s = simulate_session("back_squat", 100, 2, rate_hz=200, seed=1, tilt_deg=15)
    acc, _gyro, ang = raw_to_si(s.raw_i16)
    rest = s.t_s < 2.0
    assert np.linalg.norm(acc[rest], axis=1).mean() == pytest.approx(G, abs=0.3)
    # tilt: the sensor z axis is 15 deg from vertical (roll 0.8*15, pitch 0.6*15 -> ~15 deg)
    tilt = np.degrees(np.arccos(np.cos(ang[rest, 0]) * np.cos(ang[rest, 1])))
    assert tilt.mean() == pytest.approx(15.0, abs=2.5)
    assert np.abs(s.true_accel_mps2).max() > 1.5


def test_load_velocity_relation_and_fatigue():
    light = simulate_session("back_squat", 60, 5, one_rm_kg=150, seed=3)
    heavy = simulate_session("back_squat", 135, 5, one_rm_kg=150, seed=3)
    assert light.reps[0].mean_velocity_mps > heavy.reps[0].mean_velocity_mps + 0.5
    assert heavy.reps[-1].mean_velocity_mps < heavy.reps[0].mean_velocity_mps
    # light fast reps decelerate faster than g near lockout: MPV > MCV
    assert light.reps[0].mean_propulsive_velocity_mps > light.reps[0].mean_velocity_mps + 0.05


def test_loss_gap_jitter_and_sets():
    s = simulate_session(
        "back_squat",
        100,
        3,
        sets=2,
        rest_between_sets_s=40,
        rate_hz=100,
        seed=4,
        loss_prob=0.1,
        gap=(5.0, 6.0),
        jitter_s=0.002,
    )
    assert not np.any((s.t_s >= 5.0) & (s.t_s < 6.0))
    assert np.all(np.diff(s.t_s) > 0)
    nominal = int(s.duration_s * 100) + 1
    assert 0.8 * nominal < s.t_s.size < 0.92 * nominal
    assert [r.set_index for r in s.reps] == [1, 1, 1, 2, 2, 2]
    assert s.reps[3].start_s - s.reps[2].end_s > 40


def test_argument_validation():
    with pytest.raises(ValueError, match="exercise must be one of"):
        simulate_session("curl")
    with pytest.raises(ValueError, match="jitter_s"):
        simulate_session(rate_hz=100, jitter_s=0.01)
    with pytest.raises(ValueError, match="one_rm_kg"):
        simulate_session(load_kg=100, one_rm_kg=90)
