"""True concentric bounds and rep metrics from a simulator's exact kinematics (issue 11).

Definitions (they replace "zero crossings of the vertical velocity"):

* the **concentric phase** is the lifting phase, not a stretch of pause. It **starts** at the last
  instant before the rise at which the bar was at rest or moving down (``sup{t < t_peak: v(t) <= 0}``)
  and **ends** at the first instant after the velocity peak at which the upward velocity returns to
  zero (``inf{t > t_peak: v(t) <= 0}``), before any sway at the top;
* MCV = concentric displacement / duration; MPV = mean velocity from the start until the
  acceleration first drops below -g (= MCV if it never does; Sánchez-Medina et al. 2010);
  PV = the largest velocity; ROM = concentric displacement.

Here ``v``, ``z`` and ``a`` are the simulator's exact, continuous-time functions (not sensor data):
the bounds are found on a 0.1 ms grid and refined by bisection to ~1e-12 s, displacements are exact
differences of the position function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from records.units import STANDARD_GRAVITY_MPS2

G = STANDARD_GRAVITY_MPS2
Fn = Callable[[np.ndarray], np.ndarray]


class Kinematics(Protocol):
    """Exact vertical bar motion: velocity (m/s), position (m, up) and acceleration (m/s^2) at times t (s)."""

    def v(self, t: np.ndarray) -> np.ndarray: ...
    def z(self, t: np.ndarray) -> np.ndarray: ...
    def a(self, t: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ExactKinematics:
    """:class:`Kinematics` from three functions."""

    v: Fn
    z: Fn
    a: Fn


@dataclass(frozen=True)
class RepTruth:
    """True values of one simulated rep (sim clock, seconds from session start).

    ``start_s``/``end_s`` bound the whole rep (eccentric and concentric), ``concentric_*`` follow the
    definitions of this module. The fields after ``in_gap`` describe how :mod:`sim.rep_shapes`
    made the rep (defaults for :func:`sim.barbell.simulate_session`).
    """

    index: int
    set_index: int
    start_s: float
    end_s: float
    concentric_start_s: float
    concentric_end_s: float
    mean_velocity_mps: float
    mean_propulsive_velocity_mps: float
    peak_velocity_mps: float
    rom_m: float
    time_to_peak_velocity_s: float = 0.0
    peak_accel_mps2: float = 0.0
    in_gap: bool = False
    shape: str = "plain"
    """Rep shape (see :data:`sim.rep_shapes.SHAPES`); ``plain`` for sim.barbell."""
    family: str = "hermite"
    """Velocity-profile family of the concentric phase (``minjerk``, ``cosine``, ``spline``, ``beta``)."""
    pause_s: float = 0.0
    """Length of the still bar right before the concentric start (bottom pause, floor rest), s."""
    min_velocity_after_peak_mps: float | None = None
    """Smallest true velocity between the first velocity peak and the second push (``sticking`` and
    ``grind`` reps of sim.rep_shapes; None otherwise)."""


@dataclass(frozen=True)
class ConcentricTruth:
    start_s: float
    end_s: float
    mean_velocity_mps: float
    mean_propulsive_velocity_mps: float
    peak_velocity_mps: float
    rom_m: float
    time_to_peak_velocity_s: float
    peak_accel_mps2: float


def _bisect(v: Fn, lo: float, hi: float, lo_is_rest: bool) -> float:
    """Boundary between v <= 0 and v > 0 on [lo, hi]; lo_is_rest: v(lo) <= 0 < v(hi), else the reverse."""
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if (v(np.array([mid]))[0] <= 0.0) == lo_is_rest:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)


def concentric_truth(
    v: Fn, z: Fn, a: Fn, window: tuple[float, float], peak_window: tuple[float, float], dt_s: float = 1e-4
) -> ConcentricTruth:
    """Concentric bounds and metrics of the rep whose velocity peak lies in ``peak_window``.

    ``window`` must contain the whole concentric phase and some of the rest or lowering before it.
    """
    w0, w1 = window
    tt = np.arange(w0, w1 + dt_s, dt_s)
    vv = v(tt)
    inside = np.nonzero((tt >= peak_window[0]) & (tt <= peak_window[1]))[0]
    if inside.size == 0:
        raise ValueError(f"peak window {peak_window} outside the window {window}")
    i_pk = int(inside[np.argmax(vv[inside])])
    if vv[i_pk] <= 0:
        raise ValueError(f"no upward motion in {peak_window}")
    down = np.nonzero(vv[:i_pk] <= 0.0)[0]
    if down.size == 0:
        raise ValueError(f"window {window} does not reach back to rest or lowering before the rise")
    i = int(down[-1])
    cs = _bisect(v, tt[i], tt[i + 1], lo_is_rest=True)
    after = np.nonzero(vv[i_pk:] <= 0.0)[0]
    if after.size == 0:
        raise ValueError(f"window {window} ends before the bar stops rising")
    j = i_pk + int(after[0])
    ce = _bisect(v, tt[j - 1], tt[j], lo_is_rest=False)
    n = max(2001, int((ce - cs) / 5e-5) + 1)
    tc = np.linspace(cs, ce, n)
    vc, ac = v(tc), a(tc)
    zc = z(np.array([cs, ce]))
    rom = float(zc[1] - zc[0])
    mcv = rom / (ce - cs)
    below = np.nonzero(ac < -G)[0]
    mpv = mcv
    if below.size and below[0] > 0:
        te = float(tc[below[0]])
        mpv = float((z(np.array([te]))[0] - zc[0]) / (te - cs))
    mpv = float(mpv)
    k = int(np.argmax(vc))
    return ConcentricTruth(
        start_s=float(cs),
        end_s=float(ce),
        mean_velocity_mps=float(mcv),
        mean_propulsive_velocity_mps=mpv,
        peak_velocity_mps=float(vc[k]),
        rom_m=rom,
        time_to_peak_velocity_s=float(tc[k] - cs),
        peak_accel_mps2=float(ac.max()),
    )
