"""Round trips: workouts -> a Strong or Hevy CSV (sim.app_exports, written from the documented
formats without the parser) -> ingest.apps.parse_export -> the same sets.

Hypothesis generates the workouts (names with commas, quotes, semicolons, non-ASCII and
newlines; every set role; kg and lb; every Strong variant; byte-order mark and CRLF; the
date styles, including numeric day/month dates, which must parse when a value decides the
order and be refused when none does). The simulated lifter of the demo round-trips to the
simulator's truth.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.apps import AppExportError, parse_export
from sim.app_exports import ExportSet, ExportWorkout, sim_workouts, write_hevy, write_strong
from sim.athlete import simulate_athlete

KG_PER_LB = 0.45359237
NAMES = [
    "Squat (Barbell)",
    "Deadlift (Barbell)",
    "Bulgarian Split Squat",
    "Lunge (Dumbbell)",
    "Step-up",
    "Seated Leg Curl (Machine)",
    "Plank",
    "Farmer's Walk",
    'Curl, "hammer" style',
    "Øvelse; på benk",
]
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
    | st.sampled_from([",", ";", '"', "\n"]),
    max_size=20,
)


def _clean(t: str) -> str | None:
    return t.strip() or None


@st.composite
def export_set(draw) -> ExportSet:
    kind = draw(st.sampled_from(["loaded", "bodyweight", "timed"]))
    role = draw(st.sampled_from(["warmup", "working", "working", "drop", "failure"]))
    rpe = draw(st.none() | st.sampled_from([6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0]))
    notes = draw(TEXT)
    ex = draw(st.sampled_from(NAMES))
    if kind == "loaded":
        return ExportSet(ex, role, draw(st.integers(1, 30)), draw(st.integers(1, 1200)) / 4, None, None, rpe, notes)
    if kind == "bodyweight":
        return ExportSet(ex, role, draw(st.integers(1, 30)), 0.0, None, None, rpe, notes)
    return ExportSet(ex, role, None, None, None, float(draw(st.integers(1, 600))), rpe, notes)


@st.composite
def workouts(draw, *, minute_precision: bool) -> list[ExportWorkout]:
    n = draw(st.integers(1, 4))
    starts = draw(
        st.lists(
            st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2027, 12, 31)),
            min_size=n,
            max_size=n,
            unique_by=lambda t: t.replace(second=0, microsecond=0),
        )
    )
    out = []
    for t in starts:
        t = t.replace(microsecond=0, second=0 if minute_precision else t.second)
        title = draw(TEXT.map(str.strip).filter(bool))
        out.append(
            ExportWorkout(
                title,
                t,
                60 * draw(st.integers(1, 240)),
                tuple(draw(st.lists(export_set(), min_size=1, max_size=10))),
                draw(TEXT),
            )
        )
    return out


def _expected(ws: list[ExportWorkout], factor: float) -> list[tuple]:
    rows = []
    for w in sorted(ws, key=lambda w: w.start_local):
        per: dict[str, int] = {}
        order: dict[str, int] = {}
        for s in w.sets:
            per[s.exercise] = per.get(s.exercise, 0) + 1
            order.setdefault(s.exercise, len(order) + 1)
            load = None if s.weight is None else s.weight * factor
            rows.append(
                (
                    w.start_local,
                    w.title,
                    float(w.duration_s),
                    _clean(w.notes or ""),
                    s.exercise.strip(),
                    order[s.exercise],
                    per[s.exercise],
                    s.role,
                    s.reps,
                    load,
                    s.seconds,
                    s.rpe,
                    _clean(s.notes or ""),
                )
            )
    return rows


def _got(e) -> list[tuple]:
    return [
        (
            ss.start_local,
            ss.title,
            ss.duration_s,
            ss.notes,
            x.exercise_as_written,
            x.exercise_order,
            x.set_order,
            x.set_role,
            x.reps,
            x.load_kg,
            x.duration_s,
            x.rpe,
            x.notes,
        )
        for ss in e.sessions
        for x in ss.sets
    ]


def _same(got: list[tuple], exp: list[tuple]) -> None:
    assert len(got) == len(exp)
    for g, x in zip(got, exp, strict=True):
        assert g[:9] == x[:9]
        assert (g[9] is None) == (x[9] is None)
        if x[9] is not None:
            assert g[9] == pytest.approx(x[9], rel=1e-12, abs=1e-12)
        assert g[10:] == x[10:]


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    ws=workouts(minute_precision=False),
    variant=st.sampled_from(["classic", "unit-columns", "android", "workout-number"]),
    unit=st.sampled_from(["kg", "lb"]),
    bom=st.booleans(),
    crlf=st.booleans(),
    rest=st.booleans(),
)
def test_strong_round_trip(ws, variant, unit, bom, crlf, rest) -> None:
    data = write_strong(ws, variant=variant, weight_unit=unit, bom=bom, crlf=crlf, rest_timer_rows=rest)
    # the classic export does not name its unit: the caller's setting decides
    e = parse_export(data, tz="Europe/Oslo", weight_unit=unit)
    assert e.status == "imported" and e.bad_rows == ()
    _same(_got(e), _expected(ws, KG_PER_LB if unit == "lb" else 1.0))
    assert all(n.reason.startswith("rest timer") for n in e.skipped_rows)
    assert len(e.skipped_rows) == (
        sum(len(w.sets) for w in ws) if rest and variant in ("unit-columns", "android") else 0
    )


@SETTINGS
@given(ws=workouts(minute_precision=True), unit=st.sampled_from(["kg", "lb"]), bom=st.booleans(), crlf=st.booleans())
def test_hevy_round_trip(ws, unit, bom, crlf) -> None:
    data = write_hevy(ws, weight_unit=unit, distance_unit="km" if unit == "kg" else "mi", bom=bom, crlf=crlf)
    e = parse_export(data, tz="America/Denver", weight_unit="kg")  # the header decides, not the caller
    assert e.status == "imported"
    _same(_got(e), _expected(ws, KG_PER_LB if unit == "lb" else 1.0))


@SETTINGS
@given(ws=workouts(minute_precision=True), style=st.sampled_from(["dmy-dots", "mdy-slash"]))
def test_numeric_dates_parse_when_decidable_and_are_refused_otherwise(ws, style) -> None:
    data = write_strong(ws, variant="classic", date_style=style)
    decidable = any(w.start_local.day > 12 and w.start_local.day != w.start_local.month for w in ws)
    if not decidable:
        with pytest.raises(AppExportError, match="undecidable"):
            parse_export(data, tz="UTC")
        return
    e = parse_export(data, tz="UTC")
    assert e.date_rule.day_month_order == ("DMY" if style == "dmy-dots" else "MDY")
    _same(_got(e), _expected(ws, 1.0))


@pytest.mark.parametrize(("app", "unit"), [("strong", "kg"), ("strong", "lb"), ("hevy", "kg"), ("hevy", "lb")])
def test_simulated_lifter_round_trips_to_the_simulator_truth(app: str, unit: str) -> None:
    sim = simulate_athlete(seed=3, weeks=10, strength_start_week=0, runs_per_week=0)
    tz = sim.profile["tz"]
    truth = sorted(sim.strength_sets, key=lambda s: s.started_at_ns)
    assert len(truth) > 100
    ws = sim_workouts(truth, tz, weight_unit=unit, warmups=True)
    data = (
        write_strong(ws, variant="classic", weight_unit=unit) if app == "strong" else write_hevy(ws, weight_unit=unit)
    )
    e = parse_export(data, tz=tz, weight_unit=unit)
    got = [x for s in e.sessions for x in s.sets if x.set_role == "working"]
    assert [(x.exercise, x.reps) for x in got] == [(s.exercise, s.reps) for s in truth]
    assert [x.load_kg for x in got] == pytest.approx([s.load_kg for s in truth], rel=1e-12)
    warm = [x for s in e.sessions for x in s.sets if x.set_role == "warmup"]
    assert len(warm) == 4 * len(e.sessions)  # one per exercise, none in the truth
    by_key: dict[str, list[int]] = {}
    for s in truth:
        by_key.setdefault(s.session_key, []).append(s.started_at_ns)
    starts = sorted(min(v) for v in by_key.values())
    assert len(e.sessions) == len(starts)
    step = 60 if app == "hevy" else 1  # Hevy writes minutes
    for s, t0 in zip(e.sessions, starts, strict=True):
        assert s.started_at_ns == (t0 // 10**9 // step) * step * 10**9
        last = max(x for v in by_key.values() if min(v) == t0 for x in v)
        assert s.started_at_ns + s.duration_s * 1e9 >= last  # the workout covers its sets
