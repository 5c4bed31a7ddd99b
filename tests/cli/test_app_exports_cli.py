"""The real Strong and Hevy exports of sample_data/apps and a watch's FIT file of one of the Strong
workouts, end to end through the command line (`import`, `sets`, `correct`, `athlete delete`).

Every expected number is counted here from the CSV text with the csv module and the standard
library (rows, workouts, their local start and end read in the athlete's zone), not with
runstrong's parsers; the session count follows the documented overlap rule
(docs/strength-ledger.md: sorted by start, a workout joins the training session before it when it
starts no later than 5 min after that one's latest end).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.cli.test_ledger_cli import ok, run
from tests.ingest.fit.fitgen import make_strength_fit
from tests.paths import REPO_ROOT

TZ = "Europe/Oslo"
ZI = ZoneInfo(TZ)
STRONG = REPO_ROOT / "sample_data" / "apps" / "strong" / "strong-statistics-classic-2025.csv"
HEVY = REPO_ROOT / "sample_data" / "apps" / "hevy" / "strong-statistics-hevy-kg.csv"
FIX = REPO_ROOT / "tests" / "fixtures" / "apps"
WATCHED = ("2025-09-11 18:16:11", "Fridays")  # the Strong workout the watch recorded too
NEWEST_LEFT_OUT = 5  # the earlier Hevy export lacks the 5 newest workouts
TOLERANCE = dt.timedelta(minutes=5)


# ------------------------------------------------------------------------------------------
# independent counts from the CSV text


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _strong_minutes(text: str) -> int:
    m = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?", text.strip())
    assert m is not None and text.strip(), text
    return int(m[1] or 0) * 60 + int(m[2] or 0)


def _utc(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=ZI).astimezone(dt.UTC)


def strong_workouts(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[dt.datetime, dt.datetime, int]]:
    out: dict[tuple[str, str], tuple[dt.datetime, dt.datetime, int]] = {}
    for r in rows:
        k = (r["Date"], r["Workout Name"])
        start = _utc(dt.datetime.fromisoformat(r["Date"]))
        end = start + dt.timedelta(minutes=_strong_minutes(r["Duration"]))
        out[k] = (start, end, out.get(k, (0, 0, 0))[2] + 1)
    return out


def hevy_workouts(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[dt.datetime, dt.datetime, int]]:
    out: dict[tuple[str, str], tuple[dt.datetime, dt.datetime, int]] = {}
    for r in rows:
        k = (r["start_time"], r["title"])
        fmt = "%d %b %Y, %H:%M"
        start, end = (_utc(dt.datetime.strptime(r[c], fmt)) for c in ("start_time", "end_time"))
        out[k] = (start, end, out.get(k, (0, 0, 0))[2] + 1)
    return out


def training_sessions(*intervals: tuple[dt.datetime, dt.datetime]) -> int:
    n, latest_end = 0, None
    for start, end in sorted(intervals):
        if latest_end is None or start > latest_end + TOLERANCE:
            n += 1
            latest_end = end
        else:
            latest_end = max(latest_end, end)
    return n


# ------------------------------------------------------------------------------------------
# the files


def earlier_hevy_export(path: Path) -> tuple[int, int, tuple[str, str], str]:
    """The real Hevy export as it was a few workouts earlier: without its 5 newest workouts, and
    with one set of an older workout as it was before the lifter edited it (one more rep). Written
    line by line from the real file (no quoted newlines in it), so the bytes are Hevy's own."""
    header, *lines = HEVY.read_text(encoding="utf-8-sig").splitlines()
    rows = _rows(HEVY)
    assert len(rows) == len(lines)
    keys = list(dict.fromkeys((r["start_time"], r["title"]) for r in rows))
    newest = set(sorted(keys, key=lambda k: dt.datetime.strptime(k[0], "%d %b %Y, %H:%M"))[-NEWEST_LEFT_OUT:])
    edited_key = keys[NEWEST_LEFT_OUT + 10]
    assert edited_key not in newest
    # the edited set: the edited workout's first working set
    i = next(i for i, r in enumerate(rows) if (r["start_time"], r["title"]) == edited_key and r["set_type"] == "normal")
    before = int(rows[i]["reps"]) + 1
    # reps is the 4th field from the end (then distance_km, duration_seconds, rpe: never quoted); the
    # fields before it hold commas inside quotes ("15 Sep 2025, 07:48")
    assert header.rsplit(",", 4)[1:] == ['"reps"', '"distance_km"', '"duration_seconds"', '"rpe"']
    head, reps, *tail = lines[i].rsplit(",", 4)
    assert reps == rows[i]["reps"]
    lines[i] = ",".join([head, str(before), *tail])
    kept = [ln for ln, r in zip(lines, rows, strict=True) if (r["start_time"], r["title"]) not in newest]
    path.write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
    return len(kept), len(keys) - NEWEST_LEFT_OUT, edited_key, rows[i]["exercise_title"]


def watch_fit(strong_rows: list[dict[str, str]]) -> tuple[bytes, list[tuple[int, float]]]:
    """The watch's record of the Strong workout WATCHED: its barbell squat sets (the first
    exercise), 3 min apart from 4 min after the workout's start, as FIT ``set`` messages."""
    squats = [
        (int(float(r["Reps"])), float(r["Weight"]))
        for r in strong_rows
        if (r["Date"], r["Workout Name"]) == WATCHED and r["Exercise Name"] == "Squat (Barbell)"
    ]
    assert len(squats) == 4
    start = _utc(dt.datetime.fromisoformat(WATCHED[0])).replace(microsecond=0)
    sets = [
        {
            "start_time": start + dt.timedelta(minutes=4 + 3 * k),
            "duration": 40,
            "repetitions": reps,
            "weight": kg,
            "category": ["squat"],
            "category_subtype": ["barbell_back_squat"],
        }
        for k, (reps, kg) in enumerate(squats)
    ]
    return make_strength_fit(sets, start + dt.timedelta(minutes=2), utc_offset_s=7200), squats


def active(db: Path, *args: str) -> list[dict]:
    return [r for r in ok(db, "sets", *args)["sets"] if r["set_type"] == "active"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("apps")
    db = d / "x.duckdb"
    ok(db, "athlete", "set", "--tz", TZ)
    strong = d / "strong.csv"
    shutil.copyfile(STRONG, strong)
    hevy_rows_kept, hevy_workouts_kept, edited_key, edited_exercise = earlier_hevy_export(d / "hevy-earlier.csv")
    fit, squats = watch_fit(_rows(STRONG))
    (d / "watch.fit").write_bytes(fit)
    doc = ok(db, "import", str(strong), str(d / "hevy-earlier.csv"), str(d / "watch.fit"))
    shutil.copyfile(db, d / "after-first-import.duckdb")
    return {
        "db": db,
        "d": d,
        "doc": doc,
        "hevy_rows": hevy_rows_kept,
        "hevy_workouts": hevy_workouts_kept,
        "edited_key": edited_key,
        "edited_exercise": edited_exercise,
        "squats": squats,
    }


def fresh_copy(imported: dict, tmp_path: Path) -> Path:
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(imported["d"] / "after-first-import.duckdb", db)
    return db


# ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_exports_and_a_watch_file_are_one_ledger_with_the_watched_workout_once(imported) -> None:
    doc, db = imported["doc"], imported["db"]
    strong_rows = _rows(STRONG)
    sw = strong_workouts(strong_rows)
    hevy_kept = {k: v for k, v in hevy_workouts(_rows(imported["d"] / "hevy-earlier.csv")).items()}
    assert [f["status"] for f in doc["files"]] == ["imported", "imported", "imported"]
    s, h, w = doc["files"]
    assert (s["sets"], s["app"]["sessions"], s["app"]["new"]) == (len(strong_rows), len(sw), len(sw))
    assert (h["sets"], h["app"]["sessions"], h["app"]["new"]) == (
        imported["hevy_rows"],
        imported["hevy_workouts"],
        imported["hevy_workouts"],
    )
    assert len(hevy_kept) == imported["hevy_workouts"]
    assert s["app"]["tz"] == h["app"]["tz"] == TZ and s["app"]["weight_unit"] == "kg"  # classic Strong: the default
    assert w["sets"] == 4 and len(w["activity_ids"]) == 1

    rows = active(db)
    # every app row once (the watch's 4 sets are Strong's 4 squat sets, not 4 more)
    assert len(rows) == len(strong_rows) + imported["hevy_rows"]
    assert len({r["ledger_set_id"] for r in rows}) == len(rows)
    assert {r["source"] for r in rows} == {"strong", "hevy"}
    # training sessions: the workouts' intervals by the documented overlap rule
    want = training_sessions(*[(a, b) for a, b, _ in sw.values()], *[(a, b) for a, b, _ in hevy_kept.values()])
    assert len({r["training_session_id"] for r in rows}) == want < len(sw) + len(hevy_kept)
    # the watched workout: one training session with both sources, its squat sets carry both
    [act] = w["activity_ids"]
    [ts] = {r["training_session_id"] for r in rows if r["activity_id"] == act}
    watched = [r for r in rows if r["training_session_id"] == ts]
    assert len({r["app_session_id"] for r in watched}) == 1
    assert len(watched) == sw[WATCHED][2]  # every set of the Strong workout, none twice
    both = [r for r in watched if r["sources"] == ["strong", "fit"]]
    assert [(r["exercise"], r["reps"], r["load_kg"]) for r in both] == [
        ("back_squat", n, kg) for n, kg in imported["squats"]
    ]
    assert all(
        r["field_sources"]["started_at_ns"] == "fit"
        and r["field_sources"]["load_kg"] == "strong"
        and r["started_at_known"]
        for r in both
    )
    assert all(r["sources"] == ["strong"] for r in watched if r not in both)
    # the workout's local start, read in the athlete's zone
    assert dt.datetime.fromisoformat(both[0]["started_at"].replace("Z", "+00:00")) == _utc(
        dt.datetime.fromisoformat(WATCHED[0])
    ).replace(microsecond=0) + dt.timedelta(minutes=4)
    # unmapped names are listed as written (exercise None)
    unmapped = {r["exercise_as_recorded"] for r in rows if r["exercise"] is None}
    assert "Leg Press" in unmapped and "Squat (Barbell)" not in unmapped

    # re-import: every file skipped as a duplicate, `sets` unchanged to the byte
    before = run(db, "--json", "sets").stdout
    again = ok(
        db,
        "import",
        str(imported["d"] / "strong.csv"),
        str(imported["d"] / "hevy-earlier.csv"),
        str(imported["d"] / "watch.fit"),
    )
    assert [(f["status"], f["reason"]) for f in again["files"]] == [("skipped", "duplicate")] * 3
    assert run(db, "--json", "sets").stdout == before


@pytest.mark.slow
def test_the_later_longer_export_adds_the_new_workouts_and_updates_the_edited_one(imported, tmp_path) -> None:
    db = fresh_copy(imported, tmp_path)
    full = _rows(HEVY)
    hw = hevy_workouts(full)
    before = {r["ledger_set_id"]: r for r in active(db)}
    doc = ok(db, "import", str(HEVY))
    [f] = doc["files"]
    assert f["status"] == "imported"
    assert {k: f["app"][k] for k in ("sessions", "new", "updated", "unchanged", "kept_newer", "flagged_deleted")} == {
        "sessions": len(hw),
        "new": NEWEST_LEFT_OUT,
        "updated": 1,
        "unchanged": len(hw) - NEWEST_LEFT_OUT - 1,
        "kept_newer": 0,
        "flagged_deleted": 0,
    }
    rows = active(db)
    assert len(rows) == len(_rows(STRONG)) + len(full)  # nothing twice
    assert len({r["ledger_set_id"] for r in rows}) == len(rows)
    # exactly one set changed, the edited one: one rep fewer, same workout, same set id; the rest as before
    start, title = imported["edited_key"]
    want_reps = int(
        next(r["reps"] for r in full if (r["start_time"], r["title"]) == (start, title) and r["set_type"] == "normal")
    )
    after = {r["ledger_set_id"]: r for r in rows}
    assert set(before) <= set(after)
    changed = [(before[k], after[k]) for k in before if before[k] != after[k]]
    assert [(a["reps"], b["reps"]) for a, b in changed] == [(want_reps + 1, want_reps)]
    [(old, new)] = changed
    assert (new["exercise_as_recorded"], new["set_role"], new["app_session_id"]) == (
        imported["edited_exercise"],
        "working",
        old["app_session_id"],
    )
    # the new workouts' sets: the rows of the 5 newest workouts
    assert len(after) - len(before) == sum(
        n for k, (_, _, n) in hw.items() if k not in hevy_workouts(_rows(imported["d"] / "hevy-earlier.csv"))
    )
    # the same export again under another name (same bytes, same hash): skipped
    shutil.copyfile(HEVY, tmp_path / "hevy-again.csv")
    [g] = ok(db, "import", str(tmp_path / "hevy-again.csv"))["files"]
    assert (g["status"], g["reason"]) == ("skipped", "duplicate")
    # the earlier export again: older than what is stored, it undoes nothing and flags nothing as deleted
    shutil.copyfile(imported["d"] / "hevy-earlier.csv", tmp_path / "old.csv")
    with (tmp_path / "old.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")  # other bytes, same content
    [o] = ok(db, "import", str(tmp_path / "old.csv"))["files"]
    assert (o["app"]["new"], o["app"]["updated"], o["app"]["kept_newer"], o["app"]["flagged_deleted"]) == (0, 0, 1, 0)
    assert next(r for r in active(db) if r["ledger_set_id"] == new["ledger_set_id"])["reps"] == want_reps


@pytest.mark.slow
def test_split_merge_and_exercise_corrections_through_the_cli(imported, tmp_path) -> None:
    db = fresh_copy(imported, tmp_path)
    rows = active(db)
    [act] = {r["activity_id"] for r in rows if r["activity_id"]}
    strong_key = next(r["app_session_id"] for r in rows if r["activity_id"] == act)
    n_sessions = len({r["training_session_id"] for r in rows})
    n_watched = len(active(db, "--activity", strong_key))
    # split the watch's activity off the Strong workout: one more session, the squat sets now twice
    out = ok(db, "correct", "--split", act)
    assert out["action"] == "split" and out["refs"] == [f"fit:{act}"]
    rows = active(db)
    assert len({r["training_session_id"] for r in rows}) == n_sessions + 1
    assert [r["sources"] for r in active(db, "--activity", act)] == [["fit"]] * 4
    assert all(r["sources"] == ["strong"] for r in active(db, "--activity", strong_key))
    assert len(rows) == len(_rows(STRONG)) + imported["hevy_rows"] + 4
    # merged back by the two source sessions' ids
    out = ok(db, "correct", "--merge", strong_key, act)
    assert out["training_sessions"][0]["sources"] == ["strong", "fit"]
    assert len(active(db)) == len(_rows(STRONG)) + imported["hevy_rows"]
    assert len(active(db, "--activity", strong_key)) == n_watched
    # an unmapped name mapped by the user: that set only, and it wins over the app's later edit
    leg = [r for r in active(db, "--activity", strong_key) if r["exercise_as_recorded"] == "Leg Press"]
    assert len(leg) == 3 and all(r["exercise"] is None for r in leg)
    out = ok(db, "correct", "--set", leg[0]["set_id"], "--exercise", "leg_press")
    assert out == {"set_id": leg[0]["set_id"], "exercise": "leg_press"}
    after = [r for r in active(db, "--activity", strong_key) if r["exercise_as_recorded"] == "Leg Press"]
    assert [(r["exercise"], r["corrected"]) for r in after] == [("leg_press", True), (None, False), (None, False)]
    assert after[0]["field_sources"]["exercise"] == "user"
    # the app edits that workout later (the first leg-press set: 5 -> 6 reps): reps follow the app, the name the user
    text = STRONG.read_text(encoding="utf-8")
    old_line = f'{WATCHED[0]},"{WATCHED[1]}",1h 1m,"Leg Press",1,0.0,5.0,0,0.0,'
    assert text.count(old_line) == 1
    (tmp_path / "strong-later.csv").write_text(
        text.replace(old_line, old_line.replace(",5.0,", ",6.0,")), encoding="utf-8"
    )
    [f] = ok(db, "import", str(tmp_path / "strong-later.csv"))["files"]
    assert (f["app"]["updated"], f["app"]["new"]) == (1, 0)
    again = [r for r in active(db, "--activity", strong_key) if r["exercise_as_recorded"] == "Leg Press"]
    assert [(r["exercise"], r["reps"]) for r in again] == [("leg_press", 6), (None, 10), (None, 10)]
    # bad references are refused with a reason
    r = run(db, "correct", "--set", "no-such-set", "--exercise", "leg_press")
    assert r.returncode == 1 and "no set 'no-such-set'" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_athlete_delete_removes_every_app_row(imported, tmp_path) -> None:
    db = fresh_copy(imported, tmp_path)
    n_app_sessions = len(strong_workouts(_rows(STRONG))) + imported["hevy_workouts"]
    n_app_sets = len(_rows(STRONG)) + imported["hevy_rows"]
    ok(db, "correct", "--split", next(r["activity_id"] for r in active(db) if r["activity_id"]))
    r = run(db, "athlete", "delete")
    assert r.returncode == 2 and "--yes" in r.stderr
    doc = ok(db, "athlete", "delete", "--yes")
    d = doc["deleted_rows"]
    assert (d["app_session"], d["app_set"], d["ledger_correction"]) == (n_app_sessions, n_app_sets, 1)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in ("app_session", "app_set", "ledger_correction", "strength_set", "source_file"):
            assert con.execute(f"SELECT count(*) FROM {table} WHERE athlete = 'ann'").fetchone() == (0,), table
    finally:
        con.close()
    assert ok(db, "sets")["sets"] == []


@pytest.mark.slow
def test_bad_rows_are_partial_with_reasons_and_an_undecidable_file_is_refused(tmp_path) -> None:
    db = tmp_path / "x.duckdb"
    ok(db, "athlete", "set", "--tz", TZ)
    r = run(db, "--json", "import", str(FIX / "strong_bad_rows.csv"), str(FIX / "strong_ambiguous_dates.csv"))
    assert r.returncode == 1  # some inputs failed or were only partly readable
    doc = json.loads(r.stdout)
    bad, amb = doc["files"]
    assert (bad["status"], bad["sets"]) == ("partial", 2)
    # the lines and reasons, as written in the fixture (counted by hand)
    assert [(b["line"], b["reason"]) for b in bad["app"]["bad_rows"]] == [
        (3, "weight is not a number: 'heavy'"),
        (4, "unknown set order 'X' (expected a number, W, D or F)"),
        (5, "impossible date '2026-09-31 07:00:00': day is out of range for month"),
        (6, "reps must be a whole number >= 0, got 5.5"),
        (7, "RPE must be between 1 and 10, got 12"),
        (10, "expected 12 fields, found 4"),
    ]
    assert (amb["status"], amb["sets"]) == ("failed", 0)
    assert "day/month order undecidable" in amb["error"] and "'05.06.2026, 07:30', line 2" in amb["error"]
    assert (doc["partial"], doc["failed"]) == (1, 1)
    # the partial file's good rows are in the ledger; the refused file added nothing
    rows = active(db)
    assert len(rows) == 2 and {r["source"] for r in rows} == {"strong"}
    # the human-readable output names the reason too
    r = run(db, "import", str(FIX / "strong_ambiguous_dates.csv"))
    assert r.returncode == 1 and "day/month order undecidable" in (r.stdout + r.stderr)
