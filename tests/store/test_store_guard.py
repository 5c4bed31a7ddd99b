"""Opening and creating the store (issue 12, items 11 and 14): a store newer than this code is refused
with nothing written; a store is created race-free between processes."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from store.connection import open_store
from store.schema import LATEST_VERSION, NewerStoreError

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "sample_data" / "fit" / "runs"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "pipeline.py"), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _newer_schema_store(db: Path, version: int = 99) -> None:
    con = open_store(db)
    con.execute("INSERT INTO schema_migration VALUES (?, 'from the future', now())", [version])
    con.close()


@pytest.mark.parametrize(
    "command",
    [
        ["import", str(RUNS / "garmin-fenix-5-run.fit")],
        ["activities"],
        ["athlete", "set", "--body-mass-kg", "70"],
        ["report", "--out", "OUT"],
        ["replay", str(REPO / "tests" / "no-such.capture.jsonl"), "--exercise", "deadlift", "--load-kg", "100"],
    ],
)
def test_a_store_of_a_newer_runstrong_is_refused_and_left_untouched(command: list[str], tmp_path: Path) -> None:
    """main wrote to a schema-99 store without a word (or failed with a masked error)."""
    db = tmp_path / "db" / "x.duckdb"
    db.parent.mkdir()
    _newer_schema_store(db)
    before = _snapshot(db.parent)
    command = [str(tmp_path / "out") if c == "OUT" else c for c in command]
    r = _cli("--db", str(db), *command)
    assert r.returncode == 2, r.stderr
    [line] = r.stderr.strip().splitlines()
    assert f"this store was written by a newer runstrong (schema 99 > {LATEST_VERSION})" in line
    assert _snapshot(db.parent) == before  # no byte written, no WAL, no landing folder
    assert not (tmp_path / "out").exists()


def _duckdb_checksum(block: bytes) -> int:
    """DuckDB's block checksum (5381 xor each little-endian uint64 times 0xbf58476d1ce4e5b9)."""
    words = np.frombuffer(block, dtype="<u8")
    with np.errstate(over="ignore"):
        return int(np.uint64(5381) ^ np.bitwise_xor.reduce(words * np.uint64(0xBF58476D1CE4E5B9)))


def _as_written_by_newer_duckdb(db: Path) -> None:
    """Rewrite the main header as a future DuckDB would: a storage version this DuckDB cannot read
    and that DuckDB's version string, with a valid checksum."""
    data = bytearray(db.read_bytes())
    assert data[8:12] == b"DUCK"
    data[12:20] = struct.pack("<Q", 100_000)
    data[52:84] = b"v9.9.9".ljust(32, b"\0")
    data[0:8] = struct.pack("<Q", _duckdb_checksum(bytes(data[8:4096])))
    db.write_bytes(bytes(data))


def test_a_store_of_a_newer_duckdb_is_refused_naming_both_versions(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    open_store(db).close()
    _as_written_by_newer_duckdb(db)
    with pytest.raises(duckdb.IOException, match="newer version of DuckDB"):
        duckdb.connect(str(db))  # the premise: this DuckDB itself refuses the file
    before = _snapshot(tmp_path)
    r = _cli("--db", str(db), "activities")
    assert r.returncode == 2
    [line] = r.stderr.strip().splitlines()
    assert "written by a newer DuckDB (v9.9.9)" in line and f"DuckDB {duckdb.__version__}" in line
    assert "storage format 100000" in line
    assert _snapshot(tmp_path) == before


#: A runstrong store created by ``open_store`` under DuckDB 2.0.1 (schema 3), gzipped: that DuckDB writes
#: storage version 999 in the header, which DuckDB 1.4 cannot read.
WRITTEN_BY_2_0_1 = REPO / "tests" / "fixtures" / "duckdb" / "store-written-by-duckdb-2.0.1.duckdb.gz"


@pytest.mark.parametrize("command", [["activities"], ["import", str(RUNS / "garmin-fenix-5-run.fit")]])
def test_a_store_written_by_duckdb_2_0_1_is_refused_naming_both_versions(command: list[str], tmp_path: Path) -> None:
    import gzip

    db = tmp_path / "x.duckdb"
    db.write_bytes(gzip.decompress(WRITTEN_BY_2_0_1.read_bytes()))
    with pytest.raises(duckdb.IOException, match="newer version of DuckDB"):
        duckdb.connect(str(db))  # the premise: this DuckDB itself refuses the real file
    before = _snapshot(tmp_path)
    r = _cli("--db", str(db), *command)
    assert r.returncode == 2, r.stderr
    [line] = r.stderr.strip().splitlines()
    assert "written by a newer DuckDB (v2.0.1)" in line and f"DuckDB {duckdb.__version__}" in line, line
    assert "storage format 999" in line, line
    assert _snapshot(tmp_path) == before


def test_open_store_raises_the_newer_store_error(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    _newer_schema_store(db, 7)
    with pytest.raises(NewerStoreError, match=r"schema 7 > "):
        open_store(db)


# ------------------------------------------------------------------------------------------
# creating a missing store: race-free between processes


def _start_paused(db: Path, fit: Path, stage: str, release: Path) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, str(REPO / "pipeline.py"), "--db", str(db), "--json", "import", str(fit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "RUNSTRONG_TEST_PAUSE": f"{stage}:{release}"},
    )
    assert p.stderr is not None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if line.startswith("runstrong-test: paused at") or not line:
            break
    assert line.strip() == f"runstrong-test: paused at {stage}", f"process A never paused at {stage}: {line!r}"
    return p


@pytest.mark.parametrize("stage", ["store-built", "store-linked"])
def test_creating_a_missing_store_is_race_free(stage: str, tmp_path: Path) -> None:
    """Process A stops between creating the store and opening it; process B creates or opens the same
    store meanwhile. On main, B could open A's half-created file: "exists, but it is not a valid
    DuckDB database file" (1 run in 21 of three simultaneous imports)."""
    db = tmp_path / "new" / "x.duckdb"
    release = tmp_path / "release"
    a = _start_paused(db, RUNS / "garmin-fenix-5-run.fit", stage, release)
    try:
        if stage == "store-built":
            assert not db.exists()  # A's store is complete under a temporary name, not yet at the path
        else:
            con = duckdb.connect(str(db), read_only=True)  # a complete store, not a half-written file
            assert con.execute("SELECT max(version) FROM schema_migration").fetchone()[0] == LATEST_VERSION
            con.close()
        b = _cli("--db", str(db), "--json", "import", str(RUNS / "antfs-dump.63.fit"))
        assert b.returncode == 0, b.stderr
    finally:
        release.touch()
        _out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM source_file").fetchone()[0] == 2
    finally:
        con.close()
    assert sorted(p.name for p in db.parent.iterdir()) == ["x.duckdb"]  # no temporary file left


def test_a_store_that_cannot_be_created_is_a_one_line_store_error(tmp_path: Path, monkeypatch) -> None:
    """Creating under a temporary name must keep what held before: a read-only folder or a full disk
    is a StoreError with one line (the CLI's exit 1), never a raw DuckDB exception."""
    import store.connection as connection

    real = duckdb.connect

    def read_only_fs(path, *a, **k):
        if ".creating-" in str(path):
            raise duckdb.IOException('IO Error: Cannot open file "x": Read-only file system')
        return real(path, *a, **k)

    monkeypatch.setattr(connection.duckdb, "connect", read_only_fs)
    with pytest.raises(connection.StoreError, match=r"^cannot create database .*: IO Error: .*Read-only file system$"):
        open_store(tmp_path / "x.duckdb")
    assert list(tmp_path.iterdir()) == []
