"""The strength ledger's timed sources as plain rows: watch (FIT) strength sessions and their sets,
streamed / replayed barbell (sensor) sessions and their sets, with the user's exercise corrections.

The app workouts are in :mod:`store.app_sessions`; the reconciliation is ``analysis.ledger``,
composed by ``jobs.ledger``. Read-only.
"""

from __future__ import annotations

from typing import Any

import duckdb

#: a FIT activity is a strength session of the ledger when it has set messages or this sub-sport
STRENGTH_SUB_SPORTS = ("strength_training",)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def fit_strength_sessions(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    """Watch activities that are strength sessions (set messages, or sub-sport strength_training),
    on a calendar clock (a device-relative FIT clock cannot be placed beside other sources)."""
    return _rows(
        con,
        """
        SELECT a.activity_id, a.started_at, a.duration_s, a.avg_heart_rate_bpm, a.name, a.sport, a.sub_sport
        FROM activity a
        WHERE a.athlete = ? AND coalesce(a.time_reference, 'utc') = 'utc'
          AND (list_contains(?::VARCHAR[], a.sub_sport)
               OR EXISTS (SELECT 1 FROM strength_set s WHERE s.athlete = a.athlete AND s.activity_id = a.activity_id
                          AND s.source = 'fit'))
        ORDER BY a.started_at, a.activity_id
        """,
        [athlete, list(STRENGTH_SUB_SPORTS)],
    )


def sensor_strength_sessions(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    """Stream sessions with at least one detected set."""
    return _rows(
        con,
        """
        SELECT t.session_id, t.started_at, t.ended_at, t.exercise, t.load_kg, t.status
        FROM stream_session t
        WHERE t.athlete = ? AND EXISTS (SELECT 1 FROM strength_set s WHERE s.athlete = t.athlete
                                        AND s.session_id = t.session_id AND s.source = 'sensor')
        ORDER BY t.started_at, t.session_id
        """,
        [athlete],
    )


def strength_set_rows(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    """Every watch and sensor set (rest intervals included) with the user's exercise correction
    applied (``exercise``; ``exercise_as_imported``, ``corrected``, ``corrected_at`` say so)."""
    return _rows(
        con,
        """
        SELECT s.set_id, s.activity_id, s.session_id, s.set_index, s.started_at,
               coalesce(c.exercise, s.exercise) AS exercise, s.exercise AS exercise_as_imported,
               c.exercise IS NOT NULL AS corrected, c.corrected_at, s.exercise_candidates, s.set_type, s.reps,
               s.load_kg, s.duration_s, s.source, s.best_mean_velocity_mps, s.velocity_loss_pct
        FROM strength_set s LEFT JOIN set_correction c USING (athlete, set_id)
        WHERE s.athlete = ?
        ORDER BY s.started_at NULLS LAST, s.set_id
        """,
        [athlete],
    )


def strength_set_exists(con: duckdb.DuckDBPyConnection, athlete: str, set_id: str) -> bool:
    return bool(
        con.execute("SELECT 1 FROM strength_set WHERE athlete = ? AND set_id = ?", [athlete, set_id]).fetchall()
    )
