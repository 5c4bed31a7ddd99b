"""Read-only queries the report needs beyond ``store.readers``, and the per-run proxy cache.

Everything returns plain Python values (dicts, lists, numpy arrays); no statistics here —
only selection, joins and counts. The one writer is :func:`put_run_metrics`, the cache of
per-run economy proxies in ``run_metric`` (keyed by athlete + activity_id, with the
algorithm version and a fingerprint of the parameters the proxies depend on).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from records.times import iso_z
from store.economy_inputs import economy_inputs as economy_inputs  # re-exported for the report
from store.lake import athlete_scope, in_transaction, write_transaction
from store.writers import insert_rows

#: FIT sports whose records feed the running-economy proxies
RUN_SPORTS: tuple[str, ...] = ("running",)


def _since_clause(column: str, since: dt.datetime | None, params: list[Any]) -> str:
    """``" AND <column> >= ?"`` with ``since`` appended to ``params``, or ``""`` without a bound."""
    if since is None:
        return ""
    params.append(since)
    return f" AND {column} >= ?"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _iso(v: Any) -> Any:
    return iso_z(v) if isinstance(v, dt.datetime) else v


def _iso_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in r.items()} for r in rows]


def athletes(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every athlete with data or a profile: profile fields, counts and the last import (UTC ISO)."""
    return _iso_rows(
        _rows(
            con,
            """
        WITH names AS (
            SELECT athlete FROM athlete UNION SELECT athlete FROM activity
            UNION SELECT athlete FROM source_file UNION SELECT athlete FROM import_event
            UNION SELECT athlete FROM stream_session
        )
        SELECT n.athlete, a.body_mass_kg, a.sex, a.hr_rest_bpm, a.hr_max_bpm, a.tz,
               (SELECT count(*) FROM activity x WHERE x.athlete = n.athlete) AS activities,
               (SELECT count(*) FROM activity x WHERE x.athlete = n.athlete AND x.sport IN ('running')) AS runs,
               (SELECT count(*) FROM strength_set s WHERE s.athlete = n.athlete AND s.set_type = 'active')
                   AS strength_sets,
               (SELECT count(*) FROM stream_session s WHERE s.athlete = n.athlete) AS stream_sessions,
               (SELECT count(*) FROM app_session s WHERE s.athlete = n.athlete) AS app_sessions,
               (SELECT count(*) FROM app_set s WHERE s.athlete = n.athlete) AS app_sets,
               (SELECT max(imported_at) FROM source_file f WHERE f.athlete = n.athlete) AS last_import_at,
               (SELECT count(*) FROM source_file f WHERE f.athlete = n.athlete) AS files_imported,
               (SELECT count(DISTINCT path) FROM import_event e WHERE e.athlete = n.athlete
                    AND e.status = 'failed') AS files_failed,
               (SELECT min(started_at) FROM activity x WHERE x.athlete = n.athlete AND x.time_reference = 'utc') AS first_activity_at,
               (SELECT max(started_at) FROM activity x WHERE x.athlete = n.athlete AND x.time_reference = 'utc') AS last_activity_at
        FROM names n LEFT JOIN athlete a USING (athlete)
        ORDER BY n.athlete
        """,
        )
    )


def data_health(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, Any]:
    """Files that failed or were only partly readable, runs excluded (and why), stream sessions with gaps."""
    # one row per file and problem (nightly retries a failed file every run), latest attempt first;
    # a file imported since (repaired in place) is no longer a problem
    failed = _iso_rows(
        _rows(
            con,
            """
        SELECT path, status, reason, max(logged_at) AS logged_at, count(*) AS attempts
        FROM import_event
        WHERE athlete = ? AND status = 'failed'
          AND path NOT IN (SELECT path FROM source_file WHERE athlete = ? AND status = 'imported')
        GROUP BY path, status, reason
        ORDER BY logged_at DESC, path
        """,
            [athlete, athlete],
        )
    )
    partial = _iso_rows(
        _rows(
            con,
            "SELECT path, error AS reason, imported_at FROM source_file WHERE athlete = ? AND status = 'partial' "
            "ORDER BY imported_at DESC, path",
            [athlete],
        )
    )
    skipped = int(
        con.execute(
            "SELECT count(DISTINCT path) FROM import_event WHERE athlete = ? AND status = 'skipped'", [athlete]
        ).fetchall()[0][0]
    )
    excluded = _iso_rows(
        _rows(
            con,
            """
        SELECT e.activity_id, e.reason, e.excluded_at, a.started_at, a.name, a.sport,
               coalesce(a.time_reference, 'utc') AS time_reference
        FROM activity_exclusion e LEFT JOIN activity a USING (athlete, activity_id)
        WHERE e.athlete = ? ORDER BY a.started_at NULLS LAST, e.activity_id
        """,
            [athlete],
        )
    )
    gaps = _iso_rows(
        _rows(
            con,
            """
        SELECT s.session_id, s.started_at, s.exercise, s.load_kg, s.samples, s.lost_samples, s.reconnects,
               s.status, count(g.session_id) AS gaps,
               coalesce(sum(g.end_ns - g.start_ns), 0) / 1e9 AS gap_s
        FROM stream_session s LEFT JOIN stream_gap g USING (athlete, session_id)
        WHERE s.athlete = ?
        GROUP BY ALL
        HAVING count(g.session_id) > 0 OR coalesce(s.lost_samples, 0) > 0 OR s.status <> 'complete'
        ORDER BY s.started_at
        """,
            [athlete],
        )
    )
    return {
        "files_failed": [r for r in failed if r["status"] == "failed"],
        # partial files are in the ledger (their readable part was kept); the events repeat them
        "files_partial": partial,
        "files_skipped": skipped,
        "runs_excluded_by_user": excluded,
        "sessions_with_gaps": gaps,
    }


def run_activities(
    con: duckdb.DuckDBPyConnection, athlete: str, *, since: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Running activities (oldest first) with their user exclusion, if any, and their clock
    (``time_reference``: ``'utc'`` or ``'device_relative'``, a FIT clock without a date)."""
    params: list[Any] = [athlete, list(RUN_SPORTS)]
    where = _since_clause("a.started_at", since, params)
    return _rows(
        con,
        f"""
        SELECT a.activity_id, a.started_at, a.name, a.sport, a.sub_sport, a.duration_s, a.distance_m,
               a.records, a.avg_heart_rate_bpm, a.avg_speed_mps, a.source_sha256, e.reason AS excluded_reason,
               coalesce(a.time_reference, 'utc') AS time_reference
        FROM activity a LEFT JOIN activity_exclusion e USING (athlete, activity_id)
        WHERE a.athlete = ? AND list_contains(?, a.sport){where}
        ORDER BY a.started_at, a.activity_id
        """,
        params,
    )


def strength_sets(
    con: duckdb.DuckDBPyConnection, athlete: str, *, since: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Strength sets with the user's exercise corrections applied (``exercise``), oldest first."""
    params: list[Any] = [athlete]
    where = _since_clause("s.started_at", since, params)
    return _rows(
        con,
        f"""
        SELECT s.set_id, s.activity_id, s.session_id, s.set_index, s.started_at,
               coalesce(c.exercise, s.exercise) AS exercise, s.exercise AS exercise_as_imported,
               s.set_type, s.reps, s.load_kg, s.duration_s, s.source
        FROM strength_set s LEFT JOIN set_correction c USING (athlete, set_id)
        WHERE s.athlete = ?{where}
        ORDER BY s.started_at NULLS LAST, s.set_id
        """,
        params,
    )


def reps(con: duckdb.DuckDBPyConnection, athlete: str, *, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per-rep barbell metrics of streamed/replayed sessions (oldest first)."""
    params: list[Any] = [athlete]
    where = _since_clause("r.started_at", since, params)
    return _rows(
        con,
        f"""
        SELECT r.*, s.started_at AS session_started_at FROM rep r
        LEFT JOIN stream_session s USING (athlete, session_id)
        WHERE r.athlete = ?{where}
        ORDER BY coalesce(r.started_at, s.started_at), r.session_id, r.set_index, r.rep_index
        """,
        params,
    )


def reference_loads(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, float]:
    return {
        r[0]: float(r[1])
        for r in con.execute("SELECT exercise, load_kg FROM reference_load WHERE athlete = ?", [athlete]).fetchall()
    }


def last_run_log(con: duckdb.DuckDBPyConnection, command: str | None = None) -> dict[str, Any] | None:
    sql = "SELECT command, started_at, seconds, summary FROM run_log"
    params: list[Any] = []
    if command is not None:
        sql += " WHERE command = ?"
        params.append(command)
    rows = _iso_rows(_rows(con, sql + " ORDER BY started_at DESC LIMIT 1", params))
    return rows[0] if rows else None


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Cheap summary of the store's content (row counts, latest timestamps) to detect 'no change'."""
    row = con.execute(
        """
        SELECT (SELECT count(*) FROM source_file), (SELECT max(imported_at) FROM source_file),
               (SELECT count(*) FROM activity), (SELECT count(*) FROM strength_set),
               (SELECT count(*) FROM set_correction), (SELECT max(corrected_at) FROM set_correction),
               (SELECT count(*) FROM activity_exclusion), (SELECT max(excluded_at) FROM activity_exclusion),
               (SELECT count(*) FROM stream_session), (SELECT count(*) FROM rep),
               (SELECT count(*) FROM import_event), (SELECT count(*) FROM athlete),
               (SELECT count(*) FROM reference_load), (SELECT max(fixed_at) FROM reference_load),
               (SELECT string_agg(concat_ws('|', athlete, body_mass_kg, sex, hr_rest_bpm, hr_max_bpm, tz), ';'
                                  ORDER BY athlete) FROM athlete),
               (SELECT string_agg(concat_ws('|', athlete, activity_id, reason), ';' ORDER BY athlete, activity_id)
                FROM activity_exclusion),
               (SELECT max(updated_at) FROM run_context), (SELECT count(*) FROM run_context),
               (SELECT max(logged_at) FROM athlete_event), (SELECT count(*) FROM athlete_event),
               (SELECT max(updated_at) FROM economy_setting),
               (SELECT count(*) FROM app_session), (SELECT max(updated_at) FROM app_session),
               (SELECT count(*) FROM app_session WHERE missing_since IS NOT NULL), (SELECT count(*) FROM app_set),
               (SELECT count(*) FROM ledger_correction), (SELECT max(corrected_at) FROM ledger_correction),
               (SELECT string_agg(concat_ws('|', athlete, weight_unit), ';' ORDER BY athlete) FROM athlete)
        """
    ).fetchall()[0]
    names = (
        "source_files",
        "last_import_at",
        "activities",
        "strength_sets",
        "set_corrections",
        "last_correction_at",
        "exclusions",
        "last_exclusion_at",
        "stream_sessions",
        "reps",
        "import_events",
        "athletes",
        "reference_loads",
        "last_reference_load_at",
        "profiles",
        "exclusion_list",
        "last_run_context_at",
        "run_contexts",
        "last_event_at",
        "events",
        "last_economy_setting_at",
        "app_sessions",
        "last_app_session_update_at",
        "app_sessions_deleted_in_app",
        "app_sets",
        "ledger_corrections",
        "last_ledger_correction_at",
        "weight_units",
    )
    return {k: _iso(v) for k, v in zip(names, row, strict=True)}


# ------------------------------------------------------------------------------------------
# run_metric: cache of per-run proxies
# ------------------------------------------------------------------------------------------


def get_run_metrics(con: duckdb.DuckDBPyConnection, athlete: str, algo_version: int) -> dict[str, dict[str, Any]]:
    """Cached payloads of ``athlete``'s runs at ``algo_version``: ``{activity_id: payload}``."""
    rows = con.execute(
        "SELECT activity_id, payload FROM run_metric WHERE athlete = ? AND algo_version = ?",
        [athlete, algo_version],
    ).fetchall()
    return {aid: json.loads(p) if isinstance(p, str) else p for aid, p in rows}


def put_run_metrics(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    algo_version: int,
    payloads: Mapping[str, Mapping[str, Any]],
) -> int:
    """Replace the cached payloads of these runs (one transaction; the caller's if it holds one)."""
    if not payloads:
        return 0
    ids = list(payloads)

    def write() -> None:
        con.execute("DELETE FROM run_metric WHERE athlete = ? AND list_contains(?, activity_id)", [athlete, ids])
        now = dt.datetime.now(dt.UTC)
        insert_rows(
            con,
            "run_metric",
            [
                {
                    "athlete": athlete,
                    "activity_id": aid,
                    "algo_version": algo_version,
                    "computed_at": now,
                    "payload": json.dumps(payloads[aid], allow_nan=False),
                }
                for aid in ids
            ],
        )

    if _in_transaction(con):
        write()
    else:
        write_transaction(con, write, scope=athlete_scope(athlete))
    return len(ids)


def _in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    return in_transaction(con)


def log_run(
    con: duckdb.DuckDBPyConnection, command: str, started_at: dt.datetime, seconds: float, summary: Mapping[str, Any]
) -> None:
    """One ``run_log`` row (nightly / report runs)."""
    insert_rows(
        con,
        "run_log",
        [
            {
                "command": command,
                "started_at": started_at,
                "seconds": seconds,
                "summary": json.dumps(summary, default=_json_default),
            }
        ],
    )


def _json_default(x: Any) -> Any:
    """Instants as ISO-8601 UTC with ``Z``, dates as ``YYYY-MM-DD``, anything else as its text."""
    if isinstance(x, dt.datetime):
        return iso_z(x)
    if isinstance(x, dt.date):
        return x.isoformat()
    return str(x)


def simulated_share(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, int]:
    """How many of the athlete's activities come from the simulator (ledger decoder 'simulated')."""
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE f.decoder = 'simulated' OR a.device = 'runstrong simulator'), count(*)
        FROM activity a LEFT JOIN source_file f ON f.athlete = a.athlete AND f.sha256 = a.source_sha256
        WHERE a.athlete = ?
        """,
        [athlete],
    ).fetchall()[0]
    return {"simulated_activities": int(row[0]), "activities": int(row[1])}
