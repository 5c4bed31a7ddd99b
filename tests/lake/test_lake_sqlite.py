"""A lake whose catalog is a SQLite file (several processes on one machine; claims are flocks)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from store.lake import LakeConfig, extension_dir
from tests.lake.helpers import RUNS, cli, duplicates, file_counts, popen, table_counts

pytestmark = pytest.mark.slow


def _plain(catalog: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("ducklake", "sqlite_scanner"):
        con.load_extension(str(extension_dir() / f"{name}.duckdb_extension"))
    con.execute(f"ATTACH 'ducklake:sqlite:{catalog}' AS lake (READ_ONLY)")
    return con


def test_three_processes_create_and_fill_one_sqlite_lake_once(tmp_path: Path) -> None:
    catalog = tmp_path / "lake" / "catalog.sqlite"
    lake = LakeConfig(f"sqlite:{catalog}", str(tmp_path / "lake" / "data"))
    procs = [
        popen("--json", "--athlete", "jane", "import", str(RUNS), db=tmp_path / f"s{i}.duckdb", lake=lake)
        for i in range(3)
    ]  # the lake does not exist yet: all three create it at once
    docs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        docs.append(json.loads(out))
    assert sum(d["imported"] for d in docs) == len(list(RUNS.glob("*.fit")))
    ref = tmp_path / "ref.duckdb"
    cli("--athlete", "jane", "import", str(RUNS), db=ref, lake=None)
    con = _plain(catalog)
    assert table_counts(con, "lake.", "jane") == file_counts(ref, "jane")
    assert not any(duplicates(con, "lake.").values())
    con.close()
    r = cli("--json", "--athlete", "jane", "athlete", "delete", "--yes", db=tmp_path / "s0.duckdb", lake=lake)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["lake"]["files_still_holding"] == 0
    assert (catalog.with_name(catalog.name + ".claims")).is_dir()
