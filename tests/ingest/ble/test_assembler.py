"""SessionAssembler, sans-IO: a whole capture in, batches, live samples and the whole session out."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from ingest.ble.assembler import BatchReady, GapMarked, LiveSamples, Named, Opened, SessionAssembler
from ingest.ble.protocols.registry import get_profile
from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames, raw_to_si
from records.identity import pending_id_for, session_id_for
from records.times import utc_anchor_ns

STARTED = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
ANCHOR = 5_000_000_000_000


def capture(n_frames: int = 900, rate_hz: float = 200.0, interval_s: float = 0.0225):
    """(t_ns, payload) of a 200 Hz WitMotion whose frames leave at 22.5 ms connection events."""
    rng = np.random.default_rng(1)
    raw = rng.integers(-3000, 3000, size=(n_frames, 9)).astype(np.int16)
    t_s = np.arange(n_frames) / rate_hz
    event = np.ceil((t_s + 0.001) / interval_s).astype(np.int64)
    items, start = [], 0
    for i in range(1, n_frames + 1):
        if i == n_frames or event[i] != event[start]:
            items.append((ANCHOR + int(event[start] * interval_s * 1e9), encode_data_frames(raw[start:i])))
            start = i
    return raw, items


def feed(asm: SessionAssembler, items, link=()) -> list:
    events = []
    link = dict(link)
    for t, payload in items:
        for lt in [k for k in link if k <= t]:
            events += asm.on_link_event(lt, link.pop(lt))
        events += asm.on_notification(t, NOTIFY_UUID, payload)
    return events + asm.finish()


def test_a_whole_capture_gives_every_frame_once_in_bounded_batches_and_the_whole_session():
    raw, items = capture()
    asm = SessionAssembler(
        get_profile("witmotion"), started_at=STARTED, anchor_t_ns=ANCHOR, device_address="AA", configured_rate_hz=200.0
    )
    events = feed(asm, items)
    assert events[0] == Opened(ANCHOR, pending_id_for("AA", STARTED))
    named = [e for e in events if isinstance(e, Named)]
    assert named == [Named(session_id_for("AA", STARTED, [p for _, p in items]))] == [Named(asm.session_id)]
    # the session is named after its 64th payload: batches before it, batches after it
    i_named = events.index(named[0])
    assert any(isinstance(e, BatchReady) for e in events[:i_named])
    batches = [e for e in events if isinstance(e, BatchReady)]
    assert [b.seq for b in batches] == list(range(len(batches)))
    frames_t = np.concatenate([b.frames["t_ns"] for b in batches])
    assert list(np.concatenate([b.frames["seq"] for b in batches])) == list(range(len(items)))
    assert [p for b in batches for p in b.frames["payload"]] == [p for _, p in items]
    for b in batches:
        assert len(b.frames["seq"]) <= 250 and b.frames["t_ns"][-1] - b.frames["t_ns"][0] < 100_000_000
    assert np.all(np.diff(frames_t) >= 0)
    # stored sample rows: every sample once, SI columns of the raw frames, UTC times
    imu = [b.samples["imu_sample"] for b in batches if "imu_sample" in b.samples]
    ax = np.concatenate([c["ax_mps2"] for c in imu])
    np.testing.assert_allclose(ax, raw_to_si(raw)[0][:, 0])
    t_utc = np.concatenate([c["t_ns"] for c in imu])
    assert t_utc[0] - utc_anchor_ns(STARTED) == pytest.approx(5e6, abs=25e6)  # first sample near 5 ms
    assert np.all(np.diff(t_utc) > 0)
    # live samples: every sample once, in order, on the capture clock
    live = [e.samples for e in events if isinstance(e, LiveSamples)]
    assert sum(len(s) for s in live) == len(raw)
    np.testing.assert_allclose(np.concatenate([s.accel_mps2 for s in live]), raw_to_si(raw)[0])
    assert np.concatenate([s.t_ns for s in live])[0] - ANCHOR == t_utc[0] - utc_anchor_ns(STARTED)
    # the whole session: every sample, times reconstructed at the fitted rate, nothing lost
    whole = asm.whole_session()
    assert whole.samples is not None and len(whole.samples) == len(raw)
    assert whole.sample_rate_hz == pytest.approx(200.0, rel=1e-3) and whole.lost_samples == 0
    np.testing.assert_allclose(np.diff(whole.samples.t_ns), 5e6, rtol=1e-3)
    assert (asm.notifications, asm.samples, asm.decode_errors) == (len(items), len(raw), 0)


def test_replaying_the_same_capture_gives_the_same_events():
    _, items = capture(400)

    def run():
        asm = SessionAssembler(
            get_profile("witmotion"),
            started_at=STARTED,
            anchor_t_ns=None,
            device_address="AA",
            configured_rate_hz=200.0,
        )
        return asm, feed(asm, items)

    (a1, e1), (a2, e2) = run(), run()
    assert a1.anchor_t_ns == items[0][0]  # anchored at the first event
    b1 = [(e.seq, list(e.frames["payload"])) for e in e1 if isinstance(e, BatchReady)]
    b2 = [(e.seq, list(e.frames["payload"])) for e in e2 if isinstance(e, BatchReady)]
    assert b1 == b2 and a1.session_id == a2.session_id


def test_a_reconnect_closes_a_gap_after_the_samples_before_it():
    _, items = capture(600)
    cut = items[len(items) // 2][0]
    asm = SessionAssembler(
        get_profile("witmotion"), started_at=STARTED, anchor_t_ns=ANCHOR, device_address="AA", configured_rate_hz=200.0
    )
    later = [(t + 2_000_000_000, p) for t, p in items if t > cut]
    events = feed(
        asm,
        [(t, p) for t, p in items if t <= cut] + later,
        link={cut + 1: "disconnected", cut + 1_000_000_000: "connected"},
    )
    gap = (cut + 1, cut + 1_000_000_000)
    marks = [i for i, e in enumerate(events) if isinstance(e, GapMarked)]
    assert [events[i] for i in marks] == [GapMarked(*gap)] and asm.gaps == [gap] and asm.reconnects == 1
    live_before = sum(len(e.samples) for e in events[: marks[0]] if isinstance(e, LiveSamples))
    assert live_before == sum(len(p) // 20 for t, p in items if t <= cut)  # every sample before the gap came first
    assert all(e.samples.t_ns[-1] < gap[0] for e in events[: marks[0]] if isinstance(e, LiveSamples))
    assert all(e.samples.t_ns[0] > gap[1] for e in events[marks[0] :] if isinstance(e, LiveSamples))
    assert [g for e in events if isinstance(e, BatchReady) for g in e.gaps] == [gap]
    assert asm.whole_session().gaps == [gap]


def test_a_session_without_events_is_named_at_finish_and_time_must_not_go_back():
    asm = SessionAssembler(get_profile("heart_rate"), started_at=STARTED, device_address="HR")
    assert asm.finish(end_t_ns=7) == [Named(session_id_for("HR", STARTED, []))]
    assert asm.anchor_t_ns == 7 and asm.whole_session().samples is None
    with pytest.raises(RuntimeError, match="finished"):
        asm.on_notification(8, NOTIFY_UUID, b"")
    other = SessionAssembler(get_profile("witmotion"), started_at=STARTED, configured_rate_hz=200.0)
    other.on_notification(10, NOTIFY_UUID, b"")
    with pytest.raises(ValueError, match="backwards"):
        other.on_notification(9, NOTIFY_UUID, b"")
    with pytest.raises(ValueError, match="timezone-aware"):
        SessionAssembler(get_profile("witmotion"), started_at=datetime(2026, 1, 1))
    with pytest.raises(RuntimeError, match="finish"):
        other.whole_session()
