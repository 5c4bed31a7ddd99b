"""A whole stream session written to the main database at once (the batch replay).

A live stream commits 100 ms batches to its landing file and merges it at the end
(:mod:`store.landing`); a batch replay already has the whole session, so it writes it columnar, in
a few large transactions: the raw frames (``ble_frame``), the decoded samples, the gaps and the
``stream_batch`` ledger, then the session row, its reps and sets.

The ledger is the live one (the same batches, ``ingest.ble.whole_capture.BatchLedger``), and only
batches the ledger lacks are written, so a replay and a live session of the same capture
recognise each other's batches:

* every batch already stored (the live session, or an earlier replay): no raw row is written
  ("replaying twice stores once");
* the stored batches are the first ``k`` (a live session cut off by a crash and merged as
  ``recovered``, or a replay killed part-way): the replay adds batches ``k`` on. The live session
  stored the samples whose times were final, the first ``m`` samples of the session (``m`` = the
  ledger's sample count); the replay adds samples ``m`` on, the ones of stored batches it lacks
  in batch ``k``;
* anything else (the store holds batches the replay lacks: its capture lost its last lines to a
  crash the landing file survived): the replay adds the batches the ledger lacks, each with its
  own notifications' samples.

Transactions (why several: DuckDB keeps a transaction's appended rows in memory, ~180 bytes a row
measured for ``imu_sample``, so one transaction for an hour at 200 Hz, 1.35 M rows, held ~250 MB):
:func:`write_session_raw` puts the session row in as ``open`` if the store has none, then writes one
transaction per range of batches of at most ``chunk_rows`` notifications, each holding those
batches' frames, samples, gaps and ledger rows (a batch is wholly present or absent, as with
landing files); :func:`finish_session` replaces the session row (``complete``), its reps and sets
in one more. A kill in between leaves the session ``open`` with the batches committed so far, and
replaying again completes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import numpy as np

from store.athletes import ensure_athlete
from store.lake import athlete_scope, is_lake, write_transaction
from store.streams import replace_session_rows
from store.writers import insert_columns, insert_rows

SAMPLE_TABLES = ("imu_sample", "hr_sample", "rsc_sample", "power_sample")
CHUNK_ROWS = 196_608
"""Notifications (and about as many samples) per transaction: more than one DuckDB row group (122,880
rows), so each transaction's rows go straight to the database file (DuckDB's optimistic writes)
instead of through the WAL and a checkpoint; an hour at 200 Hz wrote in ~1.6 s against ~3.5 s in
transactions of 65,536 rows, peak RSS of the writing phase ~260 MB against ~240 MB."""
WRITE_MEMORY_LIMIT = "32MB"
"""DuckDB's memory limit while the raw rows are written (reset afterwards). DuckDB buffers appended
row groups up to 20 % of its limit and caches written blocks: with the default limit (80 % of the
machine's memory) writing an hour at 200 Hz raised the process by ~160 MB, with 64 MB by ~90 MB,
with 32 MB by ~70 MB, at about the same speed (``benchmarks/bench_replay.py``)."""


class SessionRows(Protocol):
    """The raw rows of a whole session, batch by batch (``ingest.ble.whole_capture.WholeCapture``).

    ``notification_batch`` and ``sample_batch`` give the batch of each notification (``ble_frame``
    row) and sample row, both non-decreasing; ``frame_columns(lo, hi)`` / ``sample_columns(lo, hi)``
    the table columns (without athlete and session id) of rows ``lo:hi`` (``char`` and ``payload``
    may be :mod:`records.columns` columns); ``batch_gaps`` the ``(batch, start_ns, end_ns)`` gaps."""

    @property
    def batch_count(self) -> int: ...

    @property
    def notification_batch(self) -> np.ndarray: ...

    @property
    def sample_batch(self) -> np.ndarray: ...

    @property
    def batch_gaps(self) -> Sequence[tuple[int, int, int]]: ...

    def frame_columns(self, lo: int, hi: int) -> Mapping[str, Any]: ...

    def sample_columns(self, lo: int, hi: int) -> Mapping[str, Any]: ...


@dataclass
class WrittenSession:
    """What :func:`write_session_raw` wrote: ``raw`` is ``'new'`` (no batch was stored),
    ``'kept'`` (every batch was), ``'continued'`` (the first batches were: the rest added) or
    ``'added'`` (other batches were: the missing ones added)."""

    raw: str
    beyond: int = 0
    """Batches the store holds of this session that the write lacks (its source is shorter)."""
    batches: int = 0
    frames: int = 0
    samples: int = 0
    gaps: int = 0
    reps: int = 0
    sets: int = 0
    transactions: int = 0


def _in_transaction(con: duckdb.DuckDBPyConnection, athlete: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in one transaction (on a lake: under the athlete's claim, retried on a conflict)."""
    return write_transaction(con, lambda: fn(*args), scope=athlete_scope(athlete))


def _stored_ledger(con: duckdb.DuckDBPyConnection, athlete: str, session_id: str) -> dict[int, int]:
    return {
        int(b): int(s)
        for b, s in con.execute(
            "SELECT batch_seq, samples FROM stream_batch WHERE athlete = ? AND session_id = ?", [athlete, session_id]
        ).fetchall()
    }


def _ranges(batch_of_row: np.ndarray, count: int, chunk_rows: int) -> list[tuple[int, int]]:
    """Batch ranges ``[b0, b1)`` of at most ``chunk_rows`` rows each (a batch is never split)."""
    ends = np.searchsorted(batch_of_row, np.arange(1, count + 1), side="left")  # rows before batch b + 1
    out: list[tuple[int, int]] = []
    b0, row0 = 0, 0
    while b0 < count:
        limit = row0 + chunk_rows
        b1 = int(np.searchsorted(ends, limit, side="right"))
        b1 = max(b1, b0 + 1)
        out.append((b0, min(b1, count)))
        row0 = int(ends[min(b1, count) - 1])
        b0 = b1
    return out


def write_session_raw(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    session_row: Mapping[str, Any],
    rows: SessionRows,
    *,
    sample_table: str,
    chunk_rows: int | None = None,
) -> WrittenSession:
    """Write the raw rows of one whole session of ``athlete`` that the store lacks (see the module
    docstring); the session row goes in as ``open`` if the store has none. Finish with
    :func:`finish_session`.

    ``session_row``: the ``stream_session`` columns (``session_id`` among them).
    """
    if sample_table not in SAMPLE_TABLES:
        raise ValueError(f"not a sample table: {sample_table!r}")
    session_id = str(session_row["session_id"])
    count = int(rows.batch_count)
    consts = {"athlete": athlete, "session_id": session_id}

    def start() -> dict[int, int]:
        ensure_athlete(con, athlete)
        exists = con.execute(
            "SELECT 1 FROM stream_session WHERE athlete = ? AND session_id = ?", [athlete, session_id]
        ).fetchone()
        if exists is None:
            insert_rows(con, "stream_session", [{**session_row, "athlete": athlete, "status": "open"}])
        return _stored_ledger(con, athlete, session_id)

    stored = _in_transaction(con, athlete, start)
    result = WrittenSession(
        "new" if not stored else "kept", transactions=1, beyond=sum(1 for b in stored if b >= count)
    )
    missing = [b for b in range(count) if b not in stored]
    if missing:
        plan = _plan(rows, stored, missing, count)
        if plan.keep is not None:
            result.raw = "added"
        elif stored:
            result.raw = "continued"
        if is_lake(con):
            # a lake's data goes to Parquet files as each transaction commits: no checkpoint here
            # (DuckLake's CHECKPOINT is its maintenance: compaction and clean-up)
            result.transactions += _write_ranges(
                con, rows, result, plan, sample_table=sample_table, consts=consts, chunk_rows=chunk_rows or CHUNK_ROWS
            )
            return result
        con.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")
        try:
            result.transactions += _write_ranges(
                con, rows, result, plan, sample_table=sample_table, consts=consts, chunk_rows=chunk_rows or CHUNK_ROWS
            )
            # checkpoint now, within the limit (closing the connection would do it without one)
            con.execute("CHECKPOINT")
        finally:
            con.execute("RESET memory_limit")
    return result


def finish_session(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    session_row: Mapping[str, Any],
    reps: Sequence[Any] = (),
    sets: Sequence[Any] = (),
) -> tuple[int, int]:
    """One transaction: the session row becomes ``session_row`` (status ``complete``), its reps and
    sets ``reps`` / ``sets`` (``records.reps.RepRow`` / ``records.activities.SetRow``, or row
    mappings). Returns the rep and set rows written."""
    written: tuple[int, int] = _in_transaction(
        con, athlete, replace_session_rows, con, athlete, session_row, reps, sets
    )
    return written


@dataclass
class _Plan:
    """Which rows a write adds: batches ``todo`` from ``first`` on; with ``keep``, only those batches'
    rows; samples from row ``sample_lo`` on, each counted in batch ``sample_batch``."""

    count: int
    first: int
    todo: np.ndarray
    keep: np.ndarray | None
    frame_batch: np.ndarray
    sample_batch: np.ndarray
    sample_lo: int
    gaps_by_batch: dict[int, list[tuple[int, int]]]


def _plan(rows: SessionRows, stored: Mapping[int, int], missing: list[int], count: int) -> _Plan:
    frame_batch = np.asarray(rows.notification_batch, dtype=np.int64)
    sample_batch = np.asarray(rows.sample_batch, dtype=np.int64)
    todo = np.zeros(count, dtype=bool)
    todo[missing] = True
    gaps_by_batch: dict[int, list[tuple[int, int]]] = {}
    for b, start, end in rows.batch_gaps:
        gaps_by_batch.setdefault(int(b), []).append((int(start), int(end)))
    k = missing[0]
    if all(b < k for b in stored):
        # the stored batches are the first k: continue after them; the samples the store lacks of
        # batches before k (a live session stores a sample once its time is final) go with batch k
        sample_lo = min(sum(stored.values()), int(sample_batch.size))
        return _Plan(count, k, todo, None, frame_batch, np.maximum(sample_batch, k), sample_lo, gaps_by_batch)
    keep = np.ones(count, dtype=bool)
    keep[[b for b in stored if b < count]] = False
    return _Plan(count, 0, todo, keep, frame_batch, sample_batch, 0, gaps_by_batch)


def _write_ranges(
    con: duckdb.DuckDBPyConnection,
    rows: SessionRows,
    result: WrittenSession,
    plan: _Plan,
    *,
    sample_table: str,
    consts: dict[str, Any],
    chunk_rows: int,
) -> int:
    """One transaction per range of batches to write; returns how many."""
    attributed = plan.sample_batch[plan.sample_lo :]
    transactions = 0
    for b0, b1 in _ranges(plan.frame_batch, plan.count, chunk_rows):
        b0 = max(b0, plan.first)
        if b0 >= b1 or not plan.todo[b0:b1].any():
            continue
        n0, n1 = (int(x) for x in np.searchsorted(plan.frame_batch, [b0, b1], side="left"))
        s0, s1 = (plan.sample_lo + int(x) for x in np.searchsorted(attributed, [b0, b1], side="left"))
        written = _in_transaction(
            con, consts["athlete"], _write_range, con, rows, plan, sample_table, consts, (b0, b1, n0, n1, s0, s1)
        )
        # counted once committed (a lake transaction may run again after a conflict)
        result.frames += written[0]
        result.samples += written[1]
        result.gaps += written[2]
        result.batches += written[3]
        transactions += 1
    return transactions


def _write_range(
    con: duckdb.DuckDBPyConnection,
    rows: SessionRows,
    plan: _Plan,
    sample_table: str,
    consts: dict[str, Any],
    bounds: tuple[int, int, int, int, int, int],
) -> tuple[int, int, int, int]:
    """Batches ``b0:b1`` (notifications ``n0:n1``, sample rows ``s0:s1``): rows, gaps, ledger.
    Returns the frame, sample, gap and ledger rows written.

    A range any of whose batches to write is already in the ledger is skipped: on a lake (no keys), another
    station replaying the same capture at the same time wrote it under the athlete's claim (two
    replays of one capture plan the same ranges); on a file the single writer makes it impossible."""
    b0, b1, n0, n1, s0, s1 = bounds
    frames = rows.frame_columns(n0, n1)
    samples = rows.sample_columns(s0, s1)
    batches = np.arange(b0, b1)
    frame_of = plan.frame_batch[n0:n1]
    sample_of = plan.sample_batch[s0:s1]
    if plan.keep is not None:
        frames = _select(frames, plan.keep[frame_of])
        samples = _select(samples, plan.keep[sample_of])
        frame_of = frame_of[plan.keep[frame_of]]
        sample_of = sample_of[plan.keep[sample_of]]
        batches = batches[plan.keep[b0:b1]]
    already = con.execute(
        "SELECT count(*) FROM stream_batch WHERE athlete = ? AND session_id = ? "
        "AND list_contains(?::BIGINT[], batch_seq)",
        [consts["athlete"], consts["session_id"], batches.tolist()],
    ).fetchone()
    if already and already[0]:
        return 0, 0, 0, 0
    n_frames = insert_columns(con, "ble_frame", frames, constants=consts)
    n_samples = insert_columns(con, sample_table, samples, constants=consts)
    gaps = [g for b in batches.tolist() for g in plan.gaps_by_batch.get(b, [])]
    n_gaps = 0
    if gaps:
        n_gaps = insert_columns(
            con,
            "stream_gap",
            {
                "start_ns": np.asarray([g[0] for g in gaps], dtype=np.int64),
                "end_ns": np.asarray([g[1] for g in gaps], dtype=np.int64),
            },
            constants=consts,
        )
    frames_per = np.bincount(frame_of - b0, minlength=b1 - b0)[batches - b0]
    samples_per = np.bincount(sample_of - b0, minlength=b1 - b0)[batches - b0]
    n_batches = insert_columns(
        con,
        "stream_batch",
        {
            "batch_seq": batches.astype(np.int64),
            "frames": frames_per.astype(np.int32),
            "samples": samples_per.astype(np.int32),
        },
        constants={**consts, "committed_at": dt.datetime.now(dt.UTC)},
    )
    return n_frames, n_samples, n_gaps, n_batches


def _select(columns: Mapping[str, Any], mask: np.ndarray) -> dict[str, Any]:
    """The rows of ``columns`` where ``mask`` holds."""
    if mask.all():
        return dict(columns)
    idx = np.flatnonzero(mask)
    return {k: _take(v, idx) for k, v in columns.items()}


def _take(values: Any, idx: np.ndarray) -> Any:
    from records.columns import BinaryColumn, DictionaryColumn

    if isinstance(values, DictionaryColumn):
        return DictionaryColumn(values.codes[idx], values.values)
    if isinstance(values, BinaryColumn):
        starts, ends = values.offsets[idx], values.offsets[idx + 1]
        lengths = ends - starts
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        pos = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
        return BinaryColumn(offsets, values.data[pos])
    if isinstance(values, np.ndarray):
        return values[idx]
    return [values[i] for i in idx.tolist()]
