"""Small FIT writers for tests: realistic files via fit-tool, and a raw byte writer for edge cases.

* :func:`make_strength_fit` / :func:`make_run_fit` build activity files with fit-tool (the same
  library a user's export would never come from, so the decoders are tested against an
  independent writer). fitparse reads them back with the values given (tests/ingest/fit/test_fitgen.py).
* :class:`RawFitWriter` writes definition and data messages byte by byte, for what fit-tool
  cannot express: big-endian definitions, compressed timestamp headers, arbitrary invalid values,
  developer fields of any base type, chained files.

Times are tz-aware UTC datetimes (a naive datetime is taken as UTC).
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from fit_tool.base_type import BaseType
from fit_tool.developer_field import DeveloperField
from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile import profile_type as pt
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.developer_data_id_message import DeveloperDataIdMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.field_description_message import FieldDescriptionMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.lap_message import LapMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.messages.set_message import SetMessage

FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z in Unix seconds

#: Stryd's developer application id (as it appears in Stryd files), used for ``dev_power``.
STRYD_APP_ID = bytes.fromhex("a42b5ae4cbd84cf7ab1e1dc29e7bc9d0")


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _ms(t: dt.datetime) -> int:
    """fit-tool takes date_time fields as Unix milliseconds."""
    return round(_utc(t).timestamp() * 1000)


def _enum_value(enum_cls: Any, value: int | str) -> int:
    if isinstance(value, str):
        return int(enum_cls[value.upper()].value)
    return int(value)


def _category_value(value: int | str) -> int:
    return _enum_value(pt.ExerciseCategory, value)


def _subtype_value(category: int | str | None, value: int | str) -> int:
    if not isinstance(value, str):
        return int(value)
    if category is None:
        raise ValueError(f"category_subtype {value!r} given by name needs a category")
    cat_name = pt.ExerciseCategory(_category_value(category)).name
    cls_name = "".join(w.capitalize() for w in cat_name.lower().split("_")) + "ExerciseName"
    enum_cls = getattr(pt, cls_name, None)
    if enum_cls is None:
        raise ValueError(f"no exercise-name table for category {cat_name}")
    return int(enum_cls[value.upper()].value)


def _file_id(builder: FitFileBuilder, start: dt.datetime) -> None:
    m = FileIdMessage()
    m.type = pt.FileType.ACTIVITY
    m.manufacturer = pt.Manufacturer.DEVELOPMENT.value
    m.product = 0
    m.serial_number = 0x1234ABCD
    m.time_created = _ms(start)
    builder.add(m)


def _timer_event(builder: FitFileBuilder, t: dt.datetime, start: bool) -> None:
    e = EventMessage()
    e.event = pt.Event.TIMER
    e.event_type = pt.EventType.START if start else pt.EventType.STOP_ALL
    e.timestamp = _ms(t)
    builder.add(e)


def _activity(builder: FitFileBuilder, end: dt.datetime, total_s: float, utc_offset_s: int) -> None:
    a = ActivityMessage()
    a.timestamp = _ms(end)
    a.total_timer_time = total_s
    a.num_sessions = 1
    a.type = pt.Activity.MANUAL
    a.event = pt.Event.ACTIVITY
    a.event_type = pt.EventType.STOP
    # local_date_time: fit-tool takes the raw FIT value (seconds since the FIT epoch, local clock)
    a.local_timestamp = int(_utc(end).timestamp()) - FIT_EPOCH_S + utc_offset_s
    builder.add(a)


def _lap_and_session(
    builder: FitFileBuilder,
    start: dt.datetime,
    end: dt.datetime,
    total_s: float,
    sport: int,
    sub_sport: int,
    **totals: float | int,
) -> None:
    """One lap and the session over ``start``..``end`` (the same times, sport and ``totals``)."""
    for msg_cls in (LapMessage, SessionMessage):
        m = msg_cls()
        m.timestamp = _ms(end)
        m.start_time = _ms(start)
        m.total_elapsed_time = total_s
        m.total_timer_time = total_s
        for name, value in totals.items():
            setattr(m, name, value)
        m.sport = sport
        m.sub_sport = sub_sport
        if isinstance(m, SessionMessage):
            m.num_laps = 1
            m.first_lap_index = 0
        builder.add(m)


def make_strength_fit(
    sets: list[dict[str, Any]],
    start: dt.datetime,
    *,
    sport: str = "training",
    sub_sport: str = "strength_training",
    utc_offset_s: int = 3600,
) -> bytes:
    """A strength-training activity: file_id, timer events, a few records, ``set`` messages, lap,
    session, activity.

    Each set dict may hold ``set_type`` ('active'/'rest', default 'active'), ``repetitions``,
    ``weight`` (kg), ``duration`` (s), ``start_time`` (datetime, whole seconds; default: back to
    back from ``start``, each set starting at the next whole second after the previous one ends),
    ``category`` (list of ints or exercise_category names, e.g. ``['squat']``) and
    ``category_subtype`` (list of ints or names within the category, e.g.
    ``['barbell_back_squat']``), ``message_index`` (default: the set's position). A key that is
    None is left invalid in the file.
    """
    start = _utc(start)
    b = FitFileBuilder(auto_define=True, min_string_size=0)
    _file_id(b, start)
    _timer_event(b, start, True)

    t = start
    set_msgs: list[SetMessage] = []
    for i, s in enumerate(sets):
        st = _utc(s["start_time"]) if s.get("start_time") is not None else t
        dur = s.get("duration")
        m = SetMessage()
        m.timestamp = _ms(st + dt.timedelta(seconds=float(dur or 0.0)))
        m.start_time = _ms(st)
        if dur is not None:
            m.duration = float(dur)
        if s.get("repetitions") is not None:
            m.repetitions = int(s["repetitions"])
        if s.get("weight") is not None:
            m.weight = float(s["weight"])
        m.set_type = _enum_value(pt.SetType, s.get("set_type", "active"))
        cats = s.get("category")
        if cats is not None:
            m.category = [_category_value(c) for c in cats]
        subs = s.get("category_subtype")
        if subs is not None:
            cat_list = list(cats) if cats is not None else []
            m.category_subtype = [
                _subtype_value(cat_list[k] if k < len(cat_list) else None, v) for k, v in enumerate(subs)
            ]
        index = s.get("message_index", i)  # a test may repeat or omit it (None), as damaged files do
        if index is not None:
            m.message_index = int(index)
        set_msgs.append(m)
        # FIT date_time is whole seconds: the next set starts at the next whole second
        t = st + dt.timedelta(seconds=math.ceil(float(dur or 0.0)))

    end = max(t, start + dt.timedelta(seconds=4))
    total_s = (end - start).total_seconds()
    # a few records: heart rate once per minute through the session (at least 3)
    n_rec = max(3, int(total_s // 60) + 1)
    rec_times = [start + dt.timedelta(seconds=total_s * k / (n_rec - 1)) for k in range(n_rec)]
    # interleave records and sets in time order, as a watch writes them
    items: list[tuple[dt.datetime, int, Any]] = []
    for k, rt in enumerate(rec_times):
        r = RecordMessage()
        r.timestamp = _ms(rt)
        r.heart_rate = 90 + (k * 7) % 60
        items.append((rt, 0, r))
    for m in set_msgs:
        items.append((dt.datetime.fromtimestamp((m.timestamp or 0) / 1000, dt.UTC), 1, m))
    items.sort(key=lambda x: (x[0], x[1]))
    for _, _, msg in items:
        b.add(msg)

    _timer_event(b, end, False)
    _lap_and_session(b, start, end, total_s, _enum_value(pt.Sport, sport), _enum_value(pt.SubSport, sub_sport))
    _activity(b, end, total_s, utc_offset_s)
    return bytes(b.build().to_bytes())


def make_run_fit(
    n_records: int,
    start: dt.datetime,
    *,
    seed: int = 0,
    with_power: bool = False,
    dev_power: bool = False,
    utc_offset_s: int = 3600,
) -> bytes:
    """A 1 Hz outdoor run of ``n_records`` records (HR, speed, distance, altitude, position,
    cadence, temperature; ``with_power``: record.power; ``dev_power``: a Stryd-style developer
    field "Power" in Watts, uint16), one lap, one session (running/road), activity.

    Values are deterministic for a given ``seed`` (the same bytes every time); tests compare
    against fitparse's read-back.
    """
    if n_records < 1:
        raise ValueError(f"n_records must be >= 1, got {n_records}")
    start = _utc(start)
    rng = np.random.default_rng(seed)
    hr = np.clip(np.round(140 + np.cumsum(rng.normal(0, 0.6, n_records))), 60, 200).astype(int)
    speed = np.clip(3.2 + np.cumsum(rng.normal(0, 0.02, n_records)), 1.0, 6.5)
    dist = np.cumsum(speed) - speed[0]
    alt = 420 + np.cumsum(rng.normal(0, 0.15, n_records))
    lat = 47.37 + np.cumsum(rng.normal(0, 2e-5, n_records))
    lon = 8.54 + np.cumsum(rng.normal(0, 2e-5, n_records))
    cad = np.clip(np.round(85 + rng.normal(0, 2, n_records)), 60, 110).astype(int)
    temp = np.round(-2 + np.cumsum(rng.normal(0, 0.05, n_records))).astype(int)
    power = np.clip(np.round(250 + rng.normal(0, 15, n_records)), 0, 600).astype(int)

    b = FitFileBuilder(auto_define=True, min_string_size=0)
    _file_id(b, start)
    if dev_power:
        d = DeveloperDataIdMessage()
        d.application_id = STRYD_APP_ID
        d.developer_data_index = 0
        b.add(d)
        fd = FieldDescriptionMessage()
        fd.developer_data_index = 0
        fd.field_definition_number = 0
        fd.fit_base_type_id = BaseType.UINT16
        fd.field_name = "Power"
        fd.units = "Watts"
        b.add(fd)
    _timer_event(b, start, True)
    for i in range(n_records):
        dev: list[DeveloperField] = []
        if dev_power:
            df = DeveloperField(developer_data_index=0, field_id=0, size=2, base_type=BaseType.UINT16)
            df.set_value(0, int(power[i]))
            dev = [df]
        r = RecordMessage(developer_fields=dev) if dev else RecordMessage()
        r.timestamp = _ms(start + dt.timedelta(seconds=i))
        r.heart_rate = int(hr[i])
        r.speed = float(speed[i])
        r.distance = float(dist[i])
        r.altitude = float(alt[i])
        r.position_lat = float(lat[i])
        r.position_long = float(lon[i])
        r.cadence = int(cad[i])
        r.temperature = int(temp[i])
        if with_power:
            r.power = int(power[i])
        b.add(r)
    end = start + dt.timedelta(seconds=n_records - 1)
    total_s = float(max(n_records - 1, 1))
    _timer_event(b, end, False)
    _lap_and_session(
        b,
        start,
        end,
        total_s,
        pt.Sport.RUNNING.value,
        pt.SubSport.ROAD.value,
        total_distance=float(dist[-1]),
        avg_speed=float(dist[-1] / total_s),
        max_speed=float(speed.max()),
        avg_heart_rate=round(float(hr.mean())),
        max_heart_rate=int(hr.max()),
    )
    _activity(b, end, total_s, utc_offset_s)
    return bytes(b.build().to_bytes())


# --------------------------------------------------------------------------------------------
# Raw writer

_BASE_FMT: dict[int, str] = {
    0x00: "B",
    0x01: "b",
    0x02: "B",
    0x83: "h",
    0x84: "H",
    0x85: "i",
    0x86: "I",
    0x07: "s",
    0x88: "f",
    0x89: "d",
    0x0A: "B",
    0x8B: "H",
    0x8C: "I",
    0x0D: "B",
    0x8E: "q",
    0x8F: "Q",
    0x90: "Q",
}


def fit_crc(data: bytes, crc: int = 0) -> int:
    """The FIT CRC-16 (the SDK's nibble-table algorithm), for the raw writer."""
    table = (
        0x0000,
        0xCC01,
        0xD801,
        0x1400,
        0xF001,
        0x3C00,
        0x2800,
        0xE401,
        0xA001,
        0x6C00,
        0x7800,
        0xB401,
        0x5000,
        0x9C01,
        0x8801,
        0x4400,
    )
    for byte in data:
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[byte & 0xF]
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[(byte >> 4) & 0xF]
    return crc


class RawFitWriter:
    """Writes FIT messages byte by byte (for edge cases fit-tool cannot produce).

    ``define(local, global_num, fields, dev_fields=(), big_endian=False)`` with fields as
    ``(field_def_num, size, base_type_byte)`` and dev fields as ``(field_num, size, dev_index)``;
    ``data(local, values, dev_values=(), time_offset=None)`` with one value per field (a number,
    a bytes/str for strings and byte fields, or a sequence for arrays), already raw (no scale);
    ``time_offset`` (0..31) writes a compressed-timestamp header (local types 0..3 only).
    ``to_bytes()`` returns header + messages + CRC; several writers' outputs concatenate into a
    chained file.
    """

    def __init__(self, protocol_version: int = 0x20, profile_version: int = 2132) -> None:
        self._body = bytearray()
        self._defs: dict[int, tuple[str, list[tuple[int, int, int]], list[tuple[int, int, int]]]] = {}
        self._protocol_version = protocol_version
        self._profile_version = profile_version

    def define(
        self,
        local: int,
        global_num: int,
        fields: Sequence[tuple[int, int, int]],
        dev_fields: Sequence[tuple[int, int, int]] = (),
        *,
        big_endian: bool = False,
    ) -> None:
        endian = ">" if big_endian else "<"
        header = 0x40 | (0x20 if dev_fields else 0) | (local & 0x0F)
        out = bytearray([header, 0, 1 if big_endian else 0])
        out += struct.pack(endian + "HB", global_num, len(fields))
        for num, size, bt in fields:
            out += bytes([num, size, bt])
        if dev_fields:
            out.append(len(dev_fields))
            for num, size, idx in dev_fields:
                out += bytes([num, size, idx])
        self._body += out
        self._defs[local] = (endian, list(fields), list(dev_fields))

    @staticmethod
    def _pack(endian: str, size: int, base_type: int, value: Any, dev_type: int | None = None) -> bytes:
        bt = base_type if dev_type is None else dev_type
        fmt = _BASE_FMT.get(bt, "B")
        if fmt == "s" or bt == 0x0D or isinstance(value, bytes | str):
            raw = value.encode() if isinstance(value, str) else bytes(value)
            return raw[:size].ljust(size, b"\x00")
        unit = struct.calcsize(fmt)
        n = size // unit
        vals = list(value) if isinstance(value, list | tuple) else [value]
        if len(vals) != n:
            raise ValueError(f"field of size {size} needs {n} values, got {len(vals)}")
        return struct.pack(endian + fmt * n, *vals)

    def data(
        self,
        local: int,
        values: Sequence[Any],
        dev_values: Sequence[Any] = (),
        *,
        dev_types: Sequence[int] = (),
        time_offset: int | None = None,
    ) -> None:
        endian, fields, dev_fields = self._defs[local]
        if time_offset is not None:
            if not 0 <= local <= 3 or not 0 <= time_offset <= 31:
                raise ValueError("compressed headers take local types 0..3 and offsets 0..31")
            out = bytearray([0x80 | (local << 5) | time_offset])
        else:
            out = bytearray([local & 0x0F])
        for (_, size, bt), v in zip(fields, values, strict=True):
            out += self._pack(endian, size, bt, v)
        types = list(dev_types) or [0x0D] * len(dev_fields)
        for (_, size, _), v, t in zip(dev_fields, dev_values, types, strict=True):
            out += self._pack(endian, size, t, v, dev_type=t)
        self._body += out

    def raw(self, data: bytes) -> None:
        """Append bytes as they are (for damaged files)."""
        self._body += data

    def to_bytes(self, *, header_size: int = 14, corrupt_crc: bool = False) -> bytes:
        hdr = struct.pack(
            "<BBHI4s", header_size, self._protocol_version, self._profile_version, len(self._body), b".FIT"
        )
        if header_size == 14:
            hdr += struct.pack("<H", fit_crc(hdr))
        body = hdr + bytes(self._body)
        crc = fit_crc(body) ^ (0x1000 if corrupt_crc else 0)
        return body + struct.pack("<H", crc)
