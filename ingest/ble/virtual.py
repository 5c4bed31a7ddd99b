"""A Bumble-backed bleak backend: real ``BleakClient``/``BleakScanner`` calls over an in-process link.

``VirtualLink`` owns one Bumble ``LocalLink`` with a central ``Device`` (bleak's side) and any number of
peripheral ``Device``s built from plain GATT descriptions (``VirtualService``). Its ``client_backend`` and
``scanner_backend`` are ``BaseBleakClient``/``BaseBleakScanner`` subclasses bound to the link, to pass as
``BleakClient(..., backend=link.client_backend)``. This is the only module that imports Bumble; the device
models (``virtual_witmotion``) speak to Bumble through ``VirtualPeripheral`` only.

The central keeps a device cache filled by scanning and emptied on disconnect, as BlueZ does: connecting to
an address that was not seen advertising since its last disconnect raises ``BleakDeviceNotFoundError``.
``connect_faults`` injects connect errors (e.g. BlueZ's "Operation already in progress") for tests.
LocalLink delivers instantly: radio timing (bunching, loss) is the device model's business.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid as uuid_lib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import gatt
from bumble.att import ATT_Error, ErrorCode
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device, Peer
from bumble.hci import HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR, Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

log = logging.getLogger(__name__)

_PROPERTY_FLAGS = {
    "read": gatt.Characteristic.Properties.READ,
    "write": gatt.Characteristic.Properties.WRITE,
    "write-without-response": gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "notify": gatt.Characteristic.Properties.NOTIFY,
    "indicate": gatt.Characteristic.Properties.INDICATE,
}
_UUID_LIST_TYPES = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)


class WriteRejectedError(Exception):
    """Raised by a ``VirtualCharacteristic.on_write`` handler: the central gets an ATT error response."""


def uuid_str(value: UUID) -> str:
    """A Bumble UUID (``uuid-16:1800 (generic access)`` style) as bleak's full lower-case 128-bit string."""
    return str(uuid_lib.UUID(bytes=bytes(reversed(value.uuid_128_bytes))))


@dataclass(frozen=True)
class VirtualCharacteristic:
    uuid: str
    properties: tuple[str, ...]  # among: read, write, write-without-response, notify, indicate
    on_write: Callable[[bytes], None] | None = None
    value: bytes = b""


@dataclass(frozen=True)
class VirtualService:
    uuid: str
    characteristics: tuple[VirtualCharacteristic, ...]


class VirtualPeripheral:
    """A peripheral Bumble Device serving the given services; the device model drives it."""

    def __init__(self, device: Device, name: str, chars: dict[str, gatt.Characteristic[bytes]]) -> None:
        self._device = device
        self.name = name
        self.address = device.random_address.to_string(False)
        self._chars = chars
        self._connection: Connection | None = None
        self.on_connect: Callable[[], None] | None = None
        self.on_disconnect: Callable[[], None] | None = None
        self.on_subscribe: Callable[[str, bool], None] | None = None
        device.on("connection", self._on_connection)
        device.on("characteristic_subscription", self._on_subscription)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        connection.on("disconnection", self._on_disconnection)
        if self.on_connect:
            self.on_connect()

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = None
        if self.on_disconnect:
            self.on_disconnect()

    def _on_subscription(
        self, _conn: Connection, char: gatt.Characteristic[bytes], notify: bool, indicate: bool
    ) -> None:
        if self.on_subscribe:
            self.on_subscribe(uuid_str(char.uuid), bool(notify or indicate))

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def advertise(self, interval_ms: float = 20.0) -> None:
        """(Re)start connectable advertising with the name; Bumble does not resume it after a disconnect."""
        data = AdvertisingData(
            [(AdvertisingData.FLAGS, bytes([0x06])), (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())]
        )
        await self._device.start_advertising(
            advertising_data=bytes(data),
            auto_restart=False,
            advertising_interval_min=interval_ms,
            advertising_interval_max=interval_ms,
        )

    async def stop_advertising(self) -> None:
        await self._device.stop_advertising()

    async def notify(self, char_uuid: str, data: bytes) -> bool:
        """Notify the connected central if it subscribed; False when there is no link to send on."""
        connection = self._connection
        if connection is None:
            return False
        await self._device.notify_subscriber(connection, self._chars[char_uuid], data)
        return True

    async def disconnect(self) -> None:
        """Peripheral-initiated disconnect: the central sees an unexpected link loss."""
        if self._connection is not None:
            await self._connection.disconnect(HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)


class VirtualLink:
    """One in-process LocalLink: a central for bleak and the peripherals added with ``add_peripheral``."""

    def __init__(self, *, connect_faults: Iterable[str] = ()) -> None:
        # A link cut with notifications still queued makes Bumble's controller warn once per packet:
        # simulator noise, not ours to show.
        logging.getLogger("bumble.controller").setLevel(logging.ERROR)
        self.connect_faults: list[str] = list(connect_faults)
        self.seen: dict[str, Address] = {}  # the central's device cache, like BlueZ's
        self._link: LocalLink | None = None
        self._central: Device | None = None
        self._numbers = itertools.count(1)
        self._scan_listeners: set[Callable[[BLEDevice, AdvertisementData], None]] = set()
        self.client_backend: type[VirtualBleakClient] = type(
            "VirtualBleakClient", (VirtualBleakClient,), {"link": self}
        )
        self.scanner_backend: type[VirtualBleakScanner] = type(
            "VirtualBleakScanner", (VirtualBleakScanner,), {"link": self}
        )

    async def _new_device(self, name: str) -> Device:
        if self._link is None:
            self._link = LocalLink()  # type: ignore[no-untyped-call]  # bumble: LocalLink.__init__ unannotated
        address = f"F0:00:00:00:00:{next(self._numbers):02X}"  # non-zero (static random) address
        controller = Controller(name, link=self._link, public_address=address)
        device = Device(name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller)))
        await device.power_on()
        return device

    async def central(self) -> Device:
        if self._central is None:
            self._central = await self._new_device("runstrong-central")
            self._central.on("advertisement", self._on_advertisement)
        return self._central

    async def add_peripheral(self, name: str, services: Iterable[VirtualService]) -> VirtualPeripheral:
        device = await self._new_device(name)
        chars: dict[str, gatt.Characteristic[bytes]] = {}
        for service in services:
            built = [self._characteristic(c) for c in service.characteristics]
            chars.update({c.uuid.lower(): b for c, b in zip(service.characteristics, built, strict=True)})
            device.add_service(gatt.Service(service.uuid, built))
        return VirtualPeripheral(device, name, chars)

    @staticmethod
    def _characteristic(spec: VirtualCharacteristic) -> gatt.Characteristic[bytes]:
        flags = gatt.Characteristic.Properties(0)
        for name in spec.properties:
            flags |= _PROPERTY_FLAGS[name]

        def write(_conn: Connection, value: bytes) -> None:
            try:
                if spec.on_write:
                    spec.on_write(bytes(value))
            except WriteRejectedError as exc:
                raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED, message=str(exc)) from exc

        permissions = gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE
        value = gatt.CharacteristicValue(read=lambda _c: spec.value, write=write)
        return gatt.Characteristic(spec.uuid, flags, permissions, value)

    def _on_advertisement(self, adv: Any) -> None:
        address = adv.address.to_string(False)
        self.seen[address] = adv.address
        name = adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or adv.data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
        uuids = [uuid_str(u) for t in _UUID_LIST_TYPES for u in (adv.data.get(t) or [])]
        data = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=adv.rssi,
            platform_data=(adv,),
        )
        for listener in list(self._scan_listeners):
            listener(BLEDevice(address, name, adv.address), data)

    async def listen(self, listener: Callable[[BLEDevice, AdvertisementData], None]) -> None:
        central = await self.central()
        self._scan_listeners.add(listener)
        if not central.is_scanning:
            await central.start_scanning(filter_duplicates=False)

    async def unlisten(self, listener: Callable[[BLEDevice, AdvertisementData], None]) -> None:
        self._scan_listeners.discard(listener)
        if not self._scan_listeners and self._central is not None and self._central.is_scanning:
            await self._central.stop_scanning()


class VirtualBleakScanner(BaseBleakScanner):
    link: ClassVar[VirtualLink]

    def __init__(self, detection_callback: Any, service_uuids: list[str] | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)

    def _on_adv(self, device: BLEDevice, adv: AdvertisementData) -> None:
        if self.is_allowed_uuid(adv.service_uuids):
            device = self.create_or_update_device(device.address, device.address, device.name, device.details, adv)
            self.call_detection_callbacks(device, adv)

    async def start(self) -> None:
        self.seen_devices = {}
        await self.link.listen(self._on_adv)

    async def stop(self) -> None:
        await self.link.unlisten(self._on_adv)


class VirtualBleakClient(BaseBleakClient):
    link: ClassVar[VirtualLink]

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 30.0),
        )
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._wanted: set[str] | None = kwargs.get("services")
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self.link.connect_faults:
            raise BleakError(self.link.connect_faults.pop(0))
        target = self.link.seen.get(self.address.upper())
        if target is None:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        central = await self.link.central()
        if central.is_scanning:  # like most adapters, do not scan while connecting
            await central.stop_scanning()
        try:
            connection = await central.connect(target, timeout=self._timeout)
        except Exception as exc:  # Bumble raises its own timeout/HCI errors
            raise BleakError(f"connect to {self.address} failed: {exc}") from exc
        self._connection, self._peer, self._closing = connection, Peer(connection), False
        connection.on("disconnection", self._on_disconnection)
        await self._peer.request_mtu(247)
        self.services = await self._discover()
        if pair:
            await self.pair()

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = self._peer = None
        self.link.seen.pop(self.address.upper(), None)  # BlueZ forgets the device: rescan to reconnect
        if not self._closing and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        collection = BleakGATTServiceCollection()
        mtu = self.mtu_size
        for service in await self._peer.discover_services():
            if self._wanted and uuid_str(service.uuid) not in self._wanted:
                continue
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in await service.discover_characteristics():
                props = [name for name, flag in _PROPERTY_FLAGS.items() if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    uuid_str(char.uuid),
                    props,  # type: ignore[arg-type]
                    lambda: mtu - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(BleakGATTDescriptor(desc, desc.handle, uuid_str(desc.type), bleak_char))
        return collection

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def disconnect(self) -> None:
        if self._connection is not None:
            self._closing = True
            await self._connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        if self._connection is None:
            raise BleakError("Not connected")
        await self._connection.pair()

    async def unpair(self) -> None:
        log.info("virtual link keeps no bonds: unpair is a no-op")

    async def _att(self, operation: Any) -> Any:
        try:
            return await operation
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        return bytearray(await self._att(self._require_peer().read_value(characteristic.obj)))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        return bytearray(await self._att(self._require_peer().read_value(descriptor.handle)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        await self._att(self._require_peer().write_value(characteristic.obj, bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._att(self._require_peer().write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        await self._att(self._require_peer().subscribe(characteristic.obj, lambda v: callback(bytearray(v))))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        await self._att(self._require_peer().unsubscribe(characteristic.obj))
