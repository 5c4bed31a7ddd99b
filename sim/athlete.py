"""Synthetic runner-who-lifts with a known truth, deterministic from a seed (pure, no I/O).

The generator first draws a *plan* (which days, which runs, route, weather,
day-to-day noise, strength sessions); runs are then either rendered as 1 Hz
:class:`records.runs.RunRecords` (:meth:`SimAthlete.run_records`) or turned
directly into per-run proxy values (:meth:`SimAthlete.fast_economy`, for
coverage studies with hundreds of athletes). Each run's 1 Hz noise comes from
its own ``numpy.random.default_rng([seed, run index])``, so any subset can be
rendered in any order with the same result.

Physiological model (the truth the analysis should recover)
----------------------------------------------------------
* Steady-state HR at grade-adjusted speed ``g`` (m/s)::

      HR_ss = (hr_a + hr_b * g) * day_noise * week_noise / economy

  with ``hr_b`` ~ 28 bpm per m/s (VO2 rises ~12 mL/kg/min per m/s, HR ~2.6
  bpm per mL/kg/min) and ``economy = 1 + effect`` from ``effect_start_week``
  on, else 1. So the efficiency-factor proxy EF = 60 g / HR steps up by
  exactly ``effect`` (e.g. +4 %) at every speed, all else equal, and HR at a
  fixed speed steps down by the factor ``1 / (1 + effect)``.
* Cardiovascular drift from minute 10: HR x (1 + D(T) (t_min - 10) / 30),
  ``D(T) = 0.02 + 0.0069 max(T - 22 C, 0)``: +2 % over 30 min at 22 C and
  +11 % at 35 C (Lafrenz, Wingo, Ganio & Cureton 2008, MSSE 40:1065, cycling). Temperature
  follows a seasonal cycle + day noise + occasional heat days.
* HR follows its target with a 30 s first-order lag, 1 bpm noise, integer bpm.
* Speed: a 10 min warm-up ramp, then pace blocks of 6-12 min, runner holds
  metabolic power on hills (speed = GAP * C(0) / C(i), Minetti 2002),
  0.05 m/s smoothed noise; routes flat / rolling / hilly; occasional auto-pause.
* Stryd-like power = body mass * GAP / RE with RE ~ 1.0 (+ noise); strength
  does not change RE in this model (truth 0) unless ``effect_re`` is given.
* Strength: ``strength_sessions_per_week`` sessions from
  ``strength_start_week`` (85 % attendance), each the clinic prescription
  (3-5 reps at 80-100 % of the 5RM, 3-5 sets of a lift): back squat 4 x 5 at
  85 %, Romanian deadlift 3 x 5 at 82 % (bilateral), Bulgarian split squat
  3 x 5 at 82 % and step-up 2 x 5 at 80 % (unilateral) of the athlete's e5RM
  (``e5rm_kg``: drawn per athlete, or given), rising 0.5 %/week up to 98 %;
  15 % of sets lose one rep (4 reps: still in the zone).
* Week-level noise is independent between weeks, and running load has no
  effect on EF in this model (CTL's true coefficient is 0).
"""

from __future__ import annotations

import datetime as _dt
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from analysis.economy import RunEconomy
from analysis.grade import MINETTI_FLAT_COST_J_PER_KG_M, minetti_cost_j_per_kg_m
from analysis.training_load import StrengthSet
from records.runs import RunRecords
from records.times import zone_info

__all__ = ["RunPlan", "SimAthlete", "simulate_athlete"]

_NS = 1_000_000_000
_WARMUP_S = 600


@dataclass(frozen=True)
class RunPlan:
    """Everything that determines one simulated run (1 Hz noise aside)."""

    index: int
    activity_id: str
    week: int
    started_at_ns: int
    moving_s: int
    kind: str
    route: str
    temperature_c: float
    gap_target_mps: float
    block_s: int
    block_offsets_mps: tuple[float, ...]
    hr_multiplier: float
    economy_multiplier: float
    re_multiplier: float
    drift_per_30min: float
    has_hr: bool
    has_power: bool
    pause_at_s: int | None
    pause_s: int
    hill_amp_m: float
    hill_wavelength_m: float
    hill_phase: float

    def mean_post_warmup_gap_mps(self) -> float:
        """Time-weighted mean of :meth:`gap_profile` after the warm-up (closed form); NaN if none."""
        post_s = self.moving_s - _WARMUP_S
        if post_s <= 0:
            return float("nan")
        nb = len(self.block_offsets_mps)
        w = [min(self.block_s, max(post_s - b * self.block_s, 0)) for b in range(nb)]
        w[-1] = max(post_s - (nb - 1) * self.block_s, 0)
        return self.gap_target_mps + sum(o * x for o, x in zip(self.block_offsets_mps, w, strict=True)) / post_s

    def gap_profile(self) -> np.ndarray:
        """Target grade-adjusted speed per moving second (m/s)."""
        m = np.arange(self.moving_s)
        g = np.full(self.moving_s, self.gap_target_mps)
        warm = m < _WARMUP_S
        g[warm] *= 0.85 + 0.15 * m[warm] / _WARMUP_S
        blk = np.clip((m - _WARMUP_S) // self.block_s, 0, len(self.block_offsets_mps) - 1)
        g[~warm] += np.asarray(self.block_offsets_mps)[blk[~warm]]
        return g


@dataclass
class SimAthlete:
    """A simulated athlete: profile, run plans, strength sets, and the truth.

    Attributes
    ----------
    seed, weeks, effect, effect_start_week, strength_start_week : parameters
    profile : dict
        ``body_mass_kg, sex, hr_rest_bpm, hr_max_bpm, tz`` (like the store's athlete profile).
    plans : list of RunPlan
    strength_sets : list of StrengthSet
    e5rm_kg : dict
        Estimated 5RM per exercise (input for the zone count).
    start_date : datetime.date
        Monday of week 0 (athlete's zone).
    hr_a_bpm, hr_b_bpm_per_mps, re : float
        Athlete constants of the HR and power models.
    """

    seed: int
    weeks: int
    effect: float
    effect_start_week: int
    strength_start_week: int | None
    profile: dict[str, Any]
    plans: list[RunPlan]
    strength_sets: list[StrengthSet]
    e5rm_kg: dict[str, float]
    start_date: _dt.date
    hr_a_bpm: float
    hr_b_bpm_per_mps: float
    re: float
    truth: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- 1 Hz rendering
    def run_records(self, i: int) -> RunRecords:
        """Render run ``i`` as 1 Hz samples (deterministic)."""
        return _render(self, self.plans[i])

    def iter_run_records(self) -> Iterator[RunRecords]:
        """Render every run in order (lazily: one run's arrays in memory at a time)."""
        for p in self.plans:
            yield _render(self, p)

    # ---------------------------------------------------------------- fast path
    def fast_economy(self, *, reference_speed_mps: float | None = None) -> list[RunEconomy]:
        """Per-run proxy values straight from the plan (no 1 Hz arrays).

        Reproduces what :func:`analysis.economy.run_economy` measures on the
        rendered run, up to a small measurement noise (0.5 %): EF = 60 mean(GAP)
        / mean(HR) over the post-warm-up running, with the mean drift factor;
        the HR-vs-GAP line of the model; status ``insufficient`` for runs
        without HR, hilly routes and runs with < 22 min after the warm-up.
        """
        zi = zone_info(self.profile["tz"])
        out: list[RunEconomy] = []
        for p in self.plans:
            rng = random.Random(f"runstrong-sim-fast-{self.seed}-{p.index}")
            dt = _dt.datetime.fromtimestamp(p.started_at_ns / _NS, tz=_dt.UTC).astimezone(zi)
            r = RunEconomy(
                activity_id=p.activity_id,
                status="insufficient",
                reason=None,
                started_at_ns=p.started_at_ns,
                local_date=dt.date().isoformat(),
                local_hour=dt.hour + dt.minute / 60,
                duration_s=float(p.moving_s + p.pause_s),
                mean_temperature_c=p.temperature_c,
                reference_speed_mps=reference_speed_mps,
            )
            post_s = max(p.moving_s - _WARMUP_S, 0)
            drift = 1.0 + p.drift_per_30min * (post_s / 60.0 / 2.0) / 30.0
            mean_gap = p.mean_post_warmup_gap_mps()
            mean_hr = (self.hr_a_bpm + self.hr_b_bpm_per_mps * mean_gap) * p.hr_multiplier * drift
            r.trimp = _trimp_closed(mean_hr, p.moving_s / 60.0, self.profile)
            steady_min = post_s / 60.0 * {"flat": 1.0, "rolling": 0.7, "hilly": 0.1}[p.route]
            r.steady_minutes = steady_min
            if not p.has_hr:
                r.reason, r.trimp = "no heart-rate data", None
            elif steady_min < 22.0:
                r.reason = f"too little steady running: {steady_min:.1f} min qualifying (fast path estimate)"
            else:
                r.status = "ok"
                r.mean_steady_gap_mps = mean_gap
                r.mean_steady_hr_bpm = mean_hr
                r.ef_proxy = 60.0 * mean_gap / mean_hr * (1.0 + 0.005 * rng.gauss(0.0, 1.0))
                a = self.hr_a_bpm * p.hr_multiplier * drift
                b = self.hr_b_bpm_per_mps * p.hr_multiplier * drift
                r.hr_vs_gap_intercept_bpm, r.hr_vs_gap_slope_bpm_per_mps = a, b
                r.hr_vs_gap_min_mps = p.gap_target_mps + min(p.block_offsets_mps)
                r.hr_vs_gap_max_mps = p.gap_target_mps + max(p.block_offsets_mps)
                r.hr_vs_gap_n_chunks = int(steady_min)
                if reference_speed_mps is not None:
                    r.hr_at_reference_speed_bpm = (a + b * reference_speed_mps) * (1.0 + 0.005 * rng.gauss(0.0, 1.0))
                if p.has_power:
                    r.speed_per_w_per_kg = self.re * p.re_multiplier * (1.0 + 0.005 * rng.gauss(0.0, 1.0))
                r.decoupling_pct = 100.0 * (1 - 1 / (1 + p.drift_per_30min * post_s / 60.0 / 2.0 / 30.0))
                r.decoupled = r.decoupling_pct > 5.0
            out.append(r)
        return out


_T = TypeVar("_T")


class _Scalars:
    """Fast deterministic scalar draws (Python's Mersenne Twister, seeded by a string).

    numpy's Generator costs ~5-10 us per scalar call; plan generation makes
    thousands of them per athlete, which the 200-seed coverage study feels.
    """

    def __init__(self, key: str) -> None:
        self._r = random.Random(key)

    def random(self) -> float:
        return self._r.random()

    @overload
    def uniform(self, a: float, b: float, size: None = None) -> float: ...
    @overload
    def uniform(self, a: float, b: float, size: int) -> list[float]: ...
    def uniform(self, a: float, b: float, size: int | None = None) -> float | list[float]:
        if size is None:
            return self._r.uniform(a, b)
        return [self._r.uniform(a, b) for _ in range(size)]

    @overload
    def normal(self, mu: float, sd: float, size: None = None) -> float: ...
    @overload
    def normal(self, mu: float, sd: float, size: int) -> npt.NDArray[np.float64]: ...
    def normal(self, mu: float, sd: float, size: int | None = None) -> float | npt.NDArray[np.float64]:
        if size is None:
            return self._r.gauss(mu, sd)
        return np.array([self._r.gauss(mu, sd) for _ in range(size)])

    def integers(self, lo: int, hi: int) -> int:
        return self._r.randrange(int(lo), int(hi))

    @overload
    def choice(self, pop: int, size: int, replace: bool = False) -> list[int]: ...
    @overload
    def choice(self, pop: Iterable[_T], size: int, replace: bool = False) -> list[_T]: ...
    def choice(self, pop: int | Iterable[_T], size: int, replace: bool = False) -> list[int] | list[_T]:
        if replace:
            raise ValueError("only sampling without replacement is supported")
        if isinstance(pop, int):
            return self._r.sample(list(range(pop)), size)
        return self._r.sample(list(pop), size)

    def poisson(self, lam: float) -> int:
        # Knuth's multiplication method (fine for the small means used here)
        limit, k, prod = math.exp(-lam), 0, self._r.random()
        while prod > limit:
            k += 1
            prod *= self._r.random()
        return k


def _trimp_closed(mean_hr: float, minutes: float, profile: dict[str, Any]) -> float:
    hrr = min(max((mean_hr - profile["hr_rest_bpm"]) / (profile["hr_max_bpm"] - profile["hr_rest_bpm"]), 0.0), 1.0)
    a, b = (0.64, 1.92) if profile["sex"] == "male" else (0.86, 1.67)
    return float(minutes * hrr * a * math.exp(b * hrr))


def _drift(temp_c: float) -> float:
    return 0.02 + 0.0069 * max(temp_c - 22.0, 0.0)


def simulate_athlete(
    *,
    weeks: int = 24,
    runs_per_week: float = 4.0,
    effect: float = 0.04,
    seed: int = 0,
    strength_start_week: int | None = 8,
    effect_start_week: int | None = None,
    strength_sessions_per_week: int = 2,
    run_minutes: tuple[float, float] = (40.0, 75.0),
    with_power: bool = True,
    start_date: _dt.date | None = None,
    tz: str = "Europe/Oslo",
    sex: str = "male",
    missing_weeks: int | None = None,
    heat_day_prob: float = 0.07,
    no_hr_prob: float = 0.02,
    short_run_prob: float = 0.05,
    effect_re: float = 0.0,
    strength_attendance: float = 0.85,
    vary_runs_per_week: bool = True,
    e5rm_kg: dict[str, float] | None = None,
) -> SimAthlete:
    """Draw a synthetic athlete's history (deterministic from ``seed``).

    Parameters
    ----------
    weeks : int
        Length of the history (>= 2).
    runs_per_week : float
        Mean runs per (non-missing) week, 0-7.
    effect : float
        True step in the EF proxy (fraction, e.g. 0.04 = +4 %) from
        ``effect_start_week`` (default: ``strength_start_week``); 0 for the null athlete.
    strength_start_week : int or None
        First week with strength sessions (None: never lifts).
    run_minutes : (float, float)
        Range of moving durations; pass (60, 60) for exactly 1 h runs.
    start_date : datetime.date, optional
        Any date in week 0; default: a seed-dependent Monday in 2025.
    missing_weeks : int, optional
        Weeks without any training (illness, holiday); default ``weeks // 12``.
    effect_re : float
        True step in speed per W/kg (default 0: unaffected).
    strength_attendance : float
        Probability that a planned strength session happens (0-1).
    e5rm_kg : dict, optional
        The athlete's 5RM per exercise (kg) for ``back_squat``, ``romanian_deadlift``,
        ``bulgarian_split_squat``, ``step_up``; exercises not given are drawn (the same
        draws either way, so the rest of the history does not change). The demo passes
        the back squat 5RM of the lifter its streamed barbell sets simulate, so the
        report's load-velocity e5RM estimates the same lifter.
    vary_runs_per_week : bool
        Poisson number of runs per week (default) or exactly ``round(runs_per_week)``.
        E.g. ``weeks=100, runs_per_week=7, vary_runs_per_week=False, missing_weeks=0,
        strength_start_week=0, strength_attendance=1, run_minutes=(60, 60), short_run_prob=0``
        gives 700 one-hour runs and 200 strength sessions.

    Returns
    -------
    SimAthlete
    """
    if weeks < 2:
        raise ValueError("weeks must be >= 2")
    if not (0 <= runs_per_week <= 7):
        raise ValueError("runs_per_week must be in [0, 7]")
    if not (-0.5 < effect < 0.5):
        raise ValueError("effect must be a fraction in (-0.5, 0.5)")
    lo_min, hi_min = run_minutes
    if not (5 <= lo_min <= hi_min <= 360):
        raise ValueError("run_minutes must satisfy 5 <= low <= high <= 360")
    if not (0.0 <= strength_attendance <= 1.0):
        raise ValueError("strength_attendance must be in [0, 1]")
    if sex not in ("male", "female"):
        raise ValueError("sex must be 'male' or 'female'")
    zi = zone_info(tz)
    rng = _Scalars(f"runstrong-sim-athlete-{seed}")
    if start_date is None:
        start_date = _dt.date(2025, 1, 6) + _dt.timedelta(weeks=int(rng.integers(0, 52)))
    start_date = start_date - _dt.timedelta(days=start_date.weekday())
    if effect_start_week is None:
        effect_start_week = strength_start_week if strength_start_week is not None else weeks
    if missing_weeks is None:
        missing_weeks = weeks // 12
    missing = set()
    if missing_weeks > 0 and weeks > 3:
        missing = set(rng.choice(range(2, weeks), size=min(missing_weeks, weeks - 2)))
    hr_rest = float(rng.uniform(45, 58))
    hr_max = float(rng.uniform(180, 198))
    easy_gap = float(rng.uniform(2.7, 3.3))
    hr_b = float(rng.uniform(24, 32))
    hr_a = 140.0 - hr_b * easy_gap + float(rng.normal(0, 4))
    re = float(rng.uniform(0.95, 1.05))
    body_mass = float(rng.uniform(58, 80) if sex == "male" else rng.uniform(50, 68))
    week_noise = np.exp(rng.normal(0, 0.01, weeks))
    plans: list[RunPlan] = []
    sets: list[StrengthSet] = []
    e5rm = {
        "back_squat": round(float(rng.uniform(70, 120)) / 2.5) * 2.5,
        "romanian_deadlift": round(float(rng.uniform(70, 120)) / 2.5) * 2.5,
        "bulgarian_split_squat": round(float(rng.uniform(20, 45)) / 2.5) * 2.5,
        "step_up": round(float(rng.uniform(20, 40)) / 2.5) * 2.5,
    }
    for k, v in (e5rm_kg or {}).items():
        if k not in e5rm:
            raise ValueError(f"e5rm_kg: unknown exercise {k!r} (known: {', '.join(e5rm)})")
        if not (v is not None and math.isfinite(v) and v > 0):
            raise ValueError(f"e5rm_kg[{k!r}] must be a positive number of kg")
        e5rm[k] = float(v)
    ath_hash = f"{seed & 0xFFFFFFFF:08x}"
    for w in range(weeks):
        if w in missing:
            continue
        if vary_runs_per_week and runs_per_week < 7:
            n_runs = int(np.clip(rng.poisson(runs_per_week), 0, 7))
        else:
            n_runs = round(runs_per_week)
        days = sorted(rng.choice(7, size=n_runs)) if n_runs else []
        run_days = set(int(d) for d in days)
        for d in days:
            date = start_date + _dt.timedelta(days=7 * w + int(d))
            evening = rng.random() < 0.4
            hour = float(rng.uniform(17, 19.5) if evening else rng.uniform(6, 8.5))
            local = _dt.datetime.combine(date, _dt.time(0), tzinfo=zi) + _dt.timedelta(hours=hour)
            started_ns = int(local.astimezone(_dt.UTC).timestamp()) * _NS
            doy = date.timetuple().tm_yday
            temp = (
                11.0 + 9.0 * math.sin(2 * math.pi * (doy - 105) / 365.25) + rng.normal(0, 3) + (3.0 if evening else 0)
            )
            if rng.random() < heat_day_prob:
                temp += float(rng.uniform(8, 14))
            u = rng.random()
            kind = "easy" if u < 0.7 else ("tempo" if u < 0.85 else "long")
            if rng.random() < short_run_prob:
                kind = "short"
            if kind == "short":
                minutes = float(rng.uniform(20, 30))
            elif kind == "long":
                minutes = float(max(hi_min, rng.uniform(lo_min, hi_min) * 1.3)) if lo_min != hi_min else lo_min
            else:
                minutes = float(rng.uniform(lo_min, hi_min))
            moving_s = round(minutes * 60)
            gap = easy_gap + (0.55 if kind == "tempo" else (-0.1 if kind == "long" else 0.0)) + rng.normal(0, 0.05)
            block_s = int(rng.integers(360, 721))
            n_blocks = max(1, (moving_s - _WARMUP_S) // block_s + 1)
            offsets = tuple(float(x) for x in rng.uniform(-0.25, 0.25, n_blocks))
            ur = rng.random()
            route = "flat" if ur < 0.6 else ("rolling" if ur < 0.9 else "hilly")
            amp = {"flat": 1.5, "rolling": 6.0, "hilly": 25.0}[route] * float(rng.uniform(0.7, 1.3))
            wl = float(rng.uniform(1200, 2500))
            econ = 1.0 + effect if w >= effect_start_week else 1.0
            re_mult = 1.0 + effect_re if w >= effect_start_week else 1.0
            hr_mult = math.exp(rng.normal(0, 0.02)) * float(week_noise[w]) / econ
            pause_at = int(rng.integers(_WARMUP_S, max(_WARMUP_S + 1, moving_s - 60))) if rng.random() < 0.3 else None
            plans.append(
                RunPlan(
                    index=len(plans),
                    activity_id=f"sim{ath_hash}{len(plans):08d}-0",
                    week=w,
                    started_at_ns=started_ns,
                    moving_s=moving_s,
                    kind=kind,
                    route=route,
                    temperature_c=float(temp),
                    gap_target_mps=float(gap),
                    block_s=block_s,
                    block_offsets_mps=offsets,
                    hr_multiplier=hr_mult,
                    economy_multiplier=econ,
                    re_multiplier=re_mult * math.exp(rng.normal(0, 0.01)),
                    drift_per_30min=_drift(float(temp)),
                    has_hr=bool(rng.random() >= no_hr_prob),
                    has_power=with_power,
                    pause_at_s=pause_at,
                    pause_s=int(rng.integers(20, 120)) if pause_at is not None else 0,
                    hill_amp_m=amp,
                    hill_wavelength_m=wl,
                    hill_phase=float(rng.uniform(0, 2 * math.pi)),
                )
            )
        # strength sessions
        if strength_start_week is not None and w >= strength_start_week:
            free = [d for d in range(7) if d not in run_days] or list(range(7))
            n_sessions = min(strength_sessions_per_week, len(free))
            sdays = sorted(rng.choice(free, size=n_sessions))
            for d in sdays:
                if rng.random() >= strength_attendance:
                    continue
                date = start_date + _dt.timedelta(days=7 * w + d)
                local = _dt.datetime.combine(date, _dt.time(0), tzinfo=zi) + _dt.timedelta(
                    hours=float(rng.uniform(12, 20))
                )
                t0 = int(local.astimezone(_dt.UTC).timestamp()) * _NS
                key = f"simlift{ath_hash}-{w:03d}-{d}"
                t = t0
                progress = 1.0 + 0.005 * (w - strength_start_week)
                for ex, n_sets, reps, pct in (
                    ("back_squat", 4, 5, 0.85),
                    ("romanian_deadlift", 3, 5, 0.82),
                    ("bulgarian_split_squat", 3, 5, 0.82),
                    ("step_up", 2, 5, 0.80),
                ):
                    for _ in range(n_sets):
                        load = round(e5rm[ex] * min(pct * progress, 0.98) / 2.5) * 2.5
                        r = int(reps - (rng.random() < 0.15))
                        sets.append(StrengthSet(t, ex, r, float(load), "active", key))
                        t += int(rng.integers(120, 240)) * _NS
    profile = {"body_mass_kg": body_mass, "sex": sex, "hr_rest_bpm": hr_rest, "hr_max_bpm": hr_max, "tz": tz}
    truth = {
        "ef_step_fraction": effect,
        "ef_step_pct": 100.0 * effect,
        "hr_at_fixed_speed_step_pct": 100.0 * (1.0 / (1.0 + effect) - 1.0),
        "speed_per_w_per_kg_step_pct": 100.0 * effect_re,
        "effect_start_week": effect_start_week,
        "ctl_coefficient": 0.0,
        "missing_weeks": sorted(missing),
    }
    return SimAthlete(
        seed=seed,
        weeks=weeks,
        effect=effect,
        effect_start_week=effect_start_week,
        strength_start_week=strength_start_week,
        profile=profile,
        plans=plans,
        strength_sets=sets,
        e5rm_kg=e5rm,
        start_date=start_date,
        hr_a_bpm=hr_a,
        hr_b_bpm_per_mps=hr_b,
        re=re,
        truth=truth,
    )


def _altitude(p: RunPlan, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = 2 * np.pi / p.hill_wavelength_m
    k2 = 2 * np.pi / (p.hill_wavelength_m * 0.37)
    alt = 100 + p.hill_amp_m * np.sin(k * x + p.hill_phase) + 0.3 * p.hill_amp_m * np.sin(k2 * x)
    grade = p.hill_amp_m * k * np.cos(k * x + p.hill_phase) + 0.3 * p.hill_amp_m * k2 * np.cos(k2 * x)
    return alt, np.clip(grade, -0.4, 0.4)


def _render(ath: SimAthlete, p: RunPlan) -> RunRecords:
    rng = np.random.default_rng([ath.seed, p.index, 3])
    n = p.moving_s
    gap = p.gap_profile()
    # speed on hills: hold metabolic power (two fixed-point passes for position <-> grade)
    x = np.cumsum(gap)
    for _ in range(2):
        _, grade = _altitude(p, x)
        speed = gap * MINETTI_FLAT_COST_J_PER_KG_M / minetti_cost_j_per_kg_m(grade)
        x = np.cumsum(speed)
    alt, grade = _altitude(p, x)
    ar = lfilter([1 - 0.9], [1, -0.9], rng.standard_normal(n)) * 0.05 / np.sqrt((1 - 0.9) / (1 + 0.9))
    speed_rec = np.maximum(speed + ar, 0.0)
    dist = np.concatenate(([0.0], np.cumsum(speed[:-1])))
    alt_rec = alt + rng.normal(0, 0.2, n)
    t_s = np.arange(n, dtype=np.int64)
    if p.pause_at_s is not None:
        t_s[p.pause_at_s :] += p.pause_s
    elapsed_min = t_s / 60.0
    g_true = speed * minetti_cost_j_per_kg_m(grade) / MINETTI_FLAT_COST_J_PER_KG_M
    target = (ath.hr_a_bpm + ath.hr_b_bpm_per_mps * g_true) * p.hr_multiplier
    target *= 1.0 + p.drift_per_30min * np.maximum(elapsed_min - 10.0, 0.0) / 30.0
    a = np.exp(-1.0 / 30.0)
    hr0 = ath.profile["hr_rest_bpm"] + 30.0
    hr, _ = lfilter([1 - a], [1, -a], target, zi=[a * hr0])
    hr = np.round(np.minimum(hr + rng.normal(0, 1.0, n), ath.profile["hr_max_bpm"]))
    if not p.has_hr:
        hr = np.full(n, np.nan)
    temp = np.round(p.temperature_c + 0.5 * np.sin(np.arange(n) / 900.0) + rng.normal(0, 0.3, n))
    cad = np.round(2 * (78 + 6 * (speed - 3.0)) + rng.normal(0, 1.5, n))
    if p.has_power:
        power = ath.profile["body_mass_kg"] * g_true / (ath.re * p.re_multiplier) * (1 + rng.normal(0, 0.03, n))
    else:
        power = np.full(n, np.nan)
    t_ns = p.started_at_ns + t_s * _NS
    return RunRecords(
        activity_id=p.activity_id,
        t_ns=t_ns,
        heart_rate_bpm=hr,
        speed_mps=speed_rec,
        distance_m=dist,
        altitude_m=alt_rec,
        power_w=power,
        temperature_c=temp,
        cadence_spm=cad,
    )
