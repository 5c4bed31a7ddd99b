"""Stations writing one lake at once, a writer killed mid-transaction, the catalog server stopped
mid-import (issue 14, item 6), against a real PostgreSQL server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from store.lake import LakeConfig
from tests.lake.conftest import PgServer
from tests.lake.helpers import (
    RUNS,
    STRENGTH,
    cli,
    duplicates,
    file_counts,
    incomplete_files,
    kill_9_at_pause,
    plain_lake,
    start_until_paused,
    table_counts,
)

pytestmark = pytest.mark.slow

RUN_FILES = sorted(RUNS.glob("*.fit"))
#: four stations at once: three of jane's with overlapping files, one of bob's with the same files
STATIONS: tuple[tuple[str, list[Path]], ...] = (
    ("jane", RUN_FILES[0:6]),
    ("jane", RUN_FILES[4:10]),
    ("jane", [*RUN_FILES[2:8], STRENGTH]),
    ("bob", RUN_FILES[0:10]),
)


def _serial_reference(tmp_path: Path) -> Path:
    """The same imports one after the other into a DuckDB file."""
    ref = tmp_path / "serial.duckdb"
    for athlete, paths in STATIONS:
        r = cli("--athlete", athlete, "import", *map(str, paths), db=ref, lake=None)
        assert r.returncode in (0, 1), r.stderr
    return ref


def _assert_equals_serial(lake: LakeConfig, ref: Path) -> None:
    con = plain_lake(lake)
    try:
        for athlete in ("jane", "bob"):
            assert table_counts(con, "lake.", athlete) == file_counts(ref, athlete), athlete
        assert not any(duplicates(con, "lake.").values()), duplicates(con, "lake.")
        assert incomplete_files(con, "lake.") == []
    finally:
        con.close()


def test_four_stations_importing_overlapping_files_at_once_store_each_file_once(
    lake: LakeConfig, tmp_path: Path
) -> None:
    release = tmp_path / "go"
    procs = [
        start_until_paused(
            "--json",
            "--athlete",
            athlete,
            "import",
            *map(str, paths),
            db=tmp_path / f"station{i}.duckdb",
            lake=lake,
            stage="lake-claim",
            release=release,
        )
        for i, (athlete, paths) in enumerate(STATIONS)
    ]
    release.touch()  # all four decoded their files and are about to claim and commit, now at once
    docs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode in (0, 1), err
        docs.append(json.loads(out))
    ref = _serial_reference(tmp_path)
    _assert_equals_serial(lake, ref)
    stored = {f["sha256"] for d in docs[:3] for f in d["files"] if f["status"] in ("imported", "partial")}
    reported = sum(d["imported"] + d["partial"] for d in docs[:3])
    assert reported == len(stored) == file_counts(ref, "jane")["source_file"]  # each stored once, by one station
    assert docs[3]["imported"] + docs[3]["partial"] == file_counts(ref, "bob")["source_file"]


def test_a_writer_killed_mid_transaction_leaves_the_lake_consistent_and_a_rerun_completes(
    lake: LakeConfig, tmp_path: Path
) -> None:
    db = tmp_path / "station.duckdb"
    assert cli("--athlete", "bob", "import", *map(str, RUN_FILES), db=db, lake=lake).returncode in (0, 1)
    # jane's import is killed inside its lake transaction: Parquet files written, nothing committed
    kill_9_at_pause(
        "--athlete", "jane", "import", *map(str, RUN_FILES), db=db, lake=lake, stage="lake-commit", tmp=tmp_path
    )
    con = plain_lake(lake)
    assert table_counts(con, "lake.", "jane") == dict.fromkeys(table_counts(con, "lake.", "jane"), 0)
    assert incomplete_files(con, "lake.") == []
    con.close()
    # the dead writer's claim on jane went with its PostgreSQL session: the re-run does not wait for it
    t0 = time.monotonic()
    r = cli("--wait", "10", "--athlete", "jane", "import", *map(str, RUN_FILES), db=db, lake=lake)
    assert r.returncode in (0, 1), r.stderr
    assert time.monotonic() - t0 < 60
    for athlete, paths in STATIONS:  # the rest of the stations' work, so that the serial run compares
        assert cli("--athlete", athlete, "import", *map(str, paths), db=db, lake=lake).returncode in (0, 1)
    _assert_equals_serial(lake, _serial_reference(tmp_path))


def test_the_catalog_server_stopped_mid_import_is_one_line_exit_4_and_nothing_half_written(
    own_pg_server: PgServer, tmp_path: Path
) -> None:
    own_pg_server.createdb("clinic")
    lake = LakeConfig(own_pg_server.catalog("clinic"), str(tmp_path / "lake-data"))
    db = tmp_path / "station.duckdb"
    assert cli("--athlete", "bob", "import", *map(str, RUN_FILES), db=db, lake=lake).returncode in (0, 1)
    release = tmp_path / "go"
    proc = start_until_paused(
        "--athlete",
        "jane",
        "import",
        *map(str, RUN_FILES),
        str(STRENGTH),
        db=db,
        lake=lake,
        stage="lake-commit",
        release=release,
    )
    own_pg_server.stop("fast")  # the server goes away while jane's transaction waits to commit
    release.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err
    [line] = [ln for ln in err.strip().splitlines() if "runstrong-test" not in ln]
    assert line.startswith("runstrong import: lake catalog postgres:dbname=clinic") and "unreachable" in line, line
    assert "Traceback" not in err and out == ""
    own_pg_server.start()
    con = plain_lake(lake)
    assert table_counts(con, "lake.", "jane") == dict.fromkeys(table_counts(con, "lake.", "jane"), 0)
    assert table_counts(con, "lake.", "bob")["source_file"] > 0
    assert incomplete_files(con, "lake.") == []
    con.close()
    r = cli("--athlete", "jane", "import", *map(str, RUN_FILES), str(STRENGTH), db=db, lake=lake)
    assert r.returncode in (0, 1), r.stderr
    ref = tmp_path / "ref.duckdb"
    for athlete, paths in (("bob", RUN_FILES), ("jane", [*RUN_FILES, STRENGTH])):
        cli("--athlete", athlete, "import", *map(str, paths), db=ref, lake=None)
    con = plain_lake(lake)
    for athlete in ("jane", "bob"):
        assert table_counts(con, "lake.", athlete) == file_counts(ref, athlete)
    con.close()
