"""Individual load-velocity profiles, estimated 1RM/5RM and set intensity.

Method (docs/design.md section 6)
----------------------------
* Profile: ordinary least-squares line of load on mean concentric velocity,
  ``load = intercept + slope * velocity`` (slope < 0), over at least three
  distinct loads (one point per set: its best rep's MCV is the usual choice;
  the caller decides). Individual profiles: Jidovtseff B et al. (2011)
  "Using the load-velocity relationship for 1RM prediction", J Strength Cond
  Res 25:267-270; González-Badillo JJ, Sánchez-Medina L (2010) Int J Sports
  Med 31:347-352.
* e1RM: the load the profile predicts at the exercise's minimal velocity
  threshold (MVT, mean concentric velocity at 1RM; table in
  :mod:`analysis.exercises`: back squat 0.30 m/s and deadlift 0.15 m/s, both
  flagged unreliable (velocity at 1RM varies too much: back squat CV 19 %,
  Banyard et al. 2017, 2018; deadlift CV 15.7 %), bench press 0.17 m/s,
  others none). A flagged e1RM is still computed and shown, with its flag.
* e5RM = e1RM / (1 + 5/30): Epley's formula (Epley B, 1985, Boyd Epley
  Workout) solved for the 5-rep load.
* Velocity at a reference load: the profile's predicted MCV at a load fixed
  once per athlete and exercise (70 % of the first e1RM, rounded to 2.5 kg):
  a neuromuscular marker tracked over time.
* Set intensity = load / e5RM in %; "in prescription zone" = 3-5 reps at
  80-100 % of the 5RM (the clinic's prescription; ~69-86 % of 1RM).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.exercises import exercise_info

EPLEY_REPS_DIVISOR: float = 30.0
"""Epley: 1RM = w (1 + reps / 30)."""


@dataclass(frozen=True)
class LoadVelocityProfile:
    """Least-squares line ``load_kg = intercept_kg + slope_kg_per_mps * velocity_mps``.

    Attributes
    ----------
    slope_kg_per_mps, intercept_kg : float
        Line coefficients (slope negative for a valid profile).
    r_squared : float
        Coefficient of determination of the fit.
    n_points, n_loads : int
        Number of (load, velocity) points and of distinct loads.
    velocity_range_mps : (float, float)
        Smallest and largest velocity in the fit (extrapolation beyond is less certain).
    """

    slope_kg_per_mps: float
    intercept_kg: float
    r_squared: float
    n_points: int
    n_loads: int
    velocity_range_mps: tuple[float, float]

    def load_at_velocity_kg(self, velocity_mps: float) -> float:
        """Load the profile predicts at ``velocity_mps``: intercept + slope * v."""
        return float(self.intercept_kg + self.slope_kg_per_mps * velocity_mps)

    def velocity_at_load_mps(self, load_kg: float) -> float:
        """Mean concentric velocity the profile predicts at ``load_kg``: (load - intercept) / slope."""
        return float((load_kg - self.intercept_kg) / self.slope_kg_per_mps)


def fit_load_velocity(
    loads_kg: list[float] | np.ndarray, velocities_mps: list[float] | np.ndarray, min_distinct_loads: int = 3
) -> LoadVelocityProfile:
    """Fit the individual load-velocity line (load regressed on mean concentric velocity).

    Parameters
    ----------
    loads_kg : sequence of float
        Loads (> 0), one per point.
    velocities_mps : sequence of float
        Mean concentric velocities (> 0), same length.
    min_distinct_loads : int
        At least this many distinct loads are required (default 3, >= 2).

    Returns
    -------
    LoadVelocityProfile

    Raises
    ------
    ValueError
        Fewer distinct loads than required, non-positive values, or a line
        whose slope is not negative (load must fall as velocity rises).

    Notes
    -----
    OLS: ``slope = cov(v, L) / var(v)``, ``intercept = mean(L) - slope mean(v)``,
    ``R^2 = 1 - SS_res / SS_tot``.
    """
    if min_distinct_loads < 2:
        raise ValueError(f"min_distinct_loads must be >= 2, got {min_distinct_loads}")
    load = np.asarray(loads_kg, dtype=np.float64)
    vel = np.asarray(velocities_mps, dtype=np.float64)
    if load.ndim != 1 or load.shape != vel.shape:
        raise ValueError("loads_kg and velocities_mps must be 1-D sequences of the same length")
    if np.any(~np.isfinite(load)) or np.any(~np.isfinite(vel)) or np.any(load <= 0) or np.any(vel <= 0):
        raise ValueError("loads_kg and velocities_mps must be finite and > 0")
    n_loads = int(np.unique(load).size)
    if n_loads < min_distinct_loads:
        raise ValueError(f"a load-velocity profile needs >= {min_distinct_loads} distinct loads, got {n_loads}")
    vm, lm = vel.mean(), load.mean()
    var_v = float(np.sum((vel - vm) ** 2))
    if var_v <= 0:
        raise ValueError("velocities must not all be equal")
    slope = float(np.sum((vel - vm) * (load - lm)) / var_v)
    if not slope < 0:
        raise ValueError(f"load must decrease with velocity; fitted slope {slope:.3g} kg per m/s is not negative")
    intercept = float(lm - slope * vm)
    resid = load - (intercept + slope * vel)
    ss_tot = float(np.sum((load - lm) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return LoadVelocityProfile(slope, intercept, r2, int(load.size), n_loads, (float(vel.min()), float(vel.max())))


@dataclass(frozen=True)
class OneRmEstimate:
    """e1RM from a profile at the exercise's MVT, with e5RM and a reliability flag."""

    exercise: str
    mvt_mps: float
    e1rm_kg: float
    e5rm_kg: float
    reliable: bool
    note: str


def estimate_one_rm_kg(profile: LoadVelocityProfile, mvt_mps: float) -> float:
    """e1RM = load the profile predicts at the minimal velocity threshold ``mvt_mps`` (> 0)."""
    if not mvt_mps > 0:
        raise ValueError(f"mvt_mps must be > 0, got {mvt_mps}")
    return profile.load_at_velocity_kg(mvt_mps)


def estimate_five_rm_kg(e1rm_kg: float) -> float:
    """e5RM = e1RM / (1 + 5/30) (Epley's formula solved for 5 reps)."""
    if not e1rm_kg > 0:
        raise ValueError(f"e1rm_kg must be > 0, got {e1rm_kg}")
    return e1rm_kg / (1.0 + 5.0 / EPLEY_REPS_DIVISOR)


def one_rm_for_exercise(exercise: str, profile: LoadVelocityProfile) -> OneRmEstimate | None:
    """e1RM and e5RM at the exercise's MVT, or None when the exercise has no MVT.

    The back squat's and the deadlift's estimates are returned with
    ``reliable=False`` (velocity at 1RM varies too much between and within
    lifters: CV 19 %, Banyard et al. 2017, 2018; CV 15.7 %).
    """
    info = exercise_info(exercise)
    if info.mvt_mps is None:
        return None
    e1 = estimate_one_rm_kg(profile, info.mvt_mps)
    if not e1 > 0:
        return None
    note = "" if info.mvt_reliable else "velocity at 1RM is unreliable for this exercise: treat e1RM as indicative"
    return OneRmEstimate(exercise, info.mvt_mps, e1, estimate_five_rm_kg(e1), info.mvt_reliable, note)


def reference_load_kg(first_e1rm_kg: float, fraction: float = 0.70, step_kg: float = 2.5) -> float:
    """Reference load fixed once per athlete and exercise: ``fraction`` of the first e1RM, to ``step_kg``.

    ``round(fraction * e1RM / step) * step`` (70 % and 2.5 kg by default).
    """
    if not first_e1rm_kg > 0:
        raise ValueError(f"first_e1rm_kg must be > 0, got {first_e1rm_kg}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be within (0, 1], got {fraction}")
    if not step_kg > 0:
        raise ValueError(f"step_kg must be > 0, got {step_kg}")
    return float(np.round(fraction * first_e1rm_kg / step_kg) * step_kg)


def velocity_at_reference_load_mps(profile: LoadVelocityProfile, reference_load_kg: float) -> float:
    """Profile-predicted mean concentric velocity at the athlete's fixed reference load (> 0 kg)."""
    if not reference_load_kg > 0:
        raise ValueError(f"reference_load_kg must be > 0, got {reference_load_kg}")
    return profile.velocity_at_load_mps(reference_load_kg)


@dataclass(frozen=True)
class SetIntensity:
    """A set's load as % of e5RM and whether it is in the prescription zone."""

    pct_of_e5rm: float
    in_prescription_zone: bool
    label: str


def set_intensity(
    load_kg: float,
    reps: int,
    e5rm_kg: float,
    zone_pct: tuple[float, float] = (80.0, 100.0),
    zone_reps: tuple[int, int] = (3, 5),
) -> SetIntensity:
    """Intensity of a set relative to the e5RM and the prescription-zone flag.

    ``pct = 100 load / e5RM``; in zone when ``zone_reps[0] <= reps <= zone_reps[1]``
    and ``zone_pct[0] <= pct <= zone_pct[1]`` (default 3-5 reps at 80-100 % of 5RM).
    Labels: "in zone", "too light", "too heavy", "reps outside 3-5".
    """
    if not load_kg > 0:
        raise ValueError(f"load_kg must be > 0, got {load_kg}")
    if not e5rm_kg > 0:
        raise ValueError(f"e5rm_kg must be > 0, got {e5rm_kg}")
    if reps < 0:
        raise ValueError(f"reps must be >= 0, got {reps}")
    pct = 100.0 * load_kg / e5rm_kg
    reps_ok = zone_reps[0] <= reps <= zone_reps[1]
    if pct < zone_pct[0]:
        label = "too light"
    elif pct > zone_pct[1]:
        label = "too heavy"
    elif not reps_ok:
        label = f"reps outside {zone_reps[0]}-{zone_reps[1]}"
    else:
        label = "in zone"
    return SetIntensity(float(pct), label == "in zone", label)
