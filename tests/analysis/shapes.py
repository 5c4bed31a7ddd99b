"""Closed-form rep shapes for the bar-velocity tests, fed through the same ``ImuSamples`` path.

Independent of ``sim/barbell.py`` (whose reps are cubic Hermite splines): here the vertical bar
velocity is a chain of analytic pieces -- constant acceleration (:class:`Lin`), half-cosine blends
(:class:`Cos`), constant velocity (:class:`Hold`), an exponential taper that reaches zero at its end
(:class:`Taper`) and rest (:class:`Rest`) -- so pauses, sticking points, grinds, slow lockouts and
touch-and-go turnarounds are exact. Truth follows the definitions of docs/bar-velocity.md, on a 20 kHz
grid: the concentric phase of a rep runs from the last instant before its velocity peak at which the
bar is at rest or moving down (v <= 0) to the first instant after the peak at which v <= 0.

The sensor: specific force ``R^T (a + g e_z)`` with a fixed mounting tilt and a slow wobble of the
bar, per-axis bias, scale error and white noise; fused angles = true angles + a slow error + a leak of
the linear acceleration; an optional slowly varying accelerometer bias (``bias_drift_mps2``, a sum of
two sines of 7-13 s period) that makes integrated velocity drift the way temperature and fusion errors do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from records.imu import ImuSamples
from records.units import STANDARD_GRAVITY_MPS2

G = STANDARD_GRAVITY_MPS2
TRUTH_RATE_HZ = 20_000.0


@dataclass(frozen=True)
class Rest:
    duration_s: float

    def v(self, tau: np.ndarray, v0: float) -> np.ndarray:
        return np.zeros_like(tau)

    def end(self, v0: float) -> float:
        return 0.0


@dataclass(frozen=True)
class Hold:
    """Constant velocity (the previous piece's end velocity)."""

    duration_s: float

    def v(self, tau: np.ndarray, v0: float) -> np.ndarray:
        return np.full_like(tau, v0)

    def end(self, v0: float) -> float:
        return v0


@dataclass(frozen=True)
class _ToVelocity:
    """A piece that goes from the previous velocity to ``v1_mps`` in ``duration_s``."""

    duration_s: float
    v1_mps: float

    def end(self, v0: float) -> float:
        return self.v1_mps


@dataclass(frozen=True)
class Lin(_ToVelocity):
    """Constant acceleration from the previous velocity to ``v1_mps``."""

    def v(self, tau: np.ndarray, v0: float) -> np.ndarray:
        return v0 + (self.v1_mps - v0) * tau / self.duration_s


@dataclass(frozen=True)
class Cos(_ToVelocity):
    """Half-cosine blend from the previous velocity to ``v1_mps`` (zero acceleration at both ends)."""

    def v(self, tau: np.ndarray, v0: float) -> np.ndarray:
        return v0 + (self.v1_mps - v0) * 0.5 * (1.0 - np.cos(np.pi * tau / self.duration_s))


@dataclass(frozen=True)
class Taper:
    """Exponential approach to zero with time constant ``tau_s``, shifted to reach exactly 0 at the end."""

    duration_s: float
    tau_s: float

    def v(self, tau: np.ndarray, v0: float) -> np.ndarray:
        e_end = np.exp(-self.duration_s / self.tau_s)
        return v0 * (np.exp(-tau / self.tau_s) - e_end) / (1.0 - e_end)

    def end(self, v0: float) -> float:
        return 0.0


Piece = Rest | Hold | Lin | Cos | Taper


@dataclass(frozen=True)
class RepTruthShape:
    concentric_start_s: float
    concentric_end_s: float
    mean_velocity_mps: float
    peak_velocity_mps: float
    rom_m: float


@dataclass
class ShapeSession:
    samples: ImuSamples
    reps: list[RepTruthShape]
    t_s: np.ndarray = field(repr=False)  # truth grid
    v_mps: np.ndarray = field(repr=False)
    z_m: np.ndarray = field(repr=False)


def velocity_profile(pieces: list[Piece]) -> tuple[np.ndarray, np.ndarray]:
    """(t, v) on the 20 kHz truth grid for a chain of pieces starting at rest."""
    ts, vs = [], []
    t0, v0 = 0.0, 0.0
    for p in pieces:
        n = max(1, round(p.duration_s * TRUTH_RATE_HZ))
        tau = np.arange(n) / TRUTH_RATE_HZ
        ts.append(t0 + tau)
        vs.append(p.v(tau, v0))
        t0 += n / TRUTH_RATE_HZ
        v0 = p.end(v0)
    ts.append(np.array([t0]))
    vs.append(np.array([v0]))
    return np.concatenate(ts), np.concatenate(vs)


def _truth(t: np.ndarray, v: np.ndarray, z: np.ndarray, rep_windows: list[tuple[float, float]]) -> list[RepTruthShape]:
    out = []
    for w0, w1 in rep_windows:
        i0, i1 = np.searchsorted(t, [w0, w1])
        k = i0 + int(np.argmax(v[i0:i1]))
        nonpos = np.nonzero(v[:k] <= 0)[0]
        a = int(nonpos[-1])
        nonpos = np.nonzero(v[k:] <= 0)[0]
        b = k + int(nonpos[0])
        # sub-sample crossings (linear interpolation)
        ts = t[a] + (t[a + 1] - t[a]) * (0 - v[a]) / (v[a + 1] - v[a]) if v[a] < 0 else t[a]
        te = t[b - 1] + (t[b] - t[b - 1]) * v[b - 1] / (v[b - 1] - v[b]) if v[b] < 0 else t[b]
        zs, ze = np.interp([ts, te], t, z)
        out.append(RepTruthShape(float(ts), float(te), float((ze - zs) / (te - ts)), float(v[k]), float(ze - zs)))
    return out


def shape_session(
    pieces: list[Piece],
    rep_windows: list[tuple[float, float]],
    *,
    rate_hz: float = 100.0,
    seed: int = 0,
    tilt_deg: float = 15.0,
    noise_g: float = 0.008,
    bias_drift_mps2: float = 0.0,
    jitter_s: float = 0.0,
    fused: bool = True,
) -> ShapeSession:
    """Samples and truth for a chain of velocity pieces.

    ``rep_windows``: for each rep, a time window containing its concentric velocity peak (and no other
    rep's): the truth bounds are searched around that peak.
    """
    rng = np.random.default_rng(seed)
    t, v = velocity_profile(pieces)
    dt = 1.0 / TRUTH_RATE_HZ
    z = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)])
    reps = _truth(t, v, z, rep_windows)

    ts = np.arange(0.0, t[-1], 1.0 / rate_hz)
    if jitter_s > 0:
        ts = np.sort(ts + np.clip(rng.normal(0, jitter_s, ts.size), -0.45 / rate_hz, 0.45 / rate_hz))
        ts = ts[(ts >= 0) & (ts <= t[-1])]
    # acceleration sampled as its mean over one sample period centred on each sample (what a sensor's
    # low-pass filter gives; also well defined at the steps of constant-acceleration pieces)
    vi = np.interp(ts, t, v)
    h = 0.5 / rate_hz
    az = (np.interp(ts + h, t, v) - np.interp(ts - h, t, v)) * rate_hz
    zi = np.interp(ts, t, z)

    tilt = np.deg2rad(tilt_deg)
    ph = rng.uniform(0, 2 * np.pi, 3)
    roll = 0.8 * tilt + 0.02 * np.sin(2 * np.pi * 0.13 * ts + ph[0]) + 0.05 * zi
    pitch = 0.6 * tilt + 0.015 * np.sin(2 * np.pi * 0.09 * ts + ph[1]) + 0.03 * zi
    yaw = rng.uniform(-np.pi, np.pi) + 0.05 * np.sin(2 * np.pi * 0.04 * ts + ph[2])
    droll = 0.02 * 2 * np.pi * 0.13 * np.cos(2 * np.pi * 0.13 * ts + ph[0]) + 0.05 * vi
    dpitch = 0.015 * 2 * np.pi * 0.09 * np.cos(2 * np.pi * 0.09 * ts + ph[1]) + 0.03 * vi
    dyaw = 0.05 * 2 * np.pi * 0.04 * np.cos(2 * np.pi * 0.04 * ts + ph[2])
    sr, cr, sp, cp = np.sin(roll), np.cos(roll), np.sin(pitch), np.cos(pitch)
    sy, cy = np.sin(yaw), np.cos(yaw)
    # world specific force (0, 0, a + g); sensor frame = R^T f, R = Rz Ry Rx: third row of R per column
    fz = az + G
    f_sensor = np.stack([-sp * fz, cp * sr * fz, cp * cr * fz], axis=1)
    gyro = np.stack([droll - dyaw * sp, dpitch * cr + dyaw * cp * sr, -dpitch * sr + dyaw * cp * cr], axis=1)
    del sy, cy

    bias = rng.normal(0, 0.01 * G, 3)
    scale = 1.0 + rng.normal(0, 0.004, 3)
    acc = f_sensor * scale + bias + rng.normal(0, noise_g * G, f_sensor.shape)
    if bias_drift_mps2 > 0:
        p1, p2 = rng.uniform(7.0, 13.0, 2)
        q = rng.uniform(0, 2 * np.pi, 2)
        drift = bias_drift_mps2 * 0.5 * (np.sin(2 * np.pi * ts / p1 + q[0]) + np.sin(2 * np.pi * ts / p2 + q[1]))
        acc += drift[:, None] * np.array([0.3, 0.3, 0.9])
    gyr = gyro + rng.normal(0, np.deg2rad(0.3), 3) + rng.normal(0, np.deg2rad(0.1), gyro.shape)
    ang = np.stack([roll, pitch, yaw], axis=1)
    ang[:, :2] += np.deg2rad(0.2) * np.sin(2 * np.pi * 0.05 * ts[:, None] + rng.uniform(0, 2 * np.pi, 2))
    ang[:, 0] += 0.002 * az
    ang[:, 1] -= 0.0015 * az
    smp = ImuSamples(np.rint(ts * 1e9).astype(np.int64), acc, gyr, ang if fused else None)
    return ShapeSession(smp, reps, t, v, z)


def squat_reps(
    concentrics: list[list[Piece]],
    *,
    rom_m: float = 0.5,
    descent_s: float = 1.0,
    bottom: list[Piece] | None = None,
    bottoms: list[list[Piece]] | None = None,
    top_rest_s: float = 1.2,
    lead_s: float = 2.0,
    tail_s: float = 2.0,
) -> tuple[list[Piece], list[tuple[float, float]]]:
    """Eccentric-first reps: a constant-acceleration-then-cosine descent of ``rom_m``, the ``bottom``
    pieces (e.g. a pause; or ``bottoms``, one list per rep), each concentric (scaled so that it rises
    ``rom_m``), a rest at the top.

    Returns the pieces and, per rep, a window around its concentric phase.
    """
    pieces: list[Piece] = [Rest(lead_s)]
    windows = []
    t = lead_s
    for k, con in enumerate(concentrics):
        # descent: v = -vd at 40 % then back to 0; area = rom_m
        vd = 2.0 * rom_m / descent_s
        pieces += [Cos(0.4 * descent_s, -vd), Lin(0.6 * descent_s, 0.0)]
        t += descent_s
        for p in (bottoms[k] if bottoms is not None else bottom) or []:
            pieces.append(p)
            t += p.duration_s
        scaled = _scale_to_rise(con, rom_m)
        dur = sum(p.duration_s for p in scaled)
        windows.append((t - 0.01, t + dur + 0.01))
        pieces += scaled
        t += dur
        pieces.append(Rest(top_rest_s))
        t += top_rest_s
    pieces.append(Rest(tail_s))
    return pieces, windows


def _scale_to_rise(con: list[Piece], rom_m: float) -> list[Piece]:
    _t, v = velocity_profile(con)
    rise = float(np.sum(0.5 * (v[1:] + v[:-1])) / TRUTH_RATE_HZ)
    k = rom_m / rise
    out: list[Piece] = []
    for p in con:
        if isinstance(p, (Lin, Cos)):
            out.append(type(p)(p.duration_s, p.v1_mps * k))
        else:
            out.append(p)
    return out
