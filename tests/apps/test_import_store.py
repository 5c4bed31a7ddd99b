"""Strong and Hevy exports through the real ``import`` path into a real DuckDB store.

Every hand-written fixture, hypothesis-generated exports and the real public exports of
sample_data/apps go through ``ingest.fit.importer.import_paths`` (the `import` command's library
call); what the store then holds is read back with ``store.app_sessions`` and the ledger's
``sets`` rows. The rules of issue 15: re-import is idempotent (the file hash skips identical
files), a later, longer export adds new workouts and updates edited ones without duplicates, an
older export never undoes a newer one, the user's corrections win over an app's edit, a workout
deleted in the app stays and is flagged, times are read in the athlete's zone and the classic
Strong export in the athlete's weight unit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings

from ingest.fit.importer import import_paths
from jobs.app_settings import apply_profile_change
from jobs.ledger import correct_exercise, load_ledger, sets_rows
from sim.app_exports import ExportSet, ExportWorkout, write_hevy, write_strong
from store import app_sessions
from store.athletes import delete_athlete, get_profile, set_profile
from tests.apps.test_roundtrip import workouts
from tests.paths import REPO_ROOT

FIX = REPO_ROOT / "tests" / "fixtures" / "apps"
SAMPLE = REPO_ROOT / "sample_data" / "apps"
KG_PER_LB = 0.45359237


def imp(con, *paths: Path | str, athlete: str = "ann", undelete: bool = False):
    return import_paths(con, list(paths), athlete=athlete, workers=1, show_progress=False, undelete=undelete)


def by_path(summary) -> dict[str, object]:
    return {Path(f.path.split("!")[-1]).name: f for f in summary.files}


# ------------------------------------------------------------------------------------------
# every fixture variant


# (file, status, workouts, sets): counted by hand from the fixture text (rest timer rows and empty sets are
# not sets; a refused row is not kept)
FIXTURES = [
    ("strong_classic_kg.csv", "imported", 2, 11),
    ("strong_unit_columns_lbs.csv", "imported", 1, 4),
    ("strong_android_semicolon.csv", "imported", 1, 4),
    ("strong_workout_number.csv", "imported", 2, 4),
    ("strong_dmy_dates.csv", "imported", 3, 3),
    ("strong_mdy_dates.csv", "imported", 3, 3),
    ("strong_date_only.csv", "imported", 1, 2),
    ("strong_dst.csv", "imported", 2, 2),
    ("strong_bad_rows.csv", "partial", 1, 2),
    ("hevy_kg.csv", "imported", 2, 9),
    ("hevy_lbs_miles.csv", "imported", 1, 4),
    ("hevy_german_months.csv", "imported", 2, 3),
]


@pytest.mark.parametrize(("name", "status", "n_workouts", "n_sets"), FIXTURES)
def test_every_fixture_variant_through_the_import_path(make_store, name, status, n_workouts, n_sets) -> None:
    con, _ = make_store()
    set_profile(con, "ann", tz="Europe/Oslo")
    s = imp(con, FIX / name)
    [f] = s.files
    assert (f.status, f.sets) == (status, n_sets), f.error
    assert f.app["sessions"] == f.app["new"] == n_workouts
    assert f.app["tz"] == "Europe/Oslo" and f.app["zone_assumed"] and f.app["tz_source"] == "athlete"
    assert "Europe/Oslo, the athlete's time zone" in f.reason
    stored = app_sessions.app_sessions(con, "ann")
    sets = app_sessions.app_sets(con, "ann")
    assert len(stored) == n_workouts and len(sets) == n_sets
    assert con.execute("SELECT status, decoder FROM source_file WHERE athlete = 'ann'").fetchall() == [
        (status, "hevy-csv" if name.startswith("hevy") else "strong-csv")
    ]
    # each stored workout's instant is its wall-clock start read in the athlete's zone
    for r in stored:
        local = r["started_at"].astimezone(ZoneInfo("Europe/Oslo"))
        if r["local_time_note"] is None:
            assert local.replace(tzinfo=None) == r["start_local"]
    # the ledger holds every app set once, none lost, in the `sets` rows
    rows = sets_rows(load_ledger(con, "ann"))
    assert sorted(r["set_id"] for r in rows) == sorted(x["set_id"] for x in sets)
    assert {r["source"] for r in rows} == {"hevy" if name.startswith("hevy") else "strong"}
    # re-import: skipped as a duplicate, nothing changes
    again = imp(con, FIX / name)
    assert [(f.status, f.reason) for f in again.files] == [("skipped", "duplicate")]
    assert len(app_sessions.app_sets(con, "ann")) == n_sets


def test_bad_rows_are_listed_with_their_lines_and_the_rest_is_kept(make_store) -> None:
    con, _ = make_store()
    [f] = imp(con, FIX / "strong_bad_rows.csv").files
    assert f.status == "partial" and s_exit(f) == 1
    lines = [b["line"] for b in f.app["bad_rows"]]
    assert lines == [3, 4, 5, 6, 7, 10]
    assert "weight is not a number" in f.app["bad_rows"][0]["reason"]
    assert f.error.startswith("6 row(s) refused, the rest kept")
    ev = con.execute("SELECT status, reason FROM import_event WHERE athlete = 'ann'").fetchall()
    assert ev == [("partial", f.error)]


def s_exit(f) -> int:
    return 1 if f.status in ("partial", "failed") else 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("strong_ambiguous_dates.csv", "day/month order undecidable"),
        ("strong_contradictory_dates.csv", "dates contradict each other"),
    ],
)
def test_a_refused_export_fails_with_its_reason_and_stores_nothing(make_store, name, reason) -> None:
    con, _ = make_store()
    [f] = imp(con, FIX / name).files
    assert f.status == "failed" and f.error.startswith("app export refused: ") and reason in f.error
    assert app_sessions.app_sessions(con, "ann") == []
    assert con.execute("SELECT count(*) FROM source_file").fetchone()[0] == 0
    assert con.execute("SELECT status FROM import_event").fetchall() == [("failed",)]


def test_a_csv_that_is_no_app_export_is_skipped_with_a_reason(make_store, tmp_path) -> None:
    con, _ = make_store()
    (tmp_path / "fitnotes.csv").write_text("Date,Exercise,Category,Weight (kgs),Reps\n2020-07-23,Squat,Legs,100,5\n")
    [f] = imp(con, tmp_path / "fitnotes.csv").files
    assert (f.status, f.reason) == ("skipped", "not a Strong or Hevy export (header not recognised)")


def test_exports_in_folders_and_nested_zips(make_store, tmp_path) -> None:
    con, _ = make_store()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("hevy/workouts.csv", (FIX / "hevy_kg.csv").read_bytes())
    with zipfile.ZipFile(tmp_path / "phone.zip", "w") as z:
        z.writestr("strong.csv", (FIX / "strong_classic_kg.csv").read_bytes())
        z.writestr("more.zip", inner.getvalue())
        z.writestr("readme.txt", b"not read")
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "android.CSV").write_bytes((FIX / "strong_android_semicolon.csv").read_bytes())
    s = imp(con, tmp_path / "phone.zip", folder)
    got = sorted((f.path.replace(str(tmp_path), ""), f.status, f.sets) for f in s.files)
    assert got == [
        ("/exports/android.CSV", "imported", 4),
        ("/phone.zip!more.zip!hevy/workouts.csv", "imported", 9),
        ("/phone.zip!strong.csv", "imported", 11),
    ]


def test_the_real_public_exports_through_the_import_path(make_store) -> None:
    """sample_data/apps (PROVENANCE.tsv): every set of each export stored once, none twice."""
    con, _ = make_store()
    with (SAMPLE / "PROVENANCE.tsv").open() as fh:
        prov = list(csv.DictReader(fh, delimiter="\t"))
    for i, p in enumerate(prov):
        athlete = f"r{i}"  # each export its own athlete: two of them are the same person's workouts
        [f] = imp(con, SAMPLE / p["file"], athlete=athlete).files
        assert (f.status, f.sets, f.app["sessions"], f.app["new"]) == (
            "imported",
            int(p["sets"]),
            int(p["sessions"]),
            int(p["sessions"]),
        ), p["file"]
        assert len(f.app["bad_rows"]) == int(p["bad_rows"])
        assert len(app_sessions.app_sets(con, athlete)) == int(p["sets"])
    # the same person's 2025 classic export and their older workout-number export: the newer version is kept
    s = imp(
        con,
        SAMPLE / "strong/strong-statistics-classic-2025.csv",
        SAMPLE / "strong/strong-statistics-workout-number.csv",
        athlete="both",
    )
    a, b = s.files
    assert (a.app["new"], b.app["new"]) == (15, 0)
    assert b.app["kept_newer"] + b.app["unchanged"] == 10 and b.app["updated"] == 0
    assert len(app_sessions.app_sessions(con, "both")) == 15


# ------------------------------------------------------------------------------------------
# the update rule of a later export


def _w(title: str, day: int, sets: list[tuple[str, str, int, float]], minute: int = 0) -> ExportWorkout:
    return ExportWorkout(
        title,
        dt.datetime(2026, 3, day, 7, minute),
        3600,
        tuple(ExportSet(ex, role, reps, kg) for ex, role, reps, kg in sets),
    )


A = _w("Lower", 2, [("Squat (Barbell)", "warmup", 8, 40.0), ("Squat (Barbell)", "working", 5, 100.0)])
B = _w("Upper", 4, [("Bench Press (Barbell)", "working", 5, 60.0), ("Bench Press (Barbell)", "working", 5, 60.0)])
B_EDITED = _w(
    "Upper", 4, [("Bench Press (Barbell)", "working", 5, 62.5), ("Bench Press (Barbell)", "working", 4, 62.5)]
)
C = _w("Lower", 6, [("Deadlift (Barbell)", "working", 3, 140.0)])
D = _w("Upper", 9, [("Overhead Press (Barbell)", "working", 5, 40.0)])


def write(tmp_path: Path, name: str, ws, app: str = "hevy", **kw) -> Path:
    p = tmp_path / name
    p.write_bytes(write_hevy(ws, **kw) if app == "hevy" else write_strong(ws, **kw))
    return p


def stored_sets(con, key: str) -> list[tuple]:
    return [
        (x["exercise_as_written"], x["reps"], x["load_kg"])
        for x in app_sessions.app_sets(con, "ann")
        if x["session_key"] == key
    ]


def keys(con) -> dict[str, str]:
    return {r["start_local"].strftime("%d"): r["session_key"] for r in app_sessions.app_sessions(con, "ann")}


def test_a_longer_export_adds_new_workouts_and_updates_edited_ones_never_duplicates(make_store, tmp_path) -> None:
    con, _ = make_store()
    [f1] = imp(con, write(tmp_path, "march.csv", [A, B])).files
    assert (f1.app["new"], f1.app["updated"]) == (2, 0)
    [f2] = imp(con, write(tmp_path, "april.csv", [A, B_EDITED, C])).files
    assert f2.status == "imported"
    assert {k: f2.app[k] for k in ("new", "updated", "unchanged", "kept_newer", "flagged_deleted")} == {
        "new": 1,
        "updated": 1,
        "unchanged": 1,
        "kept_newer": 0,
        "flagged_deleted": 0,
    }
    k = keys(con)
    assert sorted(k) == ["02", "04", "06"]  # three workouts, not four: the edited one replaced in place
    assert stored_sets(con, k["04"]) == [("Bench Press (Barbell)", 5, 62.5), ("Bench Press (Barbell)", 4, 62.5)]
    assert con.execute("SELECT count(*) FROM app_set").fetchone()[0] == 2 + 2 + 1
    # the older export again under another name (other bytes, same content): it never undoes the edit
    [f3] = imp(con, write(tmp_path, "march-bom.csv", [A, B], bom=True)).files
    assert (f3.app["new"], f3.app["updated"], f3.app["kept_newer"], f3.app["unchanged"]) == (0, 0, 1, 1)
    assert stored_sets(con, k["04"])[0] == ("Bench Press (Barbell)", 5, 62.5)
    # the identical file: skipped by its hash before anything is read
    [f4] = imp(con, tmp_path / "april.csv").files
    assert (f4.status, f4.reason) == ("skipped", "duplicate")


def test_a_workout_deleted_in_the_app_stays_flagged_and_an_export_holding_it_lifts_the_flag(
    make_store, tmp_path
) -> None:
    con, _ = make_store()
    imp(con, write(tmp_path, "1.csv", [A, B, C]))
    [f] = imp(con, write(tmp_path, "2.csv", [A, C, D])).files  # B deleted in the app; D is new
    assert (f.app["flagged_deleted"], f.app["new"]) == (1, 1)
    k = keys(con)
    row = next(r for r in app_sessions.app_sessions(con, "ann") if r["session_key"] == k["04"])
    assert row["missing_since"] is not None and row["missing_as_of"] == dt.datetime(2026, 3, 9, 7)
    rows = sets_rows(load_ledger(con, "ann"))
    flagged = [r for r in rows if r["app_session_id"] == k["04"]]
    assert len(flagged) == 2 and all(r["deleted_in_app"] for r in flagged)  # kept, counted, flagged
    assert not any(r["deleted_in_app"] for r in rows if r["app_session_id"] != k["04"])
    # an export covering only later dates says nothing about B
    [g] = imp(con, write(tmp_path, "3.csv", [D])).files
    assert g.app["flagged_deleted"] == 0
    # a later export holding B again (restored in the app)
    [h] = imp(con, write(tmp_path, "4.csv", [A, B, C, D])).files
    assert h.app["restored"] == 1
    assert all(r["missing_since"] is None for r in app_sessions.app_sessions(con, "ann"))


def test_a_users_correction_wins_over_an_apps_later_edit(make_store, tmp_path) -> None:
    con, _ = make_store()
    odd = _w("Upper", 4, [("Landmine Press", "working", 5, 30.0), ("Bench Press (Barbell)", "working", 5, 60.0)])
    imp(con, write(tmp_path, "1.csv", [odd]))
    rows = sets_rows(load_ledger(con, "ann"))
    assert rows[0]["exercise"] is None and rows[0]["exercise_as_recorded"] == "Landmine Press"
    doc = correct_exercise(con, "ann", rows[0]["set_id"], "overhead_press")
    assert doc == {"set_id": rows[0]["set_id"], "exercise": "overhead_press"}
    # the app edits the workout later: the set's reps change and the bench press set's name too
    edited = _w("Upper", 4, [("Landmine Press", "working", 6, 30.0), ("Incline Bench Press", "working", 5, 60.0)])
    [f] = imp(con, write(tmp_path, "2.csv", [edited])).files
    assert f.app["updated"] == 1
    rows = sets_rows(load_ledger(con, "ann"))
    assert (rows[0]["exercise"], rows[0]["reps"], rows[0]["corrected"]) == ("overhead_press", 6, True)
    assert rows[0]["field_sources"]["exercise"] == "user"
    assert (rows[1]["exercise"], rows[1]["exercise_as_recorded"]) == (None, "Incline Bench Press")  # the app's edit


def test_times_are_read_in_the_athletes_zone_and_read_again_when_it_changes(make_store, tmp_path) -> None:
    con, _ = make_store()
    [f] = imp(con, write(tmp_path, "1.csv", [A])).files
    assert f.app["tz"] == "UTC" and f.app["tz_source"] == "default" and "athlete set --tz" in f.reason
    [r] = app_sessions.app_sessions(con, "ann")
    assert r["started_at"] == dt.datetime(2026, 3, 2, 7, tzinfo=dt.UTC)
    before = get_profile(con, "ann")
    after = set_profile(con, "ann", tz="America/New_York")
    assert apply_profile_change(con, "ann", before, after) == {"tz": 1}
    [r] = app_sessions.app_sessions(con, "ann")
    assert r["started_at"] == dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)  # 07:00 EST = 12:00 UTC
    assert r["start_local"] == dt.datetime(2026, 3, 2, 7) and r["tz"] == "America/New_York"
    # the same file imported now (another athlete) reads the same instants
    set_profile(con, "bob", tz="America/New_York")
    imp(con, tmp_path / "1.csv", athlete="bob")
    assert app_sessions.app_sessions(con, "bob")[0]["started_at"] == r["started_at"]


def test_the_classic_strong_export_is_read_in_the_athletes_weight_unit(make_store, tmp_path) -> None:
    con, _ = make_store()
    w = _w("Lower", 2, [("Squat (Barbell)", "working", 5, 225.0)])
    path = write(tmp_path, "lb.csv", [w], app="strong", variant="classic")
    set_profile(con, "ann", weight_unit="lb")
    [f] = imp(con, path).files
    assert f.app["weight_unit"] == "lb" and f.app["weight_unit_source"].startswith("caller (the athlete")
    assert stored_sets(con, keys(con)["02"]) == [("Squat (Barbell)", 5, pytest.approx(225 * KG_PER_LB, rel=1e-12))]
    # imported in kg by mistake, then the unit is set: the workout is read again in lb
    [g] = imp(con, path, athlete="bob").files
    assert g.app["weight_unit"] == "kg"
    before = get_profile(con, "bob")
    after = set_profile(con, "bob", weight_unit="lb")
    assert apply_profile_change(con, "bob", before, after) == {"weight_unit": 1}
    [x] = app_sessions.app_sets(con, "bob")
    assert x["load_kg"] == pytest.approx(225 * KG_PER_LB, rel=1e-12)
    # a unit-column export is never rescaled by the athlete's setting
    u = write(tmp_path, "units.csv", [w], app="strong", variant="unit-columns", weight_unit="lb")
    imp(con, u, athlete="cid")
    before = get_profile(con, "cid")
    assert apply_profile_change(con, "cid", before, set_profile(con, "cid", weight_unit="lb")) == {}


def test_athlete_delete_removes_app_rows_and_a_reimport_skips_the_files(make_store, tmp_path) -> None:
    con, _ = make_store()
    path = write(tmp_path, "1.csv", [A, B])
    imp(con, path)
    rows = sets_rows(load_ledger(con, "ann"))
    correct_exercise(con, "ann", rows[0]["set_id"], "front_squat")
    app_sessions.add_ledger_correction(con, "ann", "split", [["hevy", rows[0]["app_session_id"]]])
    imp(con, path, athlete="bob")
    counts = delete_athlete(con, "ann")
    assert counts["app_session"] == 2 and counts["app_set"] == 4 and counts["ledger_correction"] == 1
    assert counts["set_correction"] == 1
    for t in ("app_session", "app_set", "ledger_correction"):
        assert con.execute(f"SELECT count(*) FROM {t} WHERE athlete = 'ann'").fetchone()[0] == 0
    assert len(app_sessions.app_sets(con, "bob")) == 4  # the other athlete's copy stays
    [f] = imp(con, path).files
    assert (f.status, f.reason) == ("skipped", "deleted athlete")
    [g] = imp(con, path, undelete=True).files
    assert g.status == "imported" and g.app["new"] == 2


# ------------------------------------------------------------------------------------------
# hypothesis: generated exports through the import path

_athletes = (f"h{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    from store.connection import open_store

    con = open_store(tmp_path_factory.mktemp("hyp") / "h.duckdb")
    yield con
    con.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(ws=workouts(minute_precision=True))
def test_generated_exports_are_stored_as_written(shared_store, tmp_path_factory, ws) -> None:
    con = shared_store
    athlete = next(_athletes)
    d = tmp_path_factory.mktemp("x")
    for app in ("strong", "hevy"):
        who = f"{athlete}-{app}"
        set_profile(con, who, tz="Europe/Oslo")
        [f] = imp(con, write(d, f"{app}.csv", ws, app=app), athlete=who).files
        assert f.status == "imported" and f.app["new"] == len(ws)
        got = [
            (x["exercise_as_written"], x["set_role"], x["reps"], x["load_kg"], x["duration_s"], x["rpe"])
            for x in app_sessions.app_sets(con, who)
        ]
        exp = [
            (s.exercise.strip(), s.role, s.reps, s.weight, s.seconds, s.rpe)
            for w in sorted(ws, key=lambda w: w.start_local)
            for s in w.sets
        ]
        assert got == exp
        # the ledger lists every one of them once, warm-ups never counting toward the prescription
        rows = sets_rows(load_ledger(con, who))
        assert len(rows) == len(exp)
        assert all(r["counts_toward_prescription"] == (r["set_role"] != "warmup") for r in rows)
        # importing the same workouts once more in the other variant changes nothing
        again = write(d, f"{app}-crlf.csv", ws, app=app, crlf=True)
        [g] = imp(con, again, athlete=who).files
        assert g.app["new"] == g.app["updated"] == 0 and g.app["unchanged"] == len(ws)


# ------------------------------------------------------------------------------------------
# the demo's simulated lifter: Strong and Hevy exports through import, back to the simulator's truth


@pytest.mark.parametrize("with_watch", [False, True])
def test_the_simulated_lifter_round_trips_through_import_to_the_simulators_truth(
    make_store, tmp_path, with_watch
) -> None:
    """The first half of the lifter's sessions exported by Strong (classic, lb), the second by Hevy (kg),
    both with a warm-up set per exercise (not in the truth); with ``with_watch`` the watch recorded every
    session too (the demo's simulated FIT sessions). The ledger's working sets are the truth, each once."""
    from analysis.training_load import weekly_strength
    from jobs.demo import write_simulated_history
    from sim.app_exports import HEVY_NAMES, sim_workouts
    from sim.athlete import simulate_athlete

    sim = simulate_athlete(seed=3, weeks=8, strength_start_week=0, runs_per_week=0)
    tz = sim.profile["tz"]
    truth = sorted(sim.strength_sets, key=lambda s: s.started_at_ns)
    keys_in_order = list(dict.fromkeys(s.session_key for s in truth))
    half = set(keys_in_order[: len(keys_in_order) // 2])
    strong = sim_workouts([s for s in truth if s.session_key in half], tz, weight_unit="lb", warmups=True)
    hevy = sim_workouts([s for s in truth if s.session_key not in half], tz, names=HEVY_NAMES, warmups=True)
    con, _ = make_store()
    set_profile(con, "ann", tz=tz, weight_unit="lb")
    if with_watch:
        write_simulated_history(con, "ann", sim)
    s = imp(
        con,
        write(tmp_path, "strong.csv", strong, app="strong", variant="classic", weight_unit="lb"),
        write(tmp_path, "hevy.csv", hevy, app="hevy"),
    )
    assert [f.status for f in s.files] == ["imported", "imported"]
    x = load_ledger(con, "ann")
    rows = sets_rows(x)
    working = [r for r in rows if r["set_role"] == "working"]
    assert [(r["exercise"], r["reps"]) for r in working] == [(t.exercise, t.reps) for t in truth]
    assert [r["load_kg"] for r in working] == pytest.approx([t.load_kg for t in truth], rel=1e-12)
    assert [r["source"] for r in working] == ["strong" if t.session_key in half else "hevy" for t in truth]
    expected_sources = (lambda app: [app, "fit"]) if with_watch else (lambda app: [app])
    assert [r["sources"] for r in working] == [
        expected_sources("strong" if t.session_key in half else "hevy") for t in truth
    ]
    warm = [r for r in rows if r["set_role"] == "warmup"]
    assert len(warm) == 4 * len(keys_in_order) and not any(r["counts_toward_prescription"] for r in warm)
    assert len(x.ledger.sessions) == len(keys_in_order)  # one training session per simulated session
    assert sum(sess.merged for sess in x.ledger.sessions) == (len(keys_in_order) if with_watch else 0)
    # the weekly prescription rollup from the ledger equals the one from the truth (warm-ups never count)
    got = weekly_strength(x.ledger.strength_sets(), tz, e5rm_kg=sim.e5rm_kg)
    want = weekly_strength(truth, tz, e5rm_kg=sim.e5rm_kg)
    assert [(w.sessions, w.sets, w.zone_sets, w.sessions_meeting_prescription) for w in got] == [
        (w.sessions, w.sets, w.zone_sets, w.sessions_meeting_prescription) for w in want
    ]
    assert [w.volume_load_kg for w in got] == pytest.approx([w.volume_load_kg for w in want], rel=1e-9)
