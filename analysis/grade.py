"""Gradient from distance/altitude and grade-adjusted speed (Minetti 2002).

Pure numpy functions, SI units. The grade adjustment scales speed by the ratio
of the metabolic cost of running on the slope to the cost on the flat, so that
a grade-adjusted speed (GAP) is the flat speed of equal metabolic cost per
unit time.

References
----------
Minetti AE, Moia C, Roi GS, Susta D, Ferretti G (2002). Energy cost of walking
and running at extreme uphill and downhill slopes. J Appl Physiol 93:1039-1046.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

__all__ = [
    "MINETTI_FLAT_COST_J_PER_KG_M",
    "MINETTI_MAX_ABS_GRADE",
    "grade_adjusted_speed",
    "minetti_cost_j_per_kg_m",
    "smoothed_grade",
]

#: C(0) of the Minetti polynomial: cost of running on the flat, J/kg/m.
MINETTI_FLAT_COST_J_PER_KG_M = 3.6
#: The polynomial was fitted on slopes from -0.45 to +0.45 (Minetti et al. 2002).
MINETTI_MAX_ABS_GRADE = 0.45


def minetti_cost_j_per_kg_m(grade: np.ndarray | float) -> np.ndarray | float:
    """Metabolic cost of running on a slope, J per kg body mass per m travelled.

    Formula (Minetti et al. 2002, J Appl Physiol 93:1039, fitted over
    -0.45 <= i <= 0.45)::

        C(i) = 155.4 i^5 - 30.4 i^4 - 43.3 i^3 + 46.3 i^2 + 19.5 i + 3.6

    Parameters
    ----------
    grade : float or numpy.ndarray
        Gradient as a fraction (rise / horizontal distance), e.g. 0.05 for 5 %.
        Values outside +-0.45 are outside the fitted range and raise
        ``ValueError``; clip first if you mean to (``smoothed_grade`` does).

    Returns
    -------
    float or numpy.ndarray
        Cost in J/kg/m (3.6 at i = 0). NaN where ``grade`` is NaN.
    """
    i = np.asarray(grade, dtype=np.float64)
    finite = np.isfinite(i)
    if np.any(np.abs(i[finite]) > MINETTI_MAX_ABS_GRADE + 1e-12):
        raise ValueError(f"grade must lie within +-{MINETTI_MAX_ABS_GRADE} (the fitted range of Minetti 2002)")
    c = ((((155.4 * i - 30.4) * i - 43.3) * i + 46.3) * i + 19.5) * i + 3.6
    return float(c) if c.ndim == 0 else c


def smoothed_grade(
    distance_m: np.ndarray,
    altitude_m: np.ndarray,
    *,
    window_m: float = 60.0,
    step_m: float = 5.0,
) -> np.ndarray:
    """Gradient per sample from cumulative distance and altitude, smoothed over distance.

    GPS/barometric altitude is noisy and distance advances by only ~3 m per
    second, so the sample-to-sample ratio d(altitude)/d(distance) is useless.
    The altitude is resampled onto a uniform distance grid (``step_m``),
    the slope of a least-squares line through the ``window_m`` of course
    centred on each grid point is taken as the grade (a Savitzky-Golay first
    derivative of order 1: exact on constant ramps, edges included), and read
    back at each sample's distance. The result is clipped to +-0.45 (the
    fitted range of Minetti 2002).

    Parameters
    ----------
    distance_m : numpy.ndarray
        Cumulative distance, m (NaN where absent). Pauses (constant distance)
        are fine; decreasing values are treated as noise (running maximum).
    altitude_m : numpy.ndarray
        Altitude, m, same length (NaN where absent).
    window_m : float
        Smoothing/differencing length along the course, m (> step_m).
    step_m : float
        Resampling grid step, m (> 0).

    Returns
    -------
    numpy.ndarray
        Grade (fraction) per sample; NaN where distance or altitude is absent
        or the run covers less than one window.
    """
    d = np.asarray(distance_m, dtype=np.float64)
    a = np.asarray(altitude_m, dtype=np.float64)
    if d.shape != a.shape or d.ndim != 1:
        raise ValueError(f"distance_m and altitude_m must be 1-D of equal length, got {d.shape} and {a.shape}")
    if not (step_m > 0 and window_m > step_m):
        raise ValueError("need step_m > 0 and window_m > step_m")
    out = np.full(d.shape, np.nan)
    ok = np.isfinite(d) & np.isfinite(a)
    if ok.sum() < 2:
        return out
    dd = np.maximum.accumulate(d[ok])
    aa = a[ok]
    # Unique distances (pauses repeat a distance): average altitude per distance.
    uniq, inv = np.unique(dd, return_inverse=True)
    if uniq[-1] - uniq[0] < window_m:
        return out
    alt_u = np.bincount(inv, weights=aa) / np.bincount(inv)
    grid = np.arange(uniq[0], uniq[-1] + step_m / 2, step_m)
    alt_g = np.interp(grid, uniq, alt_u)
    k = max(3, round(window_m / step_m) + 1)
    k += 1 - k % 2  # odd number of grid points spanning ~window_m
    if grid.size >= k:
        # local least-squares line over the window (Savitzky-Golay, order 1): exact on ramps, edges included
        g = savgol_filter(alt_g, k, 1, deriv=1, delta=step_m, mode="interp")
    else:
        g = np.full(grid.size, np.polyfit(grid, alt_g, 1)[0])
    g = np.clip(g, -MINETTI_MAX_ABS_GRADE, MINETTI_MAX_ABS_GRADE)
    out[ok] = np.interp(dd, grid, g)
    return out


def grade_adjusted_speed(speed_mps: np.ndarray | float, grade: np.ndarray | float) -> np.ndarray | float:
    """Grade-adjusted speed (GAP): the flat speed of equal metabolic power.

    ``GAP = v * C(i) / C(0)`` with ``C`` the Minetti et al. (2002) cost of
    running polynomial (J/kg/m), so metabolic power per kg, ``v * C(i)``, is
    equal on the slope and on the flat. Where the grade is NaN (unknown), the
    speed is returned unchanged (flat assumed): callers that need to know
    should check the grade themselves.

    Parameters
    ----------
    speed_mps : float or numpy.ndarray
        Horizontal speed, m/s.
    grade : float or numpy.ndarray
        Gradient fraction, within +-0.45.

    Returns
    -------
    float or numpy.ndarray
        Grade-adjusted speed, m/s.
    """
    v = np.asarray(speed_mps, dtype=np.float64)
    i = np.asarray(grade, dtype=np.float64)
    i = np.where(np.isfinite(i), i, 0.0)
    gap = v * np.asarray(minetti_cost_j_per_kg_m(i)) / MINETTI_FLAT_COST_J_PER_KG_M
    return float(gap) if gap.ndim == 0 else gap
