"""``athlete delete``: one athlete's data, everywhere, for good.

Order matters, so that no crash can bring the athlete back:

1. find the athlete's landing files (streams not yet merged); refuse while one is still being
   written by a live stream (:class:`store.landing.LandingBusyError`, exit 3);
2. delete every row of the athlete in one transaction, leaving tombstones
   (:func:`store.athletes.delete_athlete`);
3. remove the landing files. A crash between 2 and 3 leaves files that the next merge discards:
   they were started before the athlete's deletion time.

Other athletes' rows and files are never touched: every stored row names its athlete.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from store.athletes import delete_athlete
from store.landing import athlete_landing_files, remove_landing_file


def erase_athlete(con: duckdb.DuckDBPyConnection, db_path: str | Path, athlete: str) -> dict[str, int]:
    """Delete ``athlete``'s rows and landing files; return counts per table plus ``landing_files``."""
    files = athlete_landing_files(db_path, athlete)
    counts = delete_athlete(con, athlete)
    for path in files:
        remove_landing_file(path)
    if files:
        counts["landing_files"] = len(files)
    return counts
