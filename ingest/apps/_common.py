"""Shared pieces of the Strong and Hevy parsers: rows with line numbers, numbers, and the
assembly of parsed rows into sessions with keys and content hashes (pure)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ingest.apps.dates import LocalStamp, local_to_utc
from ingest.apps.exercises import map_exercise
from ingest.apps.model import (
    KG_PER_UNIT,
    App,
    AppSession,
    AppSet,
    RowNote,
    SetRole,
)

_NS = 1_000_000_000


@dataclass(frozen=True)
class Row:
    line: int
    fields: list[str]


def read_rows(text: str, delimiter: str) -> tuple[list[Row], RowNote | None]:
    """CSV records after the header, each with the physical line it starts on (blank lines
    skipped), and a note when the CSV itself became unreadable (the rows before it are kept)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    prev = 0
    first = True
    it: Iterator[list[str]] = iter(reader)
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return rows, None
        except csv.Error as e:
            return rows, RowNote(prev + 1, f"CSV unreadable from here on ({e}); the rest of the file is lost", "")
        start = prev + 1
        prev = reader.line_num
        if first:
            first = False
            continue
        if not rec or all(not f.strip() for f in rec):
            continue
        rows.append(Row(start, rec))


def row_text(row: Row, delimiter: str) -> str:
    t = delimiter.join(row.fields)
    return t if len(t) <= 200 else t[:197] + "..."


def note(row: Row, delimiter: str, reason: str) -> RowNote:
    return RowNote(row.line, reason, row_text(row, delimiter))


def number(text: str, delimiter: str, what: str) -> float | None:
    """A decimal number or None for an empty cell. A decimal comma is accepted when the
    delimiter is not a comma (localised exports)."""
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if not t:
        return None
    if delimiter != "," and "," in t and "." not in t:
        t = t.replace(",", ".")
    try:
        x = float(t)
    except ValueError:
        raise ValueError(f"{what} is not a number: {text!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} is not finite: {text!r}")
    return x


def count(x: float | None, what: str) -> int | None:
    """A whole, non-negative count (reps) from a parsed number; 0 means not applicable -> None."""
    if x is None:
        return None
    if x < 0 or abs(x - round(x)) > 1e-9:
        raise ValueError(f"{what} must be a whole number >= 0, got {x:g}")
    n = round(x)
    return n if n > 0 else None


def non_negative(x: float | None, what: str) -> float | None:
    if x is not None and x < 0:
        raise ValueError(f"{what} must be >= 0, got {x:g}")
    return x


def positive_or_none(x: float | None) -> float | None:
    """0 means 'not applicable' in these exports."""
    return x if x is not None and x > 0 else None


def rpe_value(x: float | None) -> float | None:
    if x is None or x == 0:
        return None
    if not 1.0 <= x <= 10.0:
        raise ValueError(f"RPE must be between 1 and 10, got {x:g}")
    return x


def cell(fields: list[str], i: int | None) -> str:
    """The cell in column ``i``, or "" where the export has no such column."""
    return fields[i] if i is not None else ""


def set_numbers(
    fields: list[str],
    delimiter: str,
    weight: int | None,
    reps: int | None,
    distance: int | None,
    seconds: tuple[int | None, str],
    rpe: tuple[int | None, str],
) -> tuple[float | None, int | None, float | None, float | None, float | None]:
    """A set row's checked numbers ``(weight, reps, distance, seconds, rpe)`` from their columns;
    ``seconds`` and ``rpe`` are ``(column, the name errors give it)``. Raises ValueError."""
    w = non_negative(number(cell(fields, weight), delimiter, "weight"), "weight")
    n = count(number(cell(fields, reps), delimiter, "reps"), "reps")
    dist = non_negative(number(cell(fields, distance), delimiter, "distance"), "distance")
    secs = non_negative(number(cell(fields, seconds[0]), delimiter, seconds[1]), seconds[1])
    r = rpe_value(number(cell(fields, rpe[0]), delimiter, rpe[1]))
    return w, n, dist, secs, r


def load_kg(
    weight: float | None, reps: int | None, unit: str | None, units_seen: Mapping[str, set[str]]
) -> float | None:
    """The external load of a set in kg from the weight as written and its unit (noted in
    ``units_seen["weight"]``)."""
    if weight is None or (weight == 0 and reps is None):
        return None  # 0 without reps: "not applicable" (a timed or distance set, or nothing)
    if weight == 0:
        return 0.0  # a body-weight set: no external load
    assert unit is not None  # a weight with no unit is refused by the parsers
    units_seen["weight"].add(unit)
    return weight * KG_PER_UNIT[unit]


def text_or_none(t: str) -> str | None:
    t = t.strip()
    return t or None


@dataclass
class ParsedRow:
    """One accepted set row, before assembly into sessions."""

    line: int
    title: str
    start: LocalStamp
    duration_s: float | None
    session_notes: str | None
    exercise: str
    set_order_as_written: str
    set_role: SetRole
    reps: int | None
    load_kg: float | None
    distance_m: float | None
    duration_set_s: float | None
    rpe: float | None
    notes: str | None
    superset_id: str | None = None
    end: LocalStamp | None = None
    warning: str | None = None


def session_key(app: App, start_local: dt.datetime, title: str) -> str:
    """``"<app>:" + sha256([app, local start ISO, title])[:24]``."""
    raw = json.dumps([app, start_local.isoformat(), title], ensure_ascii=False, separators=(",", ":"))
    return f"{app}:{hashlib.sha256(raw.encode()).hexdigest()[:24]}"


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(float(x), nd)


def content_hash(
    app: App,
    title: str,
    start_local: dt.datetime,
    duration_s: float | None,
    notes: str | None,
    session_rpe: float | None,
    sets: Sequence[AppSet],
) -> str:
    doc = {
        "app": app,
        "title": title,
        "start": start_local.isoformat(),
        "duration_s": _r(duration_s, 3),
        "notes": notes,
        "session_rpe": session_rpe,
        "sets": [
            [
                s.exercise_as_written,
                s.set_order,
                s.set_role,
                s.reps,
                _r(s.load_kg, 6),
                _r(s.distance_m, 3),
                _r(s.duration_s, 3),
                s.rpe,
                s.notes,
                s.superset_id,
            ]
            for s in sets
        ],
    }
    raw = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def assemble(app: App, rows: Sequence[ParsedRow], tz_name: str, zi: ZoneInfo) -> tuple[AppSession, ...]:
    """Group accepted rows into sessions by (local start, title), in file order inside each."""
    groups: dict[tuple[dt.datetime, str], list[ParsedRow]] = {}
    for r in rows:
        groups.setdefault((r.start.value, r.title), []).append(r)
    out: list[AppSession] = []
    for (start_local, title), rs in groups.items():
        warnings: list[str] = []
        durations = [r.duration_s for r in rs if r.duration_s is not None]
        duration_s = durations[0] if durations else None
        if len(set(durations)) > 1:
            warnings.append(f"rows disagree on the workout's duration ({sorted(set(durations))} s); the first was kept")
        ends = [r.end for r in rs if r.end is not None]
        notes = next((r.session_notes for r in rs if r.session_notes), None)
        for w in dict.fromkeys(r.warning for r in rs if r.warning):
            warnings.append(w)
        ex_order: dict[str, int] = {}
        per_ex: dict[str, int] = {}
        sets: list[AppSet] = []
        for r in rs:
            ex_order.setdefault(r.exercise, len(ex_order) + 1)
            per_ex[r.exercise] = per_ex.get(r.exercise, 0) + 1
            m = map_exercise(r.exercise)
            sets.append(
                AppSet(
                    exercise_as_written=r.exercise,
                    exercise=m.exercise,
                    equipment=m.equipment,
                    exercise_order=ex_order[r.exercise],
                    set_order=per_ex[r.exercise],
                    set_order_as_written=r.set_order_as_written,
                    set_role=r.set_role,
                    reps=r.reps,
                    load_kg=r.load_kg,
                    distance_m=r.distance_m,
                    duration_s=r.duration_set_s,
                    rpe=r.rpe,
                    notes=r.notes,
                    superset_id=r.superset_id,
                    line=r.line,
                )
            )
        start_utc, tnote = local_to_utc(start_local, zi)
        end_utc = None
        if ends:
            end_utc, _ = local_to_utc(ends[0].value, zi)
            if duration_s is None:
                duration_s = (end_utc - start_utc).total_seconds()
                if duration_s < 0:
                    warnings.append(f"end_time {ends[0].value.isoformat()} is before start_time; duration unknown")
                    duration_s = None
                    end_utc = None
        elif duration_s is not None:
            end_utc = start_utc + dt.timedelta(seconds=duration_s)
        precision = rs[0].start.precision
        delta = start_utc - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        started_ns = (delta.days * 86400 + delta.seconds) * _NS + delta.microseconds * 1000
        out.append(
            AppSession(
                app=app,
                session_key=session_key(app, start_local, title),
                content_sha256=content_hash(app, title, start_local, duration_s, notes, None, sets),
                title=title,
                start_local=start_local,
                start_precision=precision,
                start_utc=start_utc,
                started_at_ns=started_ns,
                duration_s=duration_s,
                end_utc=end_utc,
                tz=tz_name,
                zone_assumed=True,
                local_time_note=tnote,
                notes=notes,
                session_rpe=None,
                sets=tuple(sets),
                warnings=tuple(warnings),
            )
        )
    out.sort(key=lambda s: (s.start_utc, s.title))
    return tuple(out)
