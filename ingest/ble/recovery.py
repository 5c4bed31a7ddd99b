"""Stream sessions cut off by a crash: merged from their landing files, then analysed.

A session whose process died never ran its end-of-session analysis, so its landing file holds
frames and samples but no reps. :func:`merge_and_analyse` merges every landing file left behind
(``store.landing.merge_pending``) and, for each merged session with status ``recovered``, an IMU
sensor and no reps yet, runs the same whole-session analysis a finished session gets
(:func:`analysis.barbell.analyse_session`) on its stored samples, gaps included, and stores the
reps and sets. The stored sample times are the live ones (:class:`~ingest.ble.timebase.OnlineTimebase`,
nominal rate), not the whole-session reconstruction a finished session gets; the status stays
``recovered``, and replaying the session's capture, when one was recorded, gives the full result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from ingest.ble.session import stored_rows
from records.imu import ImuSamples
from records.times import utc_anchor_ns
from store.athletes import get_profile
from store.landing import merge_pending
from store.writers import insert_rows

IMU_COLUMNS = ("ax_mps2", "ay_mps2", "az_mps2", "gx_radps", "gy_radps", "gz_radps", "roll_rad", "pitch_rad", "yaw_rad")
MIN_SAMPLES = 10


def analyse_recovered(con: duckdb.DuckDBPyConnection, session_ids: Sequence[str],
                      on_error: Callable[[str, Exception], None] | None = None) -> dict[str, int]:
    """Analyse and store the reps of recovered IMU sessions among ``session_ids`` that have none.

    Returns ``{session_id: reps stored}`` for the sessions analysed (summed over athletes, if the
    same capture was recovered for several). A session the analysis refuses (``ValueError``) is
    reported through ``on_error(session_id, exc)`` and left without reps.
    """
    done: dict[str, int] = {}
    for session_id in session_ids:
        rows = con.execute(
            "SELECT athlete, exercise, load_kg, started_at, anchor_t_ns FROM stream_session "
            "WHERE session_id = ? AND status = 'recovered' ORDER BY athlete", [session_id]).fetchall()
        for athlete, exercise, load_kg, started_at, anchor_t_ns in rows:
            try:
                n = _analyse_one(con, athlete, session_id, exercise, load_kg, started_at, int(anchor_t_ns or 0))
            except ValueError as exc:
                if on_error is not None:
                    on_error(session_id, exc)
                continue
            if n is not None:
                done[session_id] = done.get(session_id, 0) + n
    return done


def _analyse_one(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str, exercise: str | None,
                 load_kg: float | None, started_at: Any, anchor_t_ns: int) -> int | None:
    """Analyse one athlete's recovered session; the reps stored, or None if there was nothing to do."""
    from analysis.barbell import analyse_session

    has_reps = con.execute("SELECT count(*) FROM rep WHERE athlete = ? AND session_id = ?",
                           [athlete, session_id]).fetchone()[0]
    cols = con.execute(f"SELECT t_ns, {', '.join(IMU_COLUMNS)} FROM imu_sample WHERE athlete = ? AND session_id = ? "
                       "ORDER BY t_ns", [athlete, session_id]).fetchnumpy()
    if has_reps or len(cols["t_ns"]) < MIN_SAMPLES or not exercise or not load_kg:
        return None
    # stored sample rows carry UTC t_ns = started_at + (t - anchor); reps and gaps use the capture clock
    t_capture = cols["t_ns"].astype("int64") - utc_anchor_ns(started_at) + anchor_t_ns
    stack = [cols[c].astype(float) for c in IMU_COLUMNS]
    samples = ImuSamples(t_capture, np.column_stack(stack[0:3]), np.column_stack(stack[3:6]),
                         np.column_stack(stack[6:9]))
    gaps = [(int(a), int(b)) for a, b in con.execute(
        "SELECT start_ns, end_ns FROM stream_gap WHERE athlete = ? AND session_id = ? ORDER BY start_ns",
        [athlete, session_id]).fetchall()]
    profile = get_profile(con, athlete)
    result = analyse_session(samples, exercise, float(load_kg), gaps_ns=gaps,
                             body_mass_kg=profile.body_mass_kg if profile else None).to_contract()
    reps, sets = stored_rows(result, athlete=athlete, session_id=session_id, exercise=exercise,
                             load_kg=float(load_kg), started_at=started_at, anchor_t_ns=anchor_t_ns)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM strength_set WHERE athlete = ? AND session_id = ?", [athlete, session_id])
        if reps:
            insert_rows(con, "rep", reps)
        if sets:
            insert_rows(con, "strength_set", sets)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(reps)


def merge_and_analyse(con: duckdb.DuckDBPyConnection, db_path: str | Path,
                      on_error: Callable[[str, Exception], None] | None = None) -> list[str]:
    """:func:`store.landing.merge_pending`, then :func:`analyse_recovered` on what it merged.

    ``on_error(what, exc)`` hears of a landing file left in place (``what`` = its path) and of a
    recovered session the analysis refused (``what`` = ``stream session <id>``)."""
    merged = merge_pending(con, db_path, on_error=None if on_error is None else
                           (lambda path, exc: on_error(str(path), exc)))
    analyse_recovered(con, merged, on_error=None if on_error is None else
                      (lambda session_id, exc: on_error(f"stream session {session_id}", exc)))
    return merged
