"""Queries and writes of merged stream sessions (the main database's stream tables).

The recovery job (``jobs.recovery``) reads a session cut off by a crash back from here (its row,
its IMU samples, its gaps) and stores the reps and sets the analysis found. The re-analysis job
(``jobs.reanalyse``) lists the stored sensor sessions, reads each one's raw frames back and
replaces its reps and sets (:func:`replace_session_results`); the batch replay
(``store.session_writer``) replaces a session's row, reps and sets with :func:`replace_session_rows`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from records.columns import BinaryColumn, DictionaryColumn
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
            "WHERE session_id = ? AND status = 'recovered' ORDER BY athlete",
            [session_id],
        ).fetchall()
        out.extend(
            SessionRef(str(a), session_id, ex, None if load is None else float(load), started, int(anchor or 0))
            for a, ex, load, started, anchor in rows
        )
    return out


def has_reps(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> bool:
    row = con.execute("SELECT count(*) FROM rep WHERE athlete = ? AND session_id = ?", [athlete, session_id]).fetchone()
    return bool(row and row[0])


def imu_samples(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> ImuSamples:
    """The session's stored IMU samples in time order (``t_ns`` as stored: UTC)."""
    cols = con.execute(
        f"SELECT t_ns, {', '.join(IMU_COLUMNS)} FROM imu_sample WHERE athlete = ? AND session_id = ? ORDER BY t_ns",
        [athlete, session_id],
    ).fetchnumpy()
    stack = [np.asarray(cols[c], dtype=np.float64) for c in IMU_COLUMNS]
    return ImuSamples(
        np.asarray(cols["t_ns"], dtype=np.int64),
        np.column_stack(stack[0:3]).reshape(-1, 3),
        np.column_stack(stack[3:6]).reshape(-1, 3),
        np.column_stack(stack[6:9]).reshape(-1, 3),
    )


def gaps(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> list[tuple[int, int]]:
    """The session's link gaps (capture clock), in order."""
    return [
        (int(a), int(b))
        for a, b in con.execute(
            "SELECT start_ns, end_ns FROM stream_gap WHERE athlete = ? AND session_id = ? ORDER BY start_ns",
            [athlete, session_id],
        ).fetchall()
    ]


def store_session_results(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    session_id: str,
    reps: Sequence[Any],
    sets: Sequence[Any],
    analysis_method: str | None = None,
) -> None:
    """Store the reps and sets of a session without reps (``records.reps.RepRow``,
    ``records.activities.SetRow``) in one transaction, replacing the session's sets; record the
    analysis method that found them."""

    def write() -> None:
        con.execute("DELETE FROM strength_set WHERE athlete = ? AND session_id = ?", [athlete, session_id])
        if reps:
            # the reps of a session without reps: inside the claim, a second recovery of the same
            # session (another station) finds them and writes none
            con.execute("DELETE FROM rep WHERE athlete = ? AND session_id = ?", [athlete, session_id])
            insert_rows(con, "rep", [row_dict(athlete, r) for r in reps])
        if sets:
            insert_rows(con, "strength_set", [row_dict(athlete, s) for s in sets])
        if analysis_method is not None:
            con.execute(
                "UPDATE stream_session SET analysis_method = ? WHERE athlete = ? AND session_id = ?",
                [analysis_method, athlete, session_id],
            )

    write_transaction(con, write, scope=athlete_scope(athlete))


def replace_session_rows(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    session_row: Mapping[str, Any],
    reps: Sequence[Any],
    sets: Sequence[Any],
) -> tuple[int, int]:
    """Inside the caller's transaction: the session's ``stream_session`` row becomes ``session_row``
    (its columns; ``athlete`` is added) and its reps and sets become ``reps`` and ``sets``.
    Returns the rep and set rows written."""
    session_id = str(session_row["session_id"])
    con.execute("DELETE FROM stream_session WHERE athlete = ? AND session_id = ?", [athlete, session_id])
    insert_rows(con, "stream_session", [{**session_row, "athlete": athlete}])
    n_reps, n_sets = _replace_results(con, athlete, session_id, reps, sets)
    return n_reps, n_sets


def _replace_results(
    con: duckdb.DuckDBPyConnection, athlete: str, session_id: str, reps: Sequence[Any], sets: Sequence[Any]
) -> tuple[int, int]:
    con.execute("DELETE FROM rep WHERE athlete = ? AND session_id = ?", [athlete, session_id])
    con.execute("DELETE FROM strength_set WHERE athlete = ? AND session_id = ?", [athlete, session_id])
    n_reps = insert_rows(con, "rep", [row_dict(athlete, r) for r in reps]) if reps else 0
    n_sets = insert_rows(con, "strength_set", [row_dict(athlete, s) for s in sets]) if sets else 0
    return n_reps, n_sets


# ------------------------------------------------------------------------------------- reanalyse
@dataclass(frozen=True)
class StoredSession:
    """A stored stream session as the re-analysis needs it."""

    athlete: str
    session_id: str
    sensor: str
    device_address: str | None
    started_at: dt.datetime
    anchor_t_ns: int
    configured_rate_hz: float | None
    exercise: str | None
    load_kg: float | None
    body_mass_kg: float | None
    status: str
    analysis_method: str | None


def sensor_sessions(
    con: duckdb.DuckDBPyConnection, sensors: Sequence[str], athlete: str | None = None
) -> list[StoredSession]:
    """The stored sessions of the ``sensors`` (``stream_session.sensor``), of ``athlete`` or of
    everyone, in athlete and start order."""
    if not sensors:
        return []
    marks = ", ".join("?" for _ in sensors)
    rows = con.execute(
        "SELECT athlete, session_id, sensor, device_address, started_at, anchor_t_ns, configured_rate_hz, exercise, "
        f"load_kg, body_mass_kg, status, analysis_method FROM stream_session WHERE sensor IN ({marks}) "
        "AND (?::VARCHAR IS NULL OR athlete = ?) ORDER BY athlete, started_at, session_id",
        [*sensors, athlete, athlete],
    ).fetchall()
    return [
        StoredSession(
            str(a),
            str(sid),
            str(sensor),
            addr,
            started,
            int(anchor or 0),
            None if rate is None else float(rate),
            ex,
            None if load is None else float(load),
            None if mass is None else float(mass),
            str(status),
            method,
        )
        for a, sid, sensor, addr, started, anchor, rate, ex, load, mass, status, method in rows
    ]


def stored_session(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> StoredSession | None:
    """One stored session (any sensor), or None."""
    rows = con.execute(
        "SELECT sensor FROM stream_session WHERE athlete = ? AND session_id = ?", [athlete, session_id]
    ).fetchall()
    if not rows:
        return None
    found = [s for s in sensor_sessions(con, [str(rows[0][0])], athlete) if s.session_id == session_id]
    return found[0] if found else None


def rep_count(con: duckdb.DuckDBPyConnection, sessions: Sequence[StoredSession]) -> int:
    """Reps stored for ``sessions``."""
    if not sessions:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE _runstrong_sessions (athlete VARCHAR, session_id VARCHAR)")
    try:
        insert_rows(con, "_runstrong_sessions", [{"athlete": s.athlete, "session_id": s.session_id} for s in sessions])
        row = con.execute(
            "SELECT count(*) FROM rep SEMI JOIN _runstrong_sessions USING (athlete, session_id)"
        ).fetchone()
    finally:
        con.execute("DROP TABLE IF EXISTS _runstrong_sessions")
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class StoredFrames:
    """A session's raw notifications as stored (``ble_frame``, in ``seq`` order; capture clock)."""

    seq: np.ndarray
    t_ns: np.ndarray
    char: DictionaryColumn
    payload: BinaryColumn

    def __len__(self) -> int:
        return int(self.seq.shape[0])


def session_frames(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> StoredFrames:
    """The session's stored ``ble_frame`` rows in ``seq`` order, as columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cur = con.cursor()  # a relation of its own: Arrow straight from the query, without a DB-API copy
    try:
        # a cursor starts in the default database: on a lake, the connection USEs the lake's
        current = con.execute("SELECT current_database()").fetchone()
        if current is not None:
            cur.execute(f'USE "{current[0]}"')
        table = cur.sql(
            "SELECT seq, t_ns, char, payload FROM ble_frame WHERE athlete = $athlete AND session_id = $sid "
            "ORDER BY seq",
            params={"athlete": athlete, "sid": session_id},
        ).to_arrow_table()
    finally:
        cur.close()
    char = pc.dictionary_encode(table.column("char").combine_chunks())
    payload = table.column("payload").combine_chunks()
    if payload.type != pa.large_binary():
        payload = payload.cast(pa.large_binary())
    n = len(payload)
    bufs = payload.buffers()
    offsets = (
        np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=payload.offset * 8).copy()
        if n
        else np.zeros(1, np.int64)
    )
    data = np.frombuffer(bufs[2], dtype=np.uint8) if n and bufs[2] is not None else np.zeros(0, np.uint8)
    data = data[int(offsets[0]) : int(offsets[-1])].copy()
    offsets -= offsets[0]
    return StoredFrames(
        seq=np.asarray(table.column("seq").to_numpy(), dtype=np.int64),
        t_ns=np.asarray(table.column("t_ns").to_numpy(), dtype=np.int64),
        char=DictionaryColumn(
            np.asarray(char.indices.to_numpy(zero_copy_only=False), dtype=np.int32),
            tuple(str(v) for v in char.dictionary.to_pylist()),
        ),
        payload=BinaryColumn(offsets, data),
    )


def replace_session_results(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    session_id: str,
    reps: Sequence[Any],
    sets: Sequence[Any],
    session_values: Mapping[str, Any],
) -> tuple[int, int]:
    """One transaction: the session's reps and sets become ``reps`` and ``sets``, and its
    ``stream_session`` row takes ``session_values`` (e.g. ``analysis_method``, ``sample_rate_hz``).
    User corrections (``set_correction``) are kept: they live apart, keyed by set id."""

    def write() -> tuple[int, int]:
        if session_values:
            names = list(session_values)
            con.execute(
                f"UPDATE stream_session SET {', '.join(f'{n} = ?' for n in names)} "
                "WHERE athlete = ? AND session_id = ?",
                [*(session_values[n] for n in names), athlete, session_id],
            )
        return _replace_results(con, athlete, session_id, reps, sets)

    return write_transaction(con, write, scope=athlete_scope(athlete))


def orphaned_corrections(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> int:
    """Set corrections of the session whose set no longer exists (the analysis now finds fewer sets)."""
    row = con.execute(
        "SELECT count(*) FROM set_correction c WHERE c.athlete = ? AND c.set_id LIKE ? || ':%' "
        "AND NOT EXISTS (SELECT 1 FROM strength_set s WHERE s.athlete = c.athlete AND s.set_id = c.set_id)",
        [athlete, session_id],
    ).fetchone()
    return int(row[0]) if row else 0
