"""`athlete delete`: one athlete's data, everywhere, for good (hardening issue, items 1 and 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from jobs.replay import replay_capture
from store.athletes import delete_athlete, list_athletes
from store.connection import open_store
from store.erasure import erase_athlete
from store.landing import LandingBusyError, LandingWriter, landing_files, landing_path, merge_landing, merge_pending
from tests.jobs.test_replay import record_live
from tests.paths import REPO_ROOT
from tests.store.rows import rows_of_athlete
from tests.store.test_landing import batch, session_row, write_session

ROOT = REPO_ROOT
SAMPLE = ROOT / "sample_data" / "fit"
STREAM_TABLES = ("stream_batch", "ble_frame", "imu_sample", "stream_gap", "stream_session", "rep", "strength_set")


def per_athlete(db: Path, athlete: str) -> dict[str, int]:
    return rows_of_athlete(db, athlete, STREAM_TABLES)


def test_deleting_one_athlete_leaves_anothers_copy_of_the_same_capture(tmp_path: Path) -> None:
    """The same capture streamed by bob and replayed under ann is one session id for both; ann's
    deletion used to delete bob's frames and samples (rows keyed by session_id alone)."""
    db, capture = tmp_path / "main.duckdb", tmp_path / "set.capture.jsonl.gz"
    live = record_live(db, capture)
    bob = per_athlete(db, "bob")
    assert bob["ble_frame"] > 0 and bob["imu_sample"] > 0 and bob["stream_gap"] == 1
    out = replay_capture(capture, db_path=db, athlete="ann", exercise="deadlift", load_kg=140.0)
    assert out["session_id"] == live["session_id"]
    assert per_athlete(db, "ann") == bob  # ann owns a whole copy of her own
    con = open_store(db)
    try:
        deleted = erase_athlete(con, db, "ann")
    finally:
        con.close()
    assert deleted["ble_frame"] == bob["ble_frame"] and deleted["imu_sample"] == bob["imu_sample"]
    assert per_athlete(db, "bob") == bob
    assert set(per_athlete(db, "ann").values()) == {0}


def test_delete_removes_unmerged_landing_files_and_they_never_come_back(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    write_session(db, range(3), sid="aaaaaaaaaaaaaaaa")  # ann streamed while the store was held
    keep = {**session_row("bbbbbbbbbbbbbbbb"), "athlete": "bob"}
    w = LandingWriter(db, "bbbbbbbbbbbbbbbb", keep)
    w.write_batch(0, *batch(0))
    w.finish({**keep, "status": "complete"})
    w.close()
    con = open_store(db)
    try:
        counts = erase_athlete(con, db, "ann")
        assert counts == {"landing_files": 1}
        assert [p.parent.name for p in landing_files(db, pending=False)] == ["bob"]
        assert merge_pending(con, db) == ["bbbbbbbbbbbbbbbb"]  # bob's stream merges; nothing of ann's
        assert [p.athlete for p in list_athletes(con)] == ["bob"]
    finally:
        con.close()
    assert per_athlete(db, "ann")["ble_frame"] == 0


def test_delete_waits_for_a_live_stream_of_that_athlete(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    live = LandingWriter(db, "aaaaaaaaaaaaaaaa", session_row("aaaaaaaaaaaaaaaa"))  # held open by this process
    live.write_batch(0, *batch(0))
    con = open_store(db)
    try:
        con.execute("INSERT INTO athlete (athlete, created_at) VALUES ('ann', now())")
        with pytest.raises(LandingBusyError, match="still being written"):
            erase_athlete(con, db, "ann")
        assert [p.athlete for p in list_athletes(con)] == ["ann"]  # nothing deleted
    finally:
        con.close()
        live.close()
    assert len(landing_files(db, pending=False)) == 1


def test_a_landing_file_left_by_a_crash_during_delete_is_discarded_not_merged(tmp_path: Path) -> None:
    """A crash after the rows were deleted but before the landing file was removed: the next merge
    discards the file (started before the deletion) instead of bringing the athlete back; a stream
    of the same name started after the deletion is new data and merges."""
    db = tmp_path / "main.duckdb"
    write_session(db, range(2), sid="aaaaaaaaaaaaaaaa")
    con = open_store(db)
    try:
        delete_athlete(con, "ann")  # step 2 of erase_athlete only: the file stays behind
        assert merge_pending(con, db) == ["aaaaaaaaaaaaaaaa"]
        assert not landing_files(db, pending=False)
        assert per_athlete_con(con, "ann") == 0 and not list_athletes(con)
        write_session(db, range(2), sid="cccccccccccccccc")  # after the deletion: a new ann
        assert merge_pending(con, db) == ["cccccccccccccccc"]
        assert per_athlete_con(con, "ann") == 50 and [p.athlete for p in list_athletes(con)] == ["ann"]
    finally:
        con.close()


def test_an_athlete_deleted_between_two_merge_transactions_stays_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge writes one transaction per range of batches; on a lake another station's `athlete delete`
    can commit between two of them. Each range and the session's last transaction check the deletion
    inside themselves: nothing of the athlete is written after it (the first range, committed before,
    went with the deletion)."""
    import store.landing as landing

    monkeypatch.setattr(landing, "CHUNK_ROWS", 25)  # one batch of 25 frames per range
    db = tmp_path / "main.duckdb"
    write_session(db, range(4), sid="aaaaaaaaaaaaaaaa")
    con = open_store(db)
    real = landing.write_transaction
    calls = []

    def delete_after_the_first(c, fn, *, scope=None):
        out = real(c, fn, scope=scope)
        calls.append(scope)
        if len(calls) == 1:
            delete_athlete(con, "ann")  # as another station would, between two transactions
        return out

    monkeypatch.setattr(landing, "write_transaction", delete_after_the_first)
    try:
        res = merge_landing(con, landing_path(db, "ann", "aaaaaaaaaaaaaaaa"))
        assert res.status == "discarded" and res.batches_merged == 1
        for table in ("stream_session", "stream_batch", "ble_frame", "imu_sample", "rep", "strength_set"):
            assert con.execute(f"SELECT count(*) FROM {table} WHERE athlete = 'ann'").fetchone()[0] == 0, table
        assert not list_athletes(con)
    finally:
        con.close()


def per_athlete_con(con: duckdb.DuckDBPyConnection, athlete: str) -> int:
    return con.execute("SELECT count(*) FROM imu_sample WHERE athlete = ?", [athlete]).fetchone()[0]


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "pipeline.py"), "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.slow
def test_nightly_of_the_same_folder_does_not_bring_a_deleted_athlete_back(tmp_path: Path) -> None:
    db, watch, out = tmp_path / "x.duckdb", tmp_path / "inbox", tmp_path / "report"
    watch.mkdir()
    (watch / "run.fit").write_bytes((SAMPLE / "runs/garmin-fenix-5-run.fit").read_bytes())
    assert run("--athlete", "jane", "nightly", "--watch", str(watch), "--out", str(out), db=db).returncode == 0
    r = run("--athlete", "jane", "--json", "athlete", "delete", "--yes", db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["deleted_rows"]["record"] == 21
    r = run("--athlete", "jane", "--json", "nightly", "--watch", str(watch), "--out", str(out), db=db)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["imported"], doc["skipped"]) == (0, 1)
    r = run("--json", "import", str(watch), db=db)  # another athlete may import the same file
    assert json.loads(r.stdout)["imported"] == 1
    r = run("--athlete", "jane", "--json", "import", str(watch / "run.fit"), db=db)
    assert json.loads(r.stdout)["files"][0]["reason"] == "deleted athlete"
    assert json.loads(run("--json", "athlete", "list", db=db).stdout)["athletes"][0]["athlete"] == "default"
    assert len(json.loads(run("--json", "athlete", "list", db=db).stdout)["athletes"]) == 1
    r = run("--athlete", "jane", "--json", "import", "--undelete", str(watch / "run.fit"), db=db)
    assert json.loads(r.stdout)["imported"] == 1
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM record WHERE athlete = 'jane'").fetchone()[0] == 21
    finally:
        con.close()


def test_every_stream_row_names_its_athlete(tmp_path: Path) -> None:
    """The schema rule behind item 1: no stored table lacks an athlete column except global ledgers."""
    con = open_store(tmp_path / "x.duckdb")
    try:
        rows = con.execute(
            "SELECT c.table_name, list(c.column_name) FROM duckdb_columns() c "
            "JOIN duckdb_tables() t USING (database_name, schema_name, table_name) "
            "WHERE c.database_name = current_database() GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    without = sorted(t for t, cols in rows if "athlete" not in cols)
    assert without == ["run_log", "schema_migration"]


def test_migration_gives_shared_stream_rows_to_each_athlete(tmp_path: Path) -> None:
    """A store written before migration 3 (rows keyed by session_id alone, shared by two athletes'
    sessions) is migrated to one copy per athlete."""
    from store.schema import MIGRATIONS, migrate

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("store.schema.MIGRATIONS", MIGRATIONS[:2])
        migrate(con)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for a in ("ann", "bob"):
        con.execute(
            "INSERT INTO stream_session (athlete, session_id, sensor, started_at, anchor_t_ns, status) "
            "VALUES (?, 's1', 'witmotion', ?, 0, 'complete')",
            [a, now],
        )
    con.execute("INSERT INTO stream_batch VALUES ('s1', 0, 2, 2, ?)", [now])
    con.execute("INSERT INTO ble_frame VALUES ('s1', 0, 1, 'c', 'x'::BLOB), ('s1', 1, 2, 'c', 'y'::BLOB)")
    con.execute("INSERT INTO imu_sample (session_id, t_ns, ax_mps2) VALUES ('s1', 1, 0.5)")
    con.close()
    con = open_store(db)
    try:
        assert con.execute("SELECT athlete, count(*) FROM ble_frame GROUP BY 1 ORDER BY 1").fetchall() == [
            ("ann", 2),
            ("bob", 2),
        ]
        assert con.execute("SELECT athlete, batch_seq FROM stream_batch ORDER BY 1").fetchall() == [
            ("ann", 0),
            ("bob", 0),
        ]
        erase_athlete(con, db, "ann")
        assert con.execute("SELECT athlete, count(*) FROM ble_frame GROUP BY 1").fetchall() == [("bob", 2)]
        assert con.execute("SELECT athlete, ax_mps2 FROM imu_sample").fetchall() == [("bob", 0.5)]
    finally:
        con.close()
