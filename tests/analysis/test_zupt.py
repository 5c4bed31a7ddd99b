"""analysis.zupt: still stretches inside a movement as zero-velocity updates, on closed-form signals."""

import numpy as np
import pytest

from analysis.kinematics import cumulative_trapezoid
from analysis.reps import find_legs
from analysis.zupt import V_TOL_MAX_MPS, anchored_velocity, still_stretches, window_range

from .shapes import Cos, Hold, Lin, Rest, velocity_profile

RATE_HZ = 100.0
NOISE_MPS2 = 0.08  # 0.008 g per sample, the WitMotion-like white noise of the simulators


def _sampled(pieces, rate_hz=RATE_HZ, noise=NOISE_MPS2, drift_mps2=0.0, seed=0):
    """Vertical acceleration samples (mean over each sample period) of a chain of velocity pieces, with
    white noise and a constant acceleration offset; and the true velocity at the sample times."""
    t_true, v_true = velocity_profile(pieces)
    t = np.arange(0.0, t_true[-1], 1.0 / rate_hz)
    h = 0.5 / rate_hz
    a = (np.interp(t + h, t_true, v_true) - np.interp(t - h, t_true, v_true)) * rate_hz
    a += np.random.default_rng(seed).normal(0.0, noise, t.size) + drift_mps2
    return t, a, np.interp(t, t_true, v_true)


def test_window_range_matches_brute_force_with_irregular_times():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.002, 0.02, 400))
    y = np.cumsum(rng.normal(0, 1, 400))
    got = window_range(t, y, 0.1)
    for k in range(0, 400, 7):
        m = np.abs(t - t[k]) <= 0.05
        assert got[k] == pytest.approx(y[m].max() - y[m].min())


def test_anchored_velocity_is_exact_for_a_constant_offset_per_segment():
    # true motion: rest, up and down (v = sin), rest, up and down, rest; a different acceleration offset
    # between each pair of rests (a drift the linear correction of each segment removes exactly)
    t = np.arange(0.0, 6.0, 0.001)
    v_true = np.where((t > 1) & (t < 2), np.sin(np.pi * (t - 1)), 0.0) + np.where(
        (t > 3.5) & (t < 4.5), -0.5 * np.sin(np.pi * (t - 3.5)), 0.0
    )
    a = np.gradient(v_true, t) + np.where(t < 2.8, 0.03, -0.05)
    still = [(0, 100), (2500, 3000), (t.size - 50, t.size - 1)]
    v, a_out = anchored_velocity(t, a, still)
    assert np.all(v[2500:3001] == 0.0) and np.all(v[:101] == 0.0)
    np.testing.assert_allclose(v, v_true, atol=2e-3)
    np.testing.assert_allclose(a_out[200:2400], np.gradient(v_true, t)[200:2400], atol=1e-6)
    with pytest.raises(ValueError, match="sample 0"):
        anchored_velocity(t, a, [(5, 10), (t.size - 1, t.size - 1)])


@pytest.mark.parametrize("pause_s", [0.1, 0.3, 1.0])
def test_a_bottom_pause_is_a_zero_velocity_update(pause_s):
    """Rest, a 0.5 m descent, the bar still for pause_s, a constant-acceleration rise, rest; a constant
    0.03 m/s^2 offset makes the integrated velocity drift by ~0.1 m/s over the movement."""
    pieces = [Rest(0.5), Cos(0.4, -0.9), Lin(0.6, 0.0), Rest(pause_s), Lin(0.25, 1.1), Cos(0.5, 0.0), Rest(0.4)]
    t, a, v_true = _sampled(pieces, drift_mps2=0.03)
    zr = still_stretches(t, a, NOISE_MPS2)
    p0, p1 = 1.5, 1.5 + pause_s  # the pause
    inside = [(t[i], t[j]) for i, j in zr.still if t[i] >= p0 - 0.06 and t[j] <= p1 + 0.06 and j > i]
    assert len(inside) == 1, [(t[i], t[j]) for i, j in zr.still]
    s0, s1 = inside[0]
    assert s0 <= p0 + 0.06 and s1 >= p1 - 0.06  # covers the pause up to half a 100 ms window at each end
    assert np.all(zr.v_mps[(t >= s0) & (t <= s1)] == 0.0)
    # the concentric phase starts where the pause ends (the last instant the bar was at rest)
    z = cumulative_trapezoid(zr.v_mps, t)
    rise = [leg for leg in find_legs(t, zr.v_mps, z, 0.03, zr.rest_tol_mps) if leg.rise_m > 0.3]
    assert len(rise) == 1
    assert rise[0].t0_s == pytest.approx(p1, abs=0.02)
    assert np.abs(zr.v_mps - v_true).max() < 0.03


def test_without_the_update_the_start_lies_inside_the_pause():
    """The same rep integrated with one linear drift correction (v = 0 at both ends only): the velocity
    hovers around zero in the pause and its last zero crossing falls inside it -- the issue's error."""
    pieces = [Rest(0.5), Cos(0.4, -0.9), Lin(0.6, 0.0), Rest(0.6), Lin(0.25, 1.1), Cos(0.5, 0.0), Rest(0.4)]
    t, a, _ = _sampled(pieces, drift_mps2=0.03, seed=2)
    v = cumulative_trapezoid(a, t)
    v -= v[-1] * (t - t[0]) / (t[-1] - t[0])
    z = cumulative_trapezoid(v, t)
    rise = [leg for leg in find_legs(t, v, z, 0.03) if leg.rise_m > 0.3]
    assert rise[0].t0_s < 2.1 - 0.1  # started more than 0.1 s early, in the pause (it ends at 2.1 s)
    zr = still_stretches(t, a, NOISE_MPS2)
    z2 = cumulative_trapezoid(zr.v_mps, t)
    rise2 = [leg for leg in find_legs(t, zr.v_mps, z2, 0.03, zr.rest_tol_mps) if leg.rise_m > 0.3]
    assert rise2[0].t0_s == pytest.approx(2.1, abs=0.02)


@pytest.mark.parametrize(
    ("label", "middle"),
    [
        ("sticking point: dips to 0.04 m/s, never below", [Cos(0.3, 0.04), Hold(0.2), Cos(0.3, 0.5)]),
        ("slow grind: a steady 0.05 m/s for 0.8 s", [Cos(0.3, 0.05), Hold(0.8), Cos(0.3, 0.4)]),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sticking_point_and_grind_are_not_zeroed(label, middle, seed):
    pieces = [Rest(0.5), Cos(0.4, -0.9), Lin(0.6, 0.0), Lin(0.25, 0.7), *middle, Cos(0.5, 0.0), Rest(0.4)]
    t, a, v_true = _sampled(pieces, drift_mps2=0.01, seed=seed)
    zr = still_stretches(t, a, NOISE_MPS2)
    hold0 = 0.5 + 0.4 + 0.6 + 0.25 + 0.3  # the slow stretch of the rise, +-0.1 s
    slow = (t > hold0 - 0.1) & (t < hold0 + middle[1].duration_s + 0.1)
    for i, j in zr.still:
        assert not np.any(slow[i : j + 1]), (label, t[i], t[j])
    assert np.abs(zr.v_mps - v_true)[slow].max() < 0.03
    assert V_TOL_MAX_MPS < 0.03  # a pause is never accepted at a sticking point's velocity


def test_still_stretches_edge_cases():
    t = np.arange(0.0, 1.0, 0.01)
    zr = still_stretches(t, np.zeros(t.size), 0.05)
    assert np.all(zr.v_mps == 0.0) and zr.still[0][0] == 0 and zr.still[-1][1] == t.size - 1
    with pytest.raises(ValueError, match="noise_mps2"):
        still_stretches(t, np.zeros(t.size), -1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_creep_into_lockout_is_not_a_pause(seed):
    """A rise that creeps at ~0.06 m/s for 0.3 s, decelerates to a stop, rests 0.6 s, then a small lowering: the
    creep is flat and lies between an upward and a downward motion, but the bar slows down from it to a second
    still-looking stretch (the rest) before it moves down -- so it is no turning point, and at 0.06 m/s not slow
    either: never zeroed; the rest is."""
    pieces = [
        Rest(0.5),
        Cos(0.4, -0.9),
        Lin(0.6, 0.0),
        Lin(0.3, 0.9),
        Cos(0.35, 0.06),
        Hold(0.3),
        Lin(0.3, 0.0),
        Rest(0.6),
        Cos(0.3, -0.3),
        Cos(0.3, 0.0),
        Rest(0.4),
    ]
    t, a, v_true = _sampled(pieces, drift_mps2=0.01, seed=seed)
    zr = still_stretches(t, a, NOISE_MPS2)
    creep0 = 0.5 + 0.4 + 0.6 + 0.3 + 0.35
    creep = (t > creep0) & (t < creep0 + 0.3)
    rest = (t > creep0 + 0.6 + 0.05) & (t < creep0 + 0.6 + 0.55)
    for i, j in zr.still:
        assert not np.any(creep[i : j + 1]), (t[i], t[j])
    assert any(np.any(rest[i : j + 1]) for i, j in zr.still)
    assert np.abs(zr.v_mps - v_true)[creep].max() < 0.03


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_steady_stretch_of_a_lowering_is_not_zeroed(seed):
    """A lift, then a lowering that holds a steady 0.35 m/s for 0.3 s before it speeds up: relative to its own
    velocity the motion before it is upward and after it downward, like a turning point, but its velocity is
    far from zero by the drift model."""
    pieces = [
        Rest(0.5),
        Lin(0.3, 0.8),
        Cos(0.4, 0.0),
        Cos(0.3, -0.35),
        Hold(0.3),
        Cos(0.3, -0.6),
        Cos(0.3, 0.0),
        Rest(0.5),
    ]
    t, a, v_true = _sampled(pieces, drift_mps2=0.01, seed=seed)
    zr = still_stretches(t, a, NOISE_MPS2)
    steady = (t > 1.5) & (t < 1.8)
    for i, j in zr.still:
        assert not np.any(steady[i : j + 1]), (t[i], t[j])
    assert np.abs(zr.v_mps - v_true)[steady].max() < 0.03
