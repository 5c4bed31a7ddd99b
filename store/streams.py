"""Queries and writes of merged stream sessions (the main database's stream tables).

The recovery job (``jobs.recovery``) reads a session cut off by a crash back from here (its row,
its IMU samples, its gaps) and stores the reps and sets the analysis found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from records.imu import ImuSamples
from store.lake import athlete_scope, write_transaction
from store.writers import insert_rows, row_dict

IMU_COLUMNS = ("ax_mps2", "ay_mps2", "az_mps2", "gx_radps", "gy_radps", "gz_radps", "roll_rad", "pitch_rad", "yaw_rad")


@dataclass(frozen=True)
class SessionRef:
    """One athlete's stream session as the analysis of its samples needs it."""

    athlete: str
    session_id: str
    exercise: str | None
    load_kg: float | None
    started_at: dt.datetime
    anchor_t_ns: int


def recovered_sessions(con: duckdb.DuckDBPyConnection, session_ids: Sequence[str]) -> list[SessionRef]:
    """The sessions among ``session_ids`` whose status is ``recovered`` (one per athlete holding
    it), in the order of ``session_ids``, athletes in order."""
    out: list[SessionRef] = []
    for session_id in session_ids:
        rows = con.execute(
            "SELECT athlete, exercise, load_kg, started_at, anchor_t_ns FROM stream_session "
            "WHERE session_id = ? AND status = 'recovered' ORDER BY athlete", [session_id]).fetchall()
        out.extend(SessionRef(str(a), session_id, ex, None if load is None else float(load), started, int(anchor or 0))
                   for a, ex, load, started, anchor in rows)
    return out


def has_reps(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> bool:
    row = con.execute("SELECT count(*) FROM rep WHERE athlete = ? AND session_id = ?", [athlete, session_id]).fetchone()
    return bool(row and row[0])


def imu_samples(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> ImuSamples:
    """The session's stored IMU samples in time order (``t_ns`` as stored: UTC)."""
    cols = con.execute(f"SELECT t_ns, {', '.join(IMU_COLUMNS)} FROM imu_sample WHERE athlete = ? AND session_id = ? "
                       "ORDER BY t_ns", [athlete, session_id]).fetchnumpy()
    stack = [np.asarray(cols[c], dtype=np.float64) for c in IMU_COLUMNS]
    return ImuSamples(np.asarray(cols["t_ns"], dtype=np.int64), np.column_stack(stack[0:3]).reshape(-1, 3),
                      np.column_stack(stack[3:6]).reshape(-1, 3), np.column_stack(stack[6:9]).reshape(-1, 3))


def gaps(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> list[tuple[int, int]]:
    """The session's link gaps (capture clock), in order."""
    return [(int(a), int(b)) for a, b in con.execute(
        "SELECT start_ns, end_ns FROM stream_gap WHERE athlete = ? AND session_id = ? ORDER BY start_ns",
        [athlete, session_id]).fetchall()]


def store_session_results(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str, reps: Sequence[Any],
                          sets: Sequence[Any]) -> None:
    """Store the reps and sets of a session without reps (``records.reps.RepRow``,
    ``records.activities.SetRow``) in one transaction, replacing the session's sets."""
    def write() -> None:
        con.execute("DELETE FROM strength_set WHERE athlete = ? AND session_id = ?", [athlete, session_id])
        if reps:
            # the reps of a session without reps: inside the claim, a second recovery of the same
            # session (another station) finds them and writes none
            con.execute("DELETE FROM rep WHERE athlete = ? AND session_id = ?", [athlete, session_id])
            insert_rows(con, "rep", [row_dict(athlete, r) for r in reps])
        if sets:
            insert_rows(con, "strength_set", [row_dict(athlete, s) for s in sets])

    write_transaction(con, write, scope=athlete_scope(athlete))
