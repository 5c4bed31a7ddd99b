"""Rep shapes as lifters make them (issue 11): a second barbell simulator with known truth.

It shares only the sensor model (:mod:`sim.imu_model`) and the truth definitions
(:mod:`sim.rep_truth`) with :mod:`sim.barbell`; the motion is generated differently. Each phase of
each rep draws its velocity profile from one of several families (:mod:`sim.velocity_profiles`):
piecewise minimum-jerk or raised-cosine ramps through via-points, a C2 cubic spline (or PCHIP)
through jittered, measured-looking knots, or a skewed beta pulse. Shapes (:data:`SHAPES`):

``plain``
    lowering, reversal through zero velocity (0.12-0.3 s), lift, short rest at the top.
``bottom_pause``
    lowering to a dead stop, bar still for ``pause_s`` (default 0-1.0 s: paused squat,
    competition-pause bench with the bar on the chest), lift from rest.
``sticking``
    after the first push the velocity dips to 0.04-0.09 m/s (never below 0.03, never reversing)
    for 0.1-0.35 s of the lift, then rises again.
``grind``
    near-1RM rep, MCV 0.16-0.24 m/s, with a 0.4-1.0 s stretch at a steady ~0.05 m/s.
``slow_lockout``
    the last 0.35-0.7 s of the lift creep up at 0.06-0.14 m/s and taper into lockout.
``touch_and_go``
    no rest between reps: the lockout runs straight into the next lowering, and a fast reversal
    at the bottom (bench: touch on the chest; deadlift: the plates touch the floor).
``bounce``
    fast lowering (about twice the usual speed) and a sharp 100-160 ms reversal out of the hole
    (peak acceleration about 10-25 m/s^2), then the lift.
``top_sway``
    after lockout the bar oscillates (bar whip and rebalancing: 1.5-3 Hz, 0.03-0.08 m/s,
    decaying over 0.3-0.7 s), vertically and horizontally.

The lift starts after a still lead-in or an unrack and walk-out (``unrack``), and ends with a
walk-in and the bar lowered into the hooks (``rerack``) or, for floor lifts, on the floor. Impacts
(floor, hooks, uprights) ring the plates when the sensor model has ``rattle``. Deterministic for a
seed. Truth follows :mod:`sim.rep_truth` on the exact kinematics (``SimulatedSession.exact``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.exercises import exercise_info
from sim.barbell import SimulatedSession
from sim.imu_model import SENSOR_MODELS, BarKinematics, SensorModel, imu_frames
from sim.rep_truth import RepTruth, concentric_truth
from sim.velocity_profiles import BetaPulse, DampedSine, Ramp, Segment, SplineSegment, Track

SHAPES = ("plain", "bottom_pause", "sticking", "grind", "slow_lockout", "touch_and_go", "bounce", "top_sway")
FAMILIES = ("minjerk", "cosine", "spline", "beta")
_FLOOR_SHAPES = ("plain", "sticking", "grind", "slow_lockout", "touch_and_go", "top_sway")


@dataclass(frozen=True)
class _Lift:
    rom_m: float
    ecc_mean_mps: float
    mcv_mps: tuple[float, float]  # first rep of a working set, plain shape
    top_rest_s: tuple[float, float]  # eccentric-first: standing between reps; floor lifts: on the floor


_LIFTS: dict[str, _Lift] = {
    "back_squat": _Lift(0.55, 0.55, (0.50, 0.75), (1.0, 2.5)),
    "front_squat": _Lift(0.50, 0.55, (0.50, 0.72), (1.0, 2.5)),
    "bench_press": _Lift(0.40, 0.40, (0.40, 0.65), (0.8, 2.0)),
    "deadlift": _Lift(0.52, 0.70, (0.40, 0.60), (0.8, 2.0)),
}

# MCV of a shape relative to the plain range (grind: absolute 0.16-0.24 m/s)
_MCV_FACTOR = {
    "plain": 1.0,
    "bottom_pause": 0.85,
    "sticking": 0.55,
    "slow_lockout": 0.65,
    "touch_and_go": 1.0,
    "bounce": 1.1,
    "top_sway": 1.0,
}
_GRIND_MCV = (0.15, 0.215)  # nominal; the truth comes out 0.15-0.25 (the reversal shortens the phase)
_STICK_MIN_MPS = 0.035  # the sticking region never drops below this (issue 11: >= 0.03)
_GRIND_MIN_MPS = 0.04  # nor the grind below this (a steady ~0.05 m/s)


def simulate_shapes(
    exercise: str = "back_squat",
    reps: int = 5,
    shapes: Sequence[str] = ("plain",),
    *,
    load_kg: float = 100.0,
    rate_hz: float = 100.0,
    seed: int = 0,
    pause_s: tuple[float, float] = (0.0, 1.0),
    mcv_mps: tuple[float, float] | None = None,
    families: Sequence[str] = FAMILIES,
    sensor: str | SensorModel = "rattle",
    tilt_deg: float = 15.0,
    unrack: bool = False,
    rerack: bool = False,
    lead_in_s: float = 3.0,
    tail_s: float = 3.0,
    fatigue_per_rep: float = 0.025,
) -> SimulatedSession:
    """Simulate one set of ``reps`` reps whose shapes cycle through ``shapes`` in a random order.

    Parameters
    ----------
    exercise : str
        ``back_squat``, ``front_squat``, ``bench_press`` (lowering first) or ``deadlift`` (from the floor).
    shapes : sequence of str
        Shapes of :data:`SHAPES`; with several, each rep takes the next of a random permutation
        (so a set of ``len(shapes)`` reps has each once).
    pause_s : (float, float)
        Range of the bottom pause of ``bottom_pause`` reps, s (uniform).
    mcv_mps : (float, float) or None
        Range of the first rep's mean concentric velocity for ``plain`` reps (other shapes scale it,
        ``grind`` ignores it); default the lift's working-set range (e.g. back squat 0.50-0.75 m/s).
    families : sequence of str
        Velocity-profile families drawn per rep (:data:`FAMILIES`); ``beta`` needs a lift from
        rest or a reversal at zero velocity and a single peak, otherwise ``spline`` is used.
    sensor : str or SensorModel
        A name of :data:`sim.imu_model.SENSOR_MODELS` or a model.
    unrack, rerack : bool
        Unrack + walk-out before the set; walk-in + bar lowered into the hooks after it
        (lowering-first lifts only).

    Returns
    -------
    SimulatedSession
        ``reps[i].shape`` and ``.family`` say how each rep was made; ``exact`` evaluates the true
        kinematics anywhere; ``impacts_s`` lists the impacts.
    """
    model = _check(exercise, reps, shapes, rate_hz, pause_s, families, sensor, tilt_deg, lead_in_s, tail_s)
    if mcv_mps is not None and not 0.1 <= mcv_mps[0] <= mcv_mps[1] <= 2.0:
        raise ValueError(f"mcv_mps must be (lo, hi) with 0.1 <= lo <= hi <= 2, got {mcv_mps}")
    rng = np.random.default_rng(seed)
    gen = _Generator(rng, exercise, families)
    gen.run(reps, shapes, pause_s, unrack, rerack, lead_in_s, tail_s, fatigue_per_rep, mcv_mps or gen.lift.mcv_mps)
    kz, kx = gen.kz, gen.kx

    n = int(np.floor(kz.now * rate_hz)) + 1
    t = np.arange(n, dtype=np.float64) / rate_hz
    kin = BarKinematics(z=kz.z(t), vz=kz.v(t), az=kz.a(t), x=kx.z(t), vx=kx.v(t), ax=kx.a(t))
    raw = imu_frames(rng, t, kin, tilt_deg, model, impacts_s=tuple(gen.impacts))
    return SimulatedSession(
        rate_hz=float(rate_hz),
        t_s=t,
        raw_i16=raw,
        true_velocity_mps=kin.vz,
        true_position_m=kin.z,
        reps=gen.truths(),
        exercise=exercise,
        load_kg=float(load_kg),
        true_accel_mps2=kin.az,
        duration_s=float(kz.now),
        exact=kz,
        impacts_s=list(gen.impacts),
        sensor_model=model.name,
    )


def _check(
    exercise: str,
    reps: int,
    shapes: Sequence[str],
    rate_hz: float,
    pause_s: tuple[float, float],
    families: Sequence[str],
    sensor: str | SensorModel,
    tilt_deg: float,
    lead_in_s: float,
    tail_s: float,
) -> SensorModel:
    if exercise not in _LIFTS:
        raise ValueError(f"exercise must be one of {sorted(_LIFTS)}, got {exercise!r}")
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not shapes or any(s not in SHAPES for s in shapes):
        raise ValueError(f"shapes must be a non-empty sequence of {SHAPES}, got {shapes!r}")
    if not exercise_info(exercise).eccentric_first and any(s not in _FLOOR_SHAPES for s in shapes):
        raise ValueError(f"{exercise} starts from the floor: shapes must be among {_FLOOR_SHAPES}, got {shapes!r}")
    if not 10.0 <= rate_hz <= 2000.0:
        raise ValueError(f"rate_hz must be within [10, 2000], got {rate_hz}")
    if not 0.0 <= pause_s[0] <= pause_s[1] <= 5.0:
        raise ValueError(f"pause_s must be (lo, hi) with 0 <= lo <= hi <= 5, got {pause_s}")
    if not families or any(f not in FAMILIES for f in families):
        raise ValueError(f"families must be a non-empty sequence of {FAMILIES}, got {families!r}")
    if not 0.0 <= tilt_deg <= 60.0:
        raise ValueError(f"tilt_deg must be within [0, 60], got {tilt_deg}")
    if lead_in_s < 0.5 or tail_s < 0.5:
        raise ValueError("lead_in_s and tail_s must be >= 0.5 s")
    if isinstance(sensor, SensorModel):
        return sensor
    if sensor not in SENSOR_MODELS:
        raise ValueError(f"sensor must be a SensorModel or one of {sorted(SENSOR_MODELS)}, got {sensor!r}")
    return SENSOR_MODELS[sensor]


# ---------------------------------------------------------------------------------------------
# via-point profiles scaled to a displacement


@dataclass(frozen=True)
class _Via:
    t: float  # s from the phase start
    v: float  # m/s if fixed, else a multiple of the scale k
    free: bool


def _ramps(vias: list[_Via], k: float, kind: str, c_end: float = 1.0, c_start: float = 1.0) -> list[Segment]:
    """Smoothstep ramps between via-points. A last piece to zero velocity crosses it with a finite
    acceleration (a lockout or an arrival stops the bar; :meth:`Ramp.to_zero` with ``c_end``), and so
    does a minimum-jerk first piece from zero (:meth:`Ramp.from_zero` with ``c_start``); a
    raised-cosine piece from zero already starts with a finite jerk (v ~ t^2)."""
    vals = [p.v * k if p.free else p.v for p in vias]
    segs: list[Segment] = []
    last = len(vias) - 2
    for i in range(len(vias) - 1):
        h = vias[i + 1].t - vias[i].t
        if i == last and vals[i + 1] == 0.0 and vals[i] != 0.0:
            segs.append(Ramp.to_zero(h, vals[i], kind, c_end))
        elif i == 0 and vals[0] == 0.0 and vals[1] != 0.0 and kind == "minjerk":
            segs.append(Ramp.from_zero(h, vals[1], kind, c_start))
        else:
            segs.append(Ramp(h, vals[i], vals[i + 1], kind))
    return segs


def _ramps_with_crossings(
    vias: list[_Via], kind: str, disp: float, a_end_mps2: float, a_start_mps2: float
) -> tuple[list[Segment], float]:
    """Ramps scaled to disp whose zero crossings (end; start from rest) have about the given
    |accelerations| (the crossing fractions are set from a first scaling, then the profile is rescaled)."""
    _, k = _scaled(lambda k: _ramps(vias, k, kind), disp)
    vals = [p.v * k if p.free else p.v for p in vias]
    c_end = Ramp.fraction_for(kind, a_end_mps2 * (vias[-1].t - vias[-2].t) / max(abs(vals[-2]), 1e-9))
    c_start = Ramp.fraction_for(kind, a_start_mps2 * (vias[1].t - vias[0].t) / max(abs(vals[1]), 1e-9))
    return _scaled(lambda k: _ramps(vias, k, kind, c_end, c_start), disp)


def _spline(vias: list[_Via], k: float, kind: str, slopes: tuple[float, float]) -> list[Segment]:
    vals = [p.v * k if p.free else p.v for p in vias]
    return [SplineSegment(np.array([p.t for p in vias]), np.array(vals), kind, slopes)]


def _scaled(build: Callable[[float], list[Segment]], displacement_m: float) -> tuple[list[Segment], float]:
    """Segments whose total displacement is displacement_m: it is affine in the scale k."""
    i0 = sum(s.end()[2] for s in build(0.0))
    i1 = sum(s.end()[2] for s in build(1.0)) - i0
    if abs(i1) < 1e-12:
        raise ValueError("profile has no free via-point")
    k = (displacement_m - i0) / i1
    return build(k), k


def _sample(segs: list[Segment], n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    ts, vs, t0 = [], [], 0.0
    for s in segs:
        loc = np.linspace(0.0, s.duration_s, max(20, int(n * s.duration_s / 2) + 1))
        ts.append(t0 + loc)
        vs.append(s.v(loc))
        t0 += s.duration_s
    return np.concatenate(ts), np.concatenate(vs)


# ---------------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, rng: np.random.Generator, exercise: str, families: Sequence[str]) -> None:
        self.rng = rng
        self.exercise = exercise
        self.lift = _LIFTS[exercise]
        self.ecc_first = bool(exercise_info(exercise).eccentric_first)
        self.families = tuple(families)
        self.kz = Track()
        self.kx = Track()
        self.impacts: list[float] = []
        self.plans: list[dict[str, Any]] = []

    # --- helpers -------------------------------------------------------------------------------
    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def sync_x(self) -> None:
        if self.kz.now > self.kx.now + 1e-9:
            self.kx.hold(self.kz.now - self.kx.now)

    def sync_z(self) -> None:
        if self.kx.now > self.kz.now + 1e-9:
            self.kz.hold(self.kx.now - self.kz.now)

    def stand(self, duration_s: float) -> None:
        """Still bar held by a standing lifter: a short hold, then breathing (whole periods), then hold."""
        if duration_s <= 0:
            return
        h0 = min(0.25, duration_s)
        self.kz.hold(h0)
        rest = duration_s - h0
        f = self.u(0.2, 0.35)
        n = int(rest * f)
        if n >= 1:
            amp = self.u(0.004, 0.008) * (1 if self.rng.random() < 0.5 else -1)
            self.kz.add(DampedSine(n / f, amp, 2 * np.pi * f))
            rest -= n / f
        self.kz.hold(rest)

    def move(self, track: Track, dz: float, duration_s: float, kind: str = "minjerk") -> None:
        """Rest-to-rest displacement along two smoothstep ramps (peak velocity 2 dz / T)."""
        vp = 2 * dz / duration_s
        track.add(Ramp(duration_s / 2, 0.0, vp, kind))
        track.add(Ramp(duration_s / 2, vp, 0.0, kind))

    def bob(self, depth_m: float, duration_s: float) -> None:
        """Vertical dip and return (a walking step): via 0, -c, 0, +c, 0 in four ramps."""
        c = 4 * depth_m / duration_s
        for a, b in ((0.0, -c), (-c, 0.0), (0.0, c), (c, 0.0)):
            self.kz.add(Ramp(duration_s / 4, a, b))

    def land(self, dz: float, duration_s: float, v_land: float, h_land: float) -> None:
        """Lower by dz (< 0) ending with an impact: the speed v_land is lost within h_land."""
        vias = [
            _Via(0.0, 0.0, False),
            _Via(self.u(0.35, 0.6) * (duration_s - h_land), -1.0, True),
            _Via(duration_s - h_land, -v_land, False),
            _Via(duration_s, 0.0, False),
        ]
        segs, _ = _scaled(lambda k: _ramps(vias, k, "minjerk"), dz)
        for s in segs:
            self.kz.add(s)
        self.impacts.append(self.kz.now - 0.5 * h_land)

    # --- set structure ----------------------------------------------------------------------------
    def run(
        self,
        reps: int,
        shapes: Sequence[str],
        pause_s: tuple[float, float],
        unrack: bool,
        rerack: bool,
        lead_in_s: float,
        tail_s: float,
        fatigue: float,
        mcv_range: tuple[float, float],
    ) -> None:
        kz = self.kz
        kz.hold(lead_in_s)
        self.floor_rest = lead_in_s
        hook_z = 0.0 if unrack and self.ecc_first else None
        if unrack and self.ecc_first:
            self.move(kz, self.u(0.03, 0.05), self.u(0.4, 0.6))  # lift off the hooks
            self.sync_x()
            for _ in range(int(self.rng.integers(2, 4))):  # walk-out steps
                d = self.u(0.5, 0.8)
                self.move(self.kx, -self.u(0.12, 0.2), d)
                self.bob(self.u(0.01, 0.025), d)
            self.stand(self.u(1.0, 2.0))
        top_ref = kz.z_end
        order = [shapes[i] for i in self.rng.permutation(len(shapes))]
        base = self.u(*mcv_range)
        for r in range(reps):
            shape = order[r % len(order)]
            nxt = order[(r + 1) % len(order)] if r + 1 < reps else None
            if shape == "grind":
                mcv = self.u(*_GRIND_MCV)
            else:
                mcv = base * _MCV_FACTOR[shape] * (1 - fatigue * r) * (1 + self.rng.normal(0, 0.03))
            if self.ecc_first:
                self.rep_eccentric_first(
                    r, shape, mcv, top_ref, pause_s, last=nxt is None, next_tng=nxt == "touch_and_go"
                )
            else:
                self.rep_floor(r, shape, mcv, last=nxt is None)
        self.sync_x()
        if rerack and self.ecc_first:
            for _ in range(int(self.rng.integers(2, 4))):  # walk-in steps
                d = self.u(0.5, 0.8)
                self.move(self.kx, self.u(0.12, 0.2), d)
                self.bob(self.u(0.01, 0.025), d)
            self.move(self.kx, 0.05, 0.35)  # into the uprights
            self.kz.hold(0.35)
            self.impacts.append(self.kx.now - 0.02)
            self.stand(self.u(0.2, 0.5))
            target = hook_z if hook_z is not None else kz.z_end - self.u(0.03, 0.05)
            self.land(target - kz.z_end, self.u(0.4, 0.7), self.u(0.1, 0.2), self.u(0.02, 0.04))  # onto the hooks
        self.sync_x()
        kz.hold(tail_s)
        self.sync_x()
        self.sync_z()

    # --- reps --------------------------------------------------------------------------------
    def family_for(self, shape: str, v0: float) -> str:
        fam = self.families[int(self.rng.integers(len(self.families)))]
        if fam == "beta" and (shape in ("sticking", "grind", "slow_lockout") or v0 != 0.0):
            fam = "spline" if "spline" in self.families else "minjerk"
        return fam

    def rep_eccentric_first(
        self, r: int, shape: str, mcv: float, top_ref: float, pause_s: tuple[float, float], last: bool, next_tng: bool
    ) -> None:
        kz, lift = self.kz, self.lift
        rom = lift.rom_m * (1 + self.rng.normal(0, 0.03))
        te = rom / (lift.ecc_mean_mps * self.u(0.85, 1.15))
        bottom = {"bottom_pause": "pause", "bounce": "bounce", "touch_and_go": "touch"}.get(shape, "turn")
        fam = self.families[int(self.rng.integers(len(self.families)))]
        plan: dict[str, Any] = {"index": r + 1, "shape": shape, "start": kz.now, "pause": 0.0}
        # lowering
        if bottom == "pause":
            self.lower_to_rest(rom, te, fam)
            plan["pause"] = self.u(*pause_s)
            kz.hold(plan["pause"])
            v0, a0 = 0.0, 0.0
        elif bottom == "bounce":
            te /= self.u(1.8, 2.2)
            vr = self.u(0.5, 0.9)
            self.lower_to_speed(rom, te, "minjerk" if fam == "beta" else fam, vr, 0.0)
            vb = self.u(0.3, 0.5)
            kz.add(Ramp(self.u(0.1, 0.16), -vr, vb, "minjerk"))  # sharp reversal out of the hole
            v0, a0 = vb, 0.0
        elif fam == "beta":  # reversal at zero velocity: lowering pulse ends with a finite slope
            pe = self.u(1.3, 2.2)
            kz.add(BetaPulse(te, -BetaPulse.peak_for(rom, te, pe, 1.0), pe, 1.0))
            v0, a0 = 0.0, kz.a_end
        else:
            vr = self.u(0.25, 0.45) if bottom == "touch" else self.u(0.15, 0.35)
            a_join = self.u(1.0, 4.0)
            self.lower_to_speed(rom, te, fam, vr, a_join)
            v0, a0 = -vr, (a_join if fam == "spline" else 0.0)
        # top behaviour after lockout: settle or sway (drawn first: its net displacement is compensated)
        sway = self.top_motion(shape)
        _, _, sway_dz = sway.end() if sway is not None else (0.0, 0.0, 0.0)
        plan["c_from"] = kz.now
        displacement = top_ref - kz.z_end - sway_dz
        fam_c = "spline" if fam == "beta" and (shape in ("sticking", "grind", "slow_lockout") or v0 != 0.0) else fam
        plan["family"] = fam_c
        plan.update(
            self.lift_phase(
                fam_c,
                shape,
                v0,
                a0,
                displacement,
                displacement / mcv,
                a_end=sway.start()[1] if sway is not None else 0.0,
            )
        )
        plan["c_to"] = kz.now
        if sway is not None:
            self.sync_x()
            kz.add(sway)
            if shape == "top_sway":  # the plates swing the bar horizontally too
                self.kx.add(DampedSine(sway.duration_s, self.u(0.02, 0.06), sway.omega_radps, sway.decay_s))
        if shape == "touch_and_go" or next_tng:
            kz.hold(self.u(0.0, 0.04))  # no rest: straight into the next lowering
        else:
            kz.hold(self.u(0.05, 0.15))
        plan["end"] = kz.now
        if not last and not (shape == "touch_and_go" or next_tng):
            self.stand(self.u(*lift.top_rest_s))
        self.plans.append(plan)

    def rep_floor(self, r: int, shape: str, mcv: float, last: bool) -> None:
        kz, lift = self.kz, self.lift
        rom = lift.rom_m * (1 + self.rng.normal(0, 0.03))
        plan: dict[str, Any] = {"index": r + 1, "shape": shape, "start": kz.now, "pause": self.floor_rest}
        fam = self.family_for(shape, 0.0)
        plan["family"] = fam
        sway = self.top_motion(shape)
        sway_dz = sway.end()[2] if sway is not None else 0.0
        plan["c_from"] = kz.now
        plan.update(
            self.lift_phase(
                fam,
                shape,
                0.0,
                self.u(0.0, 1.5),
                rom - sway_dz,
                rom / mcv,
                a_end=sway.start()[1] if sway is not None else 0.0,
            )
        )
        plan["c_to"] = kz.now
        if sway is not None:
            self.sync_x()
            kz.add(sway)
            if shape == "top_sway":
                self.kx.add(DampedSine(sway.duration_s, self.u(0.02, 0.05), sway.omega_radps, sway.decay_s))
        kz.hold(self.u(0.1, 0.2))
        self.stand(self.u(0.2, 0.6))  # lockout hold
        te = rom / (lift.ecc_mean_mps * self.u(0.85, 1.15))
        touch = shape == "touch_and_go"
        self.land(-kz.z_end, te, self.u(0.25, 0.45) if touch else self.u(0.15, 0.3), self.u(0.02, 0.045))
        plan["end"] = kz.now
        self.floor_rest = self.u(0.0, 0.06) if touch else self.u(*lift.top_rest_s)
        if not last:
            kz.hold(self.floor_rest)
        self.plans.append(plan)

    floor_rest = 0.0

    def top_motion(self, shape: str) -> DampedSine | None:
        """After lockout: sway (top_sway) or a small settle dip (other shapes, half the time)."""
        if shape == "top_sway":
            f = self.u(1.5, 3.0)
            halves = int(self.rng.integers(4, 8))
            return DampedSine(halves / (2 * f), -self.u(0.03, 0.08), 2 * np.pi * f, self.u(0.3, 0.7))
        if self.rng.random() < 0.5:
            f = self.u(3.0, 5.0)
            return DampedSine(1 / (2 * f), -self.u(0.005, 0.03), 2 * np.pi * f, np.inf)
        return None

    # --- phases ----------------------------------------------------------------------------------
    def lower_to_rest(self, rom: float, te: float, fam: str) -> None:
        if fam == "beta":
            p, q = self.u(1.3, 2.2), self.u(1.0, 1.3)
            self.kz.add(BetaPulse(te, -BetaPulse.peak_for(rom, te, p, q), p, q))
            return
        pe = self.u(0.4, 0.65)
        if fam == "spline":
            vias = [
                _Via(0, 0, False),
                _Via(pe / 2 * te, -self.u(0.55, 0.8), True),
                _Via(pe * te, -1.0, True),
                _Via((1 + pe) / 2 * te, -self.u(0.5, 0.8), True),
                _Via(te, 0.0, False),
            ]
            segs = self.valid_spline(vias, -rom, (0.0, self.u(0.5, 2.0)), sign=-1.0)
        else:
            vias = [_Via(0, 0, False), _Via(pe * te, -1.0, True), _Via(te, 0.0, False)]
            segs, _ = _ramps_with_crossings(vias, fam, -rom, self.u(0.5, 2.0), self.u(0.5, 2.0))
        for s in segs:
            self.kz.add(s)

    def lower_to_speed(self, rom: float, te: float, fam: str, vr: float, a_join: float) -> None:
        pe = self.u(0.35, 0.55)
        if fam == "spline":
            vias = [
                _Via(0, 0, False),
                _Via(pe / 2 * te, -self.u(0.55, 0.8), True),
                _Via(pe * te, -1.0, True),
                _Via((1 + pe) / 2 * te, -self.u(0.6, 0.85), True),
                _Via(te, -vr, False),
            ]
            segs = self.valid_spline(vias, -rom, (0.0, a_join), sign=-1.0)
        else:
            vias = [_Via(0, 0, False), _Via(pe * te, -1.0, True), _Via(te, -vr, False)]
            segs, k = _scaled(lambda k: _ramps(vias, k, fam), -rom)
            if k < vr:  # the lowering must be faster than the reversal speed: shorten it
                return self.lower_to_speed(rom, te * 0.8, fam, vr, a_join)
        for s in segs:
            self.kz.add(s)

    def valid_spline(
        self,
        vias: list[_Via],
        disp: float,
        slopes: tuple[float, float],
        sign: float,
        floor_mps: float = 0.0,
        floor_window: tuple[float, float] | None = None,
    ) -> list[Segment]:
        """Clamped C2 spline through vias scaled to disp; PCHIP if the spline overshoots (changes sign
        inside, or drops below floor_mps in floor_window)."""
        for kind in ("clamped", "pchip"):

            def build(k: float, kind: str = kind) -> list[Segment]:
                return _spline(vias, k, kind, slopes)

            segs, _ = _scaled(build, disp)
            t, v = _sample(segs)
            inner = v[1:-1] * sign
            start_neg = vias[0].v * sign < 0
            if start_neg:  # rising from a negative velocity: one crossing, then positive
                first = np.argmax(inner > 0)
                ok = bool(np.all(inner[first:] > 0))
            else:
                ok = bool(np.all(inner > 0))
            if ok and floor_window is not None:
                m = (t[1:-1] >= floor_window[0]) & (t[1:-1] <= floor_window[1])
                ok = bool(np.all(inner[m] >= floor_mps))
            if ok:
                return segs
        raise RuntimeError("no valid spline through the via-points")  # PCHIP cannot overshoot

    def lift_phase(
        self, fam: str, shape: str, v0: float, a0: float, disp: float, tc: float, a_end: float
    ) -> dict[str, Any]:
        """Append the lift from velocity v0 (acceleration a0) rising disp in about tc seconds, ending at v = 0."""
        t0 = self.kz.now
        for _ in range(12):
            vias, floor_w = self.lift_vias(shape, v0, tc)  # floor_w: between the peaks
            try:
                segs = self.lift_segments(fam, shape, vias, v0, a0, disp, tc, a_end, floor_w)
            except _Retry:
                tc *= 0.9
                continue
            for s in segs:
                self.kz.add(s)
            # sticking / grind: the stretch between the first and the last velocity peak
            between = (t0 + floor_w[0], t0 + floor_w[1]) if floor_w is not None else None
            return {"between_peaks": between}
        raise RuntimeError(f"could not build a {shape} lift of {disp:.3f} m")

    def lift_vias(self, shape: str, v0: float, tc: float) -> tuple[list[_Via], tuple[float, float] | None]:
        u = self.u
        start = _Via(0.0, v0, False)
        end = _Via(tc, 0.0, False)
        if shape == "sticking":
            p1, s0 = u(0.12, 0.22), u(0.3, 0.4)
            s1 = s0 + min(u(0.1, 0.35) / tc, 0.2)
            p2 = u(min(s1 + 0.15, 0.8), 0.85)
            vst = u(0.04, 0.09)
            return (
                [
                    start,
                    _Via(p1 * tc, 1.0, True),
                    _Via(s0 * tc, vst, False),
                    _Via(s1 * tc, max(_STICK_MIN_MPS, vst * u(0.9, 1.3)), False),
                    _Via(p2 * tc, u(0.7, 1.0), True),
                    end,
                ],
                (p1 * tc, p2 * tc),
            )
        if shape == "grind":
            # first push, a steady ~0.05 m/s grind of 0.4-1.0 s, a broad second push (two knots), lockout
            g_len = u(0.4, 1.0)
            p1 = u(0.12, 0.2) * tc
            g0 = p1 + u(0.1, 0.15) * tc
            g1 = min(g0 + g_len, 0.65 * tc)
            return (
                [
                    start,
                    _Via(p1, 1.0, True),
                    _Via(g0, u(0.045, 0.055), False),
                    _Via(g1, u(0.045, 0.06), False),
                    _Via(g1 + 0.3 * (tc - g1), u(0.8, 1.0), True),
                    _Via(g1 + 0.65 * (tc - g1), u(0.8, 1.0), True),
                    end,
                ],
                (p1, g1 + 0.3 * (tc - g1)),
            )
        if shape == "slow_lockout":
            h_t = min(u(0.35, 0.7), 0.45 * tc)
            vt = u(0.06, 0.14)
            p = u(0.3, 0.55) * (tc - h_t)
            return (
                [
                    start,
                    _Via(p, 1.0, True),
                    _Via(tc - h_t, vt, False),
                    _Via(tc - h_t / 2, vt * u(0.4, 0.6), False),
                    end,
                ],
                None,
            )
        p = u(0.35, 0.6)
        return (
            [
                start,
                _Via(p / 2 * tc, u(0.6, 0.85), True),
                _Via(p * tc, 1.0, True),
                _Via((1 + p) / 2 * tc, u(0.5, 0.8), True),
                end,
            ],
            None,
        )

    def lift_segments(
        self,
        fam: str,
        shape: str,
        vias: list[_Via],
        v0: float,
        a0: float,
        disp: float,
        tc: float,
        a_end: float,
        floor_w: tuple[float, float] | None,
    ) -> list[Segment]:
        if fam == "beta":  # single skewed pulse from rest; q <= 1.3: the lockout stops the bar
            p = 1.0 if a0 > 0 else self.u(1.2, 2.0)
            q = self.u(1.0, 1.3)
            seg = BetaPulse(tc, BetaPulse.peak_for(disp, tc, p, q), p, q)
            return [seg]
        if fam == "spline":
            end_slope = -self.u(0.2, 0.6) if shape == "slow_lockout" else -self.u(0.3, 2.0)
            slopes = (a0, min(a_end, end_slope))
            try:
                floor = _GRIND_MIN_MPS if shape == "grind" else _STICK_MIN_MPS
                return self.valid_spline(vias, disp, slopes, 1.0, floor, floor_w)
            except RuntimeError as e:
                raise _Retry from e
        # ramps: drop the extra knots of the plain shape (each via-point is a flat point of a ramp chain)
        if shape not in ("sticking", "grind", "slow_lockout"):
            vias = [vias[0], vias[2], vias[-1]]
        a_end = self.u(0.15, 0.5) if shape == "slow_lockout" else self.u(0.5, 3.0)  # deceleration at lockout
        segs, k = _ramps_with_crossings(vias, fam, disp, a_end, self.u(0.5, 2.5))
        fixed_max = max((p.v for p in vias[1:-1] if not p.free), default=0.0)
        if k * min(p.v for p in vias if p.free) <= fixed_max + 0.05:
            raise _Retry
        return segs

    # --- truth -------------------------------------------------------------------------------------
    def truths(self) -> list[RepTruth]:
        kz = self.kz
        out = []
        for p in self.plans:
            c = concentric_truth(
                kz.v,
                kz.z,
                kz.a,
                window=(max(0.0, p["start"] - 0.2), p["end"] + 0.05),
                peak_window=(p["c_from"], p["c_to"]),
            )
            vmin = None
            if p.get("between_peaks") is not None:
                t_lo, t_hi = p["between_peaks"]
                tt = np.linspace(t_lo, t_hi, 4001)
                vmin = float(kz.v(tt).min())
            out.append(
                RepTruth(
                    index=p["index"],
                    set_index=1,
                    start_s=float(p["start"]),
                    end_s=float(p["end"]),
                    concentric_start_s=c.start_s,
                    concentric_end_s=c.end_s,
                    mean_velocity_mps=c.mean_velocity_mps,
                    mean_propulsive_velocity_mps=c.mean_propulsive_velocity_mps,
                    peak_velocity_mps=c.peak_velocity_mps,
                    rom_m=c.rom_m,
                    time_to_peak_velocity_s=c.time_to_peak_velocity_s,
                    peak_accel_mps2=c.peak_accel_mps2,
                    shape=p["shape"],
                    family=p["family"],
                    pause_s=float(p["pause"]),
                    min_velocity_after_peak_mps=vmin,
                )
            )
        return out


class _Retry(Exception):
    """The drawn via-points cannot make a valid lift of this duration: shorten it and draw again."""
