"""Sensor registry: names, UUIDs, --sensor auto."""

from __future__ import annotations

import pytest

from ingest.ble.protocols import registry
from ingest.ble.protocols.base import normalize_uuid


def test_all_contract_sensors_registered() -> None:
    assert set(registry.PROFILES) == {"witmotion", "heart_rate", "running_speed_cadence", "cycling_power"}
    wm = registry.get_profile("witmotion")
    assert wm.service_uuid == "0000ffe5-0000-1000-8000-00805f9a34fb"
    assert wm.notify_uuids == ("0000ffe4-0000-1000-8000-00805f9a34fb",)
    assert wm.write_uuid == "0000ffe9-0000-1000-8000-00805f9a34fb"
    assert wm.default_rate_hz == 200 and wm.periodic and wm.sample_table == "imu_sample"
    assert wm.config_commands(50) == [
        bytes.fromhex("ff aa 69 88 b5"),
        bytes.fromhex("ff aa 03 08 00"),
        bytes.fromhex("ff aa 00 00 00"),
    ]
    hr = registry.get_profile("heart_rate")
    assert hr.notify_uuids == ("00002a37-0000-1000-8000-00805f9b34fb",) and hr.config_commands(None) == []
    assert registry.get_profile("cycling_power").notify_uuids == ("00002a63-0000-1000-8000-00805f9b34fb",)
    assert registry.get_profile("running_speed_cadence").service_uuid.startswith("00001814-")


def test_unknown_sensor_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"unknown sensor 'vitruve'.*witmotion"):
        registry.get_profile("vitruve")


@pytest.mark.parametrize(
    "spelling", ["180d", "0x180D", "uuid-16:180D (Heart Rate)", "0000180D-0000-1000-8000-00805F9B34FB", 0x180D]
)
def test_normalize_uuid(spelling) -> None:
    assert normalize_uuid(spelling) == "0000180d-0000-1000-8000-00805f9b34fb"


def test_normalize_uuid_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a UUID"):
        normalize_uuid("heart")


def test_profile_for_services() -> None:
    stryd = ["uuid-16:1814 (running speed and cadence)", "0x1818", "180f", "180a"]
    assert registry.profile_for_services(stryd).name == "cycling_power"
    assert registry.profile_for_services(["1814", "180f"]).name == "running_speed_cadence"
    assert registry.profile_for_services(["1800", "180d"]).name == "heart_rate"
    assert registry.profile_for_services(["0000FFE5-0000-1000-8000-00805F9A34FB", "180f"]).name == "witmotion"
    # The SIG-base spelling of ffe5 is a different UUID from WitMotion's vendor base.
    assert registry.profile_for_services(["ffe5"]) is None
    assert registry.profile_for_services([]) is None


def test_profile_for_characteristic() -> None:
    assert registry.profile_for_characteristic("2a37").name == "heart_rate"
    assert registry.profile_for_characteristic("0000ffe4-0000-1000-8000-00805f9a34fb").name == "witmotion"
    assert registry.profile_for_characteristic("2a19") is None
