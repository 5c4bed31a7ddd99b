"""assemble_whole: a whole session at once gives what the live SessionAssembler gives fed event by
event: session id, samples and their reconstructed times, counts, gaps, and the same batches."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from ingest.ble.assembler import BatchReady, SessionAssembler
from ingest.ble.capture import LinkEvent, Notification
from ingest.ble.protocols.heart_rate import HeartRateMeasurement
from ingest.ble.protocols.registry import get_profile
from ingest.ble.protocols.witmotion import NOTIFY_UUID, RegisterReply, encode_data_frames
from ingest.ble.whole_capture import LinkEvents, Notifications, assemble_whole, batch_ledger

STARTED = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
ANCHOR = 5_000_000_000_000
OTHER = "0000ffe9-0000-1000-8000-00805f9a34fb"
HR_CHAR = "00002a37-0000-1000-8000-00805f9b34fb"


def as_arrays(records: list) -> tuple[Notifications, LinkEvents]:
    notes = [r for r in records if isinstance(r, Notification)]
    chars = sorted({n.char for n in notes})
    code = {c: i for i, c in enumerate(chars)}
    plen = np.array([len(n.data) for n in notes], dtype=np.int64)
    offsets = np.zeros(len(notes) + 1, dtype=np.int64)
    np.cumsum(plen, out=offsets[1:])
    payload = np.frombuffer(b"".join(n.data for n in notes), dtype=np.uint8)
    t = np.array([n.t_ns for n in notes], dtype=np.int64)
    link_t, link_e, link_p, k = [], [], [], 0
    for r in records:
        if isinstance(r, Notification):
            k += 1
        else:
            link_t.append(r.t_ns)
            link_e.append(r.event)
            link_p.append(k)
    return (
        Notifications(t, np.array([code[n.char] for n in notes], dtype=np.int32), tuple(chars), payload, offsets),
        LinkEvents(np.array(link_t, dtype=np.int64), tuple(link_e), np.array(link_p, dtype=np.int64)),
    )


def live(sensor: str, records: list, **kw) -> tuple[SessionAssembler, list[BatchReady]]:
    a = SessionAssembler(
        get_profile(sensor),
        started_at=STARTED,
        anchor_t_ns=ANCHOR,
        device_address="AA:BB",
        configured_rate_hz=kw.get("rate", 200.0 if sensor == "witmotion" else None),
        live=False,
    )
    batches: list[BatchReady] = []
    for r in records:
        ev = (
            a.on_notification(r.t_ns, r.char, r.data)
            if isinstance(r, Notification)
            else a.on_link_event(r.t_ns, r.event)
        )
        batches += [e for e in ev if isinstance(e, BatchReady)]
    batches += [e for e in a.finish() if isinstance(e, BatchReady)]
    return a, batches


def whole(sensor: str, records: list, **kw):
    notes, link = as_arrays(records)
    return assemble_whole(
        get_profile(sensor),
        notes,
        link,
        started_at=STARTED,
        anchor_t_ns=ANCHOR,
        device_address="AA:BB",
        configured_rate_hz=kw.get("rate", 200.0 if sensor == "witmotion" else None),
    )


def assert_same(sensor: str, records: list) -> None:
    a, batches = live(sensor, records)
    w = whole(sensor, records)
    ws, ww = a.whole_session(), w.whole_session()
    assert w.session_id == a.session_id
    assert (w.notifications, w.samples, w.decode_errors, w.reconnects) == (
        a.notifications,
        a.samples,
        a.decode_errors,
        a.reconnects,
    )
    assert w.gaps == a.gaps == ww.gaps == ws.gaps
    assert (ww.sample_rate_hz, ww.lost_samples) == (ws.sample_rate_hz, ws.lost_samples)
    assert w.ended_at == a.ended_at
    if ws.samples is None:
        assert ww.samples is None
    else:
        assert ww.samples is not None
        assert np.array_equal(ww.samples.t_ns, ws.samples.t_ns)
        for name in ("accel_mps2", "gyro_radps", "angles_rad"):
            assert np.array_equal(getattr(ww.samples, name), getattr(ws.samples, name))
    # the batches: the same notifications and gaps in each, the same count
    assert w.ledger.count == len(batches) == w.batch_count
    assert w.ledger.frames().tolist() == [len(b.frames["seq"]) for b in batches]
    assert {s: g for s, g in w.ledger.gaps.items()} == {b.seq: list(b.gaps) for b in batches if b.gaps}
    for b in batches:
        assert np.array_equal(
            w.notification_batch[np.asarray(b.frames["seq"], dtype=np.int64)], np.full(len(b.frames["seq"]), b.seq)
        )
    # stored rows: every frame once, samples with their batch
    cols = w.frame_columns(0, len(w.notes))
    assert [cols["payload"].row(i) for i in range(len(cols["seq"]))] == [
        p for b in batches for p in b.frames["payload"]
    ]
    assert w.sample_batch.size == sum(len(next(iter(b.samples.values()))["t_ns"]) if b.samples else 0 for b in batches)


def imu_frames(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-3000, 3000, size=(n, 9)).astype(np.int16)


def bunched(
    raw: np.ndarray,
    interval_s: float = 0.0225,
    start_ns: int = ANCHOR,
    rate_hz: float = 200.0,
    per_notification: int = 1,
    keep: np.ndarray | None = None,
) -> list[Notification]:
    """Frames of a fixed-rate device leaving at connection events (``keep``: frames not lost)."""
    t_s = np.arange(raw.shape[0]) / rate_hz
    event = np.ceil((t_s + 0.001) / interval_s)
    out = []
    for i in range(0, raw.shape[0], per_notification):
        idx = [j for j in range(i, min(i + per_notification, raw.shape[0])) if keep is None or keep[j]]
        if idx:
            out.append(
                Notification(
                    start_ns + int(event[idx[-1]] * interval_s * 1e9), NOTIFY_UUID, encode_data_frames(raw[idx])
                )
            )
    return out


def test_whole_data_frames_with_loss_and_a_reconnect() -> None:
    raw = imu_frames(3000)
    keep = np.random.default_rng(2).random(3000) > 0.02
    notes = bunched(raw, keep=keep, per_notification=2)
    cut = len(notes) // 2
    gap_start, gap_end = notes[cut].t_ns + 1, notes[cut].t_ns + 400_000_000
    later = [Notification(n.t_ns + 400_000_000, n.char, n.data) for n in notes[cut + 1 :]]
    records = [
        LinkEvent(ANCHOR, "connected"),
        *notes[: cut + 1],
        LinkEvent(gap_start, "disconnected"),
        LinkEvent(gap_end, "connected"),
        *later,
    ]
    assert_same("witmotion", records)
    assert whole("witmotion", records).whole_session().lost_samples > 0


def test_whole_frames_around_another_characteristics_notification() -> None:
    """Runs of whole-frame notifications are sliced from the payload buffer at once; a notification
    of another characteristic between two of ours (here a frame-sized one that even looks like data)
    must not be read into the run (the fuzz target found 599 frames for 598 sample times)."""
    raw = imu_frames(600, seed=6)
    notes = bunched(raw)
    foreign = encode_data_frames(imu_frames(1, seed=7))
    records: list = [LinkEvent(ANCHOR, "connected")]
    for i, n in enumerate(notes):
        records.append(n)
        if i in (60, 61, 300):
            records.append(Notification(n.t_ns, OTHER, foreign))
    assert_same("witmotion", records)
    w = whole("witmotion", records)
    assert w.samples == 600 and np.array_equal(w.raw_i16, raw)


def test_split_frames_register_replies_garbage_and_other_characteristics() -> None:
    raw = imu_frames(1200, seed=4)
    data = encode_data_frames(raw)
    reply = bytes(RegisterReply(0x03, (0x0B, 0, 0, 0, 0, 0, 0, 0)))
    records: list = [LinkEvent(ANCHOR, "connected")]
    pos, t, i = 0, ANCHOR, 0
    rng = np.random.default_rng(5)
    while pos < len(data):
        i += 1
        t += int(rng.integers(1_000_000, 12_000_000))
        if i % 37 == 0:
            records.append(Notification(t, NOTIFY_UUID, reply))  # a register reply between data frames
            continue
        if i % 53 == 0:
            records.append(Notification(t, OTHER, b"\x01\x02"))  # not our characteristic: stored, not decoded
            continue
        if i % 41 == 0:
            records.append(Notification(t, NOTIFY_UUID, b"\x00\x13\x55"))  # garbage, then a resync
            continue
        step = int(rng.choice([20, 20, 20, 40, 7, 33, 13]))  # frames split across notifications
        records.append(Notification(t, NOTIFY_UUID, data[pos : pos + step]))
        pos += step
        if i == 400:  # a reconnect with half a frame pending: the parser restarts
            records += [LinkEvent(t + 1, "disconnected"), LinkEvent(t + 300_000_000, "connected")]
            t += 300_000_000
    assert_same("witmotion", records)
    w = whole("witmotion", records)
    assert 0 < w.samples < 1200 and w.reconnects == 1


def test_batch_bounds_at_the_size_limit_and_a_gap_in_a_full_batch() -> None:
    # 300 notifications at the same instant: the first batch closes at 250 notifications
    same_t = [Notification(ANCHOR + 1_000, NOTIFY_UUID, encode_data_frames(imu_frames(1, seed=i))) for i in range(300)]
    records = [
        *same_t[:250],
        LinkEvent(ANCHOR + 1_000, "disconnected"),
        LinkEvent(ANCHOR + 2_000, "connected"),
        *[Notification(ANCHOR + 2_000, n.char, n.data) for n in same_t[250:]],
    ]
    assert_same("witmotion", records)
    # the same with a disconnect at the very end (no reconnect): the gap ends at the last event
    records_end = [*same_t[:250], LinkEvent(ANCHOR + 5_000, "disconnected")]
    assert_same("witmotion", records_end)
    w = whole("witmotion", records_end)
    assert w.gaps == [(ANCHOR + 5_000, ANCHOR + 5_000)] and w.ledger.count == 2


def test_heart_rate_goes_through_the_live_assembler_and_tiny_sessions() -> None:
    hr = [
        Notification(ANCHOR + i * 1_000_000_000, HR_CHAR, bytes(HeartRateMeasurement(heart_rate_bpm=60 + i)))
        for i in range(120)
    ]
    assert_same("heart_rate", hr)
    w = whole("heart_rate", hr)
    assert w.samples == 120 and w.sample_rows is not None and list(w.sample_rows["heart_rate_bpm"][:3]) == [60, 61, 62]
    # IMU sessions too short to time: no samples to analyse, as the live assembler says
    one = bunched(imu_frames(1))
    assert_same("witmotion", one)
    assert_same("witmotion", [])
    assert_same("witmotion", [LinkEvent(ANCHOR, "connected")])


@pytest.mark.parametrize("interval_ns, limit", [(100_000_000, 250), (10_000_000, 3)])
def test_batch_ledger_alone(interval_ns: int, limit: int) -> None:
    t = np.cumsum(np.random.default_rng(7).integers(0, 30_000_000, 500)).astype(np.int64)
    ledger = batch_ledger(t, [], batch_interval_ns=interval_ns, batch_max_notifications=limit)
    seq = ledger.seq_of_notification
    assert seq[0] == 0 and np.all(np.diff(seq) >= 0) and np.all(np.diff(seq) <= 1)
    for b in range(ledger.count):
        members = np.flatnonzero(seq == b)
        assert 1 <= members.size <= limit
        assert t[members[-1]] - t[members[0]] < interval_ns
        nxt = members[-1] + 1
        if nxt < t.size and members.size < limit:
            assert t[nxt] - t[members[0]] >= interval_ns
