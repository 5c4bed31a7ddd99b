"""Write Strong and Hevy CSV exports from known workouts (pure: data in, bytes out).

Used to give the demo's simulated lifter a phone-app history, and by the tests to
round-trip generated workouts through the parsers (``ingest.apps``). Written from the
documented formats (see docs/strength-ledger.md), independently of the parser: it imports
nothing of ``ingest``.

Variants: Strong ``classic`` (comma, no unit columns, RPE last), ``unit-columns`` (iOS,
comma, ``Weight Unit``/``Distance Unit``), ``android`` (semicolon, unit columns,
``Workout Duration`` last), ``workout-number`` (semicolon, every field quoted, ``Workout #``,
``Duration (sec)``, ``Weight (kg)``); Hevy (``weight_kg``/``weight_lbs``). Options: a byte-order
mark, CRLF line ends, rest-timer rows (Strong), and the date style.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from analysis.training_load import StrengthSet

__all__ = [
    "HEVY_NAMES",
    "STRONG_NAMES",
    "ExportSet",
    "ExportWorkout",
    "format_date",
    "sim_workouts",
    "write_hevy",
    "write_strong",
]

#: Project exercise name -> the app's built-in name (as the apps spell them).
STRONG_NAMES: dict[str, str] = {
    "back_squat": "Squat (Barbell)",
    "front_squat": "Front Squat (Barbell)",
    "deadlift": "Deadlift (Barbell)",
    "romanian_deadlift": "Romanian Deadlift (Barbell)",
    "bench_press": "Bench Press (Barbell)",
    "overhead_press": "Overhead Press (Barbell)",
    "hip_thrust": "Hip Thrust (Barbell)",
    "lunge": "Lunge (Dumbbell)",
    "split_squat": "Split Squat (Dumbbell)",
    "bulgarian_split_squat": "Bulgarian Split Squat",
    "step_up": "Step-up",
}
HEVY_NAMES: dict[str, str] = {**STRONG_NAMES, "step_up": "Step Up", "split_squat": "Split Squat (Dumbbell)"}

_LETTER = {"warmup": "W", "drop": "D", "failure": "F"}
_HEVY_TYPE = {"working": "normal", "warmup": "warmup", "failure": "failure", "drop": "dropset"}
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ExportSet:
    """One set in the file's units (weight in the file's weight unit, distance in its distance unit)."""

    exercise: str
    role: str = "working"
    reps: int | None = None
    weight: float | None = None
    distance: float | None = None
    seconds: float | None = None
    rpe: float | None = None
    notes: str | None = None
    superset_id: int | None = None


@dataclass(frozen=True)
class ExportWorkout:
    """One workout: naive local start, whole-minute duration, sets in logging order."""

    title: str
    start_local: dt.datetime
    duration_s: int
    sets: tuple[ExportSet, ...]
    notes: str | None = None


def format_date(t: dt.datetime, style: str, *, seconds: bool = True) -> str:
    """Local date-time in one of the apps' styles.

    ``iso`` 2026-08-07 08:27:00, ``hevy`` 7 Aug 2026, 08:27, ``dmy-dots`` 05.06.2026, 07:30,
    ``mdy-slash`` 6/5/2026 7:30 PM, ``month-name-day`` Jun 5, 2026 07:30, ``date-only`` May 15, 2023.
    """
    if style == "iso":
        return t.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if style == "hevy":
        return f"{t.day} {_MONTH_ABBR[t.month - 1]} {t.year}, {t:%H:%M}"
    if style == "dmy-dots":
        return f"{t:%d.%m.%Y}, {t:%H:%M}"
    if style == "mdy-slash":
        h12 = t.hour % 12 or 12
        return f"{t.month}/{t.day}/{t.year} {h12}:{t:%M} {'PM' if t.hour >= 12 else 'AM'}"
    if style == "month-name-day":
        return f"{_MONTH_ABBR[t.month - 1]} {t.day}, {t.year} {t:%H:%M}"
    if style == "date-only":
        return f"{_MONTH_ABBR[t.month - 1]} {t.day}, {t.year}"
    raise ValueError(f"unknown date style {style!r}")


def _q(s: str | None) -> str:
    return '"' + (s or "").replace('"', '""') + '"'


def _num(x: float | int | None, *, zero: str = "") -> str:
    if x is None:
        return zero
    if isinstance(x, int) or float(x).is_integer():
        return f"{float(x):.1f}" if not isinstance(x, int) else str(x)
    return repr(float(x))


def _strong_duration(s: int) -> str:
    h, m = divmod(round(s / 60), 60)
    return f"{h}h {m}m" if h and m else (f"{h}h" if h else f"{m}m")


def write_strong(
    workouts: Iterable[ExportWorkout],
    *,
    variant: str = "classic",
    weight_unit: str = "kg",
    distance_unit: str = "km",
    date_style: str = "iso",
    bom: bool = False,
    crlf: bool = False,
    rest_timer_rows: bool = False,
) -> bytes:
    """A Strong export of ``workouts`` (see the module docstring for the variants)."""
    wu_txt = {"kg": "kg", "lb": "lbs"}[weight_unit]
    du_txt = {"km": "km", "mi": "miles", "m": "m"}[distance_unit]
    if variant == "classic":
        delim = ","
        header = (
            "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE"
        )
    elif variant == "unit-columns":
        delim = ","
        header = (
            "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Weight Unit,Reps,RPE,Distance,"
            "Distance Unit,Seconds,Notes,Workout Notes"
        )
    elif variant == "android":
        delim = ";"
        header = (
            "Date;Workout Name;Exercise Name;Set Order;Weight;Weight Unit;Reps;RPE;Distance;Distance Unit;"
            "Seconds;Notes;Workout Notes;Workout Duration"
        )
    elif variant == "workout-number":
        delim = ";"
        wh = {"kg": "Weight (kg)", "lb": "Weight (lbs)"}[weight_unit]
        header = delim.join(
            _q(h)
            for h in (
                "Workout #",
                "Date",
                "Workout Name",
                "Duration (sec)",
                "Exercise Name",
                "Set Order",
                wh,
                "Reps",
                "RPE",
                "Distance (meters)",
                "Seconds",
                "Notes",
                "Workout Notes",
            )
        )
    else:
        raise ValueError(f"unknown Strong variant {variant!r}")
    lines = [header]
    for wn, w in enumerate(workouts, start=1):
        date = format_date(w.start_local, date_style)
        date_cell = _q(date) if delim in date or '"' in date else date
        dur = _strong_duration(w.duration_s)
        working: dict[str, int] = {}
        for s in w.sets:
            if s.role == "working":
                working[s.exercise] = working.get(s.exercise, 0) + 1
                order = str(working[s.exercise])
            else:
                order = _LETTER[s.role]
            weight = _num(s.weight, zero="0.0")
            reps = str(s.reps) if s.reps is not None else "0"
            secs = _num(s.seconds, zero="0")
            if variant == "workout-number":
                dist = _num(s.distance)  # the header says meters: callers pass metres here
                vals = [
                    str(wn),
                    date,
                    w.title,
                    str(int(w.duration_s)),
                    s.exercise,
                    order,
                    _num(s.weight),
                    str(s.reps) if s.reps is not None else "",
                    _num(s.rpe),
                    dist,
                    _num(s.seconds),
                    s.notes or "",
                    w.notes or "",
                ]
                lines.append(delim.join(_q(v) for v in vals))
                continue
            dist = _num(s.distance, zero="0")
            rpe = _num(s.rpe)
            if variant == "classic":
                vals = [
                    date_cell,
                    _q(w.title),
                    dur,
                    _q(s.exercise),
                    order,
                    weight,
                    reps,
                    dist,
                    secs,
                    _q(s.notes),
                    _q(w.notes),
                    rpe,
                ]
            elif variant == "unit-columns":
                vals = [
                    date_cell,
                    _q(w.title),
                    dur,
                    _q(s.exercise),
                    order,
                    weight,
                    wu_txt,
                    reps,
                    rpe,
                    dist,
                    du_txt,
                    secs,
                    _q(s.notes),
                    _q(w.notes),
                ]
            else:
                vals = [
                    date_cell,
                    _q(w.title),
                    _q(s.exercise),
                    order,
                    weight,
                    wu_txt,
                    reps,
                    rpe,
                    dist,
                    du_txt,
                    secs,
                    _q(s.notes),
                    _q(w.notes),
                    dur,
                ]
            lines.append(delim.join(vals))
            if rest_timer_rows and variant != "classic":
                rt = list(vals)
                order_i = 4 if variant == "unit-columns" else 3
                rt[order_i] = "Rest Timer"
                lines.append(delim.join(rt))
    return _finish(lines, bom, crlf)


def write_hevy(
    workouts: Iterable[ExportWorkout],
    *,
    weight_unit: str = "kg",
    distance_unit: str = "km",
    date_style: str = "hevy",
    bom: bool = False,
    crlf: bool = False,
) -> bytes:
    """A Hevy export of ``workouts``: one row per set, ``set_index`` 0-based per exercise."""
    wcol = {"kg": "weight_kg", "lb": "weight_lbs"}[weight_unit]
    dcol = {"km": "distance_km", "mi": "distance_miles"}[distance_unit]
    header = ",".join(
        _q(h)
        for h in (
            "title",
            "start_time",
            "end_time",
            "description",
            "exercise_title",
            "superset_id",
            "exercise_notes",
            "set_index",
            "set_type",
            wcol,
            "reps",
            dcol,
            "duration_seconds",
            "rpe",
        )
    )
    lines = [header]
    for w in workouts:
        start = format_date(w.start_local, date_style, seconds=False)
        end = format_date(w.start_local + dt.timedelta(seconds=w.duration_s), date_style, seconds=False)
        idx: dict[str, int] = {}
        for s in w.sets:
            i = idx.get(s.exercise, 0)
            idx[s.exercise] = i + 1
            vals = [
                _q(w.title),
                _q(start),
                _q(end),
                _q(w.notes),
                _q(s.exercise),
                "" if s.superset_id is None else str(s.superset_id),
                _q(s.notes),
                str(i),
                _q(_HEVY_TYPE[s.role]),
                _num(s.weight),
                "" if s.reps is None else str(s.reps),
                _num(s.distance),
                _num(s.seconds, zero="0"),
                _num(s.rpe),
            ]
            lines.append(",".join(vals))
    return _finish(lines, bom, crlf)


def _finish(lines: Sequence[str], bom: bool, crlf: bool) -> bytes:
    nl = "\r\n" if crlf else "\n"
    body = nl.join(lines) + nl
    return ("\ufeff" if bom else "").encode() + body.encode("utf-8")


def sim_workouts(
    sets: Sequence[StrengthSet],
    tz: str,
    *,
    names: dict[str, str] | None = None,
    title: str = "Strength",
    weight_unit: str = "kg",
    warmups: bool = False,
    rest_after_last_set_s: int = 180,
) -> list[ExportWorkout]:
    """The simulated lifter's sessions (``SimAthlete.strength_sets``) as app workouts.

    A workout per ``session_key``, starting at its first set (local time in ``tz``, whole
    seconds), lasting to the last set's start plus ``rest_after_last_set_s``, rounded up to a
    whole minute (the apps log minutes). With ``warmups`` each exercise opens with a warm-up
    set at half its first working load, 8 reps (not part of the simulator's truth).
    """
    names = names or STRONG_NAMES
    zi = ZoneInfo(tz)
    factor = {"kg": 1.0, "lb": 1.0 / 0.45359237}[weight_unit]
    by_key: dict[str, list[StrengthSet]] = {}
    for s in sorted(sets, key=lambda s: s.started_at_ns):
        by_key.setdefault(s.session_key or str(s.started_at_ns), []).append(s)
    out: list[ExportWorkout] = []
    for ss in by_key.values():
        t0, t1 = ss[0].started_at_ns, ss[-1].started_at_ns
        start = dt.datetime.fromtimestamp(t0 // 1_000_000_000, tz=dt.UTC).astimezone(zi).replace(tzinfo=None)
        dur = math.ceil(((t1 - t0) / 1e9 + rest_after_last_set_s) / 60) * 60
        rows: list[ExportSet] = []
        seen: set[str] = set()
        for s in ss:
            if s.exercise is None:
                continue
            name = names[s.exercise]
            w = None if s.load_kg is None else s.load_kg * factor
            if warmups and name not in seen and w:
                rows.append(ExportSet(name, "warmup", 8, w / 2))
            seen.add(name)
            rows.append(ExportSet(name, "working", s.reps, w))
        out.append(ExportWorkout(title, start, int(dur), tuple(rows)))
    return out
