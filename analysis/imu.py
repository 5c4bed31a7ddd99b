"""IMU geometry: the sensor-to-world rotation of fused Euler angles.

The samples themselves are :class:`records.imu.ImuSamples` (SI units, frames and conventions in
its module docstring); a device's raw counts become SI units in its decoder
(``ingest.ble.protocols.witmotion.raw_to_si``).

``angles_rad`` are the device's fused roll, pitch, yaw in radians; the rotation from the sensor
frame to the world frame (z up) is ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (aerospace Z-Y-X
convention, which the WitMotion fusion uses).
"""

from __future__ import annotations

import numpy as np


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
