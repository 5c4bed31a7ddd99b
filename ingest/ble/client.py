"""The bleak client: find a sensor, connect, configure, subscribe, and keep the link up.

One of the two modules that import bleak (the other is ``virtual``). Both backends are injectable so the
same code runs against BlueZ on a real machine and against ``VirtualLink`` in tests and ``--virtual``.

Everything that arrives goes onto one ``asyncio.Queue`` as ``(t_ns, char_uuid, payload)`` with
``t_ns = time.monotonic_ns()`` on arrival; link events go onto the same queue as ``(t_ns, LINK_EVENT,
"connected" | "disconnected")``. The notify callback does nothing but enqueue.

A WitMotion is configured with unlock, rate, save (written with response: an ATT error is an error) and the
rate register is read back over the notify characteristic: a device that ignored the rate is an error, not
silence. The read-back also proves notifications flow (BlueZ sometimes misses the first ones after
``start_notify``: we subscribe once more before giving up). Data that arrives while configuring is not
queued; ``connected`` is queued once the device streams at the configured rate, so it lies inside the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError

from ingest.ble.protocols import witmotion
from ingest.ble.protocols.base import SensorProfile
from ingest.ble.protocols.registry import get_profile, profile_for_services

LINK_EVENT = "link"
QueueItem = tuple[int, str, Any]
# BlueZ errors that go away when retried after a short wait.
TRANSIENT_ERRORS = (
    "Operation already in progress",
    "le-connection-abort-by-local",
    "Software caused connection abort",
    "In Progress",
    "Not connected",
)


class SensorClientError(Exception):
    """An expected failure of the transport, with a one-line message for the user."""


class SensorNotFoundError(SensorClientError):
    pass


class BluetoothUnavailableError(SensorClientError):
    pass


class UnknownSensorError(SensorClientError):
    pass


class ConfigurationError(SensorClientError):
    pass


class LinkLostError(SensorClientError):
    """The link dropped and did not come back within the reconnect budget."""


@dataclass(frozen=True)
class LinkPolicy:
    scan_timeout_s: float = 10.0  # first scan
    connect_timeout_s: float = 10.0
    give_up_after_s: float = 30.0  # reconnect budget after an unexpected disconnect
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 2.0
    verify_timeout_s: float = 1.0  # waiting for a register read-back


class SensorClient:
    """Streams one sensor into ``queue``. ``await connect()``, then ``await run(stop)``, then ``close()``."""

    def __init__(
        self,
        queue: asyncio.Queue[QueueItem],
        *,
        address: str | None = None,
        name: str | None = None,
        sensor: str = "auto",
        rate_hz: float | None = None,
        policy: LinkPolicy | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        if (address is None) == (name is None):
            raise SensorClientError("give exactly one of an address or a name to look for")
        self.queue = queue
        self.policy = policy or LinkPolicy()
        self._address, self._name, self._sensor, self._rate_hz = address, name, sensor, rate_hz
        self._scanner_backend, self._client_backend = scanner_backend, client_backend
        self._say = on_message or (lambda _m: None)
        self._client: BleakClient | None = None
        self._sink: asyncio.Queue[QueueItem] = queue
        self._lost = asyncio.Event()
        self._closing = False
        self.profile: SensorProfile | None = None
        self.device: BLEDevice | None = None
        self._up = False  # the last link event queued was "connected"
        self._lost_at = 0
        self.reconnects = 0
        self.gaps: list[tuple[int, int]] = []

    @property
    def rate_hz(self) -> float | None:
        """The configured output rate (None for sensors that choose their own)."""
        if self.profile is None:
            return None
        return self._rate_hz if self._rate_hz is not None else self.profile.default_rate_hz

    def _enqueue_link(self, event: str) -> int:
        t_ns = time.monotonic_ns()
        self._up = event == "connected"
        self.queue.put_nowait((t_ns, LINK_EVENT, event))
        return t_ns

    def _on_notify(self, char: Any, data: bytearray) -> None:
        self._sink.put_nowait((time.monotonic_ns(), char.uuid, bytes(data)))

    def _on_disconnect(self, _client: BleakClient) -> None:
        if self._closing:
            return
        if self._up:
            self._lost_at = self._enqueue_link("disconnected")
        self._lost.set()

    # -- finding and connecting ------------------------------------------------------------------

    def _matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        if self._address is not None:
            return device.address.lower() == self._address.lower()
        return self._name in (adv.local_name, device.name)

    async def _scan(self, timeout_s: float) -> BLEDevice:
        try:
            if self._scanner_backend is None:  # bleak's default backend for the platform
                device = await BleakScanner.find_device_by_filter(self._matches, timeout=timeout_s)
            else:
                device = await BleakScanner.find_device_by_filter(
                    self._matches, timeout=timeout_s, backend=self._scanner_backend
                )
        except OSError as exc:  # BlueZ: no D-Bus system bus socket, no adapter
            raise BluetoothUnavailableError(
                f"Bluetooth is not available on this machine ({exc}); try --virtual"
            ) from exc
        except BleakError as exc:
            raise BluetoothUnavailableError(f"Bluetooth scan failed: {exc}") from exc
        if device is None:
            wanted = f"address {self._address}" if self._address else f"name {self._name!r}"
            raise SensorNotFoundError(f"no sensor with {wanted} advertised within {timeout_s:.0f} s")
        return device

    async def _open(self, deadline: float) -> None:
        """Scan and connect until ``deadline`` (loop time), backing off on transient errors."""
        loop = asyncio.get_running_loop()
        backoff = self.policy.backoff_initial_s
        while True:
            remaining = deadline - loop.time()
            try:
                self.device = await self._scan(max(0.1, min(self.policy.scan_timeout_s, remaining)))
                client = BleakClient(
                    self.device,
                    self._on_disconnect,
                    timeout=self.policy.connect_timeout_s,
                    backend=self._client_backend,
                )
                try:
                    await client.connect()
                except BaseException:
                    with contextlib.suppress(BleakError, TimeoutError):
                        await client.disconnect()  # BlueZ may keep a half-open connection
                    raise
                self._client = client
                return
            except BleakDeviceNotFoundError:
                pass  # removed from the adapter's cache since the scan: scan again at once
            except (TimeoutError, BleakError, SensorNotFoundError) as exc:
                if loop.time() + backoff >= deadline:
                    if isinstance(exc, SensorNotFoundError):
                        raise
                    raise SensorNotFoundError(f"could not connect: {exc}") from exc
                transient = any(s in str(exc) for s in TRANSIENT_ERRORS)
                self._say(f"connect failed ({exc}); {'retrying' if transient else 'scanning again'} in {backoff:.2f} s")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.policy.backoff_max_s)
            if loop.time() >= deadline:
                raise SensorNotFoundError("the sensor disappeared from the adapter and was not seen again")

    def _resolve_profile(self) -> SensorProfile:
        assert self._client is not None
        if self._sensor != "auto":
            try:
                return get_profile(self._sensor)
            except ValueError as exc:
                raise UnknownSensorError(str(exc)) from exc
        services = [s.uuid for s in self._client.services]
        profile = profile_for_services(services)
        if profile is None:
            raise UnknownSensorError(f"no known sensor profile among the device's services: {', '.join(services)}")
        return profile

    # -- configuring -----------------------------------------------------------------------------

    async def _write(self, payload: bytes) -> None:
        assert self._client is not None and self.profile is not None and self.profile.write_uuid is not None
        char = self._client.services.get_characteristic(self.profile.write_uuid)
        if char is None:
            raise ConfigurationError(f"the device has no {self.profile.name} write characteristic")
        try:
            await self._client.write_gatt_char(char, payload, response="write" in char.properties)
        except BleakError as exc:
            raise ConfigurationError(f"the device refused command {payload.hex(' ')}: {exc}") from exc

    async def _read_witmotion_register(self, register: int, inbox: asyncio.Queue[QueueItem]) -> int | None:
        """First value of a register, read back over the notify characteristic; None if no reply came."""
        await self._write(witmotion.read_register(register))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.verify_timeout_s
        parser = witmotion.WitMotionStreamParser()
        while (remaining := deadline - loop.time()) > 0:
            try:
                _t, _char, payload = await asyncio.wait_for(inbox.get(), remaining)
            except TimeoutError:
                break
            for reply in parser.feed(payload).registers:
                if reply.register == register:
                    return reply.values[0]
        return None

    async def _configure_and_subscribe(self) -> int:
        """Subscribe (and configure), then queue ``connected``; returns that event's ``t_ns``."""
        assert self._client is not None and self.profile is not None
        profile, client = self.profile, self._client
        try:
            commands = profile.config_commands(self.rate_hz)
        except ValueError as exc:  # a rate the device cannot do
            raise ConfigurationError(str(exc)) from exc
        if not commands:
            self._sink = self.queue
            t_ns = self._enqueue_link("connected")
            for uuid in profile.notify_uuids:
                await client.start_notify(uuid, self._on_notify)
            return t_ns
        inbox: asyncio.Queue[QueueItem] = asyncio.Queue()
        self._sink = inbox  # configuration traffic and data sent meanwhile stay out of the stream
        for uuid in profile.notify_uuids:
            await client.start_notify(uuid, self._on_notify)
        for payload in commands:
            await self._write(payload)
        if profile.name == "witmotion":
            await self._verify_witmotion_rate(inbox)
        self._sink = self.queue
        return self._enqueue_link("connected")

    async def _verify_witmotion_rate(self, inbox: asyncio.Queue[QueueItem]) -> None:
        assert self._client is not None and self.profile is not None
        wanted = witmotion.RATE_CODES[float(self.rate_hz or witmotion.DEFAULT_RATE_HZ)]
        code = await self._read_witmotion_register(witmotion.REG_RATE, inbox)
        if code is None:  # missed notifications after start_notify: subscribe once more
            uuid = self.profile.notify_uuids[0]
            await self._client.stop_notify(uuid)
            await self._client.start_notify(uuid, self._on_notify)
            code = await self._read_witmotion_register(witmotion.REG_RATE, inbox)
        if code is None:
            raise ConfigurationError("the WitMotion did not answer a register read: no notifications arrive")
        if code != wanted:
            raise ConfigurationError(
                f"the WitMotion ignored the rate command: rate register reads {code:#04x}, wanted {wanted:#04x}"
            )

    # -- public ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        """First connection: find the sensor, pick its profile, configure it, subscribe, queue ``connected``."""
        loop = asyncio.get_running_loop()
        await self._open(loop.time() + self.policy.scan_timeout_s + self.policy.connect_timeout_s)
        try:
            self.profile = self._resolve_profile()
            if self._rate_hz is not None and self.profile.default_rate_hz is None:
                raise ConfigurationError(f"a {self.profile.name} sensor chooses its own rate: drop --rate-hz")
            await self._configure_and_subscribe()
        except BaseException:
            await self.close()
            raise
        assert self.device is not None
        rate = f" at {self.rate_hz:g} Hz" if self.rate_hz else ""
        self._say(f"connected to {self.device.name or '?'} ({self.device.address}) as {self.profile.name}{rate}")

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the link up until ``stop`` is set; raises ``LinkLostError`` when reconnecting gives up."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            stop_wait = asyncio.ensure_future(stop.wait())
            lost_wait = asyncio.ensure_future(self._lost.wait())
            await asyncio.wait({stop_wait, lost_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            lost_wait.cancel()
            if stop.is_set():
                return
            self._lost.clear()
            self._say("link lost; reconnecting")
            self._client = None
            deadline = loop.time() + self.policy.give_up_after_s
            try:
                connected_at = await self._reopen(deadline)
            except SensorClientError as exc:
                raise LinkLostError(
                    f"link lost and not re-established within {self.policy.give_up_after_s:g} s ({exc})"
                ) from exc
            self.reconnects += 1
            self.gaps.append((self._lost_at, connected_at))
            self._say(f"reconnected after {(connected_at - self._lost_at) / 1e9:.2f} s")

    async def _reopen(self, deadline: float) -> int:
        loop = asyncio.get_running_loop()
        while True:
            await self._open(deadline)
            try:
                return await self._configure_and_subscribe()
            except (BleakError, ConfigurationError) as exc:  # the link dropped again while configuring
                if loop.time() >= deadline:
                    raise SensorClientError(str(exc)) from exc
                self._lost.clear()

    async def close(self) -> None:
        self._closing = True
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(BleakError, asyncio.TimeoutError):
                await client.disconnect()
