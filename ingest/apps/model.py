"""Canonical result of parsing a Strong or Hevy CSV export (pure data, no I/O).

One :class:`AppExport` per file: the sessions it holds (each with its sets), the rows that
were refused with a reason, the rows deliberately skipped (rest-timer rows, empty
placeholder sets), and the rules the parser decided for the file (day/month order, units).
Units are SI (``load_kg``, ``distance_m``, ``duration_s``); instants are UTC.

The phone apps write local wall-clock times without a zone. The parser interprets them in
the athlete's IANA zone given by the caller and says so (``zone_assumed``); wall-clock
times that do not exist or occur twice in that zone (daylight-saving changes) carry a note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

App = Literal["strong", "hevy"]
SetRole = Literal["warmup", "working", "drop", "failure"]
WeightUnit = Literal["kg", "lb"]
DistanceUnit = Literal["km", "mi", "m", "ft"]
TimePrecision = Literal["second", "minute", "day"]
Status = Literal["imported", "partial"]

SET_ROLES: tuple[SetRole, ...] = ("warmup", "working", "drop", "failure")

#: Exact conversion factors (international yard and pound, 1959).
KG_PER_LB = 0.45359237
M_PER_MILE = 1609.344
M_PER_FT = 0.3048
M_PER_UNIT: dict[str, float] = {"km": 1000.0, "mi": M_PER_MILE, "m": 1.0, "ft": M_PER_FT}
KG_PER_UNIT: dict[str, float] = {"kg": 1.0, "lb": KG_PER_LB}


class AppExportError(ValueError):
    """The file is refused as a whole (``reason`` says why); nothing of it is kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RowNote:
    """A row that was refused (a bad row) or skipped on purpose.

    Attributes
    ----------
    line : int
        1-based physical line where the row starts (the header is line 1).
    reason : str
        Why the row was refused or skipped.
    text : str
        The row as read (fields joined by the file's delimiter), truncated to 200 characters.
    """

    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class AppSet:
    """One set as the app logged it.

    Attributes
    ----------
    exercise_as_written : str
        The app's exercise name, unchanged.
    exercise : str or None
        The project's exercise name (``analysis.exercises`` vocabulary), None when unknown.
    equipment : str or None
        The equipment in the name's parentheses, lower case ("barbell", "dumbbell"...).
    exercise_order : int
        1-based rank of the exercise in the session, by first appearance.
    set_order : int
        1-based position of the set among all sets of that exercise in the session
        (warm-ups included), in file order.
    set_order_as_written : str
        The app's value: Strong ``Set Order`` ("1", "W", "D", "F"), Hevy ``set_index``.
    set_role : {"warmup", "working", "drop", "failure"}
    reps, load_kg, distance_m, duration_s, rpe
        None when the app left the field empty or wrote 0 for "not applicable" (a load of 0
        with reps logged is kept as 0.0: a body-weight set). ``rpe`` is the app's per-set
        RPE (repetitions-in-reserve scale, 1-10).
    notes : str or None
        Set notes (Strong ``Notes``) or exercise notes (Hevy ``exercise_notes``).
    superset_id : str or None
        Hevy's superset group (None in Strong, which exports no supersets).
    line : int
        Line of the row in the file.
    """

    exercise_as_written: str
    exercise: str | None
    equipment: str | None
    exercise_order: int
    set_order: int
    set_order_as_written: str
    set_role: SetRole
    reps: int | None
    load_kg: float | None
    distance_m: float | None
    duration_s: float | None
    rpe: float | None
    notes: str | None
    superset_id: str | None
    line: int


@dataclass(frozen=True)
class AppSession:
    """One workout of the export.

    Attributes
    ----------
    app : {"strong", "hevy"}
    session_key : str
        Stable identity: ``"<app>:" + sha256(app, local start, title)[:24]``. A later, longer
        export of the same app gives the same key for the same workout.
    content_sha256 : str
        Hash of everything parsed for the session (title, times, notes, every set field);
        changes when the workout was edited in the app.
    title : str
    start_local : datetime.datetime
        Naive local wall-clock start as written.
    start_precision : {"second", "minute", "day"}
        What the file gave: Strong writes seconds, Hevy minutes, a date-only value "day".
    start_utc : datetime.datetime
        Aware UTC instant of ``start_local`` in ``tz``.
    started_at_ns : int
        ``start_utc`` as UTC epoch ns.
    duration_s : float or None
        Strong's ``Duration``, Hevy's ``end_time - start_time``; None when absent.
    end_utc : datetime.datetime or None
    tz : str
        The IANA zone the local times were read in.
    zone_assumed : bool
        True: the file carries no zone, ``tz`` is the caller's (the athlete's) zone.
    local_time_note : str or None
        Set when the wall-clock start does not exist in ``tz`` (spring-forward gap) or
        occurs twice (fall-back): which instant was taken.
    notes : str or None
        Workout notes (Strong ``Workout Notes``, Hevy ``description``).
    session_rpe : float or None
        Session RPE (CR-10, Foster 2001) when the export has one. Neither app exports it
        today, so this is None for every file; the field exists for the ledger.
    sets : tuple of AppSet
    warnings : tuple of str
        Session-level oddities that did not refuse a row (rows of one workout disagreeing
        on its duration, an end before the start).
    """

    app: App
    session_key: str
    content_sha256: str
    title: str
    start_local: dt.datetime
    start_precision: TimePrecision
    start_utc: dt.datetime
    started_at_ns: int
    duration_s: float | None
    end_utc: dt.datetime | None
    tz: str
    zone_assumed: bool
    local_time_note: str | None
    notes: str | None
    session_rpe: float | None
    sets: tuple[AppSet, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DateRule:
    """How the file's dates were read.

    Attributes
    ----------
    day_month_order : {"DMY", "MDY"} or None
        Order of all-numeric dates such as ``05.06.2026``; None when the file has none.
    decided_by : str
        The evidence: an unambiguous value and its line, or "no numeric day/month dates".
    formats : tuple of str
        The date styles seen ("iso", "day-month-name", "month-name-day", "numeric").
    """

    day_month_order: Literal["DMY", "MDY"] | None
    decided_by: str
    formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppExport:
    """Everything parsed from one export file.

    Attributes
    ----------
    app : {"strong", "hevy"}
    variant : str
        ``strong-classic`` (no unit columns), ``strong-unit-columns`` (``Weight Unit``),
        ``strong-workout-number`` (``Workout #`` with ``Weight (kg)``), ``hevy``.
    delimiter : str
    encoding : str
        ``utf-8``, ``utf-8-sig`` (byte-order mark), ``utf-16`` or ``cp1252``.
    sha256 : str
        Of the file's bytes (the importer skips files it has seen).
    status : {"imported", "partial"}
        ``partial`` when at least one row was refused (``bad_rows``); the rest is kept.
    sessions : tuple of AppSession
        Oldest first.
    bad_rows : tuple of RowNote
        Refused rows, with the reason.
    skipped_rows : tuple of RowNote
        Rows skipped on purpose (rest timer, empty placeholder sets); not errors.
    date_rule : DateRule
    weight_unit : str
        ``kg`` or ``lb``; with Strong's per-row ``Weight Unit`` column, the one unit the rows
        used, ``mixed`` when they used both, ``none`` when no row had a weight.
    weight_unit_source : str
        ``header`` (Hevy's ``weight_kg``/``weight_lbs``, Strong's ``Weight (kg)``),
        ``column`` (per-row ``Weight Unit``) or ``caller`` (the file does not say; the
        athlete's setting was used).
    distance_unit, distance_unit_source : str
        Likewise for distances.
    tz : str
    zone_assumed : bool
        Always True for these apps: their times carry no zone.
    rows : int
        Data rows read (blank lines excluded).
    unmapped_exercises : tuple of str
        Exercise names (as written) without a project name, sorted.
    """

    app: App
    variant: str
    delimiter: str
    encoding: str
    sha256: str
    status: Status
    sessions: tuple[AppSession, ...]
    bad_rows: tuple[RowNote, ...]
    skipped_rows: tuple[RowNote, ...]
    date_rule: DateRule
    weight_unit: str
    weight_unit_source: str
    distance_unit: str
    distance_unit_source: str
    tz: str
    zone_assumed: bool
    rows: int
    unmapped_exercises: tuple[str, ...] = field(default=())

    @property
    def sets(self) -> int:
        """Number of sets kept, over all sessions."""
        return sum(len(s.sets) for s in self.sessions)
