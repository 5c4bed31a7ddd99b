"""Phone-app workouts (Strong, Hevy) in the store: the update rule of a later export, and reads.

Rules (docs/strength-ledger.md, "Identity, edits and re-imports"):

* the file's sha256 (the ``source_file`` ledger) skips only identical files;
* a workout is keyed by ``session_key`` (app + local start + title): a later, longer export
  adds the workouts it is the first to hold and replaces those whose ``content_sha256`` changed
  (edited in the app), never adding a second row;
* an export older than the one a stored version came from (``as_of``: its latest workout
  start) never replaces it;
* user corrections live apart (``set_correction`` by set id, ``ledger_correction`` by source
  session) and are applied when reading, so they win over an app's edit;
* a stored workout of the same app that starts within an export's span and is missing from it
  was deleted in the app: it stays, flagged (``missing_since``); an export at least as recent
  that holds it again lifts the flag.

Every write here runs inside the caller's transaction and changes rows by delete + insert (no
UPDATE of a row inserted in the same transaction, no ``INSERT OR ...`` / ``ON CONFLICT``), so it
carries over to a DuckLake catalog, which has neither keys nor conflict clauses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import duckdb

from records.app_exports import AppExportFile, AppImportOutcome, AppSessionRow
from store.writers import insert_rows

_SESSION_COLS = (
    "athlete",
    "session_key",
    "app",
    "title",
    "start_local",
    "start_precision",
    "started_at",
    "duration_s",
    "tz",
    "local_time_note",
    "notes",
    "session_rpe",
    "weight_unit",
    "weight_unit_source",
    "distance_unit",
    "distance_unit_source",
    "content_sha256",
    "source_sha256",
    "export_as_of",
    "first_imported_at",
    "updated_at",
    "missing_since",
    "missing_from_sha256",
    "missing_as_of",
)
_SET_COLS = (
    "athlete",
    "session_key",
    "set_id",
    "position",
    "exercise",
    "exercise_as_written",
    "equipment",
    "exercise_order",
    "set_order",
    "set_order_as_written",
    "set_role",
    "reps",
    "load_kg",
    "distance_m",
    "duration_s",
    "rpe",
    "notes",
    "superset_id",
    "line",
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _naive(v: Any) -> Any:
    """A TIMESTAMP read back (naive) or written: the app's wall clock, never shifted."""
    return v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v


def _stored(
    con: duckdb.DuckDBPyConnection, athlete: str, app: str | None = None, keys: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    sql = f"SELECT {', '.join(_SESSION_COLS)} FROM app_session WHERE athlete = ?"
    params: list[Any] = [athlete]
    if app is not None:
        sql += " AND app = ?"
        params.append(app)
    if keys is not None:
        sql += " AND list_contains(?::VARCHAR[], session_key)"
        params.append(list(keys))
    out = {}
    for r in con.execute(sql, params).fetchall():
        row = dict(zip(_SESSION_COLS, r, strict=True))
        for k in ("start_local", "export_as_of", "missing_as_of"):
            row[k] = _naive(row[k])
        out[row["session_key"]] = row
    return out


def _session_row(
    athlete: str, s: AppSessionRow, f: AppExportFile, now: dt.datetime, first_imported_at: dt.datetime | None
) -> dict[str, Any]:
    return {
        "athlete": athlete,
        "session_key": s.session_key,
        "app": s.app,
        "title": s.title,
        "start_local": s.start_local,
        "start_precision": s.start_precision,
        "started_at": s.started_at,
        "duration_s": s.duration_s,
        "tz": s.tz,
        "local_time_note": s.local_time_note,
        "notes": s.notes,
        "session_rpe": s.session_rpe,
        "weight_unit": s.weight_unit,
        "weight_unit_source": s.weight_unit_source,
        "distance_unit": s.distance_unit,
        "distance_unit_source": s.distance_unit_source,
        "content_sha256": s.content_sha256,
        "source_sha256": f.source.sha256,
        "export_as_of": f.as_of,
        "first_imported_at": first_imported_at or now,
        "updated_at": now,
        "missing_since": None,
        "missing_from_sha256": None,
        "missing_as_of": None,
    }


def _set_rows(athlete: str, s: AppSessionRow) -> list[dict[str, Any]]:
    return [{"athlete": athlete, "session_key": s.session_key, **asdict(x)} for x in s.sets]


def _utc(v: Any) -> Any:
    """Aware instants in one zone object (an Arrow column holds one zone)."""
    return v.astimezone(dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo is not None else v


def _replace_sessions(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    rows: Sequence[Mapping[str, Any]],
    sets_of: Mapping[str, list[dict[str, Any]]],
) -> None:
    """Delete and insert these session rows; the sets of the keys in ``sets_of`` are replaced too."""
    if rows:
        keys = [r["session_key"] for r in rows]
        con.execute(
            "DELETE FROM app_session WHERE athlete = ? AND list_contains(?::VARCHAR[], session_key)", [athlete, keys]
        )
        insert_rows(con, "app_session", [{c: _utc(r[c]) for c in _SESSION_COLS} for r in rows])
    if sets_of:
        con.execute(
            "DELETE FROM app_set WHERE athlete = ? AND list_contains(?::VARCHAR[], session_key)",
            [athlete, list(sets_of)],
        )
        insert_rows(con, "app_set", [{c: x[c] for c in _SET_COLS} for xs in sets_of.values() for x in xs])


def write_app_export(con: duckdb.DuckDBPyConnection, athlete: str, f: AppExportFile) -> AppImportOutcome:
    """Store one export: its ``source_file`` row and its workouts by the rules of the module
    docstring. Runs in the caller's transaction (the file and its workouts commit together)."""
    now = _now()
    out = AppImportOutcome()
    insert_rows(
        con,
        "source_file",
        [
            {
                "athlete": athlete,
                "sha256": f.source.sha256,
                "path": f.source.path,
                "bytes_size": f.source.bytes_size,
                "status": f.source.status,
                "error": f.source.error,
                "decoder": f.source.decoder,
                "file_type": f.source.file_type,
                "imported_at": now,
            }
        ],
    )
    as_of = f.as_of
    if as_of is None:  # a header-only export: nothing to add, update or flag
        return out
    stored = _stored(con, athlete, f.app)
    rows: list[dict[str, Any]] = []
    sets_of: dict[str, list[dict[str, Any]]] = {}
    in_file = set()
    for s in f.sessions:
        in_file.add(s.session_key)
        old = stored.get(s.session_key)
        if old is None:
            out.new.append(s.session_key)
            rows.append(_session_row(athlete, s, f, now, None))
            sets_of[s.session_key] = _set_rows(athlete, s)
            continue
        at_least_as_recent = as_of >= old["export_as_of"]
        if old["content_sha256"] != s.content_sha256:
            if not at_least_as_recent:
                out.kept_newer.append(s.session_key)
                continue
            out.updated.append(s.session_key)
            rows.append(_session_row(athlete, s, f, now, old["first_imported_at"]))
            sets_of[s.session_key] = _set_rows(athlete, s)
            continue
        out.unchanged.append(s.session_key)
        new = dict(old)
        lift = old["missing_since"] is not None and as_of >= (old["missing_as_of"] or as_of)
        if lift:
            out.restored.append(s.session_key)
            new.update(missing_since=None, missing_from_sha256=None, missing_as_of=None)
        if at_least_as_recent and old["source_sha256"] != f.source.sha256:
            new.update(source_sha256=f.source.sha256, export_as_of=as_of)
        if new != old:
            rows.append(new)
    first = f.first_start
    assert first is not None
    for key, old in stored.items():
        if key in in_file or old["missing_since"] is not None:
            continue
        if first <= old["start_local"] <= as_of and old["export_as_of"] <= as_of:
            out.flagged_deleted.append(key)
            rows.append({**old, "missing_since": now, "missing_from_sha256": f.source.sha256, "missing_as_of": as_of})
    _replace_sessions(con, athlete, rows, sets_of)
    return out


def app_sessions(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    """Every stored app workout of ``athlete`` (``app_session`` columns), oldest first."""
    return sorted(_stored(con, athlete).values(), key=lambda r: (r["started_at"], r["session_key"]))


def app_sets(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    """Every stored app set of ``athlete`` with the user's exercise corrections applied
    (``exercise`` = the correction when there is one; ``exercise_as_imported``, ``corrected``,
    ``corrected_at`` say so), in session and position order."""
    cur = con.execute(
        """
        SELECT s.set_id, s.session_key, s.position, coalesce(c.exercise, s.exercise) AS exercise,
               s.exercise AS exercise_as_imported, c.exercise IS NOT NULL AS corrected, c.corrected_at,
               s.exercise_as_written, s.equipment, s.exercise_order, s.set_order, s.set_order_as_written,
               s.set_role, s.reps, s.load_kg, s.distance_m, s.duration_s, s.rpe, s.notes, s.superset_id, s.line,
               a.app
        FROM app_set s JOIN app_session a USING (athlete, session_key)
        LEFT JOIN set_correction c ON c.athlete = s.athlete AND c.set_id = s.set_id
        WHERE s.athlete = ?
        ORDER BY a.started_at, s.session_key, s.position
        """,
        [athlete],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def app_set_exists(con: duckdb.DuckDBPyConnection, athlete: str, set_id: str) -> bool:
    return bool(con.execute("SELECT 1 FROM app_set WHERE athlete = ? AND set_id = ?", [athlete, set_id]).fetchall())


def rezone(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    tz: str,
    to_utc: Callable[[dt.datetime], tuple[dt.datetime, str | None]],
) -> int:
    """Read the athlete's app workouts again in zone ``tz`` (``athlete set --tz``): the apps wrote
    wall-clock times, so the instant follows the athlete's zone. ``to_utc(start_local)`` gives the
    instant and a daylight-saving note. Runs in the caller's transaction; returns the workouts moved."""
    rows = []
    for old in _stored(con, athlete).values():
        if old["tz"] == tz:
            continue
        started_at, note = to_utc(old["start_local"])
        rows.append({**old, "tz": tz, "started_at": started_at, "local_time_note": note, "updated_at": _now()})
    _replace_sessions(con, athlete, rows, {})
    return len(rows)


def sessions_read_in_caller_unit(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    """Workouts whose export did not name its weight unit (read in the athlete's ``weight_unit``)."""
    return [r for r in _stored(con, athlete).values() if r["weight_unit_source"] == "caller"]


def rescale_sessions(
    con: duckdb.DuckDBPyConnection, athlete: str, changes: Mapping[str, tuple[str, float, str | None, float]]
) -> int:
    """Multiply the loads and distances of workouts read in the wrong unit (``athlete set
    --weight-unit``): ``changes`` = session_key -> (new weight unit, load factor, new distance unit
    or None to keep it, distance factor). Runs in the caller's transaction; returns the workouts changed."""
    if not changes:
        return 0
    keys = list(changes)
    stored = _stored(con, athlete, keys=keys)
    cur = con.execute(
        f"SELECT {', '.join(_SET_COLS)} FROM app_set WHERE athlete = ? "
        "AND list_contains(?::VARCHAR[], session_key) ORDER BY session_key, position",
        [athlete, keys],
    )
    sets_of: dict[str, list[dict[str, Any]]] = {k: [] for k in keys if k in stored}
    for r in cur.fetchall():
        x = dict(zip(_SET_COLS, r, strict=True))
        _unit, lf, _du, df = changes[x["session_key"]]
        if x["load_kg"] is not None:
            x["load_kg"] = x["load_kg"] * lf
        if x["distance_m"] is not None:
            x["distance_m"] = x["distance_m"] * df
        sets_of[x["session_key"]].append(x)
    rows = []
    for k in sets_of:
        unit, _lf, du, _df = changes[k]
        rows.append(
            {**stored[k], "weight_unit": unit, "distance_unit": du or stored[k]["distance_unit"], "updated_at": _now()}
        )
    _replace_sessions(con, athlete, rows, sets_of)
    return len(rows)


def ledger_corrections(con: duckdb.DuckDBPyConnection, athlete: str) -> list[dict[str, Any]]:
    """The athlete's stored ledger corrections, in the order they were made:
    ``{"action", "refs": [[source, source_session_id], ...], "corrected_at", "seq"}``."""
    import json

    rows = con.execute(
        "SELECT seq, action, refs, corrected_at FROM ledger_correction WHERE athlete = ? ORDER BY seq", [athlete]
    ).fetchall()
    return [
        {"seq": int(q), "action": a, "refs": json.loads(r) if isinstance(r, str) else r, "corrected_at": t}
        for q, a, r, t in rows
    ]


def add_ledger_correction(
    con: duckdb.DuckDBPyConnection, athlete: str, action: str, refs: Sequence[Sequence[str]]
) -> int:
    """Append a ledger correction (``split`` or ``merge`` of source sessions); returns its seq.
    Reads the last seq and appends in the caller's transaction."""
    import json

    if action not in ("split", "merge"):
        raise ValueError(f"unknown ledger correction {action!r}")
    [(last,)] = con.execute(
        "SELECT coalesce(max(seq), 0) FROM ledger_correction WHERE athlete = ?", [athlete]
    ).fetchall()
    seq = int(last) + 1
    insert_rows(
        con,
        "ledger_correction",
        [
            {
                "athlete": athlete,
                "seq": seq,
                "action": action,
                "refs": json.dumps([list(r) for r in refs]),
                "corrected_at": _now(),
            }
        ],
    )
    return seq
