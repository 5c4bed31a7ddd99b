"""Writing imported activities: the source-file ledger row and its data rows in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np

from ingest.records import RECORD_FIELDS, ActivityData, SourceFile
from store.writers import insert_columns, insert_rows


def is_imported(con: duckdb.DuckDBPyConnection, athlete: str, sha256: str) -> bool:
    row = con.execute(
        "SELECT 1 FROM source_file WHERE athlete = ? AND sha256 = ?", [athlete, sha256]
    ).fetchone()
    return row is not None


def imported_hashes(con: duckdb.DuckDBPyConnection, athlete: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT sha256 FROM source_file WHERE athlete = ?", [athlete]).fetchall()}


def write_activities(
    con: duckdb.DuckDBPyConnection,
    athlete: str,
    source: SourceFile,
    activities: Sequence[ActivityData],
) -> int:
    """Insert the ledger row, activities, records, laps and sets. Returns records written.

    The caller owns the transaction (commit per file, or per chunk of files for bulk imports),
    so the ledger row and the data rows are committed together or not at all.
    """
    insert_rows(
        con,
        "source_file",
        [
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
        ],
    )
    total = 0
    act_rows = []
    for a in activities:
        rec = a.records
        n = len(rec)
        act_rows.append(
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
                "records": n,
                "avg_heart_rate_bpm": rec.mean("heart_rate_bpm"),
                "avg_speed_mps": rec.mean("speed_mps"),
                "avg_power_w": rec.mean("power_w"),
                "total_ascent_m": a.total_ascent_m,
                "utc_offset_s": a.utc_offset_s,
                "device": a.device,
                "name": a.name,
                "sets": len(a.sets),
            }
        )
        if n:
            cols: dict[str, object] = {
                "athlete": np.full(n, athlete, dtype=object),
                "activity_id": np.full(n, a.activity_id, dtype=object),
                "t_ns": rec.t_ns,
            }
            cols.update({k: rec.values[k] for k in RECORD_FIELDS})
            total += insert_columns(con, "record", cols)
        if a.laps:
            insert_rows(
                con,
                "lap",
                [{"athlete": athlete, "activity_id": a.activity_id, **vars(lap)} for lap in a.laps],
            )
        if a.sets:
            insert_rows(con, "strength_set", [{"athlete": athlete, **vars(s)} for s in a.sets])
    insert_rows(con, "activity", act_rows)
    return total


def log_import_event(
    con: duckdb.DuckDBPyConnection, athlete: str, path: str, status: str, reason: str | None, sha256: str | None
) -> None:
    insert_rows(
        con,
        "import_event",
        [{"athlete": athlete, "path": path, "sha256": sha256, "status": status, "reason": reason, "logged_at": _now()}],
    )


def _now():
    import datetime as dt

    return dt.datetime.now(dt.UTC)
