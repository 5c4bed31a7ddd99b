"""The columnar form every FIT decoder produces, and the canonical records built from it.

Both decoders (our vectorised one in :mod:`ingest.fit.fast_decoder` and the fitparse fallback in
:mod:`ingest.fit.fitparse_boundary`) return a :class:`DecodedFit`: for each stored message type,
one :class:`MessageColumns` holding fitparse's field names and fitparse's values in columnar
form. The equivalence tests compare the two field by field, so the conversion rules are exact:

* ``date_time`` fields (fitparse gives naive UTC datetimes): float64 UTC epoch seconds.
* numbers (ints and floats, after scale and offset): float64; invalid/absent -> NaN.
* everything else (enum names, unknown enum numbers, strings, arrays as tuples): an object array,
  absent -> None.

A column is float64 exactly when every present value is a number (bool excluded); otherwise it
is an object array. Rows are messages of that type in file order; ``positions`` places each row
in the file among the messages of every other type (increasing in file order: byte offsets for
the fast decoder, message ordinals for fitparse), so a message can be read against its neighbours
of other types (a record without a timestamp against the lengths around it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Message types we store or read; decoders may skip every other type (``length``: a pool
#: swim's lengths, which date records that carry no timestamp of their own; ``device_info``: the
#: heart-rate sensor the economy model steps over).
STORED_MESSAGES: tuple[str, ...] = (
    "file_id",
    "activity",
    "session",
    "lap",
    "record",
    "set",
    "sport",
    "length",
    "device_info",
)

#: Most messages (data messages and definitions) one FIT file may hold. The largest real files hold
#: some 10^5-10^6 (a 24 h ultra at 1 Hz: 86,400 records); the limit admits 20 M records with room
#: for the laps, events and HR messages around them (docs/operations.md, "Limits").
MAX_MESSAGES = 25_000_000


class FitTooLarge(ValueError):
    """The file holds more than a per-file limit allows: it is refused whole (``failed``), not
    decoded in part, and no fallback decoder is tried."""


_EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class MessageColumns:
    """All messages of one type, as columns keyed by fitparse field name."""

    name: str
    n: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    positions: np.ndarray | None = None  # int64, increasing: where each row is in the file (module doc)

    def get(self, key: str) -> np.ndarray | None:
        return self.columns.get(key)

    def numeric(self, *keys: str) -> np.ndarray:
        """The first present numeric column among ``keys`` (float64, NaN = absent), else all-NaN.

        Values are taken per row from the first key that has one, so ``numeric('enhanced_speed',
        'speed')`` prefers enhanced speed and falls back row by row.
        """
        out = np.full(self.n, np.nan)
        for k in keys:
            col = self.columns.get(k)
            if col is None or col.dtype != np.float64:
                continue
            fill = np.isnan(out)
            out[fill] = col[fill]
        return out

    def objects(self, key: str) -> list[Any]:
        col = self.columns.get(key)
        if col is None:
            return [None] * self.n
        if col.dtype == np.float64:
            return [None if np.isnan(v) else v for v in col.tolist()]
        values: list[Any] = col.tolist()
        return values


@dataclass
class DecodedFit:
    """What a decoder read from one FIT file (possibly several chained FIT files)."""

    messages: dict[str, MessageColumns]
    decoder: str
    error: str | None = None  # set when the file is damaged; messages are those before the damage

    def get(self, name: str) -> MessageColumns:
        return self.messages.get(name) or MessageColumns(name, 0, {})

    @property
    def file_type(self) -> str | None:
        fid = self.messages.get("file_id")
        if fid is None or fid.n == 0:
            return None
        v = fid.objects("type")[0]
        return None if v is None else str(v)


def to_epoch_s(value: dt.datetime) -> float:
    """fitparse's naive-UTC datetime -> float epoch seconds."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (value - _EPOCH).total_seconds()


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def column_from_values(values: list[Any]) -> np.ndarray:
    """Apply the module's conversion rules to one column of fitparse values."""
    conv = [to_epoch_s(v) if isinstance(v, dt.datetime) else v for v in values]
    if all(v is None or _is_number(v) for v in conv):
        return np.array([np.nan if v is None else float(v) for v in conv], dtype=np.float64)
    out = np.empty(len(conv), dtype=object)
    for i, v in enumerate(conv):
        out[i] = tuple(v) if isinstance(v, list) else v
    return out


def columns_from_rows(name: str, rows: list[dict[str, Any]], positions: list[int] | None = None) -> MessageColumns:
    """Build :class:`MessageColumns` from per-message dicts (missing keys -> absent)."""
    keys: dict[str, None] = {}
    for r in rows:
        for k in r:
            keys.setdefault(k, None)
    cols = {k: column_from_values([r.get(k) for r in rows]) for k in keys}
    pos = None if positions is None else np.asarray(positions, dtype=np.int64)
    return MessageColumns(name, len(rows), cols, positions=pos)
