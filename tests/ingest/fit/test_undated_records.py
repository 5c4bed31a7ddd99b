"""Records without a timestamp of their own (issue 12, item 16): kept with a time the file gives
them, or counted and reported; never `imported` with records silently missing.

The two real cases the issue found (a Garmin pool swim, the FIT SDK's DeveloperData example) are
FIT SDK files, whose licence does not allow redistribution: they are rebuilt here byte by byte
with the same message structure (the SDK example: file_id, developer_data_id, field_description,
three records without timestamps, nothing else). TestEncode.fit (muktihari/fit, BSD-3-Clause) is a
real file whose one record has no timestamp.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np

from ingest.fit.activity import build_activities, date_records
from ingest.fit.fast_decoder import decode_fast
from ingest.fit.fitparse_boundary import decode_fitparse
from ingest.fit.importer import decode_item, import_paths
from store import readers
from store.connection import open_store
from tests.ingest.fit.fitgen import RawFitWriter

REPO = Path(__file__).resolve().parents[3]
FIT_EPOCH_S = 631065600
T0 = int(dt.datetime(2026, 2, 3, 6, 30, tzinfo=dt.UTC).timestamp()) - FIT_EPOCH_S  # FIT time of the start
U32_INVALID = 0xFFFFFFFF


def _file_id(w: RawFitWriter, with_time: bool = True) -> None:
    fields = [(0, 1, 0x00), (1, 2, 0x84), (2, 2, 0x84), (3, 4, 0x8C)] + ([(4, 4, 0x86)] if with_time else [])
    w.define(0, 0, fields)
    w.data(0, [4, 1, 9001, 1701] + ([T0] if with_time else []))


def developer_data_example() -> bytes:
    """The FIT SDK's DeveloperData.fit, rebuilt: an activity file_id (no time), a developer field
    'doughnuts_earned', three records with heart rate, cadence, distance, speed and the developer
    field, no timestamp anywhere, no session."""
    w = RawFitWriter()
    _file_id(w, with_time=False)
    w.define(1, 207, [(1, 16, 0x0D), (3, 1, 0x02)])
    w.data(1, [bytes([1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 121, 98, 219]), 0])
    w.define(2, 206, [(0, 1, 0x02), (1, 1, 0x02), (2, 1, 0x02), (3, 17, 0x07), (8, 10, 0x07)])
    w.data(2, [0, 0, 0x01, "doughnuts_earned", "doughnuts"])
    w.define(3, 20, [(3, 1, 0x02), (4, 1, 0x02), (5, 4, 0x86), (6, 2, 0x84)], [(0, 1, 0)])
    for hr, cad, dist, speed, dn in (
        (140, 88, 51000, 47488, 1),
        (143, 90, 208000, 36416, 2),
        (144, 92, 371000, 35344, 3),
    ):
        w.data(3, [hr, cad, dist, speed], [dn], dev_types=[0x01])
    return w.to_bytes()


def pool_swim(lengths: int = 12, length_s: int = 40) -> tuple[bytes, list[int]]:
    """A lap-swimming activity as pool-swim watches write it: before each length message, one
    record (distance, heart rate) with no timestamp; a lap every 4 lengths; a session.

    Returns the file and, per record, the FIT time the file gives it: the timestamp of the last
    dated message written before it (the previous length's end), or the session's start_time for
    the first record, which comes before any dated message."""
    w = RawFitWriter()
    _file_id(w)
    w.define(1, 20, [(5, 4, 0x86), (3, 1, 0x02)])  # record: distance, heart rate; no timestamp field
    w.define(2, 101, [(253, 4, 0x86), (2, 4, 0x86), (3, 4, 0x86), (12, 1, 0x00), (254, 2, 0x84)])
    w.define(3, 19, [(253, 4, 0x86), (2, 4, 0x86), (7, 4, 0x86), (254, 2, 0x84)])
    expected: list[int] = []
    prev_dated: int | None = None
    t = T0
    for k in range(lengths):
        w.data(1, [25 * 100 * (k + 1), 120 + k])
        expected.append(prev_dated if prev_dated is not None else T0)
        w.data(2, [t + length_s, t, length_s * 1000, 1, k])  # length_type 1 = active
        prev_dated = t + length_s
        t += length_s
        if (k + 1) % 4 == 0:
            w.data(3, [t, t - 4 * length_s, 4 * length_s * 1000, k // 4])
            prev_dated = t
    w.define(4, 18, [(253, 4, 0x86), (2, 4, 0x86), (7, 4, 0x86), (5, 1, 0x00), (6, 1, 0x00), (9, 4, 0x86)])
    w.data(4, [t, T0, (t - T0) * 1000, 5, 17, 25 * 100 * lengths])  # swimming / lap_swimming
    return w.to_bytes(), expected


def _decoded(data: bytes, name: str = "x.fit"):
    return decode_item(name, data, hashlib.sha256(data).hexdigest())


def test_developer_data_example_fails_with_a_reason_true_to_the_file() -> None:
    """main said "holds no session and no record" about a file with three records."""
    d = _decoded(developer_data_example())
    assert d.status == "failed"
    assert d.error == (
        "activity file holds 3 record(s) but none has a timestamp, and nothing in the file dates "
        "them (no session, lap, length or other dated message): nothing stored"
    )


def test_pool_swim_records_are_dated_from_the_lengths_before_them(tmp_path: Path) -> None:
    """main imported this file with 0 records and said nothing."""
    data, expected = pool_swim()
    (tmp_path / "swim.fit").write_bytes(data)
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path / "swim.fit"], athlete="default", show_progress=False)
    [f] = s.files
    assert (f.status, f.records, f.sport) == ("imported", 12, "swimming")
    assert f.reason == "12 record(s) without a timestamp dated from the messages written before them"
    rows = con.execute("SELECT t_ns, distance_m, heart_rate_bpm FROM record ORDER BY distance_m").fetchall()
    assert [r[0] for r in rows] == [(t + FIT_EPOCH_S) * 10**9 for t in expected]
    assert [r[1] for r in rows] == [25.0 * (k + 1) for k in range(12)]
    assert [r[2] for r in rows] == [120.0 + k for k in range(12)]


def test_both_decoders_date_records_the_same_way() -> None:
    """The dating reads message positions across types: byte offsets from the fast decoder, message
    ordinals from fitparse; both give the same times."""
    data, expected = pool_swim(lengths=9)
    for fit in (decode_fast(data), decode_fitparse(data)):
        dating = date_records(fit)
        assert (dating.derived, dating.undated) == (9, 0), fit.decoder
        assert dating.t_s.tolist() == [float(t + FIT_EPOCH_S) for t in expected], fit.decoder


def test_records_nothing_dates_make_the_file_partial_with_the_count(tmp_path: Path) -> None:
    """Records before every dated message, in a file whose session has no start_time: nothing in the
    file dates them. main stored the session with 0 records and reported `imported`."""
    w = RawFitWriter()
    _file_id(w, with_time=False)
    w.define(1, 20, [(3, 1, 0x02)])
    for hr in (100, 101, 102, 103):
        w.data(1, [hr])
    w.define(2, 18, [(253, 4, 0x86), (5, 1, 0x00)])
    w.data(2, [T0 + 600, 1])
    (tmp_path / "r.fit").write_bytes(w.to_bytes())
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path / "r.fit"], athlete="default", show_progress=False)
    [f] = s.files
    assert f.status == "partial" and f.records == 0
    assert f.error == "4 record(s) without a timestamp that nothing in the file dates: not stored"
    assert s.exit_code == 1
    assert con.execute("SELECT status, error FROM source_file").fetchall() == [("partial", f.error)]


def test_a_run_with_invalid_timestamps_keeps_every_record(tmp_path: Path) -> None:
    """Three records of a run whose timestamp is the invalid value: each takes the time of the
    record before it. main dropped them and still said `imported`."""
    w = RawFitWriter()
    _file_id(w)
    w.define(1, 20, [(253, 4, 0x86), (3, 1, 0x02)])
    times = [T0 + i for i in range(10)]
    bad = {3, 4, 8}
    for i, t in enumerate(times):
        w.data(1, [U32_INVALID if i in bad else t, 130 + i])
    w.define(2, 18, [(253, 4, 0x86), (2, 4, 0x86), (7, 4, 0x86), (5, 1, 0x00)])
    w.data(2, [T0 + 9, T0, 9000, 1])
    (tmp_path / "r.fit").write_bytes(w.to_bytes())
    con = open_store(tmp_path / "x.duckdb")
    [f] = import_paths(con, [tmp_path / "r.fit"], athlete="default", show_progress=False).files
    assert (f.status, f.records) == ("imported", 10)
    got = con.execute(
        "SELECT t_ns // 1000000000 - ?, heart_rate_bpm FROM record ORDER BY heart_rate_bpm", [FIT_EPOCH_S + T0]
    ).fetchall()
    assert [g[0] for g in got] == [0, 1, 2, 2, 2, 5, 6, 7, 7, 9]
    assert [g[1] for g in got] == [130.0 + i for i in range(10)]


def test_real_file_with_an_undated_record(tmp_path: Path) -> None:
    """TestEncode.fit: file_id, activity (timestamp 2023-09-15T06:00:00Z), an empty session, then one
    record without a timestamp. It takes the activity's time; main stored 0 records."""
    path = REPO / "sample_data" / "fit" / "other" / "TestEncode.fit"
    con = open_store(tmp_path / "x.duckdb")
    [f] = import_paths(con, [path], athlete="default", show_progress=False).files
    assert (f.status, f.records) == ("imported", 1)
    [act] = readers.activities(con, "default")
    assert act["records"] == 1 and act["started_at"] == "2023-09-15T06:00:00Z"
    t_ns, hr = con.execute("SELECT t_ns, heart_rate_bpm FROM record").fetchone()
    assert t_ns == int(dt.datetime(2023, 9, 15, 6, tzinfo=dt.UTC).timestamp()) * 10**9 and hr == 100.0


def test_dating_leaves_files_with_timestamps_alone() -> None:
    data = (REPO / "sample_data" / "fit" / "runs" / "garmin-fenix-5-run.fit").read_bytes()
    fit = decode_fast(data)
    dating = date_records(fit)
    assert (dating.derived, dating.undated, dating.note()) == (0, 0, None)
    assert np.array_equal(dating.t_s, fit.get("record").numeric("timestamp"))
    acts = build_activities(fit, "0" * 64)
    assert sum(len(a.records) for a in acts) == fit.get("record").n
