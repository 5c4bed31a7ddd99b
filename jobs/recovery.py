"""Stream sessions cut off by a crash: merged from their landing files, then analysed.

A session whose process died never ran its end-of-session analysis, so its landing file holds
frames and samples but no reps. :func:`merge_and_analyse` merges every landing file left behind
(``store.landing.merge_pending``) and, for each merged session with status ``recovered``, an IMU
sensor and no reps yet, runs the same whole-session analysis a finished session gets
(:func:`analysis.barbell.analyse_session`, :mod:`jobs.stream_finish`) on its stored samples, gaps
included, and stores the reps and sets. The stored sample times are the live ones
(:class:`~ingest.ble.timebase.OnlineTimebase`, nominal rate), not the whole-session reconstruction a
finished session gets; the status stays ``recovered``, and replaying the session's capture, when
one was recorded, gives the full result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from jobs.stream_finish import analyse_session_contract, analysis_method, session_rows
from records.imu import ImuSamples
from records.times import utc_anchor_ns
from store import streams
from store.athletes import get_profile
from store.connection import Connection
from store.landing import merge_pending

MIN_SAMPLES = 10


def analyse_recovered(
    con: Connection, session_ids: Sequence[str], on_error: Callable[[str, Exception], None] | None = None
) -> dict[str, int]:
    """Analyse and store the reps of recovered IMU sessions among ``session_ids`` that have none.

    Returns ``{session_id: reps stored}`` for the sessions analysed (summed over athletes, if the
    same capture was recovered for several). A session the analysis refuses (``ValueError``) is
    reported through ``on_error(session_id, exc)`` and left without reps.
    """
    done: dict[str, int] = {}
    for ref in streams.recovered_sessions(con, session_ids):
        try:
            n = _analyse_one(con, ref)
        except ValueError as exc:
            if on_error is not None:
                on_error(ref.session_id, exc)
            continue
        if n is not None:
            done[ref.session_id] = done.get(ref.session_id, 0) + n
    return done


def _analyse_one(con: Connection, ref: streams.SessionRef) -> int | None:
    """Analyse one athlete's recovered session; the reps stored, or None if there was nothing to do."""
    if not ref.exercise or not ref.load_kg or streams.has_reps(con, ref.athlete, ref.session_id):
        return None
    stored = streams.imu_samples(con, ref.athlete, ref.session_id)
    if len(stored) < MIN_SAMPLES:
        return None
    # stored sample rows carry UTC t_ns = started_at + (t - anchor); reps and gaps use the capture clock
    t_capture = stored.t_ns - utc_anchor_ns(ref.started_at) + ref.anchor_t_ns
    samples = ImuSamples(t_capture, stored.accel_mps2, stored.gyro_radps, stored.angles_rad)
    profile = get_profile(con, ref.athlete)
    result = analyse_session_contract(
        samples,
        ref.exercise,
        ref.load_kg,
        gaps_ns=streams.gaps(con, ref.athlete, ref.session_id),
        body_mass_kg=profile.body_mass_kg if profile else None,
    )
    reps, sets = session_rows(
        result,
        session_id=ref.session_id,
        exercise=ref.exercise,
        load_kg=ref.load_kg,
        started_at=ref.started_at,
        anchor_t_ns=ref.anchor_t_ns,
    )
    streams.store_session_results(
        con, ref.athlete, ref.session_id, reps, sets, analysis_method=analysis_method(samples)
    )
    return len(reps)


def merge_and_analyse(
    con: Connection, db_path: str | Path, on_error: Callable[[str, Exception], None] | None = None
) -> list[str]:
    """:func:`store.landing.merge_pending`, then :func:`analyse_recovered` on what it merged.

    ``on_error(what, exc)`` hears of a landing file left in place (``what`` = its path) and of a
    recovered session the analysis refused (``what`` = ``stream session <id>``)."""
    merged = merge_pending(
        con, db_path, on_error=None if on_error is None else (lambda path, exc: on_error(str(path), exc))
    )
    analyse_recovered(
        con,
        merged,
        on_error=None if on_error is None else (lambda session_id, exc: on_error(f"stream session {session_id}", exc)),
    )
    return merged
