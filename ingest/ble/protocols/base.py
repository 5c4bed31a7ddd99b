"""Shared pieces of the sans-IO sensor profiles: errors, byte readers, UUIDs, the profile record.

Nothing here does I/O or imports bleak/duckdb. Every decoding error is a :class:`ProtocolError`,
which is a :class:`ValueError` carrying ``offset``, ``expected`` and ``got`` so that a caller can
say precisely what was wrong with a payload (the fitdecode model; docs/design.md section 8).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

SIG_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"
"""Bluetooth SIG base UUID suffix: a 16-bit UUID ``xxxx`` is ``0000xxxx`` + this."""


class ProtocolError(ValueError):
    """A payload does not follow its protocol.

    Attributes
    ----------
    offset : int or None
        Byte offset in the payload where the problem was found.
    expected, got :
        What the decoder needed there and what it found (bytes counts, header values, ...).
    """

    def __init__(self, message: str, *, offset: int | None = None, expected: Any = None, got: Any = None) -> None:
        self.offset = offset
        self.expected = expected
        self.got = got
        detail = []
        if offset is not None:
            detail.append(f"offset {offset}")
        if expected is not None:
            detail.append(f"expected {expected}")
        if got is not None:
            detail.append(f"got {got}")
        super().__init__(f"{message} ({', '.join(detail)})" if detail else message)


class TruncatedError(ProtocolError):
    """The payload ended before a field it announces."""


class Reader:
    """Little-endian cursor over a payload that raises :class:`TruncatedError`, never IndexError."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes | bytearray | memoryview, what: str) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.what = what

    def _take(self, fmt: str, name: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise TruncatedError(
                f"{self.what}: payload too short for {name}",
                offset=self.pos,
                expected=f"{size} byte(s)",
                got=f"{len(self.data) - self.pos} byte(s)",
            )
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def u8(self, name: str) -> int:
        return int(self._take("<B", name))

    def u16(self, name: str) -> int:
        return int(self._take("<H", name))

    def s16(self, name: str) -> int:
        return int(self._take("<h", name))

    def u24(self, name: str) -> int:
        lo = self.u16(name)
        return lo | (self.u8(name) << 16)

    def u32(self, name: str) -> int:
        return int(self._take("<I", name))

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def expect_end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(
                f"{self.what}: unexpected trailing bytes",
                offset=self.pos,
                expected=f"{self.pos} byte(s) in total",
                got=f"{len(self.data)} byte(s)",
            )


def check_range(name: str, value: int, lo: int, hi: int) -> None:
    """Raise ValueError if ``value`` does not fit the field ``[lo, hi]`` (used by encoders)."""
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


_UUID16_RE = re.compile(r"^(?:0x)?([0-9a-f]{4})$")
_UUID32_RE = re.compile(r"^(?:0x)?([0-9a-f]{8})$")
_UUID128_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_BUMBLE_RE = re.compile(r"^uuid-(?:16|32|128):([0-9a-f-]+)")


def normalize_uuid(uuid: str | int) -> str:
    """Canonical lower-case 128-bit form of a UUID.

    Accepts ``"180d"``, ``"0x180D"``, ``0x180D``, full 128-bit strings in any case, and Bumble's
    ``"uuid-16:180D (heart rate)"`` spelling. 16/32-bit forms expand with the SIG base UUID.
    Vendor UUIDs (WitMotion's ``...-00805f9a34fb``) must be given in full.
    """
    if isinstance(uuid, int):
        if not 0 <= uuid <= 0xFFFFFFFF:
            raise ValueError(f"integer UUID must be 16 or 32 bits, got {uuid:#x}")
        return f"{uuid:08x}{SIG_BASE_SUFFIX}"
    s = str(uuid).strip().lower()
    m = _BUMBLE_RE.match(s)
    if m:
        s = m.group(1)
        if len(s) == 32 and "-" not in s:
            s = f"{s[0:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:32]}"
    m = _UUID16_RE.match(s)
    if m:
        return f"0000{m.group(1)}{SIG_BASE_SUFFIX}"
    m = _UUID32_RE.match(s)
    if m:
        return f"{m.group(1)}{SIG_BASE_SUFFIX}"
    if _UUID128_RE.match(s):
        return s
    raise ValueError(f"not a UUID: {uuid!r}")


@dataclass
class DecodedChunk:
    """What one notification decoded to: ``n`` samples as columns of the profile's sample table.

    ``columns`` maps a column name of the sample table (without ``session_id``/``t_ns``) to an
    array or list of length ``n``. ``raw_i16`` is set by the IMU profile only: the (n, 9) raw
    frames, kept for the analysis. ``errors`` are the payload problems that were skipped.
    """

    n: int
    columns: dict[str, Any] = field(default_factory=dict)
    raw_i16: np.ndarray | None = None
    skipped_bytes: int = 0
    errors: list[ProtocolError] = field(default_factory=list)
    extras: list[Any] = field(default_factory=list)


class NotificationDecoder(Protocol):
    """A (possibly stateful) decoder fed one notification payload at a time."""

    def feed(self, data: bytes) -> DecodedChunk: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class SensorProfile:
    """Everything the transport and the session need to know about one sensor type.

    Attributes
    ----------
    name : str
        Contract name (``--sensor``): ``witmotion``, ``heart_rate``, ...
    service_uuid : str
        Primary service (lower-case 128-bit).
    notify_uuids : tuple of str
        Characteristics to subscribe to.
    write_uuid : str or None
        Characteristic that configuration commands go to.
    sample_table : str
        Store table of the decoded samples (``imu_sample``, ``hr_sample``, ...).
    make_decoder : callable
        Returns a fresh :class:`NotificationDecoder` (one per connection/session).
    default_rate_hz : float or None
        Rate configured when the user gives none; None = the sensor chooses (HR, RSC, power).
    config_commands : callable
        ``config_commands(rate_hz)`` -> payloads to write after connecting (empty if none).
    periodic : bool
        True when samples come at a configured fixed rate without timestamps, so sample times
        are reconstructed from arrival timing (timebase); False = one measurement per
        notification, stamped with its arrival time.
    auto_priority : int
        Lower wins when several profiles match a device's services (``--sensor auto``).
    name_prefixes : tuple of str
        Advertised-name prefixes typical of the device (for scanning hints only).
    extra_service_uuids : tuple of str
        Other services whose presence identifies this profile.
    """

    name: str
    service_uuid: str
    notify_uuids: tuple[str, ...]
    write_uuid: str | None
    sample_table: str
    make_decoder: Callable[[], NotificationDecoder]
    default_rate_hz: float | None
    config_commands: Callable[[float | None], list[bytes]]
    periodic: bool
    auto_priority: int = 100
    name_prefixes: tuple[str, ...] = ()
    extra_service_uuids: tuple[str, ...] = ()

    def matches(self, services: Iterable[str]) -> bool:
        """True if the device's service UUIDs include this profile's service."""
        norm = set()
        for s in services:
            try:
                norm.add(normalize_uuid(s))
            except ValueError:
                continue
        return self.service_uuid in norm or any(u in norm for u in self.extra_service_uuids)


def no_config(_rate_hz: float | None) -> list[bytes]:
    """Configuration for sensors that take none (standard GATT measurement services)."""
    return []


class MeasurementDecoder:
    """Session decoder for sensors that send one measurement per notification -> one sample row.

    Subclasses name the record type (``measurement``) and map a decoded record to the sample
    table's columns (:meth:`row`); a malformed notification becomes an error, not an exception.
    """

    measurement: Any = None

    def reset(self) -> None:
        pass

    def row(self, m: Any) -> dict[str, Any]:
        raise NotImplementedError

    def feed(self, data: bytes) -> DecodedChunk:
        try:
            m = self.measurement.from_bytes(data)
        except ProtocolError as exc:
            return DecodedChunk(n=0, errors=[exc])
        return DecodedChunk(n=1, columns={k: [v] for k, v in self.row(m).items()}, extras=[m])
