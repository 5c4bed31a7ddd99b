"""Landing files for live streams, and their idempotent merge into the main store.

Why (docs/design.md section 3): only one process may hold the main DuckDB file, and while it does no
other process can open it at all. A live session therefore never holds the main file: it writes
to its own landing file ``<db file>.landing/<session_id>.duckdb`` in committed batches, and the
session is merged into the main file when it ends (or, after a crash, by the next process that
holds the main file: ``import``, ``report``, ``nightly``...).

Landing file layout (version 2)
-------------------------------
* ``landing_batch``: one row per batch, written by ONE autocommitted INSERT, so a batch is either
  wholly present or absent and its row is its own ledger entry: ``session_id``, ``batch_seq``,
  ``frames``, ``samples``, ``committed_at`` (the main ``stream_batch`` columns), the gaps closed in
  the batch (``gap_start_ns[]``, ``gap_end_ns[]``), and the batch's rows as Arrow IPC streams:
  ``ble_frame`` (``seq``, ``t_ns``, ``char``, ``payload``) and one column per sample table
  (``imu_sample``, ``hr_sample``, ``rsc_sample``, ``power_sample``) holding that table's columns
  without ``session_id``. :func:`read_landing` turns a file back into tables.
* ``stream_session``, ``rep``, ``strength_set``: the main schema's tables (created from the main
  migrations, so they never drift apart), written at the session's start and end.
* ``landing_owner``: one row (pid, host, process start, started_at, finished_at).

Pending landing files
---------------------
The session id needs the session's first 64 payloads (:func:`session_id_for`), ~0.5 s of a 1 kHz
IMU and a minute of a heart-rate strap. Until it is known, batches go to a *pending* landing file,
``<db file>.landing/pending-<16 hex of sha256(device address, started_at)>.duckdb``, under that
pending id, so they are durable from the first batch on (a crash loses at most the last unflushed
batch, as everywhere else). Once the id is known, :meth:`LandingWriter.promote` copies the
batches into ``<session_id>.duckdb`` (only those it lacks) and removes the pending file after that
commit. A pending file left by a crash is promoted by :func:`merge_pending` the same way, with the
id computed from the device address, ``started_at`` and the first 64 payloads the file holds, so
the recovered session has the id the replay of its capture would give it.

Why blobs and not one table per kind of row: a DuckDB statement costs ~0.5-2 ms of CPU whatever it
carries (parse, plan, commit), so the first layout (three INSERTs + BEGIN/COMMIT per batch into
row tables) cost ~10-20 ms of CPU per 100 ms batch, 10-20 % of a core at 1 kHz. One INSERT of two
small blobs costs ~2-4 ms (measured in ``benchmarks/bench_stream.py``). The landing file is a
transit file: the merge turns it into the main file's row tables.

Files written by the first layout (per-batch rows in ``ble_frame``/``*_sample``/``stream_gap`` with a
``batch_seq`` column, ledger in ``stream_batch``), e.g. left by a crash, are still merged.

The merge writes one transaction per range of batches on the main file (their rows with their ledger
rows), then one for the session row, reps and sets; the landing file is removed only after the last.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.ipc as pa_ipc

from records.identity import PENDING_PREFIX, SESSION_ID_PAYLOADS, session_id_for
from store.athletes import ensure_athlete
from store.connection import StoreError, is_lock_error
from store.lake import athlete_scope, is_lake, write_transaction
from store.processes import pid_alive, process_start_ticks
from store.schema import migrate
from store.session_writer import CHUNK_ROWS, WRITE_MEMORY_LIMIT
from store.writers import columns_to_arrow, insert_columns, insert_rows, row_dict

BATCH_TABLES = ("ble_frame", "imu_sample", "hr_sample", "rsc_sample", "power_sample", "stream_gap")
SESSION_TABLES = ("stream_session", "stream_batch", "rep", "strength_set")
SAMPLE_TABLES = ("imu_sample", "hr_sample", "rsc_sample", "power_sample")
LANDING_SESSION_TABLES = ("stream_session", "rep", "strength_set")
"""Main-schema tables a version-2 landing file holds as they are."""
BLOB_TABLES = ("ble_frame", *SAMPLE_TABLES)
"""The tables whose rows a ``landing_batch`` row carries as Arrow IPC blobs (one column each)."""
_LANDING_BATCH_SCHEMA = (
    ("session_id", "VARCHAR NOT NULL"),
    ("batch_seq", "BIGINT NOT NULL"),
    ("frames", "INTEGER NOT NULL"),
    ("samples", "INTEGER NOT NULL"),
    ("committed_at", "TIMESTAMPTZ NOT NULL"),
    ("gap_start_ns", "BIGINT[]"),
    ("gap_end_ns", "BIGINT[]"),
    *((t, "BLOB") for t in BLOB_TABLES),
)
LANDING_BATCH_COLUMNS = tuple(name for name, _ in _LANDING_BATCH_SCHEMA)
LANDING_BATCH_DDL = f"CREATE TABLE landing_batch ({', '.join(f'{n} {t}' for n, t in _LANDING_BATCH_SCHEMA)})"
MERGE_CHUNK_BATCHES = 2000
"""Batches decoded per step of a merge (bounds its memory: ~25 MB at 1 kHz)."""
LANDING_MEMORY_LIMIT = "64MB"
"""DuckDB's memory limit for a landing file's writer: its buffer pool otherwise keeps the blocks it wrote
(up to 80 % of the machine), and a live session's process grew with the landing file."""

_DDL_CACHE: dict[str, str] = {}
_COLUMNS_CACHE: dict[str, frozenset[str]] = {}
_TYPES_CACHE: dict[str, dict[str, str]] = {}


_ALIAS_COUNTER = itertools.count(1)


def _tables(con: duckdb.DuckDBPyConnection, database: str | None = None) -> set[str]:
    """Names of the tables of ``con``'s database (or of the attached ``database``)."""
    if database is None:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [database]).fetchall()
    }


def _main_ddl() -> dict[str, str]:
    """CREATE TABLE statements of the stream tables as the main migrations define them."""
    if not _DDL_CACHE:
        mem = duckdb.connect(":memory:")
        try:
            migrate(mem)
            for name in BATCH_TABLES + SESSION_TABLES:
                row = mem.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()
                if row is None:
                    raise RuntimeError(f"the main schema has no table {name!r}")
                _DDL_CACHE[name] = row[0]
                cols = mem.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
                    [name],
                ).fetchall()
                _COLUMNS_CACHE[name] = frozenset(c for c, _ in cols)
                _TYPES_CACHE[name] = dict(cols)
        finally:
            mem.close()
    return _DDL_CACHE


def landing_dir(db_path: str | Path) -> Path:
    """``<db file>.landing``."""
    p = Path(db_path).expanduser()
    return p.with_name(p.name + ".landing")


def landing_path(db_path: str | Path, athlete: str, session_id: str) -> Path:
    """``<db file>.landing/<athlete>/<session_id>.duckdb``: one folder per athlete, so the same capture
    streamed or replayed under two athletes lands in two files, and deleting an athlete removes
    exactly that athlete's folder."""
    return landing_dir(db_path) / athlete / f"{session_id}.duckdb"


def landing_files(db_path: str | Path, *, pending: bool) -> list[Path]:
    """Landing files of ``db_path``: pending ones (``pending=True``) or named ones, in the athlete
    folders and, left by versions before the athlete folders, in the landing directory itself."""
    directory = landing_dir(db_path)
    if not directory.is_dir():
        return []
    found = [*directory.glob("*/*.duckdb"), *directory.glob("*.duckdb")]
    return sorted(p for p in found if p.name.startswith(PENDING_PREFIX) == pending)


class LandingBusyError(StoreError):
    """The landing file is held by a live process (or open elsewhere in this one)."""


def _ipc_bytes(columns: Mapping[str, Any]) -> bytes:
    """Columns (equal lengths) as one Arrow IPC stream."""
    table = columns_to_arrow(columns)
    sink = pa.BufferOutputStream()
    with pa_ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()  # pyarrow has no type stubs
    return data


def _ipc_table(blob: bytes) -> pa.Table:
    return pa_ipc.open_stream(pa.py_buffer(blob)).read_all()


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The first value of the one row ``sql`` returns (a count, an INSERT's row count)."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise StoreError(f"expected one row, the query returned none: {sql}")
    return row[0]


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class LandingWriter:
    """Writes one stream session to its landing file. Not thread-safe; one per session.

    Opening an existing landing file (a replay of the same capture, or a session restarted after
    its previous run was cut off) keeps what it holds: batches whose ``batch_seq`` is already in
    it are skipped by :meth:`write_batch`, so the file never holds a batch twice.
    """

    def __init__(self, db_path: str | Path, session_id: str, session_row: Mapping[str, Any]) -> None:
        self.db_path = Path(db_path).expanduser()
        self.athlete = str(session_row["athlete"])
        self.path = landing_path(db_path, self.athlete, session_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.session_id = session_id
        try:
            self.con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            if is_lock_error(exc):
                raise LandingBusyError(f"landing file {self.path} is in use by another process: {exc}") from None
            raise
        # one small statement per batch: DuckDB's worker threads only add scheduling cost here
        self.con.execute("SET threads = 1")
        # A transit file needs no compression. With it, the automatic checkpoint (every 16 MB of
        # WAL: ~3 minutes at 1 kHz) took 4.2 s of one commit, analysing the blobs; uncompressed it
        # takes ~0.15 s (benchmarks/bench_stream.py, "long session").
        self.con.execute("SET force_compression = 'uncompressed'")
        self.con.execute(f"SET memory_limit = '{LANDING_MEMORY_LIMIT}'")
        self._create()
        self.committed: set[int] = self._committed_seqs()
        self.commit_seconds: list[float] = []
        self._sid_sql = _sql_literal(session_id)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute("DELETE FROM landing_owner")
            self.con.execute(
                "INSERT INTO landing_owner VALUES (?, ?, ?, ?, ?, NULL)",
                [os.getpid(), socket.gethostname(), process_start_ticks(os.getpid()), session_id, datetime.now(UTC)],
            )
            self._upsert("stream_session", session_row)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _create(self) -> None:
        """Create the layout in one transaction: a crash never leaves half of it."""
        existing = _tables(self.con)
        ddl = _main_ddl()
        self.con.execute("BEGIN TRANSACTION")
        try:
            for name in LANDING_SESSION_TABLES:
                if name not in existing:
                    self.con.execute(ddl[name])
                    continue
                # a file written before a migration added columns: add them (NULL in the old rows)
                have = {
                    r[0]
                    for r in self.con.execute(
                        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name]
                    ).fetchall()
                }
                for col, typ in _TYPES_CACHE[name].items():
                    if col not in have:
                        self.con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{col}" {typ}')
            if "landing_batch" not in existing:
                self.con.execute(LANDING_BATCH_DDL)
            if "landing_owner" not in existing:
                self.con.execute(
                    "CREATE TABLE landing_owner (pid INTEGER NOT NULL, host VARCHAR NOT NULL, "
                    "pid_start_ticks BIGINT, session_id VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, "
                    "finished_at TIMESTAMPTZ)"
                )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _upsert(self, table: str, row: Mapping[str, Any]) -> None:
        cols = list(row)
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        self.con.execute(f'INSERT OR REPLACE INTO "{table}" ({names}) VALUES ({marks})', [row[c] for c in cols])

    def write_batch(
        self,
        batch_seq: int,
        frames: Mapping[str, Any],
        samples: Mapping[str, Mapping[str, Any]] | None = None,
        gaps: Sequence[tuple[int, int]] = (),
    ) -> bool:
        """Commit one batch (one INSERT): ``ble_frame`` rows, sample rows per table, gaps, ledger.

        ``frames`` has columns ``seq``, ``t_ns``, ``char``, ``payload``; ``samples`` maps a sample
        table to its columns (without ``session_id``). Returns False if this ``batch_seq`` was
        already committed (nothing written).
        """
        if batch_seq in self.committed:
            return False
        t0 = time.perf_counter()
        n_frames = len(frames.get("seq", ()))
        if n_frames and set(frames) != {"seq", "t_ns", "char", "payload"}:
            raise ValueError(f"frames need the columns seq, t_ns, char, payload; got {sorted(frames)}")
        names = ["ble_frame"] if n_frames else []
        blobs = [_ipc_bytes(frames)] if n_frames else []
        n_samples = 0
        for table, cols in (samples or {}).items():
            if table not in SAMPLE_TABLES:
                raise ValueError(f"not a sample table: {table!r}")
            unknown = set(cols) - _COLUMNS_CACHE[table]
            if unknown:  # checked here: the blob is only unpacked into the table at the merge
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
            n = len(cols.get("t_ns", ()))
            if n:
                names.append(table)
                blobs.append(_ipc_bytes(cols))
                n_samples += n
        # integers and the session id (16 hex digits, quoted anyway) as literals: bound parameters
        # cost more than they carry here
        gap_cols = ""
        gap_vals = ""
        if gaps:
            gap_cols = ", gap_start_ns, gap_end_ns"
            gap_vals = (
                f", [{', '.join(str(int(g[0])) for g in gaps)}]::BIGINT[]"
                f", [{', '.join(str(int(g[1])) for g in gaps)}]::BIGINT[]"
            )
        blob_cols = "".join(f", {n}" for n in names)
        marks = ", ?" * len(blobs)
        self.con.execute(
            f"INSERT INTO landing_batch (session_id, batch_seq, frames, samples, committed_at{gap_cols}{blob_cols}) "
            f"VALUES ({self._sid_sql}, {int(batch_seq)}, {n_frames}, {n_samples}, now(){gap_vals}{marks})",
            blobs,
        )
        self.commit_seconds.append(time.perf_counter() - t0)
        self.committed.add(batch_seq)
        return True

    def finish(self, session_row: Mapping[str, Any], reps: Sequence[Any] = (), sets: Sequence[Any] = ()) -> None:
        """Final transaction: the session row (complete), the reps and sets (``records.reps.RepRow``
        and ``records.activities.SetRow``, or row mappings), owner finished."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._upsert("stream_session", session_row)
            self.con.execute("DELETE FROM rep WHERE session_id = ?", [self.session_id])
            self.con.execute("DELETE FROM strength_set WHERE session_id = ?", [self.session_id])
            if reps:
                insert_rows(self.con, "rep", [row_dict(self.athlete, r) for r in reps])
            if sets:
                insert_rows(self.con, "strength_set", [row_dict(self.athlete, s) for s in sets])
            self.con.execute("UPDATE landing_owner SET finished_at = ?", [datetime.now(UTC)])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.con.close()

    def adopt(self, source: str | Path) -> int:
        """Copy the batches of landing file ``source`` (layout 2, closed) that this file lacks,
        under this writer's session id, in one INSERT; returns how many were copied."""
        with _attached(self.con, Path(source), read_only=True) as alias:
            rest = ", ".join(LANDING_BATCH_COLUMNS[1:])
            n = _scalar(
                self.con,
                f"INSERT INTO landing_batch ({', '.join(LANDING_BATCH_COLUMNS)}) SELECT {self._sid_sql}, {rest} "
                f"FROM {alias}.landing_batch WHERE batch_seq NOT IN "
                f"(SELECT batch_seq FROM landing_batch WHERE session_id = {self._sid_sql})",
            )
        self.committed = self._committed_seqs()
        return int(n)

    def _committed_seqs(self) -> set[int]:
        return {
            int(r[0])
            for r in self.con.execute(
                "SELECT batch_seq FROM landing_batch WHERE session_id = ?", [self.session_id]
            ).fetchall()
        }

    def promote(self, session_id: str, session_row: Mapping[str, Any]) -> LandingWriter:
        """This pending writer's session under its real id: the writer of ``<session_id>.duckdb``,
        holding every batch written here; this file is closed and removed once they are committed
        there (a crash in between leaves both, and the merge of either is idempotent)."""
        self.close()
        real = LandingWriter(self.db_path, session_id, {**session_row, "athlete": self.athlete})
        real.adopt(self.path)
        real.commit_seconds[:0] = self.commit_seconds
        remove_landing_file(self.path)
        return real


@dataclass
class MergeResult:
    session_id: str | None
    landing_path: str
    batches_merged: int = 0
    batches_skipped: int = 0
    frames: int = 0
    samples: int = 0
    reps: int = 0
    sets: int = 0
    status: str | None = None
    removed: bool = False
    seconds: float = 0.0
    sample_rows: dict[str, int] = field(default_factory=dict)


def _columns(con: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = ? "
        "AND database_name = current_database() ORDER BY column_index",
        [table, schema],
    ).fetchall()
    return [r[0] for r in rows]


def _shared_columns(con: duckdb.DuckDBPyConnection, alias: str, table: str) -> list[str]:
    """The main table's columns that the attached landing file's table has too, in the main order: a
    landing file written before a migration added columns lacks them (they get their default)."""
    theirs = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ?", [alias, table]
        ).fetchall()
    }
    return [c for c in _columns(con, table) if c in theirs]


def _count(result: MergeResult, table: str, n: int) -> None:
    if table == "ble_frame":
        result.frames += n
    elif table in SAMPLE_TABLES:
        result.sample_rows[table] = result.sample_rows.get(table, 0) + n
        result.samples += n


_BATCH_ROW_SQL = f"l.session_id, l.batch_seq, l.gap_start_ns, l.gap_end_ns, {', '.join('l.' + t for t in BLOB_TABLES)}"


def _decode_batches(rows: Sequence[tuple[Any, ...]], athlete: str) -> dict[str, pa.Table]:
    """``landing_batch`` rows (columns of ``_BATCH_ROW_SQL``) as row tables: ``ble_frame``, the sample
    tables present and ``stream_gap``, each with ``athlete``, ``session_id`` and ``batch_seq`` columns."""
    parts: dict[str, list[pa.Table]] = {}
    gaps: dict[str, list[Any]] = {"session_id": [], "start_ns": [], "end_ns": [], "batch_seq": []}
    for row in rows:
        sid, seq = row[0], row[1]
        for start, end in zip(row[2] or [], row[3] or [], strict=True):
            for k, v in zip(gaps, (sid, start, end, seq), strict=True):
                gaps[k].append(v)
        for table, blob in zip(BLOB_TABLES, row[4:], strict=True):
            if blob is not None:
                part = _ipc_table(blob)
                part = part.add_column(0, "session_id", pa.array([sid] * part.num_rows, pa.string()))
                part = part.add_column(0, "athlete", pa.array([athlete] * part.num_rows, pa.string()))
                parts.setdefault(table, []).append(
                    part.append_column("batch_seq", pa.array([seq] * part.num_rows, pa.int64()))
                )
    out = {t: pa.concat_tables(p, promote_options="default").combine_chunks() for t, p in parts.items()}
    out["stream_gap"] = pa.table(
        {
            "athlete": pa.array([athlete] * len(gaps["session_id"]), pa.string()),
            "session_id": pa.array(gaps["session_id"], pa.string()),
            "start_ns": pa.array(gaps["start_ns"], pa.int64()),
            "end_ns": pa.array(gaps["end_ns"], pa.int64()),
            "batch_seq": pa.array(gaps["batch_seq"], pa.int64()),
        }
    )
    return out


def _copy_batches(
    main_con: duckdb.DuckDBPyConnection, alias: str, athlete: str, seqs: list[int], result: MergeResult
) -> None:
    """Version-2 layout: decode the new batches' (``seqs``, in order) Arrow IPC blobs, insert them
    table by table."""
    for k in range(0, len(seqs), MERGE_CHUNK_BATCHES):
        chunk = seqs[k : k + MERGE_CHUNK_BATCHES]
        rows = main_con.execute(
            f"SELECT {_BATCH_ROW_SQL} FROM {alias}.landing_batch l "
            "WHERE list_contains(?::BIGINT[], l.batch_seq) ORDER BY l.batch_seq",
            [chunk],
        ).fetchall()
        for table, rows_of_table in _decode_batches(rows, athlete).items():
            columns = {name: rows_of_table.column(name) for name in rows_of_table.column_names if name != "batch_seq"}
            _count(result, table, insert_columns(main_con, table, columns))


def _copy_batches_first_layout(
    main_con: duckdb.DuckDBPyConnection, alias: str, athlete: str, seqs: list[int], result: MergeResult
) -> None:
    """First layout: row tables with a ``batch_seq`` column (and no athlete), copied in SQL."""
    for table in BATCH_TABLES:
        cols = ", ".join(_sql_literal(athlete) if c == "athlete" else f'x."{c}"' for c in _columns(main_con, table))
        names = ", ".join(f'"{c}"' for c in _columns(main_con, table))
        n = _scalar(
            main_con,
            f'INSERT INTO "{table}" ({names}) SELECT {cols} FROM {alias}."{table}" x '
            "WHERE list_contains(?::BIGINT[], x.batch_seq)",
            [seqs],
        )
        _count(result, table, n)


@contextlib.contextmanager
def _busy_as_landing_error(path: str | Path) -> Iterator[None]:
    """DuckDB's 'already open here' / lock errors on a landing file as :class:`LandingBusyError`."""
    try:
        yield
    except duckdb.ConnectionException:
        raise LandingBusyError(f"landing file {path} is open in this process") from None
    except duckdb.IOException as exc:
        if is_lock_error(exc):
            raise LandingBusyError(f"landing file {path} is in use by another process") from None
        raise


@contextlib.contextmanager
def _attached(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool = False) -> Iterator[str]:
    """ATTACH a landing file to ``con`` under a fresh alias (unique per call: two attachments in one
    process never collide) and yield the alias; DETACH afterwards, never masking the block's own
    error. Busy files raise :class:`LandingBusyError`."""
    alias = f"landing_src_{next(_ALIAS_COUNTER)}"
    with _busy_as_landing_error(path):
        con.execute(f"ATTACH '{_sql_str(path)}' AS {alias}{' (READ_ONLY)' if read_only else ''}")
    try:
        yield alias
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DETACH {alias}")


def merge_landing(
    main_con: duckdb.DuckDBPyConnection, landing: str | Path, *, recovered: bool = False, remove: bool = True
) -> MergeResult:
    """Copy a landing file's batches that the main ledger lacks, upsert its session, reps, sets.

    Idempotent: the ``(session_id, batch_seq)`` ledger decides what is new. A transaction per range of
    batches on the main connection, then one for the session (:func:`_merge_attached`); the landing file
    (and its WAL) is removed only after the last commit.
    ``recovered`` marks a session whose writer died before finishing (status ``recovered``).
    """
    path = Path(landing)
    if path.name.startswith(PENDING_PREFIX):
        raise ValueError(f"{path} is a pending landing file: promote it first (promote_pending_file)")
    t0 = time.perf_counter()
    result = MergeResult(None, str(path))
    with _attached(main_con, path) as alias:
        layout_v2 = "landing_batch" in _tables(main_con, alias)
        ledger = f"{alias}.landing_batch" if layout_v2 else f"{alias}.stream_batch"
        sessions = main_con.execute(
            f"SELECT DISTINCT session_id FROM {ledger} UNION SELECT session_id FROM {alias}.stream_session"
        ).fetchall()
        if len(sessions) > 1:
            raise ValueError(f"landing file {path} holds several sessions: {[s[0] for s in sessions]}")
        owners = main_con.execute(f"SELECT DISTINCT athlete FROM {alias}.stream_session").fetchall()
        if len(owners) != 1:
            raise ValueError(f"landing file {path} names {len(owners)} athletes (needs exactly one session row)")
        athlete = str(owners[0][0])
        result.session_id = sessions[0][0] if sessions else None
        if _written_before_deletion(main_con, alias, athlete):
            result.status = "discarded"
        else:
            _merge_attached(main_con, alias, athlete, layout_v2, recovered, result)
    if remove:
        remove_landing_file(path)
        result.removed = True
    result.seconds = time.perf_counter() - t0
    return result


def _written_before_deletion(main_con: duckdb.DuckDBPyConnection, alias: str, athlete: str) -> bool:
    """True if ``athlete`` was deleted after this landing file was started: its data is gone for
    good (a crash between `athlete delete` and the removal of the file must not bring it back)."""
    deleted = main_con.execute("SELECT max(deleted_at) FROM deleted_athlete WHERE athlete = ?", [athlete]).fetchone()
    if deleted is None or deleted[0] is None:
        return False
    source = (
        f"(SELECT started_at FROM {alias}.landing_owner)"
        if "landing_owner" in _tables(main_con, alias)
        else f"(SELECT started_at FROM {alias}.stream_session)"
    )
    started = main_con.execute(f"SELECT min(started_at) FROM {source}").fetchone()
    return started is None or started[0] is None or started[0] <= deleted[0]


def _merge_attached(
    main_con: duckdb.DuckDBPyConnection, alias: str, athlete: str, layout_v2: bool, recovered: bool, result: MergeResult
) -> None:
    """The merge transactions of :func:`merge_landing` (the landing file attached as ``alias``).

    Several transactions, as a batch replay writes (``store.session_writer``: DuckDB keeps a
    transaction's appended rows in memory, so one transaction for a long session held hundreds of MB):
    one per range of the landing file's batches (:func:`_merge_ranges`), each holding those batches'
    rows and ledger rows that the main ledger lacks, then one for the session row, its reps and sets.
    Each runs under the athlete's claim on a lake (``store.lake``) and reads the ledger inside it, so a
    session merged by two stations at once, or twice, is stored once; a crash in between leaves whole
    batches, and the next merge of the landing file (which stays) adds the rest. No temporary table
    and no ``INSERT OR IGNORE``: a lake transaction writes to the lake only, and has no keys."""
    ledger = f"{alias}.landing_batch" if layout_v2 else f"{alias}.stream_batch"
    for name in ("batches_merged", "batches_skipped", "frames", "samples", "reps", "sets"):
        setattr(result, name, 0)
    result.sample_rows = {}
    landed = main_con.execute(f"SELECT batch_seq, frames FROM {ledger} ORDER BY 1").fetchall()

    def copy(seqs: list[int]) -> MergeResult:
        part = MergeResult(None, "")
        if _written_before_deletion(main_con, alias, athlete):  # deleted since the merge began (a lake)
            part.status = "discarded"
            return part
        ensure_athlete(main_con, athlete)
        new = [
            int(r[0])
            for r in main_con.execute(
                f"SELECT l.batch_seq FROM {ledger} l "
                "ANTI JOIN (SELECT session_id, batch_seq FROM stream_batch WHERE athlete = ?) m "
                "ON l.session_id = m.session_id AND l.batch_seq = m.batch_seq "
                "WHERE list_contains(?::BIGINT[], l.batch_seq) ORDER BY 1",
                [athlete, seqs],
            ).fetchall()
        ]
        part.batches_merged = len(new)
        if not new:
            return part
        if layout_v2:
            _copy_batches(main_con, alias, athlete, new, part)
        else:
            _copy_batches_first_layout(main_con, alias, athlete, new, part)
        main_con.execute(
            f"INSERT INTO stream_batch (athlete, session_id, batch_seq, frames, samples, committed_at) "
            f"SELECT ?, l.session_id, l.batch_seq, l.frames, l.samples, l.committed_at FROM {ledger} l "
            "WHERE list_contains(?::BIGINT[], l.batch_seq)",
            [athlete, new],
        )
        return part

    def finish() -> None:
        if _written_before_deletion(main_con, alias, athlete):
            result.status = "discarded"
            return
        ensure_athlete(main_con, athlete)
        ss_cols = _shared_columns(main_con, alias, "stream_session")
        names = ", ".join(f'"{c}"' for c in ss_cols)
        # A complete session in the main file is never downgraded by a partial landing file
        # (a replay of it that was cut off): replace the row only with a complete one.
        main_con.execute(
            f"DELETE FROM stream_session m WHERE EXISTS (SELECT 1 FROM {alias}.stream_session l "
            "WHERE l.athlete = m.athlete AND l.session_id = m.session_id "
            "AND (l.status = 'complete' OR m.status <> 'complete'))"
        )
        sel = ", ".join(
            "CASE WHEN l.status = 'complete' THEN l.status ELSE 'recovered' END"
            if c == "status" and recovered
            else f'l."{c}"'
            for c in ss_cols
        )
        main_con.execute(
            f"INSERT INTO stream_session ({names}) SELECT {sel} FROM {alias}.stream_session l "
            "WHERE NOT EXISTS (SELECT 1 FROM stream_session m WHERE m.athlete = l.athlete "
            "AND m.session_id = l.session_id)"
        )
        # Reps and sets are the session's final analysis: replace them as a whole.
        has_final = _scalar(main_con, f"SELECT count(*) FROM {alias}.stream_session WHERE status = 'complete'") > 0
        if has_final:
            for table in ("rep", "strength_set"):
                cols = _shared_columns(main_con, alias, table)
                names = ", ".join(f'"{c}"' for c in cols)
                main_con.execute(
                    f'DELETE FROM "{table}" WHERE (athlete, session_id) IN '
                    f"(SELECT athlete, session_id FROM {alias}.stream_session)"
                )
                n = _scalar(main_con, f'INSERT INTO "{table}" ({names}) SELECT {names} FROM {alias}."{table}"')
                if table == "rep":
                    result.reps = n
                else:
                    result.sets = n
        row = main_con.execute(f"SELECT status FROM {alias}.stream_session LIMIT 1").fetchone()
        result.status = "recovered" if recovered and row and row[0] != "complete" else (row[0] if row else None)

    limited = not is_lake(main_con)
    if limited:  # as store.session_writer: DuckDB's buffers for appended rows stay small
        main_con.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")
    try:
        for seqs in _merge_ranges(landed):
            part = write_transaction(main_con, functools.partial(copy, seqs), scope=athlete_scope(athlete))
            if part.status == "discarded":
                break
            result.batches_merged += part.batches_merged
            result.frames += part.frames
            result.samples += part.samples
            for table, n in part.sample_rows.items():
                result.sample_rows[table] = result.sample_rows.get(table, 0) + n
    finally:
        if limited:
            main_con.execute("RESET memory_limit")
    result.batches_skipped = len(landed) - result.batches_merged
    write_transaction(main_con, finish, scope=athlete_scope(athlete))


def _merge_ranges(landed: Sequence[tuple[Any, ...]]) -> list[list[int]]:
    """The landing ledger's ``(batch_seq, frames)`` rows, in order, as ranges of batch numbers: at most
    ``CHUNK_ROWS`` frames and ``MERGE_CHUNK_BATCHES`` batches each (a batch with more frames than that is a
    range of its own). One merge transaction per range."""
    out: list[list[int]] = []
    rows = 0
    for seq, frames in landed:
        n = int(frames or 0)
        if not out or rows + n > CHUNK_ROWS or len(out[-1]) >= MERGE_CHUNK_BATCHES:
            out.append([])
            rows = 0
        out[-1].append(int(seq))
        rows += n
    return out


def _open_read_only(landing: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a landing file read-only; :class:`LandingBusyError` if a process (or this one) holds it."""
    with _busy_as_landing_error(landing):
        return duckdb.connect(str(landing), read_only=True)


def read_landing(landing: str | Path) -> dict[str, pa.Table]:
    """What a landing file holds, as the main schema's row tables plus a ``batch_seq`` column.

    Keys: ``stream_batch`` (the ledger), ``ble_frame``, each sample table present, ``stream_gap``.
    Opens the file read-only (raises :class:`LandingBusyError` if a process holds it). For
    inspection and tests; the merge streams the same decoding in chunks.
    """
    con = _open_read_only(landing)
    try:
        tables = _tables(con)
        if "landing_batch" not in tables:  # first layout: row tables already
            return {
                t: con.sql(f'SELECT * FROM "{t}" ORDER BY batch_seq').to_arrow_table()
                for t in ("stream_batch", *BATCH_TABLES)
                if t in tables
            }
        owner = con.execute("SELECT athlete FROM stream_session LIMIT 1").fetchall()
        athlete = str(owner[0][0]) if owner else ""
        out: dict[str, pa.Table] = {
            "stream_batch": con.sql(
                f"SELECT {_sql_literal(athlete)} AS athlete, session_id, batch_seq, frames, samples, committed_at "
                "FROM landing_batch ORDER BY batch_seq"
            ).to_arrow_table()
        }
        rows = con.execute(f"SELECT {_BATCH_ROW_SQL} FROM landing_batch l ORDER BY l.batch_seq").fetchall()
    finally:
        con.close()
    return out | _decode_batches(rows, athlete)


def remove_landing_file(path: Path) -> None:
    """Delete a landing file and its WAL (and its athlete folder and the landing directory once empty)."""
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    parent = path.parent
    for folder in (parent, parent.parent) if not parent.name.endswith(".landing") else (parent,):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty


def promote_pending_file(db_path: str | Path, pending: str | Path) -> str | None:
    """Give a pending landing file left by a dead writer its real session id (see the module
    docstring): computed from the device address, ``started_at`` and the first 64 payloads it
    holds; its batches are copied into ``<session_id>.duckdb`` and the pending file is removed.
    Returns the session id (None for a file that never got its session row: it holds no batch
    either, and is removed)."""
    path = Path(pending)
    con = _open_read_only(path)
    try:
        cur = con.execute("SELECT * FROM stream_session LIMIT 1")
        found = cur.fetchone()
        row = None if found is None else dict(zip([d[0] for d in cur.description], found, strict=True))
        payloads: list[bytes] = []
        if row is not None:
            for (blob,) in con.execute(
                "SELECT ble_frame FROM landing_batch WHERE ble_frame IS NOT NULL ORDER BY batch_seq"
            ).fetchall():
                frames = _ipc_table(blob).sort_by("seq")
                payloads.extend(frames.column("payload").to_pylist())
                if len(payloads) >= SESSION_ID_PAYLOADS:
                    break
    finally:
        con.close()
    if row is None:
        remove_landing_file(path)
        return None
    session_id = session_id_for(row.get("device_address"), row["started_at"], payloads)
    writer = LandingWriter(db_path, session_id, {**row, "session_id": session_id})
    try:
        writer.adopt(path)
    finally:
        writer.close()
    remove_landing_file(path)
    return session_id


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


@dataclass
class LandingOwner:
    pid: int
    host: str
    pid_start_ticks: int | None
    session_id: str
    started_at: datetime
    finished_at: datetime | None


def read_owner(landing: str | Path) -> LandingOwner | None:
    """The owner row of a landing file; raises :class:`LandingBusyError` if a process holds it."""
    con = _open_read_only(landing)
    try:
        tables = _tables(con)
        if "landing_owner" not in tables:
            return None
        row = con.execute(
            "SELECT pid, host, pid_start_ticks, session_id, started_at, finished_at FROM landing_owner LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return None if row is None else LandingOwner(*row)


def _left_by_its_writer(
    path: Path, on_error: Callable[[Path, Exception], None] | None
) -> tuple[bool, LandingOwner | None]:
    """(True, owner) if the landing file's writer has finished or is gone; (False, _) if a live
    process holds or owns it, or if it is unreadable (reported through ``on_error``)."""
    try:
        owner = read_owner(path)
    except LandingBusyError:
        return False, None  # a live writer holds it
    except duckdb.Error as exc:
        if on_error is not None:
            on_error(path, exc)
        return False, None  # unreadable: leave it for a human, never delete data
    if owner is not None and _may_be_writing(owner):
        return False, owner
    return True, owner


def _may_be_writing(owner: LandingOwner) -> bool:
    """True unless the owner has finished or its process is gone (on another host we cannot tell)."""
    if owner.finished_at is not None:
        return False
    if owner.host != socket.gethostname():
        return True
    return owner.pid != os.getpid() and pid_alive(owner.pid, owner.pid_start_ticks)


def _session_athlete(path: Path) -> str | None:
    """The athlete of the session a landing file holds (None if it has no session row)."""
    con = _open_read_only(path)
    try:
        if "stream_session" not in _tables(con):
            return None
        row = con.execute("SELECT athlete FROM stream_session LIMIT 1").fetchone()
    finally:
        con.close()
    return None if row is None else str(row[0])


def athlete_landing_files(db_path: str | Path, athlete: str) -> list[Path]:
    """Every landing file (pending or named) holding ``athlete``'s data: the athlete's folder, and
    files of the landing directory itself (left by earlier versions) whose session is theirs.

    Raises :class:`LandingBusyError` if one of them is still being written by a live process (a
    stream of that athlete is running): deleting the athlete must wait for it. An unreadable file
    in the athlete's folder is theirs all the same.
    """
    top = landing_dir(db_path)
    mine: list[Path] = []
    for path in (*landing_files(db_path, pending=True), *landing_files(db_path, pending=False)):
        if path.parent == top:
            try:
                if _session_athlete(path) != athlete:
                    continue
            except (LandingBusyError, duckdb.Error):
                continue  # not readable: cannot be shown to be theirs
        elif path.parent.name != athlete:
            continue
        try:
            owner = read_owner(path)
        except LandingBusyError:
            raise LandingBusyError(
                f"a stream of athlete {athlete!r} is still being written to {path}: "
                "stop it (or let it end), then delete again"
            ) from None
        except duckdb.Error:
            owner = None  # damaged: still theirs
        if owner is not None and _may_be_writing(owner):
            raise LandingBusyError(
                f"a stream of athlete {athlete!r} is still being written to {path} by PID "
                f"{owner.pid} on {owner.host}: stop it (or let it end), then delete again"
            )
        mine.append(path)
    return mine


def merge_pending(
    main_con: duckdb.DuckDBPyConnection, db_path: str | Path, on_error: Callable[[Path, Exception], None] | None = None
) -> list[str]:
    """Merge every landing file of ``db_path`` whose writer has finished or is gone.

    A file held by a live process (DuckDB's lock) or owned by a live PID on this host is skipped.
    Pending files (a session cut off before its id was known) are first promoted to their real
    id (:func:`promote_pending_file`). A file that cannot be read or merged is left in place
    (never deleted) and reported through ``on_error(path, exc)``. Returns the session ids merged.
    """
    merged: list[str] = []
    for path in landing_files(db_path, pending=True):
        gone, _ = _left_by_its_writer(path, on_error)
        if not gone:
            continue
        try:
            promote_pending_file(db_path, path)
        except LandingBusyError:
            continue
        except (duckdb.Error, ValueError, KeyError) as exc:
            if on_error is not None:
                on_error(path, exc)
    for path in landing_files(db_path, pending=False):
        gone, owner = _left_by_its_writer(path, on_error)
        if not gone:
            continue
        recovered = owner is None or owner.finished_at is None
        try:
            res = merge_landing(main_con, path, recovered=recovered)
        except LandingBusyError:
            continue
        except (duckdb.Error, ValueError) as exc:
            if on_error is not None:
                on_error(path, exc)
            continue
        if res.session_id is not None:
            merged.append(res.session_id)
    return merged
