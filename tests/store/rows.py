"""Rows per table of one athlete in a store file, read through a read-only connection."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb


def rows_of_athlete(db: Path, athlete: str, tables: Iterable[str]) -> dict[str, int]:
    """``{table: rows of athlete}`` for each of ``tables`` in the store file ``db``."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t} WHERE athlete = ?", [athlete]).fetchone()[0] for t in tables}
    finally:
        con.close()
