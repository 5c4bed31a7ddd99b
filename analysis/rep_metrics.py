"""Per-rep concentric metrics: velocities, ROM, power, force and (experimental) RFD.

Every function takes sampled vertical kinematics with explicit times. The
velocity is treated as linear between samples (so position is the trapezoid
integral), which makes sub-sample concentric bounds and exact time averages.

Definitions (docs/cli.md ``replay``; docs/design.md section 6)
-------------------------------------------------------------
* Concentric phase (found by :func:`analysis.reps.find_legs`): from the last
  instant before the velocity peak at which the bar was at rest or moving down
  to the first instant after it at which upward velocity is back to zero (a
  pause is not part of it; see docs/bar-velocity.md).
* Mean concentric velocity ``MCV = (z(t_end) - z(t_start)) / (t_end - t_start)``
  (time average of v).
* Mean propulsive velocity (MPV): time average of v from the concentric start
  until the bar's acceleration first drops below -g (the bar decelerates
  faster than gravity alone would: the lifter no longer pushes); MPV = MCV if
  that never happens. González-Badillo JJ, Sánchez-Medina L (2010) Int J
  Sports Med 31:347-352; Sánchez-Medina L, Pérez CE, González-Badillo JJ
  (2010) "Importance of the propulsive phase in strength assessment", Int J
  Sports Med 31:123-129.
* Peak velocity and time to peak velocity (from the concentric start).
* ROM: vertical displacement of the concentric phase.
* Force on the bar ``F = m (a + g)`` (m = load, a = vertical bar acceleration);
  peak force over the concentric phase; mean power ``mean(F v)`` (time average).
* RFD (EXPERIMENTAL: no published validation for a bar IMU; for
  eccentric-first lifts force is already high at the turnaround, so this is not
  the isometric RFD of the literature -- compare within an athlete over time
  only). F is first smoothed by a centred 40 ms moving average (also for peak
  force): the maximum of noisy differences is otherwise biased upwards.
  Onset = concentric start. ``dF/dt`` by a 20 ms central difference
  ``(F(t + 10 ms) - F(t - 10 ms)) / 0.02 s`` (F linearly interpolated);
  peak RFD = its largest value from onset to the time of peak force;
  ``RFD_0-100ms = (F(onset + 100 ms) - F(onset)) / 0.1 s`` (None when the
  concentric phase is shorter than 100 ms).
* Velocity loss: Sánchez-Medina L, González-Badillo JJ (2011) "Velocity loss
  as an indicator of neuromuscular fatigue during resistance training", Med
  Sci Sports Exerc 43:1725-1734.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.kinematics import interp_crossing, position_at
from records.units import STANDARD_GRAVITY_MPS2

RFD_HALF_STEP_S: float = 0.010
"""Half step of the central difference for dF/dt (20 ms total)."""
RFD_EARLY_WINDOW_S: float = 0.100
"""Window of the early RFD (onset to onset + 100 ms)."""
FORCE_SMOOTHING_S: float = 0.040
"""Centred moving average (s) applied to the force before peak force and RFD."""


@dataclass(frozen=True)
class ConcentricMetrics:
    """Metrics of one concentric phase (SI units)."""

    start_s: float
    end_s: float
    mean_velocity_mps: float
    mean_propulsive_velocity_mps: float
    peak_velocity_mps: float
    time_to_peak_velocity_s: float
    rom_m: float
    mean_power_w: float
    peak_force_n: float
    peak_rfd_n_per_s: float
    rfd_0_100ms_n_per_s: float | None
    peak_accel_mps2: float
    propulsive_end_s: float


def _validate(
    t_s: npt.ArrayLike, v_mps: npt.ArrayLike, a_mps2: npt.ArrayLike, z_m: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(t_s, dtype=np.float64)
    v = np.asarray(v_mps, dtype=np.float64)
    a = np.asarray(a_mps2, dtype=np.float64)
    z = np.asarray(z_m, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ValueError("t_s must be 1-D with at least 2 samples")
    if v.shape != t.shape or a.shape != t.shape or z.shape != t.shape:
        raise ValueError("t_s, v_mps, a_mps2 and z_m must have the same shape")
    if np.any(np.diff(t) < 0):
        raise ValueError("t_s must be non-decreasing")
    return t, v, a, z


def force_n(load_kg: float, accel_mps2: np.ndarray | float) -> np.ndarray | float:
    """Force on the bar ``F = m (a + g)`` (N) for vertical bar acceleration ``a``.

    Newton's second law for the bar of mass ``m = load_kg`` (docs/design.md section 6).
    """
    if not load_kg > 0:
        raise ValueError(f"load_kg must be > 0, got {load_kg}")
    return load_kg * (np.asarray(accel_mps2, dtype=np.float64) + STANDARD_GRAVITY_MPS2)


def moving_average(t_s: np.ndarray, y: np.ndarray, width_s: float) -> np.ndarray:
    """Centred moving average of y over ``[t - width/2, t + width/2]`` for irregular samples.

    ``(Y(t + w/2) - Y(t - w/2)) / w`` with Y the trapezoid integral of y (linear
    interpolation between samples, held constant beyond the ends); exact on
    linear signals away from the ends.
    """
    if not width_s > 0:
        raise ValueError(f"width_s must be > 0, got {width_s}")
    t = np.asarray(t_s, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    if t.size < 2:
        return yy.copy()
    dt = np.diff(t)
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (yy[1:] + yy[:-1]) * dt)])
    slope = np.where(dt > 0, np.diff(yy) / np.where(dt > 0, dt, 1.0), 0.0)

    def integral_at(x: np.ndarray) -> np.ndarray:  # exact for y linear between samples
        k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
        tau = x - t[k]
        return integral[k] + yy[k] * tau + 0.5 * slope[k] * tau * tau

    h = 0.5 * width_s
    lo = np.maximum(t - h, t[0])
    hi = np.minimum(t + h, t[-1])
    span = hi - lo
    out = yy.copy()
    ok = span > 0
    out[ok] = (integral_at(hi[ok]) - integral_at(lo[ok])) / span[ok]
    return out


def central_difference_rate(
    t_s: np.ndarray, y: np.ndarray, at_s: np.ndarray, half_step_s: float = RFD_HALF_STEP_S
) -> np.ndarray:
    """Rate of change ``(y(t + h) - y(t - h)) / 2h`` with y linearly interpolated.

    Parameters
    ----------
    t_s, y : numpy.ndarray
        (n,) samples (times non-decreasing).
    at_s : numpy.ndarray
        Times at which to evaluate.
    half_step_s : float
        h, seconds (> 0). 10 ms gives the 20 ms central difference of the
        RFD definition.
    """
    if not half_step_s > 0:
        raise ValueError(f"half_step_s must be > 0, got {half_step_s}")
    at = np.asarray(at_s, dtype=np.float64)
    d: npt.NDArray[np.float64] = (np.interp(at + half_step_s, t_s, y) - np.interp(at - half_step_s, t_s, y)) / (
        2.0 * half_step_s
    )
    return d


def concentric_metrics(
    t_s: np.ndarray,
    v_mps: np.ndarray,
    a_mps2: np.ndarray,
    z_m: np.ndarray,
    start_s: float,
    end_s: float,
    load_kg: float,
    force_smoothing_s: float = FORCE_SMOOTHING_S,
) -> ConcentricMetrics:
    """Metrics of the concentric phase ``[start_s, end_s]`` (see module docstring).

    Parameters
    ----------
    t_s : numpy.ndarray
        (n,) sample times, s, covering ``[start_s - 10 ms, end_s]`` when possible.
    v_mps, a_mps2, z_m : numpy.ndarray
        (n,) vertical velocity (m/s), acceleration without gravity (m/s^2)
        and position (m; the trapezoid integral of v).
    start_s, end_s : float
        Concentric bounds (``start_s < end_s``).
    load_kg : float
        Bar load (> 0).
    force_smoothing_s : float
        Width (s) of the centred moving average applied to F before peak
        force and RFD (sensor noise would otherwise bias a maximum of
        differences upwards, more so at higher sample rates); 0 disables it.
        Mean power uses the unsmoothed F.

    Returns
    -------
    ConcentricMetrics

    Notes
    -----
    MCV = (z(end) - z(start)) / (end - start). MPV: same over
    ``[start, t_p]`` with ``t_p`` the first time after ``start`` where
    ``a < -g`` (linear interpolation). Mean power = time average of
    ``F v`` (trapezoid). Peak RFD: max over sample times in
    ``[start, t(peak F)]`` (and ``start`` itself) of the 20 ms central
    difference of F. RFD_0-100 = (F(start + 0.1) - F(start)) / 0.1.
    """
    t, v, a, z = _validate(t_s, v_mps, a_mps2, z_m)
    if not load_kg > 0:
        raise ValueError(f"load_kg must be > 0, got {load_kg}")
    if not end_s > start_s:
        raise ValueError(f"end_s must be > start_s, got start {start_s}, end {end_s}")
    g = STANDARD_GRAVITY_MPS2
    duration = end_s - start_s
    z0 = position_at(t, v, z, start_s)
    z1 = position_at(t, v, z, end_s)
    rom = z1 - z0
    mcv = rom / duration

    inner = np.nonzero((t > start_s) & (t < end_s))[0]
    a_start = float(np.interp(start_s, t, a))
    a_end = float(np.interp(end_s, t, a))
    tt = np.concatenate([[start_s], t[inner], [end_s]])
    vv = np.concatenate([[0.0], v[inner], [0.0]])
    aa = np.concatenate([[a_start], a[inner], [a_end]])

    # propulsive phase: until a first drops below -g
    below = np.nonzero(aa < -g)[0]
    if below.size and below[0] > 0:
        j = int(below[0])
        tp = interp_crossing(tt[j - 1], tt[j], aa[j - 1], aa[j], -g)
    else:
        tp = end_s
    if tp > start_s + 1e-9 and tp < end_s:
        mpv = (position_at(t, v, z, tp) - z0) / (tp - start_s)
    else:
        mpv = mcv

    ipk = int(np.argmax(vv))
    peak_v = float(vv[ipk])
    ttp = float(tt[ipk] - start_s)

    f = load_kg * (aa + g)
    mean_power = float(np.trapezoid(f * vv, tt) / duration)

    f_all = load_kg * (a + g)
    if force_smoothing_s > 0:
        f_all = moving_average(t, f_all, force_smoothing_s)
    f_con = np.interp(tt, t, f_all)
    ipf = int(np.argmax(f_con))
    peak_force = float(f_con[ipf])
    rfd_at = tt[: ipf + 1]
    rfd = central_difference_rate(t, f_all, rfd_at)
    peak_rfd = float(np.max(rfd))
    if duration >= RFD_EARLY_WINDOW_S:
        f_on, f_100 = np.interp([start_s, start_s + RFD_EARLY_WINDOW_S], t, f_all)
        rfd_100: float | None = float((f_100 - f_on) / RFD_EARLY_WINDOW_S)
    else:
        rfd_100 = None
    return ConcentricMetrics(
        start_s=float(start_s),
        end_s=float(end_s),
        mean_velocity_mps=float(mcv),
        mean_propulsive_velocity_mps=float(mpv),
        peak_velocity_mps=peak_v,
        time_to_peak_velocity_s=ttp,
        rom_m=float(rom),
        mean_power_w=mean_power,
        peak_force_n=peak_force,
        peak_rfd_n_per_s=peak_rfd,
        rfd_0_100ms_n_per_s=rfd_100,
        peak_accel_mps2=float(np.max(aa)),
        propulsive_end_s=float(tp),
    )


def velocity_loss_pct(mean_velocities_mps: list[float] | np.ndarray) -> np.ndarray:
    """Velocity loss of each rep: ``100 (best so far - this) / best so far``.

    "Best so far" includes the rep itself, so the first rep (and any new best)
    has 0 %. Sánchez-Medina & González-Badillo (2011), Med Sci Sports Exerc
    43:1725-1734.

    Parameters
    ----------
    mean_velocities_mps : sequence of float
        Mean concentric velocities of the reps of one set, in order (> 0).
    """
    v = np.asarray(mean_velocities_mps, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError("mean_velocities_mps must be 1-D")
    if v.size == 0:
        return v.copy()
    if np.any(~(v > 0)):
        raise ValueError("mean velocities must be > 0")
    best = np.maximum.accumulate(v)
    return 100.0 * (best - v) / best


def set_velocity_loss_pct(mean_velocities_mps: list[float] | np.ndarray) -> float:
    """Velocity loss of a set: ``100 (best - last) / best`` on mean concentric velocity.

    Sánchez-Medina & González-Badillo (2011), Med Sci Sports Exerc 43:1725-1734.
    """
    v = np.asarray(mean_velocities_mps, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError("mean_velocities_mps must be a non-empty 1-D sequence")
    if np.any(~(v > 0)):
        raise ValueError("mean velocities must be > 0")
    best = float(v.max())
    return 100.0 * (best - float(v[-1])) / best
