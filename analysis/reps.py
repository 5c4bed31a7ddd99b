"""Rest/moving detection, movement phases (legs) and rep assembly.

Rest detection (:func:`block_stats`, :func:`still_blocks`)
----------------------------------------------------------
Samples are grouped into fixed 10 ms blocks of the capture clock (block
``floor((t_ns - t0_ns) / 10 ms)``), so that batch and live analysis see the
same blocks whatever the chunking. A block is *still* when, over the window
of +-5 blocks around it (110 ms), the magnitude of specific force varies
little (SD below ``accel_sd_mps2``), stays near g (mean deviation below
``accel_mean_dev_mps2``: tolerates accelerometer bias) and the sensor hardly
rotates (mean |gyro| below ``gyro_radps``). Blocks inside a run of at least
0.25 s without samples (lost link) are *breaks*. Sums are accumulated in a
fixed order, so results do not depend on how the data were chunked.

A constant-velocity stretch also looks still to an accelerometer; the caller
(:mod:`analysis.barbell`) therefore accepts a still run as rest only if the
integrated velocity there is small.

Legs (:func:`find_legs`)
------------------------
Between two rests the bar's vertical position is split into monotone legs at
its turning points, ignoring reversals smaller than ``min_swing_m`` (a
zig-zag filter). Turning points are extrema of position. The phase of a leg
runs from the last instant before its fastest sample at which the bar was at
rest (within the velocity's noise, ``rest_tol_mps``) or moving the other way,
to the first instant after it at which it is again (sub-sample, linear
interpolation; at rest within noise, the bound is extrapolated to v = 0).

Reps (:class:`RepAssembler`)
----------------------------
Eccentric-first lifts: a rep is a descent of at least ``min_rom_m`` followed
by a rise (the concentric leg) of at least ``min_rom_m`` and at least half the
descent (and vice versa), measured between turning points. Concentric-first lifts: a rise followed by a descent
under the same rules. Smaller movements (unracking, walk-outs, re-grips, leg
switches of alternating unilateral sets) are ignored. When the lift's order is
unknown, the first large leg decides.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.kinematics import interp_crossing, position_at
from records.units import STANDARD_GRAVITY_MPS2

BLOCK_NS: int = 10_000_000
"""Width of a rest-detection block: 10 ms."""
HALF_WINDOW_BLOCKS: int = 5
"""Half width of the rest-detection window in blocks (window = 11 blocks = 110 ms)."""
BREAK_MIN_EMPTY_BLOCKS: int = 25
"""A run of at least this many empty blocks (0.25 s without samples) is a break (lost link)."""

STILL, MOVING, BREAK = 1, 0, -1


@dataclass(frozen=True)
class StillnessThresholds:
    """Thresholds of the still-bar test over the 110 ms window."""

    accel_sd_mps2: float = 0.40
    accel_mean_dev_mps2: float = 1.5
    gyro_radps: float = 0.30

    def __post_init__(self) -> None:
        if not (self.accel_sd_mps2 > 0 and self.accel_mean_dev_mps2 > 0 and self.gyro_radps > 0):
            raise ValueError("stillness thresholds must be > 0")


def block_index(t_ns: np.ndarray, t0_ns: int) -> np.ndarray:
    """Block of each sample: ``(t_ns - t0_ns) // BLOCK_NS`` (int64)."""
    return (np.asarray(t_ns, dtype=np.int64) - np.int64(t0_ns)) // BLOCK_NS


def block_stats(
    blk: np.ndarray, accel_mps2: np.ndarray, gyro_radps: np.ndarray, first_block: int, n_blocks: int
) -> np.ndarray:
    """Per-block sums for blocks ``first_block .. first_block + n_blocks - 1``.

    Parameters
    ----------
    blk : numpy.ndarray
        (n,) non-decreasing block index of each sample (samples outside the
        requested range are ignored).
    accel_mps2, gyro_radps : numpy.ndarray
        (n, 3) specific force and angular rate.

    Returns
    -------
    numpy.ndarray
        (n_blocks, 4): count, sum of d, sum of d^2, sum of |gyro| where
        ``d = |f| - g`` (m/s^2). Accumulated sample by sample in time order.
    """
    out = np.zeros((n_blocks, 4))
    blk = np.asarray(blk, dtype=np.int64)
    lo = int(np.searchsorted(blk, first_block, side="left"))
    hi = int(np.searchsorted(blk, first_block + n_blocks, side="left"))
    if hi <= lo:
        return out
    b = blk[lo:hi] - first_block
    acc = np.asarray(accel_mps2)[lo:hi]
    gyr = np.asarray(gyro_radps)[lo:hi]
    d = np.einsum("ij,ij->i", acc, acc)
    np.sqrt(d, out=d)
    d -= STANDARD_GRAVITY_MPS2
    gnorm = np.einsum("ij,ij->i", gyr, gyr)
    np.sqrt(gnorm, out=gnorm)
    # np.bincount adds the weights one sample at a time in input order: the same sums whatever the chunking
    out[:, 0] = np.bincount(b, minlength=n_blocks)
    out[:, 1] = np.bincount(b, weights=d, minlength=n_blocks)
    out[:, 2] = np.bincount(b, weights=d * d, minlength=n_blocks)
    out[:, 3] = np.bincount(b, weights=gnorm, minlength=n_blocks)
    return out


def _window_sums(stats: np.ndarray) -> np.ndarray:
    """Sums over +-HALF_WINDOW_BLOCKS blocks, added in a fixed order (chunking-independent)."""
    h = HALF_WINDOW_BLOCKS
    m = stats.shape[0] - 2 * h
    win = stats[0:m].copy()
    for k in range(1, 2 * h + 1):
        win += stats[k : k + m]
    return win


def classify_blocks(
    stats: np.ndarray, thresholds: StillnessThresholds = StillnessThresholds()
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (:func:`still_blocks`) and the windowed mean of ``|f| - g`` per classified block, in one pass."""
    h = HALF_WINDOW_BLOCKS
    m = stats.shape[0] - 2 * h
    if m <= 0:
        return np.zeros(0, dtype=np.int8), np.zeros(0)
    win = _window_sums(stats)
    n = win[:, 0]
    ok = n >= 3
    nn = np.where(n > 0, n, 1.0)
    mean = win[:, 1] / nn
    var = np.maximum(win[:, 2] / nn - mean * mean, 0.0)
    gmean = win[:, 3] / nn
    still = (
        (var < thresholds.accel_sd_mps2**2)
        & (np.abs(mean) < thresholds.accel_mean_dev_mps2)
        & (gmean < thresholds.gyro_radps)
    )
    codes = np.where(ok, np.where(still, STILL, MOVING), BREAK).astype(np.int8)
    return codes, np.where(n > 0, mean, np.nan)


def still_blocks(stats: np.ndarray, thresholds: StillnessThresholds = StillnessThresholds()) -> np.ndarray:
    """Classify blocks from per-block sums (:func:`block_stats`).

    Only blocks with the full +-HALF_WINDOW_BLOCKS neighbourhood inside
    ``stats`` are classified; the result has ``len(stats) - 2 * HALF_WINDOW_BLOCKS``
    entries, for blocks ``HALF_WINDOW_BLOCKS .. len(stats) - HALF_WINDOW_BLOCKS - 1``.

    Returns
    -------
    numpy.ndarray
        int8 codes: STILL (1), MOVING (0), BREAK (-1: fewer than 3 samples in
        the window; runs of >= 0.25 s without samples are marked by the engine).
    """
    return classify_blocks(stats, thresholds)[0]


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a boolean array."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    d = np.diff(np.concatenate([[False], m, [False]]).astype(np.int8))
    return np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]


@dataclass
class Leg:
    """A monotone stretch of bar position between two turning points.

    Indices refer to the arrays the leg was found in; times are seconds on
    the same clock as those arrays' ``t_s``; ``t0_s``/``t1_s`` bound the leg's
    phase (:func:`_leg_bounds`), ``z0_m``/``z1_m`` are the positions there and
    ``pivot_z0_m``/``pivot_z1_m`` those at the turning points.
    """

    i0: int
    i1: int
    t0_s: float
    t1_s: float
    z0_m: float
    z1_m: float
    first_in_segment: bool = False
    last_in_segment: bool = False
    segment_start_s: float = 0.0
    segment_end_s: float = 0.0
    payload: dict[str, Any] = field(default_factory=dict)
    pivot_z0_m: float | None = None
    pivot_z1_m: float | None = None

    @property
    def rise_m(self) -> float:
        """Displacement over the phase (``t0_s`` to ``t1_s``)."""
        return self.z1_m - self.z0_m

    @property
    def top_z0_m(self) -> float:
        """Position at the turning point that opens the leg (the phase start if not given)."""
        return self.z0_m if self.pivot_z0_m is None else self.pivot_z0_m

    @property
    def top_z1_m(self) -> float:
        """Position at the turning point that closes the leg."""
        return self.z1_m if self.pivot_z1_m is None else self.pivot_z1_m

    @property
    def swing_m(self) -> float:
        """Displacement from turning point to turning point: what the rep rules compare (the phase may be
        shorter: a stall on the way up that stops the bar starts the phase again where it ends)."""
        return self.top_z1_m - self.top_z0_m


def _leg_bounds(
    t: np.ndarray, v: np.ndarray, a: int, b: int, rising: bool, rest_tol: np.ndarray | None = None
) -> tuple[float, float]:
    """Bounds of the leg's phase between samples a and b (sub-sample, linear interpolation).

    The phase starts at the last instant before the leg's fastest sample at which the bar was at rest
    or moving the other way, and ends at the first instant after it at which it is again. With
    ``rest_tol`` (per sample, the speed up to which the bar cannot be told from rest; see
    :func:`analysis.zupt.still_stretches`) the bar counts as at rest while ``|v| <= rest_tol``, and
    the bound found there is moved to where the velocity, extrapolated linearly over the next (start)
    or previous (end) ``BOUND_SLOPE_WINDOW_S``, reaches zero -- by at most ``BOUND_MAX_SHIFT_S`` and
    never past the last (first) instant at which the estimate itself is <= 0. Without it, "at rest"
    is ``v <= 0``. A pause (v = 0 on a still stretch), noise around zero at rest and a later small
    movement in the same direction after a pause stay outside.
    """
    raw = v if rising else -v
    sv = raw - rest_tol if rest_tol is not None else raw
    lo = max(a - 1, 0)
    hi = min(b + 1, len(t) - 1)
    k_pk = a + int(np.argmax(sv[a : b + 1]))
    if sv[k_pk] <= 0:
        return float(t[a]), float(t[b])
    nonpos = np.nonzero(sv[lo:k_pk] <= 0)[0]
    if nonpos.size:
        k = lo + int(nonpos[-1])
        t0 = interp_crossing(t[k], t[k + 1], sv[k], sv[k + 1])
        if rest_tol is not None:
            t0 = _extrapolate_to_zero(t, raw, rest_tol, t0, lo, k_pk, +1)
    else:
        t0 = float(t[lo])
    nonpos = np.nonzero(sv[k_pk + 1 : hi + 1] <= 0)[0]
    if nonpos.size:
        k = k_pk + 1 + int(nonpos[0])
        t1 = interp_crossing(t[k - 1], t[k], sv[k - 1], sv[k])
        if rest_tol is not None:
            t1 = _extrapolate_to_zero(t, raw, rest_tol, t1, k_pk, hi, -1)
    else:
        t1 = float(t[hi])
    return t0, t1


BOUND_SLOPE_WINDOW_S: float = 0.02
"""Window (s) over which the velocity's slope at a phase bound is taken (on its moving side)."""
BOUND_MAX_SHIFT_S: float = 0.15
"""Largest shift (s) of a phase bound by the extrapolation to v = 0."""


def _extrapolate_to_zero(
    t: np.ndarray, raw: np.ndarray, rest_tol: np.ndarray, tb: float, i0: int, i1: int, side: int
) -> float:
    """Move a bound found at ``raw = rest_tol`` (time ``tb``) to where the velocity reaches zero.

    The bar leaves rest (or comes to rest) with a force that changes continuously, so the acceleration
    is ~0 there and the velocity ~c (t - t0)^2 (constant rate of force development): from the velocity
    v and its slope v' at ``tb``, t0 = tb -+ 2 v / v'. The slope is taken over the BOUND_SLOPE_WINDOW_S
    on the moving side of ``tb``, which overestimates it for a velocity that grows like (t - t0)^2, so
    the shift errs on the short side; a sharp start or stop (a step in acceleration, v linear) is
    moved by v / v' too far, which is small where v' is large.
    """
    tol = float(np.interp(tb, t, rest_tol))
    if tol <= 0:
        return tb
    h = BOUND_SLOPE_WINDOW_S
    slope = (float(np.interp(tb + side * h, t, raw)) - float(np.interp(tb, t, raw))) / h
    if not slope > 0:
        return tb
    shift = min(2.0 * tol / slope, BOUND_MAX_SHIFT_S)
    # never past the last (first) zero crossing of the estimate itself (at a turnaround, where the bar
    # was moving the other way, that crossing is the bound)
    nonpos = np.nonzero(raw[i0 : i1 + 1] <= 0)[0] + i0
    if side > 0:
        nonpos = nonpos[t[nonpos] <= tb]
        if nonpos.size:
            k = int(nonpos[-1])
            limit = interp_crossing(t[k], t[k + 1], raw[k], raw[k + 1]) if k + 1 < t.size else float(t[k])
        else:
            limit = float(t[i0])
        return max(tb - shift, limit)
    nonpos = nonpos[t[nonpos] >= tb]
    if nonpos.size:
        k = int(nonpos[0])
        limit = interp_crossing(t[k - 1], t[k], raw[k - 1], raw[k]) if k > 0 else float(t[k])
    else:
        limit = float(t[i1])
    return min(tb + shift, limit)


def find_legs(
    t_s: np.ndarray, v_mps: np.ndarray, z_m: np.ndarray, min_swing_m: float, rest_tol_mps: np.ndarray | None = None
) -> list[Leg]:
    """Split a movement (from rest to rest) into monotone legs with a zig-zag filter.

    Parameters
    ----------
    t_s, v_mps, z_m : numpy.ndarray
        (n,) times, vertical velocity and position of one movement; the first
        and last samples are at rest.
    min_swing_m : float
        Reversals smaller than this (m) are ignored (> 0).
    rest_tol_mps : numpy.ndarray or None
        Per sample, the speed up to which the bar counts as at rest when bounding a leg's phase
        (:func:`_leg_bounds`); None: v = 0 exactly.

    Returns
    -------
    list of Leg
        In time order; consecutive legs alternate direction. The first leg
        starts at sample 0 and the last ends at sample n-1.
    """
    if not min_swing_m > 0:
        raise ValueError(f"min_swing_m must be > 0, got {min_swing_m}")
    t = np.asarray(t_s, dtype=np.float64)
    v = np.asarray(v_mps, dtype=np.float64)
    z = np.asarray(z_m, dtype=np.float64)
    n = len(t)
    if n < 3:
        return []
    # candidate turning points: where velocity changes sign (local extrema of position), and the end
    s = np.sign(v)
    nz = np.nonzero(s)[0]
    cand = []
    if nz.size > 1:
        ch = nz[1:][s[nz[1:]] != s[nz[:-1]]]
        # the extremum sits at the sample of smallest |v| between the last nonzero and the change
        cand = ch.tolist()
    cand.append(n - 1)
    pivots = [0]
    trend = 0  # +1 rising, -1 falling, 0 undecided
    ext = 0
    for i in cand:
        zi = z[i]
        if trend == 0:
            if zi - z[pivots[-1]] >= min_swing_m:
                trend, ext = 1, i
            elif zi - z[pivots[-1]] <= -min_swing_m:
                trend, ext = -1, i
            else:
                # keep the start at rest; track the most extreme point seen so far in both senses
                continue
        elif trend == 1:
            if zi >= z[ext]:
                ext = i
            elif z[ext] - zi >= min_swing_m:
                pivots.append(ext)
                trend, ext = -1, i
        else:
            if zi <= z[ext]:
                ext = i
            elif zi - z[ext] >= min_swing_m:
                pivots.append(ext)
                trend, ext = 1, i
    if trend != 0 and ext != pivots[-1]:
        pivots.append(ext)
    # refine the exact extremum between candidates (the sample of min/max position in the leg)
    refined = [pivots[0]]
    for a, b in itertools.pairwise(pivots):
        seg = z[a : b + 1]
        if z[b] > z[a]:
            k = a + int(np.argmax(seg))
        else:
            k = a + int(np.argmin(seg))
        if k != refined[-1]:
            refined.append(k)
    if refined[-1] != n - 1:
        refined.append(n - 1)
    legs: list[Leg] = []
    for j, (a, b) in enumerate(itertools.pairwise(refined)):
        rising = z[b] >= z[a]
        ta, tb = _leg_bounds(t, v, a, b, rising, rest_tol_mps)
        za = position_at(t, v, z, ta)
        zb = position_at(t, v, z, tb)
        legs.append(
            Leg(
                i0=a,
                i1=b,
                t0_s=ta,
                t1_s=tb,
                z0_m=za,
                z1_m=zb,
                first_in_segment=j == 0,
                last_in_segment=j == len(refined) - 2,
                segment_start_s=float(t[0]),
                segment_end_s=float(t[-1]),
                pivot_z0_m=float(z[a]),
                pivot_z1_m=float(z[b]),
            )
        )
    return legs


@dataclass
class AssembledRep:
    """Bounds of one recognised rep and its concentric leg."""

    start_s: float
    end_s: float
    concentric: Leg
    eccentric_rom_m: float


class RepAssembler:
    """Turn a stream of legs into reps (see the module docstring).

    Feed legs segment by segment with :meth:`add`; call :meth:`reset` after a
    break in the data (the movement across it is unknown).
    """

    def __init__(self, eccentric_first: bool | None, min_rom_m: float, min_phase_ratio: float = 0.5) -> None:
        if not min_rom_m > 0:
            raise ValueError(f"min_rom_m must be > 0, got {min_rom_m}")
        if not 0 < min_phase_ratio <= 1:
            raise ValueError(f"min_phase_ratio must be within (0, 1], got {min_phase_ratio}")
        self.eccentric_first = eccentric_first
        self.min_rom_m = min_rom_m
        self.ratio = min_phase_ratio
        self.reset()

    def reset(self) -> None:
        self._since: list[Leg] = []  # legs since the end of the last rep (eccentric-first)
        self._pending_up: Leg | None = None  # concentric-first: last large rise
        self._pending_low: float | None = None  # lowest point after the pending rise
        self._pending_end: Leg | None = None

    def add(self, legs: list[Leg]) -> list[AssembledRep]:
        """Consume the legs of one movement segment (in order); return completed reps."""
        out: list[AssembledRep] = []
        for k, leg in enumerate(legs):
            big = abs(leg.swing_m) >= self.min_rom_m
            if self.eccentric_first is None and big:
                self.eccentric_first = leg.swing_m < 0
            later_big = any(abs(x.swing_m) >= self.min_rom_m for x in legs[k + 1 :])
            if self.eccentric_first is None or self.eccentric_first:
                rep = self._add_ecc_first(leg, big, later_big)
            else:
                rep = self._add_con_first(leg, big, later_big)
            if rep is not None:
                out.append(rep)
        return out

    def _add_ecc_first(self, leg: Leg, big: bool, later_big: bool) -> AssembledRep | None:
        if big and leg.swing_m > 0 and self._since:
            highest = max(x.top_z0_m for x in self._since)
            descent = highest - leg.top_z0_m
            if (
                descent >= self.min_rom_m
                and descent >= self.ratio * leg.swing_m
                and leg.swing_m >= self.ratio * descent
            ):
                # the rep starts where the lowering that ends at this bottom began
                down = self._since[-1]
                start = down.segment_start_s if down.first_in_segment else down.t0_s
                end = leg.segment_end_s if (leg.last_in_segment or not later_big) else leg.t1_s
                self._since = []
                return AssembledRep(start_s=start, end_s=end, concentric=leg, eccentric_rom_m=descent)
        self._since.append(leg)
        # keep only legs after the highest point's leg is still needed; bound memory
        if len(self._since) > 64:
            self._since = self._since[-64:]
        return None

    def _add_con_first(self, leg: Leg, big: bool, later_big: bool) -> AssembledRep | None:
        if big and leg.swing_m > 0:
            self._pending_up = leg
            self._pending_low = None
            return None
        if self._pending_up is not None and leg.swing_m < 0:
            up = self._pending_up
            low = leg.top_z1_m if self._pending_low is None else min(self._pending_low, leg.top_z1_m)
            self._pending_low = low
            descent = up.top_z1_m - low
            if descent >= self.min_rom_m and descent >= self.ratio * up.swing_m and up.swing_m >= self.ratio * descent:
                start = up.segment_start_s if up.first_in_segment else up.t0_s
                end = leg.segment_end_s if (leg.last_in_segment or not later_big) else leg.t1_s
                self._pending_up = None
                self._pending_low = None
                return AssembledRep(start_s=start, end_s=end, concentric=up, eccentric_rom_m=descent)
        return None
