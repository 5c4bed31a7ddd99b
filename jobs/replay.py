"""``replay``: push a recorded capture through exactly the live path (:class:`jobs.stream_session.StreamSession`).

The capture's header gives the sensor, device, configured rate and the wall-clock anchor; every
notification and link event is fed to a :class:`StreamSession` in file order, so decoding, sample
times, live rep detection, batching, the session id and storage are the ones a live stream gets.
Replaying the same capture twice stores it once (same session id, same batches, ledger).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.ble.capture import LinkEvent, Notification, read_capture
from ingest.progress import ProgressFn
from jobs.stream_session import StreamSession

#: records between two progress callbacks (a capture holds ~200 notifications per second of lifting)
PROGRESS_EVERY = 256


def replay_capture(
    capture_path: str | Path,
    *,
    db_path: str | Path,
    athlete: str,
    exercise: str,
    load_kg: float,
    athlete_mass_kg: float | None = None,
    wait_s: float = 30.0,
    on_rep: Callable[[dict[str, Any]], None] | None = None,
    on_message: Callable[[str], None] | None = None,
    set_rest_s: float = 30.0,
    raise_if_locked: bool = False,
    progress: ProgressFn | None = None,
    **session_kwargs: Any,
) -> dict[str, Any]:
    """Replay ``capture_path`` into the store at ``db_path``; return the ``replay`` JSON document.

    Raises :class:`ingest.ble.capture.CaptureFormatError` (a ValueError naming the line) for a
    malformed capture. If the main database stays locked for ``wait_s`` the session is left in its
    landing file (merged by the next command that opens the database, reported through
    ``on_message``) and the document is returned, unless ``raise_if_locked``: then the
    ``store.connection.DatabaseLockedError`` is raised after the landing file is complete (the CLI
    maps it to exit code 3). ``progress(done, total)`` is called every :data:`PROGRESS_EVERY` records
    and once the session is stored.
    """
    cap = read_capture(capture_path)
    if cap.truncated and on_message is not None:
        on_message(f"{capture_path}: the capture ends mid-line (its writer was stopped); replaying what is complete")
    h = cap.header
    session = StreamSession(
        h.sensor, db_path=db_path, athlete=athlete, exercise=exercise, load_kg=load_kg,
        started_at=h.started_at, anchor_t_ns=cap.anchor_t_ns, device_address=h.device_address,
        device_name=h.device_name, configured_rate_hz=h.configured_rate_hz, body_mass_kg=athlete_mass_kg,
        set_rest_s=set_rest_s, on_rep=on_rep, on_message=on_message, wait_s=wait_s, **session_kwargs)
    total = len(cap.records)
    try:
        for i, rec in enumerate(cap.records):
            if isinstance(rec, Notification):
                session.on_notification(rec.t_ns, rec.char, rec.data)
            elif isinstance(rec, LinkEvent):
                session.on_link_event(rec.t_ns, rec.event)
            if progress is not None and i % PROGRESS_EVERY == 0:
                progress(i, total)
    except BaseException:
        session.abort()
        raise
    end = cap.records[-1].t_ns if cap.records else None
    doc = session.close(end)
    if progress is not None:
        progress(total, total)
    if raise_if_locked and session.merge_error is not None:
        raise session.merge_error
    return doc
