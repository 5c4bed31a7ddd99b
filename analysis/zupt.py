"""Zero-velocity updates inside a movement: still stretches of the bar, and the velocity between them.

A bar held still (the bottom of a paused squat, a competition pause on the chest, the top before the
next rep) is a velocity measurement: v = 0 there. Integrated acceleration drifts (sensor noise, the
error of the gravity reference, bias changes, the integration error of impacts), so within a movement the
integrated velocity hovers around zero in a pause, and its zero crossings there are noise. The still
stretches are zero-velocity updates (ZUPT; Foxlin 2005, IEEE Comput Graph Appl 25(6):38-46; detection
evaluated by Skog et al. 2010, IEEE Trans Biomed Eng 57:2657-2666) of a model of the velocity's error
(:mod:`analysis.drift`): the error is observed there, estimated with its uncertainty in between (with
white noise only this is the linear drift removal between consecutive updates of foot-mounted gait
analysis: Mariani et al. 2010, J Biomech 43:2999-3006), and v = 0 on them.

Which stretches are still (:func:`still_stretches`)
-------------------------------------------------
An accelerometer cannot tell a still bar from one moving at constant velocity (a slow grind, a creep into
lockout, a steady stretch of a lowering), so a stretch is still when both hold:

1. **Flat**: over every window of ``STILL_MIN_S`` (100 ms) centred in it, the integrated velocity
   varies by at most ``2 V_STILL_MPS + 3 sigma_w`` -- a bar with |v| < 0.005 m/s varies by at most
   0.01 m/s, plus three standard deviations of the velocity noise integrated over one window
   (``sigma_w = sigma_a sqrt(dt W)``, sigma_a the per-sample noise of the vertical acceleration,
   measured at the rest before the movement).
2. **At rest by the drift model**: its mean velocity, the error the model expects there removed (given
   the updates already accepted), is within ``V_STILL_MPS + 3 sigma`` of zero, sigma the model's
   posterior SD there. For an ordinary stretch the tolerance is capped at V_TOL_MAX_MPS (0.0175 m/s,
   midway between a still bar, |v| < 0.005 m/s, and the slowest movement that is not a pause, a sticking
   point at >= 0.03 m/s: a grind at a steady 0.05 m/s is flat but not at rest). A **turning point** --
   the nearest motion at least V_CLEAR_MPS faster or slower than the stretch goes one way before it and
   the other after it, with no other still-looking stretch at another velocity in between (a creep into
   lockout slows down to one: the bar at rest) -- is capped at V_CLEAR_MPS instead: the bar's velocity
   changes sign near it, so only the drift can make it look moving, and a steady stretch of a lowering
   (0.3-0.6 m/s) stays out.

Stretches are accepted one at a time, the most certain first (smallest |velocity| relative to its
tolerance), and the model is updated after each, so a pause next to an accepted one is judged on a better
estimate. The first and last stretches of a movement are its bounding rests; height updates (the bar back
at a known height) join the velocity updates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.drift import DriftPosterior, DriftPrior, HeightUpdate, VelocityDrift, as_prior
from analysis.kinematics import cumulative_trapezoid
from analysis.reps import runs

STILL_MIN_S: float = 0.100
"""A pause is the bar still for at least this long (s)."""
V_STILL_MPS: float = 0.005
"""A still bar: |v| below this (m/s)."""
V_TOL_MAX_MPS: float = 0.0175
"""Largest |mean velocity| (m/s) a stretch may show and still be a pause: midway between a still bar
(0.005 m/s) and the slowest sticking point (0.03 m/s)."""
NOISE_SIGMAS: float = 3.0
"""Allowance for integrated noise, in standard deviations."""
V_CLEAR_MPS: float = 0.1
"""A velocity (change) the drift cannot fake (m/s): the motion into and out of a flat stretch is read at
the nearest sample at least this fast, and at the nearest whose velocity differs from the stretch's by
this much (:func:`_turning_point`)."""


@dataclass(frozen=True)
class ZuptResult:
    """Velocity with zero-velocity updates, and what was used.

    Attributes
    ----------
    v_mps : numpy.ndarray
        Velocity: 0 on the still stretches, the error the drift model expects removed between them.
    a_mps2 : numpy.ndarray
        Acceleration with the model's smooth drift rate removed (the mean acceleration of each still
        stretch is removed there).
    still : list of (int, int)
        Still stretches, inclusive sample index ranges, in time order (the first contains sample 0,
        the last the final sample).
    rest_tol_mps : numpy.ndarray
        Per sample, the velocity up to which the bar cannot be told from a bar at rest: 0 on the still
        stretches (v = 0 there), elsewhere ``min(V_STILL_MPS, 3 sigma_v)`` with sigma_v the drift model's
        posterior SD there.
    turns : list of (int, int)
        The still stretches inside the movement that are turning points (they do not depend on v = 0 at
        the last sample: :func:`analysis.movement.end_state` uses them).
    posterior : DriftPosterior or None
        The drift model given every update used.
    """

    v_mps: np.ndarray
    a_mps2: np.ndarray
    still: list[tuple[int, int]]
    rest_tol_mps: np.ndarray
    turns: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    posterior: DriftPosterior | None = None


def window_range(t_s: np.ndarray, y: np.ndarray, window_s: float) -> np.ndarray:
    """max - min of y over the samples within +-window_s/2 of each sample (windows cut at the ends).

    Range queries on a sparse table of maxima and minima: O(n log n) for any sample spacing.
    """
    t = np.asarray(t_s, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n == 0:
        return y.copy()
    i0 = np.searchsorted(t, t - 0.5 * window_s, side="left")
    i1 = np.searchsorted(t, t + 0.5 * window_s, side="right")
    length = np.maximum(i1 - i0, 1)
    levels = int(np.floor(np.log2(length.max()))) + 1
    mx = np.full((levels, n), -np.inf)
    mn = np.full((levels, n), np.inf)
    mx[0], mn[0] = y, y
    for k in range(1, levels):
        step = 1 << (k - 1)
        m = n - (1 << k) + 1
        if m <= 0:
            break
        mx[k, :m] = np.maximum(mx[k - 1, :m], mx[k - 1, step : step + m])
        mn[k, :m] = np.minimum(mn[k - 1, :m], mn[k - 1, step : step + m])
    lev = np.floor(np.log2(length)).astype(np.int64)
    j = i1 - (1 << lev)
    hi = np.maximum(mx[lev, i0], mx[lev, j])
    lo = np.minimum(mn[lev, i0], mn[lev, j])
    rng: npt.NDArray[np.float64] = hi - lo
    return rng


def anchored_velocity(
    t_s: np.ndarray, a_mps2: np.ndarray, still: list[tuple[int, int]], v_raw: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Velocity integrated from each still stretch with v = 0 on it and the drift removed linearly in time
    so that v = 0 again at the next one; and the acceleration with each segment's offset removed.

    ``still``: inclusive index ranges in time order, the first containing sample 0 and the last the
    final sample. ``v_raw``: the trapezoid integral of ``a_mps2`` from 0 if already computed.
    """
    t = np.asarray(t_s, dtype=np.float64)
    a = np.asarray(a_mps2, dtype=np.float64)
    integral = cumulative_trapezoid(a, t) if v_raw is None else v_raw
    n = t.size
    starts = np.array([s for s, _ in still], dtype=np.int64)
    ends = np.array([e for _, e in still], dtype=np.int64)
    if starts[0] != 0 or ends[-1] != n - 1:
        raise ValueError("the first still stretch must contain sample 0 and the last the final sample")
    # segment j runs from ends[j] to starts[j + 1]
    e, s = ends[:-1], starts[1:]
    span = t[s] - t[e]
    off = np.where(span > 0, (integral[s] - integral[e]) / np.where(span > 0, span, 1.0), 0.0)
    k = np.arange(n)
    j = np.clip(np.searchsorted(ends, k, side="left") - 1, 0, max(e.size - 1, 0))  # segment of each sample
    inside = np.zeros(n, dtype=bool)
    for s0, e0 in still:
        inside[s0 : e0 + 1] = True
    v = np.zeros(n)
    a_out = a.copy()
    if e.size:
        seg = ~inside
        v[seg] = integral[seg] - integral[e[j[seg]]] - off[j[seg]] * (t[seg] - t[e[j[seg]]])
        a_out -= off[j]
    for s0, e0 in still:
        if e0 > s0:  # on a still stretch the bar's acceleration is 0: remove the stretch's own mean
            a_out[s0 : e0 + 1] = a[s0 : e0 + 1] - a[s0 : e0 + 1].mean()
    return v, a_out


def still_stretches(
    t_s: np.ndarray,
    a_mps2: np.ndarray,
    prior: float | DriftPrior,
    *,
    end_at_rest: bool = True,
    heights: list[HeightUpdate] | tuple[HeightUpdate, ...] = (),
) -> ZuptResult:
    """Find the still stretches of a movement and the velocity anchored on them (module docstring).

    Parameters
    ----------
    t_s, a_mps2 : numpy.ndarray
        Times and vertical acceleration (gravity removed) of one movement; the bar is at rest at the
        first sample (integration starts there) and, with ``end_at_rest``, at the last (the confirmed
        rest after it).
    prior : float or DriftPrior
        The error sources of the integrated velocity (:class:`analysis.drift.DriftPrior`); a float is
        the per-sample SD of the vertical acceleration at rest (>= 0), with the default offset SD.
    end_at_rest : bool
        False: whether the last sample is at rest is the question (:func:`analysis.movement.end_state`):
        the stretch holding it is not used, and only turning points are accepted, on the velocity
        integrated forward from the updates before them.
    heights : list of HeightUpdate
        Known heights of the bar (:class:`analysis.drift.HeightUpdate`), e.g. back where it started at
        the end; used with the zero-velocity updates.

    Returns
    -------
    ZuptResult
    """
    t = np.asarray(t_s, dtype=np.float64)
    a = np.asarray(a_mps2, dtype=np.float64)
    n = t.size
    prior = as_prior(prior)
    noise_mps2 = prior.noise_mps2
    if n < 3:
        return ZuptResult(np.zeros(n), a.copy(), [(0, max(n - 1, 0))], np.zeros(n))
    v_raw = cumulative_trapezoid(a, t)
    model = VelocityDrift(t, a, prior, v_raw)
    dt = float(np.median(np.diff(t)))
    var_step = noise_mps2 * noise_mps2 * dt
    sigma_w = noise_mps2 * np.sqrt(dt * STILL_MIN_S)
    band = 2.0 * V_STILL_MPS + NOISE_SIGMAS * sigma_w
    # flatness does not depend on a constant velocity offset, so the raw integral will do; its linear
    # drift over 100 ms is far below the band
    flat = window_range(t, v_raw, STILL_MIN_S) <= band
    # Each run of flat window centres: the bar was flat over the windows around them. That span is
    # trimmed to where the bar was at rest (_trim) and must still be at least STILL_MIN_S long; the
    # zero-velocity update is applied on its part within the run of centres, half a window inside the
    # flat span, so that it never reaches into the motion before or after it (between it and the
    # motion, the bar counts as at rest within its velocity noise: rest_tol_mps).
    # The run holding the first sample is the rest before the movement: integration starts there at
    # v = 0, so the velocity there is integrated noise only; it is not zeroed, since a slow lift-off
    # (v leaving 0 tangentially) runs into it unseen. The run holding the last sample is the rest
    # after: v = 0 is imposed at its end, and the drift left over from the whole last segment would
    # show there; it is zeroed like a pause.
    r0, r1 = runs(flat)
    lo_idx = np.searchsorted(t, t - 0.5 * STILL_MIN_S, side="left")
    hi_idx = np.searchsorted(t, t + 0.5 * STILL_MIN_S, side="right") - 1
    cands: list[tuple[int, int]] = []
    first: list[tuple[int, int]] = []
    for c0, c1 in zip(r0.tolist(), (r1 - 1).tolist(), strict=True):
        e0, e1 = _trim(t, a, (int(lo_idx[c0]), int(hi_idx[c1])), var_step)
        if c0 == 0:
            first = [(max(c0, e0), min(c1, e1))]
            continue
        if e1 < n - 1 and t[e1] - t[e0] < STILL_MIN_S - 2.0 * dt:  # each edge known to a sample
            continue
        span = (max(c0, e0), min(c1, e1))
        if span[1] >= span[0]:
            cands.append(span)
    tail: list[tuple[int, int]] = []
    if end_at_rest:
        last = cands.pop() if cands and cands[-1][1] == n - 1 else (n - 1, n - 1)
        fixed = [last]
    else:
        tail = [c for c in cands if c[1] == n - 1]
        cands = [c for c in cands if c[1] < n - 1]
        last = None
        fixed = []
    post = model.posterior(_obs(fixed), heights)
    # a flat stretch between motions in opposite directions (a bottom pause, a hold at lockout before
    # the lowering) is a turning point: the bar's velocity crosses zero near it, so it is held to the
    # drift model's uncertainty there up to V_CLEAR_MPS (a speed the drift cannot flip: a steady stretch
    # of a touch-and-go set's lowering stays out), not to the cap that keeps sticking points from being
    # zeroed
    every = first + cands + ([last] if last is not None else tail)
    turn_flags = [_turning_point(v_raw, every, c0, c1, band) for c0, c1 in cands]
    pending = [(c, f) for c, f in zip(cands, turn_flags, strict=True) if f or end_at_rest]
    accepted: list[tuple[tuple[int, int], bool]] = []
    while pending:
        best, best_score = -1, np.inf
        for idx, ((c0, c1), is_turn) in enumerate(pending):
            mid = np.array([(c0 + c1) // 2])
            sd = float(post.sd(mid)[0])
            tol = min(V_STILL_MPS + NOISE_SIGMAS * sd, V_CLEAR_MPS if is_turn else V_TOL_MAX_MPS)
            cand_idx = np.arange(c0, c1 + 1, dtype=np.int64)
            score = abs(float(v_raw[c0 : c1 + 1].mean() - post.mean(cand_idx).mean())) / tol
            if score < best_score:
                best, best_score = idx, score
        if best_score > 1.0:
            break
        accepted.append(pending.pop(best))
        post = model.posterior(_obs(fixed + [c for c, _ in accepted]), heights)
    still = sorted([(0, 0), *fixed, *[c for c, _ in accepted]])
    turns = sorted(c for c, f in accepted if f)
    v = v_raw - post.mean()
    a_out = a - post.smooth_slope()
    for s0, e0 in still:
        v[s0 : e0 + 1] = 0.0
        if e0 > s0:  # on a still stretch the bar's acceleration is 0: remove the stretch's own mean
            a_out[s0 : e0 + 1] = a[s0 : e0 + 1] - a[s0 : e0 + 1].mean()
    tol_all = np.minimum(V_STILL_MPS, NOISE_SIGMAS * post.sd(np.arange(n)))
    for s0, e0 in still:
        tol_all[s0 : e0 + 1] = 0.0
    if last is None:
        still.append((n - 1, n - 1))
    return ZuptResult(v, a_out, still, tol_all, turns, post)


def _obs(stretches: list[tuple[int, int]]) -> np.ndarray:
    """Observation points of still stretches: both ends of each."""
    return np.array([i for s in stretches for i in s], dtype=np.int64)


def _clear_motion(v: np.ndarray, i: int, side: int) -> int:
    """Index of the nearest sample before (side -1) or after (side +1) sample i whose velocity differs from
    v[i] by at least V_CLEAR_MPS (relative: only the drift over that stretch of time matters); -1 if none."""
    ref = v[i]
    if side < 0:
        far = np.nonzero(np.abs(v[:i] - ref) >= V_CLEAR_MPS)[0]
        return int(far[-1]) if far.size else -1
    far = np.nonzero(np.abs(v[i + 1 :] - ref) >= V_CLEAR_MPS)[0]
    return i + 1 + int(far[0]) if far.size else -1


def _turning_point(v_raw: np.ndarray, stretches: list[tuple[int, int]], c0: int, c1: int, band: float) -> bool:
    """The bar moves one way into the stretch and the other way out of it, and reverses there: the nearest
    motion at least V_CLEAR_MPS faster or slower than the stretch before and after it goes in opposite
    directions (relative to the stretch's own velocity, so that only the drift over a fraction of a second
    matters), and no other still-looking stretch (of ``stretches``) at a velocity more than ``band`` away
    from the stretch's lies between it and either: a creep into lockout slows down to a second still-looking
    stretch -- the bar at rest -- before the bar moves the other way. A stretch of steady motion entered
    faster and left reversing passes this, and is told from a pause by its velocity (:func:`still_stretches`)."""
    i0 = _clear_motion(v_raw, c0, -1)
    i1 = _clear_motion(v_raw, c1, +1)
    if i0 < 0 or i1 < 0 or np.sign(v_raw[i0] - v_raw[c0]) * np.sign(v_raw[i1] - v_raw[c1]) >= 0:
        return False
    level = float(v_raw[c0 : c1 + 1].mean())
    return not any(
        ((i0 < s0 and s1 < c0) or (c1 < s0 and s1 < i1)) and abs(float(v_raw[s0 : s1 + 1].mean()) - level) > band
        for s0, s1 in stretches
    )


def _trim(t: np.ndarray, a: np.ndarray, stretch: tuple[int, int], var_step: float) -> tuple[int, int]:
    """The part of a still stretch where the bar has not started (or not yet stopped) moving.

    A flat stretch may run into the slow start of a movement (a heavy lift-off from the floor leaves
    v = 0 tangentially) or begin in the slow end of one. Velocity is integrated outwards from the
    point of the stretch most surely at rest -- sample 0 for the first stretch (integration starts at
    rest), the last sample for the last (the confirmed rest), the middle otherwise -- and the stretch
    ends where that velocity first exceeds ``max(V_STILL_MPS, 3 sigma)``, sigma the noise integrated from
    there (a settling dip of 1-2 cm/s after lockout is motion, not rest).
    """
    s0, s1 = stretch
    if s1 - s0 < 4:
        return stretch
    n = t.size
    c = 0 if s0 == 0 else (n - 1 if s1 == n - 1 else (s0 + s1) // 2)
    seg_t = t[s0 : s1 + 1]
    v = cumulative_trapezoid(a[s0 : s1 + 1], seg_t)
    v -= v[c - s0]
    tol = np.maximum(V_STILL_MPS, NOISE_SIGMAS * np.sqrt(var_step * np.abs(seg_t - t[c])))
    out = np.abs(v) > tol
    after = np.nonzero(out[c - s0 :])[0]
    before = np.nonzero(out[: c - s0 + 1])[0]
    new1 = c + int(after[0]) - 1 if after.size else s1
    new0 = s0 + int(before[-1]) + 1 if before.size else s0
    return new0, max(new1, new0)
