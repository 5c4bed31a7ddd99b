"""IMU samples in SI units: what the BLE decoders, the simulator and the bar-velocity analysis
exchange.

Frames and conventions
----------------------
* ``accel_mps2`` is the *specific force* measured by the accelerometer in the sensor frame (what
  the chip reports): a sensor lying still and flat reads ``(0, 0, +g)``.
* ``gyro_radps`` is the angular rate in the sensor frame, rad/s.
* ``angles_rad`` are the device's fused Euler angles (roll, pitch, yaw) in radians. The rotation
  from the sensor frame to the world frame (z up) is ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``
  (aerospace Z-Y-X convention, which the WitMotion fusion uses); ``analysis.imu.rotation_matrices``
  builds it.

A device's raw counts become these units in its decoder (WitMotion: ``ingest.ble.protocols.witmotion``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
            return ImuSamples(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)), None)
        angles = [b.angles_rad for b in blocks]
        return ImuSamples(
            t_ns=np.concatenate([b.t_ns for b in blocks]),
            accel_mps2=np.concatenate([b.accel_mps2 for b in blocks]),
            gyro_radps=np.concatenate([b.gyro_radps for b in blocks]),
            angles_rad=np.concatenate([a for a in angles if a is not None])
            if all(a is not None for a in angles)
            else None,
        )
