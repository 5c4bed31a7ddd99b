"""Bar-velocity analysis of an IMU session: reps, sets and their metrics.

:func:`analyse_session` (batch) and :class:`analysis.live.LiveRepDetector`
(live) run the same :class:`BarbellEngine`; the batch path is the engine fed
with everything at once, so both give identical results on the same data.

How a session is processed (details in the modules named)
--------------------------------------------------------
1. Rest detection on 10 ms blocks of the capture clock (:mod:`analysis.reps`).
2. A *movement* is the stretch between two rests. A still run counts as the
   rest that closes a movement when it lasts ``stillness_window_s`` (0.15 s;
   the still-test window adds 50 ms of look-ahead, so the bar must be still
   for ~0.2 s) and the velocity integrated up to it is below 0.12 m/s + 0.03 m/s
   per second of movement (a constant-velocity stretch also looks still to an
   accelerometer), or when it lasts 2 s whatever the velocity. When the bar is
   back where the movement started (drift-corrected displacement within
   max(4 cm, 15 % of the largest excursion): the top of a squat, the floor
   after a deadlift) a still run of 0.08 s is enough; a stall mid-rep is still
   but far from the start, so it needs the full window. After the first
   rest a still block must also keep mean |f| near the rest's own (a slow,
   steadily accelerating lift passes the variance test).
3. For each movement (:mod:`analysis.kinematics`): orientation (fused angles,
   else gyro + accelerometer at the rests), vertical acceleration with the
   gravity reading of the rests removed, trapezoid integration from v = 0,
   linear drift correction to v = 0 at the closing rest, position.
4. Legs at the velocity zero crossings, reps from legs (:mod:`analysis.reps`),
   metrics of each concentric leg (:mod:`analysis.rep_metrics`).
5. Sets: a rep starting more than ``set_rest_s`` after the previous rep ended
   opens a new set; velocity loss per rep and per set.

A movement that contains a break in the data (no samples for >= 0.25 s, or a
gap given by the caller) or that is not bounded by rests (data starting or
ending mid-movement, or longer than 30 s) is discarded and listed in
``BarbellAnalysis.discarded``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analysis.buffers import AppendBuffer
from analysis.exercises import exercise_info
from analysis.kinematics import (
    cumulative_trapezoid,
    linear_drift_correction,
    up_from_angles,
    up_from_gyro,
    vertical_specific_force,
)
from analysis.rep_metrics import concentric_metrics, set_velocity_loss_pct
from analysis.reps import (
    BLOCK_NS,
    BREAK,
    BREAK_MIN_EMPTY_BLOCKS,
    HALF_WINDOW_BLOCKS,
    STILL,
    RepAssembler,
    StillnessThresholds,
    block_index,
    block_stats,
    classify_blocks,
    find_legs,
    runs,
)
from records.imu import ImuSamples

DEFAULT_STILLNESS_WINDOW_S: float = 0.15
"""Still run (s) that closes a movement; the still test looks 50 ms further ahead."""
RETURN_STILLNESS_WINDOW_S: float = 0.08
"""Shorter still run (s) that closes a movement when the bar is back where the movement started."""
RETURN_TOLERANCE_M: float = 0.04
RETURN_TOLERANCE_FRACTION: float = 0.15
"""'Back where it started': |drift-corrected displacement| at the still run's start within
max(0.04 m, 15 % of the movement's largest excursion)."""
REST_VELOCITY_CHECK_MPS: float = 0.12
REST_VELOCITY_CHECK_MPS_PER_S: float = 0.03
"""A still run is a rest only if |integrated velocity| there is below 0.12 m/s + 0.03 m/s per second of
movement (drift grows with time)..."""
REST_DRIFT_MPS2: float = 0.15
"""Outside the first rest, a block is quiet only if its windowed mean |f| is within this (m/s^2) of the
last rest's: a steady acceleration of a slow, heavy lift passes the variance test, not this one
(|f| does not depend on orientation)."""
FORCED_REST_S: float = 2.0
"""...or if it lasts at least this long (s)."""
PRE_CONTEXT_S: float = 0.5
"""Rest before a movement used for its gravity/orientation reference (s)."""
MAX_MOVEMENT_S: float = 30.0
"""Movements longer than this without a rest are discarded (s)."""
BACK_OFF_S: float = 0.25
"""Integration of a movement starts this long before the detector saw it move (within the rest)."""
ONSET_ACCEL_MPS2: float = 0.35
"""Within the back-off window, integration starts where |vertical acceleration| (30 ms average) first
exceeds this (m/s^2), less ONSET_MARGIN_S: velocity is anchored to 0 right where the bar starts to move."""
ONSET_SMOOTH_S: float = 0.03
ONSET_SEARCH_AFTER_S: float = 0.3
ONSET_MAX_VELOCITY_MPS: float = 0.03
"""The onset is used only if the velocity integrated up to it from the rest is below this (m/s): a slow,
heavy start reaches the acceleration threshold only when the bar is already moving."""
ONSET_MARGIN_S: float = 0.03
LONG_REST_S: float = 0.4
"""A rest at least this long gives the gravity reference; shorter rests reuse the last one (s)."""
ACTIVE_VELOCITY_MPS: float = 0.01
"""A rep's start/end (leaving/returning to rest) is where |v| crosses this (m/s)."""


@dataclass(frozen=True)
class RepMetrics:
    """One rep, with the fields of the CLI contract's ``replay`` rep (times on the input t_ns clock).

    RFD fields are EXPERIMENTAL (see :mod:`analysis.rep_metrics`).
    """

    index: int
    set_index: int
    start_ns: int
    end_ns: int
    concentric_start_ns: int
    concentric_end_ns: int
    mean_velocity_mps: float
    mean_propulsive_velocity_mps: float
    peak_velocity_mps: float
    time_to_peak_velocity_s: float
    rom_m: float
    mean_power_w: float
    peak_force_n: float
    peak_rfd_n_per_s: float
    rfd_0_100ms_n_per_s: float | None
    velocity_loss_pct: float
    peak_system_force_n: float | None = None
    eccentric_rom_m: float = 0.0
    index_in_set: int = 1

    def to_contract(self) -> dict[str, Any]:
        """The rep as the contract's JSON object (``peak_system_force_n`` only when known)."""
        d = asdict(self)
        if d["peak_system_force_n"] is None:
            del d["peak_system_force_n"]
        return d


@dataclass(frozen=True)
class SetSummary:
    """One set: ``velocity_loss_pct = 100 (best - last) / best`` on mean concentric velocity."""

    set_index: int
    reps: int
    best_mean_velocity_mps: float
    velocity_loss_pct: float
    start_ns: int
    end_ns: int

    def to_contract(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DiscardedMovement:
    """A movement that could not be analysed (times on the input clock)."""

    start_ns: int
    end_ns: int
    reason: str


@dataclass
class BarbellAnalysis:
    """Result of :func:`analyse_session`."""

    exercise: str
    load_kg: float
    reps: list[RepMetrics]
    sets: list[SetSummary]
    discarded: list[DiscardedMovement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sample_rate_hz: float | None = None

    def to_contract(self) -> dict[str, Any]:
        """``{"reps": [...], "set": {...}, "sets": [...]}`` as in docs/cli.md ``replay``.

        ``set`` describes the last set; with no rep at all it is
        ``{"reps": 0, "best_mean_velocity_mps": None, "velocity_loss_pct": None}``
        (absent is None, never 0). ``sets`` lists every set.
        """
        last = self.sets[-1] if self.sets else None
        set_obj = (
            {"reps": last.reps, "best_mean_velocity_mps": last.best_mean_velocity_mps,
             "velocity_loss_pct": last.velocity_loss_pct}
            if last is not None
            else {"reps": 0, "best_mean_velocity_mps": None, "velocity_loss_pct": None}
        )
        return {
            "reps": [r.to_contract() for r in self.reps],
            "set": set_obj,
            "sets": [s.to_contract() for s in self.sets],
        }


def summarise_sets(reps: list[RepMetrics]) -> list[SetSummary]:
    """Per-set summaries from reps (grouped by ``set_index``, in order)."""
    out: list[SetSummary] = []
    by_set: dict[int, list[RepMetrics]] = {}
    for r in reps:
        by_set.setdefault(r.set_index, []).append(r)
    for si, rs in by_set.items():
        mv = [r.mean_velocity_mps for r in rs]
        out.append(
            SetSummary(
                set_index=si, reps=len(rs), best_mean_velocity_mps=float(max(mv)),
                velocity_loss_pct=float(set_velocity_loss_pct(mv)) if min(mv) > 0 else 0.0,
                start_ns=rs[0].start_ns, end_ns=rs[-1].end_ns,
            )
        )
    return out


class BarbellEngine:
    """Incremental segmentation + analysis shared by the batch and live paths.

    Feed samples in time order with :meth:`push`; :meth:`finish` flushes the
    end of the data. Each returns the reps completed by that call. Decisions
    depend only on data already received and on fixed 10 ms blocks of the
    capture clock, so any chunking gives the same reps.
    """

    def __init__(
        self,
        exercise: str,
        load_kg: float,
        *,
        body_mass_kg: float | None = None,
        set_rest_s: float = 30.0,
        stillness_window_s: float = DEFAULT_STILLNESS_WINDOW_S,
        thresholds: StillnessThresholds | None = None,
    ) -> None:
        if not load_kg > 0:
            raise ValueError(f"load_kg must be > 0, got {load_kg}")
        if body_mass_kg is not None and not body_mass_kg > 0:
            raise ValueError(f"body_mass_kg must be > 0 or None, got {body_mass_kg}")
        if not set_rest_s > 0:
            raise ValueError(f"set_rest_s must be > 0, got {set_rest_s}")
        if not 0.05 <= stillness_window_s <= 2.0:
            raise ValueError(f"stillness_window_s must be within [0.05, 2.0] s, got {stillness_window_s}")
        self.info = exercise_info(exercise)
        self.exercise = exercise
        self.load_kg = float(load_kg)
        self.body_mass_kg = body_mass_kg
        self.set_rest_ns = round(set_rest_s * 1e9)
        self.stillness_window_s = float(stillness_window_s)
        self.thresholds = thresholds or StillnessThresholds()
        self.w_blocks = max(1, round(stillness_window_s * 1e9 / BLOCK_NS))
        self.w_return_blocks = min(self.w_blocks, max(1, round(RETURN_STILLNESS_WINDOW_S * 1e9 / BLOCK_NS)))
        self.force_blocks = max(self.w_blocks, round(FORCED_REST_S * 1e9 / BLOCK_NS))
        self.ctx_blocks = round(PRE_CONTEXT_S * 1e9 / BLOCK_NS)
        self.back_blocks = round(BACK_OFF_S * 1e9 / BLOCK_NS)
        self.max_move_blocks = round(MAX_MOVEMENT_S * 1e9 / BLOCK_NS)
        self.min_swing_m = min(0.03, 0.3 * self.info.min_rom_m)
        self.assembler = RepAssembler(self.info.eccentric_first, self.info.min_rom_m)
        self.warnings: list[str] = []
        if not self.info.known:
            self.warnings.append(f"exercise {exercise!r} has no velocity threshold or laterality")
        # sample buffer
        self.t0_ns: int | None = None
        self.has_angles: bool | None = None
        # Each array below is the view of an AppendBuffer of the same name in self._bufs (appends are
        # amortised O(1); rows of a view handed out are never written again).
        self._bufs = {"_t": AppendBuffer(np.int64), "_acc": AppendBuffer(np.float64, (3,)),
                      "_gyr": AppendBuffer(np.float64, (3,)), "_blk": AppendBuffer(np.int64),
                      "_stats": AppendBuffer(np.float64, (4,)), "_codes": AppendBuffer(np.int8),
                      "_wmean": AppendBuffer(np.float64)}
        self._t = self._bufs["_t"].view
        self._acc = self._bufs["_acc"].view
        self._gyr = self._bufs["_gyr"].view
        self._ang: np.ndarray | None = None
        self._blk = self._bufs["_blk"].view
        # block bookkeeping (stats array index j <-> block j - HALF_WINDOW_BLOCKS)
        self._stats = self._bufs["_stats"].extend(np.zeros((HALF_WINDOW_BLOCKS, 4)))
        self._sf = -HALF_WINDOW_BLOCKS  # block of self._stats[0]
        self._n_stats_blocks = 0  # blocks 0 .. n-1 have final stats
        self._codes = self._bufs["_codes"].view
        self._cf = 0  # block of self._codes[0]
        self._wmean = self._bufs["_wmean"].view  # window mean of |f| - g per classified block (same indexing as codes)
        self._gap_blocks: list[tuple[int, int]] = []
        self._finished = False
        # segmentation state
        self.mode = "seek"
        self.rest_start = 0
        self.rest_end = 0
        self.scan = 0
        self.broken = False
        self._end_cache: dict[int, tuple[float, bool]] = {}  # still-run start -> _end_state()
        self.z_base = 0.0
        self.g_ref: float | None = None  # gravity reading of the recent long rests (median, m/s^2)
        self._g_history: list[float] = []
        self.dev_rest = 0.0  # mean |f| - g of the rest before the current movement (m/s^2)
        self.drift_thr = REST_DRIFT_MPS2
        self._ref_origin = 0
        self._ref_cum = np.zeros((0, 3))
        self._ref_min_j = 0
        self.long_rest_blocks = round(LONG_REST_S * 1e9 / BLOCK_NS)
        # outputs
        self.reps: list[RepMetrics] = []
        self.discarded: list[DiscardedMovement] = []
        self._set_index = 0
        self._set_best = 0.0
        self._set_count = 0
        self._last_end_ns: int | None = None

    # ----------------------------------------------------------------- input
    def mark_gap(self, start_ns: int, end_ns: int) -> None:
        """Declare an interval without link (e.g. disconnect to reconnect) as a break."""
        if end_ns < start_ns:
            raise ValueError("gap end_ns must be >= start_ns")
        self._pending_gaps = getattr(self, "_pending_gaps", [])
        self._pending_gaps.append((int(start_ns), int(end_ns)))
        self._apply_gaps()

    def _apply_gaps(self) -> None:
        if self.t0_ns is None:
            return
        for g0, g1 in getattr(self, "_pending_gaps", []):
            self._gap_blocks.append(((g0 - self.t0_ns) // BLOCK_NS, (g1 - self.t0_ns) // BLOCK_NS + 1))
        self._pending_gaps = []

    def push(self, samples: ImuSamples) -> list[RepMetrics]:
        """Add samples (in time order, after those already pushed); return reps completed."""
        if self._finished:
            raise ValueError("push after finish")
        if not isinstance(samples, ImuSamples):
            raise ValueError("samples must be an ImuSamples")
        if len(samples) == 0:
            return []
        if self.t0_ns is None:
            self.t0_ns = int(samples.t_ns[0])
            self.has_angles = samples.angles_rad is not None
            if self.has_angles:
                self._bufs["_ang"] = AppendBuffer(np.float64, (3,))
            self._apply_gaps()
        elif (samples.angles_rad is not None) != self.has_angles:
            raise ValueError("all chunks must consistently have fused angles or not")
        if self._t.size and samples.t_ns[0] < self._t[-1]:
            raise ValueError("samples must be pushed in time order")
        if not (np.isfinite(samples.accel_mps2).all() and np.isfinite(samples.gyro_radps).all()
                and (samples.angles_rad is None or np.isfinite(samples.angles_rad).all())):
            raise ValueError("accel_mps2, gyro_radps and angles_rad must be finite (no NaN/inf)")
        self._append("_t", samples.t_ns)
        self._append("_acc", samples.accel_mps2)
        self._append("_gyr", samples.gyro_radps)
        if self.has_angles:
            self._append("_ang", samples.angles_rad)  # type: ignore[arg-type]
        self._append("_blk", block_index(samples.t_ns, self.t0_ns))
        last_complete = int(self._blk[-1])  # blocks < this are complete
        self._update_blocks(last_complete)
        return self._advance()

    def _append(self, name: str, rows: np.ndarray) -> None:
        setattr(self, name, self._bufs[name].extend(rows))

    def _drop_front(self, name: str, k: int) -> None:
        setattr(self, name, self._bufs[name].drop_front(k))

    def finish(self) -> list[RepMetrics]:
        """Flush: treat the data as ended and close what can be closed."""
        if self._finished:
            return []
        self._finished = True
        if self.t0_ns is None:
            return []
        end_block = int(self._blk[-1]) + 1
        self._update_blocks(end_block, final=True)
        return self._advance(final=True)

    # -------------------------------------------------------------- blocks
    # self._stats row j holds block (self._sf + j); self._codes[j] classifies block (self._cf + j).
    def _update_blocks(self, n_complete: int, final: bool = False) -> None:
        h = HALF_WINDOW_BLOCKS
        if n_complete > self._n_stats_blocks:
            first = self._n_stats_blocks
            i0 = int(np.searchsorted(self._blk, first, side="left"))
            new = block_stats(self._blk[i0:], self._acc[i0:], self._gyr[i0:], first, n_complete - first)
            self._append("_stats", new)
            self._n_stats_blocks = n_complete
        stats = self._stats
        if final:
            stats = np.concatenate([stats, np.zeros((h, 4))])
        # classify blocks whose +-h window is complete
        n_classifiable = self._n_stats_blocks - (0 if final else h)
        done = self._cf + self._codes.size
        if n_classifiable <= done:
            return
        sub = stats[done - h - self._sf : n_classifiable + h - self._sf]
        codes, wmean = classify_blocks(sub, self.thresholds)
        # long empty runs are breaks. Every run of empty complete blocks is terminated (the block after
        # the complete ones holds the latest sample), so its length is known here; looking back
        # BREAK_MIN_EMPTY_BLOCKS blocks is enough to tell whether it is long.
        lo = max(done - BREAK_MIN_EMPTY_BLOCKS, self._sf + h)
        counts = self._stats[lo - self._sf : self._n_stats_blocks - self._sf, 0]
        starts, ends = runs(counts == 0)
        for rs, re_ in zip(starts + lo, ends + lo, strict=True):
            if re_ - rs >= BREAK_MIN_EMPTY_BLOCKS or (rs == lo and lo > self._sf + h and re_ - rs > 0
                                                      and self._long_empty_before(lo)):
                a0, a1 = max(rs, done), min(re_, n_classifiable)
                if a1 > a0:
                    codes[a0 - done : a1 - done] = BREAK
        if self._gap_blocks:
            idx = np.arange(done, n_classifiable)
            for g0, g1 in self._gap_blocks:
                codes[(idx >= g0) & (idx < g1)] = BREAK
        self._append("_codes", codes)
        self._append("_wmean", wmean)

    def _long_empty_before(self, lo: int) -> bool:
        """True if the empty run ending at block lo (exclusive) already holds BREAK_MIN_EMPTY_BLOCKS blocks."""
        j = lo - self._sf
        k0 = max(j - BREAK_MIN_EMPTY_BLOCKS, 0)
        seg = self._stats[k0:j, 0]
        return seg.size >= BREAK_MIN_EMPTY_BLOCKS and bool(np.all(seg == 0))

    # -------------------------------------------------------- segmentation
    def _code(self, b: int) -> int:
        return int(self._codes[b - self._cf])

    def _codes_between(self, b0: int, b1: int) -> np.ndarray:
        return self._codes[b0 - self._cf : b1 - self._cf]

    def _advance(self, final: bool = False) -> list[RepMetrics]:
        out: list[RepMetrics] = []
        n = self._cf + self._codes.size
        w = self.w_blocks
        while True:
            progressed = False
            if self.mode == "seek":
                s, e = self._next_still_run(self.scan, n)
                if s is None:
                    self.scan = n
                elif e - s >= w:
                    self._enter_rest(s, w)
                    progressed = True
                elif e < n:
                    self.scan = e
                    progressed = True
                else:
                    self.scan = s
            elif self.mode == "rest":
                # the rest ends at the first block that is not still, or whose mean |f| drifts away from
                # the rest's own (a slow, smooth start, e.g. a heavy deadlift, passes the variance test)
                b = self._first(self.scan, n, False)
                if b >= n:
                    self.scan = max(self.scan, n)  # a rest closed early is confirmed up to its full window
                else:
                    if self._code(b) == BREAK:
                        self.assembler.reset()
                        self.mode, self.scan = "seek", b
                    else:
                        self._freeze_rest_reference(b)
                        self.mode, self.rest_end, self.scan, self.broken = "moving", b, b, False
                        self._end_cache = {}
                    progressed = True
            else:  # moving
                progressed = self._advance_moving(n, final, out)
            if not progressed:
                break
        self._trim()
        return out

    def _first(self, start: int, n: int, want_quiet: bool) -> int:
        """First block >= start (< n) that is quiet (or not quiet); n if none. Searches in growing windows
        so that a long session is not rescanned from each movement to its end."""
        lo, width = start, 512
        while lo < n:
            hi = min(n, lo + width)
            q = self._quiet(lo, hi)
            hit = np.flatnonzero(q if want_quiet else ~q)
            if hit.size:
                return lo + int(hit[0])
            lo, width = hi, width * 2
        return n

    def _quiet(self, b0: int, b1: int) -> np.ndarray:
        """Still blocks in [b0, b1); outside 'seek' also with a windowed mean |f| close to the rest's.

        In a rest the reference is the mean over the rest's blocks before the block's window (so it
        depends only on earlier data, whatever the chunking); while moving it is frozen at the value the
        rest before the movement ended with. Tolerance: REST_DRIFT_MPS2, or 4 standard errors of a
        window mean at the noise measured in that rest if larger.
        """
        q = self._codes_between(b0, b1) == STILL
        if self.mode == "seek" or b1 <= b0:
            return q
        wm = self._wmean[b0 - self._cf : b1 - self._cf]
        if self.mode == "rest":
            ref, thr = self._ref_at(np.arange(b0, b1))
        else:
            ref, thr = self.dev_rest, self.drift_thr
        return q & (np.abs(wm - ref) <= thr)

    def _ref_extend(self, upto: int) -> None:
        """Extend the rest's running sums (count, sum d, sum d^2) to blocks < upto (sequential cumsum)."""
        have = self._ref_origin + self._ref_cum.shape[0]
        upto = min(upto, self._n_stats_blocks)
        if upto <= have:
            return
        rows = self._stats[have - self._sf : upto - self._sf, :3]
        start = self._ref_cum[-1] if self._ref_cum.shape[0] else np.zeros(3)
        ext = np.cumsum(np.concatenate([start[None, :], rows]), axis=0)[1:]
        self._ref_cum = np.concatenate([self._ref_cum, ext])

    def _ref_at(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = HALF_WINDOW_BLOCKS
        self._ref_extend(int(blocks.max()) - h)
        j = np.clip(blocks - h - 1 - self._ref_origin, self._ref_min_j, self._ref_cum.shape[0] - 1)
        c = self._ref_cum[j]
        n = np.maximum(c[:, 0], 1.0)
        mean = c[:, 1] / n
        var = np.maximum(c[:, 2] / n - mean * mean, 0.0)
        per_window = np.maximum(n / (j + 1) * (2 * h + 1), 1.0)
        thr = np.maximum(REST_DRIFT_MPS2, 4.0 * np.sqrt(var / per_window))
        return mean, thr

    def _next_still_run(self, start: int, n: int) -> tuple[int | None, int]:
        s = self._first(start, n, True)
        if s >= n:
            return None, n
        return s, self._first(s, n, False)

    def _advance_moving(self, n: int, final: bool, out: list[RepMetrics]) -> bool:
        w = self.w_blocks
        s, e = self._next_still_run(self.scan, n)
        upto = n if s is None else s
        if np.any(self._codes_between(self.scan, upto) == BREAK):
            self.broken = True
        if s is None:
            self.scan = n
            if final:
                self._discard(self.rest_end, n, "data ended during a movement")
                self.mode, self.scan = "seek", n
            elif n - self.rest_end > self.max_move_blocks:
                self._discard(self.rest_end, n, "movement longer than 30 s without rest")
                self.mode = "seek"
                return True
            return False
        if s - self.rest_end > self.max_move_blocks:
            self._discard(self.rest_end, s, "movement longer than 30 s without rest")
            self.mode, self.scan = "seek", s
            return True
        length = e - s
        is_open = e >= n and not final
        if length >= self.w_return_blocks or (final and e >= n and length >= 3):
            if s not in self._end_cache:
                self._end_cache[s] = self._end_state(s)
            v_end, back_at_start = self._end_cache[s]
            v_limit = REST_VELOCITY_CHECK_MPS + REST_VELOCITY_CHECK_MPS_PER_S * (s - self.rest_end) * BLOCK_NS * 1e-9
            is_rest = abs(v_end) <= v_limit
            # back where it started (top of a squat, floor of a deadlift): the short window is enough.
            # Decided from data up to block s + w_return_blocks only, so live and batch agree.
            returned = is_rest and not self.broken and self.w_return_blocks < w and back_at_start
            if returned or length >= w or (final and e >= n):
                post_len = min(length, self.w_return_blocks if returned else w)
                if self.broken:
                    self._discard(self.rest_end, s, "break in the data during the movement")
                    self.assembler.reset()
                    self._start_rest(s, post_len)
                    return True
                if is_rest or length >= self.force_blocks or (final and e >= n):
                    out.extend(self._close_movement(s, post_len))
                    # the rest itself is confirmed (and its |f| reference built) as with the long window
                    self._start_rest(s, min(length, w) if final and e >= n else w)
                    return True
            if is_open:
                self.scan = s
                return False
            self.scan = e
            return True
        if is_open:
            self.scan = s
            return False
        self.scan = e
        return True

    def _start_rest(self, s: int, post_len: int) -> None:
        self._enter_rest(s, post_len)

    def _enter_rest(self, s: int, length: int) -> None:
        self.mode, self.rest_start, self.scan = "rest", s, s + length
        # reference sums start half a window into the rest (earlier windows still see the movement)
        self._ref_origin = min(s + HALF_WINDOW_BLOCKS, s + length - 1)
        self._ref_cum = np.zeros((0, 3))
        self._ref_min_j = s + length - 1 - self._ref_origin  # at least the confirmed part
        self._ref_extend(s + length)

    def _freeze_rest_reference(self, b: int) -> None:
        """The rest ends at block b: keep its reference for the movement that follows."""
        ref, thr = self._ref_at(np.array([b]))
        self.dev_rest, self.drift_thr = float(ref[0]), float(thr[0])

    def _discard(self, b0: int, b1: int, reason: str) -> None:
        assert self.t0_ns is not None
        self.discarded.append(
            DiscardedMovement(self.t0_ns + b0 * BLOCK_NS, self.t0_ns + b1 * BLOCK_NS, reason)
        )
        self.assembler.reset()

    def _trim(self) -> None:
        if self.mode == "seek":
            keep_blk = self.scan - 1
        elif self.mode == "rest":
            keep_blk = max(self.rest_start, self.scan - self.ctx_blocks - self.back_blocks - 2)
        else:
            keep_blk = max(self.rest_start, self.rest_end - self.ctx_blocks - self.back_blocks)
        # block codes are only read from self.scan on; stats only for the last windows
        drop = min(self.scan, keep_blk) - self._cf
        if drop > 4096:
            self._drop_front("_codes", drop)
            self._drop_front("_wmean", drop)
            self._cf += drop
        drop = (self._cf + self._codes.size) - 2 * HALF_WINDOW_BLOCKS - BREAK_MIN_EMPTY_BLOCKS - 2 - self._sf
        if drop > 4096:
            self._drop_front("_stats", drop)
            self._sf += drop
        if self._blk.size == 0:
            return
        k = int(np.searchsorted(self._blk, keep_blk, side="left"))
        if k > 4096:
            for name in ("_t", "_acc", "_gyr", "_ang", "_blk"):
                if name in self._bufs:
                    self._drop_front(name, k)

    # ------------------------------------------------------------ analysis
    def _range(self, b0: int, b1: int) -> tuple[int, int]:
        return (int(np.searchsorted(self._blk, b0, side="left")), int(np.searchsorted(self._blk, b1, side="left")))

    def _t_s(self, i0: int, i1: int) -> np.ndarray:
        assert self.t0_ns is not None
        return (self._t[i0:i1] - self.t0_ns).astype(np.float64) * 1e-9

    def _pre_context(self) -> tuple[int, int, int]:
        """Sample indices (p0, lo, m0): gravity reference [p0, lo), integration from lo, movement from m0.

        Integration starts ``BACK_OFF_S`` before the first moving block (a slow start from rest, e.g.
        a deadlift's lift-off, looks still to the detector for a while), within the rest.
        """
        back = min(self.back_blocks, (self.rest_end - self.rest_start) // 2)
        b_lo = self.rest_end - back
        p0, lo = self._range(max(self.rest_start, b_lo - self.ctx_blocks), b_lo)
        _, m0 = self._range(self.rest_end, self.rest_end)
        if lo - p0 < 1:
            p0 = min(p0, max(lo - 1, 0))
        return p0, lo, m0

    def _vertical_accel(self, p0: int, lo: int, i1: int, t: np.ndarray, up_end: np.ndarray | None,
                        blend: tuple[float, float] | None) -> np.ndarray:
        acc = self._acc[p0:i1]
        if self._ang is not None:
            up = up_from_angles(self._ang[p0:i1])
        else:
            up = up_from_gyro(t, self._gyr[p0:i1], acc[: lo - p0].mean(axis=0), up_end,
                              *(blend if blend is not None else (None, None)))
        f = vertical_specific_force(acc, up)
        # gravity reading of the rest before (of the last rest long enough to be trusted when this one is
        # short); the drift correction then fixes the constant offset so that v = 0 at the rest after
        g_here = float(f[: lo - p0].mean())
        self._last_g_here = g_here
        g_ref = g_here if (self.g_ref is None or self._rest_is_long()) else self.g_ref
        return f - g_ref

    def _rest_is_long(self) -> bool:
        return self.rest_end - self.rest_start >= self.long_rest_blocks

    def _end_state(self, s: int) -> tuple[float, bool]:
        """The movement as it would end at block s: (velocity there, back where it started?).

        One integration from the rest before the movement to s (gravity from that rest only):
        its last value is the velocity check (a constant-velocity stretch also looks still); with the
        linear drift correction of :meth:`_close_movement` (v = 0 at s), the displacement there
        against the largest excursion tells a rep's end from a stall mid-rep, which also looks
        still but leaves the bar far from where it started.
        """
        p0, lo, _m0 = self._pre_context()
        _, m1 = self._range(s, s)
        m1 = min(m1, self._t.size - 1)
        if lo - p0 < 1 or m1 <= lo:
            return 0.0, False
        t = self._t_s(p0, m1 + 1)
        a = self._vertical_accel(p0, lo, m1 + 1, t, None, None)
        tm = t[lo - p0 :]
        v_raw = cumulative_trapezoid(a[lo - p0 :], tm)
        if tm.size <= 3:
            return float(v_raw[-1]), False
        v, _ = linear_drift_correction(v_raw, tm)
        z = cumulative_trapezoid(v, tm)
        excursion = float(np.max(np.abs(z)))
        return float(v_raw[-1]), abs(float(z[-1])) <= max(RETURN_TOLERANCE_M, RETURN_TOLERANCE_FRACTION * excursion)

    def _close_movement(self, s: int, post_len: int) -> list[RepMetrics]:
        p0, lo_abs, m0 = self._pre_context()
        m1, q1 = self._range(s, s + post_len)
        if m1 <= m0:
            return []  # a blip between two still runs: nothing moved
        if lo_abs - p0 < 1 or q1 - m1 < 1:
            self._discard(self.rest_end, s, "movement without samples at its bounding rests")
            return []
        t = self._t_s(p0, q1)
        lo, i_m1 = lo_abs - p0, m1 - p0
        hi = t.size  # integrate through the confirmed part of the closing rest: v = 0 at its end
        blend = (float(t[lo]), float(t[i_m1]))
        a = self._vertical_accel(p0, lo_abs, q1, t, self._acc[m1:q1].mean(axis=0), blend)
        if self._rest_is_long() or self.g_ref is None:
            # median of the recent long rests: one still-looking stretch of a movement cannot poison it
            self._g_history = [*self._g_history[-8:], self._last_g_here]
            self.g_ref = float(np.median(self._g_history))
        # anchor v = 0 where the bar starts to move (within the back-off window and a little after the
        # detected start) unless the velocity integrated from the rest shows it was already moving there
        search_hi = int(np.searchsorted(t, t[m0 - p0] + ONSET_SEARCH_AFTER_S, side="right"))
        onset = _motion_onset(t, a, lo, min(search_hi, i_m1))
        if onset > lo:
            v_on = cumulative_trapezoid(a[lo : onset + 1], t[lo : onset + 1])[-1]
            if abs(v_on) <= ONSET_MAX_VELOCITY_MPS:
                lo = onset
        v_raw = cumulative_trapezoid(a[lo:hi], t[lo:hi])
        v_mov, offset = linear_drift_correction(v_raw, t[lo:hi])
        a = a.copy()
        a[lo:hi] -= offset
        v = np.zeros(t.size)
        v[lo:hi] = v_mov
        z = cumulative_trapezoid(v, t, initial=self.z_base)
        self.z_base = float(z[-1])

        legs = find_legs(t[lo:hi], v[lo:hi], z[lo:hi], self.min_swing_m)
        active = np.nonzero(np.abs(v[lo:hi]) > ACTIVE_VELOCITY_MPS)[0]
        if active.size:
            seg_start, seg_end = float(t[lo + active[0]]), float(t[lo + active[-1]])
            for leg in legs:
                leg.segment_start_s, leg.segment_end_s = seg_start, seg_end
        for leg in legs:
            if leg.rise_m >= self.info.min_rom_m and leg.t1_s > leg.t0_s:
                leg.payload["metrics"] = concentric_metrics(t, v, a, z, leg.t0_s, leg.t1_s, self.load_kg)
        return [self._make_rep(r) for r in self.assembler.add(legs) if "metrics" in r.concentric.payload]

    def _ns(self, t_s: float) -> int:
        assert self.t0_ns is not None
        return self.t0_ns + round(t_s * 1e9)

    def _make_rep(self, rep) -> RepMetrics:
        m = rep.concentric.payload["metrics"]
        start_ns, end_ns = self._ns(rep.start_s), self._ns(rep.end_s)
        if self._last_end_ns is None or start_ns - self._last_end_ns > self.set_rest_ns:
            self._set_index += 1
            self._set_best = 0.0
            self._set_count = 0
        self._last_end_ns = end_ns
        self._set_count += 1
        mcv = m.mean_velocity_mps
        self._set_best = max(self._set_best, mcv)
        vl = 100.0 * (self._set_best - mcv) / self._set_best if self._set_best > 0 else 0.0
        psf = None
        if self.body_mass_kg is not None:
            psf = m.peak_force_n * (self.load_kg + self.body_mass_kg) / self.load_kg
        r = RepMetrics(
            index=len(self.reps) + 1, set_index=self._set_index, start_ns=start_ns, end_ns=end_ns,
            concentric_start_ns=self._ns(m.start_s), concentric_end_ns=self._ns(m.end_s),
            mean_velocity_mps=mcv, mean_propulsive_velocity_mps=m.mean_propulsive_velocity_mps,
            peak_velocity_mps=m.peak_velocity_mps, time_to_peak_velocity_s=m.time_to_peak_velocity_s,
            rom_m=m.rom_m, mean_power_w=m.mean_power_w, peak_force_n=m.peak_force_n,
            peak_rfd_n_per_s=m.peak_rfd_n_per_s, rfd_0_100ms_n_per_s=m.rfd_0_100ms_n_per_s,
            velocity_loss_pct=float(vl), peak_system_force_n=psf, eccentric_rom_m=float(rep.eccentric_rom_m),
            index_in_set=self._set_count,
        )
        self.reps.append(r)
        return r

    def result(self) -> BarbellAnalysis:
        """Everything found so far as a :class:`BarbellAnalysis`."""
        rate = None
        if self._t.size > 1:
            dt = np.diff(self._t)
            dt = dt[dt > 0]
            if dt.size:
                rate = float(1e9 / np.median(dt))
        return BarbellAnalysis(
            exercise=self.exercise, load_kg=self.load_kg, reps=list(self.reps), sets=summarise_sets(self.reps),
            discarded=list(self.discarded), warnings=list(self.warnings), sample_rate_hz=rate,
        )


def _motion_onset(t: np.ndarray, a: np.ndarray, lo: int, hi: int) -> int:
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


def analyse_session(
    samples: ImuSamples,
    exercise: str,
    load_kg: float,
    *,
    body_mass_kg: float | None = None,
    set_rest_s: float = 30.0,
    gaps_ns: list[tuple[int, int]] | tuple = (),
) -> BarbellAnalysis:
    """Find the reps and sets of a barbell session and compute their metrics.

    Parameters
    ----------
    samples : ImuSamples
        The whole capture (fused angles used when present, else gyro path).
    exercise : str
        Contract exercise name; unknown names are analysed with defaults and
        a warning.
    load_kg : float
        Bar load (> 0), for force and power.
    body_mass_kg : float or None
        Athlete body mass; adds ``peak_system_force_n`` = peak bar force scaled
        to load + body mass (assumes the system moves with the bar).
    set_rest_s : float
        Rest (s) between reps that starts a new set (> 0).
    gaps_ns : list of (int, int)
        Intervals without link on the t_ns clock; movements across them are discarded.

    Returns
    -------
    BarbellAnalysis
        ``.reps``, ``.sets``, ``.to_contract()`` (docs/cli.md ``replay`` body).
    """
    if not isinstance(samples, ImuSamples):
        raise ValueError("samples must be an ImuSamples")
    eng = BarbellEngine(exercise, load_kg, body_mass_kg=body_mass_kg, set_rest_s=set_rest_s)
    for g0, g1 in gaps_ns:
        eng.mark_gap(g0, g1)
    eng.push(samples)
    eng.finish()
    res = eng.result()
    if len(samples) > 1:
        dt = np.diff(samples.t_ns)
        dt = dt[dt > 0]
        if dt.size:
            res.sample_rate_hz = float(1e9 / np.median(dt))
    return res


