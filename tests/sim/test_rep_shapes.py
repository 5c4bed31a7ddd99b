"""sim.rep_shapes and its parts: exact kinematics, truth by the issue-11 definitions, shapes, sensor models.

The truth is checked against independent computations: numerical derivatives and integrals of the
exact functions, and a brute-force search of the concentric bounds on a 0.5 ms grid.
"""

from functools import lru_cache
from itertools import pairwise

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid, quad

from ingest.ble.protocols.witmotion import raw_to_si
from records.units import STANDARD_GRAVITY_MPS2 as G
from sim.barbell import simulate_session
from sim.imu_model import _lagged, _lowpass_noise, _random_walk, _rattle
from sim.rep_shapes import FAMILIES, SHAPES, simulate_shapes
from sim.scenarios import SHAPE_SCENARIOS, VALIDATION_SCENARIOS, simulate_scenario
from sim.velocity_profiles import BetaPulse, DampedSine, Ramp, SplineSegment, Track


@lru_cache(maxsize=128)
def _scn(name: str, seed: int, rate_hz: float = 100.0):
    return simulate_scenario(name, seed, rate_hz)


# --- segments -------------------------------------------------------------------------------------

SEGMENTS = [
    Ramp(0.4, -0.3, 0.9, "minjerk"),
    Ramp(0.25, 0.5, 0.05, "cosine"),
    Ramp.to_zero(0.3, 0.5, "minjerk", 0.2),
    Ramp.from_zero(0.4, 0.7, "cosine", 0.5),
    BetaPulse(0.9, 0.8, 1.0, 1.0),
    BetaPulse(1.3, -1.1, 1.7, 3.2),
    SplineSegment(np.array([0.0, 0.2, 0.5, 0.9]), np.array([-0.2, 0.6, 0.3, 0.0]), "clamped", (2.0, -1.0)),
    SplineSegment(np.array([0.0, 0.3, 0.6]), np.array([0.0, 0.7, 0.0]), "pchip"),
    DampedSine(1.5, -0.05, 2 * np.pi * 2.0, 0.4),
]


@pytest.mark.parametrize("seg", SEGMENTS, ids=lambda s: type(s).__name__ + getattr(s, "kind", ""))
def test_segment_velocity_acceleration_and_displacement_agree(seg):
    h = seg.duration_s
    s = np.linspace(0.0, h, 20001)
    v, a, z = seg.v(s), seg.a(s), seg.z(s)
    assert z[0] == pytest.approx(0.0, abs=1e-12)
    # a = dv/dt and v = dz/dt (central differences), z = integral of v (adaptive quadrature)
    ds = s[1] - s[0]
    np.testing.assert_allclose(np.gradient(v, ds)[2:-2], a[2:-2], atol=2e-3 * max(1.0, np.abs(a).max()))
    np.testing.assert_allclose(np.gradient(z, ds)[2:-2], v[2:-2], atol=1e-5)
    for t in (0.3 * h, 0.77 * h, h):
        assert seg.z(np.array([t]))[0] == pytest.approx(
            quad(lambda x: float(seg.v(np.array([x]))[0]), 0, t, limit=200)[0], abs=1e-9
        )


def test_closed_forms():
    r = Ramp(0.5, 0.2, 1.0, "minjerk")
    assert r.end()[2] == pytest.approx(0.5 * (0.2 + 1.0) / 2)  # smoothsteps integrate to 1/2
    assert r.a(np.array([0.25]))[0] == pytest.approx(0.8 / 0.5 * 30 / 16)  # peak of 30 t^2 (1-t)^2 = 15/8
    b = BetaPulse(1.2, BetaPulse.peak_for(0.5, 1.2, 1.5, 2.5), 1.5, 2.5)
    assert b.end()[2] == pytest.approx(0.5)
    tt = np.linspace(0, 1.2, 100001)
    assert b.v(tt).max() == pytest.approx(b.peak_mps, rel=1e-6)
    assert tt[np.argmax(b.v(tt))] == pytest.approx(1.2 * 1.5 / 4.0, abs=1e-4)  # peak at p / (p + q)
    w = 2 * np.pi * 0.3
    breath = DampedSine(2 / 0.3, 0.006, w)  # two whole periods, no decay: back where it started
    assert breath.end()[0] == pytest.approx(0.0, abs=1e-12) and breath.end()[2] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("kind", ["minjerk", "cosine"])
def test_partial_ramps_cross_zero_with_the_asked_acceleration(kind):
    for a_mps2 in (0.2, 1.0, 2.0):  # (gains below the steepest crossing of either kind)
        h, v = 0.4, 0.6
        c = Ramp.fraction_for(kind, a_mps2 * h / v)
        end, start = Ramp.to_zero(h, v, kind, c), Ramp.from_zero(h, v, kind, c)
        assert end.end()[0] == pytest.approx(0.0, abs=1e-12) and end.start() == pytest.approx((v, 0.0), abs=1e-12)
        assert end.end()[1] == pytest.approx(-a_mps2, rel=1e-6)
        assert start.start()[0] == pytest.approx(0.0, abs=1e-12) and start.start()[1] == pytest.approx(a_mps2, rel=1e-6)
        assert start.end()[:2] == pytest.approx((v, 0.0), abs=1e-12)
    # the steepest crossing: the middle of a whole ramp from v to -v, slope 15/8 (minjerk) or pi/2 (cosine) * 2v / 2h
    assert Ramp.crossing_gain(kind, 1.0) == pytest.approx(1.875 if kind == "minjerk" else np.pi / 2)
    assert Ramp.fraction_for(kind, 10.0) == 1.0


def test_track_rejects_velocity_jumps_and_evaluates_piecewise():
    tr = Track()
    tr.hold(1.0)
    with pytest.raises(ValueError, match="velocity jump"):
        tr.add(Ramp(0.2, 0.5, 0.0))
    tr.add(Ramp(0.5, 0.0, 1.0))
    tr.add(Ramp(0.5, 1.0, 0.0))
    with pytest.raises(ValueError, match="hold must start"):
        tr.add(Ramp(0.1, 0.0, 0.3))
        tr.hold(1.0)
    tr2 = Track()
    tr2.hold(1.0)
    tr2.add(Ramp(0.5, 0.0, 1.0))
    tr2.add(Ramp(0.5, 1.0, 0.0))
    assert tr2.z(np.array([-1.0, 0.5, 2.0, 9.0])) == pytest.approx([0.0, 0.0, 0.5, 0.5])
    assert tr2.v(np.array([1.5, 9.0])) == pytest.approx([1.0, 0.0])


# --- truth ----------------------------------------------------------------------------------------


def _brute_bounds(s, r, dt=5e-4):
    """Concentric bounds straight from the definition on a grid: last v <= 0 before the peak, first after."""
    tt = np.arange(r.start_s - 0.2, r.end_s + 0.05, dt)
    v = s.exact.v(tt)
    pk = int(np.argmax(np.where((tt > r.concentric_start_s) & (tt < r.concentric_end_s), v, -np.inf)))
    i = np.nonzero(v[:pk] <= 0)[0][-1]
    j = pk + np.nonzero(v[pk:] <= 0)[0][0]
    return tt[i], tt[j]


@pytest.mark.parametrize("name", list(SHAPE_SCENARIOS))
def test_truth_is_consistent_with_the_exact_kinematics(name):
    s = _scn(name, 0)
    # integrating the true acceleration reproduces the true velocity, integrating that the position:
    # piece by piece (the acceleration may jump where pieces meet: impacts, sway onset), and the
    # velocity and position are continuous where they meet
    ex = s.exact
    bounds = [*ex.starts, s.duration_s]
    for t0, t1 in pairwise(bounds):
        # points crowd at the ends (a skewed pulse's acceleration may have an infinite slope there)
        tt = t0 + 1e-9 + (t1 - t0 - 2e-9) * 0.5 * (1 - np.cos(np.linspace(0, np.pi, 4001)))
        v, z, a = ex.v(tt), ex.z(tt), ex.a(tt)
        np.testing.assert_allclose(cumulative_trapezoid(a, tt, initial=0.0) + v[0], v, atol=1e-5)
        np.testing.assert_allclose(cumulative_trapezoid(v, tt, initial=0.0) + z[0], z, atol=1e-6)
    for tb in ex.starts[1:]:
        e = np.array([tb - 1e-9, tb + 1e-9])
        assert np.ptp(ex.v(e)) < 1e-6 and np.ptp(ex.z(e)) < 1e-8
    # the sampled truth is the exact truth at the sample times
    np.testing.assert_allclose(s.true_velocity_mps, s.exact.v(s.t_s))
    assert len(s.reps) == SHAPE_SCENARIOS[name]["reps"]
    for r in s.reps:
        cs, ce = r.concentric_start_s, r.concentric_end_s
        b0, b1 = _brute_bounds(s, r)
        assert b0 <= cs + 1e-9 and cs - b0 < 5e-4 + 1e-9, (r.index, b0, cs)
        assert b1 >= ce - 1e-9 and b1 - ce < 5e-4 + 1e-9, (r.index, b1, ce)
        inside = np.linspace(cs, ce, 20001)[1:-1]
        vin = s.exact.v(inside)
        assert np.all(vin > 0)
        rom = np.trapezoid(s.exact.v(np.linspace(cs, ce, 20001)), np.linspace(cs, ce, 20001))
        assert r.rom_m == pytest.approx(rom, abs=1e-5)
        assert r.mean_velocity_mps == pytest.approx(r.rom_m / (ce - cs))
        assert r.peak_velocity_mps == pytest.approx(vin.max(), abs=1e-4)
        assert r.mean_propulsive_velocity_mps >= r.mean_velocity_mps - 1e-9
        assert r.start_s <= cs + 1e-9 and cs < ce <= r.end_s + 1e-9
        assert 0.3 < r.rom_m < 0.7 and 0.1 < r.mean_velocity_mps < 1.2


def test_true_bounds_are_within_what_an_imu_can_resolve():
    # the bar leaves rest and stops with a finite jerk or acceleration: it spends little time between
    # 0 and 5 mm/s (about what an IMU can tell from rest, issue 11) next to each bound, so the exact
    # bounds are not an artefact of an infinitely smooth approach to zero velocity
    worst_s, worst_mcv = 0.0, 0.0
    for name in SHAPE_SCENARIOS:
        s = _scn(name, 0)
        for r in s.reps:
            tt = np.arange(r.concentric_start_s, r.concentric_end_s, 1e-4)
            above = np.nonzero(s.exact.v(tt) > 0.005)[0]
            t0, t1 = tt[above[0]], tt[above[-1]]
            worst_s = max(worst_s, t0 - r.concentric_start_s, r.concentric_end_s - t1)
            z = s.exact.z(np.array([t0, t1]))
            worst_mcv = max(worst_mcv, abs((z[1] - z[0]) / (t1 - t0) - r.mean_velocity_mps))
    assert worst_s < 0.06 and worst_mcv < 0.025


def test_mpv_is_the_mean_velocity_until_deceleration_exceeds_g():
    s = simulate_shapes("bench_press", 6, ("plain", "bounce", "touch_and_go"), mcv_mps=(0.9, 1.2), seed=1)
    n_propulsive = 0
    for r in s.reps:
        tt = np.linspace(r.concentric_start_s, r.concentric_end_s, 40001)
        a = s.exact.a(tt)
        below = np.nonzero(a < -G)[0]
        end = tt[below[0]] if below.size else tt[-1]
        n_propulsive += bool(below.size)
        m = tt <= end
        assert r.mean_propulsive_velocity_mps == pytest.approx(
            np.trapezoid(s.exact.v(tt[m]), tt[m]) / (end - tt[0]), abs=2e-4
        )
    assert n_propulsive >= 1  # some of these fast reps brake harder than g


@pytest.mark.parametrize("name", ["paused_squat", "paused_bench", "short_pause_squat"])
def test_paused_rep_starts_at_the_end_of_the_pause(name):
    pauses = []
    for seed in range(3):
        s = _scn(name, seed)
        for r in s.reps:
            cs = r.concentric_start_s
            pauses.append(r.pause_s)
            if r.pause_s > 0.004:
                still = np.linspace(cs - r.pause_s + 1e-3, cs - 1e-4, 500)
                assert np.all(s.exact.v(still) == 0.0)
                assert s.exact.v(np.array([cs - r.pause_s - 2e-3]))[0] < 0  # lowering right before
            assert s.exact.v(np.array([cs + 1e-3]))[0] > 0
    hi = SHAPE_SCENARIOS[name]["pause_s"][1]
    assert min(pauses) >= 0.0 and max(pauses) <= hi and max(pauses) > 0.6 * hi


@pytest.mark.parametrize("name", ["sticking_squat", "sticking_bench", "grind_squat", "grind_bench", "grind_deadlift"])
def test_sticking_and_grind_dip_without_stopping(name):
    for seed in range(3):
        s = _scn(name, seed)
        for r in s.reps:
            assert r.min_velocity_after_peak_mps >= 0.03
            tt = np.linspace(r.concentric_start_s, r.concentric_end_s, 20001)
            v = s.exact.v(tt)
            pk1 = int(np.argmax(v[: len(v) // 3]))
            # a real dip: well below the first peak, and the velocity rises again after it
            i_min = pk1 + int(np.argmin(v[pk1 : int(0.8 * len(v))]))
            assert v[i_min] == pytest.approx(r.min_velocity_after_peak_mps, abs=2e-3)
            assert v[i_min] < 0.25 * v[pk1] and v[i_min:].max() > 3 * v[i_min]
            if r.shape == "grind":
                assert 0.15 <= r.mean_velocity_mps <= 0.25
                steady = (v >= 0.04) & (v <= 0.065)
                assert steady.sum() * (tt[1] - tt[0]) >= 0.35  # a ~0.05 m/s grind of >= 0.4 s


def test_concentric_end_precedes_the_sway():
    n = 0
    for seed in range(3):
        s = _scn("top_sway_squat", seed)
        for r in s.reps:
            ce = r.concentric_end_s
            after = np.linspace(ce, r.end_s, 4000)
            v = s.exact.v(after)
            assert v[1] < 0  # first the bar settles
            up = np.nonzero(v > 0.005)[0]
            assert up.size and after[up[0]] > ce + 0.05  # then sways up again: not part of the lift
            n += 1
    assert n == 15


def test_touch_and_go_has_no_rest_and_bounce_reverses_sharply():
    s = _scn("touch_and_go_bench", 0)
    for r, nxt in zip(s.reps, s.reps[1:], strict=False):
        tt = np.linspace(r.concentric_end_s, nxt.concentric_start_s, 2000)
        v = s.exact.v(tt)
        still = (v == 0.0).sum() * (tt[1] - tt[0])
        assert still < 0.05  # at most a touch at the top
        assert s.exact.v(np.array([nxt.concentric_start_s - 1e-3]))[0] < 0  # no pause at the bottom either
    dl = _scn("touch_and_go_deadlift", 0)
    assert all(r.pause_s <= 0.06 for r in dl.reps[1:])
    b = _scn("bounce_squat", 0)
    for r in b.reps:
        tt = np.linspace(r.concentric_start_s - 0.1, r.concentric_start_s + 0.1, 2001)
        assert b.exact.v(np.array([r.concentric_start_s - 0.02]))[0] < 0.0
        assert 9.0 <= b.exact.a(tt).max() <= 27.0


def test_rerack_lands_on_the_hooks_and_impacts_are_listed():
    s = _scn("plain_squat_rerack", 0)
    z_end = s.exact.z(np.array([s.duration_s]))[0]
    assert z_end == pytest.approx(0.0, abs=1e-9)  # back at the height it was unracked from
    assert len(s.impacts_s) == 2 and s.impacts_s[0] > s.reps[-1].end_s  # uprights, then hooks
    dl = _scn("touch_and_go_deadlift", 0)
    assert len(dl.impacts_s) == len(dl.reps)  # every lowering lands on the floor
    assert dl.exact.z(np.array([dl.duration_s]))[0] == pytest.approx(0.0, abs=1e-9)


def test_mixed_sets_mix_shapes_and_families():
    shapes, fams = set(), set()
    for seed in range(3):
        s = _scn("mixed_squat", seed)
        assert {r.shape for r in s.reps} == set(SHAPE_SCENARIOS["mixed_squat"]["shapes"])
        shapes |= {r.shape for r in s.reps}
        fams |= {r.family for r in s.reps}
    assert fams == set(FAMILIES)
    assert shapes <= set(SHAPES)


def test_deterministic_from_seed_and_rates():
    a = simulate_scenario("mixed_bench", 3, 200.0)
    b = simulate_scenario("mixed_bench", 3, 200.0)
    c = simulate_scenario("mixed_bench", 4, 200.0)
    assert np.array_equal(a.raw_i16, b.raw_i16) and a.reps == b.reps
    assert a.reps != c.reps
    assert a.rate_hz == 200.0 and np.allclose(np.diff(a.t_s), 0.005)
    lo = simulate_scenario("mixed_bench", 3, 100.0)
    # the motion does not depend on the rate: the same reps, sampled differently
    assert [r.concentric_start_s for r in lo.reps] == [r.concentric_start_s for r in a.reps]


def test_scenario_dispatch_and_argument_validation():
    old = simulate_scenario("bench", 1)
    ref = simulate_session(seed=1, **VALIDATION_SCENARIOS["bench"])
    assert np.array_equal(old.raw_i16, ref.raw_i16)
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate_scenario("curls")
    with pytest.raises(ValueError, match="shapes"):
        simulate_shapes(shapes=("wobble",))
    with pytest.raises(ValueError, match="from the floor"):
        simulate_shapes("deadlift", shapes=("bottom_pause",))
    with pytest.raises(ValueError, match="sensor"):
        simulate_shapes(sensor="perfect")
    with pytest.raises(ValueError, match="pause_s"):
        simulate_shapes(pause_s=(1.0, 0.5))


def test_old_simulator_truth_follows_the_new_definitions():
    s = simulate_session("deadlift", 140, 3, rate_hz=100, seed=2)
    for r in s.reps:
        cs = r.concentric_start_s
        # from the floor: the bar is at rest until the concentric start and rising right after it
        assert np.all(s.exact.v(np.linspace(cs - 0.3, cs - 1e-9, 100)) <= 0)
        assert s.exact.v(np.array([cs + 1e-3]))[0] > 0


# --- sensor models --------------------------------------------------------------------------------


def test_bias_random_walk_grows_with_sqrt_time():
    rng = np.random.default_rng(0)
    t = np.arange(0, 100.0, 0.01)
    walks = np.stack([_random_walk(rng, t, 0.02)[:, 0] for _ in range(200)])
    assert walks[:, 0] == pytest.approx(0.0)
    assert walks[:, -1].std() == pytest.approx(0.02 * np.sqrt(100.0), rel=0.15)
    assert walks[:, 2500].std() == pytest.approx(0.02 * np.sqrt(25.0), rel=0.15)


def test_coloured_noise_has_the_set_sd_and_correlation_time():
    rng = np.random.default_rng(1)
    t = np.arange(0, 600.0, 0.01)
    x = _lowpass_noise(rng, t, 0.05, 3.0)[:, 0]
    assert x.std() == pytest.approx(0.05, rel=0.05)
    lag = round(1 / (2 * np.pi * 3.0) / 0.01)  # one time constant
    r = np.corrcoef(x[:-lag], x[lag:])[0, 1]
    assert r == pytest.approx(np.exp(-2 * np.pi * 3.0 * lag * 0.01), abs=0.03)


def test_rattle_rings_without_net_velocity_or_displacement():
    rng = np.random.default_rng(2)
    t = np.arange(0, 3.0, 1e-5)
    acc = _rattle(rng, t, 1.0)
    assert np.abs(acc[t < 1.0]).max() == 0.0
    assert 5.0 <= np.linalg.norm(acc, axis=1).max() <= 25.0 * 1.01
    after = t >= 1.0  # (the acceleration steps up at the impact: integrate from there)
    vel = cumulative_trapezoid(acc[after], t[after], axis=0, initial=0.0)
    disp = cumulative_trapezoid(vel, t[after], axis=0, initial=0.0)
    assert np.abs(vel[-1]).max() < 1e-4 and np.abs(disp[-1]).max() < 1e-6
    assert np.abs(vel).max() > 0.01  # while ringing the mount does move


def test_fused_angles_lag_a_step():
    t = np.arange(0, 2.0, 0.005)
    ang = np.zeros((t.size, 3))
    ang[t >= 1.0] = 0.1
    out = _lagged(t, ang, delay_s=0.05, tau_s=0.1)
    assert np.all(out[t < 1.05 - 1e-9] == pytest.approx(0.0))
    k = np.searchsorted(t, 1.05 + 0.1)
    assert out[k, 0] == pytest.approx(0.1 * (1 - np.exp(-1)), rel=0.05)  # one time constant after the delay


@pytest.mark.parametrize("sensor", ["white", "rattle", "bias_walk", "coloured", "fused_lag", "all"])
def test_sensor_models_read_gravity_at_rest(sensor):
    s = simulate_shapes("back_squat", 2, ("plain",), seed=5, sensor=sensor)
    acc, _gyro, _ang = raw_to_si(s.raw_i16)
    rest = s.t_s < 2.5
    assert np.linalg.norm(acc[rest], axis=1).mean() == pytest.approx(G, abs=0.3)
    assert s.sensor_model.startswith("white")
    if sensor == "white":
        assert s.sensor_model == "white"
    # the same motion with every model: only the sensor differs
    ref = simulate_shapes("back_squat", 2, ("plain",), seed=5, sensor="white")
    assert s.reps == ref.reps


def test_rattle_shows_in_the_accelerometer_at_impacts():
    quiet = simulate_shapes("deadlift", 3, ("plain",), seed=6, rate_hz=200, sensor="white")
    loud = simulate_shapes("deadlift", 3, ("plain",), seed=6, rate_hz=200, sensor="rattle")
    d = np.linalg.norm(raw_to_si(loud.raw_i16)[0] - raw_to_si(quiet.raw_i16)[0], axis=1)
    for t_hit in loud.impacts_s:
        near = (loud.t_s >= t_hit) & (loud.t_s < t_hit + 0.1)
        assert d[near].max() > 2.0
    far = np.ones(loud.t_s.size, bool)
    for t_hit in loud.impacts_s:
        far &= ~((loud.t_s >= t_hit - 0.01) & (loud.t_s < t_hit + 1.5))
    assert d[far].max() < 0.5  # elsewhere only the (differently drawn) noise differs
