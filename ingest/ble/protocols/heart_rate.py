"""Bluetooth SIG Heart Rate Measurement (service 0x180D, characteristic 0x2A37). Pure sans-IO.

Flags byte: bit0 value format (0 uint8, 1 uint16); bits1-2 sensor contact (0/1 not supported,
2 supported but not detected, 3 detected); bit3 energy expended (uint16 kJ) present; bit4 RR
intervals present (uint16 each, 1/1024 s, as many as fit, oldest first).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ingest.ble.protocols.base import (
    MeasurementDecoder,
    ProtocolError,
    Reader,
    SensorProfile,
    check_range,
    no_config,
    normalize_uuid,
)

SERVICE_UUID = normalize_uuid("180d")
MEASUREMENT_UUID = normalize_uuid("2a37")
RR_UNITS_PER_S = 1024

_F_UINT16 = 0x01
_F_CONTACT_MASK = 0x06
_F_ENERGY = 0x08
_F_RR = 0x10


class SensorContact(enum.Enum):
    """Sensor-contact state (flags bits 1-2). Bits value 0 and 1 both mean not supported."""

    NOT_SUPPORTED = "not_supported"
    NOT_DETECTED = "not_detected"
    DETECTED = "detected"


_CONTACT_FROM_BITS = {
    0: SensorContact.NOT_SUPPORTED,
    1: SensorContact.NOT_SUPPORTED,
    2: SensorContact.NOT_DETECTED,
    3: SensorContact.DETECTED,
}
_CONTACT_TO_BITS = {SensorContact.NOT_SUPPORTED: 0, SensorContact.NOT_DETECTED: 2, SensorContact.DETECTED: 3}


@dataclass(frozen=True)
class HeartRateMeasurement:
    """One 0x2A37 notification.

    Attributes
    ----------
    heart_rate_bpm : int
    contact : SensorContact
    energy_expended_kj : int or None
    rr_raw : tuple of int
        RR intervals in 1/1024 s as sent, oldest first (see :attr:`rr_s`).
    uint16_format : bool
        The heart rate was (or will be) sent as uint16. Required for values above 255.
    """

    heart_rate_bpm: int
    contact: SensorContact = SensorContact.NOT_SUPPORTED
    energy_expended_kj: int | None = None
    rr_raw: tuple[int, ...] = ()
    uint16_format: bool = False
    rr_present: bool | None = None
    """Whether the RR flag is set; None = set iff ``rr_raw`` is non-empty."""

    def __post_init__(self) -> None:
        check_range("heart_rate_bpm", self.heart_rate_bpm, 0, 0xFFFF if self.uint16_format else 0xFF)
        if self.energy_expended_kj is not None:
            check_range("energy_expended_kj", self.energy_expended_kj, 0, 0xFFFF)
        for i, rr in enumerate(self.rr_raw):
            check_range(f"rr_raw[{i}]", rr, 0, 0xFFFF)
        if self.rr_present is None:
            object.__setattr__(self, "rr_present", bool(self.rr_raw))
        elif not self.rr_present and self.rr_raw:
            raise ValueError("rr_raw given but rr_present is False")

    @property
    def rr_s(self) -> tuple[float, ...]:
        """RR intervals in seconds."""
        return tuple(rr / RR_UNITS_PER_S for rr in self.rr_raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> HeartRateMeasurement:
        r = Reader(data, "Heart Rate Measurement")
        flags = r.u8("flags")
        u16 = bool(flags & _F_UINT16)
        hr = r.u16("heart rate (uint16)") if u16 else r.u8("heart rate (uint8)")
        energy = r.u16("energy expended") if flags & _F_ENERGY else None
        rr: list[int] = []
        if flags & _F_RR:
            if r.remaining() % 2:
                raise ProtocolError(
                    "Heart Rate Measurement: RR intervals are uint16 each",
                    offset=r.pos,
                    expected="an even number of bytes",
                    got=f"{r.remaining()} bytes",
                )
            while r.remaining():
                rr.append(r.u16("RR interval"))
        r.expect_end()
        return cls(hr, _CONTACT_FROM_BITS[(flags & _F_CONTACT_MASK) >> 1], energy, tuple(rr), u16, bool(flags & _F_RR))

    def __bytes__(self) -> bytes:
        flags = (_F_UINT16 if self.uint16_format else 0) | (_CONTACT_TO_BITS[self.contact] << 1)
        out = bytearray()
        if self.energy_expended_kj is not None:
            flags |= _F_ENERGY
        if self.rr_present:
            flags |= _F_RR
        out.append(flags)
        out += self.heart_rate_bpm.to_bytes(2 if self.uint16_format else 1, "little")
        if self.energy_expended_kj is not None:
            out += self.energy_expended_kj.to_bytes(2, "little")
        for rr in self.rr_raw:
            out += rr.to_bytes(2, "little")
        return bytes(out)


class HeartRateDecoder(MeasurementDecoder):
    """Session decoder: one measurement per notification -> one ``hr_sample`` row."""

    measurement = HeartRateMeasurement

    def row(self, m: HeartRateMeasurement) -> dict[str, Any]:
        return {
            "heart_rate_bpm": float(m.heart_rate_bpm),
            "rr_s": list(m.rr_s),
            "energy_kj": None if m.energy_expended_kj is None else float(m.energy_expended_kj),
            "contact": m.contact.value,
        }


PROFILE = SensorProfile(
    name="heart_rate",
    service_uuid=SERVICE_UUID,
    notify_uuids=(MEASUREMENT_UUID,),
    write_uuid=None,
    sample_table="hr_sample",
    make_decoder=HeartRateDecoder,
    default_rate_hz=None,
    config_commands=no_config,
    periodic=False,
    auto_priority=30,
)
