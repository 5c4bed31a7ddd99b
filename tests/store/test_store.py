"""Store foundation: migrations, the single-writer lock, athletes, corrections, crash safety."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time

import duckdb
import numpy as np
import pytest

from store import athletes, corrections, readers
from store.connection import DatabaseLockedError, open_store, parse_lock_holder
from store.schema import MIGRATIONS, current_version, migrate
from store.writers import insert_columns
from tests.kill9 import kill_9_when
from tests.lock_holder import held_lock
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
SAMPLE = ROOT / "sample_data" / "fit"


def test_migrations_apply_once_and_record_versions(tmp_path):
    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    assert migrate(con) == [m.version for m in MIGRATIONS]
    assert migrate(con) == []
    assert current_version(con) == MIGRATIONS[-1].version


def test_insert_columns_nan_becomes_null_and_lengths_checked():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a BIGINT, b DOUBLE, c VARCHAR)")
    n = insert_columns(con, "t", {"a": np.array([1, 2]), "b": np.array([1.5, np.nan]), "c": ["x", None]})
    assert n == 2
    assert con.execute("SELECT a, b, c FROM t ORDER BY a").fetchall() == [(1, 1.5, "x"), (2, None, None)]
    with pytest.raises(ValueError, match="different lengths"):
        insert_columns(con, "t", {"a": np.array([1]), "b": np.array([1.0, 2.0])})


def test_locked_database_waits_then_names_the_holder(tmp_path):
    db = tmp_path / "x.duckdb"
    open_store(db).close()
    with held_lock(db) as holder:
        t0 = time.monotonic()
        with pytest.raises(DatabaseLockedError) as err:
            open_store(db, wait_s=0.6, on_wait=None)
        assert time.monotonic() - t0 >= 0.6
        assert err.value.holder_pid == holder.pid
        assert f"PID {holder.pid}" in str(err.value)
        # the CLI maps it to exit code 3 with a one-line message, no traceback
        r = subprocess.run(
            [sys.executable, str(ROOT / "pipeline.py"), "--db", str(db), "--wait", "0.3", "activities"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert r.returncode == 3
        assert f"PID {holder.pid}" in r.stderr and "Traceback" not in r.stderr
    open_store(db, wait_s=5).close()  # free again


def test_parse_lock_holder():
    msg = 'IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in /usr/bin/python3 (PID 42).'
    assert parse_lock_holder(msg) == (42, "/usr/bin/python3")
    assert parse_lock_holder("something else") == (None, None)


def test_athlete_profile_validation_and_delete(tmp_path):
    from ingest.fit.importer import import_paths

    con = open_store(tmp_path / "x.duckdb")
    with pytest.raises(athletes.AthleteError, match="invalid athlete name"):
        athletes.validate_slug("Jane Doe")
    for hostile in ("jane\n", "jane\x1b[31m", "<script>", 'jane"><img src=x>'):  # "$" let "jane\n" through
        with pytest.raises(athletes.AthleteError, match="invalid athlete name"):
            athletes.validate_slug(hostile)
    p = athletes.set_profile(
        con, "jane", body_mass_kg=61.5, sex="female", hr_rest_bpm=48, hr_max_bpm=188, tz="Europe/Oslo"
    )
    assert p.body_mass_kg == 61.5
    p = athletes.set_profile(con, "jane", hr_max_bpm=190)  # other fields unchanged
    assert (p.body_mass_kg, p.hr_rest_bpm, p.hr_max_bpm, p.tz) == (61.5, 48, 190, "Europe/Oslo")
    with pytest.raises(athletes.AthleteError, match="time zone"):
        athletes.set_profile(con, "jane", tz="Mars/Olympus")
    with pytest.raises(athletes.AthleteError, match="below maximum"):
        athletes.set_profile(con, "jane", hr_rest_bpm=110, hr_max_bpm=105)
    import_paths(con, [SAMPLE / "runs/garmin-fenix-5-run.fit"], athlete="jane", show_progress=False)
    import_paths(con, [SAMPLE / "runs/garmin-fenix-5-run.fit"], athlete="bob", show_progress=False)
    deleted = athletes.delete_athlete(con, "jane")
    assert deleted["record"] == 21 and deleted["source_file"] == 1 and deleted["athlete"] == 1
    assert con.execute("SELECT count(*) FROM record WHERE athlete = 'jane'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM record WHERE athlete = 'bob'").fetchone()[0] == 21
    # the ledger went too, but a tombstone stays: the same file does not bring jane back ...
    s = import_paths(con, [SAMPLE / "runs/garmin-fenix-5-run.fit"], athlete="jane", show_progress=False)
    assert (s.files[0].status, s.files[0].reason) == ("skipped", "deleted athlete")
    assert [p.athlete for p in athletes.list_athletes(con)] == ["bob"]
    assert con.execute("SELECT count(*) FROM import_event WHERE athlete = 'jane'").fetchone()[0] == 0
    # ... unless asked to: `import --undelete`
    s = import_paths(con, [SAMPLE / "runs/garmin-fenix-5-run.fit"], athlete="jane", show_progress=False, undelete=True)
    assert s.files[0].status == "imported"
    assert con.execute("SELECT count(*) FROM record WHERE athlete = 'jane'").fetchone()[0] == 21
    assert con.execute("SELECT count(*) FROM deleted_file WHERE athlete = 'jane'").fetchone()[0] == 0


def test_corrections_survive_reimport(tmp_path):
    from ingest.fit.importer import import_paths

    con = open_store(tmp_path / "x.duckdb")
    path = SAMPLE / "strength/20748058539_ACTIVITY.fit"
    import_paths(con, [path], athlete="default", show_progress=False)
    first = next(s for s in readers.sets(con, "default") if s["set_type"] == "active")
    corrections.correct_set_exercise(con, "default", first["set_id"], "back_squat")
    run = readers.activities(con, "default")[0]["activity_id"]
    corrections.exclude_activity(con, "default", run, "<b>strap</b> failed")
    import_paths(con, [path], athlete="default", show_progress=False)
    again = next(s for s in readers.sets(con, "default") if s["set_id"] == first["set_id"])
    assert again["exercise"] == "back_squat" and again["corrected"]
    assert again["exercise_as_recorded"] == first["exercise"]
    assert readers.activities(con, "default")[0]["excluded_reason"] == "<b>strap</b> failed"
    with pytest.raises(corrections.CorrectionError, match="no set"):
        corrections.correct_set_exercise(con, "default", "nope", "deadlift")
    assert corrections.include_activity(con, "default", run) is True
    assert readers.activities(con, "default")[0]["excluded_reason"] is None


def test_kill_9_mid_import_leaves_only_complete_files(tmp_path):
    """A crash loses at most the uncommitted chunk; every committed file is complete."""
    src = tmp_path / "src"
    src.mkdir()
    for p in sorted((SAMPLE / "runs").glob("*.fit")) + sorted((SAMPLE / "other").glob("*.fit")):
        shutil.copy(p, src / p.name)
    db = tmp_path / "x.duckdb"
    code = textwrap.dedent(f"""
        import sys, os
        sys.path.insert(0, {str(ROOT)!r})
        import ingest.fit.importer as imp
        import store.activities as sa
        sa.COMMIT_FILES = 1          # commit after every file so a kill lands between commits
        from store.connection import open_store
        con = open_store({str(db)!r})
        stored = 0
        real = sa.ActivityBuffer.flush
        def counting_flush(self, con):
            global stored
            real(self, con)
            stored += 1
            if stored == 3:
                print('three', flush=True)
        sa.ActivityBuffer.flush = counting_flush
        imp.import_paths(con, [{str(src)!r}], athlete='default', workers=1, show_progress=False)
        print('finished', flush=True)
    """)
    assert kill_9_when(["-c", code], lambda line: True)[0] == "three"
    con = open_store(db)
    ledger = con.execute("SELECT count(*) FROM source_file").fetchone()[0]
    assert 2 <= ledger < 16
    # every activity belongs to a ledger row and holds exactly its declared records
    bad = con.execute("""
        SELECT a.activity_id FROM activity a LEFT JOIN source_file s
          ON s.athlete = a.athlete AND s.sha256 = a.source_sha256
        LEFT JOIN (SELECT activity_id, count(*) n FROM record GROUP BY 1) r USING (activity_id)
        WHERE s.sha256 IS NULL OR coalesce(r.n, 0) <> a.records""").fetchall()
    assert bad == []
    orphans = con.execute("SELECT count(*) FROM record WHERE activity_id NOT IN (SELECT activity_id FROM activity)")
    assert orphans.fetchone()[0] == 0
    # finishing the import afterwards stores the rest once
    from ingest.fit.importer import import_paths

    s = import_paths(con, [src], athlete="default", show_progress=False)
    activities = len(list(src.glob("*.fit"))) - 2  # all but Settings.fit and MonitoringFile.fit
    assert s.count("imported") == activities - ledger and s.count("skipped") == ledger + 2
