"""One session logged by the watch (a FIT file), Hevy (a CSV export) and the bar sensor (a replayed
capture), end to end through the command line: it appears once in `sets`, once in the training load
and once in the report; `correct --split` / `--merge` change that and survive later imports."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ingest.ble.capture import CaptureHeader, CaptureWriter
from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames
from sim.app_exports import ExportSet, ExportWorkout, write_hevy
from tests.ingest.fit.fitgen import make_strength_fit
from tests.paths import REPO_ROOT

TZ = "Europe/Oslo"
STARTED = dt.datetime(2026, 3, 10, 17, 5, 0, tzinfo=dt.UTC)  # the sensor's capture: 18:05 in Oslo
ANCHOR = 7_000_000_000_000


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(REPO_ROOT / "pipeline.py"), "--db", str(db), "--athlete", "ann", *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)


def ok(db: Path, *args: str) -> dict:
    r = run(db, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def write_capture(path: Path) -> None:
    """A simulated 100 kg back-squat set of 5 reps as the WitMotion sensor would have streamed it."""
    from sim.barbell import simulate_session

    sim = simulate_session("back_squat", 100.0, 5, rate_hz=200, seed=11, lead_in_s=2.0, tail_s=2.0)
    arrival = ANCHOR + (np.ceil((sim.t_s + 0.001) / 0.0075) * 0.0075 * 1e9).astype(np.int64)
    with CaptureWriter(
        path, CaptureHeader("witmotion", STARTED, "WT901BLE68", "C4:11:22:33:44:77", 200.0, ANCHOR)
    ) as w:
        for t, raw in zip(arrival, sim.raw_i16, strict=True):
            w.notification(int(t), NOTIFY_UUID, encode_data_frames(raw[None, :]))


def _t(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def three_sources(tmp_path_factory) -> tuple[Path, Path, dict]:
    d = tmp_path_factory.mktemp("ledger")
    db = d / "x.duckdb"
    ok(db, "athlete", "set", "--tz", TZ)
    write_capture(d / "set.capture.jsonl")
    ok(db, "replay", str(d / "set.capture.jsonl"), "--exercise", "back_squat", "--load-kg", "100")
    [sensor] = ok(db, "sets")["sets"]
    s0 = _t(sensor["started_at"]).replace(microsecond=0)
    # the watch: the session from 5 min before the sensor's set; the sensor's set, a second squat set, an RDL set
    start = STARTED - dt.timedelta(minutes=5)
    fit = make_strength_fit(
        [
            {
                "start_time": s0 - dt.timedelta(seconds=1),
                "duration": sensor["duration_s"] + 2,
                "repetitions": 5,
                "weight": 100.0,
                "category": ["squat"],
                "category_subtype": ["barbell_back_squat"],
            },
            {"start_time": s0 + dt.timedelta(seconds=60), "duration": 90, "set_type": "rest"},
            {
                "start_time": s0 + dt.timedelta(seconds=180),
                "duration": 25,
                "repetitions": 5,
                "weight": 100.0,
                "category": ["squat"],
                "category_subtype": ["barbell_back_squat"],
            },
            {
                "start_time": s0 + dt.timedelta(seconds=420),
                "duration": 30,
                "repetitions": 6,
                "weight": 80.0,
                "category": ["deadlift"],
                "category_subtype": ["romanian_deadlift"],
            },
        ],
        start,
    )
    (d / "watch.fit").write_bytes(fit)
    # Hevy: the same workout as logged in the app (local time, minute precision), with a warm-up set
    local = (start - dt.timedelta(minutes=1)).astimezone(ZoneInfo(TZ)).replace(tzinfo=None, second=0)
    workout = ExportWorkout(
        "Lower A",
        local,
        20 * 60,
        (
            ExportSet("Squat (Barbell)", "warmup", 8, 40.0),
            ExportSet("Squat (Barbell)", "working", 5, 100.0, rpe=8.0),
            ExportSet("Squat (Barbell)", "working", 5, 100.0, rpe=8.5),
            ExportSet("Romanian Deadlift (Barbell)", "working", 6, 80.0, rpe=7.0),
        ),
    )
    (d / "hevy.csv").write_bytes(write_hevy([workout]))
    doc = ok(db, "import", str(d / "watch.fit"), str(d / "hevy.csv"))
    assert [f["status"] for f in doc["files"]] == ["imported", "imported"]
    return db, d, sensor


@pytest.mark.slow
def test_a_session_in_fit_hevy_and_the_sensor_is_one_session_in_sets(three_sources) -> None:
    db, _, sensor = three_sources
    rows = ok(db, "sets")["sets"]
    active = [r for r in rows if r["set_type"] == "active"]
    assert len(active) == 4 and len({r["training_session_id"] for r in rows}) == 1
    assert [(r["set_role"], r["exercise"], r["reps"], r["load_kg"]) for r in active] == [
        ("warmup", "back_squat", 8, 40.0),
        ("working", "back_squat", 5, 100.0),
        ("working", "back_squat", 5, 100.0),
        ("working", "romanian_deadlift", 6, 80.0),
    ]
    assert [r["sources"] for r in active] == [["hevy"], ["hevy", "sensor", "fit"], ["hevy", "fit"], ["hevy", "fit"]]
    assert {r["source"] for r in active} == {"hevy"}  # the primary source of each
    warm, first, *_ = active
    # each field from the richer source: the app's load and RPE, the sensor's velocity, the watch's time
    assert first["rpe"] == 8.0 and first["mean_velocity_mps"] == sensor["mean_velocity_mps"] > 0
    assert first["field_sources"]["mean_velocity_mps"] == "sensor" and first["field_sources"]["load_kg"] == "hevy"
    assert first["field_sources"]["started_at_ns"] == "fit" and first["started_at_known"]
    assert first["session_id"] == sensor["session_id"] and first["activity_id"] and first["set_id"].startswith("hevy:")
    assert sensor["set_id"] in first["source_set_ids"]["sensor"]
    assert not warm["started_at_known"] and not warm["counts_toward_prescription"]
    rest = [r for r in rows if r["set_type"] == "rest"]
    assert len(rest) == 1 and rest[0]["set_role"] is None and rows.index(rest[0]) == 2  # between the squat sets
    # `sets --activity` takes any of the session's ids
    assert {r["set_id"] for r in ok(db, "sets", "--activity", first["session_id"])["sets"]} == {first["set_id"]}
    assert len(ok(db, "sets", "--activity", first["app_session_id"])["sets"]) == 4


@pytest.mark.slow
def test_the_session_counts_once_in_the_load_and_the_report(three_sources) -> None:
    db, d, _ = three_sources
    ok(db, "report", "--out", str(d / "report"))
    doc = json.loads((d / "report" / "report.json").read_text())
    [a] = doc["athletes"]
    s = a["summary"]
    led = s["strength_ledger"]
    assert led["counts"]["sessions"] == 1 and led["counts"]["merged_sessions"] == 1
    [sess] = led["sessions"]
    assert sess["sources"] == ["hevy", "sensor", "fit"] and sess["working_sets"] == 3 and sess["warmup_sets"] == 1
    assert [m["sources"] for m in led["data_quality"]["merged_sessions"]] == [["hevy", "sensor", "fit"]]
    sl = s["strength_load"]
    assert sl["n_sessions"] == 1
    # RPE: the highest working-set RPE (8.5) stands in; duration: the span over the three sources
    [one] = sl["sessions"]
    assert one["rpe"] == 8.5 and one["rpe_source"] == "max_set_rpe" and one["substitute"]
    # by hand: Hevy's workout runs 16:59:00-17:19:00 UTC (17:59 Oslo, 20 min) and holds the watch's
    # 17:00:00-~17:13 and the sensor's ~17:05 set, so the span is 20 min: 8.5 x 20 = 170 AU (Foster 2001)
    assert one["duration_s"] == 1200.0 and one["load_au"] == pytest.approx(170.0, abs=1e-9)
    assert sum(day.get("strength_load_au", 0.0) for day in s["daily"]) == pytest.approx(one["load_au"])
    lifted = [w for w in s["weeks"] if w["sessions"]]
    assert [(w["sessions"], w["sets"]) for w in lifted] == [(1, 3)]  # one session; the warm-up not counted


@pytest.mark.slow
def test_split_and_merge_are_stored_and_survive_a_later_import(three_sources, tmp_path) -> None:
    db, _, _ = three_sources
    [hevy_key] = {r["app_session_id"] for r in ok(db, "sets")["sets"] if r["app_session_id"]}
    out = ok(db, "correct", "--split", hevy_key)
    assert out["action"] == "split" and out["refs"] == [f"hevy:{hevy_key}"]
    rows = [r for r in ok(db, "sets")["sets"] if r["set_type"] == "active"]
    by_ts: dict[str, list[dict]] = {}
    for r in rows:
        by_ts.setdefault(r["training_session_id"], []).append(r)
    assert sorted(len(v) for v in by_ts.values()) == [3, 4]  # the watch+sensor session, the app's own
    assert all(r["sources"] == ["hevy"] for v in by_ts.values() if len(v) == 4 for r in v)
    # a later Hevy export with another workout: the stored split still holds
    other = ExportWorkout(
        "Upper", dt.datetime(2026, 3, 12, 7, 0), 1800, (ExportSet("Bench Press (Barbell)", "working", 5, 60.0),)
    )
    (tmp_path / "later.csv").write_bytes(write_hevy([other]))
    ok(db, "import", str(tmp_path / "later.csv"))
    assert len({r["training_session_id"] for r in ok(db, "sets")["sets"]}) == 3
    # merged back: by the app's session key and the watch's activity id
    activity = next(r["activity_id"] for r in rows if r["activity_id"])
    merged = ok(db, "correct", "--merge", hevy_key, activity)
    assert merged["training_sessions"][0]["sources"] == ["hevy", "sensor", "fit"]
    assert len({r["training_session_id"] for r in ok(db, "sets")["sets"]}) == 2
    r = run(db, "correct", "--split", "no-such-session")
    assert r.returncode == 1 and "no source session 'no-such-session'" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_correct_and_athlete_usage(tmp_path) -> None:
    db = tmp_path / "x.duckdb"
    r = run(db, "athlete", "set", "--weight-unit", "stone")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    doc = ok(db, "athlete", "set", "--weight-unit", "lb")
    assert doc["athlete"]["weight_unit"] == "lb"
    assert ok(db, "athlete", "show")["athlete"]["weight_unit"] == "lb"
    r = run(db, "correct", "--merge", "a")
    assert r.returncode == 1 and "no source session 'a'" in r.stderr
