"""``replay``: a recorded capture decoded, timed, analysed and stored as one batch job.

The live path handles a stream notification by notification because it must answer within a
rep; a replay has the whole capture, so it does the same work once, on arrays
(docs/streaming.md, "Batch replay"):

1. read and validate the whole capture in bounded chunks (:func:`ingest.ble.capture_arrays.read_capture_arrays`:
   a malformed capture is refused before anything is written);
2. decode it with the sensor's decoder and reconstruct the sample times over the whole session
   with the live finish's own timebase call (:func:`ingest.ble.whole_capture.assemble_whole`);
3. run the live finish's whole-session analysis (:func:`jobs.stream_finish.whole_session_result`,
   i.e. :func:`analysis.barbell.analyse_session`) and build its rep and set rows; the SI samples
   are dropped after it (the stored sample rows are computed again from the raw frames, chunk by
   chunk);
4. write the session to the main database once, columnar, in a few large transactions
   (:mod:`store.session_writer`): the raw frames, samples, gaps and the live batch ledger, then
   the session row, reps and sets. The landing-file path is for live streams only.

Identity and idempotency are the live ones: the session id is the live session's
(:mod:`records.identity`), and the ledger's batches are the live batches, so replaying twice
stores once and a replay completes a live session cut off by a crash. The document returned is
the one the live session returned for the same capture (same reps, bounds and metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.ble.capture_arrays import read_capture_arrays
from ingest.ble.protocols.registry import get_profile
from ingest.ble.whole_capture import LinkEvents, Notifications, WholeCapture, assemble_whole
from ingest.progress import ProgressFn
from jobs import stream_finish
from jobs.memory import release_freed_memory
from store.connection import Connection, open_store
from store.lake import LakeConfig
from store.session_writer import finish_session, write_session_raw


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
    progress: ProgressFn | None = None,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """Replay ``capture_path`` into the store at ``db_path``; return the ``replay`` JSON document
    (with its ``stream`` block).

    Raises :class:`ingest.ble.capture.CaptureFormatError` (a ValueError naming the line) for a
    malformed capture, before anything is written. If the main database stays locked for
    ``wait_s``, ``store.connection.DatabaseLockedError`` is raised and nothing is stored (the CLI
    exits with code 3; the capture is the copy: replay it again). ``on_rep`` hears of each
    rep once the session is stored; ``progress(done, total)`` of the kilobytes of the file read,
    and once more when the session is stored. With ``lake``, the session goes to that DuckLake
    (``store.lake``) instead of ``db_path``.
    """
    if not load_kg > 0:
        raise ValueError(f"load_kg must be > 0, got {load_kg}")
    path = Path(capture_path)
    size_kb = max(1, -(-path.stat().st_size // 1000)) if path.exists() else 1

    def read_progress(done: int, total: int) -> None:
        if progress is not None:
            progress(min(size_kb, done // 1000), size_kb)

    arrays = read_capture_arrays(path, progress=read_progress if progress is not None else None)
    if arrays.truncated and on_message is not None:
        on_message(f"{capture_path}: the capture ends mid-line (its writer was stopped); replaying what is complete")
    h = arrays.header
    whole = assemble_whole(
        get_profile(h.sensor),
        Notifications(arrays.t_ns, arrays.char_code, arrays.chars, arrays.payload, arrays.offsets),
        LinkEvents(arrays.link_t_ns, arrays.link_events, arrays.link_position),
        started_at=h.started_at,
        anchor_t_ns=arrays.anchor_t_ns,
        device_address=h.device_address,
        configured_rate_hz=h.configured_rate_hz,
    )
    del arrays
    release_freed_memory()  # the reader's chunk buffers, before the analysis' peak
    ws = whole.whole_session()
    result = stream_finish.whole_session_result(
        ws.samples, exercise, float(load_kg), body_mass_kg=athlete_mass_kg, set_rest_s=set_rest_s, gaps_ns=ws.gaps
    )
    row = session_row(
        whole,
        exercise=exercise,
        load_kg=float(load_kg),
        body_mass_kg=athlete_mass_kg,
        device_name=h.device_name,
        analysis_method=stream_finish.analysis_method(ws.samples),
    )
    del ws  # the SI samples: the stored rows are computed from the raw frames, chunk by chunk
    reps, sets = stream_finish.session_rows(
        result,
        session_id=whole.session_id,
        exercise=exercise,
        load_kg=float(load_kg),
        started_at=whole.started_at,
        anchor_t_ns=whole.anchor_t_ns,
    )
    con = open_store(db_path, wait_s=wait_s, on_wait=on_message, lake=lake)
    try:
        written = write_session_raw(con, athlete, row, whole, sample_table=whole.profile.sample_table)
        if not written.beyond:
            finish_session(con, athlete, row, reps, sets)
        else:
            _analyse_as_stored(con, athlete, whole.session_id, written.beyond, capture_path, on_message)
    finally:
        con.close()
    if progress is not None:
        progress(size_kb, size_kb)
    doc = stream_finish.summary_document(
        session_id=whole.session_id,
        exercise=exercise,
        load_kg=float(load_kg),
        sensor=whole.profile.name,
        sample_rate_hz=whole.sample_rate_hz,
        result=result,
        notifications=whole.notifications,
        samples=whole.samples,
        lost_samples=whole.lost_samples,
        reconnects=whole.reconnects,
        gaps=whole.gaps,
    )
    if on_rep is not None:
        for rep in doc["reps"]:
            on_rep(rep)
    return doc


def _analyse_as_stored(
    con: Connection,
    athlete: str,
    session_id: str,
    beyond: int,
    capture_path: str | Path,
    on_message: Callable[[str], None] | None,
) -> None:
    """The store holds more of the session than the capture (the capture lost its end to a crash
    its landing file survived): the stored session is analysed whole, from its stored frames (the
    capture's missing batches were added); the replay's document still describes the capture."""
    from jobs.reanalyse import reanalyse_session
    from store.streams import stored_session

    found = stored_session(con, athlete, session_id)
    if found is not None and found.exercise and found.load_kg:
        reanalyse_session(con, found)
    if on_message is not None:
        on_message(
            f"{capture_path}: the store holds {beyond} more batch(es) of session {session_id} than this "
            "capture; the stored session keeps them and was analysed whole (the JSON describes the capture)"
        )


def session_row(
    whole: WholeCapture,
    *,
    exercise: str,
    load_kg: float,
    body_mass_kg: float | None,
    device_name: str | None,
    analysis_method: str | None,
) -> dict[str, Any]:
    """The ``stream_session`` row of an assembled and analysed session (status ``complete``)."""
    return {
        "session_id": whole.session_id,
        "sensor": whole.profile.name,
        "device_name": device_name,
        "device_address": whole.device_address,
        "started_at": whole.started_at,
        "anchor_t_ns": whole.anchor_t_ns,
        "configured_rate_hz": whole.configured_rate_hz,
        "sample_rate_hz": whole.sample_rate_hz,
        "exercise": exercise,
        "load_kg": load_kg,
        "body_mass_kg": body_mass_kg,
        "notifications": whole.notifications,
        "samples": whole.samples,
        "lost_samples": whole.lost_samples,
        "reconnects": whole.reconnects,
        "ended_at": whole.ended_at,
        "status": "complete",
        "analysis_method": analysis_method,
    }
