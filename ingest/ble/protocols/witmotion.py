"""WitMotion WT901BLECL / BWT901BLECL5.0 IMU: frames, stream parser, configuration commands.

Pure sans-IO (no bleak, no duckdb). Facts from docs/ble-protocols.md:

* Data frame ``55 61`` + 9 little-endian int16 (ax ay az gx gy gz roll pitch yaw), 20 bytes,
  no checksum, no timestamp, no sequence number.
* Register reply ``55 71 regL regH`` + 8 int16, 20 bytes, on the same characteristic.
* Frames may be split across notifications or merged within one; the parser resynchronises on
  ``55 61`` / ``55 71`` and skips anything else.
* Commands are 5 bytes ``FF AA <reg> <lo> <hi>`` to the write characteristic.

Because frames carry no checksum, a garbage byte pair ``55 61`` / ``55 71`` met while the
parser is *out of sync* is taken as a frame header; once in sync, whole frames are consumed, so
``55 61`` inside a frame's payload is never mistaken for a header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ingest.ble.protocols.base import (
    DecodedChunk,
    ProtocolError,
    SensorProfile,
    TruncatedError,
    check_range,
)
from records.imu import ImuSamples
from records.units import STANDARD_GRAVITY_MPS2

VENDOR_BASE_SUFFIX = "-0000-1000-8000-00805f9a34fb"
SERVICE_UUID = "0000ffe5" + VENDOR_BASE_SUFFIX
NOTIFY_UUID = "0000ffe4" + VENDOR_BASE_SUFFIX
WRITE_UUID = "0000ffe9" + VENDOR_BASE_SUFFIX

FRAME_LEN = 20
HEADER = 0x55
KIND_DATA = 0x61
KIND_REGISTER = 0x71
_I16x9 = struct.Struct("<9h")
_REG_REPLY = struct.Struct("<H8h")

# Output rate codes (register 0x03) and bandwidth codes (register 0x1F).
RATE_CODES: dict[float, int] = {1.0: 0x03, 5.0: 0x05, 10.0: 0x06, 50.0: 0x08, 100.0: 0x09, 200.0: 0x0B}
BANDWIDTH_CODES: dict[float, int] = {5.0: 7, 10.0: 6, 20.0: 5, 42.0: 4, 98.0: 3, 188.0: 2}
MAX_RATE_HZ = 200.0
DEFAULT_RATE_HZ = 200.0
"""Rate we configure when the user gives none (the device's own default is 10 Hz)."""

REG_SAVE = 0x00
REG_CALIBRATE = 0x01
REG_RATE = 0x03
REG_BANDWIDTH = 0x1F
REG_READ = 0x27
REG_UNLOCK = 0x69
REG_MAGNETOMETER = 0x3A
REG_BATTERY = 0x64
UNLOCK_VALUE = 0xB588


# --------------------------------------------------------------------------------------------
# Raw counts <-> SI units (WT901BLECL datasheet / official SDK, docs/ble-protocols.md):
# accelerometer g = raw/32768*16, gyroscope deg/s = raw/32768*2000, angles deg = raw/32768*180.

WITMOTION_ACCEL_SCALE: float = 16.0 / 32768.0
"""g per raw count of the WitMotion accelerometer (full scale +-16 g)."""
WITMOTION_GYRO_SCALE: float = 2000.0 / 32768.0
"""deg/s per raw count of the WitMotion gyroscope (full scale +-2000 deg/s)."""
WITMOTION_ANGLE_SCALE: float = 180.0 / 32768.0
"""deg per raw count of the WitMotion fused angles (+-180 deg)."""

WITMOTION_ACCEL_MPS2_PER_COUNT: float = WITMOTION_ACCEL_SCALE * STANDARD_GRAVITY_MPS2
WITMOTION_GYRO_RADPS_PER_COUNT: float = float(np.deg2rad(WITMOTION_GYRO_SCALE))
WITMOTION_ANGLE_RAD_PER_COUNT: float = float(np.deg2rad(WITMOTION_ANGLE_SCALE))


def raw_to_si(raw_i16: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert WitMotion raw int16 frames to SI arrays.

    Parameters
    ----------
    raw_i16 : numpy.ndarray
        Integer array of shape (n, 9): ax ay az gx gy gz roll pitch yaw as the
        device sends them (little-endian int16 already decoded).

    Returns
    -------
    accel_mps2 : numpy.ndarray
        (n, 3) specific force, m/s^2: ``raw / 32768 * 16 * g``.
    gyro_radps : numpy.ndarray
        (n, 3) angular rate, rad/s: ``deg2rad(raw / 32768 * 2000)``.
    angles_rad : numpy.ndarray
        (n, 3) roll, pitch, yaw, rad: ``deg2rad(raw / 32768 * 180)``.
    """
    raw = np.asarray(raw_i16)
    if raw.ndim != 2 or raw.shape[1] != 9:
        raise ValueError(f"raw_i16 must have shape (n, 9), got {raw.shape}")
    if not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"raw_i16 must be an integer array, got dtype {raw.dtype}")
    # three columns at a time: the same numbers as converting the (n, 9) array at once, without a
    # float64 copy of all nine columns beside the results (52 MB for an hour at 200 Hz)
    accel = raw[:, 0:3].astype(np.float64) * WITMOTION_ACCEL_MPS2_PER_COUNT
    gyro = raw[:, 3:6].astype(np.float64) * WITMOTION_GYRO_RADPS_PER_COUNT
    angles = raw[:, 6:9].astype(np.float64) * WITMOTION_ANGLE_RAD_PER_COUNT
    return accel, gyro, angles


def si_to_raw(accel_mps2: np.ndarray, gyro_radps: np.ndarray, angles_rad: np.ndarray) -> np.ndarray:
    """Quantise SI arrays to WitMotion int16 frames (inverse of :func:`raw_to_si`).

    Values are rounded to the nearest count and saturated at the int16 range
    (as the device clips at full scale). Angles are wrapped to [-pi, pi).

    Returns
    -------
    numpy.ndarray
        int16 array of shape (n, 9).
    """
    a = np.asarray(accel_mps2, dtype=np.float64)
    g = np.asarray(gyro_radps, dtype=np.float64)
    e = np.asarray(angles_rad, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3 or g.shape != a.shape or e.shape != a.shape:
        raise ValueError("accel_mps2, gyro_radps and angles_rad must all have the same shape (n, 3)")
    e = (e + np.pi) % (2.0 * np.pi) - np.pi
    out = np.empty((a.shape[0], 9), dtype=np.float64)
    out[:, 0:3] = a / WITMOTION_ACCEL_MPS2_PER_COUNT
    out[:, 3:6] = g / WITMOTION_GYRO_RADPS_PER_COUNT
    out[:, 6:9] = e / WITMOTION_ANGLE_RAD_PER_COUNT
    np.rint(out, out=out)
    np.clip(out, -32768, 32767, out=out)
    return out.astype(np.int16)


def samples_from_raw(t_ns: np.ndarray, raw_i16: np.ndarray) -> ImuSamples:
    """:class:`records.imu.ImuSamples` (with fused angles) from sample times and raw WitMotion frames."""
    accel, gyro, angles = raw_to_si(raw_i16)
    return ImuSamples(t_ns=np.asarray(t_ns, dtype=np.int64), accel_mps2=accel, gyro_radps=gyro, angles_rad=angles)


@dataclass(frozen=True)
class DataFrame:
    """One ``55 61`` data frame: the nine raw int16 values as sent.

    Use :meth:`to_si` (or :func:`decode_data_frames` + ``raw_to_si`` for many) for SI units.
    """

    ax: int
    ay: int
    az: int
    gx: int
    gy: int
    gz: int
    roll: int
    pitch: int
    yaw: int

    def __post_init__(self) -> None:
        for name, value in zip(_FIELDS, self.raw, strict=True):
            check_range(name, value, -32768, 32767)

    @property
    def raw(self) -> tuple[int, ...]:
        return (self.ax, self.ay, self.az, self.gx, self.gy, self.gz, self.roll, self.pitch, self.yaw)

    @classmethod
    def from_bytes(cls, data: bytes) -> DataFrame:
        _check_frame(data, KIND_DATA)
        return cls(*_I16x9.unpack_from(data, 2))

    def __bytes__(self) -> bytes:
        return bytes((HEADER, KIND_DATA)) + _I16x9.pack(*self.raw)

    def to_si(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(accel_mps2 (3,), gyro_radps (3,), angles_rad (3,)) of this frame."""
        a, g, e = raw_to_si(np.array([self.raw], dtype=np.int16))
        return a[0], g[0], e[0]


_FIELDS = ("ax", "ay", "az", "gx", "gy", "gz", "roll", "pitch", "yaw")


@dataclass(frozen=True)
class RegisterReply:
    """One ``55 71`` register reply: the register number and the eight int16 values read."""

    register: int
    values: tuple[int, int, int, int, int, int, int, int]

    def __post_init__(self) -> None:
        check_range("register", self.register, 0, 0xFFFF)
        if len(self.values) != 8:
            raise ValueError(f"values must hold 8 int16, got {len(self.values)}")
        for i, v in enumerate(self.values):
            check_range(f"values[{i}]", v, -32768, 32767)

    @classmethod
    def from_bytes(cls, data: bytes) -> RegisterReply:
        _check_frame(data, KIND_REGISTER)
        reg, *vals = _REG_REPLY.unpack_from(data, 2)
        return cls(reg, tuple(vals))

    def __bytes__(self) -> bytes:
        return bytes((HEADER, KIND_REGISTER)) + _REG_REPLY.pack(self.register, *self.values)

    @property
    def battery_v(self) -> float | None:
        """Battery voltage if this is the reply to register 0x64 (first value / 100)."""
        return self.values[0] / 100.0 if self.register == REG_BATTERY else None


def _check_frame(data: bytes, kind: int) -> None:
    if len(data) != FRAME_LEN:
        cls = TruncatedError if len(data) < FRAME_LEN else ProtocolError
        raise cls(
            "WitMotion frame has the wrong length", offset=0, expected=f"{FRAME_LEN} bytes", got=f"{len(data)} bytes"
        )
    if data[0] != HEADER or data[1] != kind:
        raise ProtocolError(
            "WitMotion frame header mismatch", offset=0, expected=f"55 {kind:02x}", got=bytes(data[:2]).hex(" ")
        )


# --------------------------------------------------------------------------------------------
# Vectorised decoding


def decode_data_frames(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Decode a buffer that is exactly a run of ``55 61`` data frames to raw int16 (n, 9).

    The fast path (numpy, no per-frame Python): raises :class:`ProtocolError` naming the first
    bad frame if the length is not a multiple of 20 or any frame lacks the ``55 61`` header. For
    arbitrary streams use :class:`WitMotionStreamParser`.
    """
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if buf.size % FRAME_LEN:
        raise TruncatedError(
            "buffer is not a whole number of WitMotion frames",
            offset=buf.size - buf.size % FRAME_LEN,
            expected=f"a multiple of {FRAME_LEN} bytes",
            got=f"{buf.size} bytes",
        )
    frames = buf.reshape(-1, FRAME_LEN)
    bad = np.flatnonzero((frames[:, 0] != HEADER) | (frames[:, 1] != KIND_DATA))
    if bad.size:
        i = int(bad[0])
        raise ProtocolError(
            "not a WitMotion data frame", offset=i * FRAME_LEN, expected="55 61", got=bytes(frames[i, :2]).hex(" ")
        )
    return _payload_i16(frames)


def _payload_i16(frames: np.ndarray) -> np.ndarray:
    """(n, 20) uint8 data frames -> (n, 9) int16 (little-endian payload)."""
    return np.ascontiguousarray(frames[:, 2:]).view("<i2").astype(np.int16).reshape(-1, 9)


def encode_data_frames(raw_i16: np.ndarray) -> bytes:
    """Inverse of :func:`decode_data_frames`: raw (n, 9) int16 -> concatenated 20-byte frames."""
    raw = np.asarray(raw_i16)
    if raw.ndim != 2 or raw.shape[1] != 9:
        raise ValueError(f"raw_i16 must have shape (n, 9), got {raw.shape}")
    if raw.size and (raw.min() < -32768 or raw.max() > 32767):
        raise ValueError("raw_i16 values must fit int16")
    out = np.empty((raw.shape[0], FRAME_LEN), dtype=np.uint8)
    out[:, 0] = HEADER
    out[:, 1] = KIND_DATA
    out[:, 2:] = raw.astype("<i2").view(np.uint8).reshape(-1, 18)
    return out.tobytes()


# --------------------------------------------------------------------------------------------
# Stream parser


@dataclass
class ParsedChunk:
    """Output of :meth:`WitMotionStreamParser.feed` for one chunk of bytes.

    ``raw_i16`` are the data frames completed by this chunk, in order; ``registers`` the
    register replies; ``skipped_bytes`` the garbage bytes discarded while resynchronising.
    """

    raw_i16: np.ndarray
    registers: list[RegisterReply]
    skipped_bytes: int


class WitMotionStreamParser:
    """Incremental frame parser fed arbitrary chunks (notifications).

    Feeding a byte stream in any chunking yields the same frames as feeding it whole; a frame's
    bytes are reported by the chunk that completes it. Runs of consecutive data frames are
    decoded with numpy in one go.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped_bytes_total = 0
        self.frames_total = 0
        self.registers_total = 0

    def reset(self) -> None:
        """Drop a partial frame (after a reconnect: its tail will never come)."""
        self.skipped_bytes_total += len(self._buf)
        self._buf.clear()

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def feed(self, chunk: bytes | bytearray | memoryview) -> ParsedChunk:
        if not self._buf:
            fast = self._whole_data_frames(chunk)
            if fast is not None:
                return fast
        buf = self._buf
        buf += chunk
        blocks: list[np.ndarray] = []
        registers: list[RegisterReply] = []
        skipped = 0
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            if buf[pos] != HEADER or buf[pos + 1] not in (KIND_DATA, KIND_REGISTER):
                nxt = buf.find(HEADER, pos + 1)
                # Keep a trailing lone 0x55: its kind byte may come in the next chunk.
                new_pos = n - 1 if nxt < 0 and buf[n - 1] == HEADER else (n if nxt < 0 else nxt)
                skipped += new_pos - pos
                pos = new_pos
                continue
            if n - pos < FRAME_LEN:
                break
            if buf[pos + 1] == KIND_DATA:
                # Fast path: take the longest run of whole data frames starting here.
                whole = (n - pos) // FRAME_LEN
                # bytes() copy: a numpy view would pin the bytearray and forbid resizing it.
                frames = np.frombuffer(bytes(buf[pos : pos + whole * FRAME_LEN]), dtype=np.uint8)
                frames = frames.reshape(whole, FRAME_LEN)
                ok = (frames[:, 0] == HEADER) & (frames[:, 1] == KIND_DATA)
                run = whole if ok.all() else int(np.argmin(ok))
                blocks.append(_payload_i16(frames[:run]))
                pos += run * FRAME_LEN
            else:
                registers.append(RegisterReply.from_bytes(bytes(buf[pos : pos + FRAME_LEN])))
                pos += FRAME_LEN
        if pos == n - 1 and buf[pos] != HEADER:
            skipped += 1
            pos = n
        del buf[:pos]
        raw = np.concatenate(blocks) if blocks else np.zeros((0, 9), dtype=np.int16)
        self.skipped_bytes_total += skipped
        self.frames_total += raw.shape[0]
        self.registers_total += len(registers)
        return ParsedChunk(raw, registers, skipped)

    def _whole_data_frames(self, chunk: bytes | bytearray | memoryview) -> ParsedChunk | None:
        """The usual notification (whole data frames only, nothing buffered) in three numpy calls;
        None for anything else (the general path then handles it)."""
        data = bytes(chunk)
        n = len(data) // FRAME_LEN
        if n == 0 or len(data) % FRAME_LEN or data[0::FRAME_LEN] != _HEADERS[:n] or data[1::FRAME_LEN] != _KINDS[:n]:
            return None
        # 20-byte frames = 10 little-endian int16 words: the header word, then the 9 values
        raw = np.frombuffer(data, dtype="<i2").reshape(n, 10)[:, 1:].astype(np.int16)
        self.frames_total += n
        return ParsedChunk(raw, [], 0)


_HEADERS = bytes([HEADER]) * 64
_KINDS = bytes([KIND_DATA]) * 64


def iter_frames(data: bytes) -> list[DataFrame | RegisterReply]:
    """Parse a whole buffer into frame records (garbage skipped; a trailing partial frame dropped)."""
    out: list[DataFrame | RegisterReply] = []
    pos = 0
    n = len(data)
    while pos + FRAME_LEN <= n:
        if data[pos] == HEADER and data[pos + 1] == KIND_DATA:
            out.append(DataFrame.from_bytes(data[pos : pos + FRAME_LEN]))
            pos += FRAME_LEN
        elif data[pos] == HEADER and data[pos + 1] == KIND_REGISTER:
            out.append(RegisterReply.from_bytes(data[pos : pos + FRAME_LEN]))
            pos += FRAME_LEN
        else:
            pos += 1
    return out


class WitMotionDecoder:
    """:class:`~ingest.ble.protocols.base.NotificationDecoder` for the session: payload -> SI columns."""

    def __init__(self) -> None:
        self.parser = WitMotionStreamParser()

    def reset(self) -> None:
        self.parser.reset()

    def feed(self, data: bytes) -> DecodedChunk:
        """Decode one notification. ``columns`` stays empty: SI columns are computed for many
        samples at once with :func:`imu_columns` (per-notification conversion costs more than
        the parsing)."""
        parsed = self.parser.feed(data)
        raw = parsed.raw_i16
        return DecodedChunk(
            n=raw.shape[0], raw_i16=raw, skipped_bytes=parsed.skipped_bytes, extras=list(parsed.registers)
        )


def imu_columns(raw_i16: np.ndarray) -> dict[str, np.ndarray]:
    """``imu_sample`` columns (SI) of raw (n, 9) frames, vectorised."""
    accel, gyro, angles = raw_to_si(raw_i16)
    return {
        "ax_mps2": accel[:, 0],
        "ay_mps2": accel[:, 1],
        "az_mps2": accel[:, 2],
        "gx_radps": gyro[:, 0],
        "gy_radps": gyro[:, 1],
        "gz_radps": gyro[:, 2],
        "roll_rad": angles[:, 0],
        "pitch_rad": angles[:, 1],
        "yaw_rad": angles[:, 2],
    }


# --------------------------------------------------------------------------------------------
# Configuration commands


@dataclass(frozen=True)
class Command:
    """A 5-byte configuration command ``FF AA <register> <value lo> <value hi>``."""

    register: int
    value: int

    def __post_init__(self) -> None:
        check_range("register", self.register, 0, 0xFF)
        check_range("value", self.value, 0, 0xFFFF)

    @classmethod
    def from_bytes(cls, data: bytes) -> Command:
        if len(data) != 5:
            err = TruncatedError if len(data) < 5 else ProtocolError
            raise err("WitMotion command has the wrong length", offset=0, expected="5 bytes", got=f"{len(data)} bytes")
        if data[0] != 0xFF or data[1] != 0xAA:
            raise ProtocolError(
                "WitMotion command prefix mismatch", offset=0, expected="ff aa", got=bytes(data[:2]).hex(" ")
            )
        return cls(data[2], data[3] | (data[4] << 8))

    def __bytes__(self) -> bytes:
        return bytes((0xFF, 0xAA, self.register, self.value & 0xFF, self.value >> 8))


def unlock() -> bytes:
    return bytes(Command(REG_UNLOCK, UNLOCK_VALUE))


def save() -> bytes:
    return bytes(Command(REG_SAVE, 0))


def set_rate(rate_hz: float) -> bytes:
    """Output-rate command; only the device's rates (1, 5, 10, 50, 100, 200 Hz) are accepted."""
    code = RATE_CODES.get(float(rate_hz))
    if code is None:
        raise ValueError(f"WitMotion output rate must be one of {sorted(RATE_CODES)} Hz, got {rate_hz}")
    return bytes(Command(REG_RATE, code))


def set_bandwidth(bandwidth_hz: float) -> bytes:
    code = BANDWIDTH_CODES.get(float(bandwidth_hz))
    if code is None:
        raise ValueError(f"WitMotion bandwidth must be one of {sorted(BANDWIDTH_CODES)} Hz, got {bandwidth_hz}")
    return bytes(Command(REG_BANDWIDTH, code))


def calibrate_accelerometer() -> bytes:
    return bytes(Command(REG_CALIBRATE, 1))


def read_register(register: int) -> bytes:
    """Ask for a register; the answer arrives as a :class:`RegisterReply` on the notify characteristic."""
    check_range("register", register, 0, 0xFF)
    return bytes(Command(REG_READ, register))


def config_commands(rate_hz: float | None) -> list[bytes]:
    """After connecting: unlock, set the output rate, save (the device defaults to 10 Hz)."""
    return [unlock(), set_rate(DEFAULT_RATE_HZ if rate_hz is None else rate_hz), save()]


PROFILE = SensorProfile(
    name="witmotion",
    service_uuid=SERVICE_UUID,
    notify_uuids=(NOTIFY_UUID,),
    write_uuid=WRITE_UUID,
    sample_table="imu_sample",
    make_decoder=WitMotionDecoder,
    default_rate_hz=DEFAULT_RATE_HZ,
    config_commands=config_commands,
    periodic=True,
    auto_priority=10,
    name_prefixes=("WT",),
)
