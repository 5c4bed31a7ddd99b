"""Shared IMU sample type and WitMotion raw-to-SI conversion.

This module is the contract between the BLE decoder (``ingest/ble``), the
simulator (``sim/barbell.py``) and the bar-velocity analysis: all of them
exchange :class:`ImuSamples` in SI units.

Frames and conventions
----------------------
* ``accel_mps2`` is the *specific force* measured by the accelerometer in the
  sensor frame (what the chip reports): a sensor lying still and flat reads
  ``(0, 0, +g)``.
* ``gyro_radps`` is the angular rate in the sensor frame, rad/s.
* ``angles_rad`` are the device's fused Euler angles (roll, pitch, yaw) in
  radians. The rotation from the sensor frame to the world frame (z up) is
  ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (aerospace Z-Y-X convention, which the
  WitMotion fusion uses). :func:`rotation_matrices` builds it.

WitMotion WT901BLECL scales (``/work/shared/ble-protocols.md``): accelerometer
g = raw/32768*16, gyroscope deg/s = raw/32768*2000, angles deg = raw/32768*180.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STANDARD_GRAVITY_MPS2: float = 9.80665
"""Standard gravity g (m/s^2), used for the WitMotion g-unit and for force."""

WITMOTION_ACCEL_SCALE: float = 16.0 / 32768.0
"""g per raw count of the WitMotion accelerometer (full scale +-16 g)."""
WITMOTION_GYRO_SCALE: float = 2000.0 / 32768.0
"""deg/s per raw count of the WitMotion gyroscope (full scale +-2000 deg/s)."""
WITMOTION_ANGLE_SCALE: float = 180.0 / 32768.0
"""deg per raw count of the WitMotion fused angles (+-180 deg)."""

WITMOTION_ACCEL_MPS2_PER_COUNT: float = WITMOTION_ACCEL_SCALE * STANDARD_GRAVITY_MPS2
WITMOTION_GYRO_RADPS_PER_COUNT: float = np.deg2rad(WITMOTION_GYRO_SCALE)
WITMOTION_ANGLE_RAD_PER_COUNT: float = np.deg2rad(WITMOTION_ANGLE_SCALE)


@dataclass
class ImuSamples:
    """A block of IMU samples with explicit sample times, SI units.

    Attributes
    ----------
    t_ns : numpy.ndarray
        int64, shape (n,), sample times in nanoseconds (capture clock or UTC
        epoch; only differences matter). Must be non-decreasing.
    accel_mps2 : numpy.ndarray
        float64, shape (n, 3), specific force in the sensor frame, m/s^2.
    gyro_radps : numpy.ndarray
        float64, shape (n, 3), angular rate in the sensor frame, rad/s.
    angles_rad : numpy.ndarray or None
        float64, shape (n, 3), roll, pitch, yaw from the device's fusion
        (Z-Y-X convention, see module docstring), or None when the device
        does not provide them.
    """

    t_ns: np.ndarray
    accel_mps2: np.ndarray
    gyro_radps: np.ndarray
    angles_rad: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.t_ns = np.asarray(self.t_ns, dtype=np.int64)
        self.accel_mps2 = np.asarray(self.accel_mps2, dtype=np.float64)
        self.gyro_radps = np.asarray(self.gyro_radps, dtype=np.float64)
        if self.angles_rad is not None:
            self.angles_rad = np.asarray(self.angles_rad, dtype=np.float64)
        n = self.t_ns.shape[0] if self.t_ns.ndim == 1 else -1
        if self.t_ns.ndim != 1:
            raise ValueError(f"t_ns must be 1-D, got shape {self.t_ns.shape}")
        for name in ("accel_mps2", "gyro_radps", "angles_rad"):
            arr = getattr(self, name)
            if arr is None:
                continue
            if arr.shape != (n, 3):
                raise ValueError(f"{name} must have shape (n, 3) = ({n}, 3), got {arr.shape}")
        if n > 1 and np.any(np.diff(self.t_ns) < 0):
            raise ValueError("t_ns must be non-decreasing")

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])

    def slice(self, start: int, stop: int) -> ImuSamples:
        """Return samples ``[start:stop]`` as a new :class:`ImuSamples` (views, no copy)."""
        return ImuSamples(
            t_ns=self.t_ns[start:stop],
            accel_mps2=self.accel_mps2[start:stop],
            gyro_radps=self.gyro_radps[start:stop],
            angles_rad=None if self.angles_rad is None else self.angles_rad[start:stop],
        )

    @staticmethod
    def concatenate(blocks: list[ImuSamples]) -> ImuSamples:
        """Join blocks in order. Fused angles are kept only if every block has them."""
        if not blocks:
            return ImuSamples(
                np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)), None
            )
        have_angles = all(b.angles_rad is not None for b in blocks)
        return ImuSamples(
            t_ns=np.concatenate([b.t_ns for b in blocks]),
            accel_mps2=np.concatenate([b.accel_mps2 for b in blocks]),
            gyro_radps=np.concatenate([b.gyro_radps for b in blocks]),
            angles_rad=np.concatenate([b.angles_rad for b in blocks]) if have_angles else None,  # type: ignore[misc]
        )


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

    Notes
    -----
    Scales from the WitMotion WT901BLECL datasheet / official SDK
    (``/work/shared/ble-protocols.md``).
    """
    raw = np.asarray(raw_i16)
    if raw.ndim != 2 or raw.shape[1] != 9:
        raise ValueError(f"raw_i16 must have shape (n, 9), got {raw.shape}")
    if not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"raw_i16 must be an integer array, got dtype {raw.dtype}")
    r = raw.astype(np.float64)
    accel = r[:, 0:3] * WITMOTION_ACCEL_MPS2_PER_COUNT
    gyro = r[:, 3:6] * WITMOTION_GYRO_RADPS_PER_COUNT
    angles = r[:, 6:9] * WITMOTION_ANGLE_RAD_PER_COUNT
    return accel, gyro, angles


def si_to_raw(
    accel_mps2: np.ndarray, gyro_radps: np.ndarray, angles_rad: np.ndarray
) -> np.ndarray:
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
    """Build :class:`ImuSamples` (with fused angles) from sample times and raw WitMotion frames."""
    accel, gyro, angles = raw_to_si(raw_i16)
    return ImuSamples(t_ns=np.asarray(t_ns, dtype=np.int64), accel_mps2=accel, gyro_radps=gyro, angles_rad=angles)


def as_angles(angles_rad: np.ndarray) -> np.ndarray:
    """``angles_rad`` as a float64 (n, 3) array of roll, pitch, yaw; ValueError for another shape."""
    e = np.asarray(angles_rad, dtype=np.float64)
    if e.ndim != 2 or e.shape[1] != 3:
        raise ValueError(f"angles_rad must have shape (n, 3), got {e.shape}")
    return e


def rotation_matrices(angles_rad: np.ndarray) -> np.ndarray:
    """Sensor-to-world rotation matrices from roll, pitch, yaw.

    ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (Z-Y-X / aerospace convention);
    ``v_world = R @ v_sensor`` with the world z axis pointing up.

    Parameters
    ----------
    angles_rad : numpy.ndarray
        (n, 3) roll, pitch, yaw in radians.

    Returns
    -------
    numpy.ndarray
        (n, 3, 3) rotation matrices.
    """
    e = as_angles(angles_rad)
    cr, sr = np.cos(e[:, 0]), np.sin(e[:, 0])
    cp, sp = np.cos(e[:, 1]), np.sin(e[:, 1])
    cy, sy = np.cos(e[:, 2]), np.sin(e[:, 2])
    r = np.empty((e.shape[0], 3, 3))
    r[:, 0, 0] = cy * cp
    r[:, 0, 1] = cy * sp * sr - sy * cr
    r[:, 0, 2] = cy * sp * cr + sy * sr
    r[:, 1, 0] = sy * cp
    r[:, 1, 1] = sy * sp * sr + cy * cr
    r[:, 1, 2] = sy * sp * cr - cy * sr
    r[:, 2, 0] = -sp
    r[:, 2, 1] = cp * sr
    r[:, 2, 2] = cp * cr
    return r
