"""Bluetooth SIG Cycling Power Measurement (service 0x1818, characteristic 0x2A63). Pure sans-IO.

Stryd running-power pods send their power here. Flags uint16; instantaneous power **sint16** W
(negative values are real: -10 W is ``f6 ff``, not 65526); then the optional fields in flag order:
bit0 pedal power balance uint8 (1/2 %), bit2 accumulated torque uint16 (1/32 N m), bit4 wheel
revolutions uint32 + last wheel event time uint16 (1/2048 s), bit5 crank revolutions uint16 + last
crank event time uint16 (1/1024 s), bit6 extreme force magnitudes 2 x sint16 (N), bit7 extreme
torque magnitudes 2 x sint16 (1/32 N m), bit8 extreme angles 3 bytes (two uint12, degrees),
bit9 top dead spot angle uint16 (deg), bit10 bottom dead spot angle uint16 (deg), bit11
accumulated energy uint16 (kJ). Bits 1, 3 and 12 are indicators without a field; they and the
reserved bits are kept in ``other_flags`` so that encoding gives back the same bytes.
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

SERVICE_UUID = normalize_uuid("1818")
MEASUREMENT_UUID = normalize_uuid("2a63")

F_PEDAL_BALANCE = 1 << 0
F_ACCUMULATED_TORQUE = 1 << 2
F_WHEEL = 1 << 4
F_CRANK = 1 << 5
F_EXTREME_FORCE = 1 << 6
F_EXTREME_TORQUE = 1 << 7
F_EXTREME_ANGLES = 1 << 8
F_TOP_DEAD_SPOT = 1 << 9
F_BOTTOM_DEAD_SPOT = 1 << 10
F_ACCUMULATED_ENERGY = 1 << 11
PRESENCE_MASK = (
    F_PEDAL_BALANCE
    | F_ACCUMULATED_TORQUE
    | F_WHEEL
    | F_CRANK
    | F_EXTREME_FORCE
    | F_EXTREME_TORQUE
    | F_EXTREME_ANGLES
    | F_TOP_DEAD_SPOT
    | F_BOTTOM_DEAD_SPOT
    | F_ACCUMULATED_ENERGY
)


@dataclass(frozen=True)
class CyclingPowerMeasurement:
    """One 0x2A63 notification; optional fields are None when absent. Raw units as sent."""

    power_w: int
    pedal_power_balance_raw: int | None = None
    """1/2 percent."""
    accumulated_torque_raw: int | None = None
    """1/32 N m."""
    wheel_revolutions: int | None = None
    last_wheel_event_raw: int | None = None
    """1/2048 s; present together with ``wheel_revolutions``."""
    crank_revolutions: int | None = None
    last_crank_event_raw: int | None = None
    """1/1024 s; present together with ``crank_revolutions``."""
    extreme_forces_n: tuple[int, int] | None = None
    """(maximum, minimum) force magnitude, N."""
    extreme_torques_raw: tuple[int, int] | None = None
    """(maximum, minimum) torque magnitude, 1/32 N m."""
    extreme_angles_deg: tuple[int, int] | None = None
    """(maximum, minimum) angle, degrees, 12 bits each."""
    top_dead_spot_deg: int | None = None
    bottom_dead_spot_deg: int | None = None
    accumulated_energy_kj: int | None = None
    other_flags: int = 0
    """Flag bits that announce no field (indicators, reserved)."""

    def __post_init__(self) -> None:
        check_range("power_w", self.power_w, -32768, 32767)
        check_range("other_flags", self.other_flags, 0, 0xFFFF)
        if self.other_flags & PRESENCE_MASK:
            raise ValueError(
                "other_flags must not contain field-presence bits "
                f"(mask {PRESENCE_MASK:#06x}), got {self.other_flags:#06x}"
            )
        for name, lo, hi in (
            ("pedal_power_balance_raw", 0, 0xFF),
            ("accumulated_torque_raw", 0, 0xFFFF),
            ("wheel_revolutions", 0, 0xFFFFFFFF),
            ("last_wheel_event_raw", 0, 0xFFFF),
            ("crank_revolutions", 0, 0xFFFF),
            ("last_crank_event_raw", 0, 0xFFFF),
            ("top_dead_spot_deg", 0, 0xFFFF),
            ("bottom_dead_spot_deg", 0, 0xFFFF),
            ("accumulated_energy_kj", 0, 0xFFFF),
        ):
            v = getattr(self, name)
            if v is not None:
                check_range(name, v, lo, hi)
        for count, event in (
            ("wheel_revolutions", "last_wheel_event_raw"),
            ("crank_revolutions", "last_crank_event_raw"),
        ):
            if (getattr(self, count) is None) != (getattr(self, event) is None):
                raise ValueError(f"{count} and {event} are sent together: give both or neither")
        for name, lo, hi in (
            ("extreme_forces_n", -32768, 32767),
            ("extreme_torques_raw", -32768, 32767),
            ("extreme_angles_deg", 0, 0xFFF),
        ):
            v = getattr(self, name)
            if v is not None:
                if len(v) != 2:
                    raise ValueError(f"{name} must be a (maximum, minimum) pair, got {v!r}")
                check_range(f"{name}[0]", v[0], lo, hi)
                check_range(f"{name}[1]", v[1], lo, hi)

    @property
    def flags(self) -> int:
        f = self.other_flags
        for bit, present in (
            (F_PEDAL_BALANCE, self.pedal_power_balance_raw),
            (F_ACCUMULATED_TORQUE, self.accumulated_torque_raw),
            (F_WHEEL, self.wheel_revolutions),
            (F_CRANK, self.crank_revolutions),
            (F_EXTREME_FORCE, self.extreme_forces_n),
            (F_EXTREME_TORQUE, self.extreme_torques_raw),
            (F_EXTREME_ANGLES, self.extreme_angles_deg),
            (F_TOP_DEAD_SPOT, self.top_dead_spot_deg),
            (F_BOTTOM_DEAD_SPOT, self.bottom_dead_spot_deg),
            (F_ACCUMULATED_ENERGY, self.accumulated_energy_kj),
        ):
            if present is not None:
                f |= bit
        return f

    @property
    def pedal_power_balance_pct(self) -> float | None:
        return None if self.pedal_power_balance_raw is None else self.pedal_power_balance_raw / 2.0

    @property
    def last_crank_event_s(self) -> float | None:
        return None if self.last_crank_event_raw is None else self.last_crank_event_raw / 1024.0

    @property
    def last_wheel_event_s(self) -> float | None:
        return None if self.last_wheel_event_raw is None else self.last_wheel_event_raw / 2048.0

    @classmethod
    def from_bytes(cls, data: bytes) -> CyclingPowerMeasurement:
        r = Reader(data, "Cycling Power Measurement")
        flags = r.u16("flags")
        kw: dict[str, object] = {
            "power_w": r.s16("instantaneous power"),
            "other_flags": flags & ~PRESENCE_MASK & 0xFFFF,
        }
        if flags & F_PEDAL_BALANCE:
            kw["pedal_power_balance_raw"] = r.u8("pedal power balance")
        if flags & F_ACCUMULATED_TORQUE:
            kw["accumulated_torque_raw"] = r.u16("accumulated torque")
        if flags & F_WHEEL:
            kw["wheel_revolutions"] = r.u32("cumulative wheel revolutions")
            kw["last_wheel_event_raw"] = r.u16("last wheel event time")
        if flags & F_CRANK:
            kw["crank_revolutions"] = r.u16("cumulative crank revolutions")
            kw["last_crank_event_raw"] = r.u16("last crank event time")
        if flags & F_EXTREME_FORCE:
            kw["extreme_forces_n"] = (r.s16("maximum force magnitude"), r.s16("minimum force magnitude"))
        if flags & F_EXTREME_TORQUE:
            kw["extreme_torques_raw"] = (r.s16("maximum torque magnitude"), r.s16("minimum torque magnitude"))
        if flags & F_EXTREME_ANGLES:
            packed = r.u24("extreme angles")
            kw["extreme_angles_deg"] = (packed & 0xFFF, packed >> 12)
        if flags & F_TOP_DEAD_SPOT:
            kw["top_dead_spot_deg"] = r.u16("top dead spot angle")
        if flags & F_BOTTOM_DEAD_SPOT:
            kw["bottom_dead_spot_deg"] = r.u16("bottom dead spot angle")
        if flags & F_ACCUMULATED_ENERGY:
            kw["accumulated_energy_kj"] = r.u16("accumulated energy")
        r.expect_end()
        return cls(**kw)  # type: ignore[arg-type]

    def __bytes__(self) -> bytes:
        out = bytearray(self.flags.to_bytes(2, "little"))
        out += self.power_w.to_bytes(2, "little", signed=True)

        def u(v: int, n: int) -> None:
            out.extend(v.to_bytes(n, "little"))

        def s(v: int) -> None:
            out.extend(v.to_bytes(2, "little", signed=True))

        if self.pedal_power_balance_raw is not None:
            u(self.pedal_power_balance_raw, 1)
        if self.accumulated_torque_raw is not None:
            u(self.accumulated_torque_raw, 2)
        if self.wheel_revolutions is not None and self.last_wheel_event_raw is not None:
            u(self.wheel_revolutions, 4)
            u(self.last_wheel_event_raw, 2)
        if self.crank_revolutions is not None and self.last_crank_event_raw is not None:
            u(self.crank_revolutions, 2)
            u(self.last_crank_event_raw, 2)
        if self.extreme_forces_n is not None:
            s(self.extreme_forces_n[0])
            s(self.extreme_forces_n[1])
        if self.extreme_torques_raw is not None:
            s(self.extreme_torques_raw[0])
            s(self.extreme_torques_raw[1])
        if self.extreme_angles_deg is not None:
            u(self.extreme_angles_deg[0] | (self.extreme_angles_deg[1] << 12), 3)
        if self.top_dead_spot_deg is not None:
            u(self.top_dead_spot_deg, 2)
        if self.bottom_dead_spot_deg is not None:
            u(self.bottom_dead_spot_deg, 2)
        if self.accumulated_energy_kj is not None:
            u(self.accumulated_energy_kj, 2)
        return bytes(out)


class CyclingPowerDecoder(MeasurementDecoder):
    """Session decoder: one measurement per notification -> one ``power_sample`` row."""

    measurement = CyclingPowerMeasurement

    def row(self, m: CyclingPowerMeasurement) -> dict[str, Any]:
        return {
            "power_w": float(m.power_w),
            "crank_revolutions": m.crank_revolutions,
            "last_crank_event_s": m.last_crank_event_s,
        }


PROFILE = SensorProfile(
    name="cycling_power",
    service_uuid=SERVICE_UUID,
    notify_uuids=(MEASUREMENT_UUID,),
    write_uuid=None,
    sample_table="power_sample",
    make_decoder=CyclingPowerDecoder,
    default_rate_hz=None,
    config_commands=no_config,
    periodic=False,
    auto_priority=40,
)
