"""Read-only queries that return contract rows or numpy arrays (never per-row Python objects
for sample data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np

from records.runs import RunRecords
from records.times import iso_z

FOOT_SPORTS = ("running", "walking", "hiking", "trail_running")


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def activities(con: duckdb.DuckDBPyConnection, athlete: str, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """`activities` contract rows, oldest first."""
    rows = con.execute(
        """
        SELECT a.activity_id, a.source_sha256, a.sport, a.sub_sport, a.started_at, a.duration_s, a.distance_m,
               a.records, a.avg_heart_rate_bpm, a.avg_speed_mps, a.avg_power_w, a.sets, a.name, a.device,
               e.reason, a.time_reference, a.hr_sensor, c.air_temperature_c, c.shoe
        FROM activity a
        LEFT JOIN activity_exclusion e USING (athlete, activity_id)
        LEFT JOIN run_context c USING (athlete, activity_id)
        WHERE a.athlete = ? AND (?::TIMESTAMPTZ IS NULL OR a.started_at >= ?::TIMESTAMPTZ)
        ORDER BY a.started_at, a.activity_id
        """,
        [athlete, since, since],
    ).fetchall()
    out = []
    for r in rows:
        out.append(
            {
                "activity_id": r[0],
                "source_sha256": r[1],
                "sport": r[2],
                "sub_sport": r[3],
                "started_at": iso_z(r[4]),
                "duration_s": _num(r[5]),
                "distance_m": _num(r[6]),
                "records": int(r[7]),
                "avg_heart_rate_bpm": _num(r[8]),
                "avg_speed_mps": _num(r[9]),
                "avg_power_w": _num(r[10]),
                "sets": int(r[11]),
                "name": r[12],
                "device": r[13],
                "excluded_reason": r[14],
                "time_reference": r[15],
                "hr_sensor": r[16],
                "air_temperature_c": _num(r[17]),
                "shoe": r[18],
            }
        )
    return out


def sets(con: duckdb.DuckDBPyConnection, athlete: str, activity_id: str | None = None) -> list[dict[str, Any]]:
    """`sets` contract rows with user corrections applied (exercise = the correction when one exists)."""
    rows = con.execute(
        """
        SELECT s.set_id, s.activity_id, s.session_id, s.started_at, coalesce(c.exercise, s.exercise),
               s.exercise_candidates, s.set_type, s.reps, s.load_kg, s.duration_s, s.source, c.exercise IS NOT NULL,
               s.exercise
        FROM strength_set s
        LEFT JOIN set_correction c USING (athlete, set_id)
        WHERE s.athlete = ? AND (?::VARCHAR IS NULL OR s.activity_id = ? OR s.session_id = ?)
        ORDER BY s.started_at NULLS LAST, s.set_id
        """,
        [athlete, activity_id, activity_id, activity_id],
    ).fetchall()
    return [
        {
            "set_id": r[0],
            "activity_id": r[1],
            "session_id": r[2],
            "started_at": iso_z(r[3]),
            "exercise": r[4],
            "exercise_candidates": list(r[5] or []),
            "set_type": r[6],
            "reps": r[7],
            "load_kg": _num(r[8]),
            "duration_s": _num(r[9]),
            "source": r[10],
            "corrected": bool(r[11]),
            "exercise_as_recorded": r[12],
        }
        for r in rows
    ]


_RUN_COLS = ("heart_rate_bpm", "speed_mps", "distance_m", "altitude_m", "power_w", "temperature_c", "cadence_spm")


def run_records(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    *,
    sports: tuple[str, ...] = ("running",),
    activity_ids: list[str] | None = None,
    include_excluded: bool = False,
) -> Iterator[RunRecords]:
    """Per-record arrays of the athlete's runs, one :class:`RunRecords` per activity.

    Two queries: the activities in order with their record counts, then every record column in
    the same order as numeric arrays (no per-row Python strings), sliced by the counts.
    """
    where = """
        WHERE a.athlete = ? AND a.sport IN (SELECT unnest(?::VARCHAR[]))
          AND (?::VARCHAR[] IS NULL OR a.activity_id IN (SELECT unnest(?::VARCHAR[])))
          AND (? OR a.activity_id NOT IN (SELECT activity_id FROM activity_exclusion WHERE athlete = ?))
    """
    params = [athlete, list(sports), activity_ids, activity_ids, include_excluded, athlete]
    acts = con.execute(
        f"""
        SELECT a.activity_id, a.sport, count(r.t_ns)
        FROM activity a JOIN record r USING (athlete, activity_id)
        {where}
        GROUP BY a.activity_id, a.sport, a.started_at
        ORDER BY a.started_at, a.activity_id
        """,
        params,
    ).fetchall()
    if not acts:
        return
    cols = ", ".join(f"r.{c}" for c in _RUN_COLS)
    tbl = con.sql(
        f"""
        SELECT r.t_ns, {cols}
        FROM activity a JOIN record r USING (athlete, activity_id)
        {where}
        ORDER BY a.started_at, a.activity_id, r.t_ns
        """,
        params=params,
    ).to_arrow_table()
    t_ns = tbl.column("t_ns").to_numpy()
    arrays = {c: tbl.column(c).to_numpy().astype(np.float64, copy=False) for c in _RUN_COLS}
    start = 0
    for activity_id, sport, n in acts:
        end = start + int(n)
        yield RunRecords(
            activity_id=str(activity_id),
            t_ns=np.asarray(t_ns[start:end], dtype=np.int64),
            sport=str(sport),
            **{c: arrays[c][start:end] for c in _RUN_COLS},
        )
        start = end


def data_health(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, Any]:
    """Import problems (failed/partial/skipped files) and the last import time."""
    events = con.execute(
        "SELECT path, status, reason, logged_at FROM import_event WHERE athlete = ? ORDER BY logged_at",
        [athlete],
    ).fetchall()
    last = con.execute("SELECT max(imported_at) FROM source_file WHERE athlete = ?", [athlete]).fetchone()
    return {
        "last_import_at": iso_z(last[0]) if last else None,
        "events": [{"path": p, "status": s, "reason": r, "at": iso_z(t)} for p, s, r, t in events],
    }
