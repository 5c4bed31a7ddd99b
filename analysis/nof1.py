"""The honest n-of-1 link between strength training and running-economy *proxies*.

For one athlete: weekly series of each proxy, baseline typical error and
smallest worthwhile change (Hopkins), the change over the latest strength
block against the pre-strength baseline with a 90 % interval, a lagged
regression of the weekly proxy on strength exposure adjusted for running load
and temperature with moving-block-bootstrap intervals, and wording helpers
that say "consistent with" or "not distinguishable from", never "caused".
Every estimate carries its n (runs, weeks).

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
Hopkins WG (2004). How to interpret changes in an athletic performance test.
Sportscience 8:1-7 (smallest worthwhile change, 0.2 x SD).
Kuensch HR (1989). The jackknife and the bootstrap for general stationary
observations. Ann Stat 17:1217-1241 (moving block bootstrap).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from analysis.economy import RunEconomy, zone_info

__all__ = [
    "LITERATURE_CONTEXT",
    "PROXIES",
    "ChangeEstimate",
    "ProxySpec",
    "RegressionResult",
    "TypicalError",
    "WeeklySeries",
    "describe_change",
    "lagged_regression",
    "step_change",
    "strength_blocks",
    "typical_error",
    "weekly_series",
]


@dataclass(frozen=True)
class ProxySpec:
    """How a proxy is named, scaled and read."""

    name: str
    label: str
    unit: str
    higher_is_better: bool
    log_scale: bool  # changes reported in % (ratio scale) when True, else in ``change_unit``
    change_unit: str | None = None  # unit of a difference when not on the log scale (default: ``unit``)


#: The economy proxies the n-of-1 analysis follows (all proxies, none is running economy).
PROXIES: dict[str, ProxySpec] = {
    "ef_proxy": ProxySpec("ef_proxy", "efficiency factor proxy (grade-adjusted m/min per bpm)", "(m/min)/bpm", True, True),
    "hr_at_reference_speed_bpm": ProxySpec(
        "hr_at_reference_speed_bpm", "HR at the reference speed (proxy)", "bpm", False, True
    ),
    "speed_per_w_per_kg": ProxySpec(
        "speed_per_w_per_kg", "speed per W/kg (Stryd running-effectiveness proxy)", "(m/s)/(W/kg)", True, True
    ),
    "decoupling_pct": ProxySpec(
        "decoupling_pct", "aerobic decoupling Pa:HR (quality flag)", "%", False, False, "percentage points"
    ),
}

#: Published effects of strength training on *laboratory* running economy (oxygen cost), for display
#: beside the proxies. Negative oxygen-cost changes are improvements. Not on the proxies' scale.
LITERATURE_CONTEXT: tuple[dict, ...] = (
    {
        "source": "Reviews of concurrent strength and endurance training in distance runners",
        "measure": "laboratory running economy (oxygen cost of running)",
        "improvement_pct_range": [2.0, 8.0],
        "weeks_range": [6, 14],
        "note": "typical improvement of oxygen cost over 6-14 weeks of added strength training",
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

#: Temperature above which heat is counted as a covariate (see ``WeeklySeries.mean_heat_excess_c``).
HEAT_THRESHOLD_C = 20.0

LITERATURE_CAVEAT = (
    "Published figures are changes in laboratory oxygen cost. The watch-based values here are HR- or "
    "power-based proxies; because HR is not proportional to oxygen uptake, their % change is not a % change "
    "in running economy. Compare directions and rough sizes only."
)


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
    mean_heat_excess_c : numpy.ndarray
        Weekly mean over ok runs of ``max(T - 20 C, 0)``: cardiovascular drift
        is small in temperate conditions and grows in the heat (Wingo 2008:
        +2 % HR at 22 C vs +11 % at 35 C over 30 min), so this hinge is the
        default temperature adjustment of :func:`step_change` in the summary.
    """

    week_start: list[str]
    n_runs: np.ndarray
    n_excluded: np.ndarray
    values: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    mean_temperature_c: np.ndarray
    mean_local_hour: np.ndarray
    trimp: np.ndarray
    mean_heat_excess_c: np.ndarray

    def __len__(self) -> int:
        return len(self.week_start)

    def to_rows(self) -> list[dict]:
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
            r["mean_heat_excess_c"] = _none(self.mean_heat_excess_c[i])
            rows.append(r)
        return rows


def _none(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _week_of(r: RunEconomy, zi) -> _dt.date:
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
        return WeeklySeries([], empty.astype(int), empty.astype(int), {p: empty for p in proxies},
                            {p: empty.astype(int) for p in proxies}, empty, empty, empty, empty)
    w0, w1 = min(cand), max(cand)
    n = (w1 - w0).days // 7 + 1
    n_runs = np.zeros(n, int)
    n_exc = np.zeros(n, int)
    sums = {p: np.zeros(n) for p in proxies}
    cnts = {p: np.zeros(n, int) for p in proxies}
    tsum, tcnt, heat = np.zeros(n), np.zeros(n), np.zeros(n)
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
            heat[i] += max(r.mean_temperature_c - HEAT_THRESHOLD_C, 0.0)
            tcnt[i] += 1
        if r.local_hour is not None:
            hsum[i] += r.local_hour
            hcnt[i] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {p: np.where(cnts[p] > 0, sums[p] / np.maximum(cnts[p], 1), np.nan) for p in proxies}
        temp = np.where(tcnt > 0, tsum / np.maximum(tcnt, 1), np.nan)
        heat = np.where(tcnt > 0, heat / np.maximum(tcnt, 1), np.nan)
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
        mean_heat_excess_c=heat,
    )


# --------------------------------------------------------------------------------------------
# Typical error and smallest worthwhile change
# --------------------------------------------------------------------------------------------


@dataclass
class TypicalError:
    """Baseline variability of a weekly proxy.

    Attributes
    ----------
    typical_error : float or None
        Hopkins typical error: SD of consecutive week-to-week differences / sqrt(2),
        in % (log-scale proxies: 100 x SD of log differences / sqrt 2, a CV) or the proxy's unit.
    between_week_sd : float or None
        SD of the baseline weekly values, same units.
    swc : float or None
        Smallest worthwhile change = 0.2 x ``between_week_sd``.
    n_weeks : int
        Baseline weeks with a value. n_pairs: consecutive pairs used for the typical error.
    units : str
    """

    typical_error: float | None
    between_week_sd: float | None
    swc: float | None
    n_weeks: int
    n_pairs: int
    units: str
    swc_factor: float = 0.2

    def to_dict(self) -> dict:
        return asdict(self)


def typical_error(weekly_values: np.ndarray, *, log_scale: bool = True, swc_factor: float = 0.2) -> TypicalError:
    """Typical error (Hopkins 2000) and smallest worthwhile change of a baseline weekly series.

    ``TE = SD(y[w+1] - y[w]) / sqrt(2)`` over pairs of *adjacent* calendar weeks
    that both have a value (``y = 100 ln x`` for ratio-scale proxies, so TE is
    a CV in %), and ``SWC = swc_factor x SD(y)`` with ``swc_factor = 0.2``
    (Hopkins' smallest standardised effect). In a group, 0.2 x the
    between-athlete SD is the usual SWC; for one athlete we use the athlete's
    own baseline between-week SD, which contains the typical error itself, so
    the SWC is a small, conservative threshold. Use the differences (not the
    SD around the mean) for TE so slow baseline drift does not inflate it.

    Parameters
    ----------
    weekly_values : numpy.ndarray
        Baseline weekly means, NaN for weeks without a value (gaps break pairs).
    log_scale : bool
        Report in % of the level (ratio proxies) instead of the proxy's unit.
    swc_factor : float
        Multiplier of the between-week SD (0.2).

    Returns
    -------
    TypicalError
        Fields None when fewer than 3 weeks / 2 pairs are available.
    """
    x = np.asarray(weekly_values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("weekly_values must be 1-D")
    if swc_factor <= 0:
        raise ValueError("swc_factor must be > 0")
    if log_scale:
        if np.any(x[np.isfinite(x)] <= 0):
            raise ValueError("log-scale proxies must be positive")
        y = 100.0 * np.log(x)
    else:
        y = x
    units = "%" if log_scale else "proxy units"
    fin = np.isfinite(y)
    d = np.diff(y)
    d = d[np.isfinite(d)]
    n_w = int(fin.sum())
    te = float(np.std(d, ddof=1) / math.sqrt(2)) if d.size >= 2 else None
    sd = float(np.std(y[fin], ddof=1)) if n_w >= 3 else None
    return TypicalError(te, sd, None if sd is None else swc_factor * sd, n_w, int(d.size), units, swc_factor)


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
# Step change: latest strength block vs baseline
# --------------------------------------------------------------------------------------------


@dataclass
class ChangeEstimate:
    """Change in a weekly proxy between a baseline and a strength block (90 % interval).

    Attributes
    ----------
    proxy : str
    estimate, ci90_low, ci90_high : float or None
        Adjusted difference block - baseline: in % (100 (e^b - 1) on the log scale) for
        ratio proxies, else in the proxy's unit.
    units : str
    n_runs : int
        Ok runs in the weeks used.
    n_weeks, n_baseline_weeks, n_block_weeks : int
    baseline_mean, block_mean : float or None
        Unadjusted means of the weekly values (proxy units).
    covariates : list of str
        Adjusted for (weekly means, linear).
    df : int
        Residual degrees of freedom of the t interval.
    typical_error, swc : float or None
        From the baseline weeks (:func:`typical_error`).
    higher_is_better : bool
    method : str
    wording : str
    """

    proxy: str
    estimate: float | None
    ci90_low: float | None
    ci90_high: float | None
    units: str
    n_runs: int
    n_weeks: int
    n_baseline_weeks: int
    n_block_weeks: int
    baseline_mean: float | None = None
    block_mean: float | None = None
    covariates: list[str] = field(default_factory=list)
    df: int = 0
    typical_error: float | None = None
    swc: float | None = None
    higher_is_better: bool = True
    method: str = ""
    wording: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    df = X.shape[0] - X.shape[1]
    s2 = float(resid @ resid) / df
    cov = s2 * np.linalg.pinv(X.T @ X)
    return beta, cov, df


def step_change(
    weekly_values: np.ndarray,
    baseline_mask: np.ndarray,
    block_mask: np.ndarray,
    *,
    n_runs: np.ndarray | None = None,
    covariates: Mapping[str, np.ndarray] | None = None,
    proxy: str = "ef_proxy",
    higher_is_better: bool | None = None,
    log_scale: bool | None = None,
    label: str | None = None,
    min_baseline_weeks: int = 3,
    min_block_weeks: int = 2,
    confidence: float = 0.90,
) -> ChangeEstimate:
    """Change of a weekly proxy over a strength block vs baseline, with a 90 % t interval.

    Estimand: the difference in the athlete's weekly mean proxy between block
    weeks and baseline weeks at equal covariates (weekly mean temperature,
    running load...), on the log scale for ratio proxies and reported as
    ``100 (e^b - 1)`` %. Fit: ordinary least squares over the weeks in either
    mask that have a value and finite covariates::

        y_w = a + b * block_w + sum_k c_k (z_kw - mean z_k) + e_w

    and a Student-t interval with ``n - p`` degrees of freedom (weekly means
    smooth out within-week run-to-run noise; weeks are assumed exchangeable
    within each period: autocorrelation between weeks would make this
    interval too narrow, which is why :func:`lagged_regression` uses a block
    bootstrap). Covariates that are constant over the used weeks are dropped.

    Parameters
    ----------
    weekly_values : numpy.ndarray
        Weekly means (NaN when no run).
    baseline_mask, block_mask : numpy.ndarray of bool
        Disjoint selections of weeks.
    n_runs : numpy.ndarray, optional
        Runs per week (for the reported n).
    covariates : mapping of name -> numpy.ndarray, optional
        Weekly covariates (same length); weeks with a NaN covariate are dropped.
    proxy : str
        Key in :data:`PROXIES` (gives direction, scale and label unless overridden).

    Returns
    -------
    ChangeEstimate
        ``estimate`` None (and the wording says why) when fewer than
        ``min_baseline_weeks`` / ``min_block_weeks`` weeks have values.
    """
    y = np.asarray(weekly_values, dtype=np.float64)
    base = np.asarray(baseline_mask, dtype=bool)
    blk = np.asarray(block_mask, dtype=bool)
    if y.ndim != 1 or base.shape != y.shape or blk.shape != y.shape:
        raise ValueError("weekly_values, baseline_mask and block_mask must be 1-D of equal length")
    if np.any(base & blk):
        raise ValueError("baseline_mask and block_mask must not overlap")
    if not (0 < confidence < 1):
        raise ValueError("confidence must be in (0, 1)")
    spec = PROXIES.get(proxy)
    hib = higher_is_better if higher_is_better is not None else (spec.higher_is_better if spec else True)
    logs = log_scale if log_scale is not None else (spec.log_scale if spec else True)
    label = label or (spec.label if spec else proxy)
    nr = np.zeros(y.size, int) if n_runs is None else np.asarray(n_runs, dtype=int)
    if nr.shape != y.shape:
        raise ValueError("n_runs must match weekly_values")
    cov = {k: np.asarray(v, dtype=np.float64) for k, v in (covariates or {}).items()}
    for k, v in cov.items():
        if v.shape != y.shape:
            raise ValueError(f"covariate {k!r} must match weekly_values")
    use = (base | blk) & np.isfinite(y)
    for v in cov.values():
        use &= np.isfinite(v)
    if logs and np.any(y[use] <= 0):
        raise ValueError("log-scale proxies must be positive")
    yy = 100.0 * np.log(y[use]) if logs else y[use]
    bb = blk[use].astype(float)
    n_base, n_blk = int((bb == 0).sum()), int((bb == 1).sum())
    units = "%" if logs else ((spec.change_unit or spec.unit) if spec else "proxy units")
    te = typical_error(np.where(base, y, np.nan), log_scale=logs)
    res = ChangeEstimate(
        proxy=proxy,
        estimate=None,
        ci90_low=None,
        ci90_high=None,
        units=units,
        n_runs=int(nr[use].sum()),
        n_weeks=int(use.sum()),
        n_baseline_weeks=n_base,
        n_block_weeks=n_blk,
        baseline_mean=_none(np.mean(y[use][bb == 0])) if n_base else None,
        block_mean=_none(np.mean(y[use][bb == 1])) if n_blk else None,
        typical_error=te.typical_error,
        swc=te.swc,
        higher_is_better=hib,
        method=f"OLS on weekly means, block indicator + centred covariates, Student-t {confidence:.0%} interval",
    )
    if n_base < min_baseline_weeks or n_blk < min_block_weeks:
        res.wording = (
            f"not estimable for {label}: {n_base} baseline and {n_blk} block weeks with data "
            f"(need >= {min_baseline_weeks} and >= {min_block_weeks})"
        )
        return res
    cols = [np.ones(yy.size), bb]
    used_cov = []
    for k, v in cov.items():
        z = v[use] - v[use].mean()
        if np.ptp(z) > 1e-12 and yy.size - len(cols) - 1 >= 2:
            cols.append(z)
            used_cov.append(k)
    X = np.column_stack(cols)
    if yy.size - X.shape[1] < 1:
        res.wording = f"not estimable for {label}: too few weeks for the model"
        return res
    beta, covb, df = _ols(X, yy)
    q = float(stats.t.ppf(0.5 + confidence / 2, df))
    b, se = float(beta[1]), float(math.sqrt(max(covb[1, 1], 0.0)))
    lo, hi = b - q * se, b + q * se
    if logs:
        b, lo, hi = (100.0 * (math.exp(v / 100.0) - 1.0) for v in (b, lo, hi))
    res.estimate, res.ci90_low, res.ci90_high = b, lo, hi
    res.covariates = used_cov
    res.df = int(df)
    res.wording = describe_change(b, lo, hi, higher_is_better=hib, swc=te.swc, label=label, units=units,
                                  n_runs=res.n_runs, n_weeks=res.n_weeks)
    return res


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


# --------------------------------------------------------------------------------------------
# Lagged regression with a moving block bootstrap
# --------------------------------------------------------------------------------------------


@dataclass
class RegressionResult:
    """Lagged association of a weekly proxy with strength exposure.

    Attributes
    ----------
    proxy, exposure : str
    lags : list of int
        Exposure lags in weeks (0 = same week).
    coef : list of float or None
        Per lag: change in the proxy per unit of exposure (% on the log scale).
    ci90 : list of [low, high] or None
        Moving-block-bootstrap 90 % percentile intervals, per lag.
    total, total_ci90 : float, [low, high] or None
        Sum over lags (the association of a sustained one-unit exposure).
    covariates : list of str
        Adjusted for. ``covariates_dropped``: given but constant over the used weeks.
    covariate_coef : dict
        Point estimates of the adjustment terms (per unit, log-% or unit).
    n : int
        Weeks used. n_runs: ok runs in those weeks.
    block_length, n_boot, n_boot_used : int
    units, method, wording : str
    """

    proxy: str
    exposure: str
    lags: list[int]
    coef: list[float | None]
    ci90: list[list[float] | None]
    total: float | None
    total_ci90: list[float] | None
    covariates: list[str]
    covariate_coef: dict[str, float]
    n: int
    n_runs: int
    block_length: int
    n_boot: int
    n_boot_used: int
    units: str
    higher_is_better: bool = True
    method: str = ""
    wording: str = ""
    covariates_dropped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def lagged_regression(
    weekly_values: np.ndarray,
    exposure: np.ndarray,
    *,
    lags: Sequence[int] = (0, 1, 2),
    covariates: Mapping[str, np.ndarray] | None = None,
    n_runs: np.ndarray | None = None,
    proxy: str = "ef_proxy",
    exposure_name: str = "strength sessions per week",
    higher_is_better: bool | None = None,
    log_scale: bool | None = None,
    block_length: int | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    min_weeks: int = 8,
) -> RegressionResult:
    """Regress a weekly proxy on lagged strength exposure, adjusted, with block-bootstrap 90 % intervals.

    Model (OLS over weeks with a proxy value, all lags defined, finite covariates)::

        y_w = a + sum_l b_l x_(w-l) + sum_k c_k z_kw + e_w

    where ``y = 100 ln(proxy)`` for ratio proxies (so ``b_l`` is ~% per unit),
    ``x`` the weekly exposure (e.g. sessions; calendar weeks, so a week with
    no runs still carries its exposure into later lags) and ``z`` the
    covariates (e.g. CTL or weekly TRIMP, mean temperature).

    Intervals: moving block bootstrap (Kuensch 1989) of the time-ordered
    design rows, blocks of ``block_length`` (default ``ceil(n^(1/3))``, min 2)
    weeks drawn with replacement, refit, percentile 5-95 %. Blocks keep the
    serial correlation of weekly residuals that an iid bootstrap or a plain
    OLS interval would ignore. Replicates where a regressor has no variation
    are discarded (``n_boot_used``). With few weeks the percentile interval
    tends to be too narrow: read it with the n it carries.

    Returns
    -------
    RegressionResult
        coefficients None (wording says why) with fewer than ``min_weeks`` usable weeks.
    """
    y = np.asarray(weekly_values, dtype=np.float64)
    x = np.asarray(exposure, dtype=np.float64)
    if y.ndim != 1 or x.shape != y.shape:
        raise ValueError("weekly_values and exposure must be 1-D of equal length")
    lags = [int(v) for v in lags]
    if not lags or min(lags) < 0 or len(set(lags)) != len(lags):
        raise ValueError("lags must be distinct non-negative integers")
    if n_boot < 100:
        raise ValueError("n_boot must be >= 100")
    spec = PROXIES.get(proxy)
    hib = higher_is_better if higher_is_better is not None else (spec.higher_is_better if spec else True)
    logs = log_scale if log_scale is not None else (spec.log_scale if spec else True)
    label = spec.label if spec else proxy
    units = "% per unit exposure" if logs else f"{(spec.change_unit or spec.unit) if spec else 'units'} per unit exposure"
    nr = np.zeros(y.size, int) if n_runs is None else np.asarray(n_runs, dtype=int)
    cov = {k: np.asarray(v, dtype=np.float64) for k, v in (covariates or {}).items()}
    for k, v in cov.items():
        if v.shape != y.shape:
            raise ValueError(f"covariate {k!r} must match weekly_values")
    L = max(lags)
    n_all = y.size
    lagged = np.full((n_all, len(lags)), np.nan)
    for j, lag in enumerate(lags):
        lagged[lag:, j] = x[: n_all - lag] if lag else x
    use = np.isfinite(y) & np.all(np.isfinite(lagged), axis=1)
    use[:L] = False
    for v in cov.values():
        use &= np.isfinite(v)
    if logs and np.any(y[use] <= 0):
        raise ValueError("log-scale proxies must be positive")
    n = int(use.sum())
    res = RegressionResult(
        proxy=proxy, exposure=exposure_name, lags=lags, coef=[None] * len(lags), ci90=[None] * len(lags),
        total=None, total_ci90=None, covariates=list(cov), covariate_coef={}, n=n, n_runs=int(nr[use].sum()),
        block_length=0, n_boot=n_boot, n_boot_used=0, units=units, higher_is_better=hib,
        method="OLS on weekly values, moving block bootstrap (percentile 90 %)",
    )
    if n < max(min_weeks, len(lags) + len(cov) + 3):
        res.wording = f"not estimable for {label}: {n} usable weeks (need >= {max(min_weeks, len(lags) + len(cov) + 3)})"
        return res
    yy = 100.0 * np.log(y[use]) if logs else y[use]
    # a covariate without variation over the usable weeks (e.g. no heat at all) carries no information
    dropped = [k for k in cov if np.ptp(cov[k][use]) <= 1e-12]
    cov = {k: v for k, v in cov.items() if k not in dropped}
    res.covariates, res.covariates_dropped = list(cov), dropped
    Z = [cov[k][use] - cov[k][use].mean() for k in cov]
    X = np.column_stack([np.ones(n), lagged[use], *Z])
    p = X.shape[1]
    if np.linalg.matrix_rank(X) < p:
        res.wording = f"not estimable for {label}: exposure or covariates have no variation over the usable weeks"
        return res
    beta, *_ = np.linalg.lstsq(X, yy, rcond=None)
    bl = block_length or max(2, math.ceil(n ** (1 / 3)))
    bl = min(bl, n)
    rng = np.random.default_rng(seed)
    k_blocks = math.ceil(n / bl)
    starts = rng.integers(0, n - bl + 1, size=(n_boot, k_blocks))
    idx = (starts[:, :, None] + np.arange(bl)[None, None, :]).reshape(n_boot, -1)[:, :n]
    Xb = X[idx]  # (B, n, p)
    yb = yy[idx]
    XtX = np.einsum("bni,bnj->bij", Xb, Xb)
    Xty = np.einsum("bni,bn->bi", Xb, yb)
    ok = np.linalg.matrix_rank(XtX) == p
    bb = np.linalg.solve(XtX[ok], Xty[ok][..., None])[..., 0]
    res.block_length, res.n_boot_used = int(bl), int(ok.sum())
    k = len(lags)

    def conv(v):
        return 100.0 * (np.exp(np.asarray(v) / 100.0) - 1.0) if logs else np.asarray(v)

    coefs = beta[1 : 1 + k]
    boot = bb[:, 1 : 1 + k]
    res.coef = [float(conv(c)) for c in coefs]
    res.ci90 = [[float(conv(np.quantile(boot[:, j], 0.05))), float(conv(np.quantile(boot[:, j], 0.95)))] for j in range(k)]
    tot_b = boot.sum(axis=1)
    res.total = float(conv(coefs.sum()))
    res.total_ci90 = [float(conv(np.quantile(tot_b, 0.05))), float(conv(np.quantile(tot_b, 0.95)))]
    res.covariate_coef = {name: float(beta[1 + k + j]) for j, name in enumerate(cov)}
    res.wording = describe_change(
        res.total, res.total_ci90[0], res.total_ci90[1], higher_is_better=hib,
        label=f"{label}, per unit of {exposure_name} summed over lags {lags}", units=units,
        n_runs=res.n_runs, n_weeks=n,
    )
    return res
