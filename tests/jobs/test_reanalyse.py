"""reanalyse: every stored sensor session analysed again from its raw frames; the same method gives
the same reps, a new one reaches every session (or one athlete's), corrections are kept, the
method version is recorded, and the CLI's JSON and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analysis.version import BAR_VELOCITY_METHOD_VERSION
from ingest.ble.capture import CaptureHeader, CaptureWriter
from jobs.reanalyse import reanalyse
from jobs.replay import replay_capture
from tests.jobs.test_replay import STARTED, record_live, record_live_lossy
from tests.paths import REPO_ROOT

HR_CHAR = "00002a37-0000-1000-8000-00805f9b34fb"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bob: a live session with a reconnect, and a heart-rate strap; ann: a replayed lossy capture."""
    d = tmp_path_factory.mktemp("store")
    db = d / "main.duckdb"
    record_live(db, d / "bob.capture.jsonl.gz")
    record_live_lossy(d / "other.duckdb", d / "ann.capture.jsonl")
    replay_capture(
        d / "ann.capture.jsonl", db_path=db, athlete="ann", exercise="deadlift", load_kg=140.0, athlete_mass_kg=70.0
    )
    hr = d / "hr.capture.jsonl"
    with CaptureWriter(hr, CaptureHeader("heart_rate", STARTED, None, "HR:1", None, None)) as w:
        for i in range(5):
            w.notification(1_000 + i * 10**9, HR_CHAR, bytes([0x00, 70 + i]))
    replay_capture(hr, db_path=db, athlete="bob", exercise="back_squat", load_kg=60.0)
    from jobs.commands import correct, sets

    sensor = [s for s in sets(db, "bob", activity=None, wait_s=5) if s["source"] == "sensor" and s["reps"]]
    correct(db, "bob", wait_s=5, set_id=sensor[0]["set_id"], exercise="trap_bar_deadlift")
    return db


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    out = tmp_path / "main.duckdb"
    shutil.copy(template, out)
    return out


def snapshot(db: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "reps": con.execute(
                "SELECT athlete, session_id, set_index, rep_index, start_ns, end_ns, concentric_start_ns, "
                "concentric_end_ns, mean_velocity_mps, mean_propulsive_velocity_mps, peak_velocity_mps, "
                "peak_system_force_n, velocity_loss_mpv_pct FROM rep "
                "ORDER BY athlete, session_id, set_index, rep_index"
            ).fetchall(),
            "sets": con.execute(
                "SELECT athlete, set_id, reps, best_mean_velocity_mps, velocity_loss_mpv_pct "
                "FROM strength_set ORDER BY athlete, set_id"
            ).fetchall(),
            "methods": con.execute(
                "SELECT athlete, sensor, analysis_method FROM stream_session ORDER BY athlete, sensor"
            ).fetchall(),
            "corrections": con.execute("SELECT athlete, set_id, exercise FROM set_correction").fetchall(),
            "sessions": con.execute(
                "SELECT athlete, session_id, sample_rate_hz, lost_samples FROM stream_session "
                "ORDER BY athlete, session_id"
            ).fetchall(),
        }
    finally:
        con.close()


def execute(db: Path, sql: str, params: list | None = None) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(sql, params or [])
    finally:
        con.close()


def test_the_same_method_reproduces_every_stored_session(db: Path) -> None:
    before = snapshot(db)
    assert len(before["reps"]) == 5 and before["corrections"]
    calls: list[tuple[int, int]] = []
    doc = reanalyse(db, progress=lambda d, t: calls.append((d, t)))
    assert doc == {
        "sessions": 2,
        "reps_before": 5,
        "reps_after": 5,
        "method_version": BAR_VELOCITY_METHOD_VERSION,
        "failed": [],
        "skipped": 0,
        "orphaned_corrections": 0,
    }
    after = snapshot(db)
    assert after == before  # decoded again from the frames: the same reps, sets, rates, corrections
    assert calls == [(0, 2), (1, 2), (2, 2)]
    # the athlete mass the replay was given (ann: 70 kg) is the one used again
    assert all(r[11] is not None for r in after["reps"] if r[0] == "ann")


def test_a_method_change_reaches_every_session_and_is_recorded(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.barbell
    import analysis.version

    original = analysis.barbell.analyse_session

    def new_method(*args: Any, **kwargs: Any) -> Any:  # a "new method" that finds one rep fewer per session
        res = original(*args, **kwargs)
        res.reps = res.reps[:-1]
        res.sets = analysis.barbell.summarise_sets(res.reps)
        return res

    monkeypatch.setattr(analysis.barbell, "analyse_session", new_method)
    monkeypatch.setattr(analysis.version, "BAR_VELOCITY_METHOD_VERSION", "2099.01.01")
    execute(db, "UPDATE stream_session SET analysis_method = NULL")  # analysed before versions were recorded
    doc = reanalyse(db)
    assert (doc["sessions"], doc["reps_before"], doc["reps_after"], doc["method_version"]) == (2, 5, 3, "2099.01.01")
    snap = snapshot(db)
    assert snap["methods"] == [
        ("ann", "witmotion", "2099.01.01"),
        ("bob", "heart_rate", None),
        ("bob", "witmotion", "2099.01.01"),
    ]
    assert snap["corrections"] and snap["corrections"] == snapshot(db)["corrections"]
    from jobs.commands import sets

    corrected = [s for s in sets(db, "bob", activity=None, wait_s=5) if s["corrected"]]
    assert [s["exercise"] for s in corrected] == ["trap_bar_deadlift"]  # the correction still applies


def test_one_athlete_only(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.version

    execute(db, "UPDATE stream_session SET analysis_method = 'old'")
    execute(db, "DELETE FROM rep")  # lost: both athletes
    monkeypatch.setattr(analysis.version, "BAR_VELOCITY_METHOD_VERSION", "2099.01.02")
    doc = reanalyse(db, athlete="ann")
    assert (doc["sessions"], doc["reps_before"], doc["reps_after"]) == (1, 0, 3)
    snap = snapshot(db)
    assert {r[0] for r in snap["reps"]} == {"ann"}
    assert snap["methods"] == [
        ("ann", "witmotion", "2099.01.02"),
        ("bob", "heart_rate", "old"),
        ("bob", "witmotion", "old"),
    ]


def test_a_session_without_its_frames_is_analysed_from_its_samples(db: Path) -> None:
    before = snapshot(db)
    execute(db, "DELETE FROM ble_frame WHERE athlete = 'bob'")
    execute(db, "DELETE FROM rep WHERE athlete = 'bob'")
    doc = reanalyse(db, athlete="bob")
    assert doc["sessions"] == 1 and doc["reps_after"] == 2
    got = [r for r in snapshot(db)["reps"] if r[0] == "bob"]
    want = [r for r in before["reps"] if r[0] == "bob"]
    # the stored samples carry the live (online) times: the same reps, MCV within 0.01 m/s
    assert [r[2:4] for r in got] == [r[2:4] for r in want]
    assert [r[8] for r in got] == pytest.approx([r[8] for r in want], abs=0.01)


def test_a_session_the_analysis_refuses_is_reported_and_left(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.barbell

    original = analysis.barbell.analyse_session

    def refuses_ann(samples: Any, exercise: str, *args: Any, **kwargs: Any) -> Any:
        if len(samples) > 2500:  # ann's session is the longer one
            raise ValueError("accel_mps2 must be finite")
        return original(samples, exercise, *args, **kwargs)

    monkeypatch.setattr(analysis.barbell, "analyse_session", refuses_ann)
    before = snapshot(db)
    doc = reanalyse(db)
    assert doc["sessions"] == 1 and [f["athlete"] for f in doc["failed"]] == ["ann"]
    assert "finite" in doc["failed"][0]["error"]
    assert snapshot(db)["reps"] == before["reps"]


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "pipeline.py"), "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )


def test_cli_json_and_exit_codes(db: Path) -> None:
    r = run_cli("reanalyse", "--json", db=db)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {k: doc[k] for k in ("sessions", "reps_before", "reps_after", "method_version")} == {
        "sessions": 2,
        "reps_before": 5,
        "reps_after": 5,
        "method_version": BAR_VELOCITY_METHOD_VERSION,
    }
    assert "\x1b[" not in r.stderr  # no bar with --json
    r = run_cli("--athlete", "ann", "reanalyse", db=db)
    assert r.returncode == 0 and "re-analysed 1 sensor session(s)" in r.stdout
    r = run_cli("reanalyse", "--athlete", "Not A Slug", db=db)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    from tests.lock_holder import held_lock

    with held_lock(db):
        r = run_cli("reanalyse", "--wait", "0.2", "--json", db=db)
    assert r.returncode == 3 and r.stdout == "" and "Traceback" not in r.stderr
