"""AppendBuffer: amortised appends, front drops, and views that never change underneath a reader."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.buffers import AppendBuffer


def test_appends_and_drops_match_plain_concatenation() -> None:
    rng = np.random.default_rng(4)
    buf = AppendBuffer(np.float64, (3,), capacity=4)
    expected = np.zeros((0, 3))
    for _ in range(300):
        rows = rng.normal(size=(int(rng.integers(0, 40)), 3))
        view = buf.extend(rows)
        expected = np.concatenate([expected, rows])
        np.testing.assert_array_equal(view, expected)
        if rng.random() < 0.3:
            k = int(rng.integers(0, len(buf) + 1))
            view = buf.drop_front(k)
            expected = expected[k:]
            np.testing.assert_array_equal(view, expected)
        assert len(buf) == len(expected)


def test_views_handed_out_never_change() -> None:
    buf = AppendBuffer(np.int64, capacity=8)
    kept = []
    for i in range(200):
        view = buf.extend(np.arange(i * 5, i * 5 + 5))
        kept.append((view, view.copy()))
        if i % 7 == 0:
            view = buf.drop_front(len(buf) // 2)
            kept.append((view, view.copy()))
    for view, snapshot in kept:  # appends, growth and compaction all left every earlier view as it was
        np.testing.assert_array_equal(view, snapshot)


def test_growth_is_amortised_and_memory_bounded() -> None:
    buf = AppendBuffer(np.float64, capacity=16)
    reallocations, data = 0, buf._data
    for _ in range(10_000):
        buf.extend(np.ones(10))
        buf.drop_front(max(0, len(buf) - 1000))  # a sliding window of 1000 rows
        if buf._data is not data:
            reallocations, data = reallocations + 1, buf._data
    assert len(buf) == 1000
    assert buf._data.shape[0] <= 4 * 1010  # about twice the live rows at most
    assert reallocations < 120  # 100,000 rows appended: one reallocation per ~1,000 rows, not per append


def test_drop_more_than_held_is_refused() -> None:
    buf = AppendBuffer(np.int64)
    buf.extend(np.arange(3))
    with pytest.raises(ValueError, match="cannot drop 4 of 3"):
        buf.drop_front(4)
