"""replay_capture: the same StreamSession path as live data; replaying twice stores once."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pytest

from ingest.ble.capture import CaptureFormatError, CaptureHeader, CaptureWriter
from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames
from jobs.replay import replay_capture
from jobs.stream_session import StreamSession

STARTED = datetime(2026, 11, 28, 17, 30, tzinfo=UTC)
ANCHOR = 9_000_000_000_000
ADDRESS = "C4:11:22:33:44:66"
TABLES = ("stream_session", "stream_batch", "ble_frame", "imu_sample", "stream_gap", "rep", "strength_set")


@cache
def simulated():
    from sim.barbell import simulate_session

    return simulate_session("deadlift", 140.0, 2, rate_hz=200, seed=5, lead_in_s=1.5, tail_s=1.5)


def items(sim, interval_s: float = 0.0075):
    arrival = ANCHOR + (np.ceil((sim.t_s + 0.001) / interval_s) * interval_s * 1e9).astype(np.int64)
    return [(int(t), NOTIFY_UUID, encode_data_frames(r[None, :])) for t, r in zip(arrival, sim.raw_i16, strict=True)]


def counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def record_live(db: Path, capture: Path) -> dict:
    """A live session that also records its capture (what `stream --record` does), with a reconnect."""
    session = StreamSession("witmotion", db_path=db, athlete="bob", exercise="deadlift", load_kg=140.0,
                            started_at=STARTED, anchor_t_ns=ANCHOR, device_address=ADDRESS,
                            device_name="WT901BLE68", configured_rate_hz=200.0, capture_path=capture)
    session.on_link_event(ANCHOR, "connected")
    its = items(simulated())
    cut = len(its) - 150  # the link drops during the final rest
    for t, c, d in its[:cut]:
        session.on_notification(t, c, d)
    session.on_link_event(its[cut][0] - 1, "disconnected")
    session.on_link_event(its[cut + 40][0] - 1, "connected")
    for t, c, d in its[cut + 40:]:
        session.on_notification(t, c, d)
    return session.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    d = tmp_path_factory.mktemp("live")
    db, capture = d / "main.duckdb", d / "set1.capture.jsonl.gz"
    return db, capture, record_live(db, capture)


def test_replay_of_own_capture_is_the_same_session_and_stores_once(recorded) -> None:
    db, capture, live = recorded
    assert len(live["reps"]) == 2 and live["stream"]["reconnects"] == 1
    before = counts(db)
    replayed: list[dict] = []
    out = replay_capture(capture, db_path=db, athlete="bob", exercise="deadlift", load_kg=140.0,
                         on_rep=replayed.append)
    assert out == live  # same session id, reps, gaps, stream counts
    assert len(replayed) == 2
    assert counts(db) == before  # nothing stored twice
    assert before["ble_frame"] == live["stream"]["notifications"] and before["stream_gap"] == 1


def test_replaying_twice_into_a_fresh_db_stores_once(recorded, tmp_path: Path) -> None:
    _, capture, live = recorded
    db = tmp_path / "fresh.duckdb"
    messages: list[str] = []
    first = replay_capture(capture, db_path=db, athlete="bob", exercise="deadlift", load_kg=140.0,
                           athlete_mass_kg=80.0, on_message=messages.append)
    c1 = counts(db)
    second = replay_capture(capture, db_path=db, athlete="bob", exercise="deadlift", load_kg=140.0,
                            athlete_mass_kg=80.0)
    assert second == first and counts(db) == c1
    assert first["session_id"] == live["session_id"]
    assert c1["rep"] == 2 and c1["strength_set"] == 1 and c1["stream_session"] == 1
    assert all("peak_system_force_n" in r for r in first["reps"])  # athlete mass reaches the analysis
    assert first["sample_rate_hz"] == pytest.approx(200.0, rel=2e-3)
    assert first["stream"]["lost_samples"] <= 2
    assert not messages


def test_hand_written_capture_without_anchor(tmp_path: Path) -> None:
    """A capture from elsewhere (no anchor_t_ns): the first record anchors started_at."""
    path = tmp_path / "hr.capture.jsonl"
    with CaptureWriter(path, CaptureHeader("heart_rate", STARTED, None, "HR:2", None, None)) as w:
        for i in range(5):
            w.notification(1_000 + i * 1_000_000_000, "00002a37-0000-1000-8000-00805f9b34fb", bytes([0x00, 70 + i]))
    db = tmp_path / "main.duckdb"
    out = replay_capture(path, db_path=db, athlete="bob", exercise="back_squat", load_kg=60.0)
    assert out["sensor"] == "heart_rate" and out["stream"]["samples"] == 5
    con = duckdb.connect(str(db), read_only=True)
    first = con.execute("SELECT min(t_ns) FROM hr_sample").fetchone()[0]
    con.close()
    assert first == int(STARTED.timestamp()) * 1_000_000_000


def test_malformed_capture_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.capture.jsonl"
    path.write_text('{"format": "runstrong-capture", "version": 1}\n')
    with pytest.raises(CaptureFormatError, match="line 1: sensor must be one of"):
        replay_capture(path, db_path=tmp_path / "m.duckdb", athlete="bob", exercise="deadlift", load_kg=100.0)
    assert not (tmp_path / "m.duckdb").exists()


def test_locked_database_raises_only_when_asked_and_keeps_the_landing_file(recorded, tmp_path: Path) -> None:
    from store.connection import DatabaseLockedError, open_store
    from store.landing import landing_dir, merge_pending
    from tests.lock_holder import held_lock

    _, capture, live = recorded
    db = tmp_path / "locked.duckdb"
    open_store(db).close()
    with held_lock(db) as holder:
        with pytest.raises(DatabaseLockedError) as err:
            replay_capture(capture, db_path=db, athlete="bob", exercise="deadlift", load_kg=140.0, wait_s=0.2,
                           raise_if_locked=True)
        assert err.value.holder_pid == holder.pid
        assert [p.name for p in landing_dir(db).rglob("*.duckdb")] == [f"{live['session_id']}.duckdb"]
    con = open_store(db)
    try:
        assert merge_pending(con, db) == [live["session_id"]]
        assert con.execute("SELECT count(*) FROM rep").fetchone()[0] == 2
    finally:
        con.close()
