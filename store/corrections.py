"""User corrections that survive re-imports: a set's exercise (a watch, sensor or phone-app set), and
runs excluded from analysis. (The ledger's split / merge corrections: ``store.app_sessions``.)"""

from __future__ import annotations

import datetime as dt

import duckdb

from store.lake import athlete_scope, write_transaction
from store.writers import insert_rows


class CorrectionError(ValueError):
    """The set or activity to correct does not exist (a one-line message for the user)."""


def correct_set_exercise(con: duckdb.DuckDBPyConnection, athlete: str, set_id: str, exercise: str) -> None:
    """Replace the set's exercise correction (one transaction: on a lake, under the athlete's claim,
    so two stations correcting the same set leave one row)."""
    if not exercise or not exercise.strip():
        raise CorrectionError("exercise name must not be empty")

    def write() -> None:
        known = con.execute(
            "SELECT 1 FROM strength_set WHERE athlete = ? AND set_id = ? "
            "UNION ALL SELECT 1 FROM app_set WHERE athlete = ? AND set_id = ?",
            [athlete, set_id, athlete, set_id],
        ).fetchall()
        if not known:
            raise CorrectionError(f"no set {set_id!r} for athlete {athlete!r} (see `sets`)")
        con.execute("DELETE FROM set_correction WHERE athlete = ? AND set_id = ?", [athlete, set_id])
        insert_rows(
            con,
            "set_correction",
            [
                {
                    "athlete": athlete,
                    "set_id": set_id,
                    "exercise": exercise.strip(),
                    "corrected_at": dt.datetime.now(dt.UTC),
                }
            ],
        )

    write_transaction(con, write, scope=athlete_scope(athlete))


def _require_activity(con: duckdb.DuckDBPyConnection, athlete: str, activity_id: str) -> None:
    if (
        con.execute("SELECT 1 FROM activity WHERE athlete = ? AND activity_id = ?", [athlete, activity_id]).fetchone()
        is None
    ):
        raise CorrectionError(f"no activity {activity_id!r} for athlete {athlete!r} (see `activities`)")


def exclude_activity(con: duckdb.DuckDBPyConnection, athlete: str, activity_id: str, reason: str) -> None:
    if not reason or not reason.strip():
        raise CorrectionError("--reason must say why the run is excluded")

    def write() -> None:
        _require_activity(con, athlete, activity_id)
        con.execute("DELETE FROM activity_exclusion WHERE athlete = ? AND activity_id = ?", [athlete, activity_id])
        insert_rows(
            con,
            "activity_exclusion",
            [
                {
                    "athlete": athlete,
                    "activity_id": activity_id,
                    "reason": reason.strip(),
                    "excluded_at": dt.datetime.now(dt.UTC),
                }
            ],
        )

    write_transaction(con, write, scope=athlete_scope(athlete))


def include_activity(con: duckdb.DuckDBPyConnection, athlete: str, activity_id: str) -> bool:
    """Undo an exclusion; returns whether one existed."""

    def write() -> bool:
        _require_activity(con, athlete, activity_id)
        n = con.execute(
            "DELETE FROM activity_exclusion WHERE athlete = ? AND activity_id = ?", [athlete, activity_id]
        ).fetchone()
        return bool(n and n[0])

    return write_transaction(con, write, scope=athlete_scope(athlete))
