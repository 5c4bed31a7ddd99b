"""Block bookkeeping of the bar-velocity engine: 10 ms blocks of the capture clock, kept incrementally.

:class:`BlockTrack` holds, for every complete 10 ms block, its sample sums (:func:`analysis.reps.block_stats`),
its code (still, moving or break: :func:`analysis.reps.classify_blocks`, plus runs of >= 0.25 s without
samples and gaps declared by the caller) and the windowed mean of ``|f| - g``. Blocks are closed only when a
sample of a later block has arrived and every sum is accumulated in a fixed order, so live chunking and a
whole capture give the same codes. :class:`RestReference` is the running ``|f| - g`` reference of the rest
the engine is in (a slow, steadily accelerating lift passes the variance test, not a comparison with the
rest's own reading). The engine (:class:`analysis.barbell.BarbellEngine`) decides what the blocks mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.buffers import AppendBuffer
from analysis.reps import (
    BREAK,
    BREAK_MIN_EMPTY_BLOCKS,
    HALF_WINDOW_BLOCKS,
    STILL,
    StillnessThresholds,
    block_stats,
    classify_blocks,
    runs,
)

REST_DRIFT_MPS2: float = 0.15
"""Outside the first rest, a block is quiet only if its windowed mean |f| is within this (m/s^2) of the
last rest's: a steady acceleration of a slow, heavy lift passes the variance test, not this one
(|f| does not depend on orientation)."""
REST_REF_SLACK_MPS2: float = 0.05
"""How far (m/s^2) a rest's running |f| reference may move from that of the rest before the movement
that just ended: a still bar reads the same |f| at every rest (its bias projected differently after a
tilt of a few degrees changes it by < 0.01 m/s^2), so a larger change is the bar still slowing down (the
end of a slow creep into lockout that the still test let through), which would otherwise become the
reference of the next movement and keep it from ever finding its rest. A slow bias drift is followed by
up to this much per rest."""
TRIM_MIN_BLOCKS: int = 4096
"""Arrays are shortened only by at least this many rows at a time (amortised)."""


@dataclass(frozen=True)
class FrozenReference:
    """The ``|f| - g`` reference of the rest before a movement, kept for the whole movement."""

    mean_mps2: float = 0.0
    tolerance_mps2: float = REST_DRIFT_MPS2


class BlockTrack:
    """Per-block sums, codes and windowed means of ``|f| - g``, indexed by absolute block number.

    Feed the growing sample arrays with :meth:`update`; blocks ``< end`` are classified.
    ``stats`` row j holds block ``stats_first + j``; codes and windowed means hold blocks
    ``codes_first .. end - 1``.
    """

    def __init__(self, thresholds: StillnessThresholds) -> None:
        h = HALF_WINDOW_BLOCKS
        self.thresholds = thresholds
        self._stats_buf = AppendBuffer(np.float64, (4,))
        self._codes_buf = AppendBuffer(np.int8)
        self._wmean_buf = AppendBuffer(np.float64)
        self.stats = self._stats_buf.extend(np.zeros((h, 4)))
        self.stats_first = -h  # block of stats[0] (h empty blocks before block 0 complete the first window)
        self.n_stats_blocks = 0  # blocks 0 .. n-1 have final sums
        self.codes = self._codes_buf.view
        self.wmean = self._wmean_buf.view  # window mean of |f| - g per classified block
        self.codes_first = 0
        self.gaps: list[tuple[int, int]] = []  # declared gaps [b0, b1) (breaks)

    @property
    def end(self) -> int:
        """One past the last classified block."""
        return self.codes_first + self.codes.size

    def mark_gap(self, b0: int, b1: int) -> None:
        """Blocks in [b0, b1) are breaks (no link), whatever their samples."""
        self.gaps.append((b0, b1))

    def update(self, blk: np.ndarray, acc: np.ndarray, gyr: np.ndarray, n_complete: int, final: bool = False) -> None:
        """Sums of the blocks now complete (< n_complete) and codes of those whose +-h window is complete.

        ``blk``, ``acc``, ``gyr``: block index, specific force and angular rate of the samples held.
        ``final``: the data ended; the last blocks are classified with empty blocks after them.
        """
        h = HALF_WINDOW_BLOCKS
        if n_complete > self.n_stats_blocks:
            first = self.n_stats_blocks
            i0 = int(np.searchsorted(blk, first, side="left"))
            new = block_stats(blk[i0:], acc[i0:], gyr[i0:], first, n_complete - first)
            self.stats = self._stats_buf.extend(new)
            self.n_stats_blocks = n_complete
        stats = self.stats
        if final:
            stats = np.concatenate([stats, np.zeros((h, 4))])
        n_classifiable = self.n_stats_blocks - (0 if final else h)
        done = self.end
        if n_classifiable <= done:
            return
        sub = stats[done - h - self.stats_first : n_classifiable + h - self.stats_first]
        codes, wmean = classify_blocks(sub, self.thresholds)
        # long empty runs are breaks. Every run of empty complete blocks is terminated (the block after
        # the complete ones holds the latest sample), so its length is known here; looking back
        # BREAK_MIN_EMPTY_BLOCKS blocks is enough to tell whether it is long.
        lo = max(done - BREAK_MIN_EMPTY_BLOCKS, self.stats_first + h)
        counts = self.stats[lo - self.stats_first : self.n_stats_blocks - self.stats_first, 0]
        starts, ends = runs(counts == 0)
        for rs, re_ in zip(starts + lo, ends + lo, strict=True):
            if re_ - rs >= BREAK_MIN_EMPTY_BLOCKS or (
                rs == lo and lo > self.stats_first + h and re_ - rs > 0 and self._long_empty_before(lo)
            ):
                a0, a1 = max(rs, done), min(re_, n_classifiable)
                if a1 > a0:
                    codes[a0 - done : a1 - done] = BREAK
        if self.gaps:
            idx = np.arange(done, n_classifiable)
            for g0, g1 in self.gaps:
                codes[(idx >= g0) & (idx < g1)] = BREAK
        self.codes = self._codes_buf.extend(codes)
        self.wmean = self._wmean_buf.extend(wmean)

    def _long_empty_before(self, lo: int) -> bool:
        """True if the empty run ending at block lo (exclusive) already holds BREAK_MIN_EMPTY_BLOCKS blocks."""
        j = lo - self.stats_first
        k0 = max(j - BREAK_MIN_EMPTY_BLOCKS, 0)
        seg = self.stats[k0:j, 0]
        return seg.size >= BREAK_MIN_EMPTY_BLOCKS and bool(np.all(seg == 0))

    def code(self, b: int) -> int:
        return int(self.codes[b - self.codes_first])

    def codes_between(self, b0: int, b1: int) -> np.ndarray:
        return self.codes[b0 - self.codes_first : b1 - self.codes_first]

    def stats_between(self, b0: int, b1: int) -> np.ndarray:
        return self.stats[b0 - self.stats_first : b1 - self.stats_first]

    def quiet(self, b0: int, b1: int, reference: RestReference | FrozenReference | None) -> np.ndarray:
        """Still blocks in [b0, b1); with a reference also with a windowed mean |f| close to the rest's.

        ``None`` (no rest yet): the still test alone. A :class:`RestReference` (in a rest): the mean
        over the rest's blocks before each block's window (so it depends only on earlier data,
        whatever the chunking). A :class:`FrozenReference` (moving): the value the rest before the
        movement ended with.
        """
        q: npt.NDArray[np.bool_] = self.codes_between(b0, b1) == STILL
        if reference is None or b1 <= b0:
            return q
        wm = self.wmean[b0 - self.codes_first : b1 - self.codes_first]
        ref: np.ndarray | float
        thr: np.ndarray | float
        if isinstance(reference, RestReference):
            ref, thr = reference.at(np.arange(b0, b1))
        else:
            ref, thr = reference.mean_mps2, reference.tolerance_mps2
        quiet: npt.NDArray[np.bool_] = q & (np.abs(wm - ref) <= thr)
        return quiet

    def first(self, start: int, n: int, want_quiet: bool, reference: RestReference | FrozenReference | None) -> int:
        """First block >= start (< n) that is quiet (or not quiet); n if none. Searches in growing windows
        so that a long session is not rescanned from each movement to its end."""
        lo, width = start, 512
        while lo < n:
            hi = min(n, lo + width)
            q = self.quiet(lo, hi, reference)
            hit = np.flatnonzero(q if want_quiet else ~q)
            if hit.size:
                return lo + int(hit[0])
            lo, width = hi, width * 2
        return n

    def next_still_run(
        self, start: int, n: int, reference: RestReference | FrozenReference | None
    ) -> tuple[int | None, int]:
        """(first quiet block >= start, first not-quiet block after it); (None, n) if none before n."""
        s = self.first(start, n, True, reference)
        if s >= n:
            return None, n
        return s, self.first(s, n, False, reference)

    def trim(self, keep_codes_from: int) -> None:
        """Forget codes before block ``keep_codes_from`` and the sums no window needs any more."""
        drop = keep_codes_from - self.codes_first
        if drop > TRIM_MIN_BLOCKS:
            self.codes = self._codes_buf.drop_front(drop)
            self.wmean = self._wmean_buf.drop_front(drop)
            self.codes_first += drop
        drop = self.end - 2 * HALF_WINDOW_BLOCKS - BREAK_MIN_EMPTY_BLOCKS - 2 - self.stats_first
        if drop > TRIM_MIN_BLOCKS:
            self.stats = self._stats_buf.drop_front(drop)
            self.stats_first += drop


class RestReference:
    """Running ``|f| - g`` reference of the rest the engine is in: mean and tolerance per block.

    The sums start half a window into the rest (earlier windows still see the movement) and cover
    at least the confirmed part of the rest. With a ``prior`` (the reference of the rest before the
    movement that just ended) the mean is kept within ``REST_REF_SLACK_MPS2`` of it.
    """

    def __init__(
        self, track: BlockTrack, rest_start: int, confirmed_len: int, prior: FrozenReference | None = None
    ) -> None:
        self._track = track
        self._origin = min(rest_start + HALF_WINDOW_BLOCKS, rest_start + confirmed_len - 1)
        self._cum = np.zeros((0, 3))
        self._min_j = rest_start + confirmed_len - 1 - self._origin  # at least the confirmed part
        self.extend(rest_start + confirmed_len)
        self._prior = prior

    def extend(self, upto: int) -> None:
        """Extend the running sums (count, sum d, sum d^2) to blocks < upto (sequential cumsum)."""
        have = self._origin + self._cum.shape[0]
        upto = min(upto, self._track.n_stats_blocks)
        if upto <= have:
            return
        rows = self._track.stats_between(have, upto)[:, :3]
        start = self._cum[-1] if self._cum.shape[0] else np.zeros(3)
        ext = np.cumsum(np.concatenate([start[None, :], rows]), axis=0)[1:]
        self._cum = np.concatenate([self._cum, ext])

    def at(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reference mean and tolerance for each block: REST_DRIFT_MPS2, or 4 standard errors of a window
        mean at the noise measured in the rest if larger."""
        h = HALF_WINDOW_BLOCKS
        # the confirmed part is always in the sums (its blocks are complete once any block after the
        # rest is classified): extending only to the blocks asked about would, live, leave it short
        self.extend(max(int(blocks.max()) - h, self._origin + self._min_j + 1))
        j = np.clip(blocks - h - 1 - self._origin, self._min_j, self._cum.shape[0] - 1)
        c = self._cum[j]
        n = np.maximum(c[:, 0], 1.0)
        mean = c[:, 1] / n
        var = np.maximum(c[:, 2] / n - mean * mean, 0.0)
        if self._prior is not None:
            p = self._prior.mean_mps2
            mean = np.clip(mean, p - REST_REF_SLACK_MPS2, p + REST_REF_SLACK_MPS2)
        per_window = np.maximum(n / (j + 1) * (2 * h + 1), 1.0)
        thr = np.maximum(REST_DRIFT_MPS2, 4.0 * np.sqrt(var / per_window))
        return mean, thr

    def freeze(self, b: int) -> FrozenReference:
        """The rest ends at block b: its reference, kept for the movement that follows."""
        ref, thr = self.at(np.array([b]))
        return FrozenReference(float(ref[0]), float(thr[0]))
