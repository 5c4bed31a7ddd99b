"""Bar velocity against the simulator's truth (issue 4, section 8).

Thresholds: rep counts exact; MCV bias within +-0.02 m/s, error SD <= 0.05 m/s,
worst rep within 0.10 m/s; peak velocity error SD <= 0.08 m/s; ROM within 3 cm.
Both orientation paths: the device's fused angles and gyro + accelerometer at rest.
"""

import numpy as np
import pytest

from analysis.barbell import analyse_session
from analysis.live import LiveRepDetector
from records.imu import ImuSamples
from sim.barbell import simulate_session
from sim.scenarios import SHAPE_RATES_HZ, SHAPE_SCENARIOS, simulate_scenario

from .conftest import SCENARIOS
from .shapes import Cos, Hold, Lin, Rest, shape_session, squat_reps

SEEDS = (0, 1, 2)


def _errors(sessions, fused: bool, start_tol_s: float = 0.1):
    mcv, pv, rom, mpv = [], [], [], []
    for s in sessions:
        smp = s.to_imu_samples()
        if not fused:
            smp = ImuSamples(smp.t_ns, smp.accel_mps2, smp.gyro_radps, None)
        res = analyse_session(smp, s.exercise, s.load_kg)
        assert len(res.reps) == len(s.reps), (s.exercise, [r.concentric_start_ns / 1e9 for r in res.reps])
        for r, t in zip(res.reps, s.reps, strict=True):
            assert r.concentric_start_ns / 1e9 == pytest.approx(t.concentric_start_s, abs=start_tol_s)
            mcv.append(r.mean_velocity_mps - t.mean_velocity_mps)
            mpv.append(r.mean_propulsive_velocity_mps - t.mean_propulsive_velocity_mps)
            pv.append(r.peak_velocity_mps - t.peak_velocity_mps)
            rom.append(r.rom_m - t.rom_m)
    return np.array(mcv), np.array(mpv), np.array(pv), np.array(rom)


def _check(mcv, mpv, pv, rom):
    assert abs(mcv.mean()) <= 0.02
    assert mcv.std(ddof=1) <= 0.05
    assert np.abs(mcv).max() <= 0.10
    assert np.abs(mpv).max() <= 0.10
    assert pv.std(ddof=1) <= 0.08
    assert np.abs(rom).max() <= 0.03


@pytest.mark.parametrize("fused", [True, False], ids=["fused_angles", "gyro_only"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_accuracy_against_truth(scenario_session, scenario, fused):
    sessions = [scenario_session(scenario, seed) for seed in SEEDS]
    _check(*_errors(sessions, fused))


@pytest.mark.parametrize(("exercise", "load", "one_rm"), [("back_squat", 142.5, 150.0), ("deadlift", 190.0, 200.0)])
def test_near_maximal_slow_reps(exercise, load, one_rm):
    # ~0.2-0.37 m/s reps with long near-constant-acceleration stretches: no false rest may split them
    sessions = [simulate_session(exercise, load, 3, rate_hz=100, seed=seed, one_rm_kg=one_rm) for seed in (0, 1)]
    # (a slow lift-off from the floor leaves v = 0 tangentially: its start time is less sharp, MCV is not)
    mcv, _mpv, _pv, rom = _errors(sessions, fused=True, start_tol_s=0.2)
    assert np.abs(mcv).max() <= 0.05 and np.abs(rom).max() <= 0.03


def test_sets_separated_by_rest_and_velocity_loss():
    s = simulate_session("back_squat", 110, 4, sets=3, rest_between_sets_s=40, rate_hz=100, seed=7, unrack=True)
    res = analyse_session(s.to_imu_samples(), "back_squat", 110)
    assert [r.set_index for r in res.reps] == [t.set_index for t in s.reps]
    assert len(res.sets) == 3 and all(x.reps == 4 for x in res.sets)
    for st in res.sets:
        reps = [r for r in res.reps if r.set_index == st.set_index]
        best = max(r.mean_velocity_mps for r in reps)
        assert st.best_mean_velocity_mps == best
        assert st.velocity_loss_pct == pytest.approx(100 * (best - reps[-1].mean_velocity_mps) / best)
        assert reps[0].velocity_loss_pct == 0.0
        # the same on mean propulsive velocity (Sanchez-Medina & Gonzalez-Badillo 2011), per rep and per set
        mpv = [r.mean_propulsive_velocity_mps for r in reps]
        for k, r in enumerate(reps):
            best_so_far = max(mpv[: k + 1])
            assert r.velocity_loss_mpv_pct == pytest.approx(100 * (best_so_far - mpv[k]) / best_so_far)
        assert st.best_mean_propulsive_velocity_mps == max(mpv)
        assert st.velocity_loss_mpv_pct == pytest.approx(100 * (max(mpv) - mpv[-1]) / max(mpv))
    # a longer set_rest_s merges everything into one set
    merged = analyse_session(s.to_imu_samples(), "back_squat", 110, set_rest_s=120)
    assert len(merged.sets) == 1 and merged.sets[0].reps == 12


def _pause_after(s, k):
    """Middle of the rest after rep k (0-based) of a simulated session."""
    return 0.5 * (s.reps[k].end_s + s.reps[k + 1].start_s)


def test_gap_during_rest_keeps_every_rep_and_gap_during_rep_loses_only_it():
    base = simulate_session("back_squat", 120, 6, rate_hz=100, seed=3, loss_prob=0.05, jitter_s=0.002)
    mid = _pause_after(base, 2)
    s = simulate_session(
        "back_squat", 120, 6, rate_hz=100, seed=3, loss_prob=0.05, jitter_s=0.002, gap=(mid - 0.15, mid + 0.15)
    )
    res = analyse_session(s.to_imu_samples(), "back_squat", 120)
    assert len(res.reps) == 6
    errs = [r.mean_velocity_mps - t.mean_velocity_mps for r, t in zip(res.reps, s.reps, strict=True)]
    assert np.abs(errs).max() <= 0.10
    # a reconnect gap across the concentric phase of rep 4: that rep is discarded, the others are kept
    r4 = base.reps[3]
    g = (r4.concentric_start_s + 0.1, r4.concentric_start_s + 0.6)
    s2 = simulate_session("back_squat", 120, 6, rate_hz=100, seed=3, loss_prob=0.05, jitter_s=0.002, gap=g)
    res2 = analyse_session(s2.to_imu_samples(), "back_squat", 120, gaps_ns=[(int(g[0] * 1e9), int(g[1] * 1e9))])
    kept = [t for t in s2.reps if not t.in_gap]
    assert len(kept) == 5 and len(res2.reps) == 5
    assert any("break" in d.reason for d in res2.discarded)
    for r, t in zip(res2.reps, kept, strict=True):
        assert r.mean_velocity_mps == pytest.approx(t.mean_velocity_mps, abs=0.1)


def test_unknown_exercise_still_counts_reps_with_a_warning():
    s = simulate_session("back_squat", 100, 3, rate_hz=100, seed=1)
    res = analyse_session(s.to_imu_samples(), "zercher_squat", 100)
    assert len(res.reps) == 3 and res.warnings


def test_still_bar_has_no_reps():
    n = 2000
    t_ns = np.arange(n) * 10_000_000
    rng = np.random.default_rng(0)
    acc = np.tile([0.0, 0.0, 9.80665], (n, 1)) + rng.normal(0, 0.05, (n, 3))
    res = analyse_session(ImuSamples(t_ns, acc, rng.normal(0, 0.002, (n, 3)), np.zeros((n, 3))), "back_squat", 100)
    assert res.reps == [] and res.sets == []
    assert res.to_contract()["set"] == {
        "reps": 0,
        "best_mean_velocity_mps": None,
        "velocity_loss_pct": None,
        "velocity_loss_mpv_pct": None,
    }
    acc[5, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        analyse_session(ImuSamples(t_ns, acc, np.zeros((n, 3)), None), "back_squat", 100)


def test_stress_rate_1khz_and_peak_force_against_truth():
    s = simulate_session("back_squat", 100.0, 3, rate_hz=1000.0, seed=4, lead_in_s=1.5, tail_s=1.5)
    res = analyse_session(s.to_imu_samples(), "back_squat", 100.0)
    assert len(res.reps) == 3
    g = 9.80665
    for r, t in zip(res.reps, s.reps, strict=True):
        assert r.mean_velocity_mps == pytest.approx(t.mean_velocity_mps, abs=0.02)
        # peak force on the bar: truth m (max a + g); noise adds a little to a maximum
        assert r.peak_force_n == pytest.approx(100.0 * (t.peak_accel_mps2 + g), rel=0.05)
        assert r.time_to_peak_velocity_s == pytest.approx(t.time_to_peak_velocity_s, abs=0.08)
        assert r.rfd_0_100ms_n_per_s is not None


# ---------------------------------------------------------------------------------------------------
# Rep shapes (issue 11): closed-form shapes of tests/analysis/shapes.py, and the rep-shape scenarios of
# sim.rep_shapes (an outside simulator: other motion families and sensor models). Same limits.

LIMITS = dict(mcv_bias=0.02, mcv_sd=0.05, mcv_worst=0.10, pv_sd=0.08, rom_worst=0.03)


def _live(smp, exercise, load_kg, rate_hz, chunk_s=0.02):
    det = LiveRepDetector(exercise, load_kg, rate_hz)
    step = max(1, round(rate_hz * chunk_s))
    for i in range(0, len(smp), step):
        det.push(smp.slice(i, i + step))
    det.finish()
    return det.reps


def _check_limits(pairs):
    """pairs: [(estimated reps, true reps)] per session; counts exact, then the issue's limits."""
    mcv, pv, rom = [], [], []
    for est, tru in pairs:
        assert len(est) == len(tru), ([r.concentric_start_ns / 1e9 for r in est], [t.concentric_start_s for t in tru])
        for r, t in zip(est, tru, strict=True):
            mcv.append(r.mean_velocity_mps - t.mean_velocity_mps)
            pv.append(r.peak_velocity_mps - t.peak_velocity_mps)
            rom.append(r.rom_m - t.rom_m)
    mcv, pv, rom = np.array(mcv), np.array(pv), np.array(rom)
    assert abs(mcv.mean()) <= LIMITS["mcv_bias"], mcv
    assert mcv.std(ddof=1) <= LIMITS["mcv_sd"], mcv
    assert np.abs(mcv).max() <= LIMITS["mcv_worst"], mcv
    assert pv.std(ddof=1) <= LIMITS["pv_sd"], pv
    assert np.abs(rom).max() <= LIMITS["rom_worst"], rom


CLOSED_FORM = {
    "pause 0.1-1.0 s": dict(bottoms=[[Rest(p)] for p in (0.1, 0.3, 0.6, 1.0)], con=[Lin(0.25, 1.0), Cos(0.5, 0.0)]),
    "sticking 0.04 m/s": dict(
        bottoms=[[]] * 3, con=[Lin(0.3, 0.7), Cos(0.3, 0.04), Hold(0.15), Cos(0.3, 0.5), Cos(0.4, 0.0)]
    ),
    # a 2.7 s rise: with the slowly varying bias too its ROM drifts by up to ~5 cm (white noise only here)
    "grind 0.05 m/s": dict(
        bottoms=[[]] * 3, con=[Cos(0.4, 0.3), Cos(0.4, 0.05), Hold(1.0), Cos(0.4, 0.25), Cos(0.5, 0.0)], bias_drift=0.0
    ),
    "touch and go": dict(bottoms=[[]] * 5, con=[Lin(0.35, 0.9), Cos(0.45, 0.0)], top_rest_s=0.05),
    # a creep into lockout at a steady ~0.09 m/s (0.3 s) or ~0.05 m/s (0.4 s), then a constant deceleration to
    # rest: still to the accelerometer (before issue 11's second pass the rep ended where the creep began:
    # MCV +0.25 m/s, ROM -9 cm)
    "creep into lockout 0.09 m/s": dict(
        bottoms=[[]] * 3, con=[Lin(0.3, 0.9), Cos(0.35, 0.06), Hold(0.3), Lin(0.3, 0.0)]
    ),
    "creep into lockout 0.05 m/s": dict(
        bottoms=[[]] * 3, con=[Lin(0.3, 0.9), Cos(0.35, 0.03), Hold(0.4), Lin(0.3, 0.0)]
    ),
}


@pytest.mark.parametrize("path", ["batch", "live"])
@pytest.mark.parametrize("shape", list(CLOSED_FORM))
def test_closed_form_shapes_within_limits(shape, path):
    """Constant-acceleration and half-cosine legs with exact pauses, sticking points, grinds; 100 Hz,
    a slowly varying accelerometer bias (0.01 m/s^2) on top of the white noise (not for the grind)."""
    spec = CLOSED_FORM[shape]
    pairs = []
    for seed in range(3):
        pieces, windows = squat_reps(
            [spec["con"]] * len(spec["bottoms"]), bottoms=spec["bottoms"], top_rest_s=spec.get("top_rest_s", 1.2)
        )
        s = shape_session(pieces, windows, rate_hz=100.0, seed=seed, bias_drift_mps2=spec.get("bias_drift", 0.01))
        est = (
            analyse_session(s.samples, "back_squat", 100.0).reps
            if path == "batch"
            else _live(s.samples, "back_squat", 100.0, 100.0)
        )
        pairs.append((est, s.reps))
    _check_limits(pairs)


_KNOWN_OUTSIDE = {("slow_lockout_squat", 100.0), ("slow_lockout_squat", 200.0)}
"""Scenario x rate rows outside the limits over these 3 seeds (docs/bar-velocity.md, 'Rep shapes' and 'Limits'):
worst MCV error only (bias and SD within): one rep's velocity dips to 0.005 m/s 0.46 s before its lockout and
rises again, and another creeps at ~0.02 m/s into it -- below what the IMU resolves even with the bias known
(the oracle analysis in docs/bar-velocity.md)."""


def _shape_cases():
    out = []
    for name in SHAPE_SCENARIOS:
        if name.startswith("mixed"):
            continue  # mixes of the shapes below; their slow lockouts put them outside (benchmark)
        for rate in SHAPE_RATES_HZ:
            marks = (
                [pytest.mark.xfail(strict=True, reason="outside the limits, see _KNOWN_OUTSIDE")]
                if (name, rate) in _KNOWN_OUTSIDE
                else []
            )
            out.append(pytest.param(name, rate, marks=marks, id=f"{name}-{rate:.0f}Hz"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("path", ["batch", "live"])
@pytest.mark.parametrize(("scenario", "rate"), _shape_cases())
def test_rep_shape_scenarios_within_limits(scenario, rate, path):
    pairs = []
    for seed in range(3):
        s = simulate_scenario(scenario, seed, rate)
        smp = s.to_imu_samples()
        est = (
            analyse_session(smp, s.exercise, s.load_kg).reps
            if path == "batch"
            else _live(smp, s.exercise, s.load_kg, rate)
        )
        pairs.append((est, s.reps))
    _check_limits(pairs)


@pytest.mark.parametrize("step_mps2", [0.2, 0.3])
def test_a_bias_step_mid_set_loses_no_rep(step_mps2):
    """The accelerometer bias steps by 0.2-0.3 m/s^2 during the second rep's lowering (a knock, a temperature
    jump): every rest after it reads |f| that far from the rest before the movement, more than the quiet test
    tolerates (0.15 m/s^2). A still run that holds steady there for 2 s is a rest with its own reading: all four
    reps are found (before: the first only, the rest of the set discarded as 'data ended during a movement')."""
    pieces, windows = squat_reps([[Lin(0.25, 1.0), Cos(0.5, 0.0)]] * 4, bottoms=[[]] * 4, top_rest_s=2.5)
    for seed in range(3):
        s = shape_session(pieces, windows, rate_hz=100.0, seed=seed)
        smp = s.samples
        t = (smp.t_ns - smp.t_ns[0]) * 1e-9
        acc = smp.accel_mps2.copy()
        acc[t > windows[1][0] - 0.6] += np.array([0.0, 0.0, step_mps2])
        res = analyse_session(ImuSamples(smp.t_ns, acc, smp.gyro_radps, smp.angles_rad), "back_squat", 100.0)
        assert len(res.reps) == 4 and not res.discarded
        errs = np.array([r.mean_velocity_mps - tr.mean_velocity_mps for r, tr in zip(res.reps, s.reps, strict=True)])
        assert np.abs(errs).max() <= 0.02
