"""Moving data between a DuckDB file and the lake: ``lake push`` and ``lake pull``.

``push`` copies a whole store file, or one athlete of it, into the lake. It is idempotent and
resumable after a kill: everything is copied in small transactions under the athlete's claim
(:mod:`store.lake`), each of which reads the lake's ledgers first and copies only what is
missing:

* per imported file (chunks of :data:`FILES_PER_TRANSACTION` files): its ``source_file`` row with
  the file's activities, records, laps and sets (the same unit an import commits);
* per stream session the lake does not hold: its session row, batches, raw frames, samples, gaps,
  reps and sets;
* then every other table with an ``athlete`` column (profile, corrections, exclusions, cached
  metrics, reference loads, import events, tombstones, and tables added by later migrations):
  rows whose primary key (on the file) the lake lacks, or, for tables without a key, rows the lake
  does not hold already. Where both hold a row with the same key (a correction made in both
  places), the lake's is kept.

``run_log`` and ``schema_migration`` belong to each store and are not copied.

``pull`` makes a local DuckDB copy of one athlete for offline work: in one transaction (one
snapshot of the lake) the athlete's rows in the file are replaced by the lake's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from store.connection import DatabaseLockedError, is_lock_error, parse_lock_holder
from store.lake import LAKE_ALIAS, athlete_scope, write_transaction

FILES_PER_TRANSACTION = 16
FILE_TABLES = ("activity", "record", "lap")
SESSION_TABLES = (
    "stream_batch",
    "ble_frame",
    "imu_sample",
    "hr_sample",
    "rsc_sample",
    "power_sample",
    "stream_gap",
    "rep",
)
NOT_COPIED = ("run_log", "schema_migration")
SRC = "runstrong_push_src"
DST = "runstrong_pull_dst"

Progress = Callable[[int, int], None]


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _attach(con: duckdb.DuckDBPyConnection, db_path: str | Path, alias: str, *, read_only: bool) -> None:
    path = Path(db_path).expanduser()
    try:
        con.execute(f"ATTACH {_sql_str(str(path))} AS {alias}{' (READ_ONLY)' if read_only else ''}")
    except duckdb.IOException as exc:
        if is_lock_error(exc):
            pid, prog = parse_lock_holder(str(exc))
            raise DatabaseLockedError(path, pid, prog, 0.0) from None
        raise


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
            "AND table_name = ? ORDER BY column_index",
            [database, table],
        ).fetchall()
    ]


def athlete_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    """Tables of ``database`` with an ``athlete`` column, in name order."""
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT table_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
            "AND column_name = 'athlete' ORDER BY 1",
            [database],
        ).fetchall()
        if r[0] not in NOT_COPIED
    ]


def _key(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    """The primary-key columns of ``table`` in the DuckDB file ``database`` (empty: no key)."""
    row = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = ? AND schema_name = 'main' "
        "AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [database, table],
    ).fetchone()
    return list(row[0]) if row else []


def _copy(con: duckdb.DuckDBPyConnection, table: str, where: str, params: list[Any], rows: Counter[str]) -> None:
    cols = ", ".join(f'"{c}"' for c in _columns(con, LAKE_ALIAS, table))
    n = con.execute(
        f'INSERT INTO {LAKE_ALIAS}.main."{table}" ({cols}) SELECT {cols} FROM {SRC}.main."{table}" s WHERE {where}',
        params,
    ).fetchone()
    rows[table] += int(n[0]) if n else 0


def _athletes(con: duckdb.DuckDBPyConnection) -> list[str]:
    tables = athlete_tables(con, SRC)
    if not tables:
        return []
    union = " UNION ".join(f'SELECT athlete FROM {SRC}.main."{t}"' for t in tables)
    return [r[0] for r in con.execute(f"SELECT DISTINCT athlete FROM ({union}) ORDER BY 1").fetchall()]


def push(
    con: duckdb.DuckDBPyConnection, db_path: str | Path, *, athlete: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Copy the DuckDB file ``db_path`` (migrated, not held by another process) into the lake of
    ``con`` (see the module docstring). Returns ``{"athletes": [...], "files": n, "sessions": n,
    "rows": {table: n}, "seconds": s}``; ``progress(done, total)`` counts transactions."""
    t0 = time.perf_counter()
    _attach(con, db_path, SRC, read_only=True)
    try:
        athletes = [athlete] if athlete is not None else _athletes(con)
        plan = []
        for a in athletes:
            files = [
                r[0]
                for r in con.execute(
                    f"SELECT sha256 FROM {SRC}.main.source_file s WHERE athlete = ? AND NOT EXISTS "
                    "(SELECT 1 FROM source_file l WHERE l.athlete = s.athlete AND l.sha256 = s.sha256) ORDER BY 1",
                    [a],
                ).fetchall()
            ]
            sessions = [
                r[0]
                for r in con.execute(
                    f"SELECT session_id FROM {SRC}.main.stream_session s WHERE athlete = ? AND NOT EXISTS "
                    "(SELECT 1 FROM stream_session l WHERE l.athlete = s.athlete AND l.session_id = s.session_id) "
                    "ORDER BY 1",
                    [a],
                ).fetchall()
            ]
            plan.append((a, files, sessions))
        total = sum(len(range(0, len(f), FILES_PER_TRANSACTION)) + len(s) + 1 for _, f, s in plan)
        done = 0
        rows: Counter[str] = Counter()
        n_files = n_sessions = 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        rest = [
            t
            for t in athlete_tables(con, SRC)
            if t not in ("source_file", *FILE_TABLES, "stream_session", *SESSION_TABLES)
        ]
        for a, files, sessions in plan:
            for k in range(0, len(files), FILES_PER_TRANSACTION):
                got = write_transaction(
                    con, partial(_push_files, con, a, files[k : k + FILES_PER_TRANSACTION]), scope=athlete_scope(a)
                )
                n_files += got[0]
                rows.update(got[1])
                step()
            for sid in sessions:
                got = write_transaction(con, partial(_push_session, con, a, sid), scope=athlete_scope(a))
                n_sessions += got[0]
                rows.update(got[1])
                step()
            rows.update(write_transaction(con, partial(_push_rest, con, a, rest), scope=athlete_scope(a)))
            step()
    finally:
        con.execute(f"DETACH {SRC}")
    return {
        "athletes": athletes,
        "files": n_files,
        "sessions": n_sessions,
        "rows": {t: n for t, n in sorted(rows.items()) if n},
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _push_files(con: duckdb.DuckDBPyConnection, athlete: str, chunk: list[str]) -> tuple[int, Counter[str]]:
    rows: Counter[str] = Counter()
    keep = [
        r[0]
        for r in con.execute(
            "SELECT sha FROM unnest(?::VARCHAR[]) t(sha) WHERE NOT EXISTS "
            "(SELECT 1 FROM source_file l WHERE l.athlete = ? AND l.sha256 = t.sha)",
            [chunk, athlete],
        ).fetchall()
    ]
    if not keep:
        return 0, rows
    _copy(con, "source_file", "s.athlete = ? AND list_contains(?::VARCHAR[], s.sha256)", [athlete, keep], rows)
    _copy(con, "activity", "s.athlete = ? AND list_contains(?::VARCHAR[], s.source_sha256)", [athlete, keep], rows)
    ids = (
        f"(SELECT activity_id FROM {SRC}.main.activity WHERE athlete = ? "
        "AND list_contains(?::VARCHAR[], source_sha256))"
    )
    for table in ("record", "lap", "strength_set"):
        _copy(con, table, f"s.athlete = ? AND s.activity_id IN {ids}", [athlete, athlete, keep], rows)
    return len(keep), rows


def _push_session(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> tuple[int, Counter[str]]:
    rows: Counter[str] = Counter()
    if (
        con.execute(
            "SELECT 1 FROM stream_session WHERE athlete = ? AND session_id = ?", [athlete, session_id]
        ).fetchone()
        is not None
    ):
        return 0, rows
    for table in ("stream_session", *SESSION_TABLES, "strength_set"):
        _copy(con, table, "s.athlete = ? AND s.session_id = ?", [athlete, session_id], rows)
    return 1, rows


def _push_rest(con: duckdb.DuckDBPyConnection, athlete: str, tables: list[str]) -> Counter[str]:
    rows: Counter[str] = Counter()
    for table in tables:
        key = _key(con, SRC, table) or _columns(con, SRC, table)
        match = " AND ".join(f'l."{c}" IS NOT DISTINCT FROM s."{c}"' for c in key)
        _copy(con, table, f'"s".athlete = ? AND NOT EXISTS (SELECT 1 FROM "{table}" l WHERE {match})', [athlete], rows)
    return rows


def pull(
    con: duckdb.DuckDBPyConnection, db_path: str | Path, athlete: str, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Replace ``athlete``'s rows in the DuckDB file ``db_path`` (migrated, not held by another
    process) by the lake's, in one transaction. Returns ``{"athletes": [athlete], "rows": {table: n},
    "seconds": s}``; ``progress(done, total)`` counts tables."""
    t0 = time.perf_counter()
    _attach(con, db_path, DST, read_only=False)
    rows: Counter[str] = Counter()
    try:
        tables = [t for t in athlete_tables(con, DST) if t in set(athlete_tables(con, LAKE_ALIAS))]
        con.execute("BEGIN TRANSACTION")
        try:
            for i, table in enumerate(tables, 1):
                cols = ", ".join(f'"{c}"' for c in _columns(con, DST, table))
                con.execute(f'DELETE FROM {DST}.main."{table}" WHERE athlete = ?', [athlete])
                n = con.execute(
                    f'INSERT INTO {DST}.main."{table}" ({cols}) SELECT {cols} FROM '
                    f'{LAKE_ALIAS}.main."{table}" WHERE athlete = ?',
                    [athlete],
                ).fetchone()
                rows[table] += int(n[0]) if n else 0
                if progress is not None:
                    progress(i, len(tables))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute(f"DETACH {DST}")
    return {
        "athletes": [athlete],
        "rows": {t: n for t, n in sorted(rows.items()) if n},
        "seconds": round(time.perf_counter() - t0, 3),
    }
