"""Per-movement kinematics of the bar-velocity engine, as pure functions of sample arrays.

A *movement* is the stretch between two rests (:mod:`analysis.barbell` finds them). Given the samples
from the rest before it to the start of the rest after it, these functions give the vertical
acceleration (:func:`vertical_specific_force`), the state the movement would be in if it ended at a
still run (:func:`end_state`), and its velocity, position, legs and per-leg metrics
(:func:`analyse_movement`). They hold no state: the engine passes the gravity reference and the
position carried over from the previous movement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.kinematics import (
    cumulative_trapezoid,
    up_from_angles,
    up_from_gyro,
)
from analysis.kinematics import vertical_specific_force as _project
from analysis.rep_metrics import concentric_metrics
from analysis.reps import Leg, find_legs
from analysis.zupt import anchored_velocity, still_stretches

RETURN_TOLERANCE_M: float = 0.04
RETURN_TOLERANCE_FRACTION: float = 0.15
"""'Back where it started': |drift-corrected displacement| at the still run's start within
max(0.04 m, 15 % of the movement's largest excursion)."""
MID_REP_FRACTION: float = 0.25
"""'Mid-rep': the bar is further than max(RETURN_TOLERANCE_M, 25 % of the largest excursion) from where
the movement started, in the direction of the rep (a pause in the hole, a stall or a grind on the way
up). The margin over the 'back where it started' tolerance covers the drift of the displacement at the
top of a long rep (a few cm)."""
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
class EndState:
    """The movement as it would be if it ended at a still run (:func:`end_state`).

    Attributes
    ----------
    v_end_mps : float
        Velocity integrated from the rest before or the last pause or hold inside the movement, without
        drift correction (a constant-velocity stretch also looks still to an accelerometer).
    since_s : float
        Time over which ``v_end_mps`` was integrated (its drift grows with it).
    back_at_start : bool
        The drift-corrected displacement is within max(RETURN_TOLERANCE_M, RETURN_TOLERANCE_FRACTION
        x the largest excursion) of where the movement started.
    below_start, above_start : bool
        The bar is lower (higher) than where it started by more than max(RETURN_TOLERANCE_M,
        MID_REP_FRACTION x the largest excursion): for a lift that starts with the lowering, in the
        hole or on the way up; for one that starts with the lift, up or on the way up -- a pause, a
        stall or a grind mid-rep, not its end.
    """

    v_end_mps: float
    back_at_start: bool
    below_start: bool
    above_start: bool = False
    since_s: float = 0.0


def end_state(t_s: np.ndarray, a_mps2: np.ndarray, noise_mps2: float = 0.0) -> EndState:
    """The movement as it would end at the last sample.

    ``t_s``, ``a_mps2``: from the start of integration (the bar at rest) to the start of a still run;
    ``noise_mps2``: the acceleration noise at rest (:func:`analysis.zupt.still_stretches`). The velocity
    is integrated from the last pause or hold inside the movement (from its start if none): that is the
    velocity check. With the zero-velocity updates at those pauses and v = 0 at the end, the displacement
    there against the largest excursion tells a rep's end from a pause or stall mid-rep, which also looks
    still but leaves the bar far from where it started. A long movement (touch-and-go reps, a drifting
    sensor) is re-anchored at every hold, so neither drifts with the movement's length.
    """
    t = np.asarray(t_s, dtype=np.float64)
    v_raw = cumulative_trapezoid(a_mps2, t)
    if t.size <= 3:
        return EndState(float(v_raw[-1]), False, False, since_s=float(t[-1] - t[0]))
    # only the turning points (a hold at lockout before the lowering, a pause at the bottom) are anchors
    # here: whether the last sample is at rest is the question, so no stretch may be accepted because the
    # velocity, drift-corrected to 0 there, looks slow (a grind would)
    turns = still_stretches(t, a_mps2, noise_mps2).turns
    v, _ = anchored_velocity(t, a_mps2, [(0, 0), *turns, (t.size - 1, t.size - 1)], v_raw)
    k = turns[-1][1] if turns else 0
    z = cumulative_trapezoid(v, t)
    excursion = float(np.max(np.abs(z)))
    tol = max(RETURN_TOLERANCE_M, RETURN_TOLERANCE_FRACTION * excursion)
    z_end = float(z[-1])
    far = max(RETURN_TOLERANCE_M, MID_REP_FRACTION * excursion)
    return EndState(float(v_raw[-1] - v_raw[k]), abs(z_end) <= tol, z_end < -far, z_end > far,
                    since_s=float(t[-1] - t[k]))


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
    noise = float(np.std(a_mps2[:lo_rest])) if lo_rest >= 3 else 0.0
    zr = still_stretches(t[lo:hi], a[lo:hi], noise)
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
