"""Per-movement kinematics of the bar-velocity engine, as pure functions of sample arrays.

A *movement* is the stretch between two rests (:mod:`analysis.barbell` finds them). Given the samples
from the rest before it to the start of the rest after it, these functions give the vertical
acceleration (:func:`vertical_specific_force`), the state the movement would be in if it ended at a
still run (:func:`end_state`), and its velocity, position, legs and per-leg metrics
(:func:`analyse_movement`). They hold no state: the engine passes the gravity reference and the
position carried over from the previous movement.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from analysis.drift import DriftPrior, HeightUpdate, VelocityDrift
from analysis.kinematics import (
    cumulative_trapezoid,
    up_from_angles,
    up_from_gyro,
)
from analysis.kinematics import vertical_specific_force as _project
from analysis.rep_metrics import concentric_metrics
from analysis.reps import Leg, find_legs
from analysis.zupt import NOISE_SIGMAS, V_STILL_MPS, still_stretches

RETURN_HEIGHT_SD_M: float = 0.005
"""SD (m) of the bar's height at a standing lockout or on the floor about where the movement started: a
held bar moves by up to ~1 cm peak to peak with breathing. Used for the test below and as the SD of the
height updates (:func:`lockout_heights`, the end of a movement back where it started)."""
Z_SIGMAS: float = 3.5
"""'Back where it started': |displacement| at the still run's start (with v = 0 there) within Z_SIGMAS x
hypot(its SD from the drift model, RETURN_HEIGHT_SD_M); further away in the direction of the rep is mid-rep
(a pause in the hole, a stall, a grind, or a creep into lockout: a creep at c m/s looks still, and v = 0
imposed there moves the displacement by about -c T / 2 over the T seconds since the last update). 3.5 SD:
a rest taken for mid-rep costs its rep the 2 s forced rest, so it must be rare (0.02 %)."""
HEIGHT_PASSES: int = 3
"""Lockouts between reps are found on the velocity estimate, which their height updates improve: at most
this many passes (:func:`lockout_heights`)."""
ONSET_ACCEL_MPS2: float = 0.35
"""Within the back-off window, integration starts where |vertical acceleration| (30 ms average) first
exceeds this (m/s^2), less ONSET_MARGIN_S: velocity is anchored to 0 right where the bar starts to move."""
ONSET_SMOOTH_S: float = 0.03
ONSET_SEARCH_AFTER_S: float = 0.3
ONSET_MAX_VELOCITY_MPS: float = 0.03
"""The onset is used only if the velocity integrated up to it from the rest is below this (m/s): a slow,
heavy start reaches the acceleration threshold only when the bar is already moving."""
ONSET_MARGIN_S: float = 0.03
ACTIVE_VELOCITY_MPS: float = 0.01
"""A rep's start/end (leaving/returning to rest) is where |v| crosses this (m/s)."""


def vertical_specific_force(
    t_s: np.ndarray,
    accel_mps2: np.ndarray,
    gyro_radps: np.ndarray,
    angles_rad: np.ndarray | None,
    n_ref: int,
    up_end: np.ndarray | None = None,
    blend_s: tuple[float, float] | None = None,
) -> np.ndarray:
    """Vertical specific force ``u . f`` (m/s^2, +g at rest) of samples whose first ``n_ref`` are at rest.

    With fused angles ``u`` comes from them (:func:`analysis.kinematics.up_from_angles`); without, the
    gravity direction of the first ``n_ref`` samples is carried by the gyroscope and blended towards
    ``up_end`` (the gravity direction at the rest after) over ``blend_s`` (:func:`up_from_gyro`).
    """
    if angles_rad is not None:
        up = up_from_angles(angles_rad)
    else:
        b0, b1 = blend_s if blend_s is not None else (None, None)
        up = up_from_gyro(t_s, gyro_radps, accel_mps2[:n_ref].mean(axis=0), up_end, b0, b1)
    return _project(accel_mps2, up)


@dataclass(frozen=True)
class LiftGeometry:
    """What the lift's reps look like, for height updates between them (:func:`lockout_heights`).

    ``eccentric_first``: True for lifts that start each rep at the top (squat, bench), False for lifts
    from the floor (deadlift), None while unknown; ``min_rom_m``: the smallest rep; ``min_swing_m``: the
    zig-zag filter of the legs."""

    eccentric_first: bool | None
    min_rom_m: float
    min_swing_m: float


def lockout_heights(t_s: np.ndarray, v_mps: np.ndarray, lift: LiftGeometry | None) -> list[HeightUpdate]:
    """Height updates at the turns between the reps of a movement (touch-and-go sets).

    A lift that starts each rep at the top returns to that height between reps: every turn from a rise of
    at least the minimum ROM into a lowering of at least the minimum ROM is at the height the movement
    started from, within RETURN_HEIGHT_SD_M (a standing lifter's lockout); a lift from the floor touches
    the floor between reps (a lowering into a rise). The turns are found on the velocity estimate
    ``v_mps`` (their height hardly depends on their timing: the bar is turning there)."""
    if lift is None or lift.eccentric_first is None or t_s.size < 3:
        return []
    z = cumulative_trapezoid(v_mps, t_s)
    legs = find_legs(t_s, v_mps, z, lift.min_swing_m)
    out = []
    sign = 1.0 if lift.eccentric_first else -1.0
    for a, b in itertools.pairwise(legs):
        if sign * a.swing_m >= lift.min_rom_m and -sign * b.swing_m >= lift.min_rom_m and 0 < a.i1 < t_s.size - 1:
            out.append(HeightUpdate(a.i1, 0.0, RETURN_HEIGHT_SD_M))
    return out


@dataclass(frozen=True)
class EndState:
    """The movement as it would be if it ended at a still run (:func:`end_state`).

    Attributes
    ----------
    v_end_mps : float
        Velocity at the still run's start: integrated from the rest before, the error expected from the
        drift model (:mod:`analysis.drift`) given the turning-point holds inside the movement removed.
    v_sd_mps : float
        Its uncertainty (SD): grows with the time since the last hold (a constant-velocity stretch also
        looks still to an accelerometer; only this tells it from rest).
    since_s : float
        Time since the last turning-point hold (or the start of integration).
    z_end_m, z_sd_m : float
        If the bar were at rest at the still run, its displacement there from where the movement started
        (v = 0 there and at the holds), and the SD of that displacement from the drift model.
    excursion_m : float
        The largest |displacement| from where the movement started, on the same velocity.
    back_at_start : bool
        ``|z_end| <= Z_SIGMAS hypot(z_sd, RETURN_HEIGHT_SD_M)``.
    below_start, above_start : bool
        ``z_end`` below (above) minus (plus) that tolerance: for a lift that starts with the lowering,
        the bar in the hole, on the way up, or creeping into lockout (a creep at a steady velocity c
        looks still, but v = 0 imposed there moves the displacement by about -c T / 2 over the T seconds
        of integration); for one that starts with the lift, up or on the way up -- a pause, a stall, a
        grind or a creep mid-rep, not its end.
    """

    v_end_mps: float
    back_at_start: bool
    below_start: bool
    above_start: bool = False
    since_s: float = 0.0
    v_sd_mps: float = 0.0
    z_end_m: float = 0.0
    z_sd_m: float = 0.0
    excursion_m: float = 0.0

    @property
    def velocity_at_rest(self) -> bool:
        """|v_end| within ``V_STILL_MPS + NOISE_SIGMAS v_sd``: the still run can be a rest."""
        return abs(self.v_end_mps) <= V_STILL_MPS + NOISE_SIGMAS * self.v_sd_mps


def end_state(
    t_s: np.ndarray, a_mps2: np.ndarray, prior: float | DriftPrior = 0.0, lift: LiftGeometry | None = None
) -> EndState:
    """The movement as it would end at the last sample.

    ``t_s``, ``a_mps2``: from the start of integration (the bar at rest) to the start of a still run;
    ``prior``: the error sources of the integrated velocity (:class:`analysis.drift.DriftPrior`, or the
    acceleration noise at rest). Only the turning-point holds inside the movement are zero-velocity
    updates here (a hold at lockout before the lowering, a pause at the bottom; whether the last sample
    is at rest is the question, so no stretch may be accepted because the velocity, drift-corrected to 0
    there, looks slow). The velocity at the end, forward from them, is the velocity check; with v = 0 at
    the end too, the displacement there tells a rep's end from a pause, a stall or a creep mid-rep, which
    also look still but leave the bar away from where it started. A long movement (touch-and-go reps, a
    drifting sensor) is re-anchored at every hold, and (``lift``) at the height of every lockout between
    reps (:func:`lockout_heights`).
    """
    t = np.asarray(t_s, dtype=np.float64)
    a = np.asarray(a_mps2, dtype=np.float64)
    v_raw = cumulative_trapezoid(a, t)
    n = t.size
    if n <= 3:
        return EndState(float(v_raw[-1]), False, False, since_s=float(t[-1] - t[0]))
    zr = still_stretches(t, a, prior, end_at_rest=False)
    heights: list[HeightUpdate] = []
    for _ in range(HEIGHT_PASSES):
        assert zr.posterior is not None
        found = lockout_heights(t, v_raw - zr.posterior.mean(), lift)
        if [h.index for h in found] == [h.index for h in heights]:
            break
        heights = found
        zr = still_stretches(t, a, prior, end_at_rest=False, heights=heights)
    turns = zr.turns
    model = VelocityDrift(t, a, prior, v_raw)
    obs = [i for s in turns for i in s]
    post = model.posterior(np.array(obs, dtype=np.int64), heights)
    last = np.array([n - 1])
    v_end = float(v_raw[-1] - post.mean(last)[0])
    v_sd = float(post.sd(last)[0])
    k = turns[-1][1] if turns else 0
    # if the bar were at rest at the end
    post_end = model.posterior(np.array([*obs, n - 1], dtype=np.int64), heights)
    v = v_raw - post_end.mean()
    for s0, s1 in turns:
        v[s0 : s1 + 1] = 0.0
    z = cumulative_trapezoid(v, t)
    z_end = float(z[-1])
    z_sd = post_end.integral_sd()
    excursion = float(np.max(np.abs(z)))
    tol = Z_SIGMAS * float(np.hypot(z_sd, RETURN_HEIGHT_SD_M))
    return EndState(
        v_end,
        abs(z_end) <= tol,
        z_end < -tol,
        z_end > tol,
        since_s=float(t[-1] - t[k]),
        v_sd_mps=v_sd,
        z_end_m=z_end,
        z_sd_m=z_sd,
        excursion_m=excursion,
    )


def motion_onset(t: np.ndarray, a: np.ndarray, lo: int, hi: int) -> int:
    """First sample of a movement: the acceleration (30 ms moving average) first exceeds ONSET_ACCEL_MPS2,
    minus ONSET_MARGIN_S; searched in [lo, hi), and never before lo."""
    if hi - lo < 3:
        return lo
    seg_t = t[lo:hi]
    c = np.concatenate([[0.0], np.cumsum(a[lo:hi])])
    half = ONSET_SMOOTH_S / 2
    i0 = np.searchsorted(seg_t, seg_t - half, side="left")
    i1 = np.searchsorted(seg_t, seg_t + half, side="right")
    mean = (c[i1] - c[i0]) / np.maximum(i1 - i0, 1)
    over = np.nonzero(np.abs(mean) > ONSET_ACCEL_MPS2)[0]
    if over.size == 0:
        return lo
    k = lo + int(over[0])
    k_start = int(np.searchsorted(t, t[k] - ONSET_MARGIN_S, side="left"))
    return max(lo, min(k_start, k))


@dataclass
class MovementResult:
    """Velocity, corrected acceleration and position of one movement, and its legs.

    Arrays cover the samples given to :func:`analyse_movement` (zero velocity before integration
    starts); a leg whose rise is at least the minimum ROM carries its
    :class:`analysis.rep_metrics.ConcentricMetrics` in ``payload["metrics"]``.
    """

    v_mps: np.ndarray
    a_mps2: np.ndarray
    z_m: np.ndarray
    legs: list[Leg]


def analyse_movement(
    t_s: np.ndarray,
    a_mps2: np.ndarray,
    lo: int,
    i_moving: int,
    i_still: int,
    *,
    z_base_m: float,
    min_swing_m: float,
    min_rom_m: float,
    load_kg: float,
    prior: DriftPrior | None = None,
    returned: bool = False,
    lift: LiftGeometry | None = None,
) -> MovementResult:
    """Integrate one movement and cut it into legs with their concentric metrics.

    Parameters
    ----------
    t_s, a_mps2 : numpy.ndarray
        Sample times and vertical acceleration (gravity removed) from the gravity reference of the rest
        before to the end of the confirmed part of the rest after (v = 0 there).
    lo : int
        First sample of integration (within the rest before the movement).
    i_moving, i_still : int
        First sample of the first block the detector saw moving, and of the still run that closes the
        movement (the motion onset is searched before it).
    z_base_m : float
        Position at the first sample (carried over from the previous movement).
    min_swing_m, min_rom_m, load_kg : float
        Zig-zag filter of the legs, smallest rise that gets metrics, bar load.
    prior : DriftPrior or None
        Error sources of the integrated velocity (default: the noise of the samples before ``lo``).
    returned : bool
        The movement ends back where it started (the engine's test at its closing rest): its displacement
        is then a height update, 0 within RETURN_HEIGHT_SD_M.
    lift : LiftGeometry or None
        With it, the lockouts between reps are height updates too (:func:`lockout_heights`).
    """
    t = t_s
    a = a_mps2.copy()
    hi = t.size
    lo_rest = lo
    # anchor v = 0 where the bar starts to move (within the back-off window and a little after the
    # detected start) unless the velocity integrated from the rest shows it was already moving there
    search_hi = int(np.searchsorted(t, t[i_moving] + ONSET_SEARCH_AFTER_S, side="right"))
    onset = motion_onset(t, a, lo, min(search_hi, i_still))
    if onset > lo:
        v_on = cumulative_trapezoid(a[lo : onset + 1], t[lo : onset + 1])[-1]
        if abs(v_on) <= ONSET_MAX_VELOCITY_MPS:
            lo = onset
    if prior is None:
        prior = DriftPrior(float(np.std(a_mps2[:lo_rest])) if lo_rest >= 3 else 0.0)
    # a movement that ends back where it started (the top of a squat, the floor after a deadlift) ends at
    # that height, within a standing lifter's RETURN_HEIGHT_SD_M: a height update
    end_height = [HeightUpdate(hi - lo - 1, 0.0, RETURN_HEIGHT_SD_M)] if returned and hi - lo > 2 else []
    zr = still_stretches(t[lo:hi], a[lo:hi], prior, heights=end_height)
    tops: list[HeightUpdate] = []
    for _ in range(HEIGHT_PASSES):  # and at every lockout between reps (touch-and-go sets)
        found = lockout_heights(t[lo:hi], zr.v_mps, lift)
        if [h.index for h in found] == [h.index for h in tops]:
            break
        tops = found
        zr = still_stretches(t[lo:hi], a[lo:hi], prior, heights=end_height + tops)
    a[lo:hi] = zr.a_mps2
    v = np.zeros(t.size)
    v[lo:hi] = zr.v_mps
    z = cumulative_trapezoid(v, t, initial=z_base_m)

    legs = find_legs(t[lo:hi], v[lo:hi], z[lo:hi], min_swing_m, zr.rest_tol_mps)
    active = np.nonzero(np.abs(v[lo:hi]) > ACTIVE_VELOCITY_MPS)[0]
    if active.size:
        seg_start, seg_end = float(t[lo + active[0]]), float(t[lo + active[-1]])
        for leg in legs:
            leg.segment_start_s, leg.segment_end_s = seg_start, seg_end
    for leg in legs:
        if leg.rise_m >= min_rom_m and leg.t1_s > leg.t0_s:
            leg.payload["metrics"] = concentric_metrics(t, v, a, z, leg.t0_s, leg.t1_s, load_kg)
    return MovementResult(v, a, z, legs)
