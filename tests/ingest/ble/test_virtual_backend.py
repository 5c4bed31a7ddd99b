"""The Bumble-backed bleak backend, driven through the real BleakClient / BleakScanner API."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from ingest.ble.virtual import (
    VirtualCharacteristic,
    VirtualLink,
    VirtualPeripheral,
    VirtualService,
    WriteRejectedError,
)

SERVICE = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE = "0000ffe9-0000-1000-8000-00805f9a34fb"
HR_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"
HR_MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_LOCATION = "00002a38-0000-1000-8000-00805f9b34fb"


async def _setup(writes: list[bytes]) -> tuple[VirtualLink, VirtualPeripheral]:
    def on_write(data: bytes) -> None:
        if data == b"bad":
            raise WriteRejectedError("not a command")
        writes.append(data)

    link = VirtualLink()
    peripheral = await link.add_peripheral(
        "WT901BLE68",
        [
            VirtualService(
                SERVICE,
                (
                    VirtualCharacteristic(NOTIFY, ("notify",)),
                    VirtualCharacteristic(WRITE, ("write", "write-without-response"), on_write),
                ),
            ),
            VirtualService(
                HR_SERVICE,
                (
                    VirtualCharacteristic(BODY_LOCATION, ("read",), value=b"\x01"),
                    VirtualCharacteristic(HR_MEASUREMENT, ("notify",)),
                ),
            ),
        ],
    )
    await peripheral.advertise()
    return link, peripheral


def test_scan_connect_services_io_and_notify() -> None:
    async def main() -> None:
        writes: list[bytes] = []
        link, peripheral = await _setup(writes)
        device = await BleakScanner.find_device_by_name("WT901BLE68", timeout=2.0, backend=link.scanner_backend)
        assert device is not None and device.address == peripheral.address
        async with BleakClient(device, backend=link.client_backend) as client:
            assert client.is_connected and client.mtu_size == 247
            uuids = {s.uuid for s in client.services}
            # Bumble's 16-bit UUIDs come back as full lower-case 128-bit strings, vendor UUIDs unchanged
            assert {SERVICE, HR_SERVICE, "00001800-0000-1000-8000-00805f9b34fb"} <= uuids
            notify = client.services.get_characteristic(NOTIFY)
            assert notify is not None and notify.properties == ["notify"]
            cccd = notify.get_descriptor("00002902-0000-1000-8000-00805f9b34fb")
            assert cccd is not None
            assert set(client.services.get_characteristic(WRITE).properties) == {"write-without-response", "write"}
            assert await client.read_gatt_char(BODY_LOCATION) == bytearray(b"\x01")

            got: list[tuple[str, bytes]] = []
            await client.start_notify(NOTIFY, lambda c, d: got.append((c.uuid, bytes(d))))
            assert await client.read_gatt_descriptor(cccd.handle) == bytearray(b"\x01\x00")
            await client.write_gatt_char(WRITE, b"\xff\xaa\x69\x88\xb5", response=True)
            await client.write_gatt_char(WRITE, b"\xff\xaa\x00\x00\x00", response=False)
            with pytest.raises(BleakGATTProtocolError):
                await client.write_gatt_char(WRITE, b"bad", response=True)
            for i in range(50):
                assert await peripheral.notify(NOTIFY, bytes([i]) * 20)
            await asyncio.sleep(0.05)
            assert writes == [b"\xff\xaa\x69\x88\xb5", b"\xff\xaa\x00\x00\x00"]
            assert got == [(NOTIFY, bytes([i]) * 20) for i in range(50)]
            await client.stop_notify(NOTIFY)
            await peripheral.notify(NOTIFY, b"late")
            await asyncio.sleep(0.02)
            assert len(got) == 50
            await client.pair()
        assert not client.is_connected

    asyncio.run(main())


def test_service_filter_and_scanner_uuid_filter() -> None:
    async def main() -> None:
        link, _peripheral = await _setup([])
        # the peripheral advertises no service UUIDs: a UUID-filtered scan must not report it
        found = await BleakScanner.discover(timeout=0.3, service_uuids=[HR_SERVICE], backend=link.scanner_backend)
        assert found == []
        device = await BleakScanner.find_device_by_name("WT901BLE68", timeout=2.0, backend=link.scanner_backend)
        async with BleakClient(device, services=["180d"], backend=link.client_backend) as client:
            assert [s.uuid for s in client.services] == [HR_SERVICE]

    asyncio.run(main())


def test_unexpected_disconnect_calls_back_and_forgets_device() -> None:
    async def main() -> None:
        link, peripheral = await _setup([])
        device = await BleakScanner.find_device_by_address(
            peripheral.address, timeout=2.0, backend=link.scanner_backend
        )
        lost = asyncio.Event()
        client = BleakClient(device, lambda _c: lost.set(), backend=link.client_backend)
        await client.connect()
        await peripheral.disconnect()
        await asyncio.wait_for(lost.wait(), 2.0)
        assert not client.is_connected and not peripheral.is_connected
        # like BlueZ after a disconnect: the stale device is unknown until seen advertising again
        with pytest.raises(BleakDeviceNotFoundError):
            await client.connect()
        await peripheral.advertise()  # Bumble does not re-advertise by itself
        device = await BleakScanner.find_device_by_address(
            peripheral.address, timeout=2.0, backend=link.scanner_backend
        )
        assert device is not None
        await client.connect()
        assert client.is_connected and peripheral.is_connected
        # a disconnect we ask for is not an unexpected one
        lost.clear()
        await client.disconnect()
        await asyncio.sleep(0.05)
        assert not lost.is_set()

    asyncio.run(main())


def test_injected_connect_faults_surface_as_bleak_errors() -> None:
    async def main() -> None:
        link, peripheral = await _setup([])
        link.connect_faults.append("[org.bluez.Error.InProgress] Operation already in progress")
        device = await BleakScanner.find_device_by_address(
            peripheral.address, timeout=2.0, backend=link.scanner_backend
        )
        client = BleakClient(device, backend=link.client_backend)
        with pytest.raises(BleakError, match="Operation already in progress"):
            await client.connect()
        await client.connect()
        assert client.is_connected
        await client.disconnect()

    asyncio.run(main())
