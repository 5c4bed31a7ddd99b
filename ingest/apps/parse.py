"""Parse a Strong or Hevy CSV export: bytes in, :class:`AppExport` out (pure, no I/O)."""

from __future__ import annotations

import hashlib

from ingest.apps._common import ParsedRow, assemble, read_rows
from ingest.apps.dates import decide_date_rule, zone
from ingest.apps.detect import decode, detect
from ingest.apps.hevy import HevyColumns, hevy_row
from ingest.apps.model import AppExport, AppExportError, DistanceUnit, RowNote, WeightUnit
from ingest.apps.strong import StrongColumns, strong_row

__all__ = ["parse_export"]


def parse_export(
    data: bytes, *, tz: str, weight_unit: WeightUnit = "kg", distance_unit: DistanceUnit | None = None
) -> AppExport:
    """Parse one export file.

    Parameters
    ----------
    data : bytes
        The file's content.
    tz : str
        The athlete's IANA zone: the apps write local times without a zone, so they are read
        in this zone (``zone_assumed`` is set on the result and on every session).
    weight_unit : {"kg", "lb"}
        Unit of weights when the file does not say (Strong's classic export writes the user's
        display unit without naming it). Default kg.
    distance_unit : {"km", "mi", "m", "ft"}, optional
        Unit of distances when the file does not say; default km with kg, mi with lb.

    Returns
    -------
    AppExport
        ``status`` is ``partial`` when some rows were refused (``bad_rows`` says why).

    Raises
    ------
    AppExportError
        The file is refused as a whole: not a Strong/Hevy export, day/month order undecidable
        or contradictory, or no row readable.
    ValueError
        Bad arguments (unknown zone, unit).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    data = bytes(data)
    zi = zone(tz)
    if weight_unit not in ("kg", "lb"):
        raise ValueError(f"weight_unit must be 'kg' or 'lb', got {weight_unit!r}")
    if distance_unit is None:
        distance_unit = "km" if weight_unit == "kg" else "mi"
    if distance_unit not in ("km", "mi", "m", "ft"):
        raise ValueError(f"distance_unit must be km, mi, m or ft, got {distance_unit!r}")
    det = detect(data)
    if det is None:
        raise AppExportError("not a Strong or Hevy CSV export (header not recognised)")
    text, enc = decode(data)
    rows, csv_error = read_rows(text, det.delimiter)
    cols: StrongColumns | HevyColumns
    if det.app == "strong":
        cols = StrongColumns(det.header, weight_unit, distance_unit)
        date_idx = [cols.date]
    else:
        cols = HevyColumns(det.header, weight_unit, distance_unit)
        date_idx = [i for i in (cols.start, cols.end) if i is not None]
    rule = decide_date_rule(
        (r.line, r.fields[i]) for r in rows if len(r.fields) == cols.n for i in date_idx if r.fields[i].strip()
    )
    units_seen: dict[str, set[str]] = {"weight": set(), "distance": set()}
    parsed: list[ParsedRow] = []
    bad: list[RowNote] = []
    skipped: list[RowNote] = []
    for r in rows:
        res = (
            strong_row(r, cols, rule, det.delimiter, units_seen)
            if isinstance(cols, StrongColumns)
            else hevy_row(r, cols, rule, det.delimiter, units_seen)
        )
        if isinstance(res, ParsedRow):
            parsed.append(res)
        elif isinstance(res, tuple):
            skipped.append(res[1])
        else:
            bad.append(res)
    if csv_error is not None:
        bad.append(csv_error)
    if bad and not parsed:
        raise AppExportError(f"no readable row: {len(bad)} rows refused, first at line {bad[0].line}: {bad[0].reason}")
    sessions = assemble(det.app, parsed, tz, zi)
    unmapped = sorted({s.exercise_as_written for ss in sessions for s in ss.sets if s.exercise is None})

    def unit(kind: str, declared: str, source: str) -> str:
        seen = units_seen[kind]
        if source == "column":
            return next(iter(seen)) if len(seen) == 1 else ("mixed" if seen else "none")
        return declared

    return AppExport(
        app=det.app,
        variant=det.variant,
        delimiter=det.delimiter,
        encoding=enc,
        sha256=hashlib.sha256(data).hexdigest(),
        status="partial" if bad else "imported",
        sessions=sessions,
        bad_rows=tuple(bad),
        skipped_rows=tuple(skipped),
        date_rule=rule,
        weight_unit=unit("weight", cols.weight_unit, cols.weight_unit_source),
        weight_unit_source=cols.weight_unit_source,
        distance_unit=unit("distance", cols.distance_unit, cols.distance_unit_source),
        distance_unit_source=cols.distance_unit_source,
        tz=tz,
        zone_assumed=True,
        rows=len(rows),
        unmapped_exercises=tuple(unmapped),
    )
