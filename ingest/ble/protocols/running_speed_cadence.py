"""Bluetooth SIG Running Speed and Cadence Measurement (service 0x1814, characteristic 0x2A53).

Flags uint8; instantaneous speed uint16 (1/256 m/s); instantaneous cadence uint8 (steps/min);
then, in flag order: bit0 stride length uint16 (1/100 m), bit1 total distance uint32 (1/10 m);
bit2 running (1) / walking (0). Pure sans-IO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.ble.protocols.base import (
    MeasurementDecoder,
    Reader,
    SensorProfile,
    check_range,
    no_config,
    normalize_uuid,
)

SERVICE_UUID = normalize_uuid("1814")
MEASUREMENT_UUID = normalize_uuid("2a53")

_F_STRIDE = 0x01
_F_DISTANCE = 0x02
_F_RUNNING = 0x04


@dataclass(frozen=True)
class RscMeasurement:
    """One 0x2A53 notification, fields as sent (see the ``*_m``/``*_mps`` properties for SI)."""

    speed_raw: int
    """Instantaneous speed in 1/256 m/s."""
    cadence_spm: int
    stride_length_raw: int | None = None
    """Stride length in 1/100 m, or None."""
    total_distance_raw: int | None = None
    """Total distance in 1/10 m, or None."""
    running: bool = False

    def __post_init__(self) -> None:
        check_range("speed_raw", self.speed_raw, 0, 0xFFFF)
        check_range("cadence_spm", self.cadence_spm, 0, 0xFF)
        if self.stride_length_raw is not None:
            check_range("stride_length_raw", self.stride_length_raw, 0, 0xFFFF)
        if self.total_distance_raw is not None:
            check_range("total_distance_raw", self.total_distance_raw, 0, 0xFFFFFFFF)

    @property
    def speed_mps(self) -> float:
        return self.speed_raw / 256.0

    @property
    def stride_length_m(self) -> float | None:
        return None if self.stride_length_raw is None else self.stride_length_raw / 100.0

    @property
    def total_distance_m(self) -> float | None:
        return None if self.total_distance_raw is None else self.total_distance_raw / 10.0

    @classmethod
    def from_bytes(cls, data: bytes) -> RscMeasurement:
        r = Reader(data, "RSC Measurement")
        flags = r.u8("flags")
        speed = r.u16("instantaneous speed")
        cadence = r.u8("instantaneous cadence")
        stride = r.u16("stride length") if flags & _F_STRIDE else None
        distance = r.u32("total distance") if flags & _F_DISTANCE else None
        r.expect_end()
        return cls(speed, cadence, stride, distance, bool(flags & _F_RUNNING))

    def __bytes__(self) -> bytes:
        flags = (
            (_F_STRIDE if self.stride_length_raw is not None else 0)
            | (_F_DISTANCE if self.total_distance_raw is not None else 0)
            | (_F_RUNNING if self.running else 0)
        )
        out = bytearray((flags,))
        out += self.speed_raw.to_bytes(2, "little")
        out.append(self.cadence_spm)
        if self.stride_length_raw is not None:
            out += self.stride_length_raw.to_bytes(2, "little")
        if self.total_distance_raw is not None:
            out += self.total_distance_raw.to_bytes(4, "little")
        return bytes(out)


class RscDecoder(MeasurementDecoder):
    """Session decoder: one measurement per notification -> one ``rsc_sample`` row."""

    measurement = RscMeasurement

    def row(self, m: RscMeasurement) -> dict[str, Any]:
        return {
            "speed_mps": m.speed_mps,
            "cadence_spm": float(m.cadence_spm),
            "stride_length_m": m.stride_length_m,
            "distance_m": m.total_distance_m,
            "running": m.running,
        }


PROFILE = SensorProfile(
    name="running_speed_cadence",
    service_uuid=SERVICE_UUID,
    notify_uuids=(MEASUREMENT_UUID,),
    write_uuid=None,
    sample_table="rsc_sample",
    make_decoder=RscDecoder,
    default_rate_hz=None,
    config_commands=no_config,
    periodic=False,
    auto_priority=50,
)
