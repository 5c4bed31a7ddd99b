"""``export --parquet DIR``: the store as Hive-partitioned Parquet (zstd).

Layout: ``DIR/<table>/athlete=<slug>/year=<yyyy>/month=<m>/data_<n>.parquet`` written by DuckDB's
``COPY ... (FORMAT parquet, PARTITION_BY (...), COMPRESSION zstd)``. DuckDB, pyarrow.dataset and
Spark read the folders as-is and prune partitions from filters on athlete/year/month
(docs/design.md section 3, "Scale-out").

Partitioning rules (one :class:`TablePlan` per table):

* tables with an ``athlete`` column (all but the small ledgers) partition by it; stream tables
  (raw frames, samples, gaps, batches) take the time of their ``stream_session``, so one session's
  rows stay in one partition;
* tables with a time column partition by its UTC year and month (``t_ns`` epoch ns or a
  ``TIMESTAMPTZ``); the partition columns are in the path, not repeated inside the files;
* small ledgers without either (``schema_migration``) are written as a single file.

Every export is a whole snapshot swapped in atomically (:mod:`store.snapshot_dir`: ``DIR`` is a link
to its current generation); a plain folder at ``DIR`` holding anything but table folders, partition
folders and Parquet files is refused, never deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import duckdb

from store.snapshot_dir import OutputDirError, replaced_atomically


class TableExport(TypedDict):
    """One table of an export: rows written, Parquet files, partition columns."""

    rows: int
    files: int
    partition_by: list[str]


@dataclass(frozen=True)
class TablePlan:
    table: str
    #: SQL producing the rows plus partition columns (``athlete``, ``year``, ``month`` as applicable)
    select_sql: str
    partition_by: tuple[str, ...]


def _year_month_ts(col: str) -> str:
    """year/month of a TIMESTAMPTZ in UTC (independent of the session's TimeZone setting)."""
    return f"year({col} AT TIME ZONE 'UTC') AS year, month({col} AT TIME ZONE 'UTC') AS month"


def _year_month_ns(col: str) -> str:
    return f"year(make_timestamp({col} // 1000)) AS year, month(make_timestamp({col} // 1000)) AS month"


#: table -> its time column (TIMESTAMPTZ unless named t_ns)
_TIME_COLUMN: dict[str, str] = {
    "activity": "started_at",
    "record": "t_ns",
    "lap": "started_at",
    "strength_set": "started_at",
    "stream_session": "started_at",
    "rep": "started_at",
    "source_file": "imported_at",
    "import_event": "logged_at",
    "set_correction": "corrected_at",
    "activity_exclusion": "excluded_at",
    "run_metric": "computed_at",
    "reference_load": "fixed_at",
    "athlete": "created_at",
    "run_log": "started_at",
}

#: tables that carry only ``session_id``: partitioned by their stream session's athlete and start
_SESSION_TABLES: tuple[str, ...] = (
    "stream_batch",
    "ble_frame",
    "imu_sample",
    "hr_sample",
    "rsc_sample",
    "power_sample",
    "stream_gap",
)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "AND table_catalog = current_database() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' AND table_catalog = current_database() ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def plan_table(con: duckdb.DuckDBPyConnection, table: str) -> TablePlan:
    """How ``table`` is written: the SELECT feeding COPY and its partition columns."""
    cols = _columns(con, table)
    if table in _SESSION_TABLES and "session_id" in cols:
        select_cols = ", ".join(f"x.{_q(c)}" for c in cols)  # athlete included
        sql = (
            f"SELECT {select_cols}, {_year_month_ts('s.started_at')} "
            f"FROM {_q(table)} x LEFT JOIN stream_session s USING (athlete, session_id)"
        )
        return TablePlan(table, sql, ("athlete", "year", "month"))
    parts: list[str] = []
    extra: list[str] = []
    if "athlete" in cols:
        parts.append("athlete")
    tcol = _TIME_COLUMN.get(table)
    if tcol is not None and tcol in cols:
        extra.append(_year_month_ns(tcol) if tcol == "t_ns" else _year_month_ts(tcol))
        parts += ["year", "month"]
    sql = f"SELECT *{', ' if extra else ''}{', '.join(extra)} FROM {_q(table)}"
    return TablePlan(table, sql, tuple(parts))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class ExportError(OutputDirError):
    """The output folder holds something that is not a previous export (or is a file)."""


def _check_previous_export(folder: Path) -> None:
    """A plain folder found at the output path may be replaced only if it is a previous export:
    table folders holding partition folders and Parquet files."""
    for p in folder.rglob("*"):
        ok = (p.is_dir() and (p.parent == folder or "=" in p.name)) or (p.is_file() and p.suffix == ".parquet")
        if not ok:
            raise ExportError(f"refusing to replace {folder}: {p} is not part of a Parquet export")


def export_parquet(
    con: duckdb.DuckDBPyConnection, out_dir: Path | str, *, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Write every table of the store under ``out_dir`` as Hive-partitioned, zstd Parquet.

    The whole export is written into a new folder and swapped in atomically
    (:mod:`store.snapshot_dir`): a reader of ``out_dir`` sees the previous export or this one,
    never a mix, whatever happens part-way (an error or a kill).

    Returns ``{"out_dir": str, "tables": {table: {"rows": int, "files": int,
    "partition_by": [str]}}, "rows": int, "files": int, "seconds": float}``.
    Empty tables are listed with ``rows`` 0 and no folder. ``progress(rows_done, rows_total)`` is
    called after each table.
    """
    t0 = time.perf_counter()
    out = Path(out_dir).expanduser().absolute()
    tables: dict[str, TableExport] = {}
    counts = {t: int(con.execute(f"SELECT count(*) FROM {_q(t)}").fetchall()[0][0]) for t in _tables(con)}
    total, done = sum(counts.values()), 0
    try:
        with replaced_atomically(out, _check_previous_export) as gen:
            for table, n in counts.items():
                tables[table] = _export_table(con, table, n, gen)
                done += n
                if progress is not None:
                    progress(done, total)
    except OutputDirError as exc:
        raise ExportError(str(exc)) from None
    return {
        "out_dir": str(out),
        "tables": tables,
        "rows": sum(t["rows"] for t in tables.values()),
        "files": sum(t["files"] for t in tables.values()),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _export_table(con: duckdb.DuckDBPyConnection, table: str, n: int, gen: Path) -> TableExport:
    plan = plan_table(con, table)
    if n == 0:
        return {"rows": 0, "files": 0, "partition_by": list(plan.partition_by)}
    target = gen / table
    options = ["FORMAT parquet", "COMPRESSION zstd"]
    if plan.partition_by:
        options.append(f"PARTITION_BY ({', '.join(plan.partition_by)})")
        dest = target
    else:
        target.mkdir()
        dest = target / "data_0.parquet"
    con.execute(f"COPY ({plan.select_sql}) TO {_sql_str(str(dest))} ({', '.join(options)})")
    files = sum(1 for _ in target.rglob("*.parquet"))
    return {"rows": n, "files": files, "partition_by": list(plan.partition_by)}
