"""Stream session assembly, sans-IO: capture events in, decoded samples and batch boundaries out.

:class:`SessionAssembler` is fed one sensor's notifications and link events, in capture order,
with their capture-clock ``t_ns`` (``time.monotonic_ns()`` live, the capture file's on replay),
and returns what they produced as a list of events:

* :class:`Opened` - the first event anchored the session: its pending landing id is known;
* :class:`Named` - the session id is known (after 64 payloads, or at :meth:`finish`);
* :class:`BatchReady` - a storage batch closed: its ``ble_frame`` rows, its sample rows (UTC
  ``t_ns``, SI columns) and the gaps closed in it;
* :class:`LiveSamples` - IMU samples whose times became final, for a live rep detector;
* :class:`GapMarked` - a link gap (disconnect to reconnect) closed; the samples before it were
  handed out first.

It does no I/O and knows nothing of storage or analysis: the stream job (``jobs.stream_session``)
sends batches to a landing sink, live samples to the rep detector, and at the end the whole
session (:meth:`whole_session`) to the analysis. The same assembler serves a batch replay: feed
it a whole capture, then :meth:`finish` and :meth:`whole_session`.

What it does with each notification (docs/streaming.md):

* keeps every raw payload and decodes it with the sensor profile, in groups of notifications
  spanning >= 15 ms of arrival time (``group_ns``);
* gives each sample a time: fixed-rate sensors (WitMotion) through :class:`OnlineTimebase` while
  streaming (final at once for samples on the arrival envelope, after an 80 ms look-ahead for
  late ones), and :func:`reconstruct_sample_times` over the whole session in
  :meth:`whole_session`; other sensors take the notification's arrival time;
* closes a batch when its first notification is >= 100 ms older than the next one (capture
  clock) or it holds 250 notifications. Batch boundaries depend only on the capture's ``t_ns`` and
  payloads, so a live session and the replay of its capture produce the same batches (and the
  same session id, :mod:`records.identity`).

Times: ``t_ns`` handed in is the capture clock; batch sample rows carry UTC
``t_ns = started_at + (t - anchor_t_ns)``; live samples, gaps and :meth:`whole_session` keep the
capture clock.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ingest.ble.protocols.base import DecodedChunk, SensorProfile, normalize_uuid
from ingest.ble.protocols.witmotion import imu_columns, raw_to_si
from ingest.ble.timebase import OnlineTimebase, reconstruct_sample_times
from records.identity import SESSION_ID_PAYLOADS, pending_id_for, session_id_for
from records.imu import ImuSamples
from records.times import utc_anchor_ns

BATCH_INTERVAL_NS = 100_000_000
BATCH_MAX_NOTIFICATIONS = 250
GROUP_NS = 15_000_000
"""Notifications are decoded in groups, once the group spans >= 15 ms of arrival time (two or three
connection events), and the live detector is fed once per group: the same work done in one go
costs less than one notification at a time between other tasks (at 1 kHz, paced in real time, the
pipeline's CPU went from ~1.5x to ~1.3x of the same work done back to back), and the detector still
gets its samples every ~20 ms. Results do not depend on it (``group_ns=0`` decodes on arrival)."""


# ---------------------------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class Opened:
    """The session's first event: its capture-clock anchor and its pending landing id."""

    anchor_t_ns: int
    pending_id: str


@dataclass(frozen=True, slots=True)
class Named:
    """The session id became known (:func:`records.identity.session_id_for`)."""

    session_id: str


@dataclass(frozen=True, slots=True)
class BatchReady:
    """One closed storage batch: ``frames`` (``seq``, ``t_ns``, ``char``, ``payload``), ``samples``
    (sample table -> columns with UTC ``t_ns``) and the gaps closed in it (capture clock)."""

    seq: int
    frames: dict[str, Any]
    samples: dict[str, dict[str, Any]]
    gaps: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class LiveSamples:
    """IMU samples whose times became final (capture clock), in order."""

    samples: ImuSamples


@dataclass(frozen=True, slots=True)
class GapMarked:
    """A link gap closed by a reconnect (capture clock); the samples before it came first."""

    start_ns: int
    end_ns: int


Event = Opened | Named | BatchReady | LiveSamples | GapMarked


@dataclass(frozen=True)
class WholeSession:
    """The finished session as a whole, for the end-of-session analysis.

    ``samples`` are the IMU samples at their reconstructed times (capture clock), or None for a
    sensor without them (or fewer than two samples); ``gaps`` on the capture clock.
    """

    sample_rate_hz: float
    lost_samples: int
    gaps: list[tuple[int, int]]
    samples: ImuSamples | None


@dataclass
class _Batch:
    seq: list[int] = field(default_factory=list)
    t_ns: list[int] = field(default_factory=list)
    char: list[str] = field(default_factory=list)
    payload: list[bytes] = field(default_factory=list)
    sample_cols: list[dict[str, Any]] = field(default_factory=list)
    sample_raw: list[np.ndarray] = field(default_factory=list)
    sample_t_ns: list[np.ndarray] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.seq)


class SessionAssembler:
    """Assembles one sensor's session; see the module docstring.

    Parameters
    ----------
    profile : SensorProfile
        The sensor's decoding profile.
    started_at : datetime
        Wall-clock anchor (UTC, aware) of capture time ``anchor_t_ns``.
    anchor_t_ns : int or None
        Capture-clock time at ``started_at``; None = the first event's ``t_ns``.
    device_address : str or None
        Part of the session id.
    configured_rate_hz : float or None
        Output rate configured on a fixed-rate sensor (default: the profile's).
    live : bool
        Emit :class:`LiveSamples` (an IMU sensor with a known rate only).
    batch_interval_ns, batch_max_notifications, group_ns :
        Batch and decoding-group bounds (module constants by default).
    """

    def __init__(
        self,
        profile: SensorProfile,
        *,
        started_at: datetime,
        anchor_t_ns: int | None = None,
        device_address: str | None = None,
        configured_rate_hz: float | None = None,
        live: bool = True,
        batch_interval_ns: int = BATCH_INTERVAL_NS,
        batch_max_notifications: int = BATCH_MAX_NOTIFICATIONS,
        group_ns: int = GROUP_NS,
    ) -> None:
        if started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware (UTC)")
        self.profile = profile
        self.started_at = started_at.astimezone(UTC)
        self.anchor_t_ns = anchor_t_ns
        self.device_address = device_address
        self.configured_rate_hz = (
            float(configured_rate_hz) if configured_rate_hz is not None else profile.default_rate_hz
        )
        self.batch_interval_ns = batch_interval_ns
        self.batch_max_notifications = batch_max_notifications
        self.group_ns = group_ns
        self.is_imu = profile.sample_table == "imu_sample"
        self.live = bool(live and self.is_imu and self.configured_rate_hz)
        self.timebase = (
            OnlineTimebase(self.configured_rate_hz)
            if profile.periodic and self.configured_rate_hz is not None
            else None
        )
        """The online timebase of a fixed-rate sensor (None otherwise); ``lost_samples`` while streaming."""

        self.session_id: str | None = None
        self.notifications = 0
        self.samples = 0
        self.decode_errors = 0
        self.reconnects = 0
        self.gaps: list[tuple[int, int]] = []
        self.last_t_ns: int | None = None
        self.finished = False
        self._notify_uuids = {normalize_uuid(u) for u in profile.notify_uuids}
        self._is_ours: dict[str, bool] = {}
        self._decoder = profile.make_decoder()
        self._opened = False
        self._id_payloads: list[bytes] = []
        self._batch = _Batch()
        self._batch_seq = 0
        self._disconnected_at: int | None = None
        # Whole-session arrays for the final analysis (fixed-rate sensors).
        # (compact: an hour at 200 Hz is 5.8 MB of arrival times and 13 MB of raw frames)
        self._arrivals = array("q")
        self._raw_bytes = bytearray()
        self._untimed: deque[DecodedChunk] = deque()  # decoded, waiting for final sample times
        self._times_ready: list[np.ndarray] = []
        self._times_ready_n = 0
        self._live_pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._deferred: list[tuple[int, str, bytes]] = []  # received, not decoded yet (see group_ns)
        self._out: list[Event] = []

    @property
    def pending_id(self) -> str:
        """The session's name until its id is known (its pending landing file's)."""
        return pending_id_for(self.device_address, self.started_at)

    # ------------------------------------------------------------------ input
    def on_link_event(self, t_ns: int, event: str) -> list[Event]:
        """``'connected'`` / ``'disconnected'`` on the capture clock (a reconnect closes a gap)."""
        if event not in ("connected", "disconnected"):
            raise ValueError(f"link event must be 'connected' or 'disconnected', got {event!r}")
        self._check_time(t_ns)
        self._anchor(t_ns)
        if event == "disconnected":
            if self._disconnected_at is None:
                self._disconnected_at = int(t_ns)
        elif self._disconnected_at is not None:
            gap = (self._disconnected_at, int(t_ns))
            self._disconnected_at = None
            self._add_gap(gap)
            self.reconnects += 1
        return self._take()

    def on_notification(self, t_ns: int, char_uuid: str, data: bytes) -> list[Event]:
        """One notification payload that arrived at ``t_ns`` (capture clock)."""
        self._check_time(t_ns)
        self._anchor(t_ns)
        data = bytes(data)
        char = char_uuid.lower()
        if self._batch.t_ns and (t_ns - self._batch.t_ns[0] >= self.batch_interval_ns):
            self._close_batch()
        seq = self.notifications
        self.notifications += 1
        if len(self._id_payloads) < SESSION_ID_PAYLOADS:
            self._id_payloads.append(data)
        b = self._batch
        b.seq.append(seq)
        b.t_ns.append(int(t_ns))
        b.char.append(char)
        b.payload.append(data)
        self._deferred.append((int(t_ns), char, data))
        if t_ns - self._deferred[0][0] >= self.group_ns:
            self._process_deferred()
        if len(self._id_payloads) == SESSION_ID_PAYLOADS and self.session_id is None:
            self._name()
        if len(b) >= self.batch_max_notifications:
            self._close_batch()
        return self._take()

    def finish(self, end_t_ns: int | None = None) -> list[Event]:
        """End of the session: the last samples, the last batch, the session id if still unknown.

        ``end_t_ns`` (capture clock) only anchors a session that saw no event at all; everything
        else ends at the last event, exactly as the replay of the session's capture does.
        """
        if self.finished:
            raise RuntimeError("the session is finished")
        self._process_deferred()
        if self._disconnected_at is not None:  # ended without the link coming back
            # The gap ends at the last event (not at end_t_ns) so that the replay of the capture,
            # which ends there too, gives the same session.
            gap = (self._disconnected_at, max(self._disconnected_at, int(self.last_t_ns or 0)))
            self._disconnected_at = None
            self.gaps.append(gap)
            self._batch.gaps.append(gap)
        if self.timebase is not None:
            self._timed(self.timebase.flush())
        self._flush_live()
        self._close_batch()
        if self.anchor_t_ns is None:
            self.anchor_t_ns = int(end_t_ns or 0)
        if self.session_id is None:
            self._name()
        self.finished = True
        return self._take()

    @property
    def ended_at(self) -> datetime:
        """Wall-clock time of the last event (``started_at`` for a session without one)."""
        anchor = int(self.anchor_t_ns or 0)
        return self.started_at + timedelta(microseconds=((self.last_t_ns or anchor) - anchor) / 1000)

    def whole_session(self) -> WholeSession:
        """The session as a whole (after :meth:`finish`): sample times reconstructed over the whole
        session for a fixed-rate sensor (:func:`reconstruct_sample_times`), IMU samples in SI."""
        if not self.finished:
            raise RuntimeError("whole_session() needs finish() first")
        gaps = list(self.gaps)
        if self.timebase is None:
            span_s = ((self.last_t_ns or 0) - int(self.anchor_t_ns or 0)) / 1e9
            rate = self.samples / span_s if span_s > 0 and self.samples else 0.0
            return WholeSession(rate, 0, gaps, None)
        arrivals = np.frombuffer(self._arrivals, dtype=np.int64).copy()
        if arrivals.size < 2:
            return WholeSession(float(self.configured_rate_hz or 0.0), 0, gaps, None)
        tb = reconstruct_sample_times(arrivals, float(self.configured_rate_hz or 0.0), gaps)
        samples = None
        if self._raw_bytes and self.is_imu:
            raw = np.frombuffer(self._raw_bytes, dtype="<i2").reshape(-1, 9).astype(np.int16)  # one copy, not two
            accel, gyro, angles = raw_to_si(raw)
            samples = ImuSamples(tb.t_ns, accel, gyro, angles)
        return WholeSession(float(tb.rate_hz), int(tb.lost_samples), gaps, samples)

    # ------------------------------------------------------------------ internals
    def _take(self) -> list[Event]:
        out, self._out = self._out, []
        return out

    def _check_time(self, t_ns: int) -> None:
        if self.finished:
            raise RuntimeError("the session is finished")
        if self.last_t_ns is not None and t_ns < self.last_t_ns:
            raise ValueError(f"t_ns went backwards: {t_ns} after {self.last_t_ns} (capture clock must be monotonic)")
        self.last_t_ns = int(t_ns)

    def _anchor(self, t_ns: int) -> None:
        if self.anchor_t_ns is None:
            self.anchor_t_ns = int(t_ns)
        if not self._opened:
            self._opened = True
            self._out.append(Opened(int(self.anchor_t_ns), self.pending_id))

    def _name(self) -> None:
        self.session_id = session_id_for(self.device_address, self.started_at, self._id_payloads)
        self._out.append(Named(self.session_id))

    def _add_gap(self, gap: tuple[int, int]) -> None:
        self._process_deferred()  # before the decoder and the timebase restart
        self.gaps.append(gap)
        self._batch.gaps.append(gap)
        self._decoder.reset()  # a frame cut by the disconnect never completes
        if self.timebase is not None:
            self._timed(self.timebase.new_segment())  # the samples before the gap get their times
        if self.live:
            self._flush_live()
            self._out.append(GapMarked(*gap))

    def _process_deferred(self) -> None:
        """Decode the notifications received since the last group, give their samples times, hand
        the live samples out once (see ``group_ns``)."""
        deferred, self._deferred = self._deferred, []
        for t_ns, char, data in deferred:
            self._process(t_ns, char, data)
        self._flush_live()

    def _process(self, t_ns: int, char: str, data: bytes) -> None:
        b = self._batch
        is_ours = self._is_ours.get(char)
        if is_ours is None:
            try:
                is_ours = normalize_uuid(char) in self._notify_uuids
            except ValueError:
                is_ours = False
            self._is_ours[char] = is_ours
        if is_ours:
            chunk = self._decoder.feed(data)
            self.decode_errors += len(chunk.errors)
            if chunk.n:
                self.samples += chunk.n
                if self.timebase is not None:
                    self._arrivals.extend([int(t_ns)] * chunk.n)
                    if chunk.raw_i16 is not None:
                        self._raw_bytes += chunk.raw_i16.astype("<i2").tobytes()
                    self._untimed.append(chunk)
                    self._timed(self.timebase.push(int(t_ns), chunk.n))
                else:
                    b.sample_cols.append(chunk.columns)
                    b.sample_t_ns.append(np.full(chunk.n, int(t_ns), dtype=np.int64))

    def _timed(self, times: np.ndarray) -> None:
        """Sample times became final (in order): hand their samples to the batch and the live samples."""
        if times.size:
            self._times_ready.append(times)
            self._times_ready_n += times.size
        while self._untimed and self._untimed[0].n <= self._times_ready_n:
            chunk = self._untimed.popleft()
            ready = np.concatenate(self._times_ready) if len(self._times_ready) > 1 else self._times_ready[0]
            t, rest = ready[: chunk.n], ready[chunk.n :]
            self._times_ready = [rest] if rest.size else []
            self._times_ready_n = int(rest.size)
            if chunk.raw_i16 is not None and not chunk.columns:
                self._batch.sample_raw.append(chunk.raw_i16)
            else:
                self._batch.sample_cols.append(chunk.columns)
            self._batch.sample_t_ns.append(t)
            if self.live and chunk.raw_i16 is not None:
                self._live_pending.append((t, chunk.raw_i16))

    def _flush_live(self) -> None:
        if not self._live_pending:
            return
        t = np.concatenate([p[0] for p in self._live_pending])
        raw = np.concatenate([p[1] for p in self._live_pending])
        self._live_pending.clear()
        accel, gyro, angles = raw_to_si(raw)
        self._out.append(LiveSamples(ImuSamples(t, accel, gyro, angles)))

    def _utc_ns(self, t_capture_ns: np.ndarray) -> np.ndarray:
        return np.asarray(t_capture_ns, dtype=np.int64) - int(self.anchor_t_ns or 0) + utc_anchor_ns(self.started_at)

    def _close_batch(self) -> None:
        self._process_deferred()  # the batch's own notifications first
        batch, self._batch = self._batch, _Batch()
        if not len(batch) and not batch.gaps:
            return
        seq = self._batch_seq
        self._batch_seq += 1
        frames = {
            "seq": np.asarray(batch.seq, dtype=np.int64),
            "t_ns": np.asarray(batch.t_ns, dtype=np.int64),
            "char": batch.char,
            "payload": batch.payload,
        }
        samples: dict[str, dict[str, Any]] = {}
        if batch.sample_t_ns:
            cols: dict[str, Any] = {}
            if batch.sample_raw:  # IMU: SI columns for the whole batch at once
                cols.update(imu_columns(np.concatenate(batch.sample_raw)))
            else:
                for name in batch.sample_cols[0]:
                    parts = [c[name] for c in batch.sample_cols]
                    if all(isinstance(p, np.ndarray) for p in parts):
                        cols[name] = np.concatenate(parts)
                    else:
                        cols[name] = [v for p in parts for v in p]
            cols["t_ns"] = self._utc_ns(np.concatenate(batch.sample_t_ns))
            samples[self.profile.sample_table] = cols
        self._out.append(BatchReady(seq, frames, samples, list(batch.gaps)))
