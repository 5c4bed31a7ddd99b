"""WitMotion IMU on a moving bar: true bar kinematics -> raw int16 frames.

Shared by :mod:`sim.barbell` and :mod:`sim.rep_shapes`. The sensor sits on the bar, tilted
(``tilt_deg``) and rotating slightly with the bar (roll and pitch follow the vertical displacement,
yaw the horizontal one, plus slow wobble). The accelerometer reads the specific force
``R^T (a + g e_z)`` in the sensor frame, the gyroscope the body rate, and the fusion reports
roll/pitch/yaw; everything is quantised to WitMotion int16 (:func:`ingest.ble.protocols.witmotion.si_to_raw`).

Error models (:class:`SensorModel`):

* ``white`` (always on, the model of :func:`sim.barbell.simulate_session`): per-axis accelerometer
  bias (SD 0.01 g), scale error (0.4 %), white noise 0.008 g per sample; gyro bias 0.3 deg/s and
  white noise 0.1 deg/s; fused angles = true angles + a slow 0.2 deg error + a leak of the vertical
  acceleration (0.002 rad per m/s^2).
* ``bias_walk``: the accelerometer and gyro biases also drift as random walks
  (``accel_bias_walk_g_per_rt_s`` per sqrt(s), ``gyro_bias_walk_dps_per_rt_s``).
* ``coloured``: low-pass (first-order, ``coloured_cutoff_hz``) accelerometer noise of SD
  ``coloured_noise_g`` on top of the white noise: its errors do not average out within a rep.
* ``rattle``: plates and sleeve ring after each impact (bar landing on the floor or in the hooks):
  the sensor mount vibrates relative to the bar's rigid motion with displacement
  ``D exp(-t/tau) (1 - cos 2 pi f t)``, f 25-45 Hz, peak acceleration 5-25 m/s^2, tau 40-120 ms.
  Its velocity and displacement return to zero, so it changes no rep's truth; sampled at 100-200 Hz
  it aliases, as on a real device.
* ``fused_lag``: the fused angles lag the true ones (a transport delay of 20-80 ms and a
  first-order filter of 40-150 ms) and leak 3x more of the vertical acceleration.

Every random choice comes from the ``rng`` passed in; the ``white`` draws come first and in the same
order as before this module existed, so :func:`sim.barbell.simulate_session` output is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from ingest.ble.protocols.witmotion import si_to_raw
from records.units import STANDARD_GRAVITY_MPS2

G = STANDARD_GRAVITY_MPS2


@dataclass(frozen=True)
class SensorModel:
    """Which sensor error models are on (the white-noise model always is)."""

    bias_walk: bool = False
    coloured: bool = False
    rattle: bool = False
    fused_lag: bool = False
    accel_bias_walk_g_per_rt_s: float = 0.002
    gyro_bias_walk_dps_per_rt_s: float = 0.02
    coloured_noise_g: float = 0.005
    coloured_cutoff_hz: float = 3.0

    @property
    def name(self) -> str:
        on = [n for n in ("bias_walk", "coloured", "rattle", "fused_lag") if getattr(self, n)]
        return "+".join(["white", *on])


SENSOR_MODELS: dict[str, SensorModel] = {
    "white": SensorModel(),
    "rattle": SensorModel(rattle=True),
    "bias_walk": SensorModel(bias_walk=True, rattle=True),
    "coloured": SensorModel(coloured=True, rattle=True),
    "fused_lag": SensorModel(fused_lag=True, rattle=True),
    "all": SensorModel(bias_walk=True, coloured=True, rattle=True, fused_lag=True),
}
"""Named sensor models used by the scenarios (every non-white one includes the rattle)."""


@dataclass(frozen=True)
class BarKinematics:
    """True bar motion at the sample times: vertical (z up) and horizontal (x) position, velocity,
    acceleration (m, m/s, m/s^2)."""

    z: np.ndarray
    vz: np.ndarray
    az: np.ndarray
    x: np.ndarray
    vx: np.ndarray
    ax: np.ndarray


def imu_frames(
    rng: np.random.Generator,
    t: np.ndarray,
    k: BarKinematics,
    tilt_deg: float,
    model: SensorModel | None = None,
    impacts_s: tuple[float, ...] = (),
) -> np.ndarray:
    """Raw WitMotion frames (n, 9) int16 seen by the bar sensor at sample times ``t`` (s).

    ``impacts_s`` are the times of impacts that make the plates rattle (used with ``model.rattle``).
    """
    model = model or SensorModel()
    z, vz, az, x, ax = k.z, k.vz, k.az, k.x, k.ax

    # orientation: tilt + slow wobble + rotation coupled to the bar's motion
    tilt = np.deg2rad(tilt_deg)
    ph = rng.uniform(0, 2 * np.pi, 3)
    yaw0 = rng.uniform(-np.pi, np.pi)
    k_roll, k_pitch, k_yaw = 0.08, 0.04, 0.25  # rad per m of vertical / horizontal displacement
    w1, w2, w3 = 2 * np.pi * 0.11, 2 * np.pi * 0.07, 2 * np.pi * 0.03
    roll = 0.8 * tilt + 0.03 * np.sin(w1 * t + ph[0]) + k_roll * z
    pitch = 0.6 * tilt + 0.02 * np.sin(w2 * t + ph[1]) + k_pitch * z
    yaw = yaw0 + 0.1 * np.sin(w3 * t + ph[2]) + k_yaw * x
    droll = 0.03 * w1 * np.cos(w1 * t + ph[0]) + k_roll * vz
    dpitch = 0.02 * w2 * np.cos(w2 * t + ph[1]) + k_pitch * vz
    dyaw = 0.1 * w3 * np.cos(w3 * t + ph[2]) + k_yaw * k.vx

    # body rates for R = Rz(yaw) Ry(pitch) Rx(roll)
    sr, cr = np.sin(roll), np.cos(roll)
    sp, cp = np.sin(pitch), np.cos(pitch)
    gyro = np.empty((t.size, 3))
    gyro[:, 0] = droll - dyaw * sp
    gyro[:, 1] = dpitch * cr + dyaw * cp * sr
    gyro[:, 2] = -dpitch * sr + dyaw * cp * cr

    # specific force in the sensor frame: R^T (a_world + g e_z), a_world = (ax, 0, az) in a heading-free frame
    sy, cy = np.sin(yaw), np.cos(yaw)
    fw = np.stack([ax, np.zeros_like(ax), az + G], axis=1)
    f_sensor = np.empty_like(fw)
    # rows of R^T = columns of R
    r00, r10, r20 = cy * cp, sy * cp, -sp
    r01, r11, r21 = cy * sp * sr - sy * cr, sy * sp * sr + cy * cr, cp * sr
    r02, r12, r22 = cy * sp * cr + sy * sr, sy * sp * cr - cy * sr, cp * cr
    f_sensor[:, 0] = r00 * fw[:, 0] + r10 * fw[:, 1] + r20 * fw[:, 2]
    f_sensor[:, 1] = r01 * fw[:, 0] + r11 * fw[:, 1] + r21 * fw[:, 2]
    f_sensor[:, 2] = r02 * fw[:, 0] + r12 * fw[:, 1] + r22 * fw[:, 2]

    # sensor errors (white model)
    accel_bias = rng.normal(0.0, 0.01 * G, 3)
    accel_scale = 1.0 + rng.normal(0.0, 0.004, 3)
    accel_meas = f_sensor * accel_scale + accel_bias + rng.normal(0.0, 0.008 * G, f_sensor.shape)
    gyro_bias = rng.normal(0.0, np.deg2rad(0.3), 3)
    gyro_meas = gyro + gyro_bias + rng.normal(0.0, np.deg2rad(0.1), gyro.shape)
    slow = np.stack([np.sin(2 * np.pi * 0.05 * t + q) for q in rng.uniform(0, 2 * np.pi, 3)], axis=1)
    angle_err = np.deg2rad(0.2) * slow
    leak = 0.006 if model.fused_lag else 0.002
    angle_err[:, 0] += leak * az  # fusion leaks a little of the linear acceleration into tilt
    angle_err[:, 1] -= 0.75 * leak * az
    angles_true = np.stack([roll, pitch, yaw], axis=1)

    # variants (drawn after the white model, so that it is unchanged when they are off)
    if model.bias_walk:
        accel_meas += _random_walk(rng, t, model.accel_bias_walk_g_per_rt_s * G)
        gyro_meas += _random_walk(rng, t, np.deg2rad(model.gyro_bias_walk_dps_per_rt_s))
    if model.coloured:
        accel_meas += _lowpass_noise(rng, t, model.coloured_noise_g * G, model.coloured_cutoff_hz)
    if model.rattle and impacts_s:
        vib = np.zeros((t.size, 3))
        for t_hit in impacts_s:
            vib += _rattle(rng, t, t_hit)
        # world-frame vibration -> sensor frame (R^T v: dot products with the columns of R)
        accel_meas[:, 0] += r00 * vib[:, 0] + r10 * vib[:, 1] + r20 * vib[:, 2]
        accel_meas[:, 1] += r01 * vib[:, 0] + r11 * vib[:, 1] + r21 * vib[:, 2]
        accel_meas[:, 2] += r02 * vib[:, 0] + r12 * vib[:, 1] + r22 * vib[:, 2]
    if model.fused_lag:
        delay_s = rng.uniform(0.02, 0.08)
        tau_s = rng.uniform(0.04, 0.15)
        angles_true = _lagged(t, angles_true, delay_s, tau_s)
    raw = si_to_raw(accel_meas, gyro_meas, angles_true + angle_err)
    return raw


def _random_walk(rng: np.random.Generator, t: np.ndarray, sigma_per_rt_s: float) -> np.ndarray:
    """(n, 3) random walk sampled at t, increments N(0, sigma^2 dt), zero at t[0]."""
    dt = np.diff(t, prepend=t[0])
    steps = rng.normal(0.0, 1.0, (t.size, 3)) * (sigma_per_rt_s * np.sqrt(dt))[:, None]
    return np.cumsum(steps, axis=0)


def _lowpass_noise(rng: np.random.Generator, t: np.ndarray, sd: float, cutoff_hz: float) -> np.ndarray:
    """(n, 3) first-order low-pass filtered white noise of stationary SD ``sd`` (uniform-rate approximation)."""
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.01
    alpha = np.exp(-2 * np.pi * cutoff_hz * dt)
    w = rng.normal(0.0, sd * np.sqrt(1 - alpha * alpha), (t.size, 3))
    y: npt.NDArray[np.float64] = lfilter([1.0], [1.0, -alpha], w, axis=0)
    # start in the stationary state: drop the filter's warm-up by adding the decaying initial value
    y += rng.normal(0.0, sd, 3)[None, :] * alpha ** np.arange(t.size)[:, None]
    return y


def _rattle(rng: np.random.Generator, t: np.ndarray, t_hit: float) -> np.ndarray:
    """World-frame acceleration (n, 3) of the mount vibrating after an impact at t_hit.

    Displacement ``d(s) = D exp(-s/tau) (1 - cos w s)`` along a direction near vertical: d and d' are
    zero at the impact and tend to zero, so the vibration carries no net velocity or displacement.
    """
    f_hz = rng.uniform(25.0, 45.0)
    tau = rng.uniform(0.04, 0.12)
    peak = rng.uniform(5.0, 25.0)  # m/s^2 at the impact (= D w^2)
    d = np.array([*rng.normal(0.0, 0.3, 2), 1.0])
    d /= np.linalg.norm(d)
    out = np.zeros((t.size, 3))
    s = t - t_hit
    m = (s >= 0) & (s < 20 * tau)  # e^-20: the truncation leaves < 1e-7 m/s
    if m.any():
        w = 2 * np.pi * f_hz
        lam = 1.0 / tau
        ss = s[m]
        c, sn = np.cos(w * ss), np.sin(w * ss)
        acc = peak / (w * w) * np.exp(-lam * ss) * (lam * lam * (1 - c) - 2 * lam * w * sn + w * w * c)
        out[m] = acc[:, None] * d[None, :]
    return out


def _lagged(t: np.ndarray, angles: np.ndarray, delay_s: float, tau_s: float) -> np.ndarray:
    """Angles delayed by delay_s and passed through a first-order filter of time constant tau_s
    (the filter coefficient from the median sample interval)."""
    delayed = np.stack([np.interp(t - delay_s, t, angles[:, j]) for j in range(3)], axis=1)
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.01
    alpha = np.exp(-dt / tau_s)
    zi = (alpha * delayed[0])[None, :]
    out: npt.NDArray[np.float64]
    out, _ = lfilter([1.0 - alpha], [1.0, -alpha], delayed, axis=0, zi=zi)
    return out
