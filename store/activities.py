"""Writing imported activities: the source-file ledger row and its data rows in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb
import numpy as np

from ingest.records import RECORD_FIELDS, ActivityData, RecordArrays, SourceFile
from store.writers import insert_columns, insert_rows


def imported_hashes(con: duckdb.DuckDBPyConnection, athlete: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT sha256 FROM source_file WHERE athlete = ?", [athlete]).fetchall()}


def deleted_hashes(con: duckdb.DuckDBPyConnection, athlete: str) -> set[str]:
    """sha256 of the files of ``athlete`` removed by ``athlete delete`` (tombstones)."""
    return {r[0] for r in con.execute("SELECT sha256 FROM deleted_file WHERE athlete = ?", [athlete]).fetchall()}


def lift_tombstones(con: duckdb.DuckDBPyConnection, athlete: str, sha256s: Sequence[str]) -> None:
    """Forget the deletion of these files (``import --undelete``), inside the caller's transaction."""
    con.execute("DELETE FROM deleted_file WHERE athlete = ? AND sha256 IN (SELECT unnest(?::VARCHAR[]))",
                [athlete, list(sha256s)])


#: Exclusion reason recorded automatically for activities without a calendar date.
RELATIVE_TIME_REASON = "device-relative timestamps (the watch had no date): excluded from time-based analysis"


class ActivityBuffer:
    """Rows of several imported files, written with one INSERT per table by :meth:`flush`.

    One statement per table per chunk instead of several per file: each DuckDB statement costs
    milliseconds, which would dominate a bulk import of small files.
    """

    def __init__(self) -> None:
        self.sources: list[dict] = []
        self.activities: list[dict] = []
        self.laps: list[dict] = []
        self.sets: list[dict] = []
        self.records: list[tuple[str, str, RecordArrays]] = []
        self.exclusions: list[dict] = []
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
                    "name": a.name,
                    "sets": len(a.sets),
                    "time_reference": a.time_reference,
                }
            )
            if a.time_reference != "utc":
                self.exclusions.append({"athlete": athlete, "activity_id": a.activity_id,
                                        "reason": RELATIVE_TIME_REASON, "excluded_at": _now()})
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
        self.__init__()


#: Records written per INSERT: the columns of one statement are copied (concatenated, then
#: converted to Arrow), so a file of millions of records is written in slices of this many rows
#: and costs that copy once per slice, not for the whole file (docs/operations.md, "Limits").
FLUSH_ROWS = 262_144


def _record_slices(records: list[tuple[str, str, RecordArrays]]) -> Iterator[dict[str, object]]:
    """The queued records as column dicts of at most FLUSH_ROWS rows (views until concatenated)."""
    pieces: list[tuple[str, str, RecordArrays, int, int]] = []
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


def _columns(pieces: list[tuple[str, str, RecordArrays, int, int]]) -> dict[str, object]:
    lengths = [hi - lo for _, _, _, lo, hi in pieces]
    cols: dict[str, object] = {
        "athlete": np.repeat(np.array([a for a, _, _, _, _ in pieces], dtype=object), lengths),
        "activity_id": np.repeat(np.array([i for _, i, _, _, _ in pieces], dtype=object), lengths),
        "t_ns": np.concatenate([r.t_ns[lo:hi] for _, _, r, lo, hi in pieces]),
    }
    cols.update({k: np.concatenate([r.values[k][lo:hi] for _, _, r, lo, hi in pieces]) for k in RECORD_FIELDS})
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


def log_import_event(
    con: duckdb.DuckDBPyConnection, athlete: str, path: str, status: str, reason: str | None, sha256: str | None
) -> None:
    insert_rows(
        con,
        "import_event",
        [{"athlete": athlete, "path": path, "sha256": sha256, "status": status, "reason": reason, "logged_at": _now()}],
    )


def log_import_events(con: duckdb.DuckDBPyConnection, athlete: str,
                      events: Sequence[tuple[str, str, str | None, str | None]]) -> None:
    """Several import events ``(path, status, reason, sha256)`` in one statement."""
    if events:
        now = _now()
        insert_rows(con, "import_event", [{"athlete": athlete, "path": p, "sha256": h, "status": st, "reason": r,
                                           "logged_at": now} for p, st, r, h in events])


def _now():
    import datetime as dt

    return dt.datetime.now(dt.UTC)
