"""Parser rows for Hevy's CSV export (pure).

Header (all fields quoted, comma-delimited)::

    "title","start_time","end_time","description","exercise_title","superset_id","exercise_notes",
    "set_index","set_type","weight_kg" | "weight_lbs","reps","distance_km" | "distance_miles",
    "duration_seconds","rpe"

Rules:

* One row is one set; a workout is the rows sharing ``start_time`` and ``title``; its
  duration is ``end_time - start_time`` (both local, minute precision: ``7 Aug 2026, 08:27``).
* ``set_type``: ``normal`` (working), ``warmup``, ``failure``, ``dropset`` (drop).
* The unit is in the column name (the account's setting): ``weight_kg`` / ``weight_lbs``,
  ``distance_km`` / ``distance_miles``.
* ``set_index`` is 0-based per exercise; the set order kept is the row order within the
  exercise (1-based), the app's value is kept as ``set_order_as_written``.
* ``exercise_notes`` are per exercise (repeated on each of its rows) and are kept on each set.
"""

from __future__ import annotations

from collections.abc import Mapping

from ingest.apps._common import (
    ParsedRow,
    Row,
    cell,
    load_kg,
    note,
    number,
    positive_or_none,
    set_numbers,
    text_or_none,
)
from ingest.apps.dates import parse_local
from ingest.apps.model import M_PER_UNIT, DateRule, RowNote, SetRole

__all__ = ["HevyColumns", "hevy_row"]

_ROLE: dict[str, SetRole] = {"normal": "working", "warmup": "warmup", "failure": "failure", "dropset": "drop"}
_WEIGHT_COLS = {"weight_kg": "kg", "weight_lbs": "lb", "weight_lb": "lb"}
_DIST_COLS = {
    "distance_km": "km",
    "distance_miles": "mi",
    "distance_mi": "mi",
    "distance_meters": "m",
    "distance_m": "m",
}


class HevyColumns:
    """Column positions of one Hevy header and its units."""

    def __init__(self, header: tuple[str, ...], weight_unit: str, distance_unit: str) -> None:
        idx = {h: i for i, h in enumerate(header)}
        self.n = len(header)
        self.title = idx["title"]
        self.start = idx["start_time"]
        self.end = idx.get("end_time")
        self.description = idx.get("description")
        self.exercise = idx["exercise_title"]
        self.superset = idx.get("superset_id")
        self.exercise_notes = idx.get("exercise_notes")
        self.set_index = idx["set_index"]
        self.set_type = idx.get("set_type")
        self.reps = idx.get("reps")
        self.duration = idx.get("duration_seconds")
        self.rpe = idx.get("rpe")
        self.weight = next((idx[c] for c in _WEIGHT_COLS if c in idx), None)
        self.distance = next((idx[c] for c in _DIST_COLS if c in idx), None)
        wname = next((c for c in _WEIGHT_COLS if c in idx), None)
        dname = next((c for c in _DIST_COLS if c in idx), None)
        self.weight_unit, self.weight_unit_source = (
            (_WEIGHT_COLS[wname], "header") if wname else (weight_unit, "caller")
        )
        self.distance_unit, self.distance_unit_source = (
            (_DIST_COLS[dname], "header") if dname else (distance_unit, "caller")
        )


def hevy_row(
    row: Row, cols: HevyColumns, rule: DateRule, delim: str, units_seen: Mapping[str, set[str]]
) -> ParsedRow | RowNote | tuple[str, RowNote]:
    """One data row -> a :class:`ParsedRow`, a refused row (``RowNote``), or ``("skip", RowNote)``."""
    f = row.fields
    if len(f) != cols.n:
        return note(row, delim, f"expected {cols.n} fields, found {len(f)}")
    exercise = f[cols.exercise].strip()
    if not exercise:
        return note(row, delim, "no exercise_title")
    try:
        start = parse_local(f[cols.start], rule)
        end = parse_local(f[cols.end], rule) if cols.end is not None and f[cols.end].strip() else None
    except ValueError as e:
        return note(row, delim, str(e))
    st = cell(f, cols.set_type).strip().lower() or "normal"
    if st not in _ROLE:
        return note(row, delim, f"unknown set_type {st!r} (expected normal, warmup, failure or dropset)")
    idx_txt = f[cols.set_index].strip()
    try:
        idx = number(idx_txt, delim, "set_index")
        if idx is None or idx < 0 or idx != int(idx):
            raise ValueError(f"set_index must be a whole number >= 0, got {idx_txt!r}")
        w, reps, dist, secs, rpe = set_numbers(
            f, delim, cols.weight, cols.reps, cols.distance, (cols.duration, "duration_seconds"), (cols.rpe, "rpe")
        )
    except ValueError as e:
        return note(row, delim, str(e))
    load = load_kg(w, reps, cols.weight_unit, units_seen)
    dist_m = positive_or_none(dist)
    if dist_m is not None:
        units_seen["distance"].add(cols.distance_unit)
        dist_m *= M_PER_UNIT[cols.distance_unit]
    secs = positive_or_none(secs)
    if reps is None and not load and dist_m is None and secs is None:
        return ("skip", note(row, delim, "empty set (no reps, load, distance or time logged)"))
    return ParsedRow(
        line=row.line,
        title=f[cols.title].strip(),
        start=start,
        duration_s=None,
        session_notes=text_or_none(cell(f, cols.description)),
        exercise=exercise,
        set_order_as_written=idx_txt,
        set_role=_ROLE[st],
        reps=reps,
        load_kg=load,
        distance_m=dist_m,
        duration_set_s=secs,
        rpe=rpe,
        notes=text_or_none(cell(f, cols.exercise_notes)),
        superset_id=text_or_none(cell(f, cols.superset)),
        end=end,
    )
