"""Bar kinematics from IMU samples: orientation, gravity removal, integration, drift correction.

All functions are pure numpy on arrays with explicit sample times, so irregular
spacing (jitter, lost samples) is handled by the trapezoid rule itself.

Pipeline (docs/design.md section 6)
------------------------------
1. Orientation: the world "up" direction expressed in the sensor frame, ``u``.
   With the device's fused angles (Z-Y-X roll/pitch/yaw) ``u`` is the third
   row of ``R = Rz Ry Rx`` (:func:`up_from_angles`; yaw does not matter for the
   vertical). Without them, :func:`up_from_gyro` integrates the gyroscope
   (exact quaternion products, a vectorised prefix scan) from the gravity
   direction measured by the accelerometer during the rest before a movement
   and blends in the accelerometer only at the rest after it (a complementary
   filter that trusts the accelerometer only near rest: the end error is
   removed as a rotation growing linearly in time over the movement).
2. Gravity removal: vertical specific force ``f_up = u . f`` minus the
   gravity reading measured at rest (which also absorbs accelerometer bias
   and scale along the vertical): ``a = f_up - g_rest(t)``.
3. Integration: trapezoid rule (:func:`cumulative_trapezoid`), exact for
   piecewise-linear signals.
4. Drift correction: velocity is zero at detected rest; over a movement
   between two rests the velocity error at the end is removed linearly in
   time (:func:`linear_drift_correction`), equivalent to a constant
   acceleration offset over that movement.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from analysis.imu import as_angles


def _check_times(t_s: np.ndarray, n: int | None = None) -> np.ndarray:
    t = np.asarray(t_s, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"t_s must be 1-D, got shape {t.shape}")
    if n is not None and t.shape[0] != n:
        raise ValueError(f"t_s must have the same length as the signal ({n}), got {t.shape[0]}")
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise ValueError("t_s must be non-decreasing")
    return t


def cumulative_trapezoid(y: np.ndarray, t_s: np.ndarray, initial: float = 0.0) -> np.ndarray:
    """Cumulative trapezoid integral of ``y`` over sample times ``t_s``.

    ``out[0] = initial``, ``out[k] = out[k-1] + (y[k-1] + y[k]) / 2 * (t[k] - t[k-1])``.
    Exact when ``y`` is linear between samples; handles irregular spacing.

    Parameters
    ----------
    y : numpy.ndarray
        (n,) or (n, m) samples.
    t_s : numpy.ndarray
        (n,) non-decreasing sample times, seconds.
    initial : float
        Value of the integral at ``t_s[0]``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``y``.
    """
    y = np.asarray(y, dtype=np.float64)
    t = _check_times(t_s, y.shape[0] if y.ndim else None)
    out = np.empty_like(y)
    if y.shape[0] == 0:
        return out
    out[0] = initial
    if y.shape[0] > 1:
        dt = np.diff(t)
        if y.ndim > 1:
            dt = dt.reshape((-1,) + (1,) * (y.ndim - 1))
        inc = 0.5 * (y[1:] + y[:-1]) * dt
        np.cumsum(inc, axis=0, out=out[1:])
        out[1:] += initial
    return out


def up_from_angles(angles_rad: np.ndarray) -> np.ndarray:
    """World up direction in the sensor frame from fused roll, pitch (yaw unused).

    For ``R = Rz(yaw) Ry(pitch) Rx(roll)`` (sensor -> world), the up vector in
    sensor coordinates is ``R^T e_z = (-sin p, cos p sin r, cos p cos r)``.

    Parameters
    ----------
    angles_rad : numpy.ndarray
        (n, 3) roll, pitch, yaw in radians.

    Returns
    -------
    numpy.ndarray
        (n, 3) unit vectors.
    """
    e = as_angles(angles_rad)
    sr, cr = np.sin(e[:, 0]), np.cos(e[:, 0])
    sp, cp = np.sin(e[:, 1]), np.cos(e[:, 1])
    return np.stack([-sp, cp * sr, cp * cr], axis=1)


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product of quaternion arrays (..., 4) stored as (w, x, y, z)."""
    pw, px, py, pz = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qw, qx, qy, qz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(np.broadcast_shapes(p.shape, q.shape))
    out[..., 0] = pw * qw - px * qx - py * qy - pz * qz
    out[..., 1] = pw * qx + px * qw + py * qz - pz * qy
    out[..., 2] = pw * qy - px * qz + py * qw + pz * qx
    out[..., 3] = pw * qz + px * qy - py * qx + pz * qw
    return out


def gyro_attitude(t_s: np.ndarray, gyro_radps: np.ndarray) -> np.ndarray:
    """Attitude of the sensor relative to its first sample, by exact gyro integration.

    ``q_k = dq_1 * dq_2 * ... * dq_k`` with ``dq_k = exp(w_mid dt / 2)``
    (``w_mid`` the mean rate of samples k-1 and k, body frame). The prefix
    product is a vectorised Hillis-Steele scan (log2 n passes), no per-sample
    Python loop.

    Returns
    -------
    numpy.ndarray
        (n, 4) unit quaternions (w, x, y, z); ``v_first = q_k v_k q_k*``.
    """
    w = np.asarray(gyro_radps, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != 3:
        raise ValueError(f"gyro_radps must have shape (n, 3), got {w.shape}")
    t = _check_times(t_s, w.shape[0])
    n = w.shape[0]
    q = np.zeros((n, 4))
    q[:, 0] = 1.0
    if n < 2:
        return q
    theta = 0.5 * (w[1:] + w[:-1]) * np.diff(t)[:, None]
    ang = np.linalg.norm(theta, axis=1)
    half = 0.5 * ang
    # sin(x/2)/x with a series near 0
    k = np.where(ang > 1e-8, np.sin(half) / np.where(ang > 1e-8, ang, 1.0), 0.5 - ang * ang / 48.0)
    q[1:, 0] = np.cos(half)
    q[1:, 1:] = theta * k[:, None]
    q = quat_prefix_product(q)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q


def _hillis_steele(q: np.ndarray) -> np.ndarray:
    shift = 1
    n = q.shape[0]
    while shift < n:
        q[shift:] = quat_multiply(q[:-shift], q[shift:])
        shift *= 2
    return q


def quat_prefix_product(q: np.ndarray, block: int = 8) -> np.ndarray:
    """Inclusive prefix product ``p_k = q_0 q_1 ... q_k`` of quaternions (n, 4), vectorised.

    Blocked scan: a sequential pass over ``block`` positions, vectorised across
    blocks, then a log-step scan of the block totals: about 2n products, and
    ``block`` + log2(n / block) numpy passes instead of a per-sample loop.
    """
    q = np.array(q, dtype=np.float64, copy=True)
    n = q.shape[0]
    if n <= block:
        return _hillis_steele(q)
    nb = -(-n // block)
    padded = np.zeros((nb * block, 4))
    padded[:, 0] = 1.0
    padded[:n] = q
    b = padded.reshape(nb, block, 4)
    for k in range(1, block):
        b[:, k] = quat_multiply(b[:, k - 1], b[:, k])
    totals = _hillis_steele(b[:, -1].copy())
    b[1:] = quat_multiply(totals[:-1, None, :], b[1:])
    return padded[:n]


def rotate_by_conjugate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate fixed vector ``v`` (3,) by the conjugate of each quaternion: ``q* v q`` -> (n, 3)."""
    qw = q[:, 0:1]
    qv = -q[:, 1:4]
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), qv.shape)
    t = 2.0 * np.cross(qv, v)
    return v + qw * t + np.cross(qv, t)


def rotate_about_axis(v: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rodrigues rotation of vectors v (n, 3) about a unit axis (3,) by angles (n,)."""
    k = np.asarray(axis, dtype=np.float64)
    c = np.cos(angle_rad)[:, None]
    s = np.sin(angle_rad)[:, None]
    kxv = np.cross(np.broadcast_to(k, v.shape), v)
    kdv = (v @ k)[:, None]
    out: npt.NDArray[np.float64] = v * c + kxv * s + k * kdv * (1.0 - c)
    return out


def up_from_gyro(
    t_s: np.ndarray,
    gyro_radps: np.ndarray,
    up_start: np.ndarray,
    up_end: np.ndarray | None = None,
    blend_start_s: float | None = None,
    blend_end_s: float | None = None,
) -> np.ndarray:
    """World up in the sensor frame by gyro integration with an accelerometer correction at rest.

    The up vector measured at rest before the movement (``up_start``, the
    normalised mean specific force) is carried through the movement by the
    gyroscope (:func:`gyro_attitude`). If ``up_end`` (measured at the rest
    after the movement) is given, the mismatch at the end is removed by a
    rotation about ``u_gyro(end) x up_end`` whose angle grows linearly from 0
    at ``blend_start_s`` to the full mismatch at ``blend_end_s`` (defaults: the
    first and last sample): the accelerometer is trusted only at rest, the
    gyroscope in between.

    Returns
    -------
    numpy.ndarray
        (n, 3) unit up vectors in the sensor frame.
    """
    t = _check_times(t_s)
    u0 = np.asarray(up_start, dtype=np.float64)
    if u0.shape != (3,) or not np.linalg.norm(u0) > 0:
        raise ValueError("up_start must be a non-zero 3-vector")
    u0 = u0 / np.linalg.norm(u0)
    q = gyro_attitude(t, gyro_radps)
    u = rotate_by_conjugate(q, u0)
    if up_end is None or t.size < 2:
        return u
    u1 = np.asarray(up_end, dtype=np.float64)
    if u1.shape != (3,) or not np.linalg.norm(u1) > 0:
        raise ValueError("up_end must be a non-zero 3-vector")
    u1 = u1 / np.linalg.norm(u1)
    ue = u[-1]
    axis = np.cross(ue, u1)
    s = np.linalg.norm(axis)
    if s < 1e-12:
        return u
    angle = np.arctan2(s, float(ue @ u1))
    t0 = t[0] if blend_start_s is None else blend_start_s
    t1 = t[-1] if blend_end_s is None else blend_end_s
    frac = np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)
    return rotate_about_axis(u, axis / s, angle * frac)


def vertical_specific_force(accel_mps2: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Vertical component ``u . f`` of the specific force (m/s^2); +g at rest."""
    a = np.asarray(accel_mps2, dtype=np.float64)
    if a.shape != np.shape(up):
        raise ValueError(f"accel_mps2 and up must have the same shape, got {a.shape} and {np.shape(up)}")
    f_up: npt.NDArray[np.float64] = np.einsum("ij,ij->i", a, up)
    return f_up


def linear_drift_correction(v_mps: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, float]:
    """Remove a velocity drift growing linearly in time so that v = 0 at both ends.

    ``v_c(t) = v(t) - v(t_end) (t - t_0) / (t_end - t_0)`` given ``v(t_0) = 0``
    (integration started at rest). Equivalent to subtracting the constant
    acceleration offset ``v(t_end) / (t_end - t_0)``, which is returned.

    Returns
    -------
    (numpy.ndarray, float)
        Corrected velocity and the acceleration offset removed (m/s^2).
    """
    v = np.asarray(v_mps, dtype=np.float64)
    t = _check_times(t_s, v.shape[0])
    if v.size < 2 or t[-1] <= t[0]:
        return v.copy(), 0.0
    offset = (v[-1] - v[0]) / (t[-1] - t[0])
    return v - v[0] - offset * (t - t[0]), float(offset)


def interp_crossing(t0: float, t1: float, y0: float, y1: float, level: float = 0.0) -> float:
    """Time at which the line through (t0, y0), (t1, y1) reaches ``level`` (t0 if flat)."""
    if y1 == y0:
        return t0
    frac = (level - y0) / (y1 - y0)
    return t0 + (t1 - t0) * min(max(frac, 0.0), 1.0)


def position_at(t_s: np.ndarray, v_mps: np.ndarray, z_m: np.ndarray, t: float) -> float:
    """Position at time t for velocity linear between samples (consistent with the trapezoid rule)."""
    k = int(np.searchsorted(t_s, t, side="right")) - 1
    k = min(max(k, 0), len(t_s) - 2)
    dt = t_s[k + 1] - t_s[k]
    if dt <= 0:
        return float(z_m[k])
    tau = t - t_s[k]
    slope = (v_mps[k + 1] - v_mps[k]) / dt
    return float(z_m[k] + v_mps[k] * tau + 0.5 * slope * tau * tau)
