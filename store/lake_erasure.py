"""Erasure on a lake: after ``athlete delete`` no Parquet file, and no row inlined in the catalog,
still holds the athlete's rows.

A DELETE on a DuckLake only writes delete files: the rows stay in their data files, and those
files stay on disk for as long as a snapshot references them (time travel). Expiring snapshots and
cleaning up files is not enough either when a data file holds other rows too (rows of several
athletes after a compaction, rows inlined in the catalog and flushed later). So, after the rows are
deleted (:func:`store.athletes.delete_athlete`), :func:`erase_from_lake_files`, under the
athlete's claim:

1. flushes rows inlined in the catalog into Parquet files (``ducklake_flush_inlined_data``), so
   that the deleted ones leave the catalog with the snapshots that referenced them;
2. rewrites every data file that has deletions (``ducklake_rewrite_data_files`` with
   ``delete_threshold => 0``): the new files hold only the rows still alive;
3. expires every snapshot older than now (``ducklake_expire_snapshots``): time travel to before
   the deletion ends here, for every table (the price of erasure);
4. deletes the files no snapshot references any more (``ducklake_cleanup_old_files``,
   ``cleanup_all``);
5. deletes the orphaned files (written by a writer killed before its commit) that hold the
   athlete's rows (``ducklake_delete_orphaned_files`` lists them); other orphans may belong to a
   writer still at work at another station and are left to the regular clean-up;
6. checks: every Parquet file under the data path (but the two tombstone tables' files, which
   keep the slug on purpose) and every inlined-data table of the catalog is scanned for the
   athlete; the counts found are returned (0 and 0, or the caller fails).

A station reading an old snapshot while this runs (a report being built) may find a file gone
and fail; it succeeds when run again.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import duckdb

from store import lake
from store.errors import StoreError
from store.lake import LAKE_ALIAS, META_ALIAS

TOMBSTONE_TABLES = ("deleted_file", "deleted_athlete")
"""What ``athlete delete`` keeps on purpose (docs/operations.md, "Deleting an athlete"): the slug
with the deleted files' sha256 and the time of the deletion. Their files are not scanned."""


class ErasureIncompleteError(StoreError):
    """A file or inlined row still holding the deleted athlete's rows was found (exit code 1)."""


def _call(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """A maintenance call, retried when DuckLake reports a conflict with another station's commit."""
    delay = 0.05
    for attempt in range(1, lake.MAX_ATTEMPTS + 1):
        try:
            return con.execute(sql, params or []).fetchall()
        except duckdb.Error as exc:
            s = lake.session(con)
            gone = s.unreachable(exc) if s is not None else None
            if gone is not None:
                raise gone from None
            if not lake.is_conflict(exc) or attempt == lake.MAX_ATTEMPTS:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def data_path(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT value FROM ducklake_options(?) WHERE option_name = 'data_path'", [LAKE_ALIAS]).fetchone()
    if row is None or not row[0]:
        raise StoreError("the lake names no data path")
    return str(row[0])


def _encrypted(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT value FROM ducklake_options(?) WHERE option_name = 'encrypted'", [LAKE_ALIAS]).fetchone()
    return bool(row and str(row[0]).lower() == "true")


def _quoted(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def files_holding(con: duckdb.DuckDBPyConnection, athlete: str, paths: list[str]) -> list[str]:
    """Which of the Parquet files ``paths`` hold a row whose ``athlete`` column is ``athlete``."""
    found: list[str] = []
    for k in range(0, len(paths), 256):
        chunk = paths[k : k + 256]
        rows = con.execute(
            f"SELECT DISTINCT filename FROM read_parquet({_quoted(chunk)}, filename = true, union_by_name = true) "
            "WHERE athlete = ?",
            [athlete],
        ).fetchall()
        found.extend(str(r[0]) for r in rows)
    return found


def parquet_files(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every Parquet file under the lake's data path (data and delete files, referenced or not)."""
    root = data_path(con).rstrip("/")
    return [str(r[0]) for r in con.execute("SELECT file FROM glob(?)", [root + "/**/*.parquet"]).fetchall()]


def _with_athlete_column(con: duckdb.DuckDBPyConnection, paths: list[str]) -> list[str]:
    """The files among ``paths`` that have an ``athlete`` column (delete files and tables without one do not)."""
    out = []
    for p in paths:
        cols = con.execute("SELECT name FROM parquet_schema(?)", [p]).fetchall()
        if any(c[0] == "athlete" for c in cols):
            out.append(p)
    return out


def inlined_rows_holding(con: duckdb.DuckDBPyConnection, athlete: str) -> int:
    """Rows of ``athlete`` in the catalog's inlined-data tables (PostgreSQL or SQLite)."""
    s = lake.session(con)
    if s is None:
        return 0
    lit = "'" + athlete.replace("'", "''") + "'"
    if s.config.kind == "postgres":
        names = [
            r[0]
            for r in con.execute(
                "SELECT * FROM postgres_query(?, 'SELECT table_name FROM ducklake_inlined_data_tables')", [META_ALIAS]
            ).fetchall()
        ]
        total = 0
        for name in names:
            has = con.execute(
                "SELECT * FROM postgres_query(?, 'SELECT count(*) FROM information_schema.columns "
                f"WHERE table_name = ''{name}'' AND column_name = ''athlete''')",
                [META_ALIAS],
            ).fetchone()
            if has and has[0]:
                row = con.execute(
                    "SELECT * FROM postgres_query(?, ?)",
                    [META_ALIAS, f"SELECT count(*) FROM {name} WHERE athlete = {lit}"],
                ).fetchone()
                total += int(row[0]) if row else 0
        return total
    names = [r[0] for r in con.execute(f"SELECT table_name FROM {META_ALIAS}.ducklake_inlined_data_tables").fetchall()]
    total = 0
    for name in names:
        cols = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {META_ALIAS}.{name})").fetchall()]
        if "athlete" in cols:
            row = con.execute(f"SELECT count(*) FROM {META_ALIAS}.{name} WHERE athlete = {lit}").fetchone()
            total += int(row[0]) if row else 0
    return total


def erase_from_lake_files(con: duckdb.DuckDBPyConnection, athlete: str) -> dict[str, int]:
    """Steps 1-6 of the module docstring for ``athlete`` (whose rows are already deleted); returns
    counts: ``snapshots_expired``, ``files_removed``, ``orphans_removed``, ``files_still_holding``,
    ``inlined_rows_still_holding``. Raises :class:`ErasureIncompleteError` if the check finds any."""
    if not lake.is_lake(con):
        return {}
    alias = LAKE_ALIAS
    with lake.claimed(con, lake.athlete_scope(athlete)), lake.errors_translated(con):
        _call(con, "CALL ducklake_flush_inlined_data(?)", [alias])
        _call(con, "CALL ducklake_rewrite_data_files(?, delete_threshold => 0)", [alias])
        expired = _call(con, "CALL ducklake_expire_snapshots(?, older_than => now())", [alias])
        removed = _call(con, "CALL ducklake_cleanup_old_files(?, cleanup_all => true)", [alias])
        encrypted = _encrypted(con)
        orphans_removed = 0
        if encrypted:
            # an orphan's key never reached the catalog: unreadable for good; old ones go
            orphans_removed = len(
                _call(con, "CALL ducklake_delete_orphaned_files(?, older_than => now() - INTERVAL 10 MINUTE)", [alias])
            )
        else:
            orphans = [
                str(r[0])
                for r in _call(
                    con, "CALL ducklake_delete_orphaned_files(?, cleanup_all => true, dry_run => true)", [alias]
                )
            ]
            for path in files_holding(con, athlete, _with_athlete_column(con, orphans)):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                orphans_removed += 1
        tombstones = {
            str(r[0])
            for t in TOMBSTONE_TABLES
            for r in con.execute("SELECT data_file FROM ducklake_list_files(?, ?)", [alias, t]).fetchall()
        }
        scanned = [p for p in parquet_files(con) if p not in tombstones]
        still = 0 if encrypted else len(files_holding(con, athlete, _with_athlete_column(con, scanned)))
        inlined = inlined_rows_holding(con, athlete)
    result = {
        "snapshots_expired": len(expired),
        "files_removed": len(removed),
        "orphans_removed": orphans_removed,
        "files_still_holding": still,
        "inlined_rows_still_holding": inlined,
    }
    if still or inlined:
        raise ErasureIncompleteError(
            f"athlete {athlete!r}: rows still found after erasure in {still} Parquet "
            f"file(s) and {inlined} inlined row(s) of lake data path "
            f"{Path(data_path(con))}: run `athlete delete` again"
        )
    return result
