"""Building blocks of the n-of-1 link between strength training and running-economy *proxies*.

For one athlete: the proxies followed (:data:`PROXIES`), weekly series of each proxy, the
baseline typical error (Hopkins), the smallest worthwhile change from an outside criterion, the
rule that picks one primary proxy from baseline data, and wording that says "consistent with" or
"not distinguishable from", never "caused". The change itself is estimated by
:mod:`analysis.economy_change` with the interrupted time series of :mod:`analysis.its`.

Why the literature is context, not a yardstick
----------------------------------------------
Published effects of strength training on running economy are changes in the
*oxygen cost* of running measured in a laboratory. Our proxies are HR- or
power-based. HR is not proportional to oxygen uptake (the HR-VO2 relation has
an intercept), so a 4 % change in the efficiency-factor proxy is not a 4 %
change in running economy, and the published figures in
:data:`LITERATURE_CONTEXT` must be shown beside the proxies, never as a band
on their scale.

References
----------
Hopkins WG (2000). Measures of reliability in sports medicine and science.
Sports Med 30(1):1-15 (typical error = SD of differences / sqrt 2).
Saunders PU, Pyne DB, Telford RD, Hawley JA (2004). Factors affecting running economy in
trained distance runners. Sports Med 34(7):465-485; and Reliability and variability of running
economy in elite distance runners. Med Sci Sports Exerc 36(11):1972-1976 (typical error of a
laboratory running-economy test 2.4 %, a smallest worthwhile change of similar size).
Lafrenz AJ, Wingo JE, Ganio MS, Cureton KJ (2008). Effect of ambient temperature on
cardiovascular drift and maximal oxygen uptake. Med Sci Sports Exerc 40(6):1065-1071.
Doma K, Schumann M, Sinclair WH, Leicht AS, Deakin GB, Hakkinen K (2015). The repeated bout
effect of typical lower body strength training sessions on sub-maximal running performance and
hormonal response. Eur J Appl Physiol 115(8):1789-1799.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from analysis.economy import RunEconomy, zone_info

__all__ = [
    "ACUTE_STRENGTH_WINDOW_H",
    "AIR_HEAT_THRESHOLD_C",
    "DEFAULT_SWC_PCT",
    "DEFAULT_SWC_SOURCE",
    "DEVICE_HEAT_THRESHOLD_C",
    "LITERATURE_CONTEXT",
    "PROXIES",
    "ProxySpec",
    "TypicalError",
    "WeeklySeries",
    "choose_primary_proxy",
    "describe_change",
    "heat_excess_c",
    "strength_blocks",
    "typical_error",
    "weekly_series",
]


@dataclass(frozen=True)
class ProxySpec:
    """How a proxy is named, scaled and read (all are ratio-scale: changes in %)."""

    name: str
    label: str
    unit: str
    higher_is_better: bool
    hr_based: bool


#: The economy proxies the n-of-1 analysis follows (all proxies, none is running economy). Aerobic
#: decoupling is not among them: it is a quality flag of a run (:data:`analysis.economy.DECOUPLING_FLAG_PCT`).
PROXIES: dict[str, ProxySpec] = {
    "speed_per_w_per_kg": ProxySpec(
        "speed_per_w_per_kg", "speed per W/kg (Stryd running-effectiveness proxy)", "(m/s)/(W/kg)", True, False
    ),
    "hr_at_reference_speed_bpm": ProxySpec(
        "hr_at_reference_speed_bpm", "HR at the reference speed (proxy)", "bpm", False, True
    ),
    "ef_proxy": ProxySpec(
        "ef_proxy", "efficiency factor proxy (grade-adjusted m/min per bpm)", "(m/min)/bpm", True, True
    ),
}
#: Proxies from which runs with decoupling above the flag are excluded (HR-based: a run whose HR
#: drifted is not at a steady state, so its HR at a speed says little about economy).
HR_PROXIES = tuple(k for k, v in PROXIES.items() if v.hr_based)

#: Published effects of strength training on *laboratory* running economy (oxygen cost), for display
#: beside the proxies. Negative oxygen-cost changes are improvements. Not on the proxies' scale.
LITERATURE_CONTEXT: tuple[dict[str, Any], ...] = (
    {
        "source": "Blagrove RC, Howatson G, Hayes PR 2018, Sports Med 48(5):1117-1149 (systematic review)",
        "measure": "laboratory running economy (oxygen cost of running)",
        "improvement_pct_range": [2.0, 8.0],
        "note": "running economy improved by 2-8 % against running-only controls in most of the 20 studies that "
        "measured it (interventions of 4 weeks or more), though not in all",
    },
    {
        "source": "Yamamoto LM et al. 2008, J Strength Cond Res 22(6):2036-2044 (systematic review)",
        "measure": "laboratory running economy (oxygen cost)",
        "improvement_pct": 4.6,
        "note": "mean improvement reported across the reviewed strength-training studies",
    },
    {
        "source": "Denadai BS et al. 2016, Sports Med 47(3):545-554 (meta-analysis)",
        "measure": "laboratory running economy (oxygen cost)",
        "oxygen_cost_change_pct": {"heavy_strength": -3.65, "explosive": -4.83},
        "note": "negative = less oxygen per distance (better)",
    },
    {
        "source": "Balsalobre-Fernandez C et al. 2016, J Strength Cond Res 30(8):2361-2368 (meta-analysis)",
        "measure": "laboratory running economy (oxygen cost)",
        "standardised_mean_difference": -1.42,
        "note": "a standardised effect size (SD units), not a percentage",
    },
)

#: Air temperature above which heat enters the model (degree-C excess). Lafrenz et al. 2008 (cycling,
#: ~59 % VO2max): HR rose 2 % between minutes 15 and 45 at 22 C but 11 % at 35 C, so drift is small up
#: to the temperate 22 C and grows above it.
AIR_HEAT_THRESHOLD_C = 22.0
#: The same for the watch's own temperature sensor, which body heat warms (Garmin's manuals: take the
#: watch off for 20-30 min for an air reading). Its own, higher threshold: 5 C above the air threshold.
#: An assumption, not a published figure; it is validated only by the hot-summer scenario of the
#: benchmark (docs/statistics.md).
DEVICE_HEAT_THRESHOLD_C = 27.0
#: A run within this many hours after a heavy lower-body session is "acutely affected": oxygen cost of
#: sub-maximal running was raised the day after such a session (Doma & Deakin 2013, Appl Physiol Nutr
#: Metab 38:651; Doma et al. 2015, Eur J Appl Physiol 115:1789).
ACUTE_STRENGTH_WINDOW_H = 24.0
#: Smallest worthwhile change of a proxy, %, unless the athlete's settings give another: the lower end
#: of the test-retest variation of laboratory running economy.
DEFAULT_SWC_PCT = 2.0
DEFAULT_SWC_SOURCE = (
    "default: 2 %, the lower end of the 1.5-5 % test-retest variation of laboratory running "
    "economy (Saunders et al. 2004, Sports Med 34:465; typical error 2.4 % in Saunders et al. "
    "2004, Med Sci Sports Exerc 36:1972)"
)

LITERATURE_CAVEAT = (
    "Published figures are changes in laboratory oxygen cost. The watch-based values here are HR- or "
    "power-based proxies; because HR is not proportional to oxygen uptake, their % change is not a % change "
    "in running economy. Compare directions and rough sizes only."
)


def heat_excess_c(air_temperature_c: float | None, device_temperature_c: float | None) -> tuple[float, str | None]:
    """Degrees above the heat threshold of one run, and which temperature gave it.

    Air temperature when known (threshold :data:`AIR_HEAT_THRESHOLD_C`), else the device's own
    reading (skin-warmed: :data:`DEVICE_HEAT_THRESHOLD_C`), else 0 with source None.
    """
    if air_temperature_c is not None and math.isfinite(air_temperature_c):
        return max(air_temperature_c - AIR_HEAT_THRESHOLD_C, 0.0), "air"
    if device_temperature_c is not None and math.isfinite(device_temperature_c):
        return max(device_temperature_c - DEVICE_HEAT_THRESHOLD_C, 0.0), "device"
    return 0.0, None


# --------------------------------------------------------------------------------------------
# Weekly series
# --------------------------------------------------------------------------------------------


@dataclass
class WeeklySeries:
    """Weekly (local ISO week, Monday start) means of the per-run proxies.

    Attributes
    ----------
    week_start : list of str
        ISO date of each Monday, consecutive, oldest first (weeks without runs included).
    n_runs : numpy.ndarray
        Runs with ``status == 'ok'`` in the week.
    n_excluded : numpy.ndarray
        Runs with ``status != 'ok'`` (kept, with reasons, elsewhere).
    values : dict of str -> numpy.ndarray
        Weekly mean of each proxy over ok runs that have it (NaN when none).
    counts : dict of str -> numpy.ndarray
        Runs contributing to each proxy's weekly mean.
    mean_temperature_c, mean_local_hour, trimp : numpy.ndarray
        Weekly covariates: mean run temperature, mean start hour (ok runs),
        and TRIMP summed over all runs with one (NaN when no run had one).
    """

    week_start: list[str]
    n_runs: np.ndarray
    n_excluded: np.ndarray
    values: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    mean_temperature_c: np.ndarray
    mean_local_hour: np.ndarray
    trimp: np.ndarray

    def __len__(self) -> int:
        return len(self.week_start)

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per week (NaN -> None)."""
        rows = []
        for i, w in enumerate(self.week_start):
            r = {"week_start": w, "n_runs": int(self.n_runs[i]), "n_excluded": int(self.n_excluded[i])}
            for k, v in self.values.items():
                r[k] = _none(v[i])
                r[f"{k}_n"] = int(self.counts[k][i])
            r["mean_temperature_c"] = _none(self.mean_temperature_c[i])
            r["mean_local_hour"] = _none(self.mean_local_hour[i])
            r["trimp"] = _none(self.trimp[i])
            rows.append(r)
        return rows


def _none(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _week_of(r: RunEconomy, zi: _dt.tzinfo) -> _dt.date:
    if r.local_date:
        d = _dt.date.fromisoformat(r.local_date)
    elif r.started_at_ns is not None:
        d = _dt.datetime.fromtimestamp(r.started_at_ns / 1e9, tz=_dt.UTC).astimezone(zi).date()
    else:
        raise ValueError(f"run {r.activity_id} has neither local_date nor started_at_ns")
    return d - _dt.timedelta(days=d.weekday())


def weekly_series(
    runs: Sequence[RunEconomy],
    tz: str,
    *,
    proxies: Sequence[str] = tuple(PROXIES),
    first_week: _dt.date | None = None,
    last_week: _dt.date | None = None,
) -> WeeklySeries:
    """Aggregate per-run proxies into consecutive local weeks (mean of the ok runs).

    Parameters
    ----------
    runs : sequence of RunEconomy
        Runs without a start time are refused (ValueError); runs with
        ``status != 'ok'`` are counted in ``n_excluded`` only.
    tz : str
        Athlete's IANA zone (weeks are local ISO weeks, Monday start). Used when
        a run has no ``local_date``.
    proxies : sequence of str
        RunEconomy attribute names to average.
    first_week, last_week : datetime.date, optional
        Extend the range (any date inside the week).

    Returns
    -------
    WeeklySeries
    """
    zi = zone_info(tz)
    weeks = [_week_of(r, zi) for r in runs]
    cand = [*weeks, *(w - _dt.timedelta(days=w.weekday()) for w in (first_week, last_week) if w is not None)]
    if not cand:
        empty = np.zeros(0)
        return WeeklySeries(
            [],
            empty.astype(int),
            empty.astype(int),
            {p: empty for p in proxies},
            {p: empty.astype(int) for p in proxies},
            empty,
            empty,
            empty,
        )
    w0, w1 = min(cand), max(cand)
    n = (w1 - w0).days // 7 + 1
    n_runs = np.zeros(n, int)
    n_exc = np.zeros(n, int)
    sums = {p: np.zeros(n) for p in proxies}
    cnts = {p: np.zeros(n, int) for p in proxies}
    tsum, tcnt = np.zeros(n), np.zeros(n)
    hsum, hcnt = np.zeros(n), np.zeros(n)
    trimp, trimp_n = np.zeros(n), np.zeros(n)
    for r, w in zip(runs, weeks, strict=True):
        i = (w - w0).days // 7
        if r.trimp is not None and np.isfinite(r.trimp):
            trimp[i] += r.trimp
            trimp_n[i] += 1
        if r.status != "ok":
            n_exc[i] += 1
            continue
        n_runs[i] += 1
        for p in proxies:
            v = getattr(r, p)
            if v is not None and np.isfinite(v):
                sums[p][i] += v
                cnts[p][i] += 1
        if r.mean_temperature_c is not None and np.isfinite(r.mean_temperature_c):
            tsum[i] += r.mean_temperature_c
            tcnt[i] += 1
        if r.local_hour is not None:
            hsum[i] += r.local_hour
            hcnt[i] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {p: np.where(cnts[p] > 0, sums[p] / np.maximum(cnts[p], 1), np.nan) for p in proxies}
        temp = np.where(tcnt > 0, tsum / np.maximum(tcnt, 1), np.nan)
        hour = np.where(hcnt > 0, hsum / np.maximum(hcnt, 1), np.nan)
    return WeeklySeries(
        week_start=[(w0 + _dt.timedelta(days=7 * i)).isoformat() for i in range(n)],
        n_runs=n_runs,
        n_excluded=n_exc,
        values=values,
        counts=cnts,
        mean_temperature_c=temp,
        mean_local_hour=hour,
        trimp=np.where(trimp_n > 0, trimp, np.nan),
    )


# --------------------------------------------------------------------------------------------
# Typical error and smallest worthwhile change
# --------------------------------------------------------------------------------------------


@dataclass
class TypicalError:
    """Baseline variability of a weekly proxy (log scale: % of the level).

    Attributes
    ----------
    typical_error : float or None
        Hopkins typical error of the weekly means: SD of consecutive week-to-week differences / sqrt(2),
        ``100 ln`` scale, so a CV in %.
    between_week_sd : float or None
        SD of the baseline weekly values, same units (contains any baseline trend).
    n_weeks : int
        Baseline weeks with a value. n_pairs: consecutive pairs used for the typical error.
    units : str
    """

    typical_error: float | None
    between_week_sd: float | None
    n_weeks: int
    n_pairs: int
    units: str = "%"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def typical_error(weekly_values: np.ndarray) -> TypicalError:
    """Typical error (Hopkins 2000) of a baseline series of weekly means of a ratio-scale proxy.

    ``TE = SD(y[w+1] - y[w]) / sqrt(2)`` over pairs of *adjacent* calendar weeks that both have a
    value, ``y = 100 ln x``, so TE is a CV in %. Differences (not the SD around the mean) keep a
    slow baseline drift out of it. The smallest worthwhile change is *not* derived from it (an
    athlete's own noise says nothing about what change matters): see :data:`DEFAULT_SWC_PCT`.

    Returns
    -------
    TypicalError
        Fields None when fewer than 3 weeks / 2 pairs are available.
    """
    x = np.asarray(weekly_values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("weekly_values must be 1-D")
    if np.any(x[np.isfinite(x)] <= 0):
        raise ValueError("ratio-scale proxies must be positive")
    with np.errstate(invalid="ignore", divide="ignore"):
        y = 100.0 * np.log(x)
    fin = np.isfinite(y)
    d = np.diff(y)
    d = d[np.isfinite(d)]
    n_w = int(fin.sum())
    te = float(np.std(d, ddof=1) / math.sqrt(2)) if d.size >= 2 else None
    sd = float(np.std(y[fin], ddof=1)) if n_w >= 3 else None
    return TypicalError(te, sd, n_w, int(d.size))


# --------------------------------------------------------------------------------------------
# Primary proxy
# --------------------------------------------------------------------------------------------

#: power covers the baseline when this share of the baseline runs have speed per W/kg
POWER_COVERAGE = 0.9
#: weeks with a value that a proxy needs in the baseline to be primary (the model's minimum)
MIN_BASELINE_WEEKS = 6

PRIMARY_RULE = (
    "From the pre-strength baseline only: speed per W/kg when power covers the baseline (>= 90 % of "
    "its runs and >= 6 of its weeks have it), else HR at the reference speed when >= 6 baseline weeks "
    "have it, else the efficiency factor."
)


def choose_primary_proxy(
    baseline_runs: int, baseline_values: Mapping[str, Sequence[float | None]], baseline_weeks_with_value: dict[str, int]
) -> tuple[str, str]:
    """The primary proxy by :data:`PRIMARY_RULE` and the reason, from baseline data only.

    Parameters
    ----------
    baseline_runs : int
        Runs usable for economy in the baseline weeks.
    baseline_values : dict
        proxy -> its values over those runs (None/NaN where the run has none).
    baseline_weeks_with_value : dict
        proxy -> baseline weeks with at least one value.
    """

    def n_vals(name: str) -> int:
        return sum(1 for v in baseline_values.get(name, ()) if v is not None and math.isfinite(v))

    if (
        baseline_runs
        and n_vals("speed_per_w_per_kg") >= POWER_COVERAGE * baseline_runs
        and baseline_weeks_with_value.get("speed_per_w_per_kg", 0) >= MIN_BASELINE_WEEKS
    ):
        return "speed_per_w_per_kg", (
            f"power on {n_vals('speed_per_w_per_kg')} of {baseline_runs} baseline runs (>= {POWER_COVERAGE:.0%})"
        )
    if baseline_weeks_with_value.get("hr_at_reference_speed_bpm", 0) >= MIN_BASELINE_WEEKS:
        return "hr_at_reference_speed_bpm", (
            f"power on {n_vals('speed_per_w_per_kg')} of {baseline_runs} baseline runs (< {POWER_COVERAGE:.0%}); "
            f"HR at the reference speed in {baseline_weeks_with_value['hr_at_reference_speed_bpm']} baseline weeks"
        )
    return "ef_proxy", (
        f"neither power (on {n_vals('speed_per_w_per_kg')} of {baseline_runs} baseline runs) nor HR at "
        f"the reference speed (in {baseline_weeks_with_value.get('hr_at_reference_speed_bpm', 0)} "
        f"baseline weeks) covers the baseline"
    )


# --------------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------------


def describe_change(
    estimate: float | None,
    ci90_low: float | None,
    ci90_high: float | None,
    *,
    higher_is_better: bool,
    swc: float | None = None,
    label: str = "the proxy",
    units: str = "%",
    n_runs: int | None = None,
    n_weeks: int | None = None,
) -> str:
    """Plain-language reading of a change and its 90 % interval; never claims cause.

    Classification on the "improvement" axis (sign flipped when lower is better):

    * whole interval above +SWC (or above 0 without an SWC): "consistent with an
      improvement" (+ "larger than the smallest worthwhile change" when above SWC);
    * whole interval below 0: "consistent with a decline" (likewise);
    * interval inside (-SWC, +SWC): "consistent with no worthwhile change";
    * otherwise: "not distinguishable from no change".

    Returns
    -------
    str
        E.g. ``"consistent with an improvement: efficiency factor proxy +3.9 % (90 % interval +1.8
        to +6.0 %), n = 61 runs over 16 weeks. An association in one athlete, not proof of cause."``
    """
    n_txt = ""
    if n_runs is not None and n_weeks is not None:
        n_txt = f", n = {n_runs} runs over {n_weeks} weeks"
    if estimate is None or ci90_low is None or ci90_high is None:
        return f"not estimable for {label}{n_txt}: too few weeks with data"
    if ci90_low > ci90_high:
        raise ValueError("ci90_low must be <= ci90_high")
    lo, hi = (ci90_low, ci90_high) if higher_is_better else (-ci90_high, -ci90_low)
    if lo > 0:
        verdict = "consistent with an improvement"
        if swc is not None and lo > swc:
            verdict += " larger than the smallest worthwhile change"
    elif hi < 0:
        verdict = "consistent with a decline"
        if swc is not None and hi < -swc:
            verdict += " larger than the smallest worthwhile change"
    elif swc is not None and -swc < lo and hi < swc:
        verdict = "consistent with no worthwhile change"
    else:
        verdict = "not distinguishable from no change"
    u = " %" if units == "%" else f" {units}"
    return (
        f"{verdict}: {label} {estimate:+.2f}{u} (90 % interval {ci90_low:+.2f} to {ci90_high:+.2f}{u}){n_txt}. "
        "An association in one athlete, not proof of cause."
    )


# --------------------------------------------------------------------------------------------
# Strength blocks
# --------------------------------------------------------------------------------------------


def strength_blocks(sessions_per_week: np.ndarray, *, max_gap_weeks: int = 4) -> list[tuple[int, int]]:
    """Blocks of strength training: runs of weeks with sessions, allowing short gaps.

    A block starts at a week with >= 1 session and ends at the last week with a
    session before a gap of more than ``max_gap_weeks`` session-free weeks.
    The default of 4 weeks keeps a holiday or an illness inside the block:
    strength and running-economy gains are not lost within a few weeks of
    reduced training, whereas a longer pause starts a new block.

    Returns
    -------
    list of (first_week_index, last_week_index), inclusive, oldest first.
    """
    s = np.asarray(sessions_per_week)
    idx = np.flatnonzero(s > 0)
    if idx.size == 0:
        return []
    blocks = []
    start = prev = int(idx[0])
    for i in idx[1:]:
        if i - prev - 1 > max_gap_weeks:
            blocks.append((start, prev))
            start = int(i)
        prev = int(i)
    blocks.append((start, prev))
    return blocks
