"""SensorClient against the virtual WitMotion: scan, auto profile, verified configuration, reconnect."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest
from bleak.backends.scanner import BaseBleakScanner

from ingest.ble.client import (
    LINK_EVENT,
    BluetoothUnavailableError,
    ConfigurationError,
    LinkLostError,
    LinkPolicy,
    SensorClient,
    SensorNotFoundError,
    UnknownSensorError,
)
from ingest.ble.virtual import VirtualCharacteristic, VirtualLink, VirtualService
from ingest.ble.virtual_witmotion import NOTIFY_UUID, SENT, RadioModel, VirtualWitMotion
from tests.ingest.ble.virtual_motion import indexed_motion

FAST = LinkPolicy(scan_timeout_s=2.0, connect_timeout_s=2.0, give_up_after_s=5.0, verify_timeout_s=0.5)
UNLOCK = bytes.fromhex("ffaa6988b5")


def drain(queue: asyncio.Queue) -> list[tuple[int, str, Any]]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def data_indices(items: list[tuple[int, str, Any]]) -> list[int]:
    return [struct.unpack_from("<h", p, 2)[0] for _t, c, p in items if c == NOTIFY_UUID and p[:2] == b"\x55\x61"]


async def _device(seconds: float, **kwargs: Any) -> tuple[VirtualLink, VirtualWitMotion]:
    link = VirtualLink()
    device = VirtualWitMotion(link, indexed_motion(seconds), **kwargs)
    await device.start()
    return link, device


def _client(link: VirtualLink, queue: asyncio.Queue, **kwargs: Any) -> SensorClient:
    kwargs.setdefault("name", "WT901BLE68")
    return SensorClient(
        queue,
        policy=kwargs.pop("policy", FAST),
        scanner_backend=link.scanner_backend,
        client_backend=link.client_backend,
        **kwargs,
    )


def test_auto_profile_configures_200hz_and_streams_everything() -> None:
    async def main() -> None:
        link, device = await _device(2.0)
        queue: asyncio.Queue = asyncio.Queue()
        messages: list[str] = []
        client = _client(link, queue, on_message=messages.append)
        await client.connect()
        assert client.profile is not None and client.profile.name == "witmotion" and client.rate_hz == 200.0
        assert device.rate_hz == 200.0 and device.saved_rate_hz == 200.0
        assert device.truth.commands[:3] == [UNLOCK, bytes.fromhex("ffaa030b00"), bytes.fromhex("ffaa000000")]
        await asyncio.wait_for(device.finished.wait(), 10.0)
        await asyncio.sleep(0.05)
        await client.close()
        items = drain(queue)
        assert items[0][1:] == (LINK_EVENT, "connected")
        assert all(c == NOTIFY_UUID for _t, c, _p in items[1:])
        truth = device.truth
        sent_after_connect = [
            i
            for i, s, t in zip(truth.sample_index, truth.status, truth.sent_ns, strict=True)
            if s == SENT and t >= items[0][0]
        ]
        assert data_indices(items) == sent_after_connect  # nothing sent after "connected" is missing
        assert len(sent_after_connect) >= 0.9 * 400
        assert all(p[:2] == b"\x55\x61" for _t, c, p in items[1:])  # register replies stayed out
        assert "as witmotion at 200 Hz" in messages[-1]

    asyncio.run(main())


def test_reconnect_resends_configuration_and_marks_the_gap() -> None:
    async def main() -> None:
        radio = RadioModel(disconnect_at_s=0.6, readvertise_after_s=0.25)
        link, device = await _device(2.0, radio=radio)
        queue: asyncio.Queue = asyncio.Queue()
        client = _client(link, queue)
        await client.connect()
        stop = asyncio.Event()
        runner = asyncio.create_task(client.run(stop))
        await asyncio.wait_for(device.finished.wait(), 10.0)
        await asyncio.sleep(0.05)
        stop.set()
        await runner
        await client.close()
        items = drain(queue)
        events = [(t, p) for t, c, p in items if c == LINK_EVENT]
        assert [p for _t, p in events] == ["connected", "disconnected", "connected"]
        assert client.reconnects == 1 and client.gaps == [(events[1][0], events[2][0])]
        assert device.truth.commands.count(UNLOCK) == 2  # configuration sent again after the reconnect
        gap_start, gap_end = events[1][0], events[2][0]
        assert 0.2e9 < gap_end - gap_start < 3e9
        truth = device.truth
        received = data_indices(items)
        assert received == sorted(set(received))  # in order, no duplicates
        sent = {i: t for i, s, t in zip(truth.sample_index, truth.status, truth.sent_ns, strict=True) if s == SENT}
        assert set(received) <= set(sent)
        # no loss outside the gap: whatever was sent after the stream started and did not arrive
        # went out while the link was down or being set up again
        missing = [i for i in sent if i > received[0] and i not in set(received)]
        assert all(gap_start <= sent[i] <= gap_end for i in missing)
        # nothing queued between the disconnect and the reconnect
        assert not [t for t, c, _p in items if c == NOTIFY_UUID and gap_start < t < gap_end]

    asyncio.run(main())


def test_gives_up_with_a_clear_message_when_the_device_stays_away() -> None:
    async def main() -> None:
        radio = RadioModel(disconnect_at_s=0.2, readvertise_after_s=60.0)
        link, device = await _device(5.0, radio=radio)
        queue: asyncio.Queue = asyncio.Queue()
        client = _client(link, queue, policy=LinkPolicy(scan_timeout_s=2.0, give_up_after_s=1.0, verify_timeout_s=0.5))
        await client.connect()
        with pytest.raises(LinkLostError, match="not re-established within 1 s"):
            await asyncio.wait_for(client.run(asyncio.Event()), 10.0)
        await client.close()
        await device.close()

    asyncio.run(main())


def test_transient_connect_errors_are_retried() -> None:
    async def main() -> None:
        link, device = await _device(5.0)
        link.connect_faults += [
            "[org.bluez.Error.InProgress] Operation already in progress",
            "le-connection-abort-by-local",
        ]
        queue: asyncio.Queue = asyncio.Queue()
        messages: list[str] = []
        client = _client(link, queue, address=device.address.lower(), name=None, on_message=messages.append)
        await client.connect()
        assert link.connect_faults == [] and sum("retrying" in m for m in messages) == 2
        await client.close()
        await device.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ignore_rate_commands": True}, "ignored the rate command"),
        ({"reject_writes": True}, "refused command ff aa 69 88 b5"),
    ],
)
def test_configuration_failures_are_errors(kwargs: dict[str, bool], match: str) -> None:
    async def main() -> None:
        link, device = await _device(5.0, **kwargs)
        client = _client(link, asyncio.Queue())
        with pytest.raises(ConfigurationError, match=match):
            await client.connect()
        await device.close()

    asyncio.run(main())


def test_not_found_and_unknown_profiles() -> None:
    async def main() -> None:
        link, device = await _device(5.0)
        with pytest.raises(SensorNotFoundError, match="no sensor with name 'WT-nothere'"):
            await _client(
                link, asyncio.Queue(), name="WT-nothere", policy=LinkPolicy(scan_timeout_s=0.3, connect_timeout_s=0.3)
            ).connect()
        with pytest.raises(UnknownSensorError, match="unknown sensor 'vitruve'"):
            await _client(link, asyncio.Queue(), sensor="vitruve").connect()
        await device.close()
        other = await link.add_peripheral(
            "Mystery",
            [
                VirtualService(
                    "12345678-1234-5678-1234-567812345678",
                    (VirtualCharacteristic("12345678-1234-5678-1234-567812345679", ("notify",)),),
                )
            ],
        )
        await other.advertise()
        with pytest.raises(UnknownSensorError, match="12345678-1234-5678-1234-567812345678"):
            await _client(link, asyncio.Queue(), name="Mystery").connect()

    asyncio.run(main())


def test_auto_picks_heart_rate_from_gatt_services() -> None:
    hr_service = "0000180d-0000-1000-8000-00805f9b34fb"
    hr_char = "00002a37-0000-1000-8000-00805f9b34fb"

    async def main() -> None:
        link = VirtualLink()
        strap = await link.add_peripheral(
            "Polar H10", [VirtualService(hr_service, (VirtualCharacteristic(hr_char, ("notify",)),))]
        )
        await strap.advertise()
        queue: asyncio.Queue = asyncio.Queue()
        client = _client(link, queue, name="Polar H10")
        await client.connect()
        assert client.profile is not None and client.profile.name == "heart_rate" and client.rate_hz is None
        await strap.notify(hr_char, bytes.fromhex("16481e030e03"))
        await asyncio.sleep(0.02)
        await client.close()
        items = drain(queue)
        assert [(c, p) for _t, c, p in items] == [(LINK_EVENT, "connected"), (hr_char, bytes.fromhex("16481e030e03"))]
        await strap.advertise()  # a real strap advertises again after a disconnect; Bumble needs telling
        with pytest.raises(ConfigurationError, match="chooses its own rate"):
            await _client(link, asyncio.Queue(), name="Polar H10", rate_hz=200.0).connect()

    asyncio.run(main())


class NoBusScanner(BaseBleakScanner):
    """What BlueZ does on a machine without a D-Bus system bus: the socket is missing."""

    def __init__(self, detection_callback: Any, service_uuids: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    async def stop(self) -> None:
        pass


def test_no_bluetooth_is_a_clear_error() -> None:
    async def main() -> None:
        client = SensorClient(asyncio.Queue(), name="WT901BLE68", scanner_backend=NoBusScanner)
        with pytest.raises(BluetoothUnavailableError, match="Bluetooth is not available on this machine"):
            await client.connect()

    asyncio.run(main())
