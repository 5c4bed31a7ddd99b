"""Hand-written fixtures of every Strong and Hevy variant (tests/fixtures/apps), parsed to known values.

Expected numbers are written out by hand from the fixture text (lb -> kg with the exact
0.45359237 kg/lb, miles -> m with 1609.344 m/mi), not computed by the parser's helpers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ingest.apps import AppExportError, detect, parse_export

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
UTC = dt.UTC


def _load(name: str) -> bytes:
    return (FIX / name).read_bytes()


def _parse(name: str, **kw):
    kw.setdefault("tz", "Europe/Oslo")
    return parse_export(_load(name), **kw)


def _rows(session) -> list[tuple]:
    return [
        (
            s.exercise_as_written,
            s.exercise,
            s.set_order,
            s.set_role,
            s.reps,
            s.load_kg,
            s.distance_m,
            s.duration_s,
            s.rpe,
        )
        for s in session.sets
    ]


@pytest.mark.parametrize(
    ("name", "app", "variant", "delim", "encoding"),
    [
        ("strong_classic_kg.csv", "strong", "strong-classic", ",", "utf-8"),
        ("strong_unit_columns_lbs.csv", "strong", "strong-unit-columns", ",", "utf-8"),
        ("strong_android_semicolon.csv", "strong", "strong-unit-columns", ";", "utf-8-sig"),
        ("strong_workout_number.csv", "strong", "strong-workout-number", ";", "utf-8"),
        ("hevy_kg.csv", "hevy", "hevy", ",", "utf-8"),
        ("hevy_lbs_miles.csv", "hevy", "hevy", ",", "utf-8"),
    ],
)
def test_detection(name: str, app: str, variant: str, delim: str, encoding: str) -> None:
    d = detect(_load(name))
    assert d is not None
    assert (d.app, d.variant, d.delimiter, d.encoding) == (app, variant, delim, encoding)


def test_detect_rejects_other_files() -> None:
    assert detect(b"") is None
    assert detect(b"\x0e\x10\x08\x08.FIT") is None
    assert detect(b"Date,Exercise,Category,Weight (kgs),Reps\n2020-07-23,Squat,Legs,100,5\n") is None  # FitNotes
    with pytest.raises(AppExportError, match="not a Strong or Hevy"):
        parse_export(b"a,b,c\n1,2,3\n", tz="UTC")


def test_strong_classic_kg() -> None:
    e = _parse("strong_classic_kg.csv")
    assert (e.status, e.weight_unit, e.weight_unit_source, e.distance_unit_source) == (
        "imported",
        "kg",
        "caller",
        "caller",
    )
    assert e.zone_assumed and e.tz == "Europe/Oslo"
    assert [s.title for s in e.sessions] == ["Lower A", "Upper"]
    lower = e.sessions[0]
    assert lower.start_local == dt.datetime(2026, 8, 7, 8, 27)
    assert lower.start_utc == dt.datetime(2026, 8, 7, 6, 27, tzinfo=UTC)  # CEST = UTC+2
    assert lower.started_at_ns == int(dt.datetime(2026, 8, 7, 6, 27, tzinfo=UTC).timestamp()) * 10**9
    assert lower.duration_s == 3900.0  # 1h 5m
    assert lower.end_utc == dt.datetime(2026, 8, 7, 7, 32, tzinfo=UTC)
    assert lower.notes == "Legs felt fresh"
    assert lower.zone_assumed and lower.session_rpe is None and lower.start_precision == "second"
    assert _rows(lower) == [
        ("Squat (Barbell)", "back_squat", 1, "warmup", 8, 40.0, None, None, None),
        ("Squat (Barbell)", "back_squat", 2, "working", 5, 100.0, None, None, 8.0),
        ("Squat (Barbell)", "back_squat", 3, "working", 5, 100.0, None, None, 8.5),
        ("Squat (Barbell)", "back_squat", 4, "failure", 3, 100.0, None, None, 10.0),
        ("Romanian Deadlift (Barbell)", "romanian_deadlift", 1, "working", 6, 80.0, None, None, None),
        ("Romanian Deadlift (Barbell)", "romanian_deadlift", 2, "drop", 8, 60.0, None, None, None),
        ("Bulgarian Split Squat", "bulgarian_split_squat", 1, "working", 10, 0.0, None, None, None),
        ("Plank", None, 1, "working", None, None, None, 60.0, None),
        ("Running (Treadmill)", None, 1, "working", None, None, 1500.0, 600.0, None),
    ]
    assert [s.set_order_as_written for s in lower.sets[:4]] == ["W", "1", "2", "F"]
    assert [s.exercise_order for s in lower.sets] == [1, 1, 1, 1, 2, 2, 3, 4, 5]
    assert lower.sets[1].notes == 'Paused, felt "easy"'
    assert lower.sets[0].line == 2 and lower.sets[-1].line == 10
    assert e.sessions[1].duration_s == 2700.0
    assert e.unmapped_exercises == ("Plank", "Running (Treadmill)")


def test_strong_classic_in_pounds_when_the_caller_says_so() -> None:
    e = _parse("strong_classic_kg.csv", weight_unit="lb")
    assert e.weight_unit == "lb" and e.distance_unit == "mi"
    squat = e.sessions[0].sets[1]
    assert squat.load_kg == pytest.approx(45.359237)  # 100 lb
    assert e.sessions[0].sets[-1].distance_m == pytest.approx(1.5 * 1609.344)
    assert e.sessions[0].sets[6].load_kg == 0.0  # body weight stays 0 in any unit


def test_strong_unit_columns_lbs_crlf_rest_timer() -> None:
    e = _parse("strong_unit_columns_lbs.csv")
    assert e.status == "imported"
    assert (e.weight_unit, e.weight_unit_source, e.distance_unit) == ("mixed", "column", "mi")
    assert [(n.line, n.reason) for n in e.skipped_rows] == [
        (3, "rest timer row (not a set)"),
        (5, "rest timer row (not a set)"),
        (8, "empty set (no reps, load, distance or time logged)"),
    ]
    (s,) = e.sessions
    assert s.duration_s == 4200.0
    assert _rows(s) == [
        ("Bench Press (Barbell)", "bench_press", 1, "working", 5, pytest.approx(102.05828325), None, None, 8.0),
        ("Bench Press (Barbell)", "bench_press", 2, "working", 5, 100.0, None, None, 9.0),
        ("Hip Thrust (Barbell)", "hip_thrust", 1, "working", 8, pytest.approx(61.23496995), None, None, None),
        ("Rowing (Machine)", None, 1, "working", None, None, pytest.approx(2011.68), 420.0, None),
    ]


def test_strong_android_semicolon_bom_crlf_decimal_comma() -> None:
    e = _parse("strong_android_semicolon.csv")
    assert (e.encoding, e.delimiter, e.status) == ("utf-8-sig", ";", "imported")
    (s,) = e.sessions
    assert s.title == "Morgenøkt" and s.notes == "Første økt"
    assert s.duration_s == 3720.0  # Workout Duration "1h 2m", last column
    assert _rows(s) == [
        ("Deadlift (Barbell)", "deadlift", 1, "warmup", 5, 60.0, None, None, None),
        ("Deadlift (Barbell)", "deadlift", 2, "working", 3, 142.5, None, None, 8.5),
        ("Step-up", "step_up", 1, "working", 8, 20.0, None, None, None),
        ("Lunge (Dumbbell)", "lunge", 1, "working", 10, 16.0, None, None, None),
    ]


def test_strong_workout_number_variant() -> None:
    e = _parse("strong_workout_number.csv")
    assert (e.variant, e.weight_unit, e.weight_unit_source, e.distance_unit) == (
        "strong-workout-number",
        "kg",
        "header",
        "m",
    )
    assert [n.line for n in e.skipped_rows] == [4]
    a, b = e.sessions
    assert a.duration_s == 1834.0 and b.duration_s == 2474.0  # Duration (sec)
    assert _rows(a) == [
        ("Squat (Barbell)", "back_squat", 1, "working", 5, 70.0, None, None, 7.0),
        ("Squat (Barbell)", "back_squat", 2, "working", 5, 70.0, None, None, None),
        ("Farmer's Walk", None, 1, "working", None, 24.0, 40.0, None, None),
    ]
    assert a.title == b.title == "Midday Workout" and a.session_key != b.session_key


def test_hevy_kg_set_types_supersets_and_duration() -> None:
    e = _parse("hevy_kg.csv")
    assert (e.app, e.weight_unit, e.weight_unit_source, e.distance_unit) == ("hevy", "kg", "header", "km")
    lower, upper = e.sessions
    assert lower.start_local == dt.datetime(2026, 8, 7, 8, 27) and lower.start_precision == "minute"
    assert lower.duration_s == 3900.0  # 08:27 -> 09:32
    assert lower.end_utc == dt.datetime(2026, 8, 7, 7, 32, tzinfo=UTC)
    assert lower.notes == "Felt good"
    assert _rows(lower) == [
        ("Squat (Barbell)", "back_squat", 1, "warmup", 8, 40.0, None, None, None),
        ("Squat (Barbell)", "back_squat", 2, "working", 5, 100.0, None, None, 8.0),
        ("Squat (Barbell)", "back_squat", 3, "failure", 4, 100.0, None, None, 10.0),
        ("Romanian Deadlift (Barbell)", "romanian_deadlift", 1, "working", 6, 80.0, None, None, 7.5),
        ("Romanian Deadlift (Barbell)", "romanian_deadlift", 2, "drop", 8, 60.0, None, None, None),
        ("Hip Thrust (Barbell)", "hip_thrust", 1, "working", 8, 120.0, None, None, None),
        ("Plank", None, 1, "working", None, None, None, 60.0, None),
        ("Treadmill", None, 1, "working", None, None, 2500.0, 900.0, None),
    ]
    assert [s.set_order_as_written for s in lower.sets[:3]] == ["0", "1", "2"]
    assert [s.superset_id for s in lower.sets[3:6]] == ["0", "0", "0"]
    assert lower.sets[0].notes == "Belt on top sets"
    assert upper.duration_s == 2700.0


def test_hevy_lbs_and_miles() -> None:
    e = _parse("hevy_lbs_miles.csv")
    assert (e.weight_unit, e.distance_unit) == ("lb", "mi")
    (s,) = e.sessions
    assert _rows(s) == [
        ("Deadlift (Barbell)", "deadlift", 1, "warmup", 5, pytest.approx(61.23496995), None, None, None),
        ("Deadlift (Barbell)", "deadlift", 2, "working", 3, pytest.approx(142.88159655), None, None, 9.0),
        ("Step Up", "step_up", 1, "working", 10, pytest.approx(18.1436948), None, None, None),
        ("Running", None, 1, "working", None, None, pytest.approx(3218.688), 1200.0, None),
    ]


def test_hevy_german_month_names() -> None:
    e = _parse("hevy_german_months.csv")
    assert [(s.start_local, s.duration_s) for s in e.sessions] == [
        (dt.datetime(2026, 7, 25, 14, 21), 7560.0),
        (dt.datetime(2026, 12, 3, 7, 5), 3300.0),
    ]
    # winter: CET = UTC+1
    assert e.sessions[1].start_utc == dt.datetime(2026, 12, 3, 6, 5, tzinfo=UTC)


def test_numeric_dates_day_month_decided_per_file() -> None:
    e = _parse("strong_dmy_dates.csv")
    assert e.date_rule.day_month_order == "DMY" and "line 3" in e.date_rule.decided_by
    assert [s.start_local for s in e.sessions] == [
        dt.datetime(2026, 6, 5, 7, 30),
        dt.datetime(2026, 6, 13, 7, 45),
        dt.datetime(2026, 7, 1, 18, 0),
    ]
    e = _parse("strong_mdy_dates.csv")
    assert e.date_rule.day_month_order == "MDY"
    assert [s.start_local for s in e.sessions] == [
        dt.datetime(2026, 6, 5, 19, 30),
        dt.datetime(2026, 6, 13, 7, 15),
        dt.datetime(2026, 12, 1, 0, 5),
    ]


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("strong_ambiguous_dates.csv", "undecidable"),
        ("strong_contradictory_dates.csv", "contradict"),
    ],
)
def test_undecidable_files_are_refused_with_a_reason(name: str, match: str) -> None:
    with pytest.raises(AppExportError, match=match) as e:
        _parse(name)
    assert "line" in e.value.reason


def test_date_only_values_have_day_precision() -> None:
    (s,) = _parse("strong_date_only.csv").sessions
    assert s.start_precision == "day" and s.start_local == dt.datetime(2023, 5, 15)
    assert s.duration_s == 3600.0 and len(s.sets) == 2


def test_bad_rows_are_reported_and_the_rest_kept() -> None:
    e = _parse("strong_bad_rows.csv")
    assert e.status == "partial"
    assert [(n.line, n.reason) for n in e.bad_rows] == [
        (3, "weight is not a number: 'heavy'"),
        (4, "unknown set order 'X' (expected a number, W, D or F)"),
        (5, "impossible date '2026-09-31 07:00:00': day is out of range for month"),
        (6, "reps must be a whole number >= 0, got 5.5"),
        (7, "RPE must be between 1 and 10, got 12"),
        (10, "expected 12 fields, found 4"),
    ]
    assert "heavy" in e.bad_rows[0].text
    (s,) = e.sessions
    assert [(x.set_order_as_written, x.line) for x in s.sets] == [("1", 2), ("6", 9)]
    assert e.rows == 8  # the blank line is not a row


def test_a_file_of_bad_rows_only_is_refused() -> None:
    data = b"Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps\n2026-01-01 10:00:00,A,1h,Squat,1,x,5\n"
    with pytest.raises(AppExportError, match=r"no readable row.*line 2"):
        parse_export(data, tz="UTC")


def test_header_only_export_is_empty_not_an_error() -> None:
    e = parse_export(_load("strong_classic_kg.csv").splitlines(keepends=True)[0], tz="UTC")
    assert e.sessions == () and e.status == "imported" and e.rows == 0


def test_daylight_saving_notes() -> None:
    e = _parse("strong_dst.csv")
    gap, fold = e.sessions
    assert gap.start_utc == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC) and "does not exist" in gap.local_time_note
    assert fold.start_utc == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC) and "twice" in fold.local_time_note


def test_timezone_changes_utc_not_local_or_key() -> None:
    a = _parse("hevy_kg.csv", tz="Europe/Oslo").sessions[0]
    b = _parse("hevy_kg.csv", tz="America/New_York").sessions[0]
    assert a.start_local == b.start_local and a.session_key == b.session_key
    assert (b.start_utc - a.start_utc) == dt.timedelta(hours=6)


def test_session_key_stable_and_content_hash_tracks_edits() -> None:
    data = _load("strong_classic_kg.csv")
    a = parse_export(data, tz="Europe/Oslo")
    # a later, longer export: one more workout appended, nothing else changed
    longer = data + b'2026-08-12 07:00:00,"Lower B",50m,"Deadlift (Barbell)",1,140.0,3,0,0,,,\n'
    b = parse_export(longer, tz="Europe/Oslo")
    assert [s.session_key for s in b.sessions[:2]] == [s.session_key for s in a.sessions]
    assert [s.content_sha256 for s in b.sessions[:2]] == [s.content_sha256 for s in a.sessions]
    assert len(b.sessions) == 3 and a.sha256 != b.sha256
    # an edit in the app (a rep count) keeps the key, changes the content hash
    edited = data.replace(b'"Bench Press (Barbell)",2,62.5,5', b'"Bench Press (Barbell)",2,62.5,6')
    c = parse_export(edited, tz="Europe/Oslo")
    assert c.sessions[1].session_key == a.sessions[1].session_key
    assert c.sessions[1].content_sha256 != a.sessions[1].content_sha256
    assert c.sessions[0].content_sha256 == a.sessions[0].content_sha256
    # a renamed workout is another session (app + start + title)
    renamed = parse_export(data.replace(b'"Upper"', b'"Upper body"'), tz="Europe/Oslo")
    assert renamed.sessions[1].session_key != a.sessions[1].session_key


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="weight_unit"):
        parse_export(_load("hevy_kg.csv"), tz="UTC", weight_unit="stone")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_export(_load("hevy_kg.csv"), tz="Nowhere/Land")
    with pytest.raises(TypeError):
        parse_export("text", tz="UTC")  # type: ignore[arg-type]


def test_an_unreadable_tail_keeps_the_rows_before_it() -> None:
    head = _load("strong_classic_kg.csv").split(b"\n")
    data = b"\n".join(
        [
            *head[:4],
            b'2026-08-07 08:27:00,"Lower A",1h 5m,"Squat (Barbell)",3,100.0,5,0,0,"' + b"x" * 200_000 + b'",,',
            *head[4:],
        ]
    )
    e = parse_export(data, tz="UTC")
    assert e.status == "partial"
    assert [s.set_order_as_written for s in e.sessions[0].sets] == ["W", "1", "2"]
    (note,) = e.bad_rows
    assert note.line == 5 and "unreadable" in note.reason and "field larger" in note.reason


def test_utf16_tab_and_cp1252_files() -> None:
    text = _load("hevy_kg.csv").decode("utf-8")
    e16 = parse_export(text.encode("utf-16"), tz="Europe/Oslo")  # with its BOM
    assert e16.encoding == "utf-16" and e16.sets == 9
    tab = parse_export(text.replace(",", "\t").encode(), tz="Europe/Oslo")
    # the date "7 Aug 2026, 08:27" holds a comma: as a tab file it stays one field
    assert tab.delimiter == "\t" and tab.sets == 9
    latin = _load("strong_android_semicolon.csv")[3:].decode("utf-8").encode("cp1252")
    e = parse_export(latin, tz="Europe/Oslo")
    assert e.encoding == "cp1252" and e.sessions[0].title == "Morgenøkt"
