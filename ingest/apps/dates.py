"""Local date-times as the phone apps write them, and the per-file day/month rule (pure).

Styles read (whitespace, U+00A0 and U+202F are equivalent; a time is optional)::

    iso             2026-08-07 08:27:00   2026-08-07T08:27   2026/08/07 08:27
    day-month-name  7 Aug 2026, 08:27     25 Juli 2026, 14:21   7. August 2026
    month-name-day  May 15, 2023          Aug 28, 2023 2:32 PM
    numeric         05.06.2026, 07:30     6/5/2026 7:30 PM      05-06-2026

Times: ``H:MM``, ``H:MM:SS``, optionally ``AM``/``PM``. Month names: English, German,
French, Spanish, Italian, Portuguese and Dutch (full or abbreviated, any case, with or
without a trailing dot).

The numeric style is ambiguous between day-month-year and month-day-year. The order is
decided once per file from the values that are unambiguous (a first field above 12 can
only be a day; a second field above 12 can only be a day). A file whose numeric dates all
have both fields <= 12 is refused (no value decides), as is a file with evidence for both
orders.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.apps.model import AppExportError, DateRule, TimePrecision

__all__ = ["LocalStamp", "date_style", "decide_date_rule", "local_to_utc", "parse_local", "zone"]

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "jan january januar janv janvier ene enero gen gennaio janeiro januari jän jänner",
        "feb february februar fév févr février febrero febbraio fev fevereiro februari",
        "mar march mär märz mrz mars marzo março mrt maart",
        "apr april avr avril abr abril aprile",
        "may mai mayo mag maggio maio mei",
        "jun june juni juin junio giu giugno junho",
        "jul july juli juil juillet julio lug luglio julho",
        "aug august août ago agosto augustus",
        "sep sept september septembre septiembre set settembre setembro",
        "oct october okt oktober octobre octubre ott ottobre out outubro",
        "nov november novembre noviembre novembro",
        "dec december dez dezember déc décembre dic diciembre dicembre dezembro",
    ),
    start=1,
):
    for _n in _names.split():
        _MONTHS[_n] = _num

_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\s*(?P<ampm>[AaPp])\.?\s*[Mm]\.?)?"
_SEP_TIME = r"(?:\s*,?\s*(?:at\s+|um\s+|à\s+)?" + _TIME + r")?"
_ISO = re.compile(r"^(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})(?:[T ]\s*" + _TIME + r")?$")
_DMN = re.compile(r"^(?P<d>\d{1,2})\.?\s+(?P<mon>[^\W\d_]+)\.?\s+(?P<y>\d{4})" + _SEP_TIME + r"$")
_MND = re.compile(r"^(?P<mon>[^\W\d_]+)\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})" + _SEP_TIME + r"$")
_NUM = re.compile(r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _SEP_TIME + r"$")

Style = Literal["iso", "day-month-name", "month-name-day", "numeric"]


@dataclass(frozen=True)
class LocalStamp:
    """A parsed wall-clock value: naive ``value`` and what the text gave (``precision``)."""

    value: dt.datetime
    precision: TimePrecision


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " ")).strip()


def date_style(text: str) -> Style | None:
    """Which style ``text`` is written in, or None if it is none of them."""
    t = _norm(text)
    for style, rx in (("iso", _ISO), ("numeric", _NUM), ("day-month-name", _DMN), ("month-name-day", _MND)):
        if rx.match(t):
            return style  # type: ignore[return-value]
    return None


def decide_date_rule(values: Iterable[tuple[int, str]]) -> DateRule:
    """The file's day/month rule from its date texts.

    Parameters
    ----------
    values : iterable of (line, text)
        Every date text of the file with its line. Texts of no known style are ignored here
        (they are refused row by row later).

    Returns
    -------
    DateRule

    Raises
    ------
    AppExportError
        When numeric dates exist and none of them decides the order, or when some need
        day-month and others month-day.
    """
    styles: set[str] = set()
    dmy: tuple[int, str] | None = None
    mdy: tuple[int, str] | None = None
    ambiguous: tuple[int, str] | None = None
    seen: set[str] = set()
    for line, text in values:
        t = _norm(text)
        if t in seen:
            continue
        seen.add(t)
        style = date_style(t)
        if style is None:
            continue
        styles.add(style)
        if style != "numeric":
            continue
        m = _NUM.match(t)
        assert m is not None
        a, b = int(m["a"]), int(m["b"])
        if a > 12 and b <= 12:
            dmy = dmy or (line, text)
        elif b > 12 and a <= 12:
            mdy = mdy or (line, text)
        elif a <= 12 and b <= 12:
            ambiguous = ambiguous or (line, text)
    formats = tuple(sorted(styles))
    if dmy and mdy:
        raise AppExportError(
            f"dates contradict each other: {dmy[1]!r} (line {dmy[0]}) is day-month-year but "
            f"{mdy[1]!r} (line {mdy[0]}) is month-day-year"
        )
    if dmy:
        return DateRule("DMY", f"{dmy[1]!r} (line {dmy[0]}): first field > 12 is a day", formats)
    if mdy:
        return DateRule("MDY", f"{mdy[1]!r} (line {mdy[0]}): second field > 12 is a day", formats)
    if ambiguous:
        raise AppExportError(
            f"day/month order undecidable: every numeric date in the file has day and month <= 12 "
            f"(e.g. {ambiguous[1]!r}, line {ambiguous[0]}); re-export with another date format or a longer history"
        )
    return DateRule(None, "no numeric day/month dates", formats)


def _time(m: re.Match[str]) -> tuple[int, int, int, TimePrecision]:
    if m["h"] is None:
        return 0, 0, 0, "day"
    h, mi = int(m["h"]), int(m["mi"])
    s = int(m["s"]) if m["s"] is not None else 0
    if m["ampm"] is not None:
        if not 1 <= h <= 12:
            raise ValueError(f"hour {h} with AM/PM")
        pm = m["ampm"].lower() == "p"
        h = (h % 12) + (12 if pm else 0)
    return h, mi, s, ("second" if m["s"] is not None else "minute")


def _month(name: str) -> int:
    k = name.lower().rstrip(".")
    if k in _MONTHS:
        return _MONTHS[k]
    raise ValueError(f"unknown month name {name!r}")


def parse_local(text: str, rule: DateRule) -> LocalStamp:
    """Parse one date text with the file's rule.

    Raises
    ------
    ValueError
        With the reason (unknown style, impossible date, unknown month name).
    """
    t = _norm(text)
    if not t:
        raise ValueError("empty date")
    m = _ISO.match(t)
    if m:
        y, mo, d = int(m["y"]), int(m["mo"]), int(m["d"])
    elif m := _NUM.match(t):
        a, b, y = int(m["a"]), int(m["b"]), int(m["y"])
        if rule.day_month_order is None:  # pragma: no cover - decide_date_rule saw this text
            raise ValueError("numeric date but no day/month rule")
        d, mo = (a, b) if rule.day_month_order == "DMY" else (b, a)
    elif (m := _DMN.match(t)) or (m := _MND.match(t)):
        d, mo, y = int(m["d"]), _month(m["mon"]), int(m["y"])
    else:
        raise ValueError(f"unrecognised date {text!r}")
    h, mi, s, precision = _time(m)
    try:
        return LocalStamp(dt.datetime(y, mo, d, h, mi, s), precision)
    except ValueError as e:
        raise ValueError(f"impossible date {text!r}: {e}") from None


def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz``; a clear error for a bad name."""
    if not isinstance(tz, str) or not tz.strip():
        raise ValueError("tz must be an IANA zone name such as 'Europe/Oslo'")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r} (expected an IANA name such as 'Europe/Oslo')") from None


def local_to_utc(local: dt.datetime, zi: ZoneInfo) -> tuple[dt.datetime, str | None]:
    """Aware UTC instant of naive wall-clock ``local`` in zone ``zi``, and a note.

    The note is None for a regular wall-clock time. A time that occurs twice (the hour a
    daylight-saving change repeats) is taken at its first occurrence; a time that does not
    exist (the hour skipped) is read with the offset in force before the change, i.e. as
    the clock would have shown it without the change. Both say so in the note.
    """
    first = local.replace(tzinfo=zi, fold=0)
    second = local.replace(tzinfo=zi, fold=1)
    note = None
    if first.utcoffset() != second.utcoffset():
        back = first.astimezone(dt.UTC).astimezone(zi).replace(tzinfo=None)
        if back == local:
            note = (
                f"{local.isoformat()} occurs twice in {zi.key} (daylight-saving change); the first occurrence was taken"
            )
        else:
            note = (
                f"{local.isoformat()} does not exist in {zi.key} (daylight-saving gap); "
                "read with the offset before the change"
            )
    return first.astimezone(dt.UTC), note
