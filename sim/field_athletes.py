"""Independent synthetic "field" athletes for validating the economy-change model (issue 10, item 3).

A generator of runner-who-lifts histories whose data-generating process is
deliberately *different* from the assumptions of the n-of-1 economy model and
of :mod:`sim.athlete`: HR comes out of an oxygen-cost model with an intercept,
heat works through dehydration and heat storage (no temperature threshold),
the watch's temperature is skin-warmed, week-level noise sits on the economy
state (optionally AR(1), with trends and random walks), heavy lifting impairs
economy for a day or two, and runs are rendered at 1 Hz with sensors that err.
Each scenario of :data:`SCENARIOS` changes one thing; everything is
deterministic from ``(scenario, seed)`` and pure (no I/O).

Public interface
----------------
``SCENARIOS`` (name -> :class:`ScenarioSpec`), :func:`simulate_field_athlete`
-> :class:`FieldAthlete` (``runs`` of :class:`FieldRun`, ``strength_sets``
rows shaped like the CLI ``sets --json`` rows, ``e5rm_kg``, logged
``events``, and the :class:`Truth`), :func:`true_change_pct_at` (the true
strength effect on each proxy at any date). ``FieldRun.records`` is rendered
lazily on each access (deterministic: any subset, any order, the same arrays;
the last 32 renderings are kept, so memory stays bounded when many athletes
are held). Runs of two scenarios with the same seed share every draw that
the scenarios do not change (e.g. ``null`` and ``step_4`` differ only by the
effect), so paired comparisons are possible.

What is a "true change"
-----------------------
The strength effect on a proxy at time t is the proxy of a noiseless
*reference run* at t with the strength effect divided by the same run without
it, minus 1, in %. The reference run: flat, 50 min at the athlete's reference
speed (``Truth.reference_speed_mps``, its usual easy pace to 0.05 m/s), 12 C
effective air temperature, 08:00 local, rested (no acute lifting effect),
with the athlete's economy and fitness state of that calendar week (trend,
random walk and week noise included, day noise excluded); proxies computed as
:mod:`analysis.economy` defines them, over minutes 10-50. ``Truth`` holds it
for the last observed week at Thursday 08:00 local. Because the counterfactual
is the same athlete at the same time, any pre-strength trend is part of both
(so a model's "trend-extrapolated" estimand matches it when the trend is
linear). Shoes, a new HR strap and overreaching are *not* strength effects:
truth 0, their own size at the last week in ``Truth.nuisance_change_pct``.

Generating process and sources (every number is a modelling choice inside the cited range)
-------------------------------------------------------------------------------------------
Oxygen cost and HR
    * Net oxygen cost on the flat ``c0 * (1 + kappa (v - 3 m/s))`` mL/kg/m, c0 drawn
      0.185-0.215 mL/kg/m (running economy ~180-220 mL/kg/km in trained runners,
      Saunders et al. 2004, Sports Med 34:465; the ACSM running equation's 0.2
      mL/kg/m), kappa -0.02..+0.04 per m/s (cost per km roughly speed independent,
      mildly curvilinear in some runners: Saunders 2004).
    * Slope: uphill cost x (1 + 4.5 i) (ACSM running equation, 0.9 v i / 0.2 v;
      ACSM's Guidelines for Exercise Testing and Prescription), downhill the
      Minetti et al. 2002 ratio C(i)/C(0) (J Appl Physiol 93:1039). The model's
      grade adjustment is pure Minetti, so GAP is slightly wrong uphill, as in life.
    * Runners do not hold metabolic power on hills: speed = intended pace x
      ratio^(-beta), beta drawn 0.5-0.85 (a modelling choice, no source: runners
      slow less than iso-metabolically uphill; Minetti's iso-cost GAP assumes
      beta = 1).
    * VO2 = 3.5 + net cost x speed; HR from the fraction of VO2 reserve:
      HR = HRrest + (HRmax - HRrest)(a0 + a1 %VO2R), a0 -0.03..0.03, a1
      0.95-1.05 (%HRR ~ %VO2R, Swain & Leutholtz 1997, MSSE 29:410). So a
      x % economy change moves HR by less than x % (intercept) and EF's % change
      depends on speed. VO2max drawn 45-65 (men) / 40-58 (women) mL/kg/min;
      easy pace at 58-70 % VO2R.
    * HR kinetics: linear two-phase response, 55 % with tau 15 s (vagal
      withdrawal) and 45 % with tau 70 s (sympathetic), from HRrest + 20 bpm
      (Borresen & Lambert 2008, Sports Med 38:633). sim.athlete: one 30 s lag.
    * Slow component above ~78 % VO2R: +4 bpm per 0.1 of %VO2R above it,
      building with tau 240 s (VO2 slow component above the lactate threshold,
      Jones & Poole 2005, Oxygen Uptake Kinetics in Sport, Exercise and Medicine).
Heat and drift (no threshold; sim.athlete uses a multiplicative drift above 22 C)
    * Sweat rate s x (0.25 + 0.028 T_eff) L/h x VO2/40, s 0.8-1.25 (0.4-1.8 L/h
      in runners, Sawka et al. 2007 ACSM position stand, MSSE 39:377); HR +3..7
      bpm per 1 % body mass lost (around Montain & Coyle 1992, J Appl Physiol
      73:1340): drift proportional to cumulative sweat loss, i.e. to time x
      metabolic rate x heat. The sweat-rate line itself is a modelling choice
      spanning Sawka's range.
    * Skin blood flow: + h_T softplus_4(T_eff - 12 C) bpm approached with tau
      15 min, h_T 0.25-0.45 bpm/C; heat storage: + g_T softplus_3(T_eff - 24 C)
      bpm per 30 min, g_T 0.3-0.7. Calibrated so that, at ~60 % VO2max, HR rises
      ~3-4 % between minutes 15 and 45 at 22 C and ~8-10 % at 35 C (Lafrenz,
      Wingo, Ganio & Cureton 2008, MSSE 40:1065, cycling: +2 % and +11 %).
    * T_eff = air + 0-2.5 C solar load by day. Air: seasonal sine per climate
      + diurnal cosine (peak 15:00) + daily AR(1) weather anomaly (SD 3.5 C,
      rho 0.7). Air temperature is *known* (``FieldRun.air_temperature_c``,
      weather-station error SD 0.8 C) for a per-athlete 30-90 % of runs.
    * The watch's own temperature (``records.temperature_c``) relaxes from
      indoor 19-24 C (tau 10 min) to air + w (skin - air) + half the solar
      load, skin = 31 + 0.15 (air - 20) clipped 27-35 C, w 0.5-0.8 below 8 C
      (sleeve over the watch) else 0.25-0.5; integer C as in FIT.
Time of day, day and week variation
    * Circadian HR amplitude 1-3 bpm, peak 17:30 (Atkinson & Reilly 1996,
      Sports Med 21:292). Day-level HR offset SD 1.5-3 bpm (day-to-day
      submaximal HR variability of a few bpm, Achten & Jeukendrup 2003,
      Sports Med 33:517) and day-level economy noise SD 0.5 %.
    * Economy state (log cost multiplier) per calendar week: fitness index +
      week noise with SD 1-2 % (the issue's size), iid in ``null``, AR(1) in
      ``ar1_*``. The fitness index phi (trend, random walk) is in EF-equivalent
      log units: a share s_E (0.3-0.7) acts on economy, the rest on VO2max, each
      scaled by its first-order effect on EF at the reference speed, so EF moves
      ~phi while the mechanism differs from the strength effect (economy only).
    * Pace by feel: the runner's easy pace rises by gamma (0-0.3, a modelling
      choice) x the perceived gain (fitness + strength + shoes), falls 0.3 %/C
      above 15 C (the slowing of marathon times with heat, Ely et al. 2007, MSSE
      39:487) and 2 % when overreached, plus day noise SD 2 %. So the speed mix
      moves with fitness and season; EF depends on it.
Strength training
    * Heavy lower-body sessions 1-3 a week planned (30/50/20 %), attendance
      70-95 %, the first one forced in the strength-start week; alternating
      back-squat and deadlift days, 3-5 sets x 3-5 reps from 80 % rising 1 %/week
      to 95 % of the block-start 5RM (loads rounded up to 2.5 kg), after two
      warm-up sets (50 / 65 %), plus unilateral work (Bulgarian split squat,
      split squat, lunge, step-up: 3 x 5 at 80-90 %) and RDL; 15 % of work sets
      lose a rep (never below 3). Half the athletes do one light (65 %, 8 reps)
      familiarisation session the week before; 30 % lift upper body (bench,
      overhead press, 5-8 reps at 75-90 % of their 5RM: some upper-body zone sets)
      once a week throughout, baseline included. Lifting goes on in weeks without
      runs (a running niggle, not a holiday).
    * Chronic effect (the estimand): economy x (1 + e(t)), e = 0 (null), a step
      at the first heavy session, or a linear ramp to the full size over N weeks.
      The power proxy moves by rho (0-0.5) of the log effect: Stryd power barely
      tracks metabolic economy (Sensors 2023, 23(21):8729).
    * Acute effect (a nuisance, excluded from the truth): oxygen cost +2-4 % from
      6 to 24 h after a heavy lower-body session (60 % of it at 0 h rising to
      full at 6 h, fading to 0 at 48 h), shrinking with repeated bouts to 40 %
      (Doma & Deakin 2013, Appl Physiol Nutr Metab 38:651; Doma et al. 2015,
      Eur J Appl Physiol 115:1789, repeated-bout effect). Light sessions: 30 %.
Runs, routes and sensors
    * 2-6 runs a week (per-athlete mean, week counts within +-1 of it, clipped
      2-6); local times morning / lunch / evening by athlete preference (more
      mornings in a hot summer). Kinds: easy (35-65 min, 4-10 min pace segments
      with SD 3.5 % so HR-vs-speed is estimable on many), long (70-110 min),
      tempo (2-4 blocks of 6-12 min at 112-120 % of easy pace with jog
      recoveries), intervals (5 %; 5-8 x 2-4 min hard: mostly not steady) and
      short recovery runs (5 %; 24-30 min: too short for 20 steady minutes).
      Warm-ups start slow. 0-3 stops a run (5-90 s): auto-pause (gap in the
      records) for 70 % of athletes, else standing still recorded.
    * Five routes per athlete (loops of 3-8 km; two flat, two rolling, one
      hilly) as smooth altitude profiles; the long run prefers the flat ones
      (modelling choices, tuned so ~80-85 % of runs pass run_economy).
    * Runner pace wobble AR(1) SD 1.5 % (tau 30 s); GPS speed error AR(1)
      (tau 3 s) SD 0.03-0.08 m/s by route; GPS distance (and speed) bias per
      route mean -1 %, SD 1.5 %, + per run SD 0.7 % (watches mostly
      underestimate distance, mean absolute errors 3.2-6.1 % on 0.4-4.3 km
      courses, worse in forest and town: Gilgen-Ammann, Schweizer & Wyss 2020,
      JMIR mHealth uHealth 8(6):e17118); barometric altitude offset, drift and
      0.15 m noise at 0.2 m resolution.
    * HR sensor: a chest strap (0.6 bpm noise, rare 1-3 s dropouts) or the wrist
      optical sensor (AR(1) noise SD 2 bpm, a per-athlete bias -1.5..1.5 bpm,
      4 % of runs with a cadence-lock episode, mostly in the warm-up); 1 % of runs
      have no HR at all. Reported as ``FieldRun.hr_sensor`` (what FIT device_info
      reveals).
    * Power (40 % of athletes): Stryd-like, body mass x speed x (1 + 0.03 (v-3))
      / RE_s (RE_s 0.95-1.05 (m/s)/(W/kg)) + a vertical term on slopes, 2 % noise.
      Its own week noise (SD 0.5-1 %, correlated 0.5 with the economy noise) and
      a share 0.5-1 of the fitness index.
Sizes per seed: baseline 6-12 *observed* weeks, block 8-16 observed weeks,
2-4 missing weeks (no runs) placed inside (never the first or last week); the
last week always has a flat easy run so it is observed.
"""

from __future__ import annotations

import datetime as _dt
import math
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from analysis.grade import MINETTI_FLAT_COST_J_PER_KG_M, minetti_cost_j_per_kg_m
from records.runs import RunRecords

__all__ = [
    "PROXIES",
    "SCENARIOS",
    "FieldAthlete",
    "FieldRun",
    "ScenarioSpec",
    "Truth",
    "simulate_field_athlete",
    "true_change_pct_at",
]

_NS = 1_000_000_000
#: The proxies whose true change is reported (names as in :class:`analysis.economy.RunEconomy`).
PROXIES: tuple[str, ...] = ("ef_proxy", "hr_at_reference_speed_bpm", "speed_per_w_per_kg")
_REF_TEMP_C = 12.0
_REF_HOUR = 8.0
_REF_DURATION_S = 3000
_REF_FROM_S = 600


# ------------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioSpec:
    """One validation scenario: the default field athlete with one assumption changed.

    Attributes
    ----------
    name, description : str
    tier : str
        ``"must_meet"``, ``"must_disclose"`` or ``"quick"`` (issue 10's tiers).
    effect_kind : str
        ``"none"``, ``"step"`` or ``"ramp"``.
    effect_economy_pct : float
        Size of the chronic strength effect on running economy (distance per unit
        oxygen, %): oxygen cost x 1/(1 + pct/100).
    ramp_weeks : float
        Weeks over which a ramp reaches its full size (linear from the first heavy session).
    trend_pct_per_week : float
        Fitness trend in EF-equivalent % per week.
    random_walk_sd_pct : float
        Weekly step SD of a random-walk fitness index (EF-equivalent %).
    week_ar1_rho : float
        AR(1) coefficient of the week-level economy noise (0: independent weeks).
    hot_summer : bool
        Hot-climate athlete, baseline in summer, block from September.
    missing_weeks : (int, int)
        Range of the number of weeks without runs.
    missing_around_start : bool
        Force missing weeks next to the strength start (the week before and the
        start week or the one after).
    strap_change : bool
        Wrist optical HR until mid-block, then a chest strap (bias differs by
        2-4 bpm); not logged, visible only in ``hr_sensor``.
    overreaching : bool
        A 3-week functional-overreaching period in the block: HR -3 bpm at a
        given speed, one more and longer runs a week, pace -2 %.
    shoe_change_pct : float
        Economy change from new shoes at the strength start (not a strength effect).
    shoe_logged : bool
        Whether the user logged the shoe change (``FieldAthlete.events`` and ``FieldRun.shoe``).
    baseline_weeks, block_weeks : (int, int)
        Ranges of observed (non-missing) weeks before / from the strength start.
    runs_per_week : (float, float)
        Range of the athlete's mean runs per week.
    """

    name: str
    tier: str
    description: str
    effect_kind: str = "none"
    effect_economy_pct: float = 0.0
    ramp_weeks: float = 0.0
    trend_pct_per_week: float = 0.0
    random_walk_sd_pct: float = 0.0
    week_ar1_rho: float = 0.0
    hot_summer: bool = False
    missing_weeks: tuple[int, int] = (2, 4)
    missing_around_start: bool = False
    strap_change: bool = False
    overreaching: bool = False
    shoe_change_pct: float = 0.0
    shoe_logged: bool = False
    baseline_weeks: tuple[int, int] = (6, 12)
    block_weeks: tuple[int, int] = (8, 16)
    runs_per_week: tuple[float, float] = (2.0, 6.0)


def _spec(name: str, tier: str, description: str, **kw: Any) -> tuple[str, ScenarioSpec]:
    return name, ScenarioSpec(name=name, tier=tier, description=description, **kw)


#: The validation scenarios of issue 10 (keys are the names used by benchmarks and tests).
SCENARIOS: dict[str, ScenarioSpec] = dict(
    [
        _spec("null", "must_meet", "no strength effect; independent week noise"),
        _spec("null_trend_0.1", "must_meet", "no effect; fitness +0.1 %/week (EF-equivalent)", trend_pct_per_week=0.1),
        _spec("null_trend_0.2", "must_meet", "no effect; fitness +0.2 %/week (EF-equivalent)", trend_pct_per_week=0.2),
        _spec(
            "null_random_walk",
            "must_meet",
            "no effect; fitness random walk, step SD 0.3 %/week",
            random_walk_sd_pct=0.3,
        ),
        _spec("ar1_0.5", "must_meet", "no effect; week noise AR(1) rho 0.5", week_ar1_rho=0.5),
        _spec("ar1_0.8", "must_meet", "no effect; week noise AR(1) rho 0.8", week_ar1_rho=0.8),
        _spec(
            "step_4",
            "must_meet",
            "economy +4 % step at the first heavy session",
            effect_kind="step",
            effect_economy_pct=4.0,
        ),
        _spec(
            "ramp_6w",
            "must_meet",
            "economy +4 % reached linearly over 6 weeks",
            effect_kind="ramp",
            effect_economy_pct=4.0,
            ramp_weeks=6.0,
        ),
        _spec(
            "ramp_12w",
            "must_meet",
            "economy +4 % reached linearly over 12 weeks",
            effect_kind="ramp",
            effect_economy_pct=4.0,
            ramp_weeks=12.0,
        ),
        _spec(
            "hot_summer",
            "must_meet",
            "no effect; hot-summer baseline, autumn block, air temperature known "
            "for some runs, watch temperature skin-warmed",
            hot_summer=True,
        ),
        _spec(
            "missing_weeks",
            "must_meet",
            "no effect; 4-6 missing weeks incl. around the strength start",
            missing_weeks=(4, 6),
            missing_around_start=True,
        ),
        _spec(
            "strap_change",
            "must_meet",
            "no effect; wrist optical HR -> chest strap mid-block (bias differs "
            "2-4 bpm), not logged, revealed by hr_sensor",
            strap_change=True,
        ),
        _spec(
            "overreaching",
            "must_disclose",
            "no effect; 3-week overreaching in the block lowers HR ~3 bpm at a given speed",
            overreaching=True,
        ),
        _spec(
            "shoe_change_unlogged",
            "must_disclose",
            "no strength effect; new shoes +2 % economy at the strength start, not logged",
            shoe_change_pct=2.0,
        ),
        _spec(
            "shoe_change_logged",
            "must_disclose",
            "no strength effect; new shoes +2 % economy at the strength start, logged as an event",
            shoe_change_pct=2.0,
            shoe_logged=True,
        ),
        _spec(
            "null_fast",
            "quick",
            "cheap null for quick tests: 6 + 8 observed weeks, 2-3 runs a week, 2 missing",
            baseline_weeks=(6, 6),
            block_weeks=(8, 8),
            runs_per_week=(2.0, 3.0),
            missing_weeks=(2, 2),
        ),
    ]
)


# ------------------------------------------------------------------------------------------------
# Public data types
# ------------------------------------------------------------------------------------------------


@dataclass
class Truth:
    """What the generator did (never visible to a model).

    Attributes
    ----------
    strength_start_date : datetime.date
        Local date of the first heavy lower-body session (a zone set of a lower-body lift).
    last_observed_week : datetime.date
        Monday of the last week with runs (it always holds a flat easy run).
    true_change_pct : dict
        Strength effect per proxy (:data:`PROXIES`) at Thursday 08:00 of the last observed
        week, % change of the proxy's value vs the same athlete without the strength effect.
        ``speed_per_w_per_kg`` is given even when the athlete has no power meter
        (``profile["power_meter"]``).
    effect_kind : str
        ``"none"``, ``"step"`` or ``"ramp"``.
    notes : list of str
    reference_speed_mps : float
        Speed of the reference run (pass it as ``reference_speed_mps`` to ``run_economy``).
    reference_time_ns : int
        UTC instant the truth refers to.
    nuisance_change_pct : dict
        Non-strength changes per proxy at that instant that a model cannot tell from an
        effect without more data (shoes, strap bias, overreaching); zeros when none.
    economy_effect_pct : float
        The chronic strength effect on economy itself at that instant (%).
    baseline_weeks_observed, block_weeks_observed : int
    missing_weeks : list of datetime.date
        Mondays of the weeks without runs.
    """

    strength_start_date: _dt.date
    last_observed_week: _dt.date
    true_change_pct: dict[str, float]
    effect_kind: str
    notes: list[str]
    reference_speed_mps: float = 0.0
    reference_time_ns: int = 0
    nuisance_change_pct: dict[str, float] = field(default_factory=dict)
    economy_effect_pct: float = 0.0
    baseline_weeks_observed: int = 0
    block_weeks_observed: int = 0
    missing_weeks: list[_dt.date] = field(default_factory=list)


@dataclass(frozen=True)
class _RunPlan:
    """Everything that determines one run (1 Hz noise aside). Internal."""

    index: int
    key: tuple[int, int]
    activity_id: str
    week: int
    started_at_ns: int
    local_hour: float
    kind: str
    route: int
    seg_dur_s: tuple[int, ...]
    seg_factor: tuple[float, ...]
    seg_pause: tuple[bool, ...]
    pace_mps: float
    t_air_c: float
    t_eff_c: float
    solar_c: float
    watch_w: float
    watch_start_c: float
    econ_log: float
    vo2max_log: float
    strength_log: float
    shoe_log: float
    acute_frac: float
    mech_log: float
    hr_offset_bpm: float
    overreach_bpm: float
    sensor: str
    sensor_bias_bpm: float
    has_power: bool
    auto_pause: bool
    gps_bias: float
    cadence_lock: tuple[int, int] | None
    noise: bool
    has_hr: bool = True


@dataclass(frozen=True)
class FieldRun:
    """One run: its 1 Hz records (rendered on access) and what the user logged.

    Attributes
    ----------
    activity_id : str
    started_at_ns : int
        UTC epoch ns of the first sample.
    air_temperature_c : float or None
        Weather-station air temperature for this run when known, else None.
    hr_sensor : str
        What FIT ``device_info`` would reveal: ``"wrist-ohr"`` or ``"strap:<model>:SN<serial>"``.
    shoe : str or None
        Logged gear, None when the user did not log it.
    kind : str
        The run's type as its activity name would say (easy, long, tempo, intervals, recovery).
    records : RunRecords
        ``heart_rate_bpm, speed_mps, distance_m, altitude_m, temperature_c`` (the watch's own,
        skin-warmed), ``cadence_spm``, ``power_w`` (all-NaN without a power meter).
    """

    activity_id: str
    started_at_ns: int
    air_temperature_c: float | None
    hr_sensor: str
    shoe: str | None
    kind: str
    _plan: _RunPlan = field(repr=False, compare=False)
    _model: _Model = field(repr=False, compare=False)

    @property
    def records(self) -> RunRecords:
        """The run at 1 Hz, rendered on access (deterministic; the last 32 renderings are cached and
        shared, so do not modify the arrays in place)."""
        m, p = self._model, self._plan
        key = (m.scenario, m.seed, m.noise, m.controlled, p.key)
        rec = _RENDER_CACHE.get(key)
        if rec is None:
            rec = _render(m, p)
            _RENDER_CACHE[key] = rec
            if len(_RENDER_CACHE) > _RENDER_CACHE_SIZE:
                _RENDER_CACHE.popitem(last=False)
        else:
            _RENDER_CACHE.move_to_end(key)
        return rec


#: Small LRU of rendered runs: repeated access is cheap, memory stays bounded (~10 MB).
_RENDER_CACHE: OrderedDict[tuple[object, ...], RunRecords] = OrderedDict()
_RENDER_CACHE_SIZE = 32


@dataclass
class FieldAthlete:
    """A synthetic field athlete (see the module docstring for the generating process).

    Attributes
    ----------
    scenario : str
    seed : int
    tz : str
        IANA zone of the athlete.
    profile : dict
        What the user entered: ``body_mass_kg, sex, hr_rest_bpm, hr_max_bpm`` (HR values are
        the user's estimates, +-2-3 bpm from the truth), plus ``power_meter`` (bool).
    runs : list of FieldRun
        Sorted by start time.
    strength_sets : list of dict
        CLI ``sets --json`` rows (set_id, activity_id, session_id None, started_at ISO UTC "Z",
        exercise, exercise_candidates [], set_type "active", reps, load_kg, duration_s, source "fit").
    e5rm_kg : dict
        The lifter's 5RM per exercise at the block start (loads stay within 100 % of it).
    events : list of dict
        User-logged events only: ``{"date": "YYYY-MM-DD", "kind": "shoe" | "hr_sensor", "note": str}``.
    truth : Truth
    """

    scenario: str
    seed: int
    tz: str
    profile: dict[str, Any]
    runs: list[FieldRun]
    strength_sets: list[dict[str, Any]]
    e5rm_kg: dict[str, float]
    events: list[dict[str, Any]]
    truth: Truth
    _model: _Model = field(repr=False)


# ------------------------------------------------------------------------------------------------
# Internal model
# ------------------------------------------------------------------------------------------------


@dataclass
class _Model:
    """Athlete constants and weekly states (internal; not observable)."""

    seed: int
    scenario: str
    spec: ScenarioSpec
    tz: str
    monday0: _dt.date
    n_weeks: int
    start_week: int
    strength_start_ns: int
    sex: str
    mass_kg: float
    hr_rest: float
    hr_max: float
    vo2max: float
    c0: float
    kappa: float
    a0: float
    a1: float
    beta: float
    sweat: float
    dehyd_bpm_per_pct: float
    h_t: float
    g_t: float
    circ_bpm: float
    v_easy: float
    v_ref: float
    gamma: float
    rho_power: float
    re_s: float
    acute_pct: float
    effect_frac: float
    ramp_weeks: float
    effect_kind: str
    shoe_log_size: float
    econ_week: np.ndarray  # log economy offset per calendar week (fitness share + week noise)
    vo2_week: np.ndarray  # log VO2max offset per calendar week
    mech_week: np.ndarray  # log power-proxy offset per calendar week
    phi_week: np.ndarray  # fitness index (EF-equivalent log units)
    routes: list[dict[str, Any]]
    overreach_weeks: tuple[int, ...] = ()
    strap_change_ns: int | None = None
    wrist_bias_bpm: float = 0.0
    strap_bias_bpm: float = 0.0
    noise: bool = True
    controlled: bool = False

    def week_of_ns(self, t_ns: int) -> int:
        zi = ZoneInfo(self.tz)
        d = _dt.datetime.fromtimestamp(t_ns / _NS, tz=_dt.UTC).astimezone(zi).date()
        return (d - self.monday0).days // 7

    def effect_at(self, t_ns: int) -> float:
        """Chronic strength effect on economy (fraction) at UTC instant ``t_ns``."""
        if self.effect_kind == "none" or t_ns < self.strength_start_ns:
            return 0.0
        if self.effect_kind == "step":
            return self.effect_frac
        days = (t_ns - self.strength_start_ns) / _NS / 86400.0
        return self.effect_frac * min(days / (7.0 * self.ramp_weeks), 1.0)


def _crc(s: str) -> int:
    return zlib.crc32(s.encode())


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent stream per purpose, so scenarios share every draw they do not change."""
    parts = [int(seed) & 0xFFFFFFFF] + [k & 0xFFFFFFFF if isinstance(k, int) else _crc(k) for k in keys]
    return np.random.default_rng(parts)


def _softplus(x: np.ndarray | float, k: float) -> np.ndarray | float:
    return k * np.logaddexp(0.0, np.asarray(x, dtype=np.float64) / k)


def _grade_cost_ratio(i: np.ndarray) -> np.ndarray:
    """Oxygen cost on slope i relative to the flat: ACSM uphill (1 + 4.5 i), Minetti 2002 downhill."""
    i = np.asarray(i, dtype=np.float64)
    down = np.asarray(minetti_cost_j_per_kg_m(np.clip(i, -0.45, 0.0))) / MINETTI_FLAT_COST_J_PER_KG_M
    return np.where(i >= 0.0, 1.0 + 4.5 * i, down)


# Climates: annual mean C, seasonal amplitude C (negative: southern hemisphere), diurnal amplitude C.
_CLIMATES: dict[str, tuple[float, float, float]] = {
    "Europe/Oslo": (6.5, 10.0, 4.0),
    "Europe/Berlin": (10.0, 9.5, 4.5),
    "Europe/London": (11.0, 7.0, 4.0),
    "America/Denver": (10.5, 11.5, 7.0),
    "Australia/Melbourne": (15.5, -5.5, 5.0),
}
_HOT_CLIMATES: dict[str, tuple[float, float, float]] = {
    "Europe/Madrid": (15.5, 10.5, 6.0),
    "America/Chicago": (10.5, 14.0, 5.0),
}


def _air_temp(clim: tuple[float, float, float], date: _dt.date, hour: float, anomaly: float) -> float:
    mean, amp, diurnal = clim
    doy = date.timetuple().tm_yday
    return (
        mean
        + amp * math.sin(2 * math.pi * (doy - 105) / 365.25)
        + diurnal * math.cos(2 * math.pi * (hour - 15.0) / 24.0)
        + anomaly
    )


def _hr_ss(m: _Model, vo2net: np.ndarray | float, vo2max_log: float) -> np.ndarray | float:
    """Steady-state metabolic HR from net VO2 (%HRR = a0 + a1 %VO2R)."""
    frac = np.asarray(vo2net) / (m.vo2max * math.exp(vo2max_log) - 3.5)
    return m.hr_rest + (m.hr_max - m.hr_rest) * (m.a0 + m.a1 * frac)


def _vo2net(m: _Model, v: np.ndarray, grade: np.ndarray, econ_total_log: float, acute_frac: float) -> np.ndarray:
    """Net oxygen uptake (mL/kg/min) at speed v (m/s) on slope grade."""
    cost = m.c0 * (1.0 + m.kappa * (v - 3.0)) * _grade_cost_ratio(grade)
    run = cost * v * 60.0 * math.exp(-econ_total_log) * (1.0 + acute_frac)
    vo2: npt.NDArray[np.float64] = np.maximum(run, 1.5)  # standing: ~1.5 mL/kg/min above rest
    return vo2


def _hr_true(m: _Model, v: np.ndarray, grade: np.ndarray, t_s: np.ndarray, p: _RunPlan) -> np.ndarray:
    """Physiological HR (bpm) per second of elapsed time: metabolic + heat + drift + offsets, with kinetics."""
    econ_total = p.econ_log + p.strength_log + p.shoe_log
    vo2net = _vo2net(m, v, grade, econ_total, p.acute_frac)
    vo2max_eff = m.vo2max * math.exp(p.vo2max_log)
    frac = vo2net / (vo2max_eff - 3.5)
    hr_meta = m.hr_rest + (m.hr_max - m.hr_rest) * (m.a0 + m.a1 * frac)
    # heat: dehydration (cumulative sweat), skin blood flow, heat storage
    sweat_l_per_s = np.maximum(m.sweat * (0.25 + 0.028 * p.t_eff_c), 0.2) / 3600.0 * (vo2net + 3.5) / 40.0
    dehyd_pct = np.cumsum(sweat_l_per_s) / m.mass_kg * 100.0
    heat = m.h_t * _softplus(p.t_eff_c - 12.0, 4.0) * (1.0 - np.exp(-t_s / 900.0))
    core = m.g_t * _softplus(p.t_eff_c - 24.0, 3.0) * t_s / 1800.0
    a_sc = math.exp(-1.0 / 240.0)
    sc = lfilter([1 - a_sc], [1, -a_sc], 40.0 * np.maximum(frac - 0.78, 0.0))
    target = hr_meta + m.dehyd_bpm_per_pct * dehyd_pct + heat + core + sc + p.hr_offset_bpm + p.overreach_bpm
    target = np.minimum(target, m.hr_max)
    hr0 = m.hr_rest + 20.0
    x = target - hr0
    af, asl = math.exp(-1.0 / 15.0), math.exp(-1.0 / 70.0)
    y = 0.55 * lfilter([1 - af], [1, -af], x) + 0.45 * lfilter([1 - asl], [1, -asl], x)
    result: npt.NDArray[np.float64] = hr0 + y
    return result


def _route_profile(route: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Altitude (m) and grade along the loop at cumulative distances x (m), from its 1 m grid."""
    if not route["terms"]:
        return np.full(x.shape, route["base_m"]), np.zeros(x.shape)
    grid = route.get("_grid")
    if grid is None:
        L = route["length_m"]
        g = np.arange(0.0, L + 1.0, 1.0)
        alt = np.full(g.shape, route["base_m"])
        grade = np.zeros(g.shape)
        for a, k, ph in route["terms"]:
            w = 2 * np.pi * k / L
            alt = alt + a * np.sin(w * g + ph)
            grade = grade + a * w * np.cos(w * g + ph)
        grid = route["_grid"] = (g, alt, grade)
    g, alt, grade = grid
    xm = np.mod(x, route["length_m"])
    return np.interp(xm, g, alt), np.interp(xm, g, grade)


def _circadian(m: _Model, hour: float) -> float:
    return m.circ_bpm * math.cos(2 * math.pi * (hour - 17.5) / 24.0)


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------


def _ar1(rng: np.random.Generator, n: int, tau_s: float, sd: float) -> np.ndarray:
    a = math.exp(-1.0 / tau_s)
    result: npt.NDArray[np.float64] = lfilter([1.0], [1.0, -a], rng.standard_normal(n)) * sd * math.sqrt(1 - a * a)
    return result


def _render(m: _Model, p: _RunPlan) -> RunRecords:
    rng = _rng(m.seed, "render", p.key[0], p.key[1])
    dur = np.asarray(p.seg_dur_s, dtype=np.int64)
    n = int(dur.sum())
    fac = np.repeat(np.asarray(p.seg_factor), dur)
    paused = np.repeat(np.asarray(p.seg_pause), dur)
    # intended speed with smooth accelerations (tau 4 s) and the runner's own wobble
    a4 = math.exp(-1.0 / 4.0)
    v_int = p.pace_mps * lfilter([1 - a4], [1, -a4], fac, zi=[a4 * fac[0]])[0]
    if p.noise:
        v_int = v_int * (1.0 + _ar1(rng, n, 30.0, 0.015))
    v_int = np.where(paused, 0.0, np.maximum(v_int, 0.0))
    route = m.routes[p.route]
    v = v_int
    grade = np.zeros(n)
    for _ in range(2):  # position <-> grade fixed point
        x = np.cumsum(v)
        _, grade = _route_profile(route, x)
        v = v_int * _grade_cost_ratio(grade) ** (-m.beta)
    x = np.concatenate(([0.0], np.cumsum(v)[:-1]))
    alt, grade = _route_profile(route, x)
    t_s = np.arange(n, dtype=np.float64)
    hr = _hr_true(m, v, grade, t_s, p)
    # --- sensors
    if p.sensor == "wrist-ohr":
        hr_rec = hr + p.sensor_bias_bpm + (_ar1(rng, n, 8.0, 2.0) if p.noise else 0.0)
    else:
        hr_rec = hr + p.sensor_bias_bpm + (rng.normal(0.0, 0.6, n) if p.noise else 0.0)
    cad = 2.0 * (76.0 + 7.0 * (v - 3.0)) + (rng.normal(0.0, 1.5, n) if p.noise else 0.0)
    cad = np.where(v > 0.5, np.round(cad), np.nan)
    if p.cadence_lock is not None:
        lo, hi = p.cadence_lock
        lock = np.where(np.isfinite(cad[lo:hi]), cad[lo:hi], hr_rec[lo:hi])
        hr_rec[lo:hi] = lock
    hr_rec = np.round(np.clip(hr_rec, 30.0, 240.0))
    if not p.has_hr:  # sensor not worn / not paired
        hr_rec = np.full(n, np.nan)
    if p.noise and p.sensor != "wrist-ohr":
        for _ in range(int(rng.poisson(1.0))):
            s = int(rng.integers(0, n))
            hr_rec[s : s + int(rng.integers(1, 4))] = np.nan
    gps_sd = route["gps_sd_mps"]
    speed_rec = v * (1.0 + p.gps_bias) + (_ar1(rng, n, 3.0, gps_sd) if p.noise else 0.0)
    speed_rec = np.where(v > 0, np.maximum(speed_rec, 0.0), 0.0)
    dist = np.cumsum(v * (1.0 + p.gps_bias))
    dist = np.concatenate(([0.0], dist[:-1]))
    if p.noise:
        alt_rec = alt + rng.normal(0.0, 3.0) + rng.normal(0.0, 1.5) * t_s / 3600.0 + rng.normal(0.0, 0.15, n)
    else:
        alt_rec = alt.copy()
    alt_rec = np.round(alt_rec / 0.2) * 0.2
    t_skin = min(max(31.0 + 0.15 * (p.t_air_c - 20.0), 27.0), 35.0)
    t_eq = p.t_air_c + p.watch_w * (t_skin - p.t_air_c) + 0.5 * p.solar_c
    temp = t_eq + (p.watch_start_c - t_eq) * np.exp(-t_s / 600.0)
    temp = np.round(temp + (rng.normal(0.0, 0.3, n) if p.noise else 0.0))
    if p.has_power:
        mech = math.exp(p.mech_log)
        pw = m.mass_kg * v * (1.0 + 0.03 * (v - 3.0)) / (m.re_s * mech) + 0.45 * m.mass_kg * 9.81 * v * grade
        pw = np.maximum(pw, 0.5 * m.mass_kg * v / (m.re_s * mech))
        pw = np.round(pw * (1.0 + (rng.normal(0.0, 0.02, n) if p.noise else 0.0)))
        pw = np.where(v > 0, pw, 0.0)
    else:
        pw = np.full(n, np.nan)
    keep = ~(paused & p.auto_pause)
    t_ns = p.started_at_ns + np.arange(n, dtype=np.int64) * _NS
    return RunRecords(
        activity_id=p.activity_id,
        t_ns=t_ns[keep],
        heart_rate_bpm=hr_rec[keep],
        speed_mps=speed_rec[keep],
        distance_m=dist[keep],
        altitude_m=alt_rec[keep],
        power_w=pw[keep],
        temperature_c=temp[keep],
        cadence_spm=cad[keep],
    )


# ------------------------------------------------------------------------------------------------
# Truth: the noiseless reference run
# ------------------------------------------------------------------------------------------------


def _reference_proxies(
    m: _Model, t_ns: int, *, strength: bool, shoe: bool, overreach: bool, sensor_bias_bpm: float = 0.0
) -> dict[str, float]:
    """Proxies of the noiseless reference run at instant ``t_ns`` (see the module docstring)."""
    w = min(max(m.week_of_ns(t_ns), 0), m.n_weeks - 1)
    e = m.effect_at(t_ns) if strength else 0.0
    shoe_log = m.shoe_log_size if (shoe and t_ns >= m.strength_start_ns) else 0.0
    orb = -3.0 if (overreach and w in m.overreach_weeks) else 0.0
    p = _RunPlan(
        index=-1,
        key=(-1, -1),
        activity_id="reference",
        week=w,
        started_at_ns=t_ns,
        local_hour=_REF_HOUR,
        kind="reference",
        route=0,
        seg_dur_s=(_REF_DURATION_S,),
        seg_factor=(1.0,),
        seg_pause=(False,),
        pace_mps=m.v_ref,
        t_air_c=_REF_TEMP_C,
        t_eff_c=_REF_TEMP_C,
        solar_c=0.0,
        watch_w=0.5,
        watch_start_c=20.0,
        econ_log=float(m.econ_week[w]),
        vo2max_log=float(m.vo2_week[w]),
        strength_log=math.log1p(e),
        shoe_log=shoe_log,
        acute_frac=0.0,
        mech_log=float(m.mech_week[w]) + m.rho_power * math.log1p(e),
        hr_offset_bpm=_circadian(m, _REF_HOUR),
        overreach_bpm=orb,
        sensor="strap",
        sensor_bias_bpm=0.0,
        has_power=True,
        auto_pause=False,
        gps_bias=0.0,
        cadence_lock=None,
        noise=False,
    )
    v = np.full(_REF_DURATION_S, m.v_ref)
    hr = _hr_true(m, v, np.zeros(_REF_DURATION_S), np.arange(_REF_DURATION_S, dtype=np.float64), p)
    hr_mean = float(hr[_REF_FROM_S:].mean()) + sensor_bias_bpm
    power_per_kg = m.v_ref * (1.0 + 0.03 * (m.v_ref - 3.0)) / (m.re_s * math.exp(p.mech_log))
    return {
        "ef_proxy": 60.0 * m.v_ref / hr_mean,
        "hr_at_reference_speed_bpm": hr_mean,
        "speed_per_w_per_kg": m.v_ref / power_per_kg,
    }


def _pct_change(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: 100.0 * (a[k] / b[k] - 1.0) for k in PROXIES}


def true_change_pct_at(athlete: FieldAthlete, when: _dt.date | int) -> dict[str, float]:
    """True strength effect per proxy (%) at a local date (08:00) or a UTC epoch-ns instant.

    Same definition as ``Truth.true_change_pct`` (noiseless reference run with vs without the
    strength effect, with that week's state).
    """
    m = athlete._model
    if isinstance(when, _dt.date):
        local = _dt.datetime.combine(when, _dt.time(8, 0), tzinfo=ZoneInfo(m.tz))
        t_ns = int(local.astimezone(_dt.UTC).timestamp()) * _NS
    else:
        t_ns = int(when)
    on = _reference_proxies(m, t_ns, strength=True, shoe=True, overreach=True)
    off = _reference_proxies(m, t_ns, strength=False, shoe=True, overreach=True)
    return _pct_change(on, off)


# ------------------------------------------------------------------------------------------------
# Plan generation
# ------------------------------------------------------------------------------------------------


def _local_ns(zi: ZoneInfo, date: _dt.date, hour: float) -> int:
    local = _dt.datetime.combine(date, _dt.time(0), tzinfo=zi) + _dt.timedelta(hours=hour)
    return round(local.astimezone(_dt.UTC).timestamp()) * _NS


def _iso_z(t_ns: int) -> str:
    return _dt.datetime.fromtimestamp(t_ns / _NS, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _make_routes(seed: int) -> list[dict[str, Any]]:
    rng = _rng(seed, "routes")
    routes = []
    for kind in ("flat", "flat", "rolling", "rolling", "hilly"):
        L = float(rng.uniform(3000, 8000))
        if kind == "flat":
            spec = [(1, 0.006), (3, 0.004), (7, 0.003)]
        elif kind == "rolling":
            spec = [(2, 0.012), (int(L // 700), 0.035), (int(L // 260), 0.01)]
        else:
            spec = [(1, 0.03), (int(L // 900), 0.08), (int(L // 300), 0.025)]
        terms = []
        for k, g in spec:
            k = max(int(k), 1)
            g = g * float(rng.uniform(0.7, 1.3))
            terms.append((g * L / (2 * np.pi * k), k, float(rng.uniform(0, 2 * np.pi))))
        routes.append(
            {
                "kind": kind,
                "length_m": L,
                "base_m": float(rng.uniform(0, 400)),
                "terms": terms,
                "gps_sd_mps": float(rng.uniform(0.03, 0.08)),
                "gps_bias": float(rng.normal(-0.01, 0.015)),
            }
        )
    return routes


def _solve_easy_speed(c0: float, kappa: float, frac: float, vo2max: float) -> float:
    v = 3.0
    for _ in range(20):
        v = frac * (vo2max - 3.5) / (c0 * (1.0 + kappa * (v - 3.0)) * 60.0)
    return v


def _segments(rng: np.random.Generator, kind: str) -> tuple[list[int], list[float]]:
    dur: list[int] = []
    fac: list[float] = []

    def add(d: float, f: float) -> None:
        dur.append(max(round(float(d)), 1))
        fac.append(float(f))

    warm = float(rng.uniform(480, 720))
    if kind in ("easy", "long", "recovery"):
        base = {"easy": 1.0, "long": 0.95, "recovery": 0.92}[kind]
        total = {"easy": rng.uniform(35, 65), "long": rng.uniform(70, 110), "recovery": rng.uniform(24, 30)}[kind] * 60
        add(warm / 3, base * 0.86)
        add(warm / 3, base * 0.92)
        add(warm / 3, base * 0.97)
        left = total - warm
        while left > 30:
            d = min(float(rng.uniform(240, 600) if kind != "long" else rng.uniform(300, 900)), left)
            add(d, base * (1.0 + min(max(float(rng.normal(0.0, 0.035)), -0.08), 0.08)))
            left -= d
    elif kind == "tempo":
        add(warm / 2, 0.88)
        add(warm / 2, 0.97)
        add(rng.uniform(120, 240), 1.0)
        f_t = float(rng.uniform(1.12, 1.20))
        for b in range(int(rng.integers(2, 5))):
            if b:
                add(rng.uniform(120, 240), 0.92)
            add(rng.uniform(360, 720), f_t)
        add(rng.uniform(300, 480), 0.92)
    elif kind == "intervals":
        add(warm / 2, 0.88)
        add(warm / 2, 0.97)
        for _ in range(int(rng.integers(5, 9))):
            add(rng.uniform(120, 240), 1.3)
            add(rng.uniform(60, 120), 0.55)
        add(rng.uniform(300, 480), 0.9)
    else:  # reference
        add(_REF_DURATION_S, 1.0)
    return dur, fac


def _insert_pauses(
    rng: np.random.Generator, dur: list[int], fac: list[float], n_pauses: int
) -> tuple[list[int], list[float], list[bool]]:
    total = sum(dur)
    pause = [False] * len(dur)
    for _ in range(n_pauses):
        at = int(rng.integers(60, max(total - 60, 61)))
        length = int(rng.integers(5, 91))
        acc = 0
        for j, d in enumerate(dur):
            if acc + d > at and not pause[j]:
                cut = at - acc
                if 0 < cut < d:
                    dur[j : j + 1] = [cut, d - cut]
                    fac[j : j + 1] = [fac[j], fac[j]]
                    pause[j : j + 1] = [False, False]
                    j += 1
                dur.insert(j, length)
                fac.insert(j, 0.0)
                pause.insert(j, True)
                break
            acc += d
    return dur, fac, pause


def _fit_set_row(
    activity_id: str, n: int, t_ns: int, exercise: str, reps: int, load_kg: float, duration_s: float
) -> dict[str, Any]:
    """One CLI ``sets --json`` row of a FIT strength set: the ``n``-th set of ``activity_id``."""
    return {
        "set_id": f"{activity_id}-{n:02d}",
        "activity_id": activity_id,
        "session_id": None,
        "started_at": _iso_z(t_ns),
        "exercise": exercise,
        "exercise_candidates": [],
        "set_type": "active",
        "reps": reps,
        "load_kg": load_kg,
        "duration_s": duration_s,
        "source": "fit",
    }


def _strength_sets_for_session(
    rng: np.random.Generator, activity_id: str, t0_ns: int, day_a: bool, pct: float, e5: dict[str, float]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    t = t0_ns

    def emit(ex: str, reps: int, load: float) -> None:
        nonlocal t
        duration_s = round(float(reps * rng.uniform(2.5, 4.0) + 3.0), 1)
        rows.append(_fit_set_row(activity_id, len(rows) + 1, t, ex, int(reps), float(load), duration_s))
        t += int(rng.integers(120, 241)) * _NS

    main = "back_squat" if day_a else "deadlift"
    for wp, wr in ((0.5, 5), (0.65, 3)):
        emit(main, wr, round(e5[main] * wp / 2.5) * 2.5)
    n_sets, reps = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    load = math.ceil(e5[main] * pct / 2.5) * 2.5
    load = min(load, math.floor(e5[main] / 2.5) * 2.5)
    for _ in range(n_sets):
        r = reps - 1 if (reps > 3 and rng.random() < 0.15) else reps
        emit(main, r, load)
    if day_a:
        uni = ["bulgarian_split_squat", "split_squat"][int(rng.integers(0, 2))]
        extra = "step_up"
    else:
        uni = "lunge"
        extra = "romanian_deadlift"
    for ex in (uni, extra):
        p = float(rng.uniform(0.8, 0.9))
        load = min(math.ceil(e5[ex] * p / 2.5) * 2.5, math.floor(e5[ex] / 2.5) * 2.5)
        for _ in range(3 if ex == uni else int(rng.integers(2, 4))):
            emit(ex, 5 if rng.random() >= 0.15 else 4, load)
    return rows


def _light_session(
    rng: np.random.Generator, activity_id: str, t0_ns: int, e5: dict[str, float]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    t = t0_ns
    for ex in ("back_squat", "split_squat", "romanian_deadlift"):
        for _ in range(2):
            load_kg = float(round(e5[ex] * 0.65 / 2.5) * 2.5)
            duration_s = round(float(8 * rng.uniform(2.5, 3.5) + 3.0), 1)
            rows.append(_fit_set_row(activity_id, len(rows) + 1, t, ex, 8, load_kg, duration_s))
            t += int(rng.integers(90, 181)) * _NS
    return rows


def _upper_session(
    rng: np.random.Generator, activity_id: str, t0_ns: int, e5: dict[str, float]
) -> list[dict[str, Any]]:
    """Upper-body session: 3 sets each of bench and overhead press, 5-8 reps at 75-90 % of the 5RM
    (some are zone sets of an upper-body lift, which must not start the strength block)."""
    rows: list[dict[str, Any]] = []
    t = t0_ns
    for ex in ("bench_press", "overhead_press"):
        load = round(e5[ex] * float(rng.uniform(0.75, 0.9)) / 2.5) * 2.5
        for _ in range(3):
            reps = int(rng.integers(5, 9))  # drawn before the duration, as before
            duration_s = round(float(rng.uniform(15, 30)), 1)
            rows.append(_fit_set_row(activity_id, len(rows) + 1, t, ex, reps, float(load), duration_s))
            t += int(rng.integers(90, 181)) * _NS
    return rows


def _acute_fraction(hours: float) -> float:
    """Shape of the acute economy impairment after a heavy lower-body session (Doma 2013/2015)."""
    if hours < 0:
        return 0.0
    if hours < 6:
        return 0.6 + 0.4 * hours / 6.0
    if hours <= 24:
        return 1.0
    if hours < 48:
        return (48.0 - hours) / 24.0
    return 0.0


def simulate_field_athlete(scenario: str, seed: int, *, noise: bool = True, controlled: bool = False) -> FieldAthlete:
    """Draw one field athlete of ``scenario`` (a key of :data:`SCENARIOS`), deterministic from ``(scenario, seed)``.

    Parameters
    ----------
    scenario : str
    seed : int
        Any int (non-negative recommended); the same seed in two scenarios gives the same
        athlete, calendar and noise wherever the scenarios do not differ.
    noise : bool
        False switches off every random *variation* (week and day noise, random walk, pace
        wobble, GPS, sensor and altitude noise, cadence lock); biases and conditions stay.
        For tests of the generator itself.
    controlled : bool
        True makes every run the reference run (flat, 50 min at the reference speed, 12 C,
        circadian term of 08:00, no stops, no acute lifting effect). For tests.

    Returns
    -------
    FieldAthlete
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError("seed must be an int")
    spec = SCENARIOS[scenario]
    seed = int(seed)
    scen_tag = f"{_crc(scenario):08x}"

    # ---------------------------------------------------------------- athlete constants
    ra = _rng(seed, "athlete")
    sex = "male" if ra.random() < 0.6 else "female"
    mass = float(ra.uniform(62, 85) if sex == "male" else ra.uniform(50, 70))
    vo2max = float(ra.uniform(45, 65) if sex == "male" else ra.uniform(40, 58))
    hr_rest = float(ra.uniform(42, 60))
    hr_max = float(ra.uniform(175, 200))
    c0 = float(ra.uniform(0.185, 0.215))
    kappa = float(ra.uniform(-0.02, 0.04))
    a0, a1 = float(ra.uniform(-0.03, 0.03)), float(ra.uniform(0.95, 1.05))
    frac_easy = float(ra.uniform(0.58, 0.70))
    beta = float(ra.uniform(0.5, 0.85))
    sweat = float(ra.uniform(0.8, 1.25))
    dehyd = float(ra.uniform(3.0, 7.0))
    h_t, g_t = float(ra.uniform(0.25, 0.45)), float(ra.uniform(0.3, 0.7))
    circ = float(ra.uniform(1.0, 3.0))
    day_hr_sd = float(ra.uniform(1.5, 3.0))
    week_sd = float(ra.uniform(0.01, 0.02))
    acute = float(ra.uniform(0.02, 0.04))
    gamma = float(ra.uniform(0.0, 0.3))
    share_e = float(ra.uniform(0.3, 0.7))
    share_m = float(ra.uniform(0.5, 1.0))
    rho_power = float(ra.uniform(0.0, 0.5))
    mech_sd = float(ra.uniform(0.005, 0.01))
    has_power = bool(ra.random() < 0.4)
    re_s = float(ra.uniform(0.95, 1.05))
    wrist = bool(ra.random() < 0.5)
    wrist_bias = float(ra.uniform(-1.5, 1.5))
    strap_serial = int(ra.integers(10000, 99999))
    p_morning = float(ra.uniform(0.2, 0.8))
    auto_pause = bool(ra.random() < 0.7)
    air_known_frac = float(ra.uniform(0.3, 0.9))
    logs_gear = bool(ra.random() < 0.5)
    runs_mean = float(ra.uniform(*spec.runs_per_week))
    sessions_planned = int(ra.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
    attendance = float(ra.uniform(0.7, 0.95))
    familiarise = bool(ra.random() < 0.5)
    upper = bool(ra.random() < 0.3)
    tz_temperate = list(_CLIMATES)[int(ra.integers(0, len(_CLIMATES)))]
    tz_hot = list(_HOT_CLIMATES)[int(ra.integers(0, len(_HOT_CLIMATES)))]
    bw_scale = mass / 70.0
    e5 = {
        "back_squat": ra.uniform(70, 130) * bw_scale,
        "deadlift": ra.uniform(90, 160) * bw_scale,
        "romanian_deadlift": ra.uniform(60, 110) * bw_scale,
        "bulgarian_split_squat": ra.uniform(25, 50) * bw_scale,
        "split_squat": ra.uniform(35, 65) * bw_scale,
        "lunge": ra.uniform(25, 55) * bw_scale,
        "step_up": ra.uniform(20, 45) * bw_scale,
    }
    e5rm = {k: float(round(v / 2.5) * 2.5) for k, v in e5.items()}
    if sex == "female":
        e5rm = {k: float(round(v * 0.7 / 2.5) * 2.5) for k, v in e5rm.items()}
    hr_rest_user = float(round(hr_rest + ra.normal(0, 2)))
    hr_max_user = float(round(hr_max + ra.normal(0, 3)))
    v_easy = _solve_easy_speed(c0, kappa, frac_easy, vo2max)
    v_easy = float(min(max(v_easy, 2.3), 4.2))
    v_ref = round(v_easy / 0.05) * 0.05

    tz = tz_hot if spec.hot_summer else tz_temperate
    zi = ZoneInfo(tz)
    clim = (_HOT_CLIMATES if spec.hot_summer else _CLIMATES)[tz]

    # ---------------------------------------------------------------- calendar
    b_obs = int(_rng(seed, "size-baseline").integers(spec.baseline_weeks[0], spec.baseline_weeks[1] + 1))
    k_obs = int(_rng(seed, "size-block").integers(spec.block_weeks[0], spec.block_weeks[1] + 1))
    n_miss = int(
        _rng(seed, "size-missing", scen_tag if spec.missing_around_start else "std").integers(
            spec.missing_weeks[0], spec.missing_weeks[1] + 1
        )
    )
    rm = _rng(seed, "missing-place", scen_tag if spec.missing_around_start else "std")
    forced_before = forced_after = 0
    if spec.missing_around_start:
        forced_before, forced_after = 1, 1
    free = n_miss - forced_before - forced_after
    # free missing weeks fall in baseline or block in proportion to their lengths
    n_before = forced_before + int(rm.binomial(free, b_obs / (b_obs + k_obs)))
    n_after = n_miss - n_before
    S = b_obs + n_before
    W = S + k_obs + n_after
    missing: set[int] = set()
    if forced_before:
        missing.add(S - 1)
    if forced_after:
        missing.add(S if rm.random() < 0.5 else S + 1)
    cand_before = [w for w in range(1, S) if w not in missing]
    need_before = n_before - len([w for w in missing if w < S])
    missing |= (
        set(int(x) for x in rm.choice(cand_before, size=need_before, replace=False)) if need_before > 0 else set()
    )
    cand_after = [w for w in range(S + 1, W - 1) if w not in missing]
    need_after = n_after - len([w for w in missing if w >= S])
    missing |= set(int(x) for x in rm.choice(cand_after, size=need_after, replace=False)) if need_after > 0 else set()
    rc = _rng(seed, "calendar")
    if spec.hot_summer:
        year = int(rc.integers(2022, 2026))
        sep1 = _dt.date(year, 9, 1)
        start_monday = sep1 + _dt.timedelta(days=(7 - sep1.weekday()) % 7) + _dt.timedelta(weeks=int(rc.integers(0, 3)))
        monday0 = start_monday - _dt.timedelta(weeks=S)
    else:
        monday0 = _dt.date(2022, 1, 3) + _dt.timedelta(weeks=int(rc.integers(0, 52 * 4)))
        rc.integers(0, 3)
    # daily weather anomaly (AR(1), rho 0.7, SD 3.5 C)
    n_days = 7 * W
    anomaly = lfilter([1.0], [1.0, -0.7], _rng(seed, "weather").standard_normal(n_days)) * 3.5 * math.sqrt(1 - 0.49)

    # ---------------------------------------------------------------- strength sessions
    rs = _rng(seed, "strength")
    heavy_ns: list[int] = []
    light_ns: list[int] = []
    sets: list[dict[str, Any]] = []
    start_ns = None
    for w in range(S - 1, W):
        if w == S - 1:
            if familiarise:
                d = int(rs.integers(0, 7))
                t0 = _local_ns(zi, monday0 + _dt.timedelta(days=7 * w + d), float(rs.uniform(12, 20)))
                aid = f"lift{seed:06d}{scen_tag}{w:02d}L"
                sets += _light_session(rs, aid, t0, e5rm)
                light_ns.append(t0)
            else:
                rs.integers(0, 7), rs.uniform(12, 20)
            continue
        days = sorted(int(x) for x in rs.choice(7, size=sessions_planned, replace=False))
        for j, d in enumerate(days):
            attend = rs.random() < attendance
            hour = float(rs.uniform(11.5, 20.0))
            if w == S and j == 0:
                attend = True
            if not attend:
                continue
            t0 = _local_ns(zi, monday0 + _dt.timedelta(days=7 * w + d), hour)
            pct = min(0.80 + 0.01 * (w - S), 0.95)
            aid = f"lift{seed:06d}{scen_tag}{w:02d}{j}"
            sets += _strength_sets_for_session(rs, aid, t0, len(heavy_ns) % 2 == 0, pct, e5rm)
            heavy_ns.append(t0)
            if start_ns is None:
                start_ns = t0
    assert start_ns is not None
    if upper:
        ru = _rng(seed, "upper")
        scale = bw_scale * (0.6 if sex == "female" else 1.0)
        e5rm["bench_press"] = float(round(ru.uniform(55, 95) * scale / 2.5) * 2.5)
        e5rm["overhead_press"] = float(round(ru.uniform(35, 60) * scale / 2.5) * 2.5)
        for w in range(W):
            t0 = _local_ns(zi, monday0 + _dt.timedelta(days=7 * w + int(ru.integers(0, 7))), float(ru.uniform(7, 9)))
            sets += _upper_session(ru, f"upper{seed:06d}{scen_tag}{w:02d}", t0, e5rm)
    sets.sort(key=lambda r: r["started_at"])
    strength_start_date = _dt.datetime.fromtimestamp(start_ns / _NS, tz=_dt.UTC).astimezone(zi).date()

    # ---------------------------------------------------------------- weekly states
    rw = _rng(seed, "week-noise")
    eps = rw.standard_normal(W)
    eps_m = rw.standard_normal(W)
    rho = spec.week_ar1_rho
    nu = np.empty(W)
    nu[0] = eps[0]
    for w in range(1, W):
        nu[w] = rho * nu[w - 1] + math.sqrt(1 - rho * rho) * eps[w]
    nu *= week_sd
    rwalk = np.cumsum(_rng(seed, "random-walk").standard_normal(W)) * spec.random_walk_sd_pct / 100.0
    phi = spec.trend_pct_per_week / 100.0 * np.arange(W) + rwalk
    mech_noise = (0.5 * nu / week_sd + math.sqrt(0.75) * eps_m) * mech_sd
    if not noise:
        nu = np.zeros(W)
        mech_noise = np.zeros(W)
        phi = spec.trend_pct_per_week / 100.0 * np.arange(W, dtype=np.float64)
    # first-order effects of economy (E) and VO2max (F) on ln EF at the reference speed
    vo2net_ref = c0 * (1 + kappa * (v_ref - 3.0)) * v_ref * 60.0
    frac_ref = vo2net_ref / (vo2max - 3.5)
    hr_ref = hr_rest + (hr_max - hr_rest) * (a0 + a1 * frac_ref)
    k_e = (hr_max - hr_rest) * a1 * frac_ref / hr_ref
    k_f = k_e * vo2max / (vo2max - 3.5)
    econ_week = share_e * phi / k_e + nu
    vo2_week = (1 - share_e) * phi / k_f
    mech_week = share_m * phi + mech_noise

    overreach_weeks: tuple[int, ...] = ()
    if spec.overreaching:
        ro = _rng(seed, "overreaching")
        o = int(ro.integers(S + 2, W - 2))
        overreach_weeks = (o, o + 1, o + 2)
    strap_change_ns = None
    wrist_b = wrist_bias
    if spec.strap_change:
        rsc = _rng(seed, "strap-change")
        wk = S + (W - S) // 2 + int(rsc.integers(-1, 2))
        strap_change_ns = _local_ns(zi, monday0 + _dt.timedelta(days=7 * wk + int(rsc.integers(0, 7))), 0.0)
        wrist_b = float(rsc.choice([-1.0, 1.0]) * rsc.uniform(2.0, 4.0))

    routes = _make_routes(seed)
    m = _Model(
        seed=seed,
        scenario=scenario,
        spec=spec,
        tz=tz,
        monday0=monday0,
        n_weeks=W,
        start_week=S,
        strength_start_ns=start_ns,
        sex=sex,
        mass_kg=mass,
        hr_rest=hr_rest,
        hr_max=hr_max,
        vo2max=vo2max,
        c0=c0,
        kappa=kappa,
        a0=a0,
        a1=a1,
        beta=beta,
        sweat=sweat,
        dehyd_bpm_per_pct=dehyd,
        h_t=h_t,
        g_t=g_t,
        circ_bpm=circ,
        v_easy=v_easy,
        v_ref=v_ref,
        gamma=gamma,
        rho_power=rho_power,
        re_s=re_s,
        acute_pct=acute,
        effect_frac=spec.effect_economy_pct / 100.0,
        ramp_weeks=spec.ramp_weeks,
        effect_kind=spec.effect_kind,
        shoe_log_size=math.log1p(spec.shoe_change_pct / 100.0),
        econ_week=econ_week,
        vo2_week=vo2_week,
        mech_week=mech_week,
        phi_week=phi,
        routes=routes,
        overreach_weeks=overreach_weeks,
        strap_change_ns=strap_change_ns,
        wrist_bias_bpm=wrist_b,
        strap_bias_bpm=0.0,
        noise=noise,
        controlled=controlled,
    )

    # ---------------------------------------------------------------- runs
    heavy_sorted = np.array(sorted(heavy_ns), dtype=np.int64)
    light_sorted = np.array(sorted(light_ns), dtype=np.int64)
    shoe_names = ("Pegasus 40", "Vaporfly 3") if spec.shoe_change_pct else ("Pegasus 40", "Pegasus 40")
    plans: list[_RunPlan] = []
    run_meta: list[tuple[float | None, str, str | None]] = []
    base_runs = round(runs_mean)
    for w in range(W):
        if w in missing:
            continue
        rwk = _rng(seed, "week", w)
        lo, hi = max(2, base_runs - 1), min(6, base_runs + 1)
        n_runs = int(rwk.integers(lo, hi + 1))
        orw = w in overreach_weeks
        if orw:
            n_runs = min(n_runs + 1, 7)
        days = sorted(int(x) for x in rwk.choice(7, size=n_runs, replace=False))
        long_day = max(days) if max(days) >= 5 else None
        tempo_day = days[len(days) // 2] if n_runs >= 3 and rwk.random() < 0.8 else None
        for slot, d in enumerate(days):
            rr = _rng(seed, "run", w, slot)
            date = monday0 + _dt.timedelta(days=7 * w + d)
            u = rr.random()
            summer = spec.hot_summer and date.month in (6, 7, 8)
            pm = min(p_morning + (0.3 if summer else 0.0), 0.95)
            if u < pm:
                hour = float(rr.uniform(6.0, 8.5))
            elif u < pm + 0.1 * (1 - pm):
                hour = float(rr.uniform(12.0, 13.0))
            else:
                hour = float(rr.uniform(17.0, 20.0))
            if d == long_day:
                kind = "long"
                hour = float(rr.uniform(7.5, 10.0)) if rr.random() < 0.7 else hour
            elif d == tempo_day:
                kind = "tempo"
            else:
                uk = rr.random()
                kind = "intervals" if uk < 0.05 else ("recovery" if uk < 0.10 else "easy")
            route = int(rr.choice(5, p=[0.3, 0.25, 0.2, 0.15, 0.1]))
            if kind == "long" and route >= 2 and rr.random() < 0.5:
                route = int(rr.integers(0, 2))
            forced = w == W - 1 and slot == 0
            if forced:
                kind, route = "easy", 0
            dur, fac = _segments(rr, kind)
            if forced and sum(dur) < 45 * 60:
                dur[-1] += 45 * 60 - sum(dur)
            if orw:
                dur = [int(x * 1.15) for x in dur]
            n_p = 0 if (forced or kind == "intervals") else int(min(rr.poisson(0.7), 3))
            dur, fac, pause = _insert_pauses(rr, dur, fac, n_p)
            started_ns = _local_ns(zi, date, hour)
            # conditions
            day_index = 7 * w + d
            t_air = _air_temp(clim, date, hour + sum(dur) / 7200.0, float(anomaly[day_index]))
            daylight = 9.0 <= hour <= 18.0
            solar = float(rr.uniform(0.0, 2.5) if daylight else rr.uniform(0.0, 0.5))
            t_eff = t_air + solar
            watch_w = float(rr.uniform(0.5, 0.8) if t_air < 8 else rr.uniform(0.25, 0.5))
            watch_start = float(rr.uniform(19.0, 24.0))
            air_known = rr.random() < air_known_frac
            station_err = float(rr.normal(0.0, 0.8))
            day_hr = float(rr.normal(0.0, day_hr_sd))
            day_econ = float(rr.normal(0.0, 0.005))
            pace_noise = float(rr.normal(0.0, 0.02))
            run_mech = float(rr.normal(0.0, 0.007))
            cl_u = rr.random()
            cl_at = int(rr.integers(30, 480)) if rr.random() < 0.6 else int(rr.integers(600, max(sum(dur) - 300, 601)))
            cl_len = int(rr.integers(60, 241))
            gps_run = float(rr.normal(0.0, 0.007))
            no_hr = rr.random() < 0.01
            if not noise:
                day_hr = day_econ = pace_noise = run_mech = gps_run = 0.0
            # states
            e = m.effect_at(started_ns)
            shoe_log = m.shoe_log_size if started_ns >= start_ns else 0.0
            prev = heavy_sorted[heavy_sorted < started_ns]
            hours = (started_ns - prev[-1]) / _NS / 3600.0 if prev.size else -1.0
            rbe = 0.4 + 0.6 * math.exp(-(prev.size - 1) / 3.0) if prev.size else 0.0
            acute_f = acute * _acute_fraction(hours) * rbe
            prevl = light_sorted[light_sorted < started_ns]
            if prevl.size:
                acute_f = max(acute_f, 0.3 * acute * _acute_fraction((started_ns - prevl[-1]) / _NS / 3600.0))
            perceived = phi[w] + k_e * (math.log1p(e) + shoe_log)
            pace = v_easy * (1.0 + gamma * perceived) * (1.0 - 0.003 * max(t_eff - 15.0, 0.0))
            pace *= (0.98 if orw else 1.0) * (1.0 + pace_noise)
            sensor = "wrist-ohr" if wrist else f"strap:HRM-Pro:SN{strap_serial}"
            bias = wrist_bias if wrist else 0.0
            if strap_change_ns is not None:
                if started_ns < strap_change_ns:
                    sensor, bias = "wrist-ohr", wrist_b
                else:
                    sensor, bias = f"strap:HRM-Pro:SN{strap_serial}", 0.0
            cadence_lock = None
            if sensor == "wrist-ohr" and cl_u < 0.04 and not forced and noise:
                cadence_lock = (cl_at, cl_at + cl_len)
            hr_offset = _circadian(m, hour) + day_hr
            if controlled:
                dur, fac, pause = [_REF_DURATION_S], [1.0], [False]
                pace, t_air, t_eff, solar, route, acute_f = v_ref, _REF_TEMP_C, _REF_TEMP_C, 0.0, -1, 0.0
                hr_offset = _circadian(m, _REF_HOUR) + day_hr
                cadence_lock = None
            idx = len(plans)
            plans.append(
                _RunPlan(
                    index=idx,
                    key=(w, slot),
                    activity_id=f"fa{seed:06d}{scen_tag}{w:02d}{slot}-0",
                    week=w,
                    started_at_ns=started_ns,
                    local_hour=hour,
                    kind=kind,
                    route=route,
                    seg_dur_s=tuple(dur),
                    seg_factor=tuple(fac),
                    seg_pause=tuple(pause),
                    pace_mps=float(pace),
                    t_air_c=float(t_air),
                    t_eff_c=float(t_eff),
                    solar_c=solar,
                    watch_w=watch_w,
                    watch_start_c=watch_start,
                    econ_log=float(econ_week[w]) + day_econ,
                    vo2max_log=float(vo2_week[w]),
                    strength_log=math.log1p(e),
                    shoe_log=shoe_log,
                    acute_frac=float(acute_f),
                    mech_log=float(mech_week[w]) + rho_power * math.log1p(e) + run_mech,
                    hr_offset_bpm=float(hr_offset),
                    overreach_bpm=-3.0 if orw else 0.0,
                    sensor=sensor,
                    sensor_bias_bpm=float(bias),
                    has_power=has_power,
                    auto_pause=auto_pause,
                    gps_bias=(routes[route]["gps_bias"] if (noise and route >= 0) else 0.0) + gps_run,
                    cadence_lock=cadence_lock,
                    noise=noise,
                    has_hr=not (no_hr and not forced and not controlled),
                )
            )
            air_rep = (
                round(t_air + station_err, 1) if (air_known and noise) else (round(t_air, 1) if air_known else None)
            )
            if spec.shoe_change_pct and spec.shoe_logged:
                shoe = shoe_names[1] if started_ns >= start_ns else shoe_names[0]
            elif spec.shoe_change_pct:
                shoe = None
            else:
                shoe = shoe_names[0] if logs_gear else None
            run_meta.append((air_rep, sensor, shoe))
    if controlled:
        flat = {"kind": "flat", "length_m": 5000.0, "base_m": 50.0, "terms": [], "gps_sd_mps": 0.0, "gps_bias": 0.0}
        m.routes = [*routes, flat]
        plans = [replace(p, route=len(routes)) for p in plans]

    runs = [
        FieldRun(
            activity_id=p.activity_id,
            started_at_ns=p.started_at_ns,
            air_temperature_c=meta[0],
            hr_sensor=meta[1],
            shoe=meta[2],
            kind=p.kind,
            _plan=p,
            _model=m,
        )
        for p, meta in zip(plans, run_meta, strict=True)
    ]
    runs.sort(key=lambda r: r.started_at_ns)

    # ---------------------------------------------------------------- truth
    last_monday = monday0 + _dt.timedelta(weeks=W - 1)
    ref_ns = _local_ns(zi, last_monday + _dt.timedelta(days=3), _REF_HOUR)
    on = _reference_proxies(m, ref_ns, strength=True, shoe=True, overreach=True)
    off = _reference_proxies(m, ref_ns, strength=False, shoe=True, overreach=True)
    true_change = _pct_change(on, off)
    bare = _reference_proxies(m, ref_ns, strength=False, shoe=False, overreach=False)
    nuisance = _pct_change(off, bare)
    notes: list[str] = [spec.description]
    if spec.strap_change and strap_change_ns is not None:
        with_bias = _reference_proxies(m, ref_ns, strength=False, shoe=True, overreach=True, sensor_bias_bpm=0.0)
        old_bias = _reference_proxies(m, ref_ns, strength=False, shoe=True, overreach=True, sensor_bias_bpm=wrist_b)
        nuisance = {k: nuisance[k] + 100.0 * (with_bias[k] / old_bias[k] - 1.0) for k in PROXIES}
        nuisance["speed_per_w_per_kg"] = 0.0
        notes.append(
            f"HR sensor wrist-ohr (bias {wrist_b:+.1f} bpm) -> chest strap (bias 0) on "
            f"{_dt.datetime.fromtimestamp(strap_change_ns / _NS, tz=_dt.UTC).astimezone(zi).date()}, "
            "not logged"
        )
    if spec.shoe_change_pct:
        notes.append(
            f"{'logged' if spec.shoe_logged else 'unlogged'} shoe change +{spec.shoe_change_pct:g} % economy "
            f"at the strength start (EF {nuisance['ef_proxy']:+.2f} %), not a strength effect"
        )
    if overreach_weeks:
        notes.append(
            "overreaching (HR -3 bpm at a given speed, +1 longer run a week) in weeks starting "
            + ", ".join(str(monday0 + _dt.timedelta(weeks=o)) for o in overreach_weeks)
        )
    notes.append(
        f"acute economy impairment after heavy lower-body sessions: {100 * acute:.1f} % of oxygen cost "
        "at 6-24 h (first bout), excluded from the truth"
    )
    events: list[dict[str, Any]] = []
    if spec.shoe_change_pct and spec.shoe_logged:
        events.append(
            {
                "date": strength_start_date.isoformat(),
                "kind": "shoe",
                "note": f"new shoes: {shoe_names[1]} (was {shoe_names[0]})",
            }
        )
    truth = Truth(
        strength_start_date=strength_start_date,
        last_observed_week=last_monday,
        true_change_pct=true_change,
        effect_kind=spec.effect_kind,
        notes=notes,
        reference_speed_mps=v_ref,
        reference_time_ns=ref_ns,
        nuisance_change_pct=nuisance,
        economy_effect_pct=100.0 * m.effect_at(ref_ns),
        baseline_weeks_observed=b_obs,
        block_weeks_observed=k_obs,
        missing_weeks=sorted(monday0 + _dt.timedelta(weeks=x) for x in missing),
    )
    profile = {
        "body_mass_kg": round(mass, 1),
        "sex": sex,
        "hr_rest_bpm": hr_rest_user,
        "hr_max_bpm": hr_max_user,
        "power_meter": has_power,
    }
    return FieldAthlete(
        scenario=scenario,
        seed=seed,
        tz=tz,
        profile=profile,
        runs=runs,
        strength_sets=sets,
        e5rm_kg=e5rm,
        events=events,
        truth=truth,
        _model=m,
    )
