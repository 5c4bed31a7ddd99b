"""Helpers of the lake tests: the CLI against a lake, and counts read back with plain DuckDB."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

from store.lake import LakeConfig, extension_dir
from tests.paths import REPO_ROOT

RUNS = REPO_ROOT / "sample_data" / "fit" / "runs"
STRENGTH = REPO_ROOT / "sample_data" / "fit" / "strength"


def cli(
    *args: str, db: Path, lake: LakeConfig | None, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``pipeline.py --db DB [--lake ... --lake-data ...] ARGS``."""
    base = [sys.executable, str(REPO_ROOT / "pipeline.py"), "--db", str(db)]
    if lake is not None:
        base += ["--lake", lake.catalog]
        if lake.data_path:
            base += ["--lake-data", lake.data_path]
    return subprocess.run(
        [*base, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )


def popen(*args: str, db: Path, lake: LakeConfig, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    base = [sys.executable, str(REPO_ROOT / "pipeline.py"), "--db", str(db), "--lake", lake.catalog]
    if lake.data_path:
        base += ["--lake-data", lake.data_path]
    return subprocess.Popen(
        [*base, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )


def plain_lake(config: LakeConfig) -> duckdb.DuckDBPyConnection:
    """The lake attached read-only with plain DuckDB SQL (no runstrong code), as ``lake``."""
    con = duckdb.connect()
    ext = extension_dir()
    for name in ("ducklake", "postgres_scanner"):
        con.load_extension(str(ext / f"{name}.duckdb_extension"))
    con.execute(f"ATTACH 'ducklake:{config.catalog}' AS lake (READ_ONLY)")
    return con


TABLES = (
    "athlete",
    "source_file",
    "activity",
    "record",
    "lap",
    "strength_set",
    "activity_exclusion",
    "set_correction",
    "stream_session",
    "stream_batch",
    "ble_frame",
    "imu_sample",
    "stream_gap",
    "rep",
    "deleted_file",
    "deleted_athlete",
    "import_event",
    "run_metric",
)


def table_counts(con: duckdb.DuckDBPyConnection, prefix: str = "", athlete: str | None = None) -> dict[str, int]:
    """Rows per table (of ``athlete``), in the database ``prefix`` (``lake.``) or the default one."""
    out = {}
    for t in TABLES:
        where = "" if athlete is None else f" WHERE athlete = '{athlete}'"
        out[t] = con.execute(f"SELECT count(*) FROM {prefix}{t}{where}").fetchone()[0]
    return out


def file_counts(db: Path, athlete: str | None = None) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return table_counts(con, athlete=athlete)
    finally:
        con.close()


def duplicates(con: duckdb.DuckDBPyConnection, prefix: str = "") -> dict[str, int]:
    """Rows whose key (what the DuckDB file's primary key would be) is repeated, per table."""
    keys = {
        "source_file": "athlete, sha256",
        "activity": "athlete, activity_id",
        "athlete": "athlete",
        "strength_set": "athlete, set_id",
        "stream_session": "athlete, session_id",
        "stream_batch": "athlete, session_id, batch_seq",
        "rep": "athlete, session_id, set_index, rep_index",
        "set_correction": "athlete, set_id",
        "activity_exclusion": "athlete, activity_id",
        "run_metric": "athlete, activity_id",
        "deleted_file": "athlete, sha256",
    }
    return {
        t: con.execute(
            f"SELECT count(*) FROM (SELECT {k} FROM {prefix}{t} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
        for t, k in keys.items()
    }


def incomplete_files(con: duckdb.DuckDBPyConnection, prefix: str = "") -> list[Any]:
    """Imported files whose rows are not all there: an activity whose stored records differ from its
    count, a ledger row without an activity, an activity without its ledger row."""
    return con.execute(f"""
        SELECT 'records' AS what, a.athlete, a.activity_id FROM {prefix}activity a
        LEFT JOIN (SELECT athlete, activity_id, count(*) AS n FROM {prefix}record GROUP BY ALL) r USING (athlete, activity_id)
        WHERE coalesce(r.n, 0) <> a.records
        UNION ALL
        SELECT 'no activity', f.athlete, f.sha256 FROM {prefix}source_file f
        WHERE NOT EXISTS (SELECT 1 FROM {prefix}activity a WHERE a.athlete = f.athlete AND a.source_sha256 = f.sha256)
          AND f.file_type = 'activity'
        UNION ALL
        SELECT 'no ledger', a.athlete, a.activity_id FROM {prefix}activity a
        WHERE NOT EXISTS (SELECT 1 FROM {prefix}source_file f WHERE f.athlete = a.athlete AND f.sha256 = a.source_sha256)
    """).fetchall()


def parquet_files(config: LakeConfig) -> list[str]:
    assert config.data_path is not None
    return sorted(glob.glob(os.path.join(config.data_path, "**", "*.parquet"), recursive=True))


def start_until_paused(
    *args: str, db: Path, lake: LakeConfig, stage: str, release: Path, timeout: float = 120, spec: str | None = None
) -> subprocess.Popen[str]:
    """Start ``pipeline.py ARGS`` on the lake with ``RUNSTRONG_TEST_PAUSE=<stage>:<release>`` and return
    it once it says it is paused there (its stderr read up to that line)."""
    proc = popen(*args, db=db, lake=lake, env={"RUNSTRONG_TEST_PAUSE": f"{spec or stage}:{release}"})
    assert proc.stderr is not None
    seen = []
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            out = proc.communicate(timeout=30)
            raise AssertionError(f"the child ended before pausing at {stage}: {seen} {out}")
        seen.append(line.strip())
        if f"paused at {stage}" in line:
            return proc
    proc.kill()
    raise AssertionError(f"no pause at {stage} within {timeout} s: {seen}")


def kill_9_at_pause(*args: str, db: Path, lake: LakeConfig, stage: str, tmp: Path) -> None:
    """Run ``pipeline.py ARGS`` until it pauses at ``stage`` (inside its lake transaction), then SIGKILL it."""
    import signal

    proc = start_until_paused(
        *args, db=db, lake=lake, stage=stage.split("@")[0], release=tmp / "never-released", spec=stage
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
