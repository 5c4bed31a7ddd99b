"""Bar-velocity analysis of an IMU session: reps, sets and their metrics.

:func:`analyse_session` (batch) and :class:`analysis.live.LiveRepDetector`
(live) run the same :class:`BarbellEngine`; the batch path is the engine fed
with everything at once, so both give identical results on the same data.

How a session is processed (details in the modules named)
--------------------------------------------------------
1. Rest detection on 10 ms blocks of the capture clock (:mod:`analysis.reps`; the
   blocks are kept incrementally by :class:`analysis.blocks.BlockTrack`).
2. A *movement* is the stretch between two rests. A still run counts as the
   rest that closes a movement when it lasts ``stillness_window_s`` (0.15 s;
   the still-test window adds 50 ms of look-ahead, so the bar must be still
   for ~0.2 s) and the bar can be at rest there by the drift model
   (:func:`analysis.movement.end_state`: the integrated velocity within 3 SD of
   zero -- a constant-velocity stretch also looks still to an accelerometer),
   or when it lasts 2 s whatever the velocity. When the bar is back where the
   movement started (the displacement with v = 0 there within 3.5 SD of zero: the
   top of a squat, the floor after a deadlift) a still run of 0.08 s is enough.
   When it is further away in the direction of the rep (below the start of a lift
   that begins with the lowering: a pause in the hole, a stall, a grind or a creep
   into lockout on the way up; above the start of one that begins with the lift)
   the rep is not over: only the 2 s forced rest closes the movement there, so a
   pause never ends a rep early. After the first rest a still block must also keep
   mean |f| near the rest's own (a slow, steadily accelerating lift passes the
   variance test); a still run whose reading moved off it (a drifting bias) but
   holds steady for 2 s is a rest with its own reading. A close is undone when the
   small movement after it, from the short rest it began, shows the bar was still
   moving (:meth:`BarbellEngine._reopen`): its reps are reported again, revised.
3. For each movement (:mod:`analysis.movement`, pure functions over
   :mod:`analysis.kinematics`): orientation (fused angles,
   else gyro + accelerometer at the rests), vertical acceleration with the
   gravity reading of the rests removed, trapezoid integration from v = 0;
   still stretches inside the movement (pauses, holds) are zero-velocity updates
   and heights known (back at the start, lockouts between touch-and-go reps) are
   height updates of a model of the velocity's error (:mod:`analysis.drift`,
   :mod:`analysis.zupt`); position.
4. Legs between turning points, reps from legs (:mod:`analysis.reps`); each
   concentric phase runs from the last instant before its velocity peak at which
   the bar was at rest or moving down to the first instant after it at which it
   is at rest again; its metrics (:mod:`analysis.rep_metrics`).
5. Sets: a rep starting more than ``set_rest_s`` after the previous rep ended
   opens a new set; velocity loss per rep and per set (on MCV and on MPV).

A movement that contains a break in the data (no samples for >= 0.25 s, or a
gap given by the caller) or that is not bounded by rests (data starting or
ending mid-movement, or longer than 30 s) is discarded and listed in
``BarbellAnalysis.discarded``.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from analysis.blocks import REST_DRIFT_MPS2, TRIM_MIN_BLOCKS, BlockTrack, FrozenReference, RestReference
from analysis.buffers import SampleHistory
from analysis.drift import OFFSET_SD_DEFAULT_MPS2, DriftPrior
from analysis.exercises import exercise_info
from analysis.movement import (
    ACTIVE_VELOCITY_MPS,
    RETURN_HEIGHT_SD_M,
    EndState,
    LiftGeometry,
    analyse_movement,
    end_state,
    vertical_specific_force,
)
from analysis.rep_metrics import set_velocity_loss_pct
from analysis.reps import (
    BLOCK_NS,
    BREAK,
    STILL,
    AssembledRep,
    RepAssembler,
    StillnessThresholds,
    block_index,
)
from analysis.zupt import V_STILL_MPS
from records.imu import ImuSamples

__all__ = [
    "ACTIVE_VELOCITY_MPS",
    "REST_DRIFT_MPS2",
    "RETURN_HEIGHT_SD_M",
    "BarbellAnalysis",
    "BarbellEngine",
    "DiscardedMovement",
    "Mode",
    "RepMetrics",
    "SetSummary",
    "analyse_session",
    "summarise_sets",
]

DEFAULT_STILLNESS_WINDOW_S: float = 0.15
"""Still run (s) that closes a movement; the still test looks 50 ms further ahead."""
RETURN_STILLNESS_WINDOW_S: float = 0.08
"""Shorter still run (s) that closes a movement when the bar is back where the movement started."""
REST_VELOCITY_CHECK_MPS: float = 0.12
REST_VELOCITY_CHECK_MPS_PER_S: float = 0.03
"""A still run is a rest only if |integrated velocity| there is below 0.12 m/s + 0.03 m/s per second of
integration (from the rest before, or from the last pause or hold inside the movement; drift grows with
time)..."""
FORCED_REST_S: float = 2.0
"""...or if it lasts at least this long (s)."""
PRE_CONTEXT_S: float = 0.5
"""Rest before a movement used for its gravity/orientation reference (s)."""
MAX_MOVEMENT_S: float = 30.0
"""Movements longer than this without a rest are discarded (s)."""
BACK_OFF_S: float = 0.25
"""Integration of a movement starts this long before the detector saw it move (within the rest)."""
STEADY_OFFSET_FRACTION: float = 0.5
"""A steady still run is a rest with its own reading (:meth:`BarbellEngine._steady_still_run`) once its
reading is off the rest before by more than this fraction of the quiet test's tolerance, not only beyond
it: a reading near the tolerance makes the quiet test flicker (a 110 ms window mean at 100 Hz and the
datasheet's 8 mg-rms noise is uncertain by ~0.024 m/s^2, so 3 SE ~0.07 m/s^2 = half the 0.15), and a
still run there was neither one quiet run nor a steady one: a drifted bias merged a whole set into one
movement (rep-shape benchmark, bias-walk sensor: 1 rep lost, worst 0.30 m/s; after: none lost, 0.20)."""
REOPEN_SIGMAS: float = 2.0
"""A movement too small to be a rep that starts from the short rest right after a close reopens it when its
velocity at a still run is more than this many SDs (+ V_STILL_MPS) from rest (and the two together end at
rest, back where the first started): the bar was still moving at the close (:meth:`BarbellEngine._reopen`).
Two SDs rather than three: undoing a close that was right only reports its reps again, unchanged."""
LONG_REST_S: float = 0.4
"""A rest at least this long gives the gravity reference; shorter rests reuse the last one (s)."""


@dataclass(frozen=True)
class RepMetrics:
    """One rep, with the fields of the CLI contract's ``replay`` rep (times on the input t_ns clock).

    RFD fields are EXPERIMENTAL (see :mod:`analysis.rep_metrics`).

    ``peak_system_force_n`` is an UPPER BOUND: the peak force on the bar scaled by
    (load + body mass) / load, i.e. as if the athlete's whole body accelerated with the bar. In a squat
    or a deadlift the body's centre of mass moves less than the bar, in a bench press hardly at all,
    so the force on the system is lower; None without a body mass.

    Velocity loss (Sánchez-Medina & González-Badillo 2011): ``velocity_loss_pct`` on mean concentric
    velocity, ``velocity_loss_mpv_pct`` on mean propulsive velocity, each against the best rep so far
    in the set.
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
    velocity_loss_mpv_pct: float = 0.0

    def to_contract(self) -> dict[str, Any]:
        """The rep as the contract's JSON object (``peak_system_force_n`` only when known)."""
        d = asdict(self)
        if d["peak_system_force_n"] is None:
            del d["peak_system_force_n"]
        return d


@dataclass(frozen=True)
class SetSummary:
    """One set: ``velocity_loss_pct = 100 (best - last) / best`` on mean concentric velocity, and
    ``velocity_loss_mpv_pct`` the same on mean propulsive velocity (Sánchez-Medina & González-Badillo
    2011)."""

    set_index: int
    reps: int
    best_mean_velocity_mps: float
    velocity_loss_pct: float
    start_ns: int
    end_ns: int
    best_mean_propulsive_velocity_mps: float = 0.0
    velocity_loss_mpv_pct: float = 0.0

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
        ``{"reps": 0, "best_mean_velocity_mps": None, "velocity_loss_pct": None,
        "velocity_loss_mpv_pct": None}`` (absent is None, never 0). ``sets`` lists every set.
        """
        last = self.sets[-1] if self.sets else None
        set_obj = (
            {
                "reps": last.reps,
                "best_mean_velocity_mps": last.best_mean_velocity_mps,
                "velocity_loss_pct": last.velocity_loss_pct,
                "velocity_loss_mpv_pct": last.velocity_loss_mpv_pct,
            }
            if last is not None
            else {"reps": 0, "best_mean_velocity_mps": None, "velocity_loss_pct": None, "velocity_loss_mpv_pct": None}
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
        mpv = [r.mean_propulsive_velocity_mps for r in rs]
        out.append(
            SetSummary(
                set_index=si,
                reps=len(rs),
                best_mean_velocity_mps=float(max(mv)),
                velocity_loss_pct=float(set_velocity_loss_pct(mv)) if min(mv) > 0 else 0.0,
                start_ns=rs[0].start_ns,
                end_ns=rs[-1].end_ns,
                best_mean_propulsive_velocity_mps=float(max(mpv)),
                velocity_loss_mpv_pct=float(set_velocity_loss_pct(mpv)) if min(mpv) > 0 else 0.0,
            )
        )
    return out


@dataclass
class _Closed:
    """The engine's state just before a movement was closed, kept until the rest after it is confirmed: if the
    next movement shows that the bar was still moving at the close (a creep into lockout that the still test
    let through), the close is undone and the two movements are one (:meth:`BarbellEngine._reopen`)."""

    rest_start: int
    rest_end: int
    moving_ref: FrozenReference
    end_cache: dict[int, EndState]
    close_block: int
    z_base: float
    g_ref: float | None
    g_history: list[float]
    g_times: list[float]
    assembler: RepAssembler
    sets: SetTracker
    n_reps: int


def reading_wander(readings: list[float], times_s: list[float]) -> tuple[float, float]:
    """How a held bar's gravity reading moves between rests: (variance of one reading about the bar's
    true value, bias random-walk rate^2 per second).

    A reading differs from another by breathing and noise (independent each time) and by any wander of
    the bias (growing with the time between them): ``(g_i - g_j)^2 ~ (2 s_r^2 + q^2 |t_i - t_j|) chi2_1``.
    Robustly (a rest spoilt by a slow creep gives one wild reading, dropped when it lies more than
    WILD_READING_MADS normal-SDs-by-MAD from the median of readings that otherwise hold still): for each lag
    k (readings k apart) the
    median of the squared differences over the median of chi2_1 (0.455) estimates ``2 s_r^2 + q^2 T_k``, T_k
    the median time between them; a Theil-Sen line through these gives q^2 (its slope, >= 0) and s_r^2
    (half its intercept). OFFSET_SD_DEFAULT_MPS2 counts as one more reading difference, so that two or three
    rests cannot make the reading's variance implausibly small."""
    g = np.asarray(readings, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64)
    if g.size >= 3:  # a wild reading: far off the others in a series that otherwise holds still
        dev = np.abs(g - np.median(g))
        keep = dev <= WILD_READING_MADS * max(MAD_TO_SD * float(np.median(dev)), OFFSET_SD_DEFAULT_MPS2 / 4.0)
        g, t = g[keep], t[keep]
    if g.size < 2:
        return OFFSET_SD_DEFAULT_MPS2**2, 0.0
    lag_t, lag_m = [], []
    for k in range(1, g.size):
        d = g[k:] - g[:-k]
        lag_t.append(float(np.median(t[k:] - t[:-k])))
        lag_m.append(float(np.median(d * d)) / CHI2_1_MEDIAN)
    x, y = np.array(lag_t), np.array(lag_m)
    walk2 = 0.0
    if x.size >= 2 and np.ptp(x) > 0:
        i, j = np.triu_indices(x.size, 1)
        ok = x[j] != x[i]
        walk2 = max(float(np.median((y[j] - y[i])[ok] / (x[j] - x[i])[ok])), 0.0)
    var_r = max(float(np.median(y - walk2 * x)), 0.0) / 2.0
    m = float(g.size - 1)
    return (OFFSET_SD_DEFAULT_MPS2**2 + m * var_r) / (1.0 + m), walk2


CHI2_1_MEDIAN: float = 0.4549
"""Median of the chi-squared distribution with one degree of freedom."""
WILD_READING_MADS: float = 5.0
MAD_TO_SD: float = 1.4826
"""SD of a normal distribution per unit of median absolute deviation."""


class Mode(Enum):
    """Where the engine is in the stream of blocks."""

    SEEK = "seek"  # before the first rest, or after a break: looking for a rest
    REST = "rest"  # in a rest: waiting for the first block that is not quiet
    MOVING = "moving"  # in a movement: waiting for the still run that closes it


class SetTracker:
    """Set numbering and velocity loss of reps as they come (a rep starting more than ``set_rest_ns``
    after the previous one ended opens a new set)."""

    def __init__(self, set_rest_ns: int) -> None:
        self.set_rest_ns = set_rest_ns
        self.set_index = 0
        self.count = 0
        self.best_mcv_mps = 0.0
        self.best_mpv_mps = 0.0
        self._last_end_ns: int | None = None

    def add(self, start_ns: int, end_ns: int, mcv_mps: float, mpv_mps: float) -> tuple[int, int, float, float]:
        """(set index, index in set, velocity loss % on MCV, on MPV) of the rep that spans [start_ns, end_ns]."""
        if self._last_end_ns is None or start_ns - self._last_end_ns > self.set_rest_ns:
            self.set_index += 1
            self.best_mcv_mps = self.best_mpv_mps = 0.0
            self.count = 0
        self._last_end_ns = end_ns
        self.count += 1
        self.best_mcv_mps = max(self.best_mcv_mps, mcv_mps)
        self.best_mpv_mps = max(self.best_mpv_mps, mpv_mps)
        return self.set_index, self.count, _loss_pct(self.best_mcv_mps, mcv_mps), _loss_pct(self.best_mpv_mps, mpv_mps)


def _loss_pct(best: float, v: float) -> float:
    return float(100.0 * (best - v) / best) if best > 0 else 0.0


class BarbellEngine:
    """Incremental segmentation + analysis shared by the batch and live paths.

    Feed samples in time order with :meth:`push`; :meth:`finish` flushes the
    end of the data. Each returns the reps completed by that call. Decisions
    depend only on data already received and on fixed 10 ms blocks of the
    capture clock, so any chunking gives the same reps.

    The blocks are kept by :class:`analysis.blocks.BlockTrack`, the samples by
    :class:`analysis.buffers.SampleHistory`; each movement is analysed by the
    pure functions of :mod:`analysis.movement`. The engine itself is the state
    machine over the blocks (:class:`Mode`) and the bookkeeping between movements
    (gravity reference, position, reps and sets).
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
        self.stillness_window_s = float(stillness_window_s)
        self.thresholds = thresholds or StillnessThresholds()
        self.w_blocks = max(1, round(stillness_window_s * 1e9 / BLOCK_NS))
        self.w_return_blocks = min(self.w_blocks, max(1, round(RETURN_STILLNESS_WINDOW_S * 1e9 / BLOCK_NS)))
        self.force_blocks = max(self.w_blocks, round(FORCED_REST_S * 1e9 / BLOCK_NS))
        self.ctx_blocks = round(PRE_CONTEXT_S * 1e9 / BLOCK_NS)
        self.back_blocks = round(BACK_OFF_S * 1e9 / BLOCK_NS)
        self.max_move_blocks = round(MAX_MOVEMENT_S * 1e9 / BLOCK_NS)
        self.long_rest_blocks = round(LONG_REST_S * 1e9 / BLOCK_NS)
        self.min_swing_m = min(0.03, 0.3 * self.info.min_rom_m)
        self.assembler = RepAssembler(self.info.eccentric_first, self.info.min_rom_m)
        self.warnings: list[str] = []
        if not self.info.known:
            self.warnings.append(f"exercise {exercise!r} has no velocity threshold or laterality")
        # input
        self.t0_ns: int | None = None
        self._samples: SampleHistory | None = None
        self._pending_gaps: list[tuple[int, int]] = []  # declared before the first sample (t0 unknown)
        self._finished = False
        self.blocks = BlockTrack(self.thresholds)
        # segmentation state
        self.mode = Mode.SEEK
        self.rest_start = 0
        self.rest_end = 0
        self.scan = 0
        self.broken = False
        self._rest_ref: RestReference | None = None  # in a rest: its running |f| reference
        self._moving_ref = FrozenReference()  # while moving: the reference the rest before ended with
        self._end_cache: dict[int, EndState] = {}  # still-run start -> _end_state()
        self._closed: _Closed | None = None  # the last close, while it can still be undone
        self._reference_reset = False  # the next rest builds its |f| reference afresh (a drifting bias)
        # between movements
        self.z_base = 0.0
        self.g_ref: float | None = None  # gravity reading of the recent long rests (median, m/s^2)
        self._g_history: list[float] = []
        self._g_times: list[float] = []  # when each reading was taken (s from the first sample)
        self._wander_key: tuple[tuple[float, ...], tuple[float, ...]] | tuple[()] = ()
        self._wander: tuple[float, float] = (0.0, 0.0)
        # outputs
        self.reps: list[RepMetrics] = []
        self.discarded: list[DiscardedMovement] = []
        self._sets = SetTracker(round(set_rest_s * 1e9))

    # ----------------------------------------------------------------- input
    def mark_gap(self, start_ns: int, end_ns: int) -> None:
        """Declare an interval without link (e.g. disconnect to reconnect) as a break."""
        if end_ns < start_ns:
            raise ValueError("gap end_ns must be >= start_ns")
        self._pending_gaps.append((int(start_ns), int(end_ns)))
        self._apply_gaps()

    def _apply_gaps(self) -> None:
        if self.t0_ns is None:
            return
        for g0, g1 in self._pending_gaps:
            self.blocks.mark_gap((g0 - self.t0_ns) // BLOCK_NS, (g1 - self.t0_ns) // BLOCK_NS + 1)
        self._pending_gaps = []

    def push(self, samples: ImuSamples) -> list[RepMetrics]:
        """Add samples (in time order, after those already pushed); return reps completed."""
        if self._finished:
            raise ValueError("push after finish")
        if not isinstance(samples, ImuSamples):
            raise ValueError("samples must be an ImuSamples")
        if len(samples) == 0:
            return []
        if self._samples is None:
            self.t0_ns = int(samples.t_ns[0])
            self._samples = SampleHistory(samples.angles_rad is not None)
            self._apply_gaps()
        hist = self._samples
        if (samples.angles_rad is not None) != (hist.angles is not None):
            raise ValueError("all chunks must consistently have fused angles or not")
        if len(hist) and samples.t_ns[0] < hist.t_ns[-1]:
            raise ValueError("samples must be pushed in time order")
        if not (
            np.isfinite(samples.accel_mps2).all()
            and np.isfinite(samples.gyro_radps).all()
            and (samples.angles_rad is None or np.isfinite(samples.angles_rad).all())
        ):
            raise ValueError("accel_mps2, gyro_radps and angles_rad must be finite (no NaN/inf)")
        assert self.t0_ns is not None
        hist.extend(
            samples.t_ns,
            samples.accel_mps2,
            samples.gyro_radps,
            samples.angles_rad,
            block_index(samples.t_ns, self.t0_ns),
        )
        last_complete = int(hist.block[-1])  # blocks < this are complete
        self.blocks.update(hist.block, hist.accel, hist.gyro, last_complete)
        return self._advance()

    def finish(self) -> list[RepMetrics]:
        """Flush: treat the data as ended and close what can be closed."""
        if self._finished:
            return []
        self._finished = True
        if self._samples is None:
            return []
        hist = self._samples
        self.blocks.update(hist.block, hist.accel, hist.gyro, int(hist.block[-1]) + 1, final=True)
        return self._advance(final=True)

    # -------------------------------------------------------- segmentation
    def _reference(self) -> RestReference | FrozenReference | None:
        if self.mode is Mode.SEEK:
            return None
        if self.mode is Mode.REST:
            return self._rest_ref
        return self._moving_ref

    def _advance(self, final: bool = False) -> list[RepMetrics]:
        out: list[RepMetrics] = []
        n = self.blocks.end
        w = self.w_blocks
        while True:
            progressed = False
            if self.mode is Mode.SEEK:
                s, e = self.blocks.next_still_run(self.scan, n, None)
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
            elif self.mode is Mode.REST:
                # the rest ends at the first block that is not still, or whose mean |f| drifts away from
                # the rest's own (a slow, smooth start, e.g. a heavy deadlift, passes the variance test)
                b = self.blocks.first(self.scan, n, False, self._rest_ref)
                if self._closed is not None and min(b, n) - self.rest_start >= self.long_rest_blocks:
                    self._closed = None  # a long rest after the close: it stands
                if b >= n:
                    self.scan = max(self.scan, n)  # a rest closed early is confirmed up to its full window
                else:
                    if self.blocks.code(b) == BREAK:
                        self.assembler.reset()
                        self.mode, self.scan = Mode.SEEK, b
                    else:
                        assert self._rest_ref is not None
                        self._moving_ref = self._rest_ref.freeze(b)
                        self.mode, self.rest_end, self.scan, self.broken = Mode.MOVING, b, b, False
                        self._end_cache = {}
                    progressed = True
            else:
                progressed = self._advance_moving(n, final, out)
            if not progressed:
                break
        self._trim()
        return out

    def _advance_moving(self, n: int, final: bool, out: list[RepMetrics]) -> bool:
        w = self.w_blocks
        s, e = self.blocks.next_still_run(self.scan, n, self._moving_ref)
        # A still run whose mean |f| has moved away from the rest before the movement (a drifting bias) but
        # holds steady is a rest once it has lasted the forced-rest time: a steady acceleration that long
        # would have moved the bar by metres (0.15 m/s^2 for 2 s: 0.3 m/s). Its reference is then its own.
        b_rest = self._steady_still_run(n, n if s is None else s)
        if b_rest is not None:
            self._closed = None
            out.extend(self._close_movement(b_rest, w))
            self._reference_reset = True
            self._enter_rest(b_rest, w)
            return True
        upto = n if s is None else s
        if np.any(self.blocks.codes_between(self.scan, upto) == BREAK):
            self.broken = True
        if s is None:
            self.scan = n
            if final:
                self._discard(self.rest_end, n, "data ended during a movement")
                self.mode, self.scan = Mode.SEEK, n
            elif n - self.rest_end > self.max_move_blocks:
                self._discard(self.rest_end, n, "movement longer than 30 s without rest")
                self.mode = Mode.SEEK
                return True
            return False
        if s - self.rest_end > self.max_move_blocks:
            self._discard(self.rest_end, s, "movement longer than 30 s without rest")
            self.mode, self.scan = Mode.SEEK, s
            return True
        length = e - s
        is_open = e >= n and not final
        if length >= self.w_return_blocks or (final and e >= n and length >= 3):
            if s not in self._end_cache:
                self._end_cache[s] = self._end_state(s)
            end = self._end_cache[s]
            is_rest = end.velocity_at_rest
            # back where it started (top of a squat, floor of a deadlift): the short window is enough.
            # Decided from data up to block s + w_return_blocks only, so live and batch agree.
            returned = is_rest and not self.broken and self.w_return_blocks < w and end.back_at_start
            # Away from where it started in the direction of the rep (below for a lift that starts with
            # the lowering: a pause in the hole, a stall or a grind on the way up; above for one that
            # starts with the lift: a grind on the way up, the lockout before the lowering) the rep is
            # not over. Closing there would end it early (the rise so far taken for the whole concentric
            # phase), so only a forced rest closes it; a pause is a zero-velocity update inside the
            # movement instead (analysis.zupt).
            if (
                self._closed is not None
                and self.rest_start == self._closed.close_block
                and not self.broken
                and end.excursion_m < self.info.min_rom_m
                and abs(end.v_end_mps) > V_STILL_MPS + REOPEN_SIGMAS * end.v_sd_mps
                and self._reopen(s, out)
            ):
                return True
            order = self.assembler.eccentric_first
            mid_rep = not self.broken and ((order is True and end.below_start) or (order is False and end.above_start))
            need = self.w_return_blocks if returned else (self.force_blocks if mid_rep else w)
            if length >= need or (final and e >= n):
                post_len = min(length, self.w_return_blocks if returned else w)
                if self.broken:
                    self._discard(self.rest_end, s, "break in the data during the movement")
                    self.assembler.reset()
                    self._closed = None
                    self._enter_rest(s, post_len)
                    return True
                if is_rest or length >= self.force_blocks or (final and e >= n):
                    self._closed = _Closed(
                        self.rest_start,
                        self.rest_end,
                        self._moving_ref,
                        self._end_cache,
                        s,
                        self.z_base,
                        self.g_ref,
                        list(self._g_history),
                        list(self._g_times),
                        copy.deepcopy(self.assembler),
                        copy.deepcopy(self._sets),
                        len(self.reps),
                    )
                    out.extend(self._close_movement(s, post_len, returned))
                    # the rest itself is confirmed (and its |f| reference built) as with the long window
                    self._enter_rest(s, min(length, w) if final and e >= n else w)
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

    def _steady_still_run(self, n: int, before: int) -> int | None:
        """Start of FORCED_REST_S of still blocks (the variance test alone) from the scan position on whose
        windowed mean |f| stays within +-REST_DRIFT_MPS2 of its middle while its median is away from the rest
        before the movement by more than STEADY_OFFSET_FRACTION of that rest's tolerance; None if none yet. Each candidate start is
        judged on its own FORCED_REST_S of blocks only, the first that qualifies wins, and only starts before
        block ``before`` (the next still run the usual test sees, judged first): live and batch agree. A
        scan position inside a still run counts from the run's start."""
        if self.broken:
            return None
        f = self.force_blocks
        start = self.scan
        while start < n:
            s_any, e_any = self.blocks.next_still_run(start, n, None)
            if s_any is None:
                return None
            while s_any > self.rest_end and self.blocks.code(s_any - 1) == STILL:  # scan may be inside the run
                s_any -= 1
            if s_any >= before:
                return None
            e_cand = min(e_any, before - 1 + f)  # only starts before `before` are candidates
            if e_cand - s_any >= f:
                wm = self.blocks.wmean[s_any - self.blocks.codes_first : e_cand - self.blocks.codes_first]
                win = np.lib.stride_tricks.sliding_window_view(wm, f)
                steady = (np.ptp(win, axis=1) <= 2.0 * REST_DRIFT_MPS2) & (
                    np.abs(np.median(win, axis=1) - self._moving_ref.mean_mps2)
                    > STEADY_OFFSET_FRACTION * self._moving_ref.tolerance_mps2
                )
                hit = np.flatnonzero(steady)
                if hit.size and s_any + int(hit[0]) < before:
                    return s_any + int(hit[0])
            if e_any >= before:
                return None
            start = e_any
        return None

    def _enter_rest(self, s: int, length: int) -> None:
        prior = self._moving_ref if self.mode is Mode.MOVING and not self._reference_reset else None
        self._reference_reset = False
        self.mode, self.rest_start, self.scan = Mode.REST, s, s + length
        self._rest_ref = RestReference(self.blocks, s, length, prior)

    def _reopen(self, s: int, out: list[RepMetrics]) -> bool:
        """Undo the last close if the movement since then says the bar was still moving at it.

        The current movement started from the short rest that began at the close (shorter than
        ``LONG_REST_S``), is too small to be a rep, and its velocity at the still run at block s is not that
        of a bar at rest (REOPEN_SIGMAS): the bar was not at rest at its start (a creep into lockout that
        looked still, whose end is a deceleration the rest detector saw as a new movement), or s is not a
        rest. If the two movements taken as one
        would end at s at rest and back where the first started, they are one: the close is undone
        (its reps are withdrawn and will be reported again, revised, when the whole movement closes),
        and the still run at s is judged for the whole movement. Returns True if it reopened."""
        c = self._closed
        assert c is not None
        merged = self._end_state(s, c)
        if not (merged.velocity_at_rest and merged.back_at_start):
            return False
        self._closed = None
        self.mode, self.rest_start, self.rest_end = Mode.MOVING, c.rest_start, c.rest_end
        self._moving_ref, self._end_cache = c.moving_ref, {**c.end_cache, s: merged}
        self.z_base, self.g_ref, self._g_history, self._g_times = c.z_base, c.g_ref, c.g_history, c.g_times
        self.assembler, self._sets = c.assembler, c.sets
        del self.reps[c.n_reps :]
        out[:] = [r for r in out if r.index <= c.n_reps]
        self.scan, self.broken = s, False
        return True

    def _discard(self, b0: int, b1: int, reason: str) -> None:
        assert self.t0_ns is not None
        self._closed = None
        self.discarded.append(DiscardedMovement(self.t0_ns + b0 * BLOCK_NS, self.t0_ns + b1 * BLOCK_NS, reason))
        self.assembler.reset()

    def _trim(self) -> None:
        if self.mode is Mode.SEEK:
            keep_blk = self.scan - 1
        elif self.mode is Mode.REST:
            keep_blk = max(self.rest_start, self.scan - self.ctx_blocks - self.back_blocks - 2)
        else:
            keep_blk = max(self.rest_start, self.rest_end - self.ctx_blocks - self.back_blocks)
        if self._closed is not None:  # the close may be undone: keep its movement
            keep_blk = min(
                keep_blk, max(self._closed.rest_start, self._closed.rest_end - self.ctx_blocks - self.back_blocks)
            )
        # block codes are only read from self.scan on; stats only for the last windows
        self.blocks.trim(min(self.scan, keep_blk))
        hist = self._samples
        if hist is None or len(hist) == 0:
            return
        k = int(np.searchsorted(hist.block, keep_blk, side="left"))
        if k > TRIM_MIN_BLOCKS:
            hist.drop_front(k)

    # ------------------------------------------------------------ analysis
    def _t_s(self, i0: int, i1: int) -> np.ndarray:
        assert self.t0_ns is not None and self._samples is not None
        return (self._samples.t_ns[i0:i1] - self.t0_ns).astype(np.float64) * 1e-9

    def _pre_context(self, closed: _Closed | None = None) -> tuple[int, int, int]:
        """Sample indices (p0, lo, m0): gravity reference [p0, lo), integration from lo, movement from m0.

        Integration starts ``BACK_OFF_S`` before the first moving block (a slow start from rest, e.g.
        a deadlift's lift-off, looks still to the detector for a while), within the rest. With ``closed``:
        those of the movement that close ended.
        """
        assert self._samples is not None
        rest_start, rest_end = (
            (self.rest_start, self.rest_end) if closed is None else (closed.rest_start, closed.rest_end)
        )
        back = min(self.back_blocks, (rest_end - rest_start) // 2)
        b_lo = rest_end - back
        p0, lo = self._samples.index_range(max(rest_start, b_lo - self.ctx_blocks), b_lo)
        _, m0 = self._samples.index_range(rest_end, rest_end)
        if lo - p0 < 1:
            p0 = min(p0, max(lo - 1, 0))
        return p0, lo, m0

    def _rest_is_long(self, closed: _Closed | None = None) -> bool:
        if closed is not None:
            return closed.rest_end - closed.rest_start >= self.long_rest_blocks
        return self.rest_end - self.rest_start >= self.long_rest_blocks

    def _vertical_accel(
        self,
        p0: int,
        lo: int,
        i1: int,
        t: np.ndarray,
        up_end: np.ndarray | None,
        blend: tuple[float, float] | None,
        closed: _Closed | None = None,
    ) -> tuple[np.ndarray, float]:
        """Vertical acceleration of samples [p0, i1) (gravity removed) and the gravity reading of [p0, lo).

        Gravity is the reading of the rest before, or of the recent long rests when this one is short;
        the drift correction then fixes the constant offset so that v = 0 at the rest after.
        """
        hist = self._samples
        assert hist is not None
        ang = hist.angles[p0:i1] if hist.angles is not None else None
        f = vertical_specific_force(t, hist.accel[p0:i1], hist.gyro[p0:i1], ang, lo - p0, up_end, blend)
        g_here = float(f[: lo - p0].mean())
        g_prev = self.g_ref if closed is None else closed.g_ref
        g_ref = g_here if (g_prev is None or self._rest_is_long(closed)) else g_prev
        return f - g_ref, g_here

    def _end_state(self, s: int, closed: _Closed | None = None) -> EndState:
        """The movement as it would end at block s (:func:`analysis.movement.end_state`, integrated from
        the rest before the movement; with ``closed``, from the rest before the movement that close ended)."""
        hist = self._samples
        assert hist is not None
        p0, lo, _m0 = self._pre_context(closed)
        _, m1 = hist.index_range(s, s)
        m1 = min(m1, len(hist) - 1)
        if lo - p0 < 1 or m1 <= lo:
            return EndState(0.0, False, False)
        t = self._t_s(p0, m1 + 1)
        a, _ = self._vertical_accel(p0, lo, m1 + 1, t, None, None, closed)
        return end_state(t[lo - p0 :], a[lo - p0 :], self._drift_prior(a[: lo - p0], closed), self._lift(closed))

    def _lift(self, closed: _Closed | None = None) -> LiftGeometry:
        order = self.assembler.eccentric_first if closed is None else closed.assembler.eccentric_first
        return LiftGeometry(order, self.info.min_rom_m, self.min_swing_m)

    def _drift_prior(self, a_ref: np.ndarray, closed: _Closed | None = None) -> DriftPrior:
        """The error sources of a movement's integrated velocity (:class:`analysis.drift.DriftPrior`): the
        white noise measured in the gravity reference window ``a_ref`` (vertical acceleration there), and
        the SD of the reference's offset and the bias walk, from how the readings of the recent rests differ
        (:func:`reading_wander`), the offset combined with the standard error of the reading's mean."""
        n = a_ref.size
        noise = float(np.std(a_ref)) if n >= 3 else 0.0
        g, gt = (self._g_history, self._g_times) if closed is None else (closed.g_history, closed.g_times)
        key = (tuple(g), tuple(gt))
        if self._wander_key != key:  # the readings change only when a movement closes
            self._wander_key, self._wander = key, reading_wander(g, gt)
        var_reading, walk2 = self._wander
        return DriftPrior(noise, float(np.sqrt(noise * noise / max(n, 1) + var_reading)), float(np.sqrt(walk2)))

    def _close_movement(self, s: int, post_len: int, returned: bool = False) -> list[RepMetrics]:
        hist = self._samples
        assert hist is not None
        p0, lo_abs, m0 = self._pre_context()
        m1, q1 = hist.index_range(s, s + post_len)
        if m1 <= m0:
            return []  # a blip between two still runs: nothing moved
        if lo_abs - p0 < 1 or q1 - m1 < 1:
            self._discard(self.rest_end, s, "movement without samples at its bounding rests")
            return []
        t = self._t_s(p0, q1)
        lo, i_m1 = lo_abs - p0, m1 - p0
        blend = (float(t[lo]), float(t[i_m1]))
        a, g_here = self._vertical_accel(p0, lo_abs, q1, t, hist.accel[m1:q1].mean(axis=0), blend)
        if self._rest_is_long() or self.g_ref is None:
            # median of the recent long rests: one still-looking stretch of a movement cannot poison it
            self._g_history = [*self._g_history[-8:], g_here]
            self._g_times = [*self._g_times[-8:], self.rest_end * BLOCK_NS * 1e-9]
            self.g_ref = float(np.median(self._g_history))
        mov = analyse_movement(
            t,
            a,
            lo,
            m0 - p0,
            i_m1,
            z_base_m=self.z_base,
            min_swing_m=self.min_swing_m,
            min_rom_m=self.info.min_rom_m,
            load_kg=self.load_kg,
            prior=self._drift_prior(a[:lo]),
            returned=returned,
            lift=self._lift(),
        )
        self.z_base = float(mov.z_m[-1])
        return [self._make_rep(r) for r in self.assembler.add(mov.legs) if "metrics" in r.concentric.payload]

    def _ns(self, t_s: float) -> int:
        assert self.t0_ns is not None
        return self.t0_ns + round(t_s * 1e9)

    def _make_rep(self, rep: AssembledRep) -> RepMetrics:
        m = rep.concentric.payload["metrics"]
        start_ns, end_ns = self._ns(rep.start_s), self._ns(rep.end_s)
        mcv = m.mean_velocity_mps
        set_index, index_in_set, vl, vl_mpv = self._sets.add(start_ns, end_ns, mcv, m.mean_propulsive_velocity_mps)
        psf = None
        if self.body_mass_kg is not None:
            psf = m.peak_force_n * (self.load_kg + self.body_mass_kg) / self.load_kg
        r = RepMetrics(
            index=len(self.reps) + 1,
            set_index=set_index,
            start_ns=start_ns,
            end_ns=end_ns,
            concentric_start_ns=self._ns(m.start_s),
            concentric_end_ns=self._ns(m.end_s),
            mean_velocity_mps=mcv,
            mean_propulsive_velocity_mps=m.mean_propulsive_velocity_mps,
            peak_velocity_mps=m.peak_velocity_mps,
            time_to_peak_velocity_s=m.time_to_peak_velocity_s,
            rom_m=m.rom_m,
            mean_power_w=m.mean_power_w,
            peak_force_n=m.peak_force_n,
            peak_rfd_n_per_s=m.peak_rfd_n_per_s,
            rfd_0_100ms_n_per_s=m.rfd_0_100ms_n_per_s,
            velocity_loss_pct=vl,
            peak_system_force_n=psf,
            eccentric_rom_m=float(rep.eccentric_rom_m),
            index_in_set=index_in_set,
            velocity_loss_mpv_pct=vl_mpv,
        )
        self.reps.append(r)
        return r

    @property
    def retained_samples(self) -> int:
        """How many samples the engine holds (those the open movement and its context still need)."""
        return 0 if self._samples is None else len(self._samples)

    def result(self) -> BarbellAnalysis:
        """Everything found so far as a :class:`BarbellAnalysis`."""
        rate = None
        if self._samples is not None and len(self._samples) > 1:
            dt = np.diff(self._samples.t_ns)
            dt = dt[dt > 0]
            if dt.size:
                rate = float(1e9 / np.median(dt))
        return BarbellAnalysis(
            exercise=self.exercise,
            load_kg=self.load_kg,
            reps=list(self.reps),
            sets=summarise_sets(self.reps),
            discarded=list(self.discarded),
            warnings=list(self.warnings),
            sample_rate_hz=rate,
        )


BATCH_PIECE_NS: int = 10_000_000_000
"""Length of the pieces :func:`analyse_session` feeds the engine (10 s of capture clock)."""


def analyse_session(
    samples: ImuSamples,
    exercise: str,
    load_kg: float,
    *,
    body_mass_kg: float | None = None,
    set_rest_s: float = 30.0,
    gaps_ns: list[tuple[int, int]] | tuple[tuple[int, int], ...] = (),
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
        to load + body mass: an upper bound (as if the whole body moved with the bar).
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
    # fed a piece at a time, as live: the engine keeps only the samples the open movement still needs, so
    # a long capture is not copied whole into its history (any chunking gives the same reps)
    t_ns = samples.t_ns
    cuts = np.searchsorted(t_ns, np.arange(t_ns[0], t_ns[-1], BATCH_PIECE_NS)[1:]).tolist() if len(t_ns) else []
    for i0, i1 in itertools.pairwise([0, *cuts, len(samples)]):
        if i1 > i0:
            eng.push(samples.slice(i0, i1))
    eng.finish()
    res = eng.result()
    if len(samples) > 1:
        dt = np.diff(samples.t_ns)
        dt = dt[dt > 0]
        if dt.size:
            res.sample_rate_hz = float(1e9 / np.median(dt))
    return res
