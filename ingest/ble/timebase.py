"""Sample-time reconstruction for fixed-rate BLE sensors without timestamps (pure numpy).

Why: a WitMotion frame carries no timestamp and no sequence number, and notifications leave the
device only at connection events (every 7.5-30 ms), so several samples arrive together and the
arrival time is not the sample time (docs/design.md section 5).

Model. Sample ``k`` of a link segment is taken at ``s_k = c + k P`` (``P`` = the device's true
period, which differs slightly from the nominal one) and arrives at ``a >= s_k + d`` (``d`` the
smallest radio + host latency); a sample waits at most about one connection interval. For each
received sample ``i`` the device index is ``k_i = i + L_i`` where ``L_i`` counts the samples lost
before it (non-decreasing). Write ``g_i = a_i - i P``: without loss ``g`` stays within a band
``[c + d, c + d + interval]`` whose *lower envelope* is flat; every lost sample raises the envelope
by exactly ``P``; a wrong ``P`` tilts it.

Algorithm (offline, :func:`reconstruct_sample_times`), per link segment (gaps split segments):

1. Window minima of ``g`` (computed with the nominal period ``P0``) over windows spanning several
   connection events trace the envelope.
2. Successive minima differ by ``eps * P0 * di + P0 * l`` (``l >= 0`` lost samples, ``eps`` the
   relative rate error, ``di`` the index distance). ``eps`` is found by a grid search that makes
   these differences closest to whole non-negative multiples of ``P0`` (losses vanish modulo
   ``P0``, a rate error does not), then ``l`` by rounding.
   With bunching, the period is instead the longest one whose envelope never falls by more than a
   period (:func:`_fit_bunched`). That fit also runs on windows of >= 1 s (``FIT_WINDOW_S``); if
   the coarse period explains the segment without any loss it is taken, so that a busy host's
   delay episodes (every notification a few ms late for a while) are not mistaken for a faster
   clock.
3. A least-squares line through the envelope points ``(i_j + L_j, a_j)`` (outliers above half a
   period dropped, refitted) gives ``P`` and ``c``. ``P`` is pooled over segments (one device clock).
4. Per sample, ``L_i`` is the suffix minimum of ``round((g_i - base) / P)``: the largest
   non-decreasing loss count with which no sample would arrive before the envelope; a lost sample
   thus shows as a jump of the envelope by >= 1 period beyond the bunching. Sample times are
   ``base + (i + L_i) P`` (on the envelope: the constant latency ``d`` is not observable).

``lost_samples`` = samples expected at the fitted rate between the first and last received sample
of each segment minus samples received: losses inside gaps, or before the first/after the last
sample of a segment, are not counted (the contract: "outside gaps").

:class:`OnlineTimebase` is the causal variant for live use (rep cues while streaming): it keeps
the nominal period, follows the envelope downwards, decides a sample on the envelope at once and a
late one after a look-ahead, and counts a loss only when the envelope rose and stays up (a delayed
burst draining faster than the rate is a delay, not a loss).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class SegmentFit:
    """One link segment: samples ``[start, stop)`` of the input."""

    start: int
    stop: int
    lost_samples: int
    base_ns: float
    """Envelope time of device index 0 of this segment (capture clock)."""


@dataclass
class Timebase:
    """Result of :func:`reconstruct_sample_times`.

    Attributes
    ----------
    t_ns : numpy.ndarray
        int64 reconstructed sample times on the capture clock, non-decreasing.
    device_index : numpy.ndarray
        int64 index of each sample on its segment's device grid (``i + lost before it``).
    rate_hz : float
        The device's rate as fitted over the session (nominal if it could not be fitted).
    lost_samples : int
        Expected at the fitted rate minus received, summed over segments (outside gaps).
    segments : list of SegmentFit
    """

    t_ns: np.ndarray
    device_index: np.ndarray
    rate_hz: float
    lost_samples: int
    segments: list[SegmentFit] = field(default_factory=list)
    rate_fitted: bool = False


def _check_inputs(arrival_t_ns: np.ndarray, nominal_rate_hz: float) -> np.ndarray:
    a = np.asarray(arrival_t_ns)
    if a.ndim != 1:
        raise ValueError(f"arrival_t_ns must be 1-D, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"arrival_t_ns must be integer nanoseconds, got dtype {a.dtype}")
    if not (np.isfinite(nominal_rate_hz) and nominal_rate_hz > 0):
        raise ValueError(f"nominal_rate_hz must be a positive number, got {nominal_rate_hz}")
    a = a.astype(np.int64)
    if a.size > 1 and np.any(np.diff(a) < 0):
        raise ValueError("arrival_t_ns must be non-decreasing (arrival order)")
    return a


def split_segments(arrival_t_ns: np.ndarray, gaps_ns: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Index ranges ``[start, stop)`` of the samples between gaps (a sample arriving at or before a
    gap's start belongs to the segment before it)."""
    a = np.asarray(arrival_t_ns, dtype=np.int64)
    bounds = [0]
    for start_ns, end_ns in sorted(gaps_ns):
        if end_ns < start_ns:
            raise ValueError(f"gap ends before it starts: ({start_ns}, {end_ns})")
        bounds.append(int(np.searchsorted(a, start_ns, side="right")))
    bounds.append(a.size)
    bounds = sorted(set(bounds))
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def _suffix_min(v: np.ndarray) -> np.ndarray:
    return np.minimum.accumulate(v[::-1])[::-1]


def _window_size(x: np.ndarray, p0: float) -> int:
    """Samples per window so that a window spans about three connection events."""
    d = np.diff(x)
    between = d[d > 0.5 * p0]  # gaps between connection events (or between unbunched samples)
    spacing = float(np.median(between)) if between.size else p0
    return int(np.clip(np.ceil(3.0 * max(spacing, p0) / p0), 8, 1024))


FIT_WINDOW_S = 1.0


def _fit_window(x: np.ndarray, p0: float) -> int:
    """Samples per envelope window for the rate fit: at least ``FIT_WINDOW_S`` of samples."""
    return max(_window_size(x, p0), int(np.ceil(FIT_WINDOW_S * NS_PER_S / p0)))


def _envelope_points(x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window of ``w`` samples, the sample arriving earliest relative to the index grid.

    Delayed arrivals (host hiccups) only raise ``x``, so window minima ignore them.
    """
    n = x.size
    nwin = max(1, n // w)
    w_eff = n // nwin
    i = np.arange(nwin * w_eff)
    # Selection with a nominal grid is good enough: within one window the rate error is tiny.
    g = x[: nwin * w_eff] - i * (x[-1] - x[0]) / max(n - 1, 1)
    arg = np.argmin(g.reshape(nwin, w_eff), axis=1) + np.arange(nwin) * w_eff
    return arg.astype(np.float64), x[arg]


def _max_drop(idx: np.ndarray, y: np.ndarray, period: float, robust: bool = False) -> float:
    """Largest fall of ``y - idx * period`` from an earlier to a later envelope point.

    ``robust``: points above the running median of five are first lowered to it, so that an
    isolated host hiccup (a late burst raises one or two points) does not look like a fall.
    """
    h = y - idx * period
    if robust and h.size >= 5:
        pad = np.concatenate([h[:1].repeat(2), h, h[-1:].repeat(2)])
        h = np.minimum(h, np.median(np.lib.stride_tricks.sliding_window_view(pad, 5), axis=1))
    if h.size < 2:
        return 0.0
    later_min = _suffix_min(h)[1:]
    return float(np.max(h[:-1] - later_min))


def _fit_bunched(
    pts: list[tuple[np.ndarray, np.ndarray]], p0: float, max_rel: float, tolerance: float, robust: bool = False
) -> float | None:
    """Bunched arrivals: the longest period whose envelope never falls by more than one period.

    With bunching the envelope ``arrival - i P`` of the true period moves within one period (the
    sampling phase against the connection events) and rises by one period per lost sample; a
    longer period makes it fall without bound over every loss-free stretch. So the device period
    is the longest one whose envelope never falls by more than ``1 + tolerance`` periods. Lost
    samples inside bunches partly hide a too long period over short loss-free stretches: with
    bunching *and* random loss the fitted rate can be low by up to about the loss rate divided by
    the longest loss-free stretch (see docs/streaming.md).
    """
    usable = [(i, y) for i, y in pts if i.size >= 3]
    if not usable:
        return None

    def ok(period: float) -> bool:
        return all(_max_drop(i, y, period, robust) <= (1.0 + tolerance) * period for i, y in usable)

    grid = p0 * (1.0 + np.linspace(-max_rel, max_rel, 401))
    good = [ok(float(p)) for p in grid]
    if not any(good):
        return None
    last = max(k for k, g in enumerate(good) if g)
    if last == len(grid) - 1:
        return None  # no bound within the plausible range: too little data
    lo, hi = float(grid[last]), float(grid[last + 1])
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _phase_rate_error(x: np.ndarray, p0: float, max_rel: float) -> tuple[float, float] | None:
    """Unbunched arrivals: relative rate error from the phase of the envelope modulo ``P0``.

    Lost samples shift the envelope by whole periods, which vanish modulo the period; a rate
    error does not. Returns ``(eps, cost)``: the grid value of ``P / P0 - 1`` that makes the
    steps between window minima closest to whole non-negative numbers of periods.
    """
    w = 8
    n = x.size
    nwin = n // w
    if nwin < 4:
        return None
    g = x - np.arange(n, dtype=np.float64) * p0
    arg = np.argmin(g[: nwin * w].reshape(nwin, w), axis=1) + np.arange(nwin) * w
    di = np.diff(arg).astype(np.float64)
    dm = np.diff(g[arg]) / p0
    eps_max = min(max_rel, 0.45 / w)
    step = 0.01 / w
    grid = np.arange(-eps_max, eps_max + step / 2, step)
    # Robust cost: a window disturbed by a host hiccup costs at most a quarter period squared.
    # One grid value at a time: the same numbers as the (grid x windows) matrix, without holding
    # several such matrices (an hour at 200 Hz: 33 x 84,000 values, ~22 MB each).
    cost = np.empty(grid.size)
    for j, eps in enumerate(grid.tolist()):
        r = dm - eps * di
        whole = np.round(r)
        cost[j] = np.minimum(np.where(whole < 0, r**2, (r - whole) ** 2), 0.25).sum()
    k = int(np.argmin(cost))
    zero = int(np.argmin(np.abs(grid)))
    if cost[zero] - cost[k] < 1.0:  # not clearly better than the nominal rate: keep nominal
        k = zero
    return float(grid[k]), float(cost[k])


def _refine_period(x: np.ndarray, period: float) -> tuple[float, float]:
    """Least-squares line through the envelope samples, given the loss counts from ``period``."""
    for _ in range(3):
        loss, base = _assign(x, period)
        k = np.arange(x.size) + loss
        late = x - base - k * period
        sel = late <= 0.25 * period
        if sel.sum() < 3:
            break
        slope = float(np.polyfit(k[sel].astype(np.float64), x[sel], 1)[0])
        done = abs(slope - period) < 1e-9 * period
        period = slope
        if done:
            break
    return period, float(x.size)


def _typical_band(late: np.ndarray, x: np.ndarray, period: float) -> float:
    """How late samples typically arrive behind the envelope (periods): the median over windows of
    about three connection events of the window's largest lateness. Robust to rare host hiccups,
    which make a few samples very late."""
    n = late.size
    if n < 2:
        return 0.0
    w = _window_size(x, period)
    nwin = n // w
    if nwin < 3:
        return float(late.max())
    return float(np.median(late[: nwin * w].reshape(nwin, w).max(axis=1)))


def _assign(x: np.ndarray, period: float) -> tuple[np.ndarray, float]:
    """Loss counts per sample and the envelope base (offset of device index 0 from ``x[0]``)."""
    n = x.size
    r = (x - x[0]) / period - np.arange(n)
    base = float(r[: min(n, 64)].min())
    for _ in range(3):
        loss = np.maximum(_suffix_min(np.floor(r - base + 0.5).astype(np.int64)), 0)
        # Re-base on the whole segment's envelope: its lowest points should sit at 0.
        low = float(np.quantile(r - base - loss, 0.002)) if n > 1 else 0.0
        if abs(low) < 0.05:
            break
        base += low
    # Near the end of a segment a loss step has no later samples to confirm it (the last
    # sample of a bunch looks late by the whole bunch): there, count losses only for samples
    # later than the bunching band seen over the segment.
    late = r - base - loss
    band = _typical_band(late, x, period)
    start = int(np.searchsorted(x, x[-1] - (band + 1.0) * period))
    if 0 < start < n:
        tail = np.maximum(loss[start - 1], np.ceil(r[start:] - base - band - 0.5)).astype(np.int64)
        loss[start:] = np.maximum.accumulate(np.minimum(tail, loss[start:]))
    return loss, base * period


def reconstruct_sample_times(
    arrival_t_ns: np.ndarray,
    nominal_rate_hz: float,
    gaps_ns: Sequence[tuple[int, int]] = (),
    *,
    max_rel_rate_error: float = 0.02,
    tolerance: float = 0.05,
    jitter_ns: float = 250_000.0,
) -> Timebase:
    """Reconstruct sample times of a fixed-rate sensor from per-sample arrival times.

    Parameters
    ----------
    arrival_t_ns : numpy.ndarray
        int64 arrival time of each received sample (capture clock), in arrival order. Samples of
        one notification share its arrival time.
    nominal_rate_hz : float
        The configured output rate.
    gaps_ns : sequence of (start_ns, end_ns)
        Intervals without a link (disconnect -> reconnect) on the capture clock.
    max_rel_rate_error : float
        Largest plausible relative difference between the device's true and nominal rate.

    Returns
    -------
    Timebase
    """
    a = _check_inputs(arrival_t_ns, nominal_rate_hz)
    p0 = NS_PER_S / float(nominal_rate_hz)
    segments = split_segments(a, gaps_ns)
    xs = [(a[lo:hi] - a[lo]).astype(np.float64) for lo, hi in segments]
    diffs = np.concatenate([np.diff(x) for x in xs]) if xs else np.zeros(0)
    bunched = bool(diffs.size) and float(np.median(diffs)) < 0.25 * p0
    fitted: float | None = None
    if bunched:
        pts = [_envelope_points(x, _window_size(x, p0)) for x in xs if x.size >= 8]
        tol = max(tolerance, jitter_ns / p0)
        fitted = _fit_bunched(pts, p0, max_rel_rate_error, tol)
        if fitted is None:  # host hiccups: try again with isolated late points lowered
            fitted = _fit_bunched(pts, p0, max_rel_rate_error, tol, robust=True)
        # A busy host delays every notification for a while (measured on the virtual link: 1.5-2.5
        # ms for ~0.1 s); when that ends the fine envelope falls by a few periods, which only a
        # shorter period "explains" (a 1 kHz stream came out 1 % fast, with 631 phantom losses).
        # Envelope windows of a second or more see through such episodes but hide a too long
        # period behind random losses. So: if a period fitted on the coarse envelope explains the
        # whole segment without any loss (its coarse envelope never rises by a period), take it.
        coarse = [_envelope_points(x, _fit_window(x, p0)) for x in xs if x.size >= 8]
        steady = _fit_bunched(coarse, p0, max_rel_rate_error, tol)
        if steady is not None and all(
            _max_drop(i, -y, -steady) <= (1.0 + tol) * steady for i, y in coarse if i.size >= 2
        ):
            fitted = steady
        # Time per received sample between the first and last envelope points is another upper
        # bound of the period (losses only lengthen it), exact to a period over the span without loss.
        span = sum(float(y[-1] - y[0]) for i, y in pts if i.size >= 2)
        count = sum(float(i[-1] - i[0]) for i, y in pts if i.size >= 2)
        if fitted is not None and count > 0:
            fitted = min(fitted, span / count)
    else:
        estimates = []
        for x in xs:
            ph = _phase_rate_error(x, p0, max_rel_rate_error)
            if ph is not None:
                estimates.append(_refine_period(x, p0 * (1.0 + ph[0])))
        if estimates:
            fitted = float(np.average([e[0] for e in estimates], weights=[e[1] for e in estimates]))
            if abs(fitted / p0 - 1.0) > max_rel_rate_error:
                fitted = None
    if fitted is not None and xs:
        # A rate difference that moves no sample by a twentieth of a period over the longest
        # segment is not resolvable: keep the nominal period, so that the session's times equal
        # the live (nominal-rate) ones exactly and live reps equal the final analysis.
        longest = max(x.size for x in xs)
        if abs(fitted - p0) * longest < 0.05 * p0:
            fitted = None
    period = p0 if fitted is None else fitted
    t = np.empty(a.size, dtype=np.int64)
    idx = np.empty(a.size, dtype=np.int64)
    seg_fits: list[SegmentFit] = []
    total_lost = 0
    prev_end = np.iinfo(np.int64).min
    for lo, hi in segments:
        x = (a[lo:hi] - a[lo]).astype(np.float64)
        loss, base_rel = _assign(x, period)
        k = np.arange(hi - lo, dtype=np.int64) + loss
        times = np.rint(a[lo] + base_rel + k * period).astype(np.int64)
        times = np.maximum(times, prev_end)  # segments never overlap
        t[lo:hi] = times
        idx[lo:hi] = k
        lost = int(loss[-1])
        total_lost += lost
        seg_fits.append(SegmentFit(lo, hi, lost, float(a[lo] + base_rel)))
        prev_end = int(times[-1])
    return Timebase(t, idx, NS_PER_S / period, total_lost, seg_fits, rate_fitted=fitted is not None)


def _window_mins(r: list[float], k: int, width: int) -> list[float]:
    """``[min(r[j:j + width]) for j in range(k)]`` in O(len + k) instead of O(k * width).

    Every window shares the core ``r[k - 1:width]``; window j adds ``r[j:k - 1]`` on the left (a
    suffix minimum) and ``r[width:j + width]`` on the right (a prefix minimum). Windows are cut at
    the end of ``r``.
    """
    n = len(r)
    if k <= 0:
        return []
    if k > width or k > n:  # no shared core (a long flush): the plain way
        return [min(r[j : j + width]) for j in range(k)]
    core = min(r[k - 1 : min(n, width)])
    left = [core] * k  # left[j] = min(r[j:k - 1], core)
    for j in range(k - 2, -1, -1):
        left[j] = min(r[j], left[j + 1])
    out = [left[0]]
    right = core
    for j in range(1, k):
        e = j + width - 1  # the index window j adds on the right
        if e < n:
            right = min(right, r[e])
        out.append(min(left[j], right))
    return out


class OnlineTimebase:
    """Sample times for live use, final after a short look-ahead (fed notification by notification).

    Keeps the nominal period and, per segment, the lower envelope of ``arrival - i P``. A sample's
    time is decided once ``lookahead_s`` of later samples have arrived (or on :meth:`flush`): the
    smallest lateness among it and those later samples says whether the envelope moved: up by
    whole periods (samples were lost before it) or down (the envelope is lower than thought). A
    host hiccup that delays one bunch is thus not mistaken for a loss, because the next bunch is
    on time again. Good to about half a period on top of what the nominal rate misses, which is
    what the live rep cue needs; the stored summary uses :func:`reconstruct_sample_times` over
    the whole session.
    """

    def __init__(self, nominal_rate_hz: float, *, lookahead_s: float = 0.08) -> None:
        if not (np.isfinite(nominal_rate_hz) and nominal_rate_hz > 0):
            raise ValueError(f"nominal_rate_hz must be a positive number, got {nominal_rate_hz}")
        if lookahead_s < 0:
            raise ValueError(f"lookahead_s must be >= 0, got {lookahead_s}")
        self.period_ns = NS_PER_S / float(nominal_rate_hz)
        self.lookahead = max(1, int(np.ceil(lookahead_s * nominal_rate_hz)))
        self.lost_samples = 0
        self._last_t = np.iinfo(np.int64).min
        self._reset()

    def _reset(self) -> None:
        self._origin: int | None = None
        self._received = 0  # samples received in this segment
        self._done = 0  # samples of this segment whose time is final
        self._pending: list[float] = []  # r = arrival/P - i of samples not yet final
        self._loss = 0
        self._base: float | None = None

    @property
    def pending(self) -> int:
        """Samples received whose time is not final yet."""
        return len(self._pending)

    def new_segment(self) -> np.ndarray:
        """After a reconnect (the device grid restarts): the times still pending, then reset."""
        out = self.flush()
        self._reset()
        return out

    def push(self, arrival_t_ns: int, n: int) -> np.ndarray:
        """Add ``n`` samples that arrived at ``arrival_t_ns``; return the times that became final
        (int64, capture clock, in sample order; possibly fewer or more than ``n``)."""
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        if self._origin is None:
            self._origin = int(arrival_t_ns)
        rel = (int(arrival_t_ns) - self._origin) / self.period_ns
        for _ in range(n):
            self._pending.append(rel - self._received)
            self._received += 1
        return self._decide(final=False)

    def flush(self) -> np.ndarray:
        """Times of every pending sample (end of stream)."""
        return self._decide(final=True)

    @staticmethod
    def _catching_up(window: list[float]) -> bool:
        """Lateness falls across the look-ahead: the lowest lateness of its second half is more
        than half a period below that of its first half (each half spans at least one connection
        event, so bunching alone does not trigger it; a loss leaves the lateness flat)."""
        h = len(window) // 2
        return min(window[h:]) < min(window[:h]) - 0.5

    def _decide(self, final: bool) -> np.ndarray:
        keep = 0 if final else self.lookahead
        k = max(0, len(self._pending) - keep)
        if not final and self._base is not None:
            # Early decision: a sample on the current envelope (lateness under half a period) proves
            # that no loss precedes it, and so for every pending sample before it; they need no
            # look-ahead. Only a later, lower envelope could still move them (a device clock faster
            # than nominal, by at most half a period). This is what lets a rep be reported without
            # waiting the look-ahead after the bar comes to rest.
            level = self._base + self._loss + 0.5
            r = self._pending
            for e in range(len(r) - 1, k - 1, -1):
                if r[e] < level:
                    k = e + 1
                    break
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        out = np.empty(k, dtype=np.int64)
        r = self._pending
        origin = self._origin or 0
        lows = _window_mins(r, k, self.lookahead + 1)
        for j in range(k):
            low = lows[j]
            if self._base is None:
                self._base = low
            late = low - self._base - self._loss
            if late < -0.5:  # the envelope is lower than thought
                # A loss counted earlier in this segment that the envelope now contradicts was a
                # delay (a backlog drained slower than the catch-up test saw): take it back first.
                undo = min(self._loss, int(np.floor(-late + 0.5)))
                self._loss -= undo
                self.lost_samples -= undo
                late += undo
                if late < -0.5:
                    self._base += late
            elif late >= 0.5 and len(r) - j > self.lookahead and not self._catching_up(r[j : j + self.lookahead + 1]):
                # The envelope rose by whole periods: samples were lost before this one. No verdict
                # at the end of a stream (the short window may hold no envelope sample) nor while a
                # backlog drains (lateness falling across the look-ahead: the samples arrive faster
                # than the rate, so they were delayed on the way, not lost; a delayed burst holds as
                # many samples as the silence before it lasted periods).
                jump = int(np.floor(late + 0.5))
                self._loss += jump
                self.lost_samples += jump
            t = origin + (self._base + self._done + self._loss) * self.period_ns
            t_int = max(round(t), self._last_t + 1)
            out[j] = t_int
            self._last_t = t_int
            self._done += 1
        del self._pending[:k]
        return out
