"""``reanalyse``: the whole-session analysis re-run on every stored sensor session (after a method change).

For each stored IMU session (``stream_session`` of a sensor whose samples are periodic IMU
frames: WitMotion), of one athlete or of everyone:

1. the raw notifications are read back from the store (``ble_frame``, kept for this: docs/design.md
   section 3) with the session's gaps, and decoded and timed exactly as a batch replay does
   (:func:`ingest.ble.whole_capture.assemble_whole`: the live decoders, the whole-session
   timebase); a session whose frames are gone is analysed from its stored samples;
2. :func:`analysis.barbell.analyse_session` runs with the session's exercise, load and body mass
   (the one it was analysed with, else the athlete profile's);
3. one transaction per session replaces its reps and sets, and records the analysis method
   version (:data:`analysis.version.BAR_VELOCITY_METHOD_VERSION`), the fitted rate and the lost
   samples on the session row.

User corrections (``set_correction``: a set's exercise) live apart from the sets and are kept; a
correction whose set the new analysis no longer finds (fewer sets) stays, and is counted in
``orphaned_corrections``. Landing files left by streams are merged first, as every command that
writes does. A session the analysis refuses is reported and left as it was (exit code 1).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.ble.protocols.registry import get_profile, profile_names
from ingest.ble.whole_capture import LinkEvents, Notifications, assemble_whole
from ingest.progress import ProgressFn
from jobs import stream_finish
from jobs.recovery import merge_and_analyse
from records.imu import ImuSamples
from records.times import utc_anchor_ns
from store import streams
from store.athletes import get_profile as athlete_profile
from store.athletes import validate_slug
from store.connection import Connection, open_store
from store.lake import LakeConfig


def imu_sensors() -> list[str]:
    """Sensors whose sessions the bar-velocity analysis reads (periodic IMU frames)."""
    return [n for n in profile_names() if get_profile(n).periodic and get_profile(n).sample_table == "imu_sample"]


def reanalyse(
    db_path: str | Path,
    *,
    athlete: str | None = None,
    wait_s: float = 30.0,
    on_message: Callable[[str], None] | None = None,
    progress: ProgressFn | None = None,
    set_rest_s: float = 30.0,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """Re-run the analysis of every stored sensor session (of ``athlete``, or of everyone); return
    the ``reanalyse`` JSON document (docs/cli.md): ``sessions``, ``reps_before``, ``reps_after``,
    ``method_version``, plus ``failed`` (``[{"athlete", "session_id", "error"}]``), ``skipped``
    (sessions without an exercise or a load) and ``orphaned_corrections``."""
    from analysis.version import BAR_VELOCITY_METHOD_VERSION

    if athlete is not None:
        validate_slug(athlete)
    con = open_store(db_path, wait_s=wait_s, on_wait=on_message, lake=lake)
    try:
        merged = merge_and_analyse(con, Path(db_path))
        if merged and on_message is not None:
            on_message(f"merged {len(merged)} streamed session(s) from landing files")
        sessions = streams.sensor_sessions(con, imu_sensors(), athlete)
        before = streams.rep_count(con, sessions)
        done, skipped, orphaned = 0, 0, 0
        failed: list[dict[str, str]] = []
        if progress is not None:
            progress(0, len(sessions))
        for i, s in enumerate(sessions, start=1):
            if not s.exercise or not s.load_kg:
                skipped += 1
            else:
                try:
                    reanalyse_session(con, s, set_rest_s=set_rest_s)
                except ValueError as exc:
                    failed.append({"athlete": s.athlete, "session_id": s.session_id, "error": str(exc)})
                    if on_message is not None:
                        on_message(f"stream session {s.session_id} ({s.athlete}): not re-analysed: {exc}")
                else:
                    done += 1
                    orphaned += streams.orphaned_corrections(con, s.athlete, s.session_id)
            if progress is not None:
                progress(i, len(sessions))
        after = streams.rep_count(con, sessions)
    finally:
        con.close()
    return {
        "sessions": done,
        "reps_before": before,
        "reps_after": after,
        "method_version": BAR_VELOCITY_METHOD_VERSION,
        "failed": failed,
        "skipped": skipped,
        "orphaned_corrections": orphaned,
    }


def reanalyse_session(con: Connection, s: streams.StoredSession, *, set_rest_s: float = 30.0) -> int:
    """Re-analyse one stored session from what the store holds of it; returns its reps."""
    assert s.exercise is not None and s.load_kg is not None
    frames = streams.session_frames(con, s.athlete, s.session_id)
    gaps = streams.gaps(con, s.athlete, s.session_id)
    values: dict[str, Any] = {}
    if len(frames):
        notes = Notifications(
            frames.t_ns, frames.char.codes, frames.char.values, frames.payload.data, frames.payload.offsets
        )
        whole = assemble_whole(
            get_profile(s.sensor),
            notes,
            LinkEvents.from_gaps(gaps, frames.t_ns),
            started_at=s.started_at,
            anchor_t_ns=s.anchor_t_ns,
            device_address=s.device_address,
            configured_rate_hz=s.configured_rate_hz,
        )
        ws = whole.whole_session()
        samples, gaps = ws.samples, ws.gaps
        values.update(sample_rate_hz=ws.sample_rate_hz, lost_samples=ws.lost_samples)
    else:  # no raw frames (not kept by whatever stored it): the stored samples, as recovery reads them
        stored = streams.imu_samples(con, s.athlete, s.session_id)
        samples = None
        if len(stored) >= 2:
            t_capture = stored.t_ns - utc_anchor_ns(s.started_at) + s.anchor_t_ns
            samples = ImuSamples(t_capture, stored.accel_mps2, stored.gyro_radps, stored.angles_rad)
    mass = s.body_mass_kg
    if mass is None:
        prof = athlete_profile(con, s.athlete)
        mass = prof.body_mass_kg if prof else None
    result = stream_finish.whole_session_result(
        samples, s.exercise, s.load_kg, body_mass_kg=mass, set_rest_s=set_rest_s, gaps_ns=list(gaps)
    )
    reps, sets = stream_finish.session_rows(
        result,
        session_id=s.session_id,
        exercise=s.exercise,
        load_kg=s.load_kg,
        started_at=s.started_at,
        anchor_t_ns=s.anchor_t_ns,
    )
    from analysis.version import BAR_VELOCITY_METHOD_VERSION

    values["analysis_method"] = BAR_VELOCITY_METHOD_VERSION
    n_reps, _ = streams.replace_session_results(con, s.athlete, s.session_id, reps, sets, values)
    return n_reps
