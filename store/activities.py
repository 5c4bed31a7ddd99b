"""Writing imported activities: the source-file ledger row and its data rows in one transaction.

:class:`ImportWriter` is what an importer writes through (``ingest.fit.importer``): it owns the
transactions, commits chunks of files and, when the database refuses a chunk, writes its files
again one per transaction so that one file's failure stays that file's.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np

from records.activities import ActivityData, SourceFile
from records.app_exports import AppExportFile, AppImportOutcome
from records.runs import RECORD_FIELDS, RunRecords
from store.app_sessions import write_app_export
from store.athletes import ensure_athlete
from store.lake import athlete_scope, write_transaction
from store.writers import insert_columns, insert_rows


def imported_hashes(con: duckdb.DuckDBPyConnection, athlete: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT sha256 FROM source_file WHERE athlete = ?", [athlete]).fetchall()}


def deleted_hashes(con: duckdb.DuckDBPyConnection, athlete: str) -> set[str]:
    """sha256 of the files of ``athlete`` removed by ``athlete delete`` (tombstones)."""
    return {r[0] for r in con.execute("SELECT sha256 FROM deleted_file WHERE athlete = ?", [athlete]).fetchall()}


def lift_tombstones(con: duckdb.DuckDBPyConnection, athlete: str, sha256s: Sequence[str]) -> None:
    """Forget the deletion of these files (``import --undelete``), inside the caller's transaction."""
    con.execute(
        "DELETE FROM deleted_file WHERE athlete = ? AND sha256 IN (SELECT unnest(?::VARCHAR[]))",
        [athlete, list(sha256s)],
    )


#: Exclusion reason recorded automatically for activities without a calendar date.
RELATIVE_TIME_REASON = "device-relative timestamps (the watch had no date): excluded from time-based analysis"


class ActivityBuffer:
    """Rows of several imported files, written with one INSERT per table by :meth:`flush`.

    One statement per table per chunk instead of several per file: each DuckDB statement costs
    milliseconds, which would dominate a bulk import of small files.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.sources: list[dict[str, object]] = []
        self.activities: list[dict[str, object]] = []
        self.laps: list[dict[str, object]] = []
        self.sets: list[dict[str, object]] = []
        self.records: list[tuple[str, str, RunRecords]] = []
        self.exclusions: list[dict[str, object]] = []
        self.files = 0
        self.record_count = 0

    def add(self, athlete: str, source: SourceFile, activities: Sequence[ActivityData]) -> int:
        """Queue one file (ledger row + its activities); return the records queued."""
        self.sources.append(
            {
                "athlete": athlete,
                "sha256": source.sha256,
                "path": source.path,
                "bytes_size": source.bytes_size,
                "status": source.status,
                "error": source.error,
                "decoder": source.decoder,
                "file_type": source.file_type,
                "imported_at": _now(),
            }
        )
        total = 0
        for a in activities:
            rec = a.records
            self.activities.append(
                {
                    "athlete": athlete,
                    "activity_id": a.activity_id,
                    "source_sha256": source.sha256,
                    "session_index": a.session_index,
                    "sport": a.sport,
                    "sub_sport": a.sub_sport,
                    "started_at": a.started_at,
                    "duration_s": a.duration_s,
                    "distance_m": a.distance_m,
                    "records": len(rec),
                    "avg_heart_rate_bpm": rec.mean("heart_rate_bpm"),
                    "avg_speed_mps": rec.mean("speed_mps"),
                    "avg_power_w": rec.mean("power_w"),
                    "total_ascent_m": a.total_ascent_m,
                    "utc_offset_s": a.utc_offset_s,
                    "device": a.device,
                    "hr_sensor": a.hr_sensor,
                    "name": a.name,
                    "sets": len(a.sets),
                    "time_reference": a.time_reference,
                }
            )
            if a.time_reference != "utc":
                self.exclusions.append(
                    {
                        "athlete": athlete,
                        "activity_id": a.activity_id,
                        "reason": RELATIVE_TIME_REASON,
                        "excluded_at": _now(),
                    }
                )
            if len(rec):
                self.records.append((athlete, a.activity_id, rec))
                total += len(rec)
            self.laps.extend({"athlete": athlete, "activity_id": a.activity_id, **vars(lap)} for lap in a.laps)
            self.sets.extend({"athlete": athlete, **vars(s)} for s in a.sets)
        self.files += 1
        self.record_count += total
        return total

    def flush(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write everything queued (inside the caller's transaction) and empty the buffer."""
        insert_rows(con, "source_file", self.sources)
        insert_rows(con, "activity", self.activities)
        insert_rows(con, "lap", self.laps)
        insert_rows(con, "strength_set", self.sets)
        insert_rows(con, "activity_exclusion", self.exclusions)
        for cols in _record_slices(self.records):
            insert_columns(con, "record", cols)
        self._reset()


#: Records written per INSERT: the columns of one statement are copied (concatenated, then
#: converted to Arrow), so a file of millions of records is written in slices of this many rows
#: and costs that copy once per slice, not for the whole file (docs/operations.md, "Limits").
FLUSH_ROWS = 262_144


def _record_slices(records: list[tuple[str, str, RunRecords]]) -> Iterator[dict[str, object]]:
    """The queued records as column dicts of at most FLUSH_ROWS rows (views until concatenated)."""
    pieces: list[tuple[str, str, RunRecords, int, int]] = []
    rows = 0
    for athlete, aid, rec in records:
        lo = 0
        while lo < len(rec):
            hi = min(len(rec), lo + FLUSH_ROWS - rows)
            pieces.append((athlete, aid, rec, lo, hi))
            rows += hi - lo
            lo = hi
            if rows >= FLUSH_ROWS:
                yield _columns(pieces)
                pieces, rows = [], 0
    if pieces:
        yield _columns(pieces)


def _columns(pieces: list[tuple[str, str, RunRecords, int, int]]) -> dict[str, object]:
    lengths = [hi - lo for _, _, _, lo, hi in pieces]
    cols: dict[str, object] = {
        "athlete": np.repeat(np.array([a for a, _, _, _, _ in pieces], dtype=object), lengths),
        "activity_id": np.repeat(np.array([i for _, i, _, _, _ in pieces], dtype=object), lengths),
        "t_ns": np.concatenate([r.t_ns[lo:hi] for _, _, r, lo, hi in pieces]),
    }
    cols.update({k: np.concatenate([r.channel(k)[lo:hi] for _, _, r, lo, hi in pieces]) for k in RECORD_FIELDS})
    return cols


def write_activities(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    source: SourceFile,
    activities: Sequence[ActivityData],
) -> int:
    """Insert one file's ledger row, activities, records, laps and sets. Returns records written.

    The caller owns the transaction, so the ledger row and the data rows are committed together
    or not at all. Bulk imports use :class:`ActivityBuffer` to write many files per statement.
    """
    buf = ActivityBuffer()
    n = buf.add(athlete, source, activities)
    buf.flush(con)
    return n


def log_import_events(
    con: duckdb.DuckDBPyConnection, athlete: str, events: Sequence[tuple[str, str, str | None, str | None]]
) -> None:
    """Several import events ``(path, status, reason, sha256)`` in one statement."""
    if events:
        now = _now()
        insert_rows(
            con,
            "import_event",
            [
                {"athlete": athlete, "path": p, "sha256": h, "status": st, "reason": r, "logged_at": now}
                for p, st, r, h in events
            ],
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: Commit after this many files, records or seconds, whichever comes first.
COMMIT_FILES = 64
COMMIT_RECORDS = 1_000_000
COMMIT_SECONDS = 1.0
#: Commit the import events (failed and skipped files) at least every this many.
COMMIT_EVENTS = 4096


@dataclass
class ImportEvent:
    """An ``import_event`` row: a failed, partial or (not duplicate) skipped file."""

    path: str
    status: str
    reason: str | None
    sha256: str | None = None


class ImportWriter:
    """Stores decoded files in chunks, one transaction per chunk, so that one file's failure stays
    that file's: a chunk whose transaction fails (a key violation, a value DuckDB refuses) is rolled
    back and written again one file per transaction; the file that fails alone is reported through
    ``on_failed(sha256, error)`` (``error``: ``could not be stored: <DuckDB's first error>``) and
    logged as a ``failed`` import event instead of its own, and every other file of the chunk is kept.

    A chunk is committed after :data:`COMMIT_FILES` files, :data:`COMMIT_RECORDS` records or
    :data:`COMMIT_SECONDS` seconds, whichever comes first, and by :meth:`commit`.

    Each chunk's transaction reads the ledger again and leaves out the files stored (or, unless
    ``lift_tombstones``, deleted) since the import began: on a lake, another station may have
    imported the same file meanwhile (the transaction holds the athlete's claim, ``store.lake``).
    Such a file is reported through ``on_skipped(sha256, reason)`` (``duplicate`` or ``deleted
    athlete``) once the chunk committed.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        athlete: str,
        *,
        lift_tombstones: bool = False,
        on_failed: Callable[[str, str], None] | None = None,
        on_skipped: Callable[[str, str], None] | None = None,
    ) -> None:
        self.con = con
        self.athlete = athlete
        self.lift_tombstones = lift_tombstones
        self.on_failed = on_failed
        self.on_skipped = on_skipped
        self._files: list[tuple[SourceFile, Sequence[ActivityData], ImportEvent | None]] = []
        self._events: list[ImportEvent] = []
        self._records = 0
        self._last_commit = time.monotonic()

    def add_file(
        self, source: SourceFile, activities: Sequence[ActivityData], *, event: ImportEvent | None = None
    ) -> None:
        """Queue one imported (or partial, with its ``event``) file and its activities."""
        self._files.append((source, activities, event))
        self._records += sum(len(a.records) for a in activities)
        if event is not None:
            self._events.append(event)
        self._maybe_commit()

    def add_event(self, event: ImportEvent) -> None:
        """Queue an ``import_event`` row of a file that stores nothing."""
        self._events.append(event)
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        if (
            self._files
            and (
                len(self._files) >= COMMIT_FILES
                or self._records >= COMMIT_RECORDS
                or time.monotonic() - self._last_commit >= COMMIT_SECONDS
            )
        ) or len(self._events) >= COMMIT_EVENTS:
            self.commit()

    def commit(self) -> None:
        """Write everything queued (see the class docstring)."""
        files, events = self._files, self._events
        self._files, self._events, self._records = [], [], 0
        self._last_commit = time.monotonic()
        if not files and not events:
            return
        try:
            self._transaction(files, events)
        except duckdb.Error:
            for source, activities, own in files:
                try:
                    self._transaction([(source, activities, own)], [])
                except duckdb.Error as exc:
                    error = f"could not be stored: {_first_line(exc)}"
                    if self.on_failed is not None:
                        self.on_failed(source.sha256, error)
                    events = [e for e in events if e is not own] + [
                        ImportEvent(source.path, "failed", error, source.sha256)
                    ]
            self._transaction([], events)

    def write_app_file(
        self, f: AppExportFile, *, event: ImportEvent | None = None
    ) -> tuple[AppImportOutcome | None, str | None]:
        """Store one phone-app export now, in a transaction of its own (its workouts are compared
        with the stored ones: ``store.app_sessions.write_app_export``), with its ``import_event``
        if it is partial. Returns (what it did, None), or (None, ``could not be stored: ...``) when
        the database refused it (the importer logs that as a failed import event)."""
        con = self.con

        def write() -> AppImportOutcome:
            ensure_athlete(con, self.athlete)
            if self.lift_tombstones:
                lift_tombstones(con, self.athlete, [f.source.sha256])
            written = write_app_export(con, self.athlete, f)
            if event is not None:
                log_import_events(con, self.athlete, [(event.path, event.status, event.reason, event.sha256)])
            return written

        try:
            # on a lake: under the athlete's claim, retried on a conflict; an unreachable catalog raises
            outcome = write_transaction(con, write, scope=athlete_scope(self.athlete))
        except duckdb.Error as exc:
            return None, f"could not be stored: {_first_line(exc)}"
        return outcome, None

    def _transaction(
        self,
        files: Sequence[tuple[SourceFile, Sequence[ActivityData], ImportEvent | None]],
        events: Sequence[ImportEvent],
    ) -> None:
        con = self.con

        def write() -> list[tuple[str, str]]:
            skipped: list[tuple[str, str]] = []
            keep = list(files)
            if files:
                stored = _present(con, "source_file", self.athlete, [s.sha256 for s, _, _ in files])
                gone = (
                    set()
                    if self.lift_tombstones
                    else _present(con, "deleted_file", self.athlete, [s.sha256 for s, _, _ in files])
                )
                keep = [f for f in files if f[0].sha256 not in stored and f[0].sha256 not in gone]
                skipped = [
                    (s.sha256, "duplicate" if s.sha256 in stored else DELETED_REASON)
                    for s, _, _ in files
                    if s.sha256 in stored or s.sha256 in gone
                ]
            if keep:
                ensure_athlete(con, self.athlete)
                if self.lift_tombstones:
                    lift_tombstones(con, self.athlete, [s.sha256 for s, _, _ in keep])
                buffer = ActivityBuffer()
                for source, activities, _ in keep:
                    buffer.add(self.athlete, source, activities)
                buffer.flush(con)
            dropped = {sha for sha, _ in skipped}
            log_import_events(
                con,
                self.athlete,
                [
                    (e.path, e.status, e.reason, e.sha256)
                    for e in events
                    if e.sha256 is None or e.sha256 not in dropped or e.status != "partial"
                ],
            )
            return skipped

        skipped = write_transaction(con, write, scope=athlete_scope(self.athlete))
        if self.on_skipped is not None:
            for sha, reason in skipped:
                self.on_skipped(sha, reason)


#: ``skipped`` reason of a file whose athlete was deleted (``ingest.fit.importer`` reports it too).
DELETED_REASON = "deleted athlete"


def _present(con: duckdb.DuckDBPyConnection, table: str, athlete: str, sha256s: Sequence[str]) -> set[str]:
    """Which of ``sha256s`` the ledger ``table`` (``source_file``, ``deleted_file``) holds for ``athlete``."""
    return {
        r[0]
        for r in con.execute(
            f"SELECT sha256 FROM {table} WHERE athlete = ? AND list_contains(?::VARCHAR[], sha256)",
            [athlete, list(sha256s)],
        ).fetchall()
    }


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
