"""`import` on the real FIT corpus and on hostile input: statuses, idempotency, oracle values."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from collections import defaultdict
from pathlib import Path

import fitparse  # the test oracle (only the package's boundary module may import it)
import numpy as np
import pytest

from ingest.fit.importer import import_paths
from store import readers
from store.connection import open_store
from tests.ingest.fit.archives import zip_bytes as _zip
from tests.ingest.fit.fitgen import make_run_fit, make_strength_fit
from tests.paths import SAMPLE_FIT

SAMPLE = SAMPLE_FIT
VALID_DIRS = ("runs", "strength", "other")
NON_ACTIVITY = {"Settings.fit": "settings", "MonitoringFile.fit": "monitoring_b"}


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("corpus") / "x.duckdb"
    con = open_store(db)
    first = import_paths(con, [SAMPLE], athlete="default", show_progress=False)
    yield con, first
    con.close()


def _table_counts(con) -> dict[str, int]:
    tables = ["source_file", "activity", "record", "lap", "strength_set", "import_event"]
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_every_file_has_a_status_and_reason(corpus_db):
    _, summary = corpus_db
    by_name = {Path(f.path).name: f for f in summary.files}
    assert len(summary.files) == 29
    for f in summary.files:
        name = Path(f.path).name
        if "/invalid/" in f.path:
            assert f.status in ("failed", "partial"), name
            assert f.error and "\n" not in f.error, name
        elif name in NON_ACTIVITY:
            assert f.status == "skipped"
            assert f.reason == f"not an activity file ({NON_ACTIVITY[name]})"
        else:
            assert f.status == "imported", (name, f.error)
    # damaged files keep their readable part
    assert by_name["nick.fit"].status == "partial" and by_name["nick.fit"].records > 14000
    assert "CRC" in by_name["activity-filecrc.fit"].error
    assert summary.exit_code == 1  # invalid files present


def test_reimport_skips_everything_and_changes_nothing(corpus_db):
    con, _ = corpus_db
    before = _table_counts(con)
    again = import_paths(con, [SAMPLE], athlete="default", show_progress=False)
    stored = [f for f in again.files if f.status == "skipped" and f.reason == "duplicate"]
    # every imported or partial file is now a duplicate; failed-before files fail again
    assert all(f.status in ("skipped", "failed") for f in again.files)
    assert len(stored) == 27
    after = _table_counts(con)
    for t in ("source_file", "activity", "record", "lap", "strength_set"):
        assert after[t] == before[t], t


def _oracle(path: Path) -> dict[int, dict[str, float | int | None]]:
    """Record counts and record-averaged HR per session index, straight from fitparse."""
    ff = fitparse.FitFile(str(path))
    sessions, records = [], []
    for m in ff.get_messages():
        if m.name == "session":
            v = m.get_values()
            sessions.append((v.get("start_time"), v.get("total_elapsed_time")))
        elif m.name == "record":
            v = m.get_values()
            if v.get("timestamp") is not None:
                records.append(v)
    out: dict[int, dict] = defaultdict(lambda: {"records": 0, "hr": []})
    for r in records:
        ts = r["timestamp"]
        owner = None
        for i, (start, elapsed) in enumerate(sessions):
            if start <= ts <= start + dt.timedelta(seconds=elapsed):
                owner = i
                break
        if owner is None:  # outside every window: last session started before it
            starts = [(s, i) for i, (s, _) in enumerate(sessions) if s <= ts]
            owner = max(starts)[1] if starts else 0
        out[owner]["records"] += 1
        if r.get("heart_rate") is not None:
            out[owner]["hr"].append(r["heart_rate"])
    return {k: {"records": v["records"], "hr": (float(np.mean(v["hr"])) if v["hr"] else None)} for k, v in out.items()}


@pytest.mark.parametrize(
    "rel",
    [
        "runs/activity-small-fenix2-run.fit",
        pytest.param("runs/activity-large-fenxi2-multisport.fit", marks=pytest.mark.slow),
        "runs/developer-types-sample.fit",
        "runs/sample_mulitple_header.fit",
        "strength/20474406937_ACTIVITY.fit",
        "other/20170518-191602-1740899583.fit",
    ],
)
def test_activities_match_fitparse_oracle(corpus_db, rel):
    con, summary = corpus_db
    res = next(f for f in summary.files if f.path.endswith(rel))
    acts = {a["activity_id"]: a for a in readers.activities(con, "default")}
    oracle = _oracle(SAMPLE / rel)
    assert sum(o["records"] for o in oracle.values()) == res.records
    for aid in res.activity_ids:
        idx = int(aid.rsplit("-", 1)[1])
        a = acts[aid]
        assert a["records"] == oracle.get(idx, {"records": 0})["records"], aid
        exp_hr = oracle.get(idx, {}).get("hr")
        if exp_hr is None:
            assert a["avg_heart_rate_bpm"] is None
        else:
            assert a["avg_heart_rate_bpm"] == pytest.approx(exp_hr, rel=1e-12)


def test_multisport_file_keeps_every_sport(corpus_db):
    con, summary = corpus_db
    res = next(f for f in summary.files if f.path.endswith("activity-large-fenxi2-multisport.fit"))
    sports = {a["sport"] for a in readers.activities(con, "default") if a["activity_id"] in res.activity_ids}
    assert {"cycling", "running", "transition"} <= sports


def test_strength_sets_from_real_garmin_file(corpus_db):
    con, summary = corpus_db
    res = next(f for f in summary.files if f.path.endswith("20474406937_ACTIVITY.fit"))
    sets = readers.sets(con, "default", activity_id=res.activity_ids[0])
    assert len(sets) == 76
    assert sum(s["set_type"] == "active" for s in sets) == 38
    first_active = next(s for s in sets if s["set_type"] == "active" and s["reps"] == 10)
    # category (27, 28, 30) = sit_up, squat, triceps_extension in the FIT profile; no subtypes
    assert first_active["exercise_candidates"] == ["sit_up", "squat", "triceps_extension"]


def test_developer_power_and_running_cadence(corpus_db):
    con, summary = corpus_db
    res = next(f for f in summary.files if f.path.endswith("developer-types-sample.fit"))
    aid = res.activity_ids[0]
    row = con.execute(
        "SELECT power_w, cadence_spm, vertical_oscillation_m, stance_time_s FROM record "
        "WHERE activity_id = ? ORDER BY t_ns LIMIT 1 OFFSET 100",
        [aid],
    ).fetchone()
    # fitparse: power 196 W, cadence 74 strides/min, vertical_oscillation 78.3 mm, stance_time 348.5 ms
    assert row[0] == 196
    assert row[1] == pytest.approx(148.0)
    assert row[2] == pytest.approx(0.0783)
    assert row[3] == pytest.approx(0.3485)


def test_archives_gz_and_duplicates_across_containers(tmp_path):
    run = (SAMPLE / "runs/garmin-fenix-5-run.fit").read_bytes()
    walk = (SAMPLE / "other/garmin-fenix-5-walk.fit").read_bytes()
    inner = _zip({"DI_CONNECT/DI-Connect-Fitness-Uploaded-Files/a.fit": walk})
    export = tmp_path / "garmin-export.zip"
    export.write_bytes(_zip({"DI_CONNECT/UploadedFiles_0-_Part1.zip": inner, "README.txt": b"hi"}))
    (tmp_path / "strava").mkdir()
    (tmp_path / "strava" / "123.fit.gz").write_bytes(gzip.compress(run))
    (tmp_path / "run.FIT").write_bytes(run)
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [export, tmp_path / "strava", tmp_path / "run.FIT"], athlete="default", show_progress=False)
    by = {f.path: f for f in s.files}
    nested = f"{export}!DI_CONNECT/UploadedFiles_0-_Part1.zip!DI_CONNECT/DI-Connect-Fitness-Uploaded-Files/a.fit"
    assert by[nested].status == "imported" and by[nested].sport == "walking"
    assert by[str(tmp_path / "strava" / "123.fit.gz")].status == "imported"
    dup = by[str(tmp_path / "run.FIT")]
    assert dup.status == "skipped" and dup.reason == "duplicate"  # same decompressed content as the .fit.gz
    assert s.exit_code == 0


@pytest.mark.slow
def test_hostile_inputs_are_reported_and_the_batch_continues(tmp_path):
    good = (SAMPLE / "runs/garmin-fenix-5-run.fit").read_bytes()
    (tmp_path / "empty.fit").write_bytes(b"")
    (tmp_path / "notes.fit").write_bytes(b"this is not a FIT file at all, just text\n" * 3)
    (tmp_path / "slip.zip").write_bytes(_zip({"../../evil.fit": good}))
    bomb = gzip.compress(b"\0" * (300 * 1024 * 1024), compresslevel=9)
    (tmp_path / "bomb.fit.gz").write_bytes(bomb)
    (tmp_path / "corrupt.fit.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    loop = tmp_path / "loop.fit"
    os.symlink(loop, loop)  # reading it fails with ELOOP: a real unreadable file
    (tmp_path / "ok.fit").write_bytes(good)
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path, tmp_path / "missing.fit"], athlete="default", show_progress=False)
    by = {Path(f.path.split("!")[0]).name: f for f in s.files}
    assert by["empty.fit"].status == "failed" and by["empty.fit"].error == "empty file"
    assert by["notes.fit"].status == "failed" and "not a FIT file" in by["notes.fit"].error
    assert by["slip.zip"].status == "failed" and "unsafe member path" in by["slip.zip"].error
    assert by["bomb.fit.gz"].status == "failed" and "limit" in by["bomb.fit.gz"].error
    assert by["corrupt.fit.gz"].status == "failed" and "gzip" in by["corrupt.fit.gz"].error
    assert by["loop.fit"].status == "failed" and "cannot" in by["loop.fit"].error
    assert by["missing.fit"].status == "failed" and by["missing.fit"].error == "no such file or directory"
    assert by["ok.fit"].status == "imported"
    assert s.exit_code == 1
    failed = con.execute("SELECT count(*) FROM import_event WHERE status = 'failed'").fetchone()[0]
    assert failed == 7


def test_zip_bomb_member_is_refused(tmp_path, monkeypatch):
    import ingest.fit.sources as sources

    monkeypatch.setattr(sources, "MAX_FIT_BYTES", 1024 * 1024)
    (tmp_path / "b.zip").write_bytes(_zip({"big.fit": b"\0" * (5 * 1024 * 1024)}))
    items = list(sources.iter_sources([tmp_path / "b.zip"]))
    assert len(items) == 1 and items[0].data is None and "limit" in items[0].error


def test_generated_strength_sets_map_to_contract_names(tmp_path):
    start = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
    data = make_strength_fit(
        [
            {
                "repetitions": 5,
                "weight": 100.0,
                "duration": 20,
                "category": ["squat"],
                "category_subtype": ["barbell_back_squat"],
            },
            {"set_type": "rest", "duration": 120},
            {
                "repetitions": 4,
                "weight": 120.0,
                "duration": 18,
                "category": ["deadlift"],
                "category_subtype": ["barbell_deadlift"],
            },
            {
                "repetitions": 6,
                "weight": 40.0,
                "duration": 30,
                "category": ["lunge"],
                "category_subtype": ["dumbbell_bulgarian_split_squat"],
            },
            {"repetitions": 8, "weight": 20.0, "duration": 25, "category": ["curl"]},
        ],
        start,
    )
    (tmp_path / "s.fit").write_bytes(data)
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path / "s.fit"], athlete="default", show_progress=False)
    assert s.files[0].status == "imported" and s.files[0].sets == 5
    sets = readers.sets(con, "default")
    assert [x["exercise"] for x in sets] == ["back_squat", None, "deadlift", "bulgarian_split_squat", "curl"]
    assert [x["reps"] for x in sets] == [5, None, 4, 6, 8]
    assert [x["load_kg"] for x in sets] == [100.0, None, 120.0, 40.0, 20.0]
    assert sets[0]["started_at"] == "2026-03-02T17:00:00Z"
    assert sets[1]["set_type"] == "rest"


def test_generated_run_with_developer_power(tmp_path):
    start = dt.datetime(2026, 3, 3, 6, 30, tzinfo=dt.UTC)
    (tmp_path / "r.fit").write_bytes(make_run_fit(600, start, seed=3, dev_power=True))
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path / "r.fit"], athlete="default", show_progress=False)
    assert s.files[0].status == "imported" and s.files[0].records == 600
    runs = list(readers.run_records(con, "default"))
    assert len(runs) == 1 and np.isfinite(runs[0].power_w).all()
    assert runs[0].t_ns[0] == int(start.timestamp() * 1e9)


def test_device_relative_clock_is_flagged_and_excluded(corpus_db):
    """FIT date_time below 0x10000000 counts from power-on: no calendar date, so no weekly analysis."""
    con, summary = corpus_db
    res = next(f for f in summary.files if f.path.endswith("antfs-dump.63.fit"))
    act = next(a for a in readers.activities(con, "default") if a["activity_id"] == res.activity_ids[0])
    assert act["time_reference"] == "device_relative"
    assert act["excluded_reason"].startswith("device-relative timestamps")
    normal = next(f for f in summary.files if f.path.endswith("activity-small-fenix2-run.fit"))
    act = next(a for a in readers.activities(con, "default") if a["activity_id"] == normal.activity_ids[0])
    assert act["time_reference"] == "utc" and act["excluded_reason"] is None


def test_repeated_or_missing_set_indices_keep_every_set(tmp_path):
    """Two `set` messages with one message_index (or none, where the fallback row number collides
    with another set's index) used to violate the strength_set key and roll back the whole batch,
    every night. Every set is kept, under a key that is unique and stable across re-imports."""
    start = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
    squat = {
        "repetitions": 5,
        "weight": 100.0,
        "duration": 20,
        "category": ["squat"],
        "category_subtype": ["barbell_back_squat"],
    }
    (tmp_path / "a_repeated.fit").write_bytes(
        make_strength_fit(
            [{**squat, "message_index": 0}, {**squat, "message_index": 0}, {**squat, "message_index": 1}], start
        )
    )
    (tmp_path / "b_missing.fit").write_bytes(
        make_strength_fit(
            [{**squat, "message_index": None}, {**squat, "message_index": 0}, {**squat, "message_index": None}],
            start + dt.timedelta(days=1),
        )
    )
    (tmp_path / "c_run.fit").write_bytes((SAMPLE / "runs/garmin-fenix-5-run.fit").read_bytes())
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path], athlete="default", show_progress=False)
    assert [(f.status, f.sets) for f in s.files] == [("imported", 3), ("imported", 3), ("imported", 0)]
    ids = [x["set_id"] for x in readers.sets(con, "default")]
    assert len(ids) == len(set(ids)) == 6
    assert sorted(i.split(":")[1] for i in ids) == ["0", "0", "0~1", "0~1", "1", "2"]
    again = import_paths(con, [tmp_path], athlete="default", show_progress=False)
    assert {f.status for f in again.files} == {"skipped"}
    assert [x["set_id"] for x in readers.sets(con, "default")] == ids


def test_a_file_the_store_refuses_fails_alone(tmp_path, monkeypatch):
    """One file whose rows the database refuses (here a repetition count beyond INTEGER) is reported
    `failed` with DuckDB's own first error; the other files of its chunk are stored, the import_event
    row is written, and --json still has every file."""
    import ingest.fit.importer as importer

    start = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
    for k in range(3):
        (tmp_path / f"s{k}.fit").write_bytes(
            make_strength_fit(
                [{"repetitions": 5, "weight": 100.0 + k, "duration": 20, "category": ["squat"]}],
                start + dt.timedelta(days=k),
            )
        )
    real = importer.build_activities

    def poisoned(fit, sha256, **kw):
        acts = real(fit, sha256, **kw)
        if fit.decoder and acts[0].sets and acts[0].sets[0].load_kg == 101.0:
            acts[0].sets[0].reps = 2**40
        return acts

    monkeypatch.setattr(importer, "build_activities", poisoned)
    con = open_store(tmp_path / "x.duckdb")
    s = import_paths(con, [tmp_path], athlete="default", workers=1, show_progress=False)
    assert [f.status for f in s.files] == ["imported", "failed", "imported"]
    assert s.files[1].error.startswith("could not be stored: Conversion Error")
    assert "aborted" not in s.files[1].error
    assert con.execute("SELECT count(*) FROM strength_set").fetchone()[0] == 2
    assert con.execute("SELECT status, path FROM import_event").fetchall() == [("failed", str(tmp_path / "s1.fit"))]
    assert con.execute("SELECT count(*) FROM source_file").fetchone()[0] == 2
