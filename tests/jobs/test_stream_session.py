"""StreamSession: decode -> sample times -> live reps -> batched landing storage -> merge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pytest

from ingest.ble.protocols.heart_rate import MEASUREMENT_UUID as HR_CHAR
from ingest.ble.protocols.heart_rate import HeartRateMeasurement, SensorContact
from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames
from jobs.stream_session import LINK_EVENT, StreamSession, consume
from records.identity import pending_id_for, session_id_for
from store.connection import open_store
from store.landing import landing_dir, merge_pending, read_landing
from tests.lock_holder import held_lock
from tests.paths import REPO_ROOT

STARTED = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
ANCHOR = 5_000_000_000_000
ADDRESS = "C4:11:22:33:44:55"


@cache
def simulated():
    from sim.barbell import simulate_session

    return simulate_session("back_squat", 100.0, 3, rate_hz=200, seed=3, lead_in_s=1.5, tail_s=1.5)


def notifications(sim, *, interval_s: float = 0.03, merge_every: int = 0, split_every: int = 0):
    """(t_ns, char, payload) as a bunching link delivers them: frames leave at connection events."""
    frames = [encode_data_frames(r[None, :]) for r in sim.raw_i16]
    arrival = ANCHOR + (np.ceil((sim.t_s + 0.001) / interval_s) * interval_s * 1e9).astype(np.int64)
    out = []
    i = 0
    while i < len(frames):
        if merge_every and i % merge_every == 0 and i + 1 < len(frames) and arrival[i] == arrival[i + 1]:
            out.append((int(arrival[i + 1]), NOTIFY_UUID, frames[i] + frames[i + 1]))
            i += 2
            continue
        if split_every and i % split_every == 0:
            out.append((int(arrival[i]), NOTIFY_UUID, frames[i][:9]))
            out.append((int(arrival[i]), NOTIFY_UUID, frames[i][9:]))
        else:
            out.append((int(arrival[i]), NOTIFY_UUID, frames[i]))
        i += 1
    return out


def new_session(db: Path, **kw) -> StreamSession:
    args = dict(
        db_path=db,
        athlete="ann",
        exercise="back_squat",
        load_kg=100.0,
        started_at=STARTED,
        anchor_t_ns=ANCHOR,
        device_address=ADDRESS,
        device_name="WT901BLE68",
        configured_rate_hz=200.0,
    )
    return StreamSession("witmotion", **{**args, **kw})


def run(session: StreamSession, items) -> dict:
    session.on_link_event(ANCHOR, "connected")
    for t, char, data in items:
        session.on_notification(t, char, data)
    return session.close()


def test_full_session_live_reps_summary_and_storage(tmp_path: Path) -> None:
    sim = simulated()
    db = tmp_path / "main.duckdb"
    live: list[dict] = []
    items = notifications(sim, merge_every=7, split_every=11)
    session = new_session(db, on_rep=live.append)
    out = run(session, items)

    # Reps as they completed, and the final analysis over the whole session.
    assert len(live) == 3 and [r["index"] for r in live] == [1, 2, 3]
    assert len(out["reps"]) == 3
    for rep, truth in zip(out["reps"], sim.reps, strict=True):
        assert rep["mean_velocity_mps"] == pytest.approx(truth.mean_velocity_mps, abs=0.06)
        # Rep bounds on the capture clock: the simulator's rep start plus the anchor.
        assert abs(rep["concentric_start_ns"] - (ANCHOR + truth.concentric_start_s * 1e9)) < 60e6
    for a, b in zip(live, out["reps"], strict=True):
        assert a["mean_velocity_mps"] == pytest.approx(b["mean_velocity_mps"], abs=0.03)
    assert out["set"]["reps"] == 3 and out["sets"][0]["set_index"] == 1
    assert {k: out[k] for k in ("exercise", "load_kg", "sensor")} == {
        "exercise": "back_squat",
        "load_kg": 100.0,
        "sensor": "witmotion",
    }
    assert out["sample_rate_hz"] == pytest.approx(200.0, rel=1e-3)
    payloads = [p for _, _, p in items]
    assert out["session_id"] == session_id_for(ADDRESS, STARTED, payloads[:64])
    assert out["stream"] == {
        "notifications": len(items),
        "samples": len(sim.t_s),
        "lost_samples": 0,
        "reconnects": 0,
        "gaps": [],
    }

    # Stored in the main file; the landing file is gone.
    assert session.merged is True and not session.landing_path.exists()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ble_frame").fetchone()[0] == len(items)
        assert con.execute("SELECT count(*) FROM imu_sample").fetchone()[0] == len(sim.t_s)
        stored_payloads = [r[0] for r in con.execute("SELECT payload FROM ble_frame ORDER BY seq").fetchall()]
        assert stored_payloads == payloads
        # UTC sample times: started_at + (capture t - anchor); first sample within a connection interval.
        t_first = con.execute("SELECT min(t_ns) FROM imu_sample").fetchone()[0]
        started_ns = int(STARTED.timestamp()) * 1_000_000_000
        assert abs(t_first - (started_ns + int(sim.t_s[0] * 1e9))) < 40e6
        ax = np.array([r[0] for r in con.execute("SELECT ax_mps2 FROM imu_sample ORDER BY t_ns").fetchall()])
        np.testing.assert_allclose(ax, sim.raw_i16[:, 0] * 16 / 32768 * 9.80665)
        sess = con.execute(
            "SELECT status, samples, lost_samples, reconnects, sample_rate_hz, exercise FROM stream_session"
        ).fetchone()
        assert sess[:4] == ("complete", len(sim.t_s), 0, 0) and sess[5] == "back_squat"
        reps = con.execute(
            "SELECT rep_index, set_index, mean_velocity_mps, start_ns FROM rep ORDER BY rep_index"
        ).fetchall()
        assert [(r[0], r[1]) for r in reps] == [(1, 1), (2, 1), (3, 1)]
        assert [r[2] for r in reps] == pytest.approx([r["mean_velocity_mps"] for r in out["reps"]])
        sset = con.execute("SELECT set_id, source, reps, load_kg, set_type FROM strength_set").fetchone()
        assert sset == (f"{out['session_id']}:1", "sensor", 3, 100.0, "active")
        batches = con.execute("SELECT count(*), sum(frames), max(frames) FROM stream_batch").fetchone()
        assert batches[1] == len(items) and batches[2] <= 250
        assert (
            batches[0] >= (sim.t_s[-1] - sim.t_s[0]) / 0.15
        )  # a batch per ~100 ms (4 connection events), not per sample
    finally:
        con.close()


def one_rep_analyse(samples, exercise, load_kg, **kw) -> dict:
    t = samples.t_ns
    rep = {
        "index": 1,
        "set_index": 1,
        "start_ns": int(t[10]),
        "end_ns": int(t[-10]),
        "concentric_start_ns": int(t[50]),
        "concentric_end_ns": int(t[90]),
        "mean_velocity_mps": 0.5,
        "velocity_loss_pct": 0.0,
    }
    return {
        "reps": [rep],
        "set": {"reps": 1, "best_mean_velocity_mps": 0.5, "velocity_loss_pct": 0.0},
        "sets": [
            {
                "set_index": 1,
                "reps": 1,
                "best_mean_velocity_mps": 0.5,
                "velocity_loss_pct": 0.0,
                "start_ns": int(t[10]),
                "end_ns": int(t[-10]),
            }
        ],
    }


def test_main_db_locked_leaves_landing_file_then_merge_pending(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    open_store(db).close()
    messages: list[str] = []
    with held_lock(db):
        session = new_session(
            db, wait_s=0.3, on_message=messages.append, live_detector_factory=FakeDetector, analyse=one_rep_analyse
        )
        items = synthetic_items(700, period_ns=3_000_000)  # 250 notifications within 750 ms
        out = run(session, items)
        assert session.merged is False and session.landing_path.exists()
        assert any("locked" in m and str(session.landing_path) in m for m in messages)
        # Batches in the landing file: <= 250 notifications and < 100 ms of capture clock each.
        frames = read_landing(session.landing_path)["ble_frame"]
        with duckdb.connect() as mem:
            mem.register("frames", frames)
            spans = mem.execute("SELECT count(*), max(t_ns) - min(t_ns) FROM frames GROUP BY batch_seq").fetchall()
        assert sum(c for c, _ in spans) == len(items)
        assert max(c for c, _ in spans) <= 250 and max(s for _, s in spans) < 100_000_000
    con = open_store(db)
    try:
        assert merge_pending(con, db) == [out["session_id"]]
        assert con.execute("SELECT status FROM stream_session").fetchone() == ("complete",)
        assert con.execute("SELECT count(*) FROM rep").fetchone()[0] == 1
        assert con.execute("SELECT set_id FROM strength_set").fetchone() == (f"{out['session_id']}:1",)
        assert con.execute("SELECT count(*) FROM imu_sample").fetchone()[0] == len(items)
    finally:
        con.close()
    assert not list(landing_dir(db).rglob("*.duckdb"))


class FakeDetector:
    """Stands in for LiveRepDetector: one rep per 100 samples, velocity falling 10 % per rep."""

    def __init__(self, *args) -> None:
        self.n = 0
        self.reps = 0
        self.gaps: list[tuple[int, int]] = []

    def push(self, samples) -> list[dict]:
        self.n += len(samples)
        out = []
        while self.n >= 100 * (self.reps + 1):
            self.reps += 1
            out.append(
                {
                    "index": self.reps,
                    "set_index": 1,
                    "mean_velocity_mps": 1.0 - 0.1 * (self.reps - 1),
                    "velocity_loss_pct": 10.0 * (self.reps - 1),
                }
            )
        return out

    def mark_gap(self, start_ns: int, end_ns: int) -> None:
        self.gaps.append((start_ns, end_ns))

    def finish(self) -> list:
        return []


def fake_analyse(samples, exercise, load_kg, **kw) -> dict:
    return {"reps": [], "set": {"reps": 0, "best_mean_velocity_mps": 0.0, "velocity_loss_pct": 0.0}, "sets": []}


def synthetic_items(n: int, *, start: int = ANCHOR, period_ns: int = 5_000_000) -> list[tuple[int, str, bytes]]:
    raw = (np.arange(n * 9).reshape(n, 9) % 1000).astype(np.int16)
    return [(start + i * period_ns, NOTIFY_UUID, encode_data_frames(raw[i : i + 1])) for i in range(n)]


def test_vl_stop_cue_once_per_set_and_reconnect_gap(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    cues: list[dict] = []
    detector: list[FakeDetector] = []

    def factory(*args):
        detector.append(FakeDetector(*args))
        return detector[-1]

    session = new_session(
        db, vl_stop_pct=25.0, on_vl_stop=cues.append, live_detector_factory=factory, analyse=fake_analyse
    )
    first = synthetic_items(300)
    session.on_link_event(ANCHOR, "connected")
    for t, c, d in first[:-1]:
        session.on_notification(t, c, d)
    t_last, c, d = first[-1]
    session.on_notification(t_last, c, d[:11])  # a frame cut by the disconnect
    session.on_link_event(t_last + 1_000_000, "disconnected")
    session.on_link_event(t_last + 2_000_000_000, "connected")
    second = synthetic_items(300, start=t_last + 2_010_000_000)
    for t, c, d in second:
        session.on_notification(t, c, d)
    out = session.close()
    assert [c["velocity_loss_pct"] for c in cues] == [30.0]  # first rep at or past 25 %, once
    gap = (t_last + 1_000_000, t_last + 2_000_000_000)
    assert out["stream"]["reconnects"] == 1
    assert out["stream"]["gaps"] == [{"start_ns": gap[0], "end_ns": gap[1]}]
    assert out["stream"]["samples"] == 599  # the cut frame never completes
    assert detector[0].gaps == [gap]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT start_ns, end_ns FROM stream_gap").fetchall() == [gap]
    assert con.execute("SELECT count(*) FROM imu_sample").fetchone()[0] == 599
    con.close()


def test_short_session_named_at_close_and_time_must_not_go_back(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    session = new_session(db, live_detector_factory=FakeDetector, analyse=fake_analyse)
    items = synthetic_items(10)
    for t, c, d in items:
        session.on_notification(t, c, d)
    with pytest.raises(ValueError, match="backwards"):
        session.on_notification(items[0][0], NOTIFY_UUID, items[0][2])
    assert session.session_id is None  # fewer than 64 payloads: not named yet, batches go to the pending file
    assert session.landing_path == landing_dir(db) / session.athlete / f"{pending_id_for(ADDRESS, STARTED)}.duckdb"
    out = session.close()
    assert out["session_id"] == session_id_for(ADDRESS, STARTED, [d for _, _, d in items])
    assert out["stream"]["notifications"] == 10
    assert session.merged and not landing_dir(db).exists()  # promoted, merged, removed
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT DISTINCT session_id FROM ble_frame").fetchall() == [(out["session_id"],)]
    con.close()


def test_heart_rate_session_stores_arrival_stamped_samples(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    session = StreamSession(
        "heart_rate",
        db_path=db,
        athlete="ann",
        exercise="back_squat",
        load_kg=60.0,
        started_at=STARTED,
        anchor_t_ns=ANCHOR,
        device_address="HR:1",
    )
    payloads = [bytes(HeartRateMeasurement(120 + i, SensorContact.DETECTED, None, (512 + i,))) for i in range(66)]
    for i, p in enumerate(payloads):
        session.on_notification(ANCHOR + (i + 1) * 1_000_000_000, HR_CHAR, p)
    session.on_notification(ANCHOR + 67_000_000_000, HR_CHAR, b"\x10")  # truncated: skipped, kept raw
    out = session.close()
    assert out["reps"] == [] and out["sensor"] == "heart_rate"
    assert out["stream"]["samples"] == 66 and out["stream"]["notifications"] == 67
    assert out["sample_rate_hz"] == pytest.approx(66 / 67, rel=1e-6)
    assert session.decode_errors == 1
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT t_ns, heart_rate_bpm, rr_s, contact FROM hr_sample ORDER BY t_ns").fetchall()
    con.close()
    started_ns = int(STARTED.timestamp()) * 1_000_000_000
    assert rows[0] == (started_ns + 1_000_000_000, 120.0, [0.5], "detected")
    assert len(rows) == 66 and rows[-1][1] == 185.0


def test_consume_from_queue(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    session = new_session(db, live_detector_factory=FakeDetector, analyse=fake_analyse)
    items = synthetic_items(100)

    async def main() -> dict | None:
        queue: asyncio.Queue = asyncio.Queue()
        queue.put_nowait((ANCHOR, LINK_EVENT, "connected"))
        for it in items:
            queue.put_nowait(it)
        queue.put_nowait(None)
        return await consume(queue, session)

    out = asyncio.run(main())
    assert out is not None and out["stream"]["notifications"] == 100 and out["stream"]["samples"] == 100


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sensor"):
        StreamSession(
            "vitruve", db_path=tmp_path / "m.duckdb", athlete="a", exercise="x", load_kg=1.0, started_at=STARTED
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        new_session(tmp_path / "m.duckdb", started_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="load_kg"):
        new_session(tmp_path / "m.duckdb", load_kg=0.0)
    s = new_session(tmp_path / "m.duckdb", live_detector_factory=FakeDetector, analyse=fake_analyse)
    with pytest.raises(ValueError, match="link event"):
        s.on_link_event(ANCHOR, "paired")


def test_batches_close_at_250_notifications_or_100_ms(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    session = new_session(db, live_detector_factory=FakeDetector, analyse=fake_analyse)
    burst = synthetic_items(600, period_ns=100_000)  # 600 notifications within 60 ms
    later = synthetic_items(5, start=burst[-1][0] + 200_000_000, period_ns=1_000_000)
    for t, c, d in burst + later:
        session.on_notification(t, c, d)
    session.close()
    con = duckdb.connect(str(db), read_only=True)
    frames = [r[0] for r in con.execute("SELECT frames FROM stream_batch ORDER BY batch_seq").fetchall()]
    con.close()
    assert frames == [250, 250, 100, 5]


def delayed(sim, *, at_s: float, hold: int = 130, speedup: float | None = None):
    """One frame per notification, on time, except that ``hold`` frames from ``at_s`` on are held back
    (a stalled host or device) and then delivered at once (``speedup`` None) or faster than the rate
    until the stream is back on time."""
    frames = [encode_data_frames(r[None, :]) for r in sim.raw_i16]
    arrival = ANCHOR + np.round((sim.t_s + 0.002) * 1e9).astype(np.int64)
    i0 = int(np.searchsorted(sim.t_s, at_s))
    t = float(arrival[i0 + hold])
    step = 0.0 if speedup is None else 5e6 / speedup
    for i in range(i0, len(arrival)):
        if i >= i0 + hold and t <= arrival[i]:
            break
        arrival[i] = round(t)
        t += step
    return [(int(arrival[i]), NOTIFY_UUID, frames[i]) for i in range(len(frames))]


@pytest.mark.parametrize("speedup", [None, 1.3, 3.0])
@pytest.mark.parametrize("at_s", [2.3, 3.4, 4.6])
def test_delayed_burst_is_a_delay_not_a_loss(tmp_path: Path, at_s: float, speedup: float | None) -> None:
    """130 frames held back for 650 ms then delivered in a burst: live reps equal the final analysis
    and nothing is counted lost (before the fix the live timebase counted ~130 lost samples, its times
    jumped 0.65 s and the live detector discarded the movement across that 'gap')."""
    sim = simulated()
    live: list[dict] = []
    session = new_session(tmp_path / "main.duckdb", on_rep=live.append)
    out = run(session, delayed(sim, at_s=at_s, speedup=speedup))
    assert out["stream"]["lost_samples"] == 0
    assert session.assembler.timebase.lost_samples == 0
    assert len(out["reps"]) == len(sim.reps) == 3
    assert live == out["reps"]


def test_two_sessions_merged_in_one_process(tmp_path: Path, monkeypatch) -> None:
    """Two sessions' landing files merged into one main database by one process, the second while
    another landing file is attached on the same connection (an in-flight merge): each merge uses
    its own alias, so both sessions are stored (a fixed alias made the second ATTACH fail)."""
    from jobs import stream_finish
    from store.landing import merge_landing

    # leave the landing files, as when the main file was locked
    monkeypatch.setattr(stream_finish, "merge_landed_session", lambda *a, **k: RuntimeError("locked"))
    sim = simulated()
    db = tmp_path / "main.duckdb"
    sessions = []
    for hour in (17, 18):
        s = new_session(db, started_at=datetime(2026, 11, 28, hour, 0, tzinfo=UTC))
        run(s, notifications(sim))
        assert s.landing_path is not None and s.landing_path.exists()
        sessions.append(s)
    first, second = sessions
    con = open_store(db)
    try:
        con.execute(f"ATTACH '{first.landing_path}' AS landing_src (READ_ONLY)")  # the old fixed alias
        merge_landing(con, second.landing_path)
        con.execute("DETACH landing_src")
        merge_landing(con, first.landing_path)
        ids = {r[0] for r in con.execute("SELECT session_id FROM stream_session").fetchall()}
        assert ids == {first.session_id, second.session_id}
        assert con.execute("SELECT count(*) FROM rep").fetchone()[0] == 6
        attached = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
        assert not any(name.startswith("landing_src") for name in attached)  # detached in finally
        assert not first.landing_path.exists() and not second.landing_path.exists()
    finally:
        con.close()


def test_a_slow_commit_does_not_stall_the_consumer(tmp_path: Path, monkeypatch) -> None:
    """Commits run on the writer thread: while one takes 0.5 s (as a WAL checkpoint can), the
    notifications after it are still handled at once; every batch is stored, in order; a failed
    commit is raised in the consumer, not lost."""
    import threading
    import time

    from store import landing

    original = landing.LandingWriter.write_batch
    committed: list[int] = []
    threads: set[str] = set()

    def slow_write(self, batch_seq, *args, **kwargs):
        threads.add(threading.current_thread().name)
        if batch_seq == 1:
            time.sleep(0.5)
        done = original(self, batch_seq, *args, **kwargs)
        committed.append(batch_seq)
        return done

    monkeypatch.setattr(landing.LandingWriter, "write_batch", slow_write)
    db = tmp_path / "main.duckdb"
    session = new_session(db, live_detector_factory=FakeDetector, analyse=fake_analyse)
    items = synthetic_items(400, period_ns=5_000_000)  # 2 s: 20 batches of 100 ms
    stalls = []
    for t, c, d in items:
        t0 = time.perf_counter()
        session.on_notification(t, c, d)
        stalls.append(time.perf_counter() - t0)
    assert max(stalls) < 0.4  # the 0.5 s commit happened on the writer thread
    out = session.close()
    assert threads == {t for t in threads if t.startswith("runstrong-landing")} and threads
    assert committed == sorted(committed) and len(committed) == len(set(committed)) >= 20
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM ble_frame").fetchone()[0] == 400
        assert con.execute("SELECT count(*) FROM stream_batch").fetchone()[0] == len(committed)
    finally:
        con.close()
    assert out["stream"]["notifications"] == 400

    def failing_write(self, batch_seq, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(landing.LandingWriter, "write_batch", failing_write)
    broken = new_session(tmp_path / "other.duckdb", live_detector_factory=FakeDetector, analyse=fake_analyse)
    with pytest.raises(OSError, match="disk full"):
        for t, c, d in items:
            broken.on_notification(t, c, d)
        broken.close()
    broken.abort()  # releases the writer thread and the landing file; what was committed stays
    assert not [t for t in threading.enumerate() if t.name.startswith("runstrong-landing")]
    con = open_store(tmp_path / "other.duckdb")
    try:
        assert len(merge_pending(con, tmp_path / "other.duckdb")) == 1  # the file is not held any more
        assert con.execute("SELECT status, notifications FROM stream_session").fetchone()[0] == "recovered"
    finally:
        con.close()


_HR_STREAMER = r"""
import sys
sys.path.insert(0, sys.argv[2])
from datetime import datetime, UTC
from ingest.ble.protocols.heart_rate import MEASUREMENT_UUID, HeartRateMeasurement, SensorContact
from jobs.stream_session import StreamSession
s = StreamSession("heart_rate", db_path=sys.argv[1], athlete="ann", exercise="back_squat", load_kg=60.0,
                  started_at=datetime(2026, 11, 28, 17, tzinfo=UTC), anchor_t_ns=0, device_address="HR:1")
for i in range(60):  # fewer than the 64 payloads that name the session
    s.on_notification((i + 1) * 150_000_000, MEASUREMENT_UUID,
                      bytes(HeartRateMeasurement(100 + i, SensorContact.DETECTED, None, (600 + i,))))
    s.sink.wait()  # every closed batch committed
    print(i - 1, flush=True)  # batches 0 .. i-1 are closed (a batch closes when one 100 ms later comes)
import time
time.sleep(60)
"""


@pytest.mark.slow
def test_kill_9_before_the_session_id_is_known_keeps_every_committed_batch(tmp_path: Path) -> None:
    """A heart-rate strap needs a minute for 64 payloads: its batches are durable before that (in the
    pending landing file), and recovery stores them under the id the capture's replay would give."""
    from ingest.ble.protocols.heart_rate import HeartRateMeasurement, SensorContact
    from tests.kill9 import kill_9_when

    root = REPO_ROOT
    for target in (0, 17):
        db = tmp_path / f"k{target}" / "main.duckdb"
        db.parent.mkdir()
        printed = kill_9_when(["-c", _HR_STREAMER, str(db), str(root)], lambda line, target=target: int(line) >= target)
        reported = int(printed[-1])  # the last batch it reported committed
        pending = list(landing_dir(db).rglob("pending-*.duckdb"))
        assert len(pending) == 1
        con = open_store(db)
        merged = merge_pending(con, db)
        n, low, high = con.execute(
            "SELECT count(*), min(heart_rate_bpm), max(heart_rate_bpm) FROM hr_sample"
        ).fetchone()
        # every batch reported committed is there (one sample each), at most one more (committed, not yet printed)
        assert n in (reported + 1, reported + 2) and (low, high) == (100.0, 99.0 + n)
        payloads = [bytes(HeartRateMeasurement(100 + i, SensorContact.DETECTED, None, (600 + i,))) for i in range(n)]
        assert merged == [session_id_for("HR:1", datetime(2026, 11, 28, 17, tzinfo=UTC), payloads)]
        assert con.execute("SELECT status, session_id FROM stream_session").fetchone() == ("recovered", merged[0])
        assert con.execute("SELECT DISTINCT session_id FROM ble_frame").fetchall() == [(merged[0],)]
        con.close()
        assert not landing_dir(db).exists()


def test_grouped_decoding_stores_and_reports_exactly_what_one_at_a_time_does(tmp_path: Path) -> None:
    """Notifications are decoded in groups of >= 15 ms (``group_ns``); with group_ns=0 each one is
    decoded on arrival. Both give the same batches, the same stored rows and the same live reps,
    and the live detector is fed once per group instead of once per ~20 samples."""
    sim = simulated()
    items = notifications(sim, interval_s=0.0075, merge_every=7, split_every=11)
    results = []
    for group_ns in (0, 15_000_000):
        db = tmp_path / f"g{group_ns}" / "main.duckdb"
        db.parent.mkdir()
        pushes: list[int] = []

        def counting(*args, _pushes=pushes):
            from analysis.live import LiveRepDetector

            detector = LiveRepDetector(*args[:3], body_mass_kg=args[3], set_rest_s=args[4])
            original = detector.push

            def push(samples):
                _pushes.append(len(samples))
                return original(samples)

            detector.push = push  # type: ignore[method-assign]
            return detector

        session = new_session(db, group_ns=group_ns, live_detector_factory=counting)
        out = run(session, items)
        con = duckdb.connect(str(db), read_only=True)
        stored = {
            t: con.execute(f"SELECT * EXCLUDE (session_id) FROM {t} ORDER BY ALL").fetchall()
            for t in ("imu_sample", "ble_frame")
        }
        stored["ledger"] = con.execute("SELECT batch_seq, frames, samples FROM stream_batch ORDER BY 1").fetchall()
        con.close()
        results.append((stored, session.reps_live, out["reps"], pushes))
    (one, live_one, reps_one, pushes_one), (grouped, live_grouped, reps_grouped, pushes_grouped) = results
    assert one == grouped and live_one == live_grouped and reps_one == reps_grouped
    assert len(live_one) == 3
    assert sum(pushes_one) == sum(pushes_grouped) == len(sim.t_s)
    span_s = (items[-1][0] - items[0][0]) / 1e9
    assert (
        len(pushes_grouped) <= span_s / 0.015 + 2 < len(pushes_one)
    )  # a push per >= 15 ms group, not per notification
