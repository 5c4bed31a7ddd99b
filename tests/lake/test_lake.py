"""The store on DuckLake with a real PostgreSQL catalog (issue 14): schema, commands, push/pull,
erasure, reports, errors. Concurrency, kill -9 and a catalog server stopped mid-import are in
test_lake_concurrency.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from store import lake as lake_mod
from store.connection import open_store
from store.lake import LakeBusyError, LakeConfig
from store.lake_schema import lake_sql
from store.schema import MIGRATIONS
from tests.lake.conftest import PgServer
from tests.lake.helpers import (
    RUNS,
    STRENGTH,
    cli,
    duplicates,
    file_counts,
    kill_9_at_pause,
    parquet_files,
    plain_lake,
    table_counts,
)
from tests.paths import REPO_ROOT


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str, bool]]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "ORDER BY table_name, column_index"
    ).fetchall()
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for t, c, ty, null in rows:
        out.setdefault(t, []).append((c, ty, null))
    return out


def test_the_lake_schema_is_the_files_from_the_same_migrations_without_keys(lake: LakeConfig, tmp_path: Path) -> None:
    file_con = open_store(tmp_path / "x.duckdb")
    lake_con = open_store(tmp_path / "x.duckdb.unused", lake=lake)
    try:
        assert _columns(lake_con) == _columns(file_con)
        keys = file_con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
            "AND database_name = current_database()"
        ).fetchone()[0]
        assert keys >= 10  # the file keeps its keys ...
        assert (
            lake_con.execute(
                "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
                "AND database_name = current_database()"
            ).fetchone()[0]
            == 0
        )  # ... the lake has none
        assert lake_con.execute("SELECT max(version) FROM schema_migration").fetchone()[0] == MIGRATIONS[-1].version
    finally:
        file_con.close()
        lake_con.close()
    for m in MIGRATIONS:
        stripped = lake_sql(m.sql)
        assert not re.search(r"PRIMARY\s+KEY|UNIQUE", stripped, re.IGNORECASE)
        assert stripped.count("CREATE TABLE") == m.sql.count("CREATE TABLE")


@pytest.mark.slow
def test_import_activities_and_duplicates_on_the_lake_equal_the_file(lake: LakeConfig, tmp_path: Path) -> None:
    db = tmp_path / "station.duckdb"
    r = cli("--json", "--athlete", "jane", "import", str(RUNS), str(STRENGTH), db=db, lake=lake)
    assert r.returncode in (0, 1), r.stderr
    first = json.loads(r.stdout)
    assert first["imported"] >= 10
    assert not db.exists()  # the lake, not the file, was written (landing files would go beside it)
    ref = tmp_path / "ref.duckdb"
    r_ref = cli("--json", "--athlete", "jane", "import", str(RUNS), str(STRENGTH), db=ref, lake=None)
    assert json.loads(r_ref.stdout)["imported"] == first["imported"]
    on_lake = json.loads(cli("--json", "--athlete", "jane", "activities", db=db, lake=lake).stdout)
    on_file = json.loads(cli("--json", "--athlete", "jane", "activities", db=ref, lake=None).stdout)
    assert on_lake == on_file
    again = json.loads(cli("--json", "--athlete", "jane", "import", str(RUNS), db=db, lake=lake).stdout)
    assert again["imported"] == 0 and {f["reason"] for f in again["files"]} == {"duplicate"}
    con = plain_lake(lake)
    assert table_counts(con, "lake.") == file_counts(ref)
    assert not any(duplicates(con, "lake.").values())
    exports = [
        json.loads(cli("--json", "export", "--parquet", str(tmp_path / name), db=target, lake=lk).stdout)
        for name, target, lk in (("from-lake", db, lake), ("from-file", ref, None))
    ]
    assert {t: v["rows"] for t, v in exports[0]["tables"].items() if t != "schema_migration"} == {
        t: v["rows"] for t, v in exports[1]["tables"].items() if t != "schema_migration"
    }


@pytest.mark.slow
def test_correct_and_athlete_on_the_lake(lake: LakeConfig, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert cli("--athlete", "ann", "import", str(STRENGTH), db=db, lake=lake).returncode in (0, 1)
    sets = json.loads(cli("--json", "--athlete", "ann", "sets", db=db, lake=lake).stdout)["sets"]
    set_id = next(s["set_id"] for s in sets if s["set_type"] == "active")
    for exercise in ("deadlift", "back_squat"):  # the second replaces the first: one row
        r = cli("--athlete", "ann", "correct", "--set", set_id, "--exercise", exercise, db=db, lake=lake)
        assert r.returncode == 0, r.stderr
    r = cli("--athlete", "ann", "athlete", "set", "--body-mass-kg", "61", "--tz", "Europe/Oslo", db=db, lake=lake)
    assert r.returncode == 0, r.stderr
    con = plain_lake(lake)
    assert con.execute("SELECT exercise FROM lake.set_correction WHERE set_id = ?", [set_id]).fetchall() == [
        ("back_squat",)
    ]
    assert con.execute("SELECT body_mass_kg, tz FROM lake.athlete WHERE athlete = 'ann'").fetchall() == [
        (61.0, "Europe/Oslo")
    ]
    after = json.loads(cli("--json", "--athlete", "ann", "sets", db=db, lake=lake).stdout)["sets"]
    assert next(s for s in after if s["set_id"] == set_id)["exercise"] == "back_squat"


def test_a_claim_held_by_another_station_waits_then_is_busy(lake: LakeConfig, tmp_path: Path) -> None:
    """Two stations (two DuckDB instances, two PostgreSQL sessions): the second waits for the
    first's claim on the athlete and gives up after its --wait with LakeBusyError (exit code 3)."""
    a = open_store(tmp_path / "a", lake=lake, wait_s=5)
    b = open_store(tmp_path / "b", lake=LakeConfig(lake.catalog), wait_s=0.5)
    try:
        with lake_mod.claimed(a, "athlete:zoe"):
            from store.athletes import set_profile

            with pytest.raises(LakeBusyError, match=r"athlete zoe is being written by another station"):
                set_profile(b, "zoe", body_mass_kg=70)
            set_profile(b, "other", body_mass_kg=70)  # another athlete's claim is free
        set_profile(b, "zoe", body_mass_kg=71)  # released
    finally:
        a.close()
        b.close()
    r = cli("--athlete", "zoe", "athlete", "show", "--json", db=tmp_path / "c", lake=lake)
    assert json.loads(r.stdout)["athlete"]["body_mass_kg"] == 71.0


def test_unusable_lake_options_are_usage_errors_and_an_unreachable_catalog_is_exit_4(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    r = cli("activities", db=db, lake=LakeConfig("mysql:db=x"))
    assert r.returncode == 2 and "--lake" in r.stderr
    r = cli("--lake-data", str(tmp_path / "d"), "activities", db=db, lake=None)
    assert r.returncode == 2 and "--lake-data needs --lake" in r.stderr
    gone = LakeConfig(
        f"postgres:dbname=runstrong host={tmp_path / 'no-server'} port=5432 user=postgres", str(tmp_path / "data")
    )
    r = cli("--athlete", "x", "import", str(RUNS), db=db, lake=gone)
    assert r.returncode == 4, r.stderr
    [line] = r.stderr.strip().splitlines()
    assert "lake catalog postgres:dbname=runstrong" in line and "unreachable" in line and "Traceback" not in line
    assert not db.exists()


def test_a_lake_of_a_newer_runstrong_is_refused(lake: LakeConfig, pg_server: PgServer, tmp_path: Path) -> None:
    open_store(tmp_path / "x", lake=lake).close()
    con = plain_lake(LakeConfig(lake.catalog))
    con.execute("DETACH lake")
    con.execute(f"ATTACH 'ducklake:{lake.catalog}' AS lake")
    con.execute("INSERT INTO lake.schema_migration VALUES (99, 'from the future', now())")
    con.close()
    r = cli("activities", db=tmp_path / "x.duckdb", lake=lake)
    assert r.returncode == 2
    assert "newer runstrong (schema 99 >" in r.stderr and "lake postgres:" in r.stderr


@pytest.mark.slow
def test_lake_push_then_pull_round_trip(lake: LakeConfig, tmp_path: Path) -> None:
    src = tmp_path / "laptop.duckdb"
    for athlete, folder in (("jane", RUNS), ("bob", STRENGTH)):
        assert cli("--athlete", athlete, "import", str(folder), db=src, lake=None).returncode in (0, 1)
    assert cli("--athlete", "jane", "athlete", "set", "--body-mass-kg", "58", db=src, lake=None).returncode == 0
    # a push killed inside its third transaction (bob's files and bob's other tables committed, jane's
    # files not); the next push copies the rest, once
    kill_9_at_pause("lake", "push", db=src, lake=lake, stage="lake-commit@3", tmp=tmp_path)
    con = plain_lake(lake)
    assert table_counts(con, "lake.", "bob") == file_counts(src, "bob")
    assert table_counts(con, "lake.", "jane") == dict.fromkeys(file_counts(src, "jane"), 0)
    con.close()
    r = cli("--json", "lake", "push", db=src, lake=lake)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["direction"] == "push" and doc["athletes"] == ["bob", "jane"]
    expected = file_counts(src)
    resumed = {t: n for t, n in file_counts(src, "jane").items() if n}
    assert doc["rows"] == resumed
    con = plain_lake(lake)
    assert table_counts(con, "lake.") == expected
    con.close()
    again = json.loads(cli("--json", "lake", "push", db=src, lake=lake).stdout)
    assert again["rows"] == {} and again["files"] == 0  # idempotent
    out = tmp_path / "offline.duckdb"
    r = cli("--json", "--athlete", "jane", "lake", "pull", db=out, lake=lake)
    assert r.returncode == 0, r.stderr
    pulled = json.loads(r.stdout)
    assert pulled["rows"]["record"] == expected["record"] - file_counts(src, "bob")["record"]
    assert file_counts(out) == file_counts(src, "jane")
    for cmd in (["activities"], ["sets"], ["athlete", "show"]):
        on_src = cli("--json", "--athlete", "jane", *cmd, db=src, lake=None).stdout
        assert cli("--json", "--athlete", "jane", *cmd, db=out, lake=None).stdout == on_src
    r = cli("lake", "pull", db=out, lake=lake)
    assert r.returncode == 2 and "--athlete" in r.stderr


@pytest.mark.slow
def test_docs_example_reads_the_lake_with_plain_duckdb_sql(lake: LakeConfig, tmp_path: Path) -> None:
    """The Python example of docs/operations.md, run as it is written (catalog string replaced)."""
    db = tmp_path / "s.duckdb"
    for athlete in ("jane", "bob"):
        assert cli("--athlete", athlete, "import", str(RUNS), db=db, lake=lake).returncode in (0, 1)
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    m = re.search(r"<!-- lake-sql-example -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert m, "docs/operations.md lost its lake SQL example"
    code = m.group(1).replace("postgres:dbname=runstrong host=/run/postgresql port=5432", lake.catalog)
    assert lake.catalog in code
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    ref = tmp_path / "ref.duckdb"
    cli("--athlete", "jane", "import", str(RUNS), db=ref, lake=None)
    con = duckdb.connect(str(ref), read_only=True)
    runs, km = con.execute(
        "SELECT count(*), round(sum(distance_m) / 1000, 1) FROM activity WHERE sport = 'running'"
    ).fetchone()
    con.close()
    lines = [ln.split() for ln in r.stdout.strip().splitlines()]
    assert ["bob", str(runs), str(km)] in lines and ["jane", str(runs), str(km)] in lines, r.stdout


_WHEN = {"generated_at", "fingerprint", "last_import_at", "excluded_at", "imported_at", "logged_at", "at"}


def _without_times(x: object) -> object:
    """A report.json without the instants of the build and of the imports (both stores differ only there)."""
    if isinstance(x, dict):
        return {k: _without_times(v) for k, v in x.items() if k not in _WHEN}
    if isinstance(x, list):
        return [_without_times(v) for v in x]
    return x


@pytest.mark.slow
def test_report_from_the_lake_equals_the_report_from_a_file(lake: LakeConfig, tmp_path: Path) -> None:
    db, ref = tmp_path / "s.duckdb", tmp_path / "ref.duckdb"
    for target, lk in ((db, lake), (ref, None)):
        for athlete, folder in (("jane", RUNS), ("bob", STRENGTH)):
            assert cli("--athlete", athlete, "import", str(folder), db=target, lake=lk).returncode in (0, 1)
        r = cli("--json", "report", "--out", str(tmp_path / f"out-{target.stem}"), db=target, lake=lk)
        assert r.returncode == 0, r.stderr
    docs = [_without_times(json.loads((tmp_path / f"out-{t.stem}" / "report.json").read_text())) for t in (db, ref)]
    assert docs[0] == docs[1]
    assert [a["athlete"] for a in docs[0]["athletes"]] == ["bob", "jane"]
    index = (tmp_path / "out-s" / "index.html").read_text()
    for a in docs[0]["athletes"]:
        assert (tmp_path / "out-s" / a["page"]).is_file() and a["page"] in index


@pytest.mark.slow
def test_replayed_sessions_merge_into_the_lake_once(lake: LakeConfig, tmp_path: Path) -> None:
    from tests.store.test_landing import write_session

    db = tmp_path / "gym.duckdb"
    write_session(db, range(6))  # a finished session left in a landing file beside --db
    copy = tmp_path / "other-station.duckdb"
    shutil.copytree(db.with_name(db.name + ".landing"), copy.with_name(copy.name + ".landing"))
    for station in (db, copy):  # the same batches merged twice, from two stations
        r = cli("--athlete", "ann", "activities", db=station, lake=lake)
        assert r.returncode == 0, r.stderr
        r = cli("--athlete", "ann", "import", str(RUNS / "garmin-fenix-5-run.fit"), db=station, lake=lake)
        assert r.returncode == 0, r.stderr
        assert not list(station.with_name(station.name + ".landing").rglob("*.duckdb"))
    con = plain_lake(lake)
    c = table_counts(con, "lake.", "ann")
    assert (c["stream_session"], c["stream_batch"], c["imu_sample"], c["ble_frame"], c["rep"]) == (1, 6, 150, 150, 2)
    assert not any(duplicates(con, "lake.").values())


@pytest.mark.slow
def test_erasure_leaves_no_parquet_file_or_inlined_row_holding_the_athlete(
    lake: LakeConfig, pg_server: PgServer, tmp_path: Path
) -> None:
    """Two athletes share the lake; a writer of jane's is killed mid-commit (its Parquet files stay
    behind as orphans); small writes are inlined in the catalog. After `athlete delete`, no file
    under the data path and no inlined row holds jane's rows but the tombstones, and bob's data
    is whole."""
    db = tmp_path / "s.duckdb"
    runs = sorted(RUNS.glob("*.fit"))
    for athlete in ("jane", "bob"):
        assert cli("--athlete", athlete, "import", *map(str, runs[:-1]), db=db, lake=lake).returncode in (0, 1)
    con = open_store(db, lake=lake)
    con.execute("CALL ducklake_set_option('runstrong_lake', 'data_inlining_row_limit', 100)")
    con.close()
    for athlete in ("jane", "bob"):  # small inserts (ledger rows, activities, sets): inlined in the catalog
        assert cli("--athlete", athlete, "import", str(STRENGTH), db=db, lake=lake).returncode in (0, 1)
        assert cli("--athlete", athlete, "athlete", "set", "--body-mass-kg", "60", db=db, lake=lake).returncode == 0
    dbname = lake.catalog.split("dbname=")[1].split()[0]
    inlined_tables = pg_server.psql(dbname, "SELECT table_name FROM ducklake_inlined_data_tables").split()
    assert any(
        pg_server.psql(dbname, f"SELECT count(*) FROM {t} WHERE athlete = 'jane'").strip() != "0"
        for t in inlined_tables
        if "athlete"
        in pg_server.psql(
            dbname, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{t}'"
        ).split()
    )
    before_files = set(parquet_files(lake))
    # a writer killed inside its lake transaction: its Parquet files (records) stay as orphans
    kill_9_at_pause("--athlete", "jane", "import", str(runs[-1]), db=db, lake=lake, stage="lake-commit", tmp=tmp_path)
    orphans = set(parquet_files(lake)) - before_files
    assert orphans
    bob_before = cli("--json", "--athlete", "bob", "activities", db=db, lake=lake).stdout
    r = cli("--json", "--athlete", "jane", "athlete", "delete", "--yes", db=db, lake=lake)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["lake"]["files_still_holding"] == 0 and doc["lake"]["orphans_removed"] >= 1
    tombstone_columns = ({"athlete", "sha256", "deleted_at"}, {"athlete", "deleted_at"})
    holding = []
    for path in parquet_files(lake):
        cols = {c[0] for c in duckdb.execute("SELECT name FROM parquet_schema(?)", [path]).fetchall()}
        if (
            "athlete" in cols
            and duckdb.execute("SELECT count(*) FROM read_parquet(?) WHERE athlete = 'jane'", [path]).fetchone()[0]
        ):
            # (rows flushed from the catalog carry DuckLake's internal row id and snapshot columns)
            holding.append((path, {c for c in cols - {"duckdb_schema"} if not c.startswith("_ducklake_internal")}))
    assert all(cols in tombstone_columns for _, cols in holding), holding
    for (name,) in [
        ln.split("|") for ln in pg_server.psql(dbname, "SELECT table_name FROM ducklake_inlined_data_tables").split()
    ]:
        if (
            "athlete"
            in pg_server.psql(
                dbname, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{name}'"
            ).split()
        ):
            assert pg_server.psql(dbname, f"SELECT count(*) FROM {name} WHERE athlete = 'jane'").strip() == "0"
    assert cli("--json", "--athlete", "bob", "activities", db=db, lake=lake).stdout == bob_before
    assert json.loads(cli("--json", "--athlete", "jane", "activities", db=db, lake=lake).stdout)["activities"] == []


@pytest.mark.slow
def test_an_encrypted_lake_keeps_its_files_unreadable_without_the_catalog(lake: LakeConfig, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    r = cli("--lake-encrypted", "--athlete", "jane", "import", str(RUNS / "garmin-fenix-5-run.fit"), db=db, lake=lake)
    assert r.returncode == 0, r.stderr
    # later stations need no flag: the lake knows it is encrypted, and they write encrypted files too
    r = cli("--athlete", "jane", "import", str(RUNS / "activity-small-fenix2-run.fit"), db=db, lake=lake)
    assert r.returncode == 0, r.stderr
    files = parquet_files(lake)
    assert files
    for path in files:
        assert b"jane" not in Path(path).read_bytes()
        with pytest.raises(duckdb.Error, match="encrypted"):
            duckdb.connect().execute("SELECT * FROM read_parquet(?)", [path]).fetchall()
    acts = json.loads(cli("--json", "--athlete", "jane", "activities", db=db, lake=lake).stdout)["activities"]
    assert len(acts) >= 2  # through the catalog, which holds the keys
    r = cli("--json", "--athlete", "jane", "athlete", "delete", "--yes", db=db, lake=lake)
    assert r.returncode == 0, r.stderr
