"""UTC instants, their ISO-8601 text, and the athlete's local calendar: the one place for them.

* Instants are timezone-aware UTC ``datetime`` objects or int64 UTC epoch nanoseconds.
* JSON documents (``report.json``, the CLI's ``--json``) write instants as ISO-8601 UTC with a
  ``Z``: :func:`iso_z` and :func:`iso_z_ns`.
* A capture file's header and the stream session id hash ``started_at`` as :func:`iso_utc`
  (microseconds and ``+00:00``); that text is part of the session identity and never changes.
* Calendar dates (weekly rollups, "the day of a session") are computed in the athlete's time zone
  (an IANA name from the athlete profile): :func:`local_date`, :func:`local_day`, :func:`week_start`.
"""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from records.units import NS_PER_S

UTC = _dt.UTC


def iso_utc(value: _dt.datetime) -> str:
    """Canonical ISO-8601 UTC text of ``value`` (microseconds, ``+00:00``); naive datetimes refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"started_at must be timezone-aware (UTC), got naive {value!r}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso_utc(text: str) -> _dt.datetime:
    """Parse ISO-8601 with an offset (``Z`` accepted) to an aware UTC datetime."""
    value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return value.astimezone(UTC)


def iso_z(value: _dt.datetime | None) -> str | None:
    """``value`` as ISO-8601 UTC ending in ``Z`` (``2026-03-01T07:30:00Z``, microseconds only when
    there are any); a naive datetime is taken as UTC (DuckDB returns TIMESTAMP without a zone)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_z_ns(t_ns: int | None) -> str | None:
    """UTC epoch nanoseconds as :func:`iso_z` text (None stays None)."""
    return None if t_ns is None else iso_z(datetime_from_ns(t_ns))


def datetime_from_ns(t_ns: int) -> _dt.datetime:
    """UTC epoch nanoseconds as an aware UTC datetime (microsecond precision)."""
    return _dt.datetime.fromtimestamp(int(t_ns) / NS_PER_S, tz=UTC)


def utc_anchor_ns(started_at: _dt.datetime) -> int:
    """``started_at`` as UTC nanoseconds (microsecond precision): stored stream samples carry
    ``t_ns = utc_anchor_ns(started_at) + (t - anchor_t_ns)``, ``t`` on the capture clock."""
    return round(started_at.timestamp() * 1e6) * 1000


def zone_info(tz: str) -> ZoneInfo:
    """Return ``ZoneInfo(tz)`` or raise ``ValueError`` naming the bad zone."""
    if not isinstance(tz, str) or not tz:
        raise ValueError("tz must be an IANA time-zone name such as 'Europe/Oslo'")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def local_date(t_ns: int, tz: str) -> _dt.date:
    """Calendar date of a UTC epoch-ns instant in time zone ``tz``."""
    return _dt.datetime.fromtimestamp(int(t_ns) / 1e9, tz=UTC).astimezone(zone_info(tz)).date()


def local_day(value: _dt.datetime | str | None, tz: str) -> str:
    """``YYYY-MM-DD`` of an instant in time zone ``tz``: an aware datetime is converted, a naive one
    is taken as UTC; text is taken as already dated (its first 10 characters)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(zone_info(tz)).date().isoformat()
    return str(value)[:10]


def week_start(d: _dt.date) -> _dt.date:
    """Monday of the ISO week containing ``d``."""
    return d - _dt.timedelta(days=d.weekday())
