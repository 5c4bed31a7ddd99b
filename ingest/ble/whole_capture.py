"""A whole session's notifications assembled at once (sans-IO): the batch replay's and the
re-analysis' counterpart of :class:`~ingest.ble.assembler.SessionAssembler`.

:func:`assemble_whole` takes a session's notifications as arrays (:class:`Notifications`: a
capture read by :func:`ingest.ble.capture_arrays.read_capture_arrays`, or the frames a store
holds) plus its link events, and gives what a live session ends with, without feeding anything
notification by notification:

* the session id (:func:`records.identity.session_id_for` over the first 64 payloads), gaps,
  reconnects, notification and sample counts;
* the IMU samples at their times reconstructed over the whole session
  (:func:`ingest.ble.timebase.reconstruct_sample_times`, the live finish's own call, on the same
  per-sample arrival times and raw frames), as :class:`~ingest.ble.assembler.WholeSession`;
* the storage batches the live assembler would have cut (:class:`BatchLedger`: which batch each
  notification belongs to, the gaps closed in each), so a batch replay's ``stream_batch`` ledger
  matches a live session's and either can complete the other.

Decoding is the profile's: WitMotion notifications that are whole data frames (the usual case)
are decoded together with numpy (:func:`~ingest.ble.protocols.witmotion.decode_data_frames`,
what the stream parser's own fast path does frame run by frame run); any other notification (a
frame split across notifications, a register reply, garbage) and everything after it until the
parser holds no partial frame goes through a :class:`~ingest.ble.protocols.witmotion.WitMotionStreamParser`
one notification at a time, reset at each reconnect as the live decoder is. Sensors whose
samples are not periodic IMU frames (heart rate, RSC, power: one sample per notification, ~1 Hz)
run through the live :class:`SessionAssembler` itself (:func:`assemble_with_live_assembler`).

Stored sample rows differ from a live session's in one respect, by design: an IMU sample row
carries the whole-session reconstructed time (what the analysis used), where a live session
stores the online timebase's time (equal to it in the usual case: nominal rate, no loss), and it
belongs to the batch of the notification that carried it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ingest.ble.assembler import (
    BATCH_INTERVAL_NS,
    BATCH_MAX_NOTIFICATIONS,
    BatchReady,
    SessionAssembler,
    WholeSession,
)
from ingest.ble.protocols.base import SensorProfile, normalize_uuid
from ingest.ble.protocols.witmotion import (
    FRAME_LEN,
    HEADER,
    KIND_DATA,
    WitMotionDecoder,
    WitMotionStreamParser,
    imu_columns,
    raw_to_si,
)
from ingest.ble.timebase import reconstruct_sample_times
from records.columns import BinaryColumn, DictionaryColumn
from records.identity import SESSION_ID_PAYLOADS, session_id_for
from records.imu import ImuSamples
from records.times import utc_anchor_ns


@dataclass(frozen=True)
class Notifications:
    """A session's notifications in arrival order, as arrays (capture clock).

    ``payload[offsets[i]:offsets[i + 1]]`` is notification ``i``'s payload; ``chars[char_code[i]]``
    its characteristic (lower case).
    """

    t_ns: np.ndarray
    char_code: np.ndarray
    chars: tuple[str, ...]
    payload: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        n = self.t_ns.shape[0]
        if self.char_code.shape != (n,) or self.offsets.shape != (n + 1,):
            raise ValueError("t_ns, char_code and offsets (n + 1) must describe the same notifications")
        if n > 1 and np.any(np.diff(self.t_ns) < 0):
            raise ValueError("t_ns must be non-decreasing (arrival order)")

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])

    @property
    def plen(self) -> np.ndarray:
        return np.diff(self.offsets)

    def payload_of(self, i: int) -> bytes:
        return self.payload[self.offsets[i] : self.offsets[i + 1]].tobytes()

    def payloads(self, stop: int) -> list[bytes]:
        return [self.payload_of(i) for i in range(min(stop, len(self)))]


@dataclass(frozen=True)
class LinkEvents:
    """Link events in file order: time, ``'connected'``/``'disconnected'``, and how many
    notifications came before each."""

    t_ns: np.ndarray
    events: tuple[str, ...]
    position: np.ndarray

    @staticmethod
    def none() -> LinkEvents:
        return LinkEvents(np.zeros(0, np.int64), (), np.zeros(0, np.int64))

    @staticmethod
    def from_gaps(gaps: list[tuple[int, int]], t_ns: np.ndarray) -> LinkEvents:
        """The events behind stored gaps: a disconnect at each start, a connect at each end, placed
        after the notifications that arrived before them (a connect at the very time of a
        notification after it: a stored gap does not say which came first, and a reconnect only
        restarts the frame parser, which matters for a frame split across the gap alone)."""
        times, events, pos = [], [], []
        for start, end in sorted(gaps):
            times += [int(start), int(end)]
            events += ["disconnected", "connected"]
            pos += [int(np.searchsorted(t_ns, start, side="right")), int(np.searchsorted(t_ns, end, side="right"))]
        return LinkEvents(np.asarray(times, np.int64), tuple(events), np.asarray(pos, np.int64))


@dataclass
class BatchLedger:
    """The storage batches of a session, as the live assembler cuts them (docs/streaming.md):
    a batch closes when the next notification is >= ``batch_interval_ns`` after its first, or at
    ``batch_max_notifications``; gaps belong to the batch open when they closed."""

    seq_of_notification: np.ndarray
    count: int
    gaps: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def frames(self) -> np.ndarray:
        return np.bincount(self.seq_of_notification, minlength=self.count).astype(np.int64)


@dataclass
class WholeCapture:
    """What :func:`assemble_whole` found; see the module docstring."""

    profile: SensorProfile
    started_at: datetime
    anchor_t_ns: int
    device_address: str | None
    configured_rate_hz: float | None
    session_id: str
    notes: Notifications
    notifications: int
    samples: int
    decode_errors: int
    reconnects: int
    gaps: list[tuple[int, int]]
    last_t_ns: int | None
    sample_rate_hz: float
    """Fitted over the session (IMU), as ``WholeSession.sample_rate_hz``."""
    lost_samples: int
    ledger: BatchLedger
    raw_i16: np.ndarray | None = None
    """IMU: the decoded raw frames, one row per sample (:meth:`whole_session` gives them in SI)."""
    sample_notification: np.ndarray | None = None
    """IMU: index of the notification that carried each sample."""
    sample_t_ns: np.ndarray | None = None
    """IMU: each sample's time reconstructed over the whole session (capture clock)."""
    live_whole: WholeSession | None = None
    """Other sensors: the live assembler's own ``whole_session()``."""
    sample_rows: dict[str, Any] | None = None
    """Other sensors: the sample table's columns as the live batches hold them (UTC ``t_ns``)."""
    sample_batch_rows: np.ndarray | None = None
    """Other sensors: the batch of each row of ``sample_rows``."""

    @property
    def ended_at(self) -> datetime:
        """Wall-clock time of the last event (``started_at`` for a session without one)."""
        anchor = int(self.anchor_t_ns)
        return self.started_at + timedelta(microseconds=((self.last_t_ns or anchor) - anchor) / 1000)

    def utc_ns(self, t_capture_ns: np.ndarray) -> np.ndarray:
        return np.asarray(t_capture_ns, dtype=np.int64) - int(self.anchor_t_ns) + utc_anchor_ns(self.started_at)

    # ---------------------------------------------- the raw rows, batch by batch (store.session_writer.SessionRows)
    @property
    def batch_count(self) -> int:
        return self.ledger.count

    @property
    def notification_batch(self) -> np.ndarray:
        return self.ledger.seq_of_notification

    @property
    def sample_batch(self) -> np.ndarray:
        """The batch of each sample row: its notification's (IMU), or the live batch's that held it."""
        if self.sample_notification is not None:
            seq: np.ndarray = self.ledger.seq_of_notification[self.sample_notification]
            return seq
        if self.sample_batch_rows is not None:
            return self.sample_batch_rows
        return np.zeros(0, np.int64)

    @property
    def batch_gaps(self) -> list[tuple[int, int, int]]:
        return [(b, s, e) for b, gs in sorted(self.ledger.gaps.items()) for s, e in gs]

    def frame_columns(self, lo: int, hi: int) -> dict[str, Any]:
        """``ble_frame`` columns of notifications ``lo:hi`` (capture-clock ``t_ns``)."""
        off = self.notes.offsets[lo : hi + 1]
        return {
            "seq": np.arange(lo, hi, dtype=np.int64),
            "t_ns": self.notes.t_ns[lo:hi],
            "char": DictionaryColumn(self.notes.char_code[lo:hi], self.notes.chars),
            "payload": BinaryColumn(off - off[0], self.notes.payload[off[0] : off[-1]]),
        }

    def sample_columns(self, lo: int, hi: int) -> dict[str, Any]:
        """The sample table's columns of sample rows ``lo:hi`` (UTC ``t_ns``, SI units)."""
        if self.sample_rows is not None:
            return {k: v[lo:hi] for k, v in self.sample_rows.items()}
        if self.raw_i16 is None or self.sample_t_ns is None:
            return {}
        return {"t_ns": self.utc_ns(self.sample_t_ns[lo:hi]), **imu_columns(self.raw_i16[lo:hi])}

    def whole_session(self) -> WholeSession:
        """The session as the live finish's ``SessionAssembler.whole_session()`` gives it: IMU samples
        in SI at their reconstructed times (built now, from the raw frames), fitted rate, lost
        samples, gaps."""
        if self.live_whole is not None:
            return self.live_whole
        samples = None
        if self.raw_i16 is not None and self.raw_i16.shape[0] >= 2 and self.sample_t_ns is not None:
            accel, gyro, angles = raw_to_si(self.raw_i16)
            samples = ImuSamples(self.sample_t_ns, accel, gyro, angles)
        return WholeSession(self.sample_rate_hz, self.lost_samples, list(self.gaps), samples)

    def release_frames(self) -> None:
        """Drop the notifications and the row-to-batch maps once the raw rows are stored (the
        analysis needs only the raw frames and their times)."""
        self.notes = Notifications(
            np.zeros(0, np.int64), np.zeros(0, np.int32), (), np.zeros(0, np.uint8), np.zeros(1, np.int64)
        )
        self.sample_notification = None
        self.ledger = BatchLedger(np.zeros(0, np.int64), self.ledger.count, self.ledger.gaps)
        self.sample_rows = None
        self.sample_batch_rows = None


# ------------------------------------------------------------------------------------ link events
def _gaps_and_reconnects(link: LinkEvents, last_t_ns: int | None) -> tuple[list[tuple[int, int, int, bool]], int]:
    """Gaps as the live assembler closes them: ``(start, end, position, closed_by_reconnect)``
    (``position``: notifications before the event that closed it) and the reconnect count."""
    gaps: list[tuple[int, int, int, bool]] = []
    disconnected_at: int | None = None
    reconnects = 0
    for t, ev, pos in zip(link.t_ns.tolist(), link.events, link.position.tolist(), strict=True):
        if ev == "disconnected":
            if disconnected_at is None:
                disconnected_at = int(t)
        elif ev == "connected":
            if disconnected_at is not None:
                gaps.append((disconnected_at, int(t), int(pos), True))
                disconnected_at = None
                reconnects += 1
        else:
            raise ValueError(f"link event must be 'connected' or 'disconnected', got {ev!r}")
    if disconnected_at is not None:  # ended without the link coming back: the gap ends at the last event
        end = max(disconnected_at, int(last_t_ns or 0))
        gaps.append((disconnected_at, end, -1, False))
    return gaps, reconnects


def batch_ledger(
    t_ns: np.ndarray,
    gaps: list[tuple[int, int, int, bool]],
    *,
    batch_interval_ns: int = BATCH_INTERVAL_NS,
    batch_max_notifications: int = BATCH_MAX_NOTIFICATIONS,
) -> BatchLedger:
    """The batches :class:`SessionAssembler` cuts from notifications arriving at ``t_ns``, and the
    batch each gap lands in (``gaps`` as from :func:`_gaps_and_reconnects`)."""
    n = int(t_ns.shape[0])
    seq = np.empty(n, dtype=np.int64)
    full_after: set[int] = set()  # notifications after which the batch closed at the size limit
    i = b = 0
    t = np.asarray(t_ns, dtype=np.int64)
    while i < n:
        j = int(np.searchsorted(t, t[i] + batch_interval_ns, side="left"))
        end = min(j, i + batch_max_notifications)
        seq[i:end] = b
        if end - i == batch_max_notifications:
            full_after.add(end - 1)
        i = end
        b += 1
    count = b
    out: dict[int, list[tuple[int, int]]] = {}
    for start, stop, pos, _closed in gaps:
        last = n if pos < 0 else pos  # notifications before the event
        if last == 0:
            target = 0
        else:
            q = last - 1
            target = int(seq[q]) + (1 if q in full_after else 0)
        out.setdefault(target, []).append((start, stop))
        count = max(count, target + 1)
    return BatchLedger(seq, count, out)


# ---------------------------------------------------------------------------------------- decoding
def _is_witmotion(profile: SensorProfile) -> bool:
    return profile.make_decoder is WitMotionDecoder


def _decode_imu(
    profile: SensorProfile, notes: Notifications, ours: np.ndarray, resets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Raw frames ``(n, 9)``, the notification of each, and the decode errors, for the notifications
    ``ours`` (indices, in order); the decoder restarts before our notification index in ``resets``."""
    plen = notes.plen
    raws: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    errors = 0
    if _is_witmotion(profile):
        op = plen[ours]
        clean = op % FRAME_LEN == 0
        starts = notes.offsets[ours]
        # every frame of a clean candidate must start with 55 61
        cand = np.flatnonzero(clean & (op > 0))
        if cand.size:
            nframes = op[cand] // FRAME_LEN
            first = np.repeat(starts[cand], nframes) + FRAME_LEN * (
                np.arange(int(nframes.sum())) - np.repeat(np.cumsum(nframes) - nframes, nframes)
            )
            bad = (notes.payload[first] != HEADER) | (notes.payload[first + 1] != KIND_DATA)
            if bad.any():
                clean[cand[np.unique(np.repeat(np.arange(cand.size), nframes)[bad])]] = False
        unclean = np.flatnonzero(~clean)
        # a run of clean notifications is sliced from the payload buffer at once, so it must not span a
        # notification that is not ours (another characteristic's payload lies between theirs)
        breaks = np.flatnonzero(np.diff(ours) != 1) + 1
        parser = WitMotionStreamParser()
        k, n = 0, int(ours.size)
        r = 0
        reset_list = resets.tolist()
        while k < n:
            while r < len(reset_list) and reset_list[r] <= k:
                parser.reset()
                r += 1
            stop = n if r >= len(reset_list) else min(n, reset_list[r])
            if parser.pending_bytes == 0 and clean[k]:
                u = int(np.searchsorted(unclean, k))
                b = int(np.searchsorted(breaks, k, side="right"))
                end = min(stop, int(unclean[u]) if u < unclean.size else n, int(breaks[b]) if b < breaks.size else n)
                lo, hi = int(starts[k]), int(starts[end - 1] + op[end - 1])
                if hi > lo:
                    frames = notes.payload[lo:hi].reshape(-1, FRAME_LEN)
                    raws.append(
                        np.ascontiguousarray(frames[:, 2:]).view("<i2").astype(np.int16, copy=False).reshape(-1, 9)
                    )
                    owners.append(np.repeat(ours[k:end], op[k:end] // FRAME_LEN))
                k = end
            else:
                parsed = parser.feed(notes.payload_of(int(ours[k])))
                if parsed.raw_i16.shape[0]:
                    raws.append(parsed.raw_i16)
                    owners.append(np.full(parsed.raw_i16.shape[0], int(ours[k]), dtype=np.int64))
                k += 1
    else:  # another fixed-rate decoder: the live decoder, notification by notification
        decoder = profile.make_decoder()
        reset_set = set(resets.tolist())
        for k, i in enumerate(ours.tolist()):
            if k in reset_set:
                decoder.reset()
            chunk = decoder.feed(notes.payload_of(i))
            errors += len(chunk.errors)
            if chunk.n and chunk.raw_i16 is not None:
                raws.append(np.asarray(chunk.raw_i16, dtype=np.int16))
                owners.append(np.full(chunk.n, i, dtype=np.int64))
    # one clean run (the usual capture) is taken as it is: concatenating would copy it once more
    raw = (raws[0] if len(raws) == 1 else np.concatenate(raws)) if raws else np.zeros((0, 9), np.int16)
    owner = (owners[0] if len(owners) == 1 else np.concatenate(owners)) if owners else np.zeros(0, np.int64)
    return raw, owner.astype(np.int32) if len(notes) < 2**31 else owner, errors


def _ours(profile: SensorProfile, chars: tuple[str, ...], char_code: np.ndarray) -> np.ndarray:
    wanted = {normalize_uuid(u) for u in profile.notify_uuids}
    is_ours = np.zeros(len(chars), dtype=bool)
    for code, char in enumerate(chars):
        try:
            is_ours[code] = normalize_uuid(char) in wanted
        except ValueError:
            is_ours[code] = False
    return np.flatnonzero(is_ours[char_code]) if len(chars) else np.zeros(0, np.int64)


def assemble_whole(
    profile: SensorProfile,
    notes: Notifications,
    link: LinkEvents | None = None,
    *,
    started_at: datetime,
    anchor_t_ns: int,
    device_address: str | None,
    configured_rate_hz: float | None,
    last_t_ns: int | None = None,
    batch_interval_ns: int = BATCH_INTERVAL_NS,
    batch_max_notifications: int = BATCH_MAX_NOTIFICATIONS,
) -> WholeCapture:
    """Assemble a whole session at once; see the module docstring.

    ``last_t_ns`` is the time of the session's last event (notification or link event; default:
    the last of both). Non-IMU sensors are handed to :func:`assemble_with_live_assembler`.
    """
    if started_at.tzinfo is None:
        raise ValueError("started_at must be timezone-aware (UTC)")
    link = link if link is not None else LinkEvents.none()
    if last_t_ns is None:
        ends = [int(x[-1]) for x in (notes.t_ns, link.t_ns) if x.size]
        last_t_ns = max(ends) if ends else None
    rate = float(configured_rate_hz) if configured_rate_hz is not None else profile.default_rate_hz
    if not (profile.periodic and profile.sample_table == "imu_sample" and rate is not None):
        return assemble_with_live_assembler(
            profile,
            notes,
            link,
            started_at=started_at,
            anchor_t_ns=anchor_t_ns,
            device_address=device_address,
            configured_rate_hz=configured_rate_hz,
            batch_interval_ns=batch_interval_ns,
            batch_max_notifications=batch_max_notifications,
        )
    started_at = started_at.astimezone(UTC)
    gaps4, reconnects = _gaps_and_reconnects(link, last_t_ns)
    ledger = batch_ledger(
        notes.t_ns, gaps4, batch_interval_ns=batch_interval_ns, batch_max_notifications=batch_max_notifications
    )
    gaps = [(s, e) for s, e, _, _ in gaps4]
    ours = _ours(profile, notes.chars, notes.char_code)
    # the decoder restarts at each reconnect, before the notifications that follow it
    closed_at = np.asarray([p for _, _, p, closed in gaps4 if closed], dtype=np.int64)
    resets = np.searchsorted(ours, closed_at, side="left")
    raw, owner, errors = _decode_imu(profile, notes, ours, resets)
    session_id = session_id_for(device_address, started_at, notes.payloads(SESSION_ID_PAYLOADS))
    arrivals = notes.t_ns[owner]
    if arrivals.size < 2:  # as SessionAssembler.whole_session(): no samples to analyse (a lone
        # sample is stored at its arrival time, as the live timebase times it)
        fitted, lost, times = float(rate or 0.0), 0, arrivals.copy()
    else:
        tb = reconstruct_sample_times(arrivals, float(rate), gaps)
        fitted, lost, times = float(tb.rate_hz), int(tb.lost_samples), tb.t_ns
    del arrivals
    return WholeCapture(
        profile=profile,
        started_at=started_at,
        anchor_t_ns=int(anchor_t_ns),
        device_address=device_address,
        configured_rate_hz=rate,
        session_id=session_id,
        notes=notes,
        notifications=len(notes),
        samples=int(raw.shape[0]),
        decode_errors=errors,
        reconnects=reconnects,
        gaps=gaps,
        last_t_ns=last_t_ns,
        sample_rate_hz=fitted,
        lost_samples=lost,
        ledger=ledger,
        raw_i16=raw,
        sample_notification=owner,
        sample_t_ns=times,
    )


def assemble_with_live_assembler(
    profile: SensorProfile,
    notes: Notifications,
    link: LinkEvents,
    *,
    started_at: datetime,
    anchor_t_ns: int,
    device_address: str | None,
    configured_rate_hz: float | None,
    batch_interval_ns: int = BATCH_INTERVAL_NS,
    batch_max_notifications: int = BATCH_MAX_NOTIFICATIONS,
) -> WholeCapture:
    """Sensors with one sample per notification (a few per second): the live
    :class:`SessionAssembler` fed every event, its batches' sample rows kept for one write."""
    a = SessionAssembler(
        profile,
        started_at=started_at,
        anchor_t_ns=anchor_t_ns,
        device_address=device_address,
        configured_rate_hz=configured_rate_hz,
        live=False,
        batch_interval_ns=batch_interval_ns,
        batch_max_notifications=batch_max_notifications,
    )
    batches: list[BatchReady] = []

    def keep(events: list[Any]) -> None:
        batches.extend(ev for ev in events if isinstance(ev, BatchReady))

    k = 0
    n = len(notes)
    for t, ev, pos in zip(link.t_ns.tolist(), link.events, link.position.tolist(), strict=True):
        while k < pos:
            keep(a.on_notification(int(notes.t_ns[k]), notes.chars[int(notes.char_code[k])], notes.payload_of(k)))
            k += 1
        keep(a.on_link_event(int(t), ev))
    while k < n:
        keep(a.on_notification(int(notes.t_ns[k]), notes.chars[int(notes.char_code[k])], notes.payload_of(k)))
        k += 1
    keep(a.finish(anchor_t_ns))
    whole = a.whole_session()
    seq = np.empty(n, dtype=np.int64)
    gaps_by_batch: dict[int, list[tuple[int, int]]] = {}
    parts: dict[str, list[Any]] = {}
    sample_batch: list[np.ndarray] = []
    for b in batches:
        seq[np.asarray(b.frames["seq"], dtype=np.int64)] = b.seq
        if b.gaps:
            gaps_by_batch[b.seq] = list(b.gaps)
        cols = b.samples.get(profile.sample_table)
        if cols:
            m = len(cols["t_ns"])
            for name, values in cols.items():
                parts.setdefault(name, []).append(values)
            sample_batch.append(np.full(m, b.seq, dtype=np.int64))
    rows: dict[str, Any] = {}
    for name, values in parts.items():
        if all(isinstance(v, np.ndarray) for v in values):
            rows[name] = np.concatenate(values)
        else:
            rows[name] = [x for v in values for x in v]
    ledger = BatchLedger(seq, len(batches), gaps_by_batch)
    assert a.session_id is not None
    return WholeCapture(
        profile=profile,
        started_at=a.started_at,
        anchor_t_ns=int(a.anchor_t_ns or 0),
        device_address=device_address,
        configured_rate_hz=a.configured_rate_hz,
        session_id=a.session_id,
        notes=notes,
        notifications=a.notifications,
        samples=a.samples,
        decode_errors=a.decode_errors,
        reconnects=a.reconnects,
        gaps=list(a.gaps),
        last_t_ns=a.last_t_ns,
        sample_rate_hz=whole.sample_rate_hz,
        lost_samples=whole.lost_samples,
        ledger=ledger,
        live_whole=whole,
        sample_rows=rows,
        sample_batch_rows=np.concatenate(sample_batch) if sample_batch else np.zeros(0, np.int64),
    )
