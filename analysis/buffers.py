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
        return self._data[self._start:self._end]

    def __len__(self) -> int:
        return self._end - self._start

    def extend(self, rows: np.ndarray) -> np.ndarray:
        """Append ``rows`` (same row shape); return the new :attr:`view`."""
        m = len(rows)
        if self._end + m > self._data.shape[0]:
            live = self._end - self._start
            grown = np.empty((max(2 * (live + m), 1024), *self._data.shape[1:]), dtype=self._data.dtype)
            grown[:live] = self._data[self._start:self._end]
            self._data, self._start, self._end = grown, 0, live
        self._data[self._end:self._end + m] = rows
        self._end += m
        return self.view

    def drop_front(self, k: int) -> np.ndarray:
        """Forget the first ``k`` rows; return the new :attr:`view`."""
        if not 0 <= k <= len(self):
            raise ValueError(f"cannot drop {k} of {len(self)} rows")
        self._start += k
        return self.view
