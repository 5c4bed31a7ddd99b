"""The stream session consumer: notifications -> decode -> live reps -> batched landing storage.

One :class:`StreamSession` per connection session (reconnects included). The BLE callback only
enqueues ``(t_ns, char_uuid, payload)``; the consumer task (:func:`consume`) feeds this class,
which

* keeps every raw payload (``ble_frame``) and decodes it with the sensor profile, in groups of
  notifications spanning >= 15 ms of arrival time (``GROUP_NS``);
* gives each sample a time: fixed-rate sensors (WitMotion) through :class:`OnlineTimebase`
  while streaming (final at once for samples on the arrival envelope, after an 80 ms look-ahead
  for late ones), and :func:`reconstruct_sample_times` over the whole session at the end; other
  sensors take the notification's arrival time;
* pushes IMU samples into the live rep detector (once per group) and calls ``on_rep`` as each rep completes (and
  ``on_vl_stop`` once per set when velocity loss reaches ``vl_stop_pct``);
* writes batches to its landing file (``store.landing``) on one writer thread, so that a slow
  commit never stalls the event loop: a batch closes when its first
  notification is >= 100 ms older than the next one (capture clock) or holds 250 notifications.
  Batch boundaries depend only on the capture's ``t_ns`` and payloads, so a live session and the
  replay of its capture produce the same batches (and the same ``session_id``);
* on :meth:`close`, runs the batch analysis over the whole session, stores the reps and sets,
  merges into the main database if it is free within ``wait_s`` (else the landing file waits
  for the next process), and returns the ``replay`` JSON document plus a ``"stream"`` block.

The session id (DESIGN.md section 3) is the first 16 hex digits of sha256 over the device
address, ``started_at`` (ISO-8601 UTC) and the first 64 payloads (``records.identity``), so it is
known only after 64 payloads (or at close if fewer came). Until then batches go to a pending
landing file, opened at the first event and promoted to ``<session_id>.duckdb`` once the id is
known (``store.landing``): every batch is durable from the first one on.

Times: ``t_ns`` handed in is the capture clock (``time.monotonic_ns()`` live); stored sample rows
carry UTC ``t_ns = started_at + (t - anchor_t_ns)``; reps, gaps and the JSON keep the capture clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ingest.ble.capture import CaptureHeader, CaptureWriter
from ingest.ble.protocols.base import DecodedChunk, SensorProfile, normalize_uuid
from ingest.ble.protocols.registry import get_profile
from ingest.ble.protocols.witmotion import imu_columns, raw_to_si
from ingest.ble.timebase import OnlineTimebase, reconstruct_sample_times
from records.identity import SESSION_ID_PAYLOADS, pending_id_for, session_id_for
from records.imu import ImuSamples
from records.times import utc_anchor_ns

LINK_EVENT = "link"
"""Queue items ``(t_ns, LINK_EVENT, "connected"|"disconnected")`` are link events (ingest.ble.client)."""
BATCH_INTERVAL_NS = 100_000_000
BATCH_MAX_NOTIFICATIONS = 250
GROUP_NS = 15_000_000
"""Notifications are decoded in groups, once the group spans >= 15 ms of arrival time (two or three
connection events), and the live detector is fed once per group: the same work done in one go
costs less than one notification at a time between other tasks (at 1 kHz, paced in real time, the
pipeline's CPU went from ~1.5x to ~1.3x of the same work done back to back), and the detector still
gets its samples every ~20 ms. Results do not depend on it (``group_ns=0`` decodes on arrival)."""
MAX_WRITES_IN_FLIGHT = 50
"""Batches handed to the landing writer thread and not committed yet before the consumer waits (5 s)."""

RepCallback = Callable[[dict[str, Any]], None]
MessageCallback = Callable[[str], None]


def rep_to_dict(rep: Any) -> dict[str, Any]:
    """A rep from the analysis (``RepMetrics`` or a dict) as the contract's JSON object."""
    if isinstance(rep, dict):
        return dict(rep)
    if hasattr(rep, "to_contract"):
        return dict(rep.to_contract())
    if is_dataclass(rep) and not isinstance(rep, type):
        return asdict(rep)
    raise TypeError(f"cannot turn {type(rep).__name__} into a rep dict")


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


def _default_live_detector(exercise: str, load_kg: float, rate_hz: float, body_mass_kg: float | None,
                           set_rest_s: float) -> Any:
    from analysis.live import LiveRepDetector

    return LiveRepDetector(exercise, load_kg, rate_hz, body_mass_kg=body_mass_kg, set_rest_s=set_rest_s)


def _default_analyse(samples: ImuSamples, exercise: str, load_kg: float, *, body_mass_kg: float | None,
                     set_rest_s: float, gaps_ns: list[tuple[int, int]]) -> dict[str, Any]:
    from analysis.barbell import analyse_session

    return analyse_session(samples, exercise, load_kg, body_mass_kg=body_mass_kg, set_rest_s=set_rest_s,
                           gaps_ns=gaps_ns).to_contract()


def stored_rows(result: dict[str, Any], *, athlete: str, session_id: str, exercise: str, load_kg: float,
                started_at: datetime, anchor_t_ns: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``rep`` and ``strength_set`` rows of a session's analysis (``result``: the contract's
    ``reps`` and ``sets``; times on the capture clock, whose ``anchor_t_ns`` is ``started_at``)."""

    def utc_at(t_ns: int | None) -> datetime | None:
        return None if t_ns is None else started_at + timedelta(microseconds=(int(t_ns) - anchor_t_ns) / 1000)

    rep_cols = ("start_ns", "end_ns", "concentric_start_ns", "concentric_end_ns", "mean_velocity_mps",
                "mean_propulsive_velocity_mps", "peak_velocity_mps", "time_to_peak_velocity_s", "rom_m",
                "mean_power_w", "peak_force_n", "peak_system_force_n", "peak_rfd_n_per_s",
                "rfd_0_100ms_n_per_s", "velocity_loss_pct")
    reps = [{"athlete": athlete, "session_id": session_id, "set_index": int(r.get("set_index", 1)),
             "rep_index": int(r["index"]), "exercise": exercise, "load_kg": load_kg,
             "started_at": utc_at(r.get("start_ns")), **{c: r.get(c) for c in rep_cols}}
            for r in result["reps"]]
    sets = []
    for s in result.get("sets") or []:
        start, end = s.get("start_ns"), s.get("end_ns")
        sets.append({"athlete": athlete, "set_id": f"{session_id}:{int(s['set_index'])}", "activity_id": None,
                     "session_id": session_id, "set_index": int(s["set_index"]), "started_at": utc_at(start),
                     "exercise": exercise, "exercise_candidates": [exercise], "set_type": "active",
                     "reps": int(s["reps"]), "load_kg": load_kg,
                     "duration_s": None if start is None or end is None else (end - start) / 1e9,
                     "source": "sensor"})
    return reps, sets


class StreamSession:
    """Consumes one sensor's notifications; see the module docstring.

    Parameters
    ----------
    sensor : str or SensorProfile
        Registry name (``witmotion``, ``heart_rate``, ...) or a profile.
    db_path : path
        The main database file; the landing file goes to ``<db_path>.landing/``.
    athlete, exercise, load_kg :
        Stored with the session (the athlete slug is validated by the CLI).
    started_at : datetime
        Wall-clock anchor (UTC, aware) of capture time ``anchor_t_ns``.
    anchor_t_ns : int or None
        Capture-clock time at ``started_at``; None = the first event's ``t_ns``.
    configured_rate_hz : float or None
        Output rate configured on a fixed-rate sensor (default: the profile's).
    on_rep : callable(dict) or None
        Called with each rep's contract dict as the live detector completes it.
    vl_stop_pct, on_vl_stop :
        When a rep's ``velocity_loss_pct`` reaches ``vl_stop_pct``, ``on_vl_stop(rep)`` is called
        (once per set).
    on_message : callable(str) or None
        Progress / warnings for the user (stderr in the CLI).
    wait_s : float
        How long :meth:`close` waits for the main database before leaving the landing file.
    capture_path : path or None
        Also record everything to a capture file (``stream --record``).
    analyse, live_detector_factory :
        Seams for tests; default to ``analysis.barbell.analyse_session`` and
        ``analysis.live.LiveRepDetector``.
    """

    def __init__(
        self,
        sensor: str | SensorProfile,
        *,
        db_path: str | Path,
        athlete: str,
        exercise: str,
        load_kg: float,
        started_at: datetime,
        anchor_t_ns: int | None = None,
        device_address: str | None = None,
        device_name: str | None = None,
        configured_rate_hz: float | None = None,
        body_mass_kg: float | None = None,
        set_rest_s: float = 30.0,
        vl_stop_pct: float | None = None,
        on_rep: RepCallback | None = None,
        on_vl_stop: RepCallback | None = None,
        on_message: MessageCallback | None = None,
        wait_s: float = 30.0,
        capture_path: str | Path | None = None,
        batch_interval_ns: int = BATCH_INTERVAL_NS,
        batch_max_notifications: int = BATCH_MAX_NOTIFICATIONS,
        group_ns: int = GROUP_NS,
        analyse: Callable[..., dict[str, Any]] | None = None,
        live_detector_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.profile = sensor if isinstance(sensor, SensorProfile) else get_profile(sensor)
        if started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware (UTC)")
        if not load_kg > 0:
            raise ValueError(f"load_kg must be > 0, got {load_kg}")
        self.db_path = Path(db_path).expanduser()
        self.athlete = athlete
        self.exercise = exercise
        self.load_kg = float(load_kg)
        self.started_at = started_at.astimezone(UTC)
        self.anchor_t_ns = anchor_t_ns
        self.device_address = device_address
        self.device_name = device_name
        self.configured_rate_hz = (float(configured_rate_hz) if configured_rate_hz is not None
                                   else self.profile.default_rate_hz)
        self.body_mass_kg = body_mass_kg
        self.set_rest_s = set_rest_s
        self.vl_stop_pct = vl_stop_pct
        self.on_rep = on_rep
        self.on_vl_stop = on_vl_stop
        self.on_message = on_message
        self.wait_s = wait_s
        self.batch_interval_ns = batch_interval_ns
        self.batch_max_notifications = batch_max_notifications
        self.group_ns = group_ns
        self._analyse = analyse or _default_analyse
        self._notify_uuids = {normalize_uuid(u) for u in self.profile.notify_uuids}
        self._is_ours: dict[str, bool] = {}
        self._decoder = self.profile.make_decoder()
        self._periodic = self.profile.periodic and self.configured_rate_hz is not None
        self._online = OnlineTimebase(self.configured_rate_hz) if self._periodic else None

        self.session_id: str | None = None
        self.notifications = 0
        self.samples = 0
        self.decode_errors = 0
        self.reconnects = 0
        self.gaps: list[tuple[int, int]] = []
        self.reps_live: list[dict[str, Any]] = []
        self.landing_path: Path | None = None
        self.merged: bool | None = None
        self.merge_error: Exception | None = None
        """The ``DatabaseLockedError`` that kept :meth:`close` from merging (data safe in the landing file)."""
        self.summary: dict[str, Any] | None = None
        self._id_payloads: list[bytes] = []
        self._batch = _Batch()
        self._batch_seq = 0
        self._writer: Any = None  # the LandingWriter: created, promoted and used on the writer thread only
        self._write_pool: ThreadPoolExecutor | None = None
        self._in_flight: deque[Future] = deque()
        self._disconnected_at: int | None = None
        self._last_t: int | None = None
        self._closed = False
        # Whole-session arrays for the final analysis (fixed-rate IMU).
        # (compact: an hour at 200 Hz is 5.8 MB of arrival times and 13 MB of raw frames)
        self._arrivals = array("q")
        self._raw_bytes = bytearray()
        self._untimed: deque[DecodedChunk] = deque()  # decoded, waiting for final sample times
        self._times_ready: list[np.ndarray] = []
        self._times_ready_n = 0
        self._live_pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._deferred: list[tuple[int, str, bytes]] = []  # received, not decoded yet (see group_ns)
        self._vl_cued_sets: set[int] = set()
        self._live = None
        if self.profile.sample_table == "imu_sample" and self.configured_rate_hz:
            factory = live_detector_factory or _default_live_detector
            self._live = factory(exercise, self.load_kg, self.configured_rate_hz, body_mass_kg, set_rest_s)
        self._capture: CaptureWriter | None = None
        if capture_path is not None:
            self._capture_path = Path(capture_path)
        else:
            self._capture_path = None

    # ------------------------------------------------------------------ input
    def _anchor(self, t_ns: int) -> None:
        if self.anchor_t_ns is None:
            self.anchor_t_ns = int(t_ns)
        if self._write_pool is None:  # the first event: the pending landing file, ready for the first batch
            self._start_writer(pending_id_for(self.device_address, self.started_at))
        if self._capture_path is not None and self._capture is None:
            self._capture = CaptureWriter(self._capture_path, CaptureHeader(
                self.profile.name, self.started_at, self.device_name, self.device_address,
                self.configured_rate_hz, self.anchor_t_ns))

    def _check_time(self, t_ns: int) -> None:
        if self._closed:
            raise RuntimeError("the session is closed")
        if self._last_t is not None and t_ns < self._last_t:
            raise ValueError(f"t_ns went backwards: {t_ns} after {self._last_t} (capture clock must be monotonic)")
        self._last_t = int(t_ns)

    def on_link_event(self, t_ns: int, event: str) -> None:
        """``'connected'`` / ``'disconnected'`` on the capture clock (a reconnect closes a gap)."""
        if event not in ("connected", "disconnected"):
            raise ValueError(f"link event must be 'connected' or 'disconnected', got {event!r}")
        self._check_time(t_ns)
        self._anchor(t_ns)
        if self._capture is not None:
            self._capture.link_event(t_ns, event)
        if event == "disconnected":
            if self._disconnected_at is None:
                self._disconnected_at = int(t_ns)
            return
        if self._disconnected_at is not None:
            gap = (self._disconnected_at, int(t_ns))
            self._disconnected_at = None
            self._add_gap(gap)
            self.reconnects += 1

    def _add_gap(self, gap: tuple[int, int]) -> None:
        self._process_deferred()  # before the decoder and the timebase restart
        self.gaps.append(gap)
        self._batch.gaps.append(gap)
        self._decoder.reset()  # a frame cut by the disconnect never completes
        if self._online is not None:
            self._timed(self._online.new_segment())  # the samples before the gap get their times
        if self._live is not None and hasattr(self._live, "mark_gap"):
            self._flush_live()
            self._live.mark_gap(*gap)

    def on_notification(self, t_ns: int, char_uuid: str, data: bytes) -> None:
        """One notification payload that arrived at ``t_ns`` (capture clock)."""
        self._check_time(t_ns)
        self._anchor(t_ns)
        data = bytes(data)
        char = char_uuid.lower()
        if self._capture is not None:
            self._capture.notification(t_ns, char, data)
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
            self._name_session()
        if len(b) >= self.batch_max_notifications:
            self._close_batch()

    def _process_deferred(self) -> None:
        """Decode the notifications received since the last group, give their samples times, feed
        the live detector once (see ``group_ns``)."""
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
                if self._online is not None:
                    self._arrivals.extend([int(t_ns)] * chunk.n)
                    if chunk.raw_i16 is not None:
                        self._raw_bytes += chunk.raw_i16.astype("<i2").tobytes()
                    self._untimed.append(chunk)
                    self._timed(self._online.push(int(t_ns), chunk.n))
                else:
                    b.sample_cols.append(chunk.columns)
                    b.sample_t_ns.append(np.full(chunk.n, int(t_ns), dtype=np.int64))

    def _timed(self, times: np.ndarray) -> None:
        """Sample times became final (in order): hand their samples to the batch and the live detector."""
        if times.size:
            self._times_ready.append(times)
            self._times_ready_n += times.size
        while self._untimed and self._untimed[0].n <= self._times_ready_n:
            chunk = self._untimed.popleft()
            ready = np.concatenate(self._times_ready) if len(self._times_ready) > 1 else self._times_ready[0]
            t, rest = ready[: chunk.n], ready[chunk.n:]
            self._times_ready = [rest] if rest.size else []
            self._times_ready_n = int(rest.size)
            if chunk.raw_i16 is not None and not chunk.columns:
                self._batch.sample_raw.append(chunk.raw_i16)
            else:
                self._batch.sample_cols.append(chunk.columns)
            self._batch.sample_t_ns.append(t)
            if self._live is not None and chunk.raw_i16 is not None:
                self._live_pending.append((t, chunk.raw_i16))

    # ------------------------------------------------------------------ live reps
    def _flush_live(self) -> None:
        if not self._live_pending or self._live is None:
            return
        t = np.concatenate([p[0] for p in self._live_pending])
        raw = np.concatenate([p[1] for p in self._live_pending])
        self._live_pending.clear()
        accel, gyro, angles = raw_to_si(raw)
        for rep in self._live.push(ImuSamples(t, accel, gyro, angles)) or ():
            self._emit_rep(rep)

    def _emit_rep(self, rep: Any) -> None:
        d = rep_to_dict(rep)
        self.reps_live.append(d)
        if self.on_rep is not None:
            self.on_rep(d)
        vl = d.get("velocity_loss_pct")
        set_index = int(d.get("set_index", 1))
        if (self.vl_stop_pct is not None and vl is not None and vl >= self.vl_stop_pct
                and set_index not in self._vl_cued_sets):
            self._vl_cued_sets.add(set_index)
            if self.on_vl_stop is not None:
                self.on_vl_stop(d)

    # ------------------------------------------------------------------ storage
    def _utc_ns(self, t_capture_ns: np.ndarray) -> np.ndarray:
        return np.asarray(t_capture_ns, dtype=np.int64) - int(self.anchor_t_ns or 0) + utc_anchor_ns(self.started_at)

    def _session_row(self, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "athlete": self.athlete, "session_id": self.session_id or pending_id_for(self.device_address, self.started_at),
            "sensor": self.profile.name,
            "device_name": self.device_name, "device_address": self.device_address,
            "started_at": self.started_at, "anchor_t_ns": int(self.anchor_t_ns or 0),
            "configured_rate_hz": self.configured_rate_hz, "exercise": self.exercise,
            "load_kg": self.load_kg, "notifications": self.notifications, "samples": self.samples,
            "reconnects": self.reconnects, "status": status, **extra,
        }

    def _start_writer(self, landing_id: str) -> None:
        """Start the writer thread and open the landing file ``landing_id`` (pending or real) on it.

        Commits run on one writer thread, in order: DuckDB releases the GIL while it works, so a
        slow commit (an automatic WAL checkpoint: ~0.1 s, 1-4 s before landing files were
        uncompressed) never stalls the event loop, the BLE host sharing it, or the live rep feedback.
        """
        from store.landing import landing_path

        self._write_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runstrong-landing")
        self.landing_path = landing_path(self.db_path, self.athlete, landing_id)
        self._submit(self._open_writer, landing_id, self._session_row("open"))

    def _open_writer(self, landing_id: str, row: dict[str, Any]) -> None:  # on the writer thread
        from store.landing import LandingWriter

        self._writer = LandingWriter(self.db_path, landing_id, row)

    def _promote_writer(self, session_id: str, row: dict[str, Any]) -> None:  # on the writer thread
        self._writer = self._writer.promote(session_id, row)

    def _name_session(self) -> None:
        from store.landing import landing_path

        self.session_id = session_id_for(self.device_address, self.started_at, self._id_payloads)
        if self._write_pool is None:
            self._start_writer(self.session_id)
        else:
            self.landing_path = landing_path(self.db_path, self.athlete, self.session_id)
            self._submit(self._promote_writer, self.session_id, self._session_row("open"))

    def _close_batch(self) -> None:
        self._process_deferred()  # the batch's own notifications first
        batch, self._batch = self._batch, _Batch()
        if not len(batch) and not batch.gaps:
            return
        seq = self._batch_seq
        self._batch_seq += 1
        self._write(seq, batch)

    def _write(self, seq: int, batch: _Batch) -> None:
        frames = {"seq": np.asarray(batch.seq, dtype=np.int64), "t_ns": np.asarray(batch.t_ns, dtype=np.int64),
                  "char": batch.char, "payload": batch.payload}
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
        self._submit(self._write_on_thread, seq, frames, samples, list(batch.gaps))

    def _write_on_thread(self, seq: int, frames: dict[str, Any], samples: dict[str, dict[str, Any]],
                         gaps: list[tuple[int, int]]) -> None:
        self._writer.write_batch(seq, frames, samples, gaps)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue ``fn(*args)`` on the writer thread (after everything queued before it)."""
        assert self._write_pool is not None
        self._in_flight.append(self._write_pool.submit(fn, *args))
        self._reap_writes(wait_for=len(self._in_flight) - MAX_WRITES_IN_FLIGHT)

    def _reap_writes(self, wait_for: int = 0) -> None:
        """Collect finished commits (re-raising a failed one here); first wait for the oldest
        ``wait_for`` of them (back-pressure when the disk falls behind, everything at the end)."""
        while self._in_flight and (wait_for > 0 or self._in_flight[0].done()):
            self._in_flight.popleft().result()
            wait_for -= 1

    # ------------------------------------------------------------------ end
    def abort(self) -> None:
        """Stop after an error, without the final analysis or the merge: the writer thread runs
        what is queued (a failing commit is dropped), the landing file and the capture are closed.
        What was committed stays in the landing file for the next ``merge_pending`` (status
        ``recovered``). Does nothing after a :meth:`close` that completed."""
        if self.summary is not None:
            return
        self._closed = True
        if self._write_pool is not None:
            self._write_pool.submit(self._close_writer_quietly)
            self._write_pool.shutdown(wait=True)
            self._write_pool = None
        else:
            self._close_writer_quietly()
        self._in_flight.clear()
        if self._capture is not None:
            self._capture.close()

    def _close_writer_quietly(self) -> None:  # on the writer thread, last
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()

    @property
    def commit_seconds(self) -> list[float]:
        return list(self._writer.commit_seconds) if self._writer is not None else []

    def close(self, end_t_ns: int | None = None) -> dict[str, Any]:
        """Finish: final batch, whole-session analysis, merge if the main DB is free; the summary.

        ``end_t_ns`` (capture clock) only anchors a session that saw no event at all; everything
        else ends at the last event, exactly as the replay of the session's capture does.
        """
        if self._closed:
            assert self.summary is not None
            return self.summary
        self._process_deferred()
        if self._disconnected_at is not None:  # ended without the link coming back
            # The gap ends at the last event (not at end_t_ns) so that the replay of the capture,
            # which ends there too, gives the same session.
            gap = (self._disconnected_at, max(self._disconnected_at, int(self._last_t or 0)))
            self._disconnected_at = None
            self.gaps.append(gap)
            self._batch.gaps.append(gap)
        if self._online is not None:
            self._timed(self._online.flush())
        self._flush_live()
        if self._live is not None and hasattr(self._live, "finish"):
            for rep in self._live.finish() or ():
                self._emit_rep(rep)
        self._close_batch()
        if self._anchor_missing():
            self.anchor_t_ns = int(end_t_ns or 0)
        if self.session_id is None:
            self._name_session()
        self._closed = True
        if self._capture is not None:
            self._capture.close()

        stream, result = self._final_analysis()
        reps_rows, set_rows = self._rows(result)
        ended_at = self.started_at + timedelta(
            microseconds=((self._last_t or int(self.anchor_t_ns or 0)) - int(self.anchor_t_ns or 0)) / 1000)
        row = self._session_row("complete", sample_rate_hz=stream["sample_rate_hz"],
                                lost_samples=stream["lost_samples"], ended_at=ended_at)
        self._reap_writes(wait_for=len(self._in_flight))
        if self._write_pool is not None:
            self._write_pool.shutdown()
            self._write_pool = None
        self._writer.finish(row, reps_rows, set_rows)
        self._writer.close()
        self.merged = self._try_merge()
        summary = {
            "session_id": self.session_id, "exercise": self.exercise, "load_kg": self.load_kg,
            "sensor": self.profile.name, "sample_rate_hz": stream["sample_rate_hz"],
            **result,
            "stream": {"notifications": self.notifications, "samples": self.samples,
                       "lost_samples": stream["lost_samples"], "reconnects": self.reconnects,
                       "gaps": [{"start_ns": int(a), "end_ns": int(b)} for a, b in self.gaps]},
        }
        self.summary = summary
        return summary

    def _anchor_missing(self) -> bool:
        return self.anchor_t_ns is None

    def _final_analysis(self) -> tuple[dict[str, Any], dict[str, Any]]:
        empty = {"reps": [], "set": {"reps": 0, "best_mean_velocity_mps": 0.0, "velocity_loss_pct": 0.0},
                 "sets": []}
        if not self._periodic:
            span_s = ((self._last_t or 0) - int(self.anchor_t_ns or 0)) / 1e9
            rate = self.samples / span_s if span_s > 0 and self.samples else 0.0
            return {"sample_rate_hz": rate, "lost_samples": 0}, empty
        arrivals = np.frombuffer(self._arrivals, dtype=np.int64).copy()
        if arrivals.size < 2:
            return {"sample_rate_hz": float(self.configured_rate_hz or 0.0), "lost_samples": 0}, empty
        tb = reconstruct_sample_times(arrivals, float(self.configured_rate_hz or 0.0), self.gaps)
        stream = {"sample_rate_hz": float(tb.rate_hz), "lost_samples": int(tb.lost_samples)}
        if not self._raw_bytes or self.profile.sample_table != "imu_sample":
            return stream, empty
        raw = np.frombuffer(bytes(self._raw_bytes), dtype="<i2").reshape(-1, 9).astype(np.int16)
        accel, gyro, angles = raw_to_si(raw)
        samples = ImuSamples(tb.t_ns, accel, gyro, angles)
        result = self._analyse(samples, self.exercise, self.load_kg, body_mass_kg=self.body_mass_kg,
                               set_rest_s=self.set_rest_s, gaps_ns=list(self.gaps))
        out = dict(empty)
        out.update({k: result[k] for k in ("reps", "set", "sets") if k in result})
        out["reps"] = [rep_to_dict(r) for r in out["reps"]]
        return stream, out

    def _rows(self, result: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return stored_rows(result, athlete=self.athlete, session_id=str(self.session_id), exercise=self.exercise,
                           load_kg=self.load_kg, started_at=self.started_at, anchor_t_ns=int(self.anchor_t_ns or 0))

    def _try_merge(self) -> bool:
        from store.connection import DatabaseLockedError, open_store
        from store.landing import merge_landing

        try:
            con = open_store(self.db_path, wait_s=self.wait_s, on_wait=self.on_message)
        except DatabaseLockedError as exc:
            self.merge_error = exc
            if self.on_message is not None:
                self.on_message(f"{exc} The session stays in {self.landing_path} and is merged by the next "
                                "runstrong command that opens the database.")
            return False
        try:
            merge_landing(con, self.landing_path)
        finally:
            con.close()
        return True


async def consume(queue: asyncio.Queue, session: StreamSession, *, close: bool = True) -> dict[str, Any] | None:
    """Feed ``session`` from ``queue`` until a ``None`` item; then close it (returns the summary).

    Items are ``(t_ns, char_uuid, payload)`` or ``(t_ns, LINK_EVENT, "connected"|"disconnected")``.
    Storage work runs in this task, never in the BLE callback.
    """
    try:
        while True:
            item = await queue.get()
            try:
                if item is None:
                    break
                t_ns, kind, payload = item
                if kind == LINK_EVENT:
                    session.on_link_event(t_ns, payload)
                else:
                    session.on_notification(t_ns, kind, payload)
            finally:
                queue.task_done()
    except BaseException:
        session.abort()  # e.g. a landing commit failed: release the writer thread and the file
        raise
    return session.close() if close else None
