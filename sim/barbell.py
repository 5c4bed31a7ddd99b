"""Physically based barbell + WitMotion IMU simulator with known truth.

The bar's vertical velocity is a C1 piecewise-cubic (Hermite) function of time
built from knots (time, velocity, acceleration), so position (its exact
antiderivative), velocity and acceleration are all analytic and consistent.
Each rep is shaped per exercise:

* eccentric-first lifts (squats, bench, lunges...): lowering phase from rest,
  turnaround with positive acceleration (the bar's velocity crosses zero with
  a clean slope), concentric phase whose velocity peaks at 45-65 % of its
  duration and decelerates towards lockout (faster than g for light, fast
  reps, so mean propulsive velocity > mean concentric velocity there), a small
  settling dip at lockout, then a pause at the top;
* concentric-first lifts (deadlift, RDL, overhead press, step-up): lift from
  rest, lockout, lowering with a firm landing, rest on the floor/shoulders.

Mean concentric velocity (MCV) of the first rep follows a linear
load-velocity relation through the exercise's velocity at 1RM and a zero-load
velocity; later reps lose velocity (fatigue) with a little rep-to-rep noise.
Options add an unrack + walk-out (or a re-grip for floor lifts) before each set
and a re-rack after, and leg switches between reps of unilateral lifts.

The sensor sits on the bar, tilted (``tilt_deg``) and rotating slightly with
the bar; the accelerometer reads specific force ``R^T (a + g e_z)`` in the
sensor frame with bias, scale error and white noise; the gyroscope the body
rate with bias and noise; the fused angles are the true angles with a slow
error and a small acceleration leak. Everything is quantised to WitMotion
int16 (see :mod:`ingest.ble.protocols.witmotion`). Sample loss, timing jitter and a gap are
optional. Output is deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicHermiteSpline

from analysis.exercises import exercise_info
from ingest.ble.protocols.witmotion import samples_from_raw
from records.imu import ImuSamples
from records.units import STANDARD_GRAVITY_MPS2
from sim.imu_model import BarKinematics, imu_frames
from sim.rep_truth import ExactKinematics, Fn, Kinematics, RepTruth, concentric_truth

__all__ = ["RepTruth", "SimulatedSession", "simulate_session"]

G = STANDARD_GRAVITY_MPS2


@dataclass
class SimulatedSession:
    """A simulated capture: raw WitMotion frames at true sample times plus truth."""

    rate_hz: float
    t_s: np.ndarray
    raw_i16: np.ndarray
    true_velocity_mps: np.ndarray
    true_position_m: np.ndarray
    reps: list[RepTruth]
    exercise: str
    load_kg: float
    true_accel_mps2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    one_rm_kg: float = 0.0
    gaps_s: list[tuple[float, float]] = field(default_factory=list)
    duration_s: float = 0.0
    exact: Kinematics | None = None
    """The true vertical motion as functions of time (``v(t)``, ``z(t)``, ``a(t)``; t in s, arrays)."""
    impacts_s: list[float] = field(default_factory=list)
    """Times of impacts (bar landing on the floor or in the hooks, bar hitting the uprights)."""
    sensor_model: str = "white"
    """Name of the sensor error model (:class:`sim.imu_model.SensorModel`)."""

    def to_imu_samples(self, t0_ns: int = 0) -> ImuSamples:
        """The session as :class:`records.imu.ImuSamples` (``t_ns = t0_ns + round(t_s * 1e9)``)."""
        t_ns = np.int64(t0_ns) + np.rint(self.t_s * 1e9).astype(np.int64)
        return samples_from_raw(t_ns, self.raw_i16)


@dataclass(frozen=True)
class _LiftParams:
    rom_m: float
    v0_mps: float  # zero-load intercept of the load-velocity line (MCV)
    v1rm_mps: float  # MCV at 1RM
    ecc_mean_mps: float  # mean lowering velocity
    pause_s: tuple[float, float]  # rest between reps (top for eccentric-first, floor otherwise)


_LIFTS: dict[str, _LiftParams] = {
    "back_squat": _LiftParams(0.55, 1.75, 0.30, 0.55, (0.8, 1.6)),
    "front_squat": _LiftParams(0.50, 1.70, 0.32, 0.55, (0.8, 1.6)),
    "deadlift": _LiftParams(0.52, 1.45, 0.15, 0.80, (1.0, 2.0)),
    "romanian_deadlift": _LiftParams(0.40, 1.40, 0.25, 0.50, (1.0, 2.0)),
    "bench_press": _LiftParams(0.42, 1.85, 0.17, 0.45, (0.8, 1.5)),
    "overhead_press": _LiftParams(0.45, 1.70, 0.19, 0.60, (0.8, 1.5)),
    "hip_thrust": _LiftParams(0.26, 1.40, 0.25, 0.35, (0.8, 1.5)),
    "lunge": _LiftParams(0.42, 1.50, 0.30, 0.50, (0.5, 0.7)),
    "split_squat": _LiftParams(0.40, 1.50, 0.30, 0.50, (0.5, 0.7)),
    "bulgarian_split_squat": _LiftParams(0.42, 1.50, 0.30, 0.50, (0.5, 0.7)),
    "step_up": _LiftParams(0.40, 1.40, 0.30, 0.50, (0.5, 0.7)),
}


def hermite_integral(h: float, y0: float, y1: float, m0: float, m1: float) -> float:
    """Exact integral of a cubic Hermite piece over an interval of length h."""
    return h * (y0 + y1) / 2.0 + h * h * (m0 - m1) / 12.0


class _Knots:
    """Velocity knots (t, v, a) of the vertical or horizontal bar motion."""

    def __init__(self) -> None:
        self.t: list[float] = [0.0]
        self.v: list[float] = [0.0]
        self.a: list[float] = [0.0]

    @property
    def now(self) -> float:
        return self.t[-1]

    def add(self, t: float, v: float, a: float) -> None:
        if t <= self.t[-1] + 1e-9:
            raise ValueError("knots must advance in time")
        self.t.append(float(t))
        self.v.append(float(v))
        self.a.append(float(a))

    def rest(self, duration_s: float) -> None:
        if duration_s > 1e-6:
            if self.v[-1] != 0.0:
                raise ValueError("a rest must start at zero velocity")
            if self.a[-1] != 0.0:  # an impact (landing): the acceleration drops to zero within 1 ms
                self.add(self.now + 0.001, 0.0, 0.0)
                duration_s -= 0.001
            self.add(self.now + duration_s, 0.0, 0.0)

    def spline(self) -> CubicHermiteSpline:
        return CubicHermiteSpline(np.array(self.t), np.array(self.v), np.array(self.a))

    def bump(self, dz_m: float, duration_s: float) -> None:
        """Smooth up-and-back displacement of height dz_m (negative = down first), net zero."""
        h = duration_s / 4.0
        vb = dz_m * 6.0 / (7.0 * h)
        s = 2.0 * vb / h
        t0 = self.now
        self.add(t0 + h, vb, 0.0)
        self.add(t0 + 2 * h, 0.0, -s)
        self.add(t0 + 3 * h, -vb, 0.0)
        self.add(t0 + 4 * h, 0.0, 0.0)

    def move(self, dz_m: float, duration_s: float, peak_at: float = 0.5) -> None:
        """Smooth displacement dz_m from rest to rest (velocity bump)."""
        # knots (0,0,0) (p,vp,0) (1,0,0): integral = vp * T / 2
        vp = 2.0 * dz_m / duration_s
        t0 = self.now
        self.add(t0 + peak_at * duration_s, vp, 0.0)
        self.add(t0 + duration_s, 0.0, 0.0)


def _concentric_shape(rel_load: float, eccentric_first: bool) -> tuple[list[float], list[float], list[float]]:
    """Normalised concentric velocity shape f(tau) on [0, 1] as Hermite knots (tau, f, f')."""
    p = 0.45 + 0.2 * rel_load  # heavier -> later peak
    q = p + 0.55 * (1.0 - p)
    r = 0.62
    d = 1.2 * (1.0 - r) / (q - p) + 0.3  # slope at q, within the monotone bound
    e = 1.0  # slope at the zero crossing of lockout
    s0 = 2.6 if eccentric_first else 0.0
    taus = [0.0, p, q, 1.0]
    fs = [0.0, 1.0, r, 0.0]
    ds = [s0, 0.0, -d, -e]
    return taus, fs, ds


def _shape_integral(taus: list[float], fs: list[float], ds: list[float]) -> float:
    return sum(
        hermite_integral(taus[i + 1] - taus[i], fs[i], fs[i + 1], ds[i], ds[i + 1]) for i in range(len(taus) - 1)
    )


def _add_concentric(
    k: _Knots,
    rom_m: float,
    mcv_mps: float,
    rel_load: float,
    eccentric_first: bool,
    start_accel_mps2: float | None = None,
) -> None:
    """Append a concentric phase rising rom_m at mean velocity mcv_mps from the last knot (v = 0).

    The last knot's acceleration is set to the concentric start acceleration: the shape's own, or
    ``start_accel_mps2`` when given (eccentric-first lifts: continuity with the turnaround).
    """
    tc = rom_m / mcv_mps
    taus, fs, ds = _concentric_shape(rel_load, eccentric_first)
    if start_accel_mps2 is None:
        vp = mcv_mps / _shape_integral(taus, fs, ds)
    else:
        # I = I1 + p^2 ds0 / 12 with ds0 = a0 tc / vp and vp = mcv / I  ->  solve for I
        i1 = _shape_integral(taus, fs, [0.0, *ds[1:]])
        p = taus[1]
        integral = i1 / (1.0 - p * p * start_accel_mps2 * tc / (12.0 * mcv_mps))
        vp = mcv_mps / integral
        ds = [start_accel_mps2 * tc / vp, *ds[1:]]
    k.a[-1] = vp * ds[0] / tc
    t0 = k.now
    for tau, f, d in zip(taus[1:], fs[1:], ds[1:], strict=True):
        k.add(t0 + tau * tc, vp * f, vp * d / tc)


def _turnaround_accel(rom_m: float, mcv_mps: float, rel_load: float) -> float:
    tc = rom_m / mcv_mps
    taus, fs, ds = _concentric_shape(rel_load, True)
    return mcv_mps / _shape_integral(taus, fs, ds) * ds[0] / tc


def _eccentric_velocity(rom_m: float, te_s: float, pe: float, a_end: float) -> tuple[float, float]:
    """Peak lowering speed and end acceleration so that the lowering covers rom_m in te_s."""
    h = 1.0 - pe
    # descent = Vep*te/2 + h^2 a_end te^2/12 ; keep the landing slope within the monotone bound (ratio <= 2.5)
    for _ in range(20):
        vep = (rom_m - h * h * a_end * te_s * te_s / 12.0) * 2.0 / te_s
        if vep > 0 and a_end * te_s * h / vep <= 2.5:
            return vep, a_end
        a_end *= 0.7
    return 2.0 * rom_m / te_s, 0.0


def _add_eccentric(k: _Knots, rom_m: float, te_s: float, a_end: float, pe: float = 0.42) -> None:
    vep, a_end = _eccentric_velocity(rom_m, te_s, pe, a_end)
    t0 = k.now
    k.add(t0 + pe * te_s, -vep, 0.0)
    k.add(t0 + te_s, 0.0, a_end)


def _add_lockout(k: _Knots, vp_end_slope: float, dip_s: float = 0.12) -> None:
    """Settling dip after lockout: the bar overshoots its top by a few mm and settles."""
    dip_v = min(0.04, 0.2 * abs(vp_end_slope) * dip_s)
    t0 = k.now
    k.add(t0 + dip_s * 0.45, -dip_v, 0.0)
    k.add(t0 + dip_s, 0.0, 0.0)


def _check_args(
    exercise: str,
    load_kg: float,
    reps: int,
    sets: int,
    rate_hz: float,
    tilt_deg: float,
    one_rm_kg: float | None,
    rest_between_sets_s: float,
    lead_in_s: float,
    tail_s: float,
    loss_prob: float,
    gap: tuple[float, float] | None,
    jitter_s: float,
) -> None:
    if exercise not in _LIFTS:
        raise ValueError(f"exercise must be one of {sorted(_LIFTS)}, got {exercise!r}")
    if not load_kg > 0:
        raise ValueError(f"load_kg must be > 0, got {load_kg}")
    if reps < 1 or sets < 1:
        raise ValueError(f"reps and sets must be >= 1, got reps={reps}, sets={sets}")
    if not 10.0 <= rate_hz <= 2000.0:
        raise ValueError(f"rate_hz must be within [10, 2000], got {rate_hz}")
    if not 0.0 <= tilt_deg <= 60.0:
        raise ValueError(f"tilt_deg must be within [0, 60], got {tilt_deg}")
    if one_rm_kg is not None and not one_rm_kg > load_kg:
        raise ValueError(f"one_rm_kg must be > load_kg ({load_kg}), got {one_rm_kg}")
    if rest_between_sets_s < 0 or lead_in_s < 0.5 or tail_s < 0.5:
        raise ValueError("rest_between_sets_s must be >= 0, lead_in_s and tail_s >= 0.5 s")
    if not 0.0 <= loss_prob < 0.5:
        raise ValueError(f"loss_prob must be within [0, 0.5), got {loss_prob}")
    if gap is not None and not (0.0 <= gap[0] < gap[1]):
        raise ValueError(f"gap must be (start_s, end_s) with 0 <= start_s < end_s, got {gap}")
    if not 0.0 <= jitter_s < 0.45 / rate_hz:
        raise ValueError(f"jitter_s must be within [0, 0.45/rate_hz) = [0, {0.45 / rate_hz:.6f}), got {jitter_s}")


def simulate_session(
    exercise: str = "back_squat",
    load_kg: float = 100.0,
    reps: int = 5,
    *,
    sets: int = 1,
    rate_hz: float = 200.0,
    seed: int = 0,
    tilt_deg: float = 15.0,
    one_rm_kg: float | None = None,
    rest_between_sets_s: float = 60.0,
    lead_in_s: float = 3.0,
    tail_s: float = 3.0,
    unrack: bool = False,
    loss_prob: float = 0.0,
    gap: tuple[float, float] | None = None,
    jitter_s: float = 0.0,
) -> SimulatedSession:
    """Simulate a barbell session seen by a WitMotion IMU on the bar.

    Parameters
    ----------
    exercise : str
        A contract exercise name (``back_squat``, ``deadlift``, ``split_squat``...).
    load_kg : float
        Bar load, kg (> 0).
    reps, sets : int
        Reps per set and number of sets (>= 1).
    rate_hz : float
        Output sample rate, 10-2000 Hz (the real device does at most 200 Hz;
        higher rates are a stress mode for benchmarks).
    seed : int
        Seed of every random choice: same arguments and seed -> same output.
    tilt_deg : float
        Mounting tilt of the sensor from level, degrees.
    one_rm_kg : float or None
        True 1RM; the first rep's mean concentric velocity follows the linear
        load-velocity line through (0, v0) and (1RM, velocity at 1RM). Default
        ``load_kg / 0.75``.
    rest_between_sets_s, lead_in_s, tail_s : float
        Still periods between sets, before the first and after the last set.
    unrack : bool
        Add an unrack + walk-out before each set and a walk-in + re-rack after
        (eccentric-first lifts) or a small re-grip lift (floor lifts).
    loss_prob : float
        Probability that a sample is lost (independent per sample).
    gap : (float, float) or None
        Interval (start_s, end_s) with no samples (a reconnect).
    jitter_s : float
        Standard deviation of the sample-time jitter (s), clipped to keep the
        order; ``t_s`` holds the jittered true times.

    Returns
    -------
    SimulatedSession
    """
    _check_args(
        exercise,
        load_kg,
        reps,
        sets,
        rate_hz,
        tilt_deg,
        one_rm_kg,
        rest_between_sets_s,
        lead_in_s,
        tail_s,
        loss_prob,
        gap,
        jitter_s,
    )
    rng = np.random.default_rng(seed)
    lift = _LIFTS[exercise]
    info = exercise_info(exercise)
    ecc_first = bool(info.eccentric_first)
    unilateral = info.laterality == "unilateral"
    one_rm = float(one_rm_kg) if one_rm_kg is not None else load_kg / 0.75
    rel = float(np.clip(load_kg / one_rm, 0.0, 1.0))
    v_first = lift.v1rm_mps + (lift.v0_mps - lift.v1rm_mps) * (1.0 - rel)
    fatigue_per_rep = 0.015 + 0.035 * rel

    kz = _Knots()
    kx = _Knots()
    rep_plan: list[dict[str, Any]] = []

    def sync_x() -> None:
        if kz.now > kx.now + 1e-9:
            kx.rest(kz.now - kx.now)

    def sync_z() -> None:
        if kx.now > kz.now + 1e-9:
            kz.rest(kx.now - kz.now)

    kz.rest(lead_in_s)
    rep_index = 0
    carry_dip = 0.0
    for set_i in range(sets):
        if set_i > 0:
            kz.rest(rest_between_sets_s)
        sync_x()
        if unrack:
            if ecc_first:
                kz.move(0.06, 0.5)  # unrack
                sync_x()
                for _ in range(3):  # walk-out steps: bar goes back, bobs vertically
                    kx.move(-0.15, 0.6)
                    kz.bump(-0.025, 0.6)
                kz.rest(1.2)
                sync_x()
            else:
                kz.move(0.03, 0.4)  # re-grip: bar lifted slightly and set down
                kz.rest(0.3)
                kz.move(-0.03, 0.4)
                kz.rest(1.2)
                sync_x()
        for r in range(reps):
            mcv = v_first * (1.0 - fatigue_per_rep * r) + rng.normal(0.0, 0.012)
            mcv = float(max(mcv, 0.6 * lift.v1rm_mps, 0.08))
            rom = lift.rom_m * (1.0 + rng.normal(0.0, 0.03))
            te = max(0.5, rom / (lift.ecc_mean_mps * (1.0 + rng.normal(0.0, 0.05))))
            plan = {"index": rep_index + 1, "set_index": set_i + 1, "start_knot": kz.now}
            if ecc_first:
                _add_eccentric(kz, rom + carry_dip, te, _turnaround_accel(rom, mcv, rel))
                plan["cs"] = kz.now
                _add_concentric(kz, rom, mcv, rel, True, start_accel_mps2=kz.a[-1])
                plan["ce"] = kz.now
                _add_lockout(kz, kz.a[-1])
                carry_dip = _last_dip(kz)
                plan["end_knot"] = kz.now
                pause = rng.uniform(*lift.pause_s)
                if unilateral and r < reps - 1:
                    kz.rest(pause * 0.6)
                    sync_x()
                    kx.move(0.12 * (1 if r % 2 == 0 else -1), 0.8)  # switch legs
                    kz.bump(0.03, 0.8)
                    kz.rest(pause * 0.8)
                else:
                    kz.rest(pause)
            else:
                plan["cs"] = kz.now
                _add_concentric(kz, rom, mcv, rel, False)
                plan["ce"] = kz.now
                _add_lockout(kz, kz.a[-1])
                dip = _last_dip(kz)
                kz.rest(rng.uniform(0.3, 0.6))  # lockout hold
                _add_eccentric(kz, rom + dip, te, 8.0, pe=0.5)
                plan["end_knot"] = kz.now
                kz.rest(rng.uniform(*lift.pause_s))
            rep_plan.append(plan)
            rep_index += 1
        sync_x()
        if unrack and ecc_first:
            for _ in range(3):
                kx.move(0.15, 0.6)
                kz.bump(-0.025, 0.6)
            kz.move(-0.06, 0.5)
            sync_x()
    kz.rest(tail_s)
    sync_x()
    sync_z()
    duration = kz.now

    vz_spline = kz.spline()
    z_spline = vz_spline.antiderivative()
    az_spline = vz_spline.derivative()
    vx_spline = kx.spline()
    x_spline = vx_spline.antiderivative()
    ax_spline = vx_spline.derivative()

    # small vertical sway of the standing lifter (eccentric-first lifts only)
    # (breathing: a few mm at 0.2-0.35 Hz, plus sub-mm postural sway near 1 Hz)
    sway_amp = np.array([rng.uniform(0.002, 0.004), rng.uniform(0.0002, 0.0004), rng.uniform(0.0001, 0.0003)])
    sway_f = np.array([rng.uniform(0.2, 0.35), rng.uniform(0.6, 1.0), rng.uniform(1.0, 1.6)])
    if not ecc_first:
        sway_amp = np.zeros(3)
    sway_ph = rng.uniform(0, 2 * np.pi, 3)

    def z_true(t: np.ndarray) -> np.ndarray:
        result: npt.NDArray[np.float64] = z_spline(t) + np.sum(
            sway_amp[:, None] * np.sin(2 * np.pi * sway_f[:, None] * t + sway_ph[:, None]), 0
        )
        return result

    def v_true(t: np.ndarray) -> np.ndarray:
        w = 2 * np.pi * sway_f[:, None]
        result: npt.NDArray[np.float64] = vz_spline(t) + np.sum(
            sway_amp[:, None] * w * np.cos(w * t + sway_ph[:, None]), 0
        )
        return result

    def a_true(t: np.ndarray) -> np.ndarray:
        w = 2 * np.pi * sway_f[:, None]
        result: npt.NDArray[np.float64] = az_spline(t) - np.sum(
            sway_amp[:, None] * w * w * np.sin(w * t + sway_ph[:, None]), 0
        )
        return result

    # sample times
    n_nom = int(np.floor(duration * rate_hz)) + 1
    t = np.arange(n_nom, dtype=np.float64) / rate_hz
    if jitter_s > 0:
        t = t + np.clip(rng.normal(0.0, jitter_s, n_nom), -0.45 / rate_hz, 0.45 / rate_hz)
        t[0] = max(t[0], 0.0)
    keep = np.ones(n_nom, dtype=bool)
    if loss_prob > 0:
        keep &= rng.random(n_nom) >= loss_prob
    gaps: list[tuple[float, float]] = []
    if gap is not None:
        keep &= ~((t >= gap[0]) & (t < gap[1]))
        gaps.append((float(gap[0]), float(gap[1])))
    t = t[keep]

    # truth at sample times
    z = z_true(t)
    vz = v_true(t)
    az = a_true(t)
    ax = ax_spline(t)
    x = x_spline(t)

    vx = vx_spline(t)
    raw = imu_frames(rng, t, BarKinematics(z=z, vz=vz, az=az, x=x, vx=vx, ax=ax), tilt_deg)

    reps_truth = _rep_truths(rep_plan, z_true, v_true, a_true, gaps)

    return SimulatedSession(
        rate_hz=float(rate_hz),
        t_s=t,
        raw_i16=raw,
        true_velocity_mps=vz,
        true_position_m=z,
        reps=reps_truth,
        exercise=exercise,
        load_kg=float(load_kg),
        true_accel_mps2=az,
        one_rm_kg=one_rm,
        gaps_s=gaps,
        duration_s=float(duration),
        exact=ExactKinematics(v=v_true, z=z_true, a=a_true),
    )


def _last_dip(k: _Knots) -> float:
    """Vertical displacement (m, negative) of the settling dip just added by :func:`_add_lockout`."""
    t, v, a = k.t, k.v, k.a
    return sum(hermite_integral(t[i + 1] - t[i], v[i], v[i + 1], a[i], a[i + 1]) for i in (len(t) - 3, len(t) - 2))


def _rep_truths(
    plan: list[dict[str, Any]], z_true: Fn, v_true: Fn, a_true: Fn, gaps: list[tuple[float, float]]
) -> list[RepTruth]:
    out = []
    for p in plan:
        c = concentric_truth(
            v_true,
            z_true,
            a_true,
            window=(max(0.0, p["start_knot"] - 0.2), p["end_knot"] + 0.2),
            peak_window=(p["cs"], p["ce"]),
        )
        in_gap = any(g0 < p["end_knot"] and g1 > p["start_knot"] for g0, g1 in gaps)
        out.append(
            RepTruth(
                index=p["index"],
                set_index=p["set_index"],
                start_s=float(p["start_knot"]),
                end_s=float(p["end_knot"]),
                concentric_start_s=c.start_s,
                concentric_end_s=c.end_s,
                mean_velocity_mps=c.mean_velocity_mps,
                mean_propulsive_velocity_mps=c.mean_propulsive_velocity_mps,
                peak_velocity_mps=c.peak_velocity_mps,
                rom_m=c.rom_m,
                time_to_peak_velocity_s=c.time_to_peak_velocity_s,
                peak_accel_mps2=c.peak_accel_mps2,
                in_gap=bool(in_gap),
            )
        )
    return out
