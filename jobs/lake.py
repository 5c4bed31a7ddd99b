"""``lake push`` and ``lake pull``: a DuckDB store file into the lake, and one athlete back out.

Both open the DuckDB file first as any command does (created or brought up to date, waiting for
its lock; ``push`` also merges the stream sessions left in its landing files into it), then the
lake, and hand both to :mod:`store.lake_transfer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.progress import ProgressFn
from jobs.recovery import merge_and_analyse
from store import lake_transfer
from store.athletes import validate_slug
from store.connection import open_store
from store.lake import LakeConfig, errors_translated


def _prepare_file(db_path: str | Path, *, wait_s: float, merge_landed: bool) -> Path:
    db = Path(db_path).expanduser()
    con = open_store(db, wait_s=wait_s)
    try:
        if merge_landed:
            merge_and_analyse(con, db)
    finally:
        con.close()
    return db


def push(
    db_path: str | Path, lake: LakeConfig, *, athlete: str | None, wait_s: float, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Copy the store file (every athlete, or ``athlete``) into ``lake``; idempotent, resumable."""
    if athlete is not None:
        validate_slug(athlete)
    db = Path(db_path).expanduser()
    if not db.is_file():
        raise FileNotFoundError(f"no store at {db}: nothing to push (give --db FILE)")
    _prepare_file(db, wait_s=wait_s, merge_landed=True)
    con = open_store(db, wait_s=wait_s, lake=lake)
    try:
        with errors_translated(con):
            doc = lake_transfer.push(con, db, athlete=athlete, progress=progress)
    finally:
        con.close()
    return {"direction": "push", "db": str(db), "lake": lake.shown(), **doc}


def pull(
    db_path: str | Path, lake: LakeConfig, *, athlete: str, wait_s: float, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Replace ``athlete``'s rows in the store file (created if missing) by the lake's."""
    validate_slug(athlete)
    db = _prepare_file(db_path, wait_s=wait_s, merge_landed=False)
    con = open_store(db, wait_s=wait_s, lake=lake)
    try:
        with errors_translated(con):
            doc = lake_transfer.pull(con, db, athlete, progress=progress)
    finally:
        con.close()
    return {"direction": "pull", "db": str(db), "lake": lake.shown(), **doc}
