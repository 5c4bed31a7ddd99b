"""An append-only numpy buffer for incremental analysis (the live rep detector's sample history).

``np.concatenate([old, new])`` on every chunk copies the whole history each time: at 1 kHz with a
few seconds kept that is ~50 us per array per 20 ms chunk. :class:`AppendBuffer` keeps spare
capacity instead (amortised O(1) per appended row) and drops rows from the front by moving an
offset.

Views handed out stay valid and unchanged: rows below the current end are never written again
(appends go past the end; growing or compacting copies into a new array), so code that kept an
earlier ``view`` (a reference slice, a cached integration) sees the same numbers as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class AppendBuffer:
    """Rows of one dtype and row shape; ``view`` is the live part ``[start, end)``."""

    def __init__(self, dtype: Any, row_shape: tuple[int, ...] = (), capacity: int = 1024) -> None:
        self._data = np.empty((max(1, capacity), *row_shape), dtype=dtype)
        self._start = 0
        self._end = 0

    @property
    def view(self) -> np.ndarray:
        return self._data[self._start : self._end]

    def __len__(self) -> int:
        return self._end - self._start

    def extend(self, rows: np.ndarray) -> np.ndarray:
        """Append ``rows`` (same row shape); return the new :attr:`view`."""
        m = len(rows)
        if self._end + m > self._data.shape[0]:
            live = self._end - self._start
            grown = np.empty((max(2 * (live + m), 1024), *self._data.shape[1:]), dtype=self._data.dtype)
            grown[:live] = self._data[self._start : self._end]
            self._data, self._start, self._end = grown, 0, live
        self._data[self._end : self._end + m] = rows
        self._end += m
        return self.view

    def drop_front(self, k: int) -> np.ndarray:
        """Forget the first ``k`` rows; return the new :attr:`view`."""
        if not 0 <= k <= len(self):
            raise ValueError(f"cannot drop {k} of {len(self)} rows")
        self._start += k
        return self.view


class SampleHistory:
    """The samples an incremental analysis still needs: times, specific force, angular rate, optional
    fused angles and each sample's 10 ms block, as :class:`AppendBuffer` views (``t_ns``, ``accel``,
    ``gyro``, ``angles``, ``block``)."""

    def __init__(self, with_angles: bool) -> None:
        self._t = AppendBuffer(np.int64)
        self._acc = AppendBuffer(np.float64, (3,))
        self._gyr = AppendBuffer(np.float64, (3,))
        self._ang = AppendBuffer(np.float64, (3,)) if with_angles else None
        self._blk = AppendBuffer(np.int64)
        self.t_ns = self._t.view
        self.accel = self._acc.view
        self.gyro = self._gyr.view
        self.angles: np.ndarray | None = self._ang.view if self._ang is not None else None
        self.block = self._blk.view

    def __len__(self) -> int:
        return len(self._t)

    def extend(
        self, t_ns: np.ndarray, accel: np.ndarray, gyro: np.ndarray, angles: np.ndarray | None, block: np.ndarray
    ) -> None:
        """Append samples (``angles`` must be given exactly when the history was made with angles)."""
        if (angles is None) != (self._ang is None):
            raise ValueError("all chunks must consistently have fused angles or not")
        self.t_ns = self._t.extend(t_ns)
        self.accel = self._acc.extend(accel)
        self.gyro = self._gyr.extend(gyro)
        if self._ang is not None:
            self.angles = self._ang.extend(angles)  # type: ignore[arg-type]
        self.block = self._blk.extend(block)

    def drop_front(self, k: int) -> None:
        """Forget the first ``k`` samples."""
        self.t_ns = self._t.drop_front(k)
        self.accel = self._acc.drop_front(k)
        self.gyro = self._gyr.drop_front(k)
        if self._ang is not None:
            self.angles = self._ang.drop_front(k)
        self.block = self._blk.drop_front(k)

    def index_range(self, b0: int, b1: int) -> tuple[int, int]:
        """Sample indices [i0, i1) of the blocks [b0, b1)."""
        return (int(np.searchsorted(self.block, b0, side="left")), int(np.searchsorted(self.block, b1, side="left")))
