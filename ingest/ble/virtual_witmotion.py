"""A virtual WitMotion WT901BLECL on a ``VirtualLink``, playing a simulated barbell set.

The device serves the real GATT layout (service ffe5, notify ffe4, write ffe9, a name starting ``WT``),
honours the real commands (unlock, output rate, save, register read), streams at 10 Hz until a rate command
arrives, and plays the simulated set's raw frames paced on the event loop clock (``loop.time()``, i.e.
``time.monotonic``: the same clock the client stamps arrivals with). The radio model is off unless asked
for: connection-event bunching, random notification loss and a forced disconnect, with a seed.

``truth`` records what the device did with every frame it produced, for tests and the benchmark.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ingest.ble.protocols import witmotion as wm
from ingest.ble.virtual import (
    VirtualCharacteristic,
    VirtualLink,
    VirtualPeripheral,
    VirtualService,
    WriteRejectedError,
)

SERVICE_UUID, NOTIFY_UUID, WRITE_UUID = wm.SERVICE_UUID, wm.NOTIFY_UUID, wm.WRITE_UUID
RATE_CODES_HZ = {code: hz for hz, code in wm.RATE_CODES.items()}
DEFAULT_RATE_CODE = wm.RATE_CODES[10.0]  # the device's own default until configured
UNLOCK_S = 10.0  # how long an unlock lets register writes through

SENT, LOST, NO_LINK = "sent", "lost", "no_link"


class SimulatedSet(Protocol):
    t_s: np.ndarray  # (n,) sample times, s
    raw_i16: np.ndarray  # (n, 9) ax ay az gx gy gz roll pitch yaw as the device sends them
    reps: list[Any]


class VirtualDeviceError(Exception):
    """The virtual device was asked for something it cannot model."""


@dataclass(frozen=True)
class RadioModel:
    """What the radio does to the stream; everything is off by default."""

    connection_interval_s: float | None = None  # bunching: frames leave only at connection events
    loss: float = 0.0  # probability that a frame is lost (one frame per notification unless packed)
    disconnect_at_s: float | None = None  # the device drops the link this long after streaming starts
    readvertise_after_s: float = 0.3  # radio silence after the forced disconnect
    frames_per_notification: int = 1  # >1: frames leaving together are packed into one notification
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss < 1.0:
            raise VirtualDeviceError(f"loss must be in [0, 1), got {self.loss}")
        if not 1 <= self.frames_per_notification <= 12:
            raise VirtualDeviceError("frames_per_notification must be 1..12 (12 frames fill a 247-byte MTU)")
        if self.connection_interval_s is not None and not 0.0075 <= self.connection_interval_s <= 4.0:
            raise VirtualDeviceError("connection_interval_s must be within BLE's 7.5 ms .. 4 s")


@dataclass
class DeviceTruth:
    """Every frame the device produced: its sim sample index, when it was sampled and what became of it."""

    sample_index: list[int] = field(default_factory=list)
    sampled_ns: list[int] = field(default_factory=list)  # the frame's true sample time (loop clock)
    sent_ns: list[int] = field(default_factory=list)  # when handed to the link (-1 if not sent)
    status: list[str] = field(default_factory=list)
    disconnected_ns: list[int] = field(default_factory=list)
    connected_ns: list[int] = field(default_factory=list)
    commands: list[bytes] = field(default_factory=list)
    reps: list[Any] = field(default_factory=list)
    motion_start_ns: int | None = None  # loop-clock time of motion t = 0 (the first subscription)

    def count(self, status: str) -> int:
        return self.status.count(status)

    @property
    def sent(self) -> int:
        return self.count(SENT)

    @property
    def lost(self) -> int:
        return self.count(LOST)

    def motion_ns(self, t_s: float) -> int:
        """The loop-clock time at which the motion instant ``t_s`` (sim seconds) was sampled."""
        if self.motion_start_ns is None:
            raise VirtualDeviceError("the device has not started streaming")
        return self.motion_start_ns + round(t_s * 1e9)


class VirtualWitMotion:
    """The simulated sensor. ``await start()``, then connect with bleak; ``finished`` is set at the set's end."""

    def __init__(
        self,
        link: VirtualLink,
        motion: SimulatedSet,
        *,
        name: str = "WT901BLE68",
        radio: RadioModel | None = None,
        stress_rate_hz: float | None = None,
        ignore_rate_commands: bool = False,
        reject_writes: bool = False,
    ) -> None:
        if not name.startswith("WT"):
            raise VirtualDeviceError("WitMotion devices advertise names starting with 'WT'")
        t = np.asarray(motion.t_s, dtype=float)
        if len(t) < 2:
            raise VirtualDeviceError("the simulated set needs at least two samples")
        self._link, self._name = link, name
        self._radio = radio or RadioModel()
        self._stress_rate_hz = stress_rate_hz  # replaces 200 Hz: a stress test of our pipeline only
        self._ignore_rate, self._reject = ignore_rate_commands, reject_writes
        encoded = wm.encode_data_frames(np.asarray(motion.raw_i16))
        self._frames = [encoded[i : i + wm.FRAME_LEN] for i in range(0, len(encoded), wm.FRAME_LEN)]
        self._sim_rate_hz = (len(t) - 1) / float(t[-1] - t[0])
        self._duration_s = float(t[-1] - t[0]) + 1.0 / self._sim_rate_hz
        self._rng = random.Random(self._radio.seed)
        self._rate_code = DEFAULT_RATE_CODE
        self._saved_rate_code = DEFAULT_RATE_CODE
        self._unlocked_until = -1.0
        self._subscribed = False
        self._started = asyncio.Event()
        self.finished = asyncio.Event()
        self.truth = DeviceTruth(reps=list(motion.reps))
        self._peripheral: VirtualPeripheral | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: list[tuple[int, bytes]] = []  # (truth row, frame) waiting for a connection event

    @property
    def rate_hz(self) -> float:
        rate = RATE_CODES_HZ[self._rate_code]
        return self._stress_rate_hz if (self._stress_rate_hz and rate == 200.0) else rate

    def frame(self, index: int) -> bytes:
        """The 20-byte data frame of sim sample ``index`` (to match received payloads against the truth)."""
        return self._frames[index]

    @property
    def saved_rate_hz(self) -> float:
        return RATE_CODES_HZ[self._saved_rate_code]

    @property
    def address(self) -> str:
        if self._peripheral is None:
            raise VirtualDeviceError("the device is not started")
        return self._peripheral.address

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        service = VirtualService(
            SERVICE_UUID,
            (
                VirtualCharacteristic(NOTIFY_UUID, ("notify",)),
                VirtualCharacteristic(WRITE_UUID, ("write", "write-without-response"), on_write=self._on_command),
            ),
        )
        self._peripheral = await self._link.add_peripheral(self._name, [service])
        self._peripheral.on_connect = lambda: self.truth.connected_ns.append(self._now_ns())
        self._peripheral.on_disconnect = self._on_disconnect
        self._peripheral.on_subscribe = self._on_subscribe
        await self._peripheral.advertise()
        self._spawn(self._stream())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop_streaming(self) -> None:
        """Stop producing frames (and any pending link drop); the link stays up."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.stop_streaming()
        if self._peripheral is not None:
            await self._peripheral.disconnect()

    @staticmethod
    def _now_ns() -> int:
        return round(asyncio.get_running_loop().time() * 1e9)

    def _on_disconnect(self) -> None:
        self._subscribed = False
        self.truth.disconnected_ns.append(self._now_ns())

    def _on_subscribe(self, char_uuid: str, enabled: bool) -> None:
        if char_uuid == NOTIFY_UUID:
            self._subscribed = enabled
            if enabled:
                self._started.set()

    def _on_command(self, data: bytes) -> None:
        self.truth.commands.append(data)
        if self._reject:
            raise WriteRejectedError("device rejected the write")
        try:
            command = wm.Command.from_bytes(data)
        except ValueError:
            return  # the real device ignores what it does not parse
        now = asyncio.get_running_loop().time()
        if command.register == wm.REG_UNLOCK and command.value == wm.UNLOCK_VALUE:
            self._unlocked_until = now + UNLOCK_S
        elif command.register == wm.REG_READ:
            self._spawn(self._reply_register(command.value))
        elif now > self._unlocked_until:
            return  # register writes need a recent unlock
        elif command.register == wm.REG_RATE and command.value in RATE_CODES_HZ and not self._ignore_rate:
            self._rate_code = command.value
        elif command.register == wm.REG_SAVE and command.value == 0:
            self._saved_rate_code = self._rate_code

    async def _reply_register(self, register: int) -> None:
        values = tuple(self._rate_code if register + i == wm.REG_RATE else 0 for i in range(8))
        frame = bytes(wm.RegisterReply(register, values))  # type: ignore[arg-type]
        if self._peripheral is not None and self._subscribed:
            await self._peripheral.notify(NOTIFY_UUID, frame)

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        await self._started.wait()
        start = loop.time()
        self.truth.motion_start_ns = round(start * 1e9)
        interval = self._radio.connection_interval_s
        next_sample, next_event, motion_s = start, start, 0.0
        disconnect_at = None if self._radio.disconnect_at_s is None else start + self._radio.disconnect_at_s
        while motion_s < self._duration_s - 1e-9:
            now = loop.time()
            while next_sample <= now and motion_s < self._duration_s - 1e-9:
                self._produce(next_sample, min(round(motion_s * self._sim_rate_hz), len(self._frames) - 1))
                step = 1.0 / self.rate_hz
                next_sample += step
                motion_s += step
            if disconnect_at is not None and now >= disconnect_at:
                disconnect_at = None
                self._spawn(self._drop_link())
            if interval is None or now >= next_event:
                await self._flush()
                if interval is not None:
                    next_event += interval * max(1, int((now - next_event) // interval) + 1)
            wake = next_sample if interval is None else min(next_sample, next_event)
            await asyncio.sleep(max(0.0, wake - loop.time()))
        await self._flush()
        self.finished.set()

    def _produce(self, sampled_at: float, index: int) -> None:
        truth = self.truth
        truth.sample_index.append(index)
        truth.sampled_ns.append(round(sampled_at * 1e9))
        truth.sent_ns.append(-1)
        if self._peripheral is None or not self._peripheral.is_connected or not self._subscribed:
            truth.status.append(NO_LINK)
        elif self._radio.loss and self._rng.random() < self._radio.loss:
            truth.status.append(LOST)
        else:
            truth.status.append(SENT)
            self._pending.append((len(truth.status) - 1, self._frames[index]))

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        sent_ns = self._now_ns()
        per = self._radio.frames_per_notification
        for i in range(0, len(pending), per):
            rows = [row for row, _frame in pending[i : i + per]]
            payload = b"".join(frame for _row, frame in pending[i : i + per])
            sent = (
                self._subscribed
                and self._peripheral is not None
                and await self._peripheral.notify(NOTIFY_UUID, payload)
            )
            for row in rows:
                if sent:
                    self.truth.sent_ns[row] = sent_ns
                else:
                    self.truth.status[row] = NO_LINK

    async def _drop_link(self) -> None:
        if self._peripheral is None:
            return
        self._subscribed = False  # from the decision on, nothing more goes out on this link
        await self._peripheral.disconnect()
        await asyncio.sleep(self._radio.readvertise_after_s)
        await self._peripheral.advertise()  # Bumble does not resume advertising by itself
