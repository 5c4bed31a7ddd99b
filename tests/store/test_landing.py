"""Landing files: batched commits, idempotent merge, merge_pending ownership rules, kill -9."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import pytest

from store.connection import open_store
from store.landing import (
    LandingBusyError,
    LandingWriter,
    landing_dir,
    landing_path,
    merge_landing,
    merge_pending,
    read_landing,
    read_owner,
)
from tests.kill9 import kill_9_when
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
IMU_COLS = ("ax_mps2", "ay_mps2", "az_mps2", "gx_radps", "gy_radps", "gz_radps", "roll_rad", "pitch_rad", "yaw_rad")


def session_row(sid: str = "0123456789abcdef", status: str = "open") -> dict:
    return {
        "athlete": "ann",
        "session_id": sid,
        "sensor": "witmotion",
        "started_at": datetime(2026, 11, 28, 17, tzinfo=UTC),
        "anchor_t_ns": 0,
        "configured_rate_hz": 200.0,
        "exercise": "back_squat",
        "load_kg": 100.0,
        "status": status,
    }


def batch(b: int, n: int = 25) -> tuple[dict, dict]:
    seq = np.arange(b * n, (b + 1) * n)
    frames = {
        "seq": seq,
        "t_ns": seq * 5_000_000,
        "char": ["0000ffe4-0000-1000-8000-00805f9a34fb"] * n,
        "payload": [bytes([0x55, 0x61]) + int(s).to_bytes(18, "little") for s in seq],
    }
    samples = {"imu_sample": {"t_ns": seq * 5_000_000, **{c: seq * 0.5 for c in IMU_COLS}}}
    return frames, samples


def write_session(
    db: Path, batches: range, sid: str = "0123456789abcdef", finish: bool = True, reps: int = 2
) -> LandingWriter:
    w = LandingWriter(db, sid, session_row(sid))
    for b in batches:
        frames, samples = batch(b)
        w.write_batch(b, frames, samples, gaps=[(b * 1000, b * 1000 + 500)] if b == 3 else ())
    if finish:
        rep_rows = [
            {
                "athlete": "ann",
                "session_id": sid,
                "set_index": 1,
                "rep_index": i + 1,
                "exercise": "back_squat",
                "load_kg": 100.0,
                "mean_velocity_mps": 0.6 - 0.05 * i,
            }
            for i in range(reps)
        ]
        set_rows = (
            [
                {
                    "athlete": "ann",
                    "set_id": f"{sid}:1",
                    "session_id": sid,
                    "set_index": 1,
                    "set_type": "active",
                    "reps": reps,
                    "load_kg": 100.0,
                    "source": "sensor",
                    "exercise": "back_squat",
                }
            ]
            if reps
            else []
        )
        w.finish(session_row(sid, "complete"), rep_rows, set_rows)
    w.close()
    return w


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("stream_session", "stream_batch", "ble_frame", "imu_sample", "stream_gap", "rep", "strength_set")
    }


def test_layout_one_row_per_batch_and_round_trip(tmp_path: Path) -> None:
    """Each batch is one landing_batch row; read_landing gives back the main tables' columns and the
    exact values written; the session tables are the main schema's."""
    db = tmp_path / "main.duckdb"
    write_session(db, range(5), finish=False)
    path = landing_path(db, "ann", "0123456789abcdef")
    lf = duckdb.connect(str(path), read_only=True)
    main = open_store(db)
    try:
        assert lf.execute("SELECT batch_seq, frames, samples FROM landing_batch ORDER BY 1").fetchall() == [
            (b, 25, 25) for b in range(5)
        ]
        for table in ("stream_session", "rep", "strength_set"):
            lcols = [r[0] for r in lf.execute(f"DESCRIBE {table}").fetchall()]
            assert lcols == [r[0] for r in main.execute(f"DESCRIBE {table}").fetchall()]
        owner = lf.execute("SELECT pid, finished_at FROM landing_owner").fetchone()
        assert owner == (os.getpid(), None)
        main_cols = {
            t: [r[0] for r in main.execute(f"DESCRIBE {t}").fetchall()]
            for t in ("ble_frame", "imu_sample", "stream_gap", "stream_batch")
        }
    finally:
        lf.close()
        main.close()
    got = read_landing(path)
    for table, cols in main_cols.items():
        assert set(cols) <= set(got[table].column_names) <= {*cols, "batch_seq"}
    for b in range(5):
        frames, samples = batch(b)
        rows = got["ble_frame"].filter(pc.equal(got["ble_frame"]["batch_seq"], b))
        assert rows["seq"].to_pylist() == frames["seq"].tolist()
        assert rows["payload"].to_pylist() == frames["payload"]
        imu = got["imu_sample"].filter(pc.equal(got["imu_sample"]["batch_seq"], b))
        for c in IMU_COLS:
            assert imu[c].to_pylist() == samples["imu_sample"][c].tolist()
    assert got["stream_gap"].select(["start_ns", "end_ns", "batch_seq"]).to_pylist() == [
        {"start_ns": 3000, "end_ns": 3500, "batch_seq": 3}
    ]


def test_first_layout_landing_file_still_merges(tmp_path: Path) -> None:
    """A landing file of the first layout (row tables with batch_seq and no athlete column, directly
    in the landing directory; left by a crash of an earlier version) is merged under the athlete its
    session row names."""
    from store.schema import MIGRATIONS, migrate

    old = duckdb.connect(":memory:")  # the schema those versions had: migrations 1-2
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("store.schema.MIGRATIONS", MIGRATIONS[:2])
        migrate(old)
    ddl = {
        t: old.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [t]).fetchone()[0]
        for t in (
            "ble_frame",
            "imu_sample",
            "hr_sample",
            "rsc_sample",
            "power_sample",
            "stream_gap",
            "stream_session",
            "stream_batch",
            "rep",
            "strength_set",
        )
    }
    old.close()
    db = tmp_path / "main.duckdb"
    path = landing_dir(db) / "0123456789abcdef.duckdb"
    path.parent.mkdir(parents=True)
    lf = duckdb.connect(str(path))
    for table, sql in ddl.items():
        lf.execute(sql)
        if table not in ("stream_session", "stream_batch", "rep", "strength_set"):
            lf.execute(f"ALTER TABLE {table} ADD COLUMN batch_seq BIGINT")
    lf.execute(
        "CREATE TABLE landing_owner (pid INTEGER NOT NULL, host VARCHAR NOT NULL, pid_start_ticks BIGINT, "
        "session_id VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ)"
    )
    row = session_row()
    lf.execute(
        "INSERT INTO stream_session (athlete, session_id, sensor, started_at, anchor_t_ns, status) "
        "VALUES (?, ?, ?, ?, ?, 'open')",
        [row["athlete"], row["session_id"], row["sensor"], row["started_at"], 0],
    )
    for b in range(3):
        lf.execute("INSERT INTO stream_batch VALUES (?, ?, 2, 2, now())", [row["session_id"], b])
        for k in range(2):
            lf.execute(
                "INSERT INTO ble_frame VALUES (?, ?, ?, 'c', ?, ?)", [row["session_id"], 2 * b + k, k, b"\x55", b]
            )
            lf.execute(
                "INSERT INTO imu_sample (session_id, t_ns, ax_mps2, batch_seq) VALUES (?, ?, ?, ?)",
                [row["session_id"], 2 * b + k, 1.5, b],
            )
    lf.execute("INSERT INTO landing_owner VALUES (1, 'h', NULL, ?, now(), NULL)", [row["session_id"]])
    lf.close()
    con = open_store(db)
    try:
        res = merge_landing(con, path, recovered=True)
        assert (res.batches_merged, res.frames, res.samples, res.status) == (3, 6, 6, "recovered")
        assert counts(con)["imu_sample"] == 6 and counts(con)["stream_batch"] == 3
        assert con.execute(
            "SELECT DISTINCT athlete FROM imu_sample UNION SELECT DISTINCT athlete FROM stream_batch "
            "UNION SELECT DISTINCT athlete FROM ble_frame"
        ).fetchall() == [("ann",)]
        assert con.execute("SELECT status FROM stream_session").fetchall() == [("recovered",)]
    finally:
        con.close()
    assert not path.exists()


def test_merge_copies_everything_once_and_removes_the_file(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    w = write_session(db, range(10))
    assert len(w.commit_seconds) == 10
    con = open_store(db)
    res = merge_landing(con, landing_path(db, "ann", "0123456789abcdef"))
    assert (res.batches_merged, res.frames, res.samples, res.reps, res.sets) == (10, 250, 250, 2, 1)
    assert res.removed and not landing_path(db, "ann", "0123456789abcdef").exists()
    assert counts(con) == {
        "stream_session": 1,
        "stream_batch": 10,
        "ble_frame": 250,
        "imu_sample": 250,
        "stream_gap": 1,
        "rep": 2,
        "strength_set": 1,
    }
    assert con.execute("SELECT status FROM stream_session").fetchone() == ("complete",)
    assert con.execute("SELECT set_id, source FROM strength_set").fetchone() == ("0123456789abcdef:1", "sensor")
    # The same session again (a replay): nothing is stored twice.
    write_session(db, range(10))
    res2 = merge_landing(con, landing_path(db, "ann", "0123456789abcdef"))
    assert (res2.batches_merged, res2.batches_skipped, res2.frames) == (0, 10, 0)
    assert counts(con)["ble_frame"] == 250 and counts(con)["rep"] == 2
    # A longer landing of the same session adds only the new batches.
    write_session(db, range(14), reps=3)
    res3 = merge_landing(con, landing_path(db, "ann", "0123456789abcdef"))
    assert (res3.batches_merged, res3.frames) == (4, 100)
    assert counts(con)["ble_frame"] == 350 and counts(con)["rep"] == 3
    assert con.execute("SELECT count(*) FROM (SELECT DISTINCT seq FROM ble_frame)").fetchone()[0] == 350
    con.close()


def test_merge_writes_ranges_of_batches_and_a_crash_between_them_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge commits one transaction per range of batches (DuckDB keeps a transaction's appended rows in
    memory: one transaction for an hour-long session peaked at 1.4 GB), then the session row, reps and
    sets. A crash in the second range leaves the first range's batches whole with their ledger rows and
    the landing file in place; merging it again completes the session exactly as one clean merge does."""
    import store.landing as landing

    monkeypatch.setattr(landing, "CHUNK_ROWS", 100)  # 4 batches of 25 frames per range: 10 batches, 3 ranges
    clean_db, db = tmp_path / "clean.duckdb", tmp_path / "main.duckdb"
    write_session(clean_db, range(10))
    clean = open_store(clean_db)
    assert merge_landing(clean, landing_path(clean_db, "ann", "0123456789abcdef")).batches_merged == 10
    write_session(db, range(10))
    ranges = []
    real_copy = landing._copy_batches

    def crash_in_second_range(con, alias, athlete, seqs, result):
        ranges.append(list(seqs))
        if len(ranges) == 2:
            raise OSError("disk full")
        real_copy(con, alias, athlete, seqs, result)

    monkeypatch.setattr(landing, "_copy_batches", crash_in_second_range)
    con = open_store(db)
    path = landing_path(db, "ann", "0123456789abcdef")
    with pytest.raises(OSError, match="disk full"):
        merge_landing(con, path)
    assert ranges == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert path.exists()
    assert con.execute("SELECT list(batch_seq ORDER BY batch_seq) FROM stream_batch").fetchone() == ([0, 1, 2, 3],)
    assert (counts(con)["ble_frame"], counts(con)["imu_sample"], counts(con)["stream_session"]) == (100, 100, 0)
    monkeypatch.setattr(landing, "_copy_batches", real_copy)
    res = merge_landing(con, path)
    assert (res.batches_merged, res.batches_skipped, res.frames, res.reps, res.status) == (6, 4, 150, 2, "complete")
    assert counts(con) == counts(clean)
    for table, key in (("ble_frame", "seq"), ("imu_sample", "t_ns"), ("stream_batch", "batch_seq")):
        q = (
            f"SELECT * EXCLUDE (committed_at) FROM {table} ORDER BY {key}"
            if table == "stream_batch"
            else (f"SELECT * FROM {table} ORDER BY {key}")
        )
        assert con.execute(q).fetchall() == clean.execute(q).fetchall()
    con.close()
    clean.close()


def test_merge_ranges_bound_frames_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    import store.landing as landing

    monkeypatch.setattr(landing, "CHUNK_ROWS", 100)
    monkeypatch.setattr(landing, "MERGE_CHUNK_BATCHES", 3)
    ledger = [(0, 40), (1, 40), (2, 40), (3, 250), (4, 10), (5, 10), (6, 10), (7, 10), (8, None)]
    # 40+40 fit, a third 40 would pass 100; 250 alone; then 3 batches at most per range
    assert landing._merge_ranges(ledger) == [[0, 1], [2], [3], [4, 5, 6], [7, 8]]
    assert landing._merge_ranges([]) == []


def test_reopened_landing_file_skips_committed_batches(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    write_session(db, range(5), finish=False)
    w = LandingWriter(db, "0123456789abcdef", session_row())
    frames, samples = batch(2)
    assert w.write_batch(2, frames, samples) is False
    frames, samples = batch(5)
    assert w.write_batch(5, frames, samples) is True
    w.close()
    seqs = read_landing(landing_path(db, "ann", "0123456789abcdef"))["ble_frame"]["seq"].to_pylist()
    assert len(seqs) == len(set(seqs)) == 150


def test_write_batch_is_all_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    w = LandingWriter(db, "0123456789abcdef", session_row())
    frames, samples = batch(0)
    bad = {"imu_sample": {**samples["imu_sample"], "no_such_column": np.zeros(25)}}
    with pytest.raises(ValueError, match="no_such_column"):
        w.write_batch(0, frames, bad)
    with pytest.raises(ValueError, match="not a sample table"):
        w.write_batch(0, frames, {"imu": samples["imu_sample"]})
    assert w.con.execute("SELECT count(*) FROM landing_batch").fetchone()[0] == 0
    assert w.write_batch(0, frames, samples) is True
    assert w.con.execute("SELECT count(*) FROM landing_batch").fetchone()[0] == 1
    w.close()


_SLEEPER = "import time; time.sleep(60)"


def test_merge_pending_skips_live_and_merges_finished_or_dead(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    write_session(db, range(3), sid="aaaaaaaaaaaaaaaa")  # finished
    write_session(db, range(4), sid="bbbbbbbbbbbbbbbb", finish=False)  # owner gone (pid rewritten below)
    write_session(db, range(2), sid="cccccccccccccccc", finish=False)  # owner alive, file closed
    held = LandingWriter(db, "dddddddddddddddd", session_row("dddddddddddddddd"))  # held open: locked
    sleeper = subprocess.Popen([sys.executable, "-c", _SLEEPER])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for sid, pid in (("bbbbbbbbbbbbbbbb", dead.pid), ("cccccccccccccccc", sleeper.pid)):
            c = duckdb.connect(str(landing_path(db, "ann", sid)))
            c.execute("UPDATE landing_owner SET pid = ?, pid_start_ticks = NULL", [pid])
            c.close()
        con = open_store(db)
        t0 = time.perf_counter()
        merged = merge_pending(con, db)
        elapsed = time.perf_counter() - t0
        assert sorted(merged) == ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]
        assert elapsed < 5
        status = dict(con.execute("SELECT session_id, status FROM stream_session").fetchall())
        assert status == {"aaaaaaaaaaaaaaaa": "complete", "bbbbbbbbbbbbbbbb": "recovered"}
        left = sorted(p.name for p in landing_dir(db).rglob("*.duckdb"))
        assert left == ["cccccccccccccccc.duckdb", "dddddddddddddddd.duckdb"]
        with pytest.raises(LandingBusyError):
            read_owner(landing_path(db, "ann", "dddddddddddddddd"))
        con.close()
    finally:
        sleeper.kill()
        sleeper.wait()
        held.close()


_STREAMER = r"""
import sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from datetime import datetime, UTC
import numpy as np
from store.landing import LandingWriter
cols = ("ax_mps2", "ay_mps2", "az_mps2", "gx_radps", "gy_radps", "gz_radps", "roll_rad", "pitch_rad", "yaw_rad")
w = LandingWriter(Path(sys.argv[1]), "feedfacefeedface", {"athlete": "ann", "session_id": "feedfacefeedface",
    "sensor": "witmotion", "started_at": datetime(2026, 11, 28, tzinfo=UTC), "anchor_t_ns": 0, "status": "open"})
b = 0
while True:
    n = 20 + b % 37
    seq = np.arange(b * 100, b * 100 + n)
    w.write_batch(b, {"seq": seq, "t_ns": seq, "char": ["c"] * n, "payload": [b"\x55\x61" * 10] * n},
                  {"imu_sample": {"t_ns": seq, **{c: seq * 1.0 for c in cols}}})
    print(b, flush=True)
    b += 1
"""


@pytest.mark.slow
def test_kill_9_leaves_only_whole_batches(tmp_path: Path) -> None:
    rng = random.Random(7)
    for trial in range(3):
        db = tmp_path / f"t{trial}" / "main.duckdb"
        db.parent.mkdir()
        target = rng.randint(5, 40)
        printed = kill_9_when(
            ["-c", _STREAMER, str(db), str(ROOT)],
            lambda line, target=target: int(line) >= target,
            delay_s=rng.uniform(0, 0.03),
        )
        reported = int(printed[-1])  # the last batch the writer reported committed
        got = read_landing(landing_path(db, "ann", "feedfacefeedface"))
        ledger = dict(
            zip(got["stream_batch"]["batch_seq"].to_pylist(), got["stream_batch"]["frames"].to_pylist(), strict=True)
        )
        # Every batch the writer reported committed is there; at most one more (committed, not yet printed).
        assert set(range(reported + 1)) <= set(ledger) <= set(range(reported + 2))
        per_batch = Counter(got["ble_frame"]["batch_seq"].to_pylist())
        per_batch_imu = Counter(got["imu_sample"]["batch_seq"].to_pylist())
        assert per_batch == ledger == per_batch_imu  # nothing half present, nothing without its ledger row
        assert all(v == 20 + b % 37 for b, v in ledger.items())
        con = open_store(db)
        assert merge_pending(con, db) == ["feedfacefeedface"]
        assert con.execute("SELECT count(*) FROM imu_sample").fetchone()[0] == sum(ledger.values())
        assert con.execute("SELECT status FROM stream_session").fetchone() == ("recovered",)
        con.close()
        assert not landing_path(db, "ann", "feedfacefeedface").exists()


def test_merge_pending_leaves_an_unreadable_file_and_reports_it(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    junk = landing_path(db, "ann", "eeeeeeeeeeeeeeee")
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"not a database" * 100)
    write_session(db, range(2), sid="aaaaaaaaaaaaaaaa")
    errors: list[tuple[Path, Exception]] = []
    con = open_store(db)
    try:
        assert merge_pending(con, db, on_error=lambda p, e: errors.append((p, e))) == ["aaaaaaaaaaaaaaaa"]
    finally:
        con.close()
    assert [p for p, _ in errors] == [junk] and junk.exists()


def test_partial_landing_never_downgrades_a_complete_session(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    write_session(db, range(6))
    con = open_store(db)
    merge_landing(con, landing_path(db, "ann", "0123456789abcdef"))
    # A replay of the same session cut off after 3 batches, left behind by a dead process.
    write_session(db, range(3), finish=False)
    res = merge_landing(con, landing_path(db, "ann", "0123456789abcdef"), recovered=True)
    assert res.batches_merged == 0
    assert con.execute("SELECT status FROM stream_session").fetchone() == ("complete",)
    assert counts(con)["rep"] == 2 and counts(con)["ble_frame"] == 150
    con.close()


def test_promote_moves_a_pending_file_under_its_real_id(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    pending_id = "pending-00112233aabbccdd"
    w = LandingWriter(db, pending_id, session_row(pending_id))
    for b in range(3):
        w.write_batch(b, *batch(b))
    pending_file = w.path
    w = w.promote("0123456789abcdef", session_row())
    assert not pending_file.exists() and w.path == landing_path(db, "ann", "0123456789abcdef")
    assert len(w.commit_seconds) == 3 and w.committed == {0, 1, 2}
    frames, samples = batch(3)
    assert w.write_batch(3, frames, samples) is True
    w.close()
    got = read_landing(landing_path(db, "ann", "0123456789abcdef"))
    assert got["stream_batch"]["batch_seq"].to_pylist() == [0, 1, 2, 3]
    assert set(got["stream_batch"]["session_id"].to_pylist()) == {"0123456789abcdef"}
    assert got["ble_frame"]["seq"].to_pylist() == list(range(100))
    con = open_store(db)
    with pytest.raises(ValueError, match="pending"):
        merge_landing(con, pending_file)
    assert merge_pending(con, db) == ["0123456789abcdef"]
    assert counts(con)["imu_sample"] == 100 and counts(con)["stream_batch"] == 4
    con.close()


def test_promote_into_an_existing_landing_file_copies_only_missing_batches(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    write_session(db, range(2), finish=False)  # e.g. an earlier, cut-off run of the same capture
    pending_id = "pending-00112233aabbccdd"
    w = LandingWriter(db, pending_id, session_row(pending_id))
    for b in range(4):
        w.write_batch(b, *batch(b))
    w = w.promote("0123456789abcdef", session_row())
    w.close()
    got = read_landing(landing_path(db, "ann", "0123456789abcdef"))
    assert got["stream_batch"]["batch_seq"].to_pylist() == [0, 1, 2, 3]
    seqs = got["ble_frame"]["seq"].to_pylist()
    assert len(seqs) == len(set(seqs)) == 100
    assert not list(landing_dir(db).rglob("pending-*"))


def _as_before_migration_4(path: Path) -> None:
    """Turn a landing file into one written before migration 4 (no analysis_method, body_mass_kg,
    velocity_loss_mpv_pct, set velocity columns)."""
    con = duckdb.connect(str(path))
    try:
        for table, col in (
            ("stream_session", "analysis_method"),
            ("stream_session", "body_mass_kg"),
            ("rep", "velocity_loss_mpv_pct"),
            ("strength_set", "best_mean_velocity_mps"),
            ("strength_set", "velocity_loss_pct"),
            ("strength_set", "best_mean_propulsive_velocity_mps"),
            ("strength_set", "velocity_loss_mpv_pct"),
        ):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    finally:
        con.close()


def test_a_landing_file_from_before_migration_4_merges_and_reopens(tmp_path: Path) -> None:
    """Migration 4 added columns to stream_session, rep and strength_set; a landing file left by the
    version before (a crash, a locked store) still merges (the new columns NULL), and a writer
    reopening it adds them."""
    db = tmp_path / "main.duckdb"
    write_session(db, range(4), reps=2)
    path = landing_path(db, "ann", "0123456789abcdef")
    _as_before_migration_4(path)
    con = open_store(db)
    try:
        res = merge_landing(con, path)
        assert (res.batches_merged, res.reps, res.sets) == (4, 2, 1)
        assert con.execute("SELECT analysis_method, body_mass_kg FROM stream_session").fetchone() == (None, None)
        assert con.execute("SELECT count(*) FROM rep WHERE velocity_loss_mpv_pct IS NULL").fetchone()[0] == 2
    finally:
        con.close()
    write_session(db, range(2), sid="1111111111111111", finish=False)
    older = landing_path(db, "ann", "1111111111111111")
    _as_before_migration_4(older)
    w = LandingWriter(db, "1111111111111111", session_row("1111111111111111"))
    w.finish({**session_row("1111111111111111", "complete"), "analysis_method": "v", "body_mass_kg": 70.0})
    w.close()
    con = open_store(db)
    try:
        merge_landing(con, older)
        assert con.execute(
            "SELECT analysis_method, body_mass_kg FROM stream_session WHERE session_id = ?", ["1111111111111111"]
        ).fetchone() == ("v", 70.0)
    finally:
        con.close()
