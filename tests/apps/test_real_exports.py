"""Real public Strong and Hevy exports (sample_data/apps, see PROVENANCE.tsv), parsed and checked
against totals computed independently here with the csv module and datetime.strptime."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import pytest

from ingest.apps import parse_export

APPS = Path(__file__).resolve().parents[2] / "sample_data" / "apps"


def _provenance() -> list[dict[str, str]]:
    with open(APPS / "PROVENANCE.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _raw(path: Path, delimiter: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"), newline=""), delimiter=delimiter))


def test_provenance_lists_every_file_with_its_hash_and_a_licence() -> None:
    rows = _provenance()
    listed = {r["file"] for r in rows}
    on_disk = {str(p.relative_to(APPS)) for p in APPS.rglob("*.csv")}
    assert listed == on_disk
    for r in rows:
        data = (APPS / r["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        assert len(data) == int(r["bytes"])
        assert r["license"].startswith("MIT") and len(r["source_commit"]) == 40


@pytest.mark.parametrize("row", _provenance(), ids=lambda r: r["file"])
def test_real_export_matches_its_provenance_line(row: dict[str, str]) -> None:
    e = parse_export((APPS / row["file"]).read_bytes(), tz="Europe/London")
    assert (e.app, e.variant, e.status) == (row["app"], row["variant"], "imported")
    assert (e.rows, len(e.sessions), e.sets, len(e.skipped_rows), len(e.bad_rows)) == tuple(
        int(row[k]) for k in ("data_rows", "sessions", "sets", "skipped_rows", "bad_rows")
    )


def test_strong_classic_totals_against_an_independent_count() -> None:
    path = APPS / "strong" / "strongappanalytics-classic.csv"
    raw = _raw(path, ",")
    e = parse_export(path.read_bytes(), tz="Europe/Athens", weight_unit="kg")
    groups = collections.defaultdict(list)
    for r in raw:
        groups[(r["Date"], r["Workout Name"])].append(r)
    assert len(e.sessions) == len(groups) == 86
    for s in e.sessions:
        rows = groups[(s.start_local.strftime("%Y-%m-%d %H:%M:%S"), s.title)]
        assert len(s.sets) == len(rows)
        vol = sum(float(r["Weight"]) * float(r["Reps"]) for r in rows)
        assert sum((x.load_kg or 0) * (x.reps or 0) for x in s.sets) == pytest.approx(vol)
        hm = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?", rows[0]["Duration"])
        assert hm is not None, rows[0]["Duration"]
        assert s.duration_s == 3600 * int(hm[1] or 0) + 60 * int(hm[2] or 0)
    first = e.sessions[0]
    assert first.start_local == dt.datetime(2020, 12, 30, 18, 51, 52)
    assert first.start_utc == dt.datetime(2020, 12, 30, 16, 51, 52, tzinfo=dt.UTC)  # Athens winter, UTC+2
    assert first.duration_s == 2 * 3600 + 38 * 60
    squat = [x for s in e.sessions for x in s.sets if x.exercise == "back_squat"]
    assert len(squat) == sum(r["Exercise Name"] == "Squat (Barbell)" for r in raw) > 0


def test_strong_workout_number_semicolon_real_export() -> None:
    path = APPS / "strong" / "strong-statistics-workout-number.csv"
    raw = _raw(path, ";")
    e = parse_export(path.read_bytes(), tz="Europe/London")
    empty = [r for r in raw if not r["Weight (kg)"] and not r["Reps"]]
    assert len(e.skipped_rows) == len(empty) == 7
    by_no = collections.defaultdict(list)
    for r in raw:
        by_no[r["Workout #"]].append(r)
    assert len(e.sessions) == len(by_no)
    assert [s.duration_s for s in e.sessions] == [float(v[0]["Duration (sec)"]) for v in by_no.values()]
    assert e.weight_unit_source == "header"


def test_hevy_real_export_roles_durations_and_volume() -> None:
    path = APPS / "hevy" / "strong-statistics-hevy-kg.csv"
    raw = _raw(path, ",")
    e = parse_export(path.read_bytes(), tz="Europe/Berlin")
    roles = collections.Counter(x.set_role for s in e.sessions for x in s.sets)
    types = collections.Counter(r["set_type"] for r in raw)
    assert roles == {
        "working": types["normal"],
        "warmup": types["warmup"],
        "failure": types["failure"],
        "drop": types["dropset"],
    }
    groups = collections.defaultdict(list)
    for r in raw:
        groups[(r["start_time"], r["title"])].append(r)
    assert len(e.sessions) == len(groups)
    fmt = "%d %b %Y, %H:%M"
    by_key = {(s.start_local, s.title): s for s in e.sessions}
    for (start, title), rows in groups.items():
        t0 = dt.datetime.strptime(start, fmt)
        s = by_key[(t0, title)]
        assert s.duration_s == (dt.datetime.strptime(rows[0]["end_time"], fmt) - t0).total_seconds()
        vol = sum(float(r["weight_kg"] or 0) * float(r["reps"] or 0) for r in rows)
        assert sum((x.load_kg or 0) * (x.reps or 0) for x in s.sets) == pytest.approx(vol)
        assert [x.set_order_as_written for x in s.sets] == [r["set_index"] for r in rows]
    rpes = [x.rpe for s in e.sessions for x in s.sets if x.rpe is not None]
    assert len(rpes) == sum(1 for r in raw if r["rpe"]) and max(rpes) <= 10
    assert {"Squat (Barbell)", "Romanian Deadlift (Barbell)", "Bulgarian Split Squat", "Lunge (Dumbbell)"} <= {
        x.exercise_as_written for s in e.sessions for x in s.sets if x.exercise is not None
    }
