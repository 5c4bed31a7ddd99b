"""The writers that arrived after the lake (batch replay, reanalyse, the economy model's inputs) on a
lake: what they store equals what they store in a DuckDB file, a second station writing the same
session stores nothing twice (the lake has no keys), and each write is one lake transaction."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from store.lake import LakeConfig
from tests.jobs.test_replay import record_live_lossy
from tests.lake.helpers import RUNS, cli, duplicates, plain_lake, start_until_paused, table_counts
from tests.store.rows import rows_of_athlete

SESSION_TABLES = ("stream_session", "stream_batch", "ble_frame", "imu_sample", "rep", "strength_set")


def _file_counts(db: Path, athlete: str) -> dict[str, int]:
    return rows_of_athlete(db, athlete, SESSION_TABLES)


@pytest.mark.slow
def test_batch_replay_and_reanalyse_on_the_lake_equal_the_file(lake: LakeConfig, tmp_path: Path) -> None:
    capture = tmp_path / "lossy.capture.jsonl"
    record_live_lossy(tmp_path / "recorder.duckdb", capture)
    file_db = tmp_path / "file.duckdb"
    args = ("--json", "--athlete", "ann", "replay", str(capture), "--exercise", "deadlift", "--load-kg", "140")
    r = cli(*args, db=file_db, lake=None)
    assert r.returncode == 0, r.stderr
    in_file = json.loads(r.stdout)
    expected = _file_counts(file_db, "ann")
    assert expected["imu_sample"] > 1000 and expected["rep"] == len(in_file["reps"]) > 0

    for station in ("gym.duckdb", "laptop.duckdb"):  # the same capture replayed from two stations
        r = cli(*args, db=tmp_path / station, lake=lake)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["reps"] == in_file["reps"]
    con = plain_lake(lake)
    got = table_counts(con, "lake.", "ann")
    assert {t: got[t] for t in SESSION_TABLES} == expected
    assert not any(duplicates(con, "lake.").values())
    method = con.execute("SELECT analysis_method FROM lake.stream_session WHERE athlete = 'ann'").fetchall()
    con.close()

    r = cli("--json", "--athlete", "ann", "reanalyse", db=tmp_path / "gym.duckdb", lake=lake)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["sessions"], doc["reps_before"], doc["reps_after"], doc["failed"]) == (
        1,
        expected["rep"],
        expected["rep"],
        [],
    )
    con = plain_lake(lake)
    got = table_counts(con, "lake.", "ann")
    assert {t: got[t] for t in SESSION_TABLES} == expected
    assert con.execute("SELECT analysis_method FROM lake.stream_session WHERE athlete = 'ann'").fetchall() == method
    assert not any(duplicates(con, "lake.").values())


@pytest.mark.slow
def test_one_capture_replayed_from_two_stations_at_the_same_instant_is_stored_once(
    lake: LakeConfig, tmp_path: Path
) -> None:
    """Both stations have decoded and analysed the capture and wait at their first lake claim; released
    together, each finds the session missing when it starts, and the ledger read inside every later
    transaction (under the athlete's claim) decides which of them writes each range: the lake then
    holds what one replay into a DuckDB file holds, nothing twice, and both report the same reps."""
    capture = tmp_path / "lossy.capture.jsonl"
    record_live_lossy(tmp_path / "recorder.duckdb", capture)
    args = ("--json", "--athlete", "ann", "replay", str(capture), "--exercise", "deadlift", "--load-kg", "140")
    r = cli(*args, db=tmp_path / "file.duckdb", lake=None)
    assert r.returncode == 0, r.stderr
    in_file = json.loads(r.stdout)
    expected = _file_counts(tmp_path / "file.duckdb", "ann")
    release = tmp_path / "go"
    procs = [
        start_until_paused(*args, db=tmp_path / f"station{i}.duckdb", lake=lake, stage="lake-claim", release=release)
        for i in range(2)
    ]
    release.touch()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert json.loads(out)["reps"] == in_file["reps"]
    con = plain_lake(lake)
    got = table_counts(con, "lake.", "ann")
    assert {t: got[t] for t in SESSION_TABLES} == expected
    assert not any(duplicates(con, "lake.").values()), duplicates(con, "lake.")
    con.close()


@pytest.mark.slow
def test_economy_inputs_on_the_lake(lake: LakeConfig, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    r = cli("--athlete", "eve", "import", str(RUNS / "garmin-fenix-5-run.fit"), db=db, lake=lake)
    assert r.returncode == 0, r.stderr
    run_id = json.loads(cli("--json", "--athlete", "eve", "activities", db=db, lake=lake).stdout)["activities"][0][
        "activity_id"
    ]
    steps = [
        ("athlete", "set", "--strength-start", "2026-03-02", "--swc-pct", "1.5", "--swc-source", "lab TE"),
        ("correct", "--context", run_id, "--air-temperature-c", "28"),
        ("correct", "--context", run_id, "--shoe", "Pegasus"),  # keeps the temperature
        ("event", "add", "--kind", "shoe", "--at", "2026-04-01", "--note", "new shoes"),
        ("event", "add", "--kind", "shoe", "--at", "2026-04-01", "--note", "same day, new note"),  # replaces
        ("event", "add", "--kind", "hr_sensor", "--at", "2026-05-01"),
        ("event", "delete", "--kind", "hr_sensor", "--at", "2026-05-01"),
    ]
    for step in steps:
        r = cli("--athlete", "eve", *step, db=db, lake=lake)
        assert r.returncode == 0, (step, r.stderr)
    con = plain_lake(lake)
    assert con.execute(
        "SELECT strength_start::VARCHAR, swc_pct, swc_source FROM lake.economy_setting WHERE athlete = 'eve'"
    ).fetchall() == [("2026-03-02", 1.5, "lab TE")]
    assert con.execute("SELECT air_temperature_c, shoe FROM lake.run_context WHERE athlete = 'eve'").fetchall() == [
        (28.0, "Pegasus")
    ]
    assert con.execute("SELECT kind, note FROM lake.athlete_event WHERE athlete = 'eve'").fetchall() == [
        ("shoe", "same day, new note")
    ]
    shown = json.loads(cli("--json", "--athlete", "eve", "athlete", "show", db=db, lake=lake).stdout)
    assert shown["economy"]["strength_start"] == "2026-03-02"


@pytest.mark.slow
def test_app_exports_and_ledger_corrections_on_the_lake_equal_the_file(lake: LakeConfig, tmp_path: Path) -> None:
    """Strong and Hevy exports imported from two stations into a lake store each workout once, as a
    DuckDB file does; a ledger correction made on the lake is read back by `sets`."""
    from tests.paths import REPO_ROOT

    exports = [
        str(REPO_ROOT / "sample_data" / "apps" / "strong" / "strong-statistics-classic-2025.csv"),
        str(REPO_ROOT / "sample_data" / "apps" / "hevy" / "strong-statistics-hevy-kg.csv"),
    ]
    file_db = tmp_path / "file.duckdb"
    assert cli("--athlete", "kim", "import", *exports, db=file_db, lake=None).returncode in (0, 1)
    con = duckdb.connect(str(file_db), read_only=True)
    expected = {
        t: con.execute(f"SELECT count(*) FROM {t} WHERE athlete = 'kim'").fetchone()[0]
        for t in ("app_session", "app_set", "source_file")
    }
    con.close()
    assert expected["app_session"] > 10 and expected["app_set"] > 100
    for station in ("gym.duckdb", "laptop.duckdb"):
        r = cli("--athlete", "kim", "import", *exports, db=tmp_path / station, lake=lake)
        assert r.returncode in (0, 1), r.stderr
    lk = plain_lake(lake)
    got = {t: lk.execute(f"SELECT count(*) FROM lake.{t} WHERE athlete = 'kim'").fetchone()[0] for t in expected}
    lk.close()
    assert got == expected
    on_file = json.loads(cli("--json", "--athlete", "kim", "sets", db=file_db, lake=None).stdout)["sets"]
    on_lake = json.loads(cli("--json", "--athlete", "kim", "sets", db=tmp_path / "gym.duckdb", lake=lake).stdout)[
        "sets"
    ]
    assert len(on_lake) == len(on_file) > 100
    target = on_lake[0]["set_id"]
    r = cli(
        "--json",
        "--athlete",
        "kim",
        "correct",
        "--set",
        target,
        "--exercise",
        "front_squat",
        db=tmp_path / "laptop.duckdb",
        lake=lake,
    )
    assert r.returncode == 0, r.stderr
    after = json.loads(cli("--json", "--athlete", "kim", "sets", db=tmp_path / "gym.duckdb", lake=lake).stdout)["sets"]
    assert next(s for s in after if s["set_id"] == target)["exercise"] == "front_squat"
