"""analysis.reps: rest blocks, legs and rep assembly on synthetic signals with known answers."""

import numpy as np
import pytest

from analysis.kinematics import cumulative_trapezoid
from analysis.reps import (
    BLOCK_NS,
    BREAK,
    MOVING,
    STILL,
    Leg,
    RepAssembler,
    block_index,
    block_stats,
    find_legs,
    runs,
    still_blocks,
)
from records.units import STANDARD_GRAVITY_MPS2 as G


def test_block_stats_sums_per_block():
    t_ns = np.array([0, 3, 12, 15, 19, 40]) * 1_000_000
    blk = block_index(t_ns, 0)
    assert blk.tolist() == [0, 0, 1, 1, 1, 4]
    acc = np.zeros((6, 3))
    acc[:, 2] = G + np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    stats = block_stats(blk, acc, np.zeros((6, 3)), 0, 5)
    np.testing.assert_allclose(stats[:, 0], [2, 3, 0, 0, 1])
    np.testing.assert_allclose(stats[:, 1], [3, 12, 0, 0, 6])
    np.testing.assert_allclose(stats[:, 2], [5, 50, 0, 0, 36])


def _blocks_for(accel_z_dev: np.ndarray, gyro: float = 0.0):
    n = accel_z_dev.size  # one sample per 10 ms block
    acc = np.zeros((n, 3))
    acc[:, 2] = G + accel_z_dev
    gy = np.zeros((n, 3))
    gy[:, 0] = gyro
    blk = np.arange(n)
    return still_blocks(block_stats(blk, acc, gy, 0, n))


def test_still_vs_moving_vs_rotating():
    rng = np.random.default_rng(0)
    still = _blocks_for(rng.normal(0, 0.05, 60))
    assert np.all(still == STILL)
    moving = _blocks_for(3.0 * np.sin(np.arange(60) * 0.3))
    assert np.all(moving == MOVING)
    rotating = _blocks_for(rng.normal(0, 0.05, 60), gyro=1.0)
    assert np.all(rotating == MOVING)
    assert still.size == 60 - 10  # only blocks with a full +-5 window are classified


def test_empty_window_is_a_break():
    stats = np.zeros((20, 4))
    assert np.all(still_blocks(stats) == BREAK)
    assert BLOCK_NS == 10_000_000


def test_runs():
    s, e = runs(np.array([0, 1, 1, 0, 1], bool))
    assert s.tolist() == [1, 4] and e.tolist() == [3, 5]


def _squat_like(rom=0.5, period=2.0, n_reps=3, rate=200.0):
    """Rest, then n cosine reps (down then up), then rest: z = -rom/2 (1 - cos)."""
    t = np.arange(0, 1 + n_reps * period + 1, 1 / rate)
    phase = np.clip(t - 1, 0, n_reps * period)
    z = -rom / 2 * (1 - np.cos(2 * np.pi * phase / period))
    v = np.gradient(z, t)
    v[(t <= 1) | (t >= 1 + n_reps * period)] = 0.0
    z = cumulative_trapezoid(v, t)
    return t, v, z


def test_find_legs_cosine_reps():
    t, v, z = _squat_like()
    legs = find_legs(t, v, z, 0.03)
    big = [leg for leg in legs if abs(leg.rise_m) > 0.1]
    assert len(big) == 6
    assert [leg.rise_m < 0 for leg in big] == [True, False] * 3
    # bottoms at 2, 4, 6 s (+1 s lead-in), tops at 3, 5, 7 s: legs bounded by velocity zero crossings
    np.testing.assert_allclose([leg.t0_s for leg in big[1::2]], [2.0, 4.0, 6.0], atol=0.006)
    np.testing.assert_allclose([abs(leg.rise_m) for leg in big], 0.5, atol=2e-3)


def test_find_legs_ignores_small_wiggles():
    t = np.linspace(0, 4, 801)
    z = 0.01 * np.sin(2 * np.pi * t)  # 1 cm wiggle: below the 3 cm swing
    v = np.gradient(z, t)
    legs = find_legs(t, v, z, 0.03)
    assert all(abs(leg.rise_m) < 0.03 for leg in legs)
    with pytest.raises(ValueError, match="min_swing_m"):
        find_legs(t, v, z, 0.0)


def leg(z0, z1, t0, t1, first=False, last=False):
    return Leg(0, 1, t0, t1, z0, z1, first, last, t0, t1)


def test_assembler_eccentric_first_rejects_unrack_and_walkout():
    a = RepAssembler(True, 0.15)
    legs = [
        leg(0.0, 0.06, 0, 1, first=True),
        leg(0.06, 0.035, 1, 2),
        leg(0.035, 0.06, 2, 3, last=True),  # unrack, bob
        leg(0.06, -0.45, 5, 6, first=True),
        leg(-0.45, 0.06, 6, 7, last=True),
    ]  # one squat
    reps = a.add(legs[:3]) + a.add(legs[3:])
    assert len(reps) == 1
    assert reps[0].concentric.t0_s == 6 and reps[0].start_s == 5 and reps[0].end_s == 7
    assert reps[0].eccentric_rom_m == pytest.approx(0.51)


def test_assembler_concentric_first_needs_the_lowering():
    a = RepAssembler(False, 0.15)
    assert a.add([leg(0.0, 0.5, 0, 1, first=True, last=True)]) == []  # lifted, held at lockout
    reps = a.add([leg(0.5, 0.0, 2, 3, first=True, last=True)])  # lowered to the floor
    assert len(reps) == 1 and reps[0].start_s == 0 and reps[0].end_s == 3


def test_assembler_phase_ratio_and_unknown_order():
    a = RepAssembler(True, 0.10)
    # a 0.5 m descent followed by only 0.12 m of rise is not a rep (rise < half the descent)
    assert a.add([leg(0, -0.5, 0, 1, first=True), leg(-0.5, -0.38, 1, 2, last=True)]) == []
    b = RepAssembler(None, 0.10)
    reps = b.add([leg(0, 0.4, 0, 1, first=True), leg(0.4, 0.0, 1, 2, last=True)])
    assert b.eccentric_first is False and len(reps) == 1
    with pytest.raises(ValueError, match="min_rom_m"):
        RepAssembler(True, 0.0)


def test_phase_bounds_at_rest_within_noise_and_extrapolated_to_zero():
    """A rise from rest with v = c (t - t0)^2 (a force rising at a constant rate): with a rest tolerance of
    5 mm/s the bound is found where v = 5 mm/s and moved back to t0 along the parabola (2 v / v');
    without one it is the last v <= 0, here t0 itself."""
    t = np.arange(0.0, 2.0, 0.005)
    t0, c = 0.5, 2.0
    v = np.where(t < t0, 0.0, c * (t - t0) ** 2)
    v = np.where(t > 1.0, np.maximum(c * 0.25 - 3.0 * (t - 1.0), 0.0), v)  # linear stop at 1.0 + 0.5/3 s
    v[v < 0] = 0.0
    z = cumulative_trapezoid(v, t)
    tol = np.full(t.size, 0.005)
    legs = find_legs(t, v, z, 0.03, tol)
    rise = next(leg for leg in legs if leg.rise_m > 0.05)
    # one-sided slope over 20 ms overestimates v' of a parabola: the start errs late, by < 10 ms
    assert t0 <= rise.t0_s <= t0 + 0.01
    stop = 1.0 + 0.5 / 3.0
    # a linear stop: extrapolating as a parabola overshoots by v/v' = 5 mm/s / 3 m/s^2 < 2 ms
    assert rise.t1_s == pytest.approx(stop, abs=0.003)
    plain = next(leg for leg in find_legs(t, v, z, 0.03) if leg.rise_m > 0.05)
    assert plain.t0_s == pytest.approx(t0, abs=0.005) and plain.t1_s == pytest.approx(stop, abs=0.005)


def test_extrapolation_stops_at_a_turnaround():
    """Touch-and-go: v goes from -0.5 to +0.5 m/s through zero at 1.0 s with a slope of 5 m/s^2; the bound
    is that zero crossing, not a point extrapolated before it."""
    t = np.arange(0.0, 2.0, 0.005)
    v = np.clip(5.0 * (t - 1.0), -0.5, 0.5) * (t < 1.5) + np.where(t >= 1.5, np.maximum(0.5 - 5 * (t - 1.5), 0), 0)
    v[t < 0.5] = 0.0
    v[(t >= 0.5) & (t < 0.9)] = -0.5 * np.sin(np.pi * (t[(t >= 0.5) & (t < 0.9)] - 0.5) / 0.8)
    z = cumulative_trapezoid(v, t)
    legs = find_legs(t, v, z, 0.03, np.full(t.size, 0.005))
    rise = next(leg for leg in legs if leg.rise_m > 0.05)
    assert rise.t0_s == pytest.approx(1.0, abs=0.003)
