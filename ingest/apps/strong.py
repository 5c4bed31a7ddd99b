"""Parser for Strong's CSV export (pure: bytes in, :class:`AppExport` out).

Variants read (detected from the header; any of them comma- or semicolon-delimited, with
or without a byte-order mark, LF or CRLF)::

    classic        Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds[,Notes,Workout Notes][,RPE]
    unit columns   Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Weight Unit,Reps,RPE,Distance,Distance Unit,Seconds,Notes,Workout Notes
                   (Android: Date;Workout Name;Exercise Name;...;Workout Notes;Workout Duration)
    workout number "Workout #";"Date";"Workout Name";"Duration (sec)";"Exercise Name";"Set Order";"Weight (kg)";"Reps";"RPE";"Distance (meters)";"Seconds";"Notes";"Workout Notes"

Rules:

* One row is one set; a workout is the rows sharing ``Date`` (its start) and ``Workout Name``.
* ``Set Order``: a number is a working set; ``W`` warm-up, ``D`` drop set, ``F`` failure.
  Rows whose set order or exercise is ``Rest Timer`` are skipped (not sets).
* ``Duration``: ``1h 5m``, ``45m``, ``1h 5m 30s``, ``1:05:00``; ``Duration (sec)``: seconds.
* Weights: the ``Weight Unit`` column per row, else the unit in the header
  (``Weight (kg)``), else the caller's unit (the classic export writes the user's display
  unit and does not say which). Distances likewise (``Distance Unit``, ``Distance
  (meters)``, else the caller's unit). 0 in a numeric column means "not applicable".
* A row with nothing logged (no reps, load, distance or time) is skipped as an empty set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ingest.apps._common import (
    ParsedRow,
    Row,
    cell,
    load_kg,
    non_negative,
    note,
    number,
    positive_or_none,
    set_numbers,
    text_or_none,
)
from ingest.apps.dates import parse_local
from ingest.apps.model import M_PER_UNIT, DateRule, RowNote, SetRole

__all__ = ["StrongColumns", "parse_duration", "strong_row"]

_ROLE: dict[str, SetRole] = {"w": "warmup", "d": "drop", "f": "failure"}
_WEIGHT_UNITS = {"kg": "kg", "kgs": "kg", "lb": "lb", "lbs": "lb"}
_DIST_UNITS = {
    "km": "km",
    "mi": "mi",
    "mile": "mi",
    "miles": "mi",
    "m": "m",
    "meter": "m",
    "meters": "m",
    "metres": "m",
    "ft": "ft",
    "feet": "ft",
}
_DUR_TOKENS = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$"
)
_DUR_CLOCK = re.compile(r"^\s*(\d+):(\d{2})(?::(\d{2}))?\s*$")


def parse_duration(text: str) -> float | None:
    """Strong's workout duration text -> seconds (None for empty).

    Raises
    ------
    ValueError
        For text that is neither ``1h 5m``-style nor ``H:MM[:SS]``.
    """
    t = text.strip().lower()
    if not t:
        return None
    m = _DUR_CLOCK.match(t)
    if m:
        return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3] or 0)
    m = _DUR_TOKENS.match(t)
    if m and any(m.groups()):
        h, mi, s = (float(x) if x else 0.0 for x in m.groups())
        return h * 3600 + mi * 60 + s
    raise ValueError(f"unrecognised duration {text!r}")


def _unit_in_header(name: str) -> str | None:
    m = re.search(r"\(([^()]*)\)\s*$", name)
    return m[1].strip().lower() if m else None


class StrongColumns:
    """Column positions of one Strong header and the file-level unit decisions."""

    def __init__(self, header: tuple[str, ...], weight_unit: str, distance_unit: str) -> None:
        idx = {h: i for i, h in enumerate(header)}
        self.n = len(header)

        def find(*names: str, prefix: str | None = None) -> tuple[int | None, str | None]:
            for n in names:
                if n in idx:
                    return idx[n], n
            if prefix:
                for h, i in idx.items():
                    if h.startswith(prefix):
                        return i, h
            return None, None

        self.date = idx["date"]
        self.title = idx["workout name"]
        self.exercise = idx["exercise name"]
        self.set_order = idx["set order"]
        self.duration_text, _ = find("duration", "workout duration")
        self.duration_sec, _ = find("duration (sec)", "duration (s)", "duration (seconds)")
        self.weight, wname = find("weight", prefix="weight (")
        self.weight_unit_col, _ = find("weight unit")
        self.reps, _ = find("reps")
        self.distance, dname = find("distance", prefix="distance (")
        self.distance_unit_col, _ = find("distance unit")
        self.seconds, _ = find("seconds")
        self.notes, _ = find("notes")
        self.workout_notes, _ = find("workout notes")
        self.rpe, _ = find("rpe")
        hw = _WEIGHT_UNITS.get(_unit_in_header(wname) or "") if wname else None
        hd = _DIST_UNITS.get(_unit_in_header(dname) or "") if dname else None
        self.weight_unit, self.weight_unit_source = _unit_and_source(self.weight_unit_col, hw, weight_unit)
        self.distance_unit, self.distance_unit_source = _unit_and_source(self.distance_unit_col, hd, distance_unit)


def _unit_and_source(column: int | None, in_header: str | None, caller: str) -> tuple[str, str]:
    """A quantity's unit and where it comes from: a unit column ("per-row"), the header, or the caller."""
    if column is not None:
        return "per-row", "column"
    if in_header:
        return in_header, "header"
    return caller, "caller"


def _unit_in_column(text: str, units: Mapping[str, str], what: str, value: float | None) -> str | None:
    """The unit a row's unit column gives ``what`` (weight or distance); a value without one is refused."""
    u_txt = text.strip().lower()
    if u_txt and u_txt not in units:
        raise ValueError(f"unknown {what} unit {u_txt!r}")
    if not u_txt and value:
        raise ValueError(f"{what} without a unit in the {what.capitalize()} Unit column")
    return units.get(u_txt)


def strong_row(
    row: Row, cols: StrongColumns, rule: DateRule, delim: str, units_seen: Mapping[str, set[str]]
) -> ParsedRow | RowNote | tuple[str, RowNote]:
    """One data row -> a :class:`ParsedRow`, a refused row (``RowNote``), or ``("skip", RowNote)``."""
    f = row.fields
    if len(f) != cols.n:
        return note(row, delim, f"expected {cols.n} fields, found {len(f)}")
    exercise = f[cols.exercise].strip()
    order = f[cols.set_order].strip()
    if exercise.lower() == "rest timer" or order.lower() == "rest timer":
        return ("skip", note(row, delim, "rest timer row (not a set)"))
    if not exercise:
        return note(row, delim, "no exercise name")
    title = f[cols.title].strip()
    try:
        start = parse_local(f[cols.date], rule)
    except ValueError as e:
        return note(row, delim, str(e))
    low = order.lower()
    if low.isdigit():
        role: SetRole = "working"
    elif low in _ROLE:
        role = _ROLE[low]
    else:
        return note(row, delim, f"unknown set order {order!r} (expected a number, W, D or F)")
    try:
        w, reps, dist, secs, rpe = set_numbers(
            f, delim, cols.weight, cols.reps, cols.distance, (cols.seconds, "seconds"), (cols.rpe, "RPE")
        )
        wu = (
            _unit_in_column(f[cols.weight_unit_col], _WEIGHT_UNITS, "weight", w)
            if cols.weight_unit_col is not None
            else cols.weight_unit
        )
        du = (
            _unit_in_column(f[cols.distance_unit_col], _DIST_UNITS, "distance", dist)
            if cols.distance_unit_col is not None
            else cols.distance_unit
        )
    except ValueError as e:
        return note(row, delim, str(e))
    warning = None
    duration = None
    try:
        if cols.duration_sec is not None:
            duration = positive_or_none(non_negative(number(f[cols.duration_sec], delim, "duration"), "duration"))
        elif cols.duration_text is not None:
            duration = positive_or_none(parse_duration(f[cols.duration_text]))
    except ValueError as e:
        warning = f"workout duration unreadable ({e}); duration unknown"
    dist_m = positive_or_none(dist)
    if dist_m is not None and du is not None:
        units_seen["distance"].add(du)
        dist_m = dist_m * M_PER_UNIT[du]
    secs = positive_or_none(secs)
    load = load_kg(w, reps, wu, units_seen)
    if reps is None and not load and dist_m is None and secs is None:
        return ("skip", note(row, delim, "empty set (no reps, load, distance or time logged)"))
    return ParsedRow(
        line=row.line,
        title=title,
        start=start,
        duration_s=duration,
        session_notes=text_or_none(cell(f, cols.workout_notes)),
        exercise=exercise,
        set_order_as_written=order,
        set_role=role,
        reps=reps,
        load_kg=load,
        distance_m=dist_m,
        duration_set_s=secs,
        rpe=rpe,
        notes=text_or_none(cell(f, cols.notes)),
        warning=warning,
    )
