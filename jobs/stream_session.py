"""The live stream of one sensor: assembler -> landing sink, live rep detector, finish.

One :class:`StreamSession` per connection session (reconnects included). The BLE callback only
enqueues ``(t_ns, char_uuid, payload)``; the consumer task (:func:`consume`) feeds this class,
which composes three parts:

* the sans-IO :class:`~ingest.ble.assembler.SessionAssembler` decodes the notifications, gives
  the samples their times and cuts the storage batches (see its module docstring);
* the :class:`~store.landing_sink.LandingSink` commits each batch to the session's landing file
  on one writer thread (back-pressure at 50 batches in flight), pending until the session id is
  known, then under ``<session_id>.duckdb`` (``store.landing``): every batch is durable from the
  first one on;
* the live rep detector (:class:`analysis.live.LiveRepDetector`) gets the IMU samples once per
  decoding group and reports each rep as it completes (``on_rep``; ``on_vl_stop`` once per set
  when velocity loss reaches ``vl_stop_pct``);

and, on :meth:`close`, the finish job (:mod:`jobs.stream_finish`): the whole-session analysis,
the reps and sets stored, the merge into the main database if it is free within ``wait_s`` (else
the landing file waits for the next process), and the ``replay`` JSON document plus a
``"stream"`` block.

Times: ``t_ns`` handed in is the capture clock (``time.monotonic_ns()`` live); stored sample rows
carry UTC ``t_ns = started_at + (t - anchor_t_ns)``; reps, gaps and the JSON keep the capture clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.ble.assembler import (
    BATCH_INTERVAL_NS,
    BATCH_MAX_NOTIFICATIONS,
    GROUP_NS,
    BatchReady,
    Event,
    GapMarked,
    LiveSamples,
    Named,
    Opened,
    SessionAssembler,
)
from ingest.ble.capture import CaptureHeader, CaptureWriter
from ingest.ble.client import LINK_EVENT
from ingest.ble.protocols.base import SensorProfile
from ingest.ble.protocols.registry import get_profile
from jobs import stream_finish
from store.landing_sink import LandingSink

__all__ = ["LINK_EVENT", "StreamSession", "consume"]

RepCallback = Callable[[dict[str, Any]], None]
MessageCallback = Callable[[str], None]

if TYPE_CHECKING:
    from store.lake import LakeConfig


def _default_live_detector(
    exercise: str, load_kg: float, rate_hz: float, body_mass_kg: float | None, set_rest_s: float
) -> Any:
    from analysis.live import LiveRepDetector

    return LiveRepDetector(exercise, load_kg, rate_hz, body_mass_kg=body_mass_kg, set_rest_s=set_rest_s)


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
    device_address, device_name :
        The sensor's; the address is part of the session id.
    configured_rate_hz : float or None
        Output rate configured on a fixed-rate sensor (default: the profile's).
    body_mass_kg, set_rest_s :
        For the rep analysis (system force; rest that separates sets).
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
    batch_interval_ns, batch_max_notifications, group_ns :
        The assembler's batch and decoding-group bounds.
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
        lake: LakeConfig | None = None,
        capture_path: str | Path | None = None,
        batch_interval_ns: int = BATCH_INTERVAL_NS,
        batch_max_notifications: int = BATCH_MAX_NOTIFICATIONS,
        group_ns: int = GROUP_NS,
        analyse: stream_finish.Analyse | None = None,
        live_detector_factory: Callable[..., Any] | None = None,
    ) -> None:
        profile = sensor if isinstance(sensor, SensorProfile) else get_profile(sensor)
        if not load_kg > 0:
            raise ValueError(f"load_kg must be > 0, got {load_kg}")
        self.assembler = SessionAssembler(
            profile,
            started_at=started_at,
            anchor_t_ns=anchor_t_ns,
            device_address=device_address,
            configured_rate_hz=configured_rate_hz,
            batch_interval_ns=batch_interval_ns,
            batch_max_notifications=batch_max_notifications,
            group_ns=group_ns,
        )
        self.athlete = athlete
        self.exercise = exercise
        self.load_kg = float(load_kg)
        self.device_name = device_name
        self.body_mass_kg = body_mass_kg
        self.set_rest_s = set_rest_s
        self.vl_stop_pct = vl_stop_pct
        self.on_rep = on_rep
        self.on_vl_stop = on_vl_stop
        self.on_message = on_message
        self.wait_s = wait_s
        self.lake = lake  # a store.lake.LakeConfig: the session merges into the lake (landing file local)
        self.db_path = Path(db_path).expanduser()
        self.sink = LandingSink(self.db_path, athlete)
        self.reps_live: list[dict[str, Any]] = []
        self.merged: bool | None = None
        self.merge_error: Exception | None = None
        """The ``DatabaseLockedError`` that kept :meth:`close` from merging (data safe in the landing file)."""
        self.summary: dict[str, Any] | None = None
        self._analyse = analyse
        self._vl_cued_sets: set[int] = set()
        self._closed = False
        self._live = None
        rate_hz = self.assembler.configured_rate_hz
        if self.assembler.live and rate_hz is not None:
            factory = live_detector_factory or _default_live_detector
            self._live = factory(exercise, self.load_kg, rate_hz, body_mass_kg, set_rest_s)
        self._capture_path = Path(capture_path) if capture_path is not None else None
        self._capture: CaptureWriter | None = None

    # ------------------------------------------------------------------ what the assembler knows
    @property
    def profile(self) -> SensorProfile:
        return self.assembler.profile

    @property
    def started_at(self) -> datetime:
        return self.assembler.started_at

    @property
    def session_id(self) -> str | None:
        return self.assembler.session_id

    @property
    def notifications(self) -> int:
        return self.assembler.notifications

    @property
    def samples(self) -> int:
        return self.assembler.samples

    @property
    def decode_errors(self) -> int:
        return self.assembler.decode_errors

    @property
    def reconnects(self) -> int:
        return self.assembler.reconnects

    @property
    def gaps(self) -> list[tuple[int, int]]:
        return self.assembler.gaps

    @property
    def landing_path(self) -> Path | None:
        return self.sink.path

    @property
    def commit_seconds(self) -> list[float]:
        return self.sink.commit_seconds

    # ------------------------------------------------------------------ input
    def on_link_event(self, t_ns: int, event: str) -> None:
        """``'connected'`` / ``'disconnected'`` on the capture clock (a reconnect closes a gap)."""
        self._check_open()
        events = self.assembler.on_link_event(t_ns, event)
        self._record(events)
        if self._capture is not None:
            self._capture.link_event(t_ns, event)
        self._handle(events)

    def on_notification(self, t_ns: int, char_uuid: str, data: bytes) -> None:
        """One notification payload that arrived at ``t_ns`` (capture clock)."""
        self._check_open()
        events = self.assembler.on_notification(t_ns, char_uuid, data)
        self._record(events)
        if self._capture is not None:
            self._capture.notification(t_ns, char_uuid.lower(), bytes(data))
        self._handle(events)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the session is closed")

    def _record(self, events: list[Event]) -> None:
        """Open the capture file at the session's first event (its header needs the anchor)."""
        if self._capture_path is None or self._capture is not None:
            return
        for ev in events:
            if isinstance(ev, Opened):
                a = self.assembler
                self._capture = CaptureWriter(
                    self._capture_path,
                    CaptureHeader(
                        a.profile.name,
                        a.started_at,
                        self.device_name,
                        a.device_address,
                        a.configured_rate_hz,
                        ev.anchor_t_ns,
                    ),
                )

    def _handle(self, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, LiveSamples):
                if self._live is not None:
                    for rep in self._live.push(ev.samples) or ():
                        self._emit_rep(rep)
            elif isinstance(ev, BatchReady):
                self.sink.write(ev.seq, ev.frames, ev.samples, ev.gaps)
            elif isinstance(ev, GapMarked):
                if self._live is not None and hasattr(self._live, "mark_gap"):
                    self._live.mark_gap(ev.start_ns, ev.end_ns)
            elif isinstance(ev, Opened):
                self.sink.open(ev.pending_id, self._session_row("open"))
            elif isinstance(ev, Named):
                self.sink.name(ev.session_id, self._session_row("open"))

    def _emit_rep(self, rep: Any) -> None:
        d = stream_finish.rep_to_dict(rep)
        self.reps_live.append(d)
        if self.on_rep is not None:
            self.on_rep(d)
        vl = d.get("velocity_loss_pct")
        set_index = int(d.get("set_index", 1))
        if (
            self.vl_stop_pct is not None
            and vl is not None
            and vl >= self.vl_stop_pct
            and set_index not in self._vl_cued_sets
        ):
            self._vl_cued_sets.add(set_index)
            if self.on_vl_stop is not None:
                self.on_vl_stop(d)

    def _session_row(self, status: str, **extra: Any) -> dict[str, Any]:
        a = self.assembler
        return {
            "athlete": self.athlete,
            "session_id": a.session_id or a.pending_id,
            "sensor": a.profile.name,
            "device_name": self.device_name,
            "device_address": a.device_address,
            "started_at": a.started_at,
            "anchor_t_ns": int(a.anchor_t_ns or 0),
            "configured_rate_hz": a.configured_rate_hz,
            "exercise": self.exercise,
            "load_kg": self.load_kg,
            "body_mass_kg": self.body_mass_kg,
            "notifications": a.notifications,
            "samples": a.samples,
            "reconnects": a.reconnects,
            "status": status,
            **extra,
        }

    # ------------------------------------------------------------------ end
    def abort(self) -> None:
        """Stop after an error, without the final analysis or the merge: the writer thread runs
        what is queued (a failing commit is dropped), the landing file and the capture are closed.
        What was committed stays in the landing file for the next ``merge_pending`` (status
        ``recovered``). Does nothing after a :meth:`close` that completed."""
        if self.summary is not None:
            return
        self._closed = True
        self.sink.abort()
        if self._capture is not None:
            self._capture.close()

    def close(self, end_t_ns: int | None = None) -> dict[str, Any]:
        """Finish: final batch, whole-session analysis, merge if the main DB is free; the summary.

        ``end_t_ns`` (capture clock) only anchors a session that saw no event at all; everything
        else ends at the last event, exactly as the replay of the session's capture does.
        """
        if self._closed:
            if self.summary is None:
                raise RuntimeError("the session was aborted")
            return self.summary
        a = self.assembler
        self._handle(a.finish(end_t_ns))
        if self._live is not None and hasattr(self._live, "finish"):
            for rep in self._live.finish() or ():
                self._emit_rep(rep)
        self._closed = True
        if self._capture is not None:
            self._capture.close()

        whole = a.whole_session()
        result = stream_finish.whole_session_result(
            whole.samples,
            self.exercise,
            self.load_kg,
            body_mass_kg=self.body_mass_kg,
            set_rest_s=self.set_rest_s,
            gaps_ns=whole.gaps,
            analyse=self._analyse,
        )
        session_id = str(a.session_id)
        reps, sets = stream_finish.session_rows(
            result,
            session_id=session_id,
            exercise=self.exercise,
            load_kg=self.load_kg,
            started_at=a.started_at,
            anchor_t_ns=int(a.anchor_t_ns or 0),
        )
        row = self._session_row(
            "complete",
            sample_rate_hz=whole.sample_rate_hz,
            lost_samples=whole.lost_samples,
            ended_at=a.ended_at,
            analysis_method=stream_finish.analysis_method(whole.samples),
        )
        self.sink.finish(row, reps, sets)
        assert self.sink.path is not None
        self.merge_error = stream_finish.merge_landed_session(
            self.db_path, self.sink.path, wait_s=self.wait_s, on_message=self.on_message, lake=self.lake
        )
        self.merged = self.merge_error is None
        summary = stream_finish.summary_document(
            session_id=session_id,
            exercise=self.exercise,
            load_kg=self.load_kg,
            sensor=a.profile.name,
            sample_rate_hz=whole.sample_rate_hz,
            result=result,
            notifications=a.notifications,
            samples=a.samples,
            lost_samples=whole.lost_samples,
            reconnects=a.reconnects,
            gaps=whole.gaps,
        )
        self.summary = summary
        return summary


async def consume(queue: asyncio.Queue[Any], session: StreamSession, *, close: bool = True) -> dict[str, Any] | None:
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
