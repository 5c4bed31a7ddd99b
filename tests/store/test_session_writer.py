"""store.session_writer: a whole session written in a few large transactions, only the batches the
ledger lacks; a write cut off part-way leaves whole batches and an ``open`` session, and writing
again completes it to exactly what one uninterrupted write stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from records.columns import BinaryColumn, DictionaryColumn
from records.reps import RepRow
from store import session_writer
from store.session_writer import finish_session, write_session_raw

STARTED = dt.datetime(2026, 12, 1, 17, tzinfo=dt.UTC)
CHAR = "0000ffe4-0000-1000-8000-00805f9a34fb"


@dataclass
class FakeSession:
    """``n`` notifications of 20 bytes, ``per_batch`` to a batch, one sample each; gaps per batch."""

    n: int = 1000
    per_batch: int = 7
    gaps: list[tuple[int, int, int]] = field(default_factory=lambda: [(3, 10, 20), (50, 500, 900)])

    @property
    def batch_count(self) -> int:
        return -(-self.n // self.per_batch)

    @property
    def notification_batch(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64) // self.per_batch

    @property
    def sample_batch(self) -> np.ndarray:
        return self.notification_batch

    @property
    def batch_gaps(self) -> list[tuple[int, int, int]]:
        return self.gaps

    def frame_columns(self, lo: int, hi: int) -> dict[str, Any]:
        data = (np.arange(lo * 20, hi * 20) % 251).astype(np.uint8)
        return {
            "seq": np.arange(lo, hi, dtype=np.int64),
            "t_ns": np.arange(lo, hi, dtype=np.int64) * 5_000_000,
            "char": DictionaryColumn(np.zeros(hi - lo, np.int32), (CHAR,)),
            "payload": BinaryColumn(np.arange(hi - lo + 1, dtype=np.int64) * 20, data),
        }

    def sample_columns(self, lo: int, hi: int) -> dict[str, Any]:
        return {
            "t_ns": 10**18 + np.arange(lo, hi, dtype=np.int64) * 5_000_000,
            "ax_mps2": np.arange(lo, hi, dtype=np.float64),
        }


def row(status: str = "complete") -> dict[str, Any]:
    return {
        "session_id": "abcdabcdabcdabcd",
        "sensor": "witmotion",
        "started_at": STARTED,
        "anchor_t_ns": 0,
        "exercise": "back_squat",
        "load_kg": 100.0,
        "notifications": 1000,
        "samples": 1000,
        "status": status,
        "analysis_method": "test",
    }


def dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        "frames": con.execute("SELECT seq, t_ns, char, payload FROM ble_frame ORDER BY seq").fetchall(),
        "samples": con.execute("SELECT t_ns, ax_mps2 FROM imu_sample ORDER BY t_ns").fetchall(),
        "ledger": con.execute("SELECT batch_seq, frames, samples FROM stream_batch ORDER BY batch_seq").fetchall(),
        "gaps": con.execute("SELECT start_ns, end_ns FROM stream_gap ORDER BY start_ns").fetchall(),
        "session": con.execute("SELECT status, analysis_method FROM stream_session").fetchall(),
    }


def write(con: duckdb.DuckDBPyConnection, rows: Any, **kw: Any) -> session_writer.WrittenSession:
    written = write_session_raw(con, "ann", row(), rows, sample_table="imu_sample", **kw)
    finish_session(con, "ann", row(), [RepRow("abcdabcdabcdabcd", 1, 1, "back_squat", 100.0, STARTED)])
    return written


def test_a_fresh_session_in_a_few_transactions_and_a_second_write_stores_nothing(make_store) -> None:
    con, _ = make_store()
    w = write(con, FakeSession(), chunk_rows=300)
    assert (w.raw, w.frames, w.samples, w.batches, w.gaps) == ("new", 1000, 1000, 143, 2)
    assert w.transactions == 1 + 4  # the session row, then 4 ranges of <= 300 notifications (294, 294, 294, 118)
    d = dump(con)
    assert d["frames"][5] == (5, 25_000_000, CHAR, bytes((np.arange(100, 120) % 251).astype(np.uint8)))
    assert d["ledger"][0] == (0, 7, 7) and d["ledger"][-1] == (142, 6, 6)
    assert d["session"] == [("complete", "test")]
    again = write(con, FakeSession(), chunk_rows=300)
    assert (again.raw, again.frames, again.transactions) == ("kept", 0, 1)
    assert dump(con) == d
    assert con.execute("SELECT count(*) FROM rep").fetchone()[0] == 1


def test_a_write_cut_off_part_way_is_completed_by_the_next(make_store, monkeypatch: pytest.MonkeyPatch) -> None:
    con, _ = make_store("cut.duckdb")
    ref, _ = make_store("ref.duckdb")
    write(ref, FakeSession(), chunk_rows=200)
    calls = {"n": 0}
    original = session_writer._write_range

    def dying(*args: Any) -> tuple[int, int, int, int]:
        calls["n"] += 1
        if calls["n"] == 3:
            original(*args)
            raise KeyboardInterrupt  # killed inside the third range's transaction: rolled back
        return original(*args)

    monkeypatch.setattr(session_writer, "_write_range", dying)
    with pytest.raises(KeyboardInterrupt):
        write_session_raw(con, "ann", row(), FakeSession(), sample_table="imu_sample", chunk_rows=200)
    monkeypatch.setattr(session_writer, "_write_range", original)
    cut = dump(con)
    assert cut["session"] == [("open", "test")]  # the session row went in first, as open
    batches = [b for b, _, _ in cut["ledger"]]
    assert batches == list(range(len(batches))) and 0 < len(batches) < 143  # whole batches, a prefix
    assert len(cut["frames"]) == sum(f for _, f, _ in cut["ledger"])  # each with its rows
    w = write(con, FakeSession(), chunk_rows=200)
    assert w.raw == "continued"
    assert dump(con) == dump(ref)


def test_samples_a_live_session_had_not_stored_go_with_the_first_missing_batch(make_store) -> None:
    """A live session stores a sample once its time is final, so its last batches hold fewer
    samples than notifications; the continuation adds exactly the samples it lacks."""
    con, _ = make_store()
    rows = FakeSession()
    # the live session: batches 0-9 (70 notifications) but only the first 65 samples
    from store.writers import insert_columns

    consts = {"athlete": "ann", "session_id": "abcdabcdabcdabcd"}
    insert_columns(con, "ble_frame", rows.frame_columns(0, 70), constants=consts)
    insert_columns(con, "imu_sample", rows.sample_columns(0, 65), constants=consts)
    per = [7] * 9 + [2]
    insert_columns(
        con,
        "stream_batch",
        {"batch_seq": np.arange(10), "frames": np.full(10, 7, np.int32), "samples": np.asarray(per, np.int32)},
        constants={**consts, "committed_at": STARTED},
    )
    w = write(con, rows)
    assert w.raw == "continued" and w.frames == 930 and w.samples == 935
    d = dump(con)
    assert [t for t, _ in d["samples"]] == [10**18 + i * 5_000_000 for i in range(1000)]  # each once
    assert d["ledger"][10] == (10, 7, 12)  # batch 10 took the 5 samples the store lacked


def test_a_store_holding_batches_the_write_lacks_gets_only_the_missing_ones(make_store) -> None:
    con, _ = make_store()
    full = FakeSession(n=1000)
    write(con, full)
    con.execute("DELETE FROM ble_frame WHERE seq BETWEEN 70 AND 139")
    con.execute(
        "DELETE FROM imu_sample WHERE t_ns BETWEEN ? AND ?", [10**18 + 70 * 5_000_000, 10**18 + 139 * 5_000_000]
    )
    con.execute("DELETE FROM stream_batch WHERE batch_seq BETWEEN 10 AND 19")
    shorter = FakeSession(n=500)  # a capture cut short: batches 0-71
    w = write(con, shorter)
    assert (w.raw, w.batches, w.frames, w.samples) == ("added", 10, 70, 70)
    ref, _ = make_store("ref.duckdb")
    write(ref, full)
    assert dump(con)["frames"] == dump(ref)["frames"] and dump(con)["ledger"] == dump(ref)["ledger"]


def test_memory_limit_is_reset_after_writing(make_store) -> None:
    con, _ = make_store()
    before = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    write(con, FakeSession(n=50))
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before


def test_an_unknown_sample_table_is_refused(tmp_path: Path, make_store) -> None:
    con, _ = make_store()
    with pytest.raises(ValueError, match="not a sample table"):
        write_session_raw(con, "ann", row(), FakeSession(), sample_table="rep")
