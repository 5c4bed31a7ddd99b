"""Plain-text formatting of the values a page shows: numbers, instants, durations, and control
characters made visible. No markup here (the templates in ``report/templates`` hold it, and
autoescape escapes every value they are handed)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

#: C0 and C1 control characters except tab, newline and carriage return (an ANSI escape sequence
#: starts with ESC, U+001B)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    r"""``text`` with every control character written as ``\xNN`` (``"\x1b[31m"`` -> ``"\\x1b[31m"``).

    A report is also read in terminals (``cat``, ``less -R``, ``grep`` over the folder), where an
    escape sequence from an activity or file name would act on the terminal; in a browser it is an
    invisible character. Applied to every value a template prints and to the text of the charts.
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def fmt(value: Any, digits: int = 1, unit: str = "", *, signed: bool = False) -> str:
    """Format a number for display (rounding only): None/NaN -> an em dash "—"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        s = f"{value:+d}" if signed else f"{value:d}"
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "—"
        s = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    else:
        return str(value)
    return f"{s} {unit}".rstrip() if unit and unit not in ("%",) else s + unit


def when(iso: str | None) -> str:
    """An ISO-8601 instant as ``YYYY-MM-DD HH:MM UTC``; None -> "—"; unparsable text as it is."""
    if not iso:
        return "—"
    try:
        t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(iso: str | None) -> str:
    return when(iso)[:10] if iso else "—"


def minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.0f} min"


def km(m: float | None) -> str:
    return "—" if m is None else f"{m / 1000:.2f} km"


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}( UTC)?)?")
_VALUE = re.compile(r"[-+]?[\d.,]+ ?[^\s\d]{0,4}")  # "100.0 kg", "-164 N/s", "+4.63 %"


def is_short_value(c: Any) -> bool:
    """Dates, times and short values with a unit stay on one line in tables (a date broken as "2026-" /
    "11-23" or "100.0" / "kg" reads badly)."""
    return isinstance(c, str) and (_DATE.fullmatch(c) is not None or (len(c) <= 12 and _VALUE.fullmatch(c) is not None))


def is_long_text(c: Any) -> bool:
    """Long text (reasons, readings) gets a minimum width, so a phone's narrow table does not squeeze it
    into a column one word wide (the table scrolls sideways instead)."""
    return isinstance(c, str) and len(c) > 40
