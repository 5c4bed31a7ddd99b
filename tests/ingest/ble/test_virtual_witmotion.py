"""The virtual WitMotion, driven through plain BleakClient calls over the Bumble backend.

Frames carry their own sim sample index in ``ax`` so every received frame can be matched to the device's
truth. Rates and intervals are measured on the loop clock (the simulator's), with generous bounds.
"""

from __future__ import annotations

import asyncio
import struct
import time
from typing import Any

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from ingest.ble.virtual import VirtualLink
from ingest.ble.virtual_witmotion import (
    LOST,
    NO_LINK,
    NOTIFY_UUID,
    SENT,
    WRITE_UUID,
    RadioModel,
    VirtualDeviceError,
    VirtualWitMotion,
)
from tests.ingest.ble.virtual_motion import indexed_motion

UNLOCK = bytes.fromhex("ffaa6988b5")
RATE_200 = bytes.fromhex("ffaa030b00")
SAVE = bytes.fromhex("ffaa000000")
READ_RATE = bytes.fromhex("ffaa270300")


class Received:
    def __init__(self) -> None:
        self.t_ns: list[int] = []
        self.data: list[bytes] = []

    def __call__(self, _char: Any, data: bytearray) -> None:
        self.t_ns.append(time.monotonic_ns())
        self.data.append(bytes(data))

    def indices(self) -> list[int]:
        return [struct.unpack_from("<h", d, 2)[0] for d in self.data if d[:2] == b"\x55\x61"]

    def registers(self) -> list[bytes]:
        return [d for d in self.data if d[:2] == b"\x55\x71"]


async def _connect(link: VirtualLink, device: VirtualWitMotion, **kwargs: Any) -> BleakClient:
    found = await BleakScanner.find_device_by_address(device.address, timeout=2.0, backend=link.scanner_backend)
    assert found is not None and found.name.startswith("WT")
    client = BleakClient(found, backend=link.client_backend, **kwargs)
    await client.connect()
    return client


async def _configure(client: BleakClient) -> None:
    for command in (UNLOCK, RATE_200, SAVE):
        await client.write_gatt_char(WRITE_UUID, command, response=True)


def test_gatt_layout_default_rate_and_commands() -> None:
    async def main() -> None:
        link = VirtualLink()
        device = VirtualWitMotion(link, indexed_motion(30.0))
        await device.start()
        client = await _connect(link, device)
        service = client.services.get_service("0000ffe5-0000-1000-8000-00805f9a34fb")
        assert {c.uuid for c in service.characteristics} == {NOTIFY_UUID, WRITE_UUID}
        rx = Received()
        await client.start_notify(NOTIFY_UUID, rx)
        await asyncio.sleep(0.55)
        assert 4 <= len(rx.indices()) <= 7  # 10 Hz until configured
        # a rate command without the unlock is ignored, as on the device
        await client.write_gatt_char(WRITE_UUID, RATE_200, response=True)
        await client.write_gatt_char(WRITE_UUID, READ_RATE, response=True)
        await asyncio.sleep(0.05)
        assert device.rate_hz == 10.0
        assert rx.registers()[-1][:6] == bytes.fromhex("557103000600")  # rate register reads 0x06
        await _configure(client)
        await client.write_gatt_char(WRITE_UUID, READ_RATE, response=True)
        await asyncio.sleep(0.05)
        assert device.rate_hz == 200.0 and device.saved_rate_hz == 200.0
        assert rx.registers()[-1][:6] == bytes.fromhex("557103000b00")
        assert device.truth.commands[-4:] == [UNLOCK, RATE_200, SAVE, READ_RATE]
        await client.disconnect()
        await device.close()

    asyncio.run(main())


def test_200hz_set_is_delivered_whole_at_200_samples_per_second() -> None:
    async def main() -> None:
        link = VirtualLink()
        device = VirtualWitMotion(link, indexed_motion(2.0))
        await device.start()
        client = await _connect(link, device)
        await _configure(client)  # configure first, so the whole set streams at 200 Hz
        rx = Received()
        await client.start_notify(NOTIFY_UUID, rx)
        await asyncio.wait_for(device.finished.wait(), 10.0)
        await asyncio.sleep(0.05)
        truth = device.truth
        assert truth.lost == 0 and truth.count(NO_LINK) == 0
        assert rx.indices() == truth.sample_index  # received == sent, in order
        assert rx.indices() == list(range(400))
        sampled = np.array(truth.sampled_ns)
        rate = (len(sampled) - 1) / ((sampled[-1] - sampled[0]) / 1e9)
        assert rate == pytest.approx(200.0, rel=1e-6)  # sample times on the sim clock
        arrived = np.array(rx.t_ns)
        assert (len(arrived) - 1) / ((arrived[-1] - arrived[0]) / 1e9) == pytest.approx(200.0, rel=0.1)
        await client.disconnect()
        await device.close()

    asyncio.run(main())


def test_loss_and_bunching_are_seeded_and_recorded() -> None:
    async def run(seed: int) -> tuple[list[str], Received]:
        link = VirtualLink()
        radio = RadioModel(connection_interval_s=0.030, loss=0.05, seed=seed)
        device = VirtualWitMotion(link, indexed_motion(2.0), radio=radio)
        await device.start()
        client = await _connect(link, device)
        await _configure(client)
        rx = Received()
        await client.start_notify(NOTIFY_UUID, rx)
        await asyncio.wait_for(device.finished.wait(), 10.0)
        await asyncio.sleep(0.05)
        truth = device.truth
        sent = [i for i, s in zip(truth.sample_index, truth.status, strict=True) if s == SENT]
        assert rx.indices() == sent
        assert 0 < truth.lost == len(truth.sample_index) - len(sent)
        # bunching: frames leave in bursts at 30 ms connection events, ~6 samples each
        bursts = np.unique(np.array(truth.sent_ns)[np.array(truth.status) == SENT])
        assert len(bursts) == pytest.approx(2.0 / 0.030, rel=0.15)
        gaps = np.diff(np.array(rx.t_ns)) / 1e6
        assert np.median(gaps) < 1.0 and np.percentile(gaps, 95) > 15.0
        await client.disconnect()
        await device.close()
        return truth.status, rx

    status_a, _ = asyncio.run(run(7))
    status_b, _ = asyncio.run(run(7))
    assert status_a == status_b
    assert status_a.count(LOST) == pytest.approx(0.05 * len(status_a), abs=15)


def test_forced_disconnect_then_readvertise() -> None:
    async def main() -> None:
        link = VirtualLink()
        radio = RadioModel(disconnect_at_s=0.5, readvertise_after_s=0.2)
        device = VirtualWitMotion(link, indexed_motion(1.5), radio=radio)
        await device.start()
        lost = asyncio.Event()
        client = await _connect(link, device, disconnected_callback=lambda _c: lost.set())
        await _configure(client)
        rx = Received()
        await client.start_notify(NOTIFY_UUID, rx)
        await asyncio.wait_for(lost.wait(), 5.0)
        client = await _connect(link, device)  # found again: the device advertises after the drop
        await client.start_notify(NOTIFY_UUID, rx)  # rate was saved: still 200 Hz
        await asyncio.wait_for(device.finished.wait(), 10.0)
        await asyncio.sleep(0.05)
        truth = device.truth
        assert len(truth.disconnected_ns) == 1 and len(truth.connected_ns) == 2
        gap = truth.count(NO_LINK)
        assert 0.2 * 200 <= gap <= 1.0 * 200
        assert rx.indices() == [i for i, s in zip(truth.sample_index, truth.status, strict=True) if s == SENT]
        assert truth.lost == 0
        await client.disconnect()
        await device.close()

    asyncio.run(main())


def test_device_model_refuses_what_it_cannot_be() -> None:
    with pytest.raises(VirtualDeviceError):
        RadioModel(loss=1.0)
    with pytest.raises(VirtualDeviceError):
        RadioModel(connection_interval_s=0.001)

    async def main() -> None:
        with pytest.raises(VirtualDeviceError, match="WT"):
            VirtualWitMotion(VirtualLink(), indexed_motion(1.0), name="Polar H10")

    asyncio.run(main())
