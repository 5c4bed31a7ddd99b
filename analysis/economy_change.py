"""Did this runner's economy proxies change once strength training started? One athlete, pure.

Pipeline (every step below is a function of this module or of :mod:`analysis.its`):

1. **Strength start** (:func:`locate_strength_start`): the first week of the latest block of
   weeks with a heavy lower-body session (:func:`analysis.training_load.heavy_lower_body_sessions`:
   a zone set of a lower-body lift; blocks split by more than :data:`BLOCK_GAP_WEEKS` weeks
   without one), or the date the user set. The baseline is the weeks before it, at most
   :data:`MAX_BASELINE_WEEKS`, and not within :data:`WASHOUT_WEEKS` of an earlier block.
2. **Per-run rows** (:func:`run_rows`): each usable run's proxies on the ``100 ln`` scale, with
   the runs whose aerobic decoupling exceeds the flag dropped from the HR-based proxies (listed
   with that reason), and its covariates: heat above the threshold (air temperature when known,
   else the device's, :func:`analysis.nof1.heat_excess_c`), whether it fell within
   :data:`analysis.nof1.ACUTE_STRENGTH_WINDOW_H` hours after a heavy lower-body session, its
   local start hour, the 42-day running volume and the 42-minus-7-day balance of running time of the
   day before (running only, and from time rather than HR-based TRIMP, so neither the treatment
   nor the outcome leaks into them), and one step per logged shoe
   or strap change and per change of HR sensor that the FIT ``device_info`` reveals.
3. **Weekly means** of those rows per proxy (covariates averaged over the same runs), the pooled
   within-week variance of single runs, and :func:`analysis.its.fit_change`.
4. **What the report states** (:func:`analyse_economy_change`): the change in the last
   observed week net of the pre-strength trend with its 90 % interval for every proxy, one
   primary proxy chosen from baseline data by :data:`analysis.nof1.PRIMARY_RULE` (or set by
   the user), the typical error of the baseline weeks, the smallest worthwhile change from an
   outside criterion, the sensitivity (weeks of training a 3 % change needs to be detected), and
   the disclosures of what the model cannot tell apart from an effect.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis import its
from analysis.economy import DECOUPLING_FLAG_PCT, RunEconomy, zone_info
from analysis.nof1 import (
    ACUTE_STRENGTH_WINDOW_H,
    AIR_HEAT_THRESHOLD_C,
    DEFAULT_SWC_PCT,
    DEFAULT_SWC_SOURCE,
    DEVICE_HEAT_THRESHOLD_C,
    HR_PROXIES,
    PRIMARY_RULE,
    PROXIES,
    choose_primary_proxy,
    describe_change,
    heat_excess_c,
    strength_blocks,
    typical_error,
)

__all__ = [
    "BLOCK_GAP_WEEKS",
    "MAX_BASELINE_WEEKS",
    "METHOD_VERSION",
    "StrengthStart",
    "analyse_economy_change",
    "locate_strength_start",
    "run_rows",
]

#: more weeks than this without a heavy lower-body session end a strength block
BLOCK_GAP_WEEKS = 8
#: weeks after the end of an earlier strength block that do not count as baseline (gains wane over weeks)
WASHOUT_WEEKS = 8
#: at most this many weeks before the start form the baseline (a linear pre-strength course is a local
#: approximation: months, not years)
MAX_BASELINE_WEEKS = 16
#: the change the sensitivity line is computed for, % (mid-range of the 2-8 % of Blagrove et al. 2018)
SENSITIVITY_CHANGE_PCT = 3.0
#: an acute:chronic ratio of running load (ATL / CTL) above this in the block flags possible overreaching
#: (above the 0.8-1.3 range that Gabbett 2016, Br J Sports Med 50:273, calls the "sweet spot")
OVERREACHING_ACWR = 1.3
#: Version of the whole method (model, covariates, SE, wording rules). Bump it when any of them changes;
#: the benchmark that validated this version is named in :data:`VALIDATION`.
METHOD_VERSION = "economy-its-1"
#: The scenario validation this version passed (benchmarks/bench_economy_validation.py; docs/statistics.md).
VALIDATION = {
    "benchmark": "benchmarks/bench_economy_validation.py",
    "simulator": "sim/field_athletes.py",
    "date": "2026-12-05",
    "seeds_per_scenario": 200,
    "scenarios": 15,
    "result": "12 of 12 must-meet scenarios met (coverage of the true change 92.0-97.0 %, null readings <= 8.0 %); "
    "3 must-disclose scenarios shown; docs/statistics.md, section 4",
}

MULTIPLICITY_NOTE = (
    "One proxy is primary, chosen before strength training started; the others are secondary. With {k} "
    "proxies each read at 90 %, the chance that at least one shows a 'change' by chance alone is up to "
    "{p:.0f} %: a secondary proxy's reading supports or questions the primary one, it is not a separate finding."
)


# --------------------------------------------------------------------------------------------
# Strength start
# --------------------------------------------------------------------------------------------


@dataclass
class StrengthStart:
    """Where the strength block of the economy model starts and which weeks are its baseline.

    Attributes
    ----------
    week : int or None
        Week index (0 = the first week of the summary) of the first strength week; None: no start.
    week_start : str or None
        Its Monday (ISO).
    source : str
        ``"detected"`` (first week of the latest block with a heavy lower-body session),
        ``"detected without e5RM"`` (3-5-rep loaded lower-body sets, no e5RM to check the load),
        ``"set by the user"`` or ``"none"``.
    baseline_first_week : int or None
        First week index of the baseline (the baseline is ``[baseline_first_week, week)``).
    heavy_sessions_per_week : list of int
        Heavy lower-body sessions per week of the summary (all sessions, decided or not, of the kind used).
    heavy_session_times_ns : list of int
        Start and end instants of the heavy sessions used (for the hours-since covariate), oldest first.
    note : str
    """

    week: int | None
    week_start: str | None
    source: str
    baseline_first_week: int | None
    heavy_sessions_per_week: list[int] = field(default_factory=list)
    heavy_session_times_ns: list[tuple[int, int]] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("heavy_session_times_ns")
        return d


def _start_ns(r: RunEconomy) -> int:
    """The run's start (ns since epoch); only called on runs already filtered to a known start."""
    if r.started_at_ns is None:
        raise ValueError(f"run {r.activity_id!r} has no start time")
    return int(r.started_at_ns)


def _week_index(d: _dt.date, week0: _dt.date) -> int:
    return ((d - _dt.timedelta(days=d.weekday())) - week0).days // 7


def _local(t_ns: int, zi: _dt.tzinfo) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(t_ns / 1e9, tz=_dt.UTC).astimezone(zi)


def locate_strength_start(
    heavy_sessions: Sequence[Mapping[str, Any]],
    *,
    tz: str,
    week0: _dt.date,
    n_weeks: int,
    override: _dt.date | None = None,
) -> StrengthStart:
    """The first strength week of the economy model and its baseline weeks.

    Parameters
    ----------
    heavy_sessions : sequence of mapping
        :func:`analysis.training_load.heavy_lower_body_sessions` output. Sessions decided with an
        e5RM are used; only when there is none, the undecided ones (3-5-rep loaded lower-body sets
        without an e5RM), with a note.
    tz : str
        Athlete's zone (local weeks, Monday start).
    week0 : datetime.date
        Monday of week index 0.
    n_weeks : int
        Weeks in the summary.
    override : datetime.date, optional
        The user's strength start (any date in the week); it wins over the detection.
    """
    zi = zone_info(tz)
    decided = [s for s in heavy_sessions if s.get("decided")]
    use = decided or list(heavy_sessions)
    kind = "detected" if decided else "detected without e5RM"
    per_week = np.zeros(max(n_weeks, 0), dtype=int)
    times: list[tuple[int, int]] = []
    for s in use:
        i = _week_index(_local(int(s["started_at_ns"]), zi).date(), week0)
        if 0 <= i < n_weeks:
            per_week[i] += 1
        times.append((int(s["started_at_ns"]), int(s.get("ended_at_ns", s["started_at_ns"]))))
    heavy_weeks = np.flatnonzero(per_week > 0)
    prev_end: int | None = None
    start: int | None = None
    if heavy_weeks.size:
        blocks = strength_blocks(per_week, max_gap_weeks=BLOCK_GAP_WEEKS)
        start = blocks[-1][0]
        prev_end = blocks[-2][1] if len(blocks) > 1 else None
    note = ""
    if override is not None:
        ov = _week_index(override, week0)
        if not (0 <= ov < n_weeks):
            note = f"the strength start set by the user ({override.isoformat()}) lies outside the data"
            start, src = None, "set by the user"
        else:
            earlier = heavy_weeks[heavy_weeks < ov]
            prev_end = int(earlier.max()) if earlier.size else None
            start, src = ov, "set by the user"
    elif start is None:
        src = "none"
        note = "no heavy lower-body session (a zone set of a lower-body lift) yet"
    else:
        src = kind
        if not decided:
            note = (
                "no lower-body set could be checked against an e5RM: the start is the first session with a "
                "loaded 3-5-rep lower-body set"
            )
    if start is None:
        return StrengthStart(None, None, src, None, per_week.tolist(), sorted(times), note)
    first = max(0, start - MAX_BASELINE_WEEKS)
    if prev_end is not None:
        first = max(first, prev_end + 1 + WASHOUT_WEEKS)
        note = (note + "; " if note else "") + (
            f"an earlier strength block ended in week {(week0 + _dt.timedelta(weeks=prev_end)).isoformat()}: the "
            f"baseline starts {WASHOUT_WEEKS} weeks after it"
        )
    return StrengthStart(
        start,
        (week0 + _dt.timedelta(weeks=start)).isoformat(),
        src,
        min(first, start),
        per_week.tolist(),
        sorted(times),
        note,
    )


# --------------------------------------------------------------------------------------------
# Per-run rows
# --------------------------------------------------------------------------------------------


def _change_points(seq: Sequence[tuple[int, str | None]]) -> list[tuple[int, str, str]]:
    """(t_ns, old, new) where a known value differs from the last known one."""
    out = []
    last = None
    for t, v in seq:
        if v is None:
            continue
        if last is not None and v != last:
            out.append((t, last, v))
        last = v
    return out


def run_rows(
    runs: Sequence[RunEconomy],
    *,
    tz: str,
    week0: _dt.date,
    days0: _dt.date,
    ctl: np.ndarray,
    atl: np.ndarray,
    heavy_session_times_ns: Sequence[tuple[int, int]],
    run_context: Mapping[str, Mapping[str, Any]] | None = None,
    events: Sequence[Mapping[str, Any]] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-run proxies (``100 ln``) and covariates of the ok runs, the proxy exclusions, the events.

    ``ctl`` / ``atl`` are the 42- and 7-day EWMAs of a daily *running* load from ``days0`` on (the
    summary passes running minutes: a load computed from HR would carry the outcome of the
    HR-based proxies into the covariates).

    Returns
    -------
    (rows, exclusions, step_events)
        ``rows``: one dict per ok run with ``activity_id, t_ns, week, y`` (proxy -> value or None),
        ``z_run`` (covariates that vary between the runs of a week: heat, the acute strength window,
        TSB, start hour; adjusted for within weeks) and ``z_week`` (steps and CTL: in the weekly model). ``exclusions``: ``activity_id, local_date, proxies, reason``
        for runs whose decoupling removed them from the HR-based proxies. ``step_events``:
        ``t_ns, date, kind, source, label`` of every shoe/strap change modelled as a step.
    """
    zi = zone_info(tz)
    ctx = run_context or {}
    ok = sorted((r for r in runs if r.status == "ok" and r.started_at_ns is not None), key=_start_ns)
    # step events: logged, then detected from the runs' context (HR sensor from FIT device_info, logged shoe)
    steps: list[dict[str, Any]] = []
    for e in events:
        t = e.get("at_ns")
        if t is None:
            continue
        kind = str(e.get("kind") or "event")
        steps.append(
            {
                "t_ns": int(t),
                "kind": kind,
                "source": "logged",
                "date": _local(int(t), zi).date().isoformat(),
                "note": e.get("note"),
            }
        )
    for key, kind in (("hr_sensor", "hr_sensor"), ("shoe", "shoe")):
        seq = [(_start_ns(r), (ctx.get(r.activity_id) or {}).get(key)) for r in ok]
        for t, old, new in _change_points(seq):
            d = _local(t, zi).date()
            # a logged event of the same kind within a week of the detected change is the same change
            if any(s["kind"] == kind and abs(s["t_ns"] - t) <= 7 * 86400 * 10**9 for s in steps):
                continue
            steps.append(
                {
                    "t_ns": t,
                    "kind": kind,
                    "source": "detected" if key == "hr_sensor" else "logged per run",
                    "date": d.isoformat(),
                    "note": f"{old} -> {new}",
                }
            )
    steps.sort(key=lambda s: s["t_ns"])
    for s in steps:
        what = {"hr_sensor": "HR sensor change", "shoe": "shoe change"}.get(s["kind"], f"{s['kind']} event")
        s["label"] = f"after the {what} of {s['date']} ({s['source']})"
    heavy_end = sorted(e for _, e in heavy_session_times_ns)
    rows, excl = [], []
    for r in ok:
        lt = _local(_start_ns(r), zi)
        c = ctx.get(r.activity_id) or {}
        heat, heat_src = heat_excess_c(c.get("air_temperature_c"), r.mean_temperature_c)
        i = int(np.searchsorted(heavy_end, _start_ns(r), side="left")) - 1
        hours = (_start_ns(r) - heavy_end[i]) / 3.6e12 if i >= 0 else math.inf
        day = (lt.date() - days0).days - 1
        ctl_prev = float(ctl[day]) if 0 <= day < ctl.size else (float(ctl[0]) if ctl.size else 0.0)
        atl_prev = float(atl[day]) if 0 <= day < atl.size else (float(atl[0]) if atl.size else 0.0)
        y: dict[str, float | None] = {}
        dropped = []
        for p in PROXIES:
            v = getattr(r, p)
            if v is None or not math.isfinite(v) or v <= 0:
                y[p] = None
                continue
            if p in HR_PROXIES and r.decoupling_pct is not None and r.decoupling_pct > DECOUPLING_FLAG_PCT:
                y[p] = None
                dropped.append(p)
                continue
            y[p] = 100.0 * math.log(v)
        if dropped:
            excl.append(
                {
                    "activity_id": r.activity_id,
                    "local_date": lt.date().isoformat(),
                    "proxies": dropped,
                    "reason": f"aerobic decoupling {r.decoupling_pct:.1f} % > {DECOUPLING_FLAG_PCT:g} %: not a "
                    "steady state, excluded from the HR-based proxies",
                }
            )
        # run-level covariates: adjusted within weeks (they vary from run to run inside a week)
        zr = {
            f"heat (C above {AIR_HEAT_THRESHOLD_C:g} air / {DEVICE_HEAT_THRESHOLD_C:g} device)": heat,
            f"run within {ACUTE_STRENGTH_WINDOW_H:g} h after a heavy lower-body session": float(
                0.0 <= hours <= ACUTE_STRENGTH_WINDOW_H
            ),
            "running form: 42-day minus 7-day running time (min/day, day before)": ctl_prev - atl_prev,
            "start hour (local)": lt.hour + lt.minute / 60.0,
        }
        # week-level covariates: steps and the slow running fitness, in the weekly model
        zw = {s["label"]: float(_start_ns(r) >= s["t_ns"]) for s in steps}
        zw["running volume: 42-day running time (min/day, day before)"] = ctl_prev
        rows.append(
            {
                "activity_id": r.activity_id,
                "t_ns": _start_ns(r),
                "week": _week_index(lt.date(), week0),
                "y": y,
                "z_run": zr,
                "z_week": zw,
                "heat_source": heat_src,
            }
        )
    return rows, excl, steps


# --------------------------------------------------------------------------------------------
# Weekly aggregation and the fit
# --------------------------------------------------------------------------------------------


#: a run-level covariate adjusts the weekly series only when its within-week effect is at least this many
#: standard errors from 0: an imprecise coefficient applied to a covariate whose weekly means vary a lot
#: (heat in a summer baseline with almost no hot runs inside any one week) would add more noise and bias
#: than it removes
MIN_RUN_LEVEL_T = 2.0


def _within_week_adjust(use: Sequence[dict[str, Any]], proxy: str, min_df: int = 10) -> dict[str, Any]:
    """Effects of the run-level covariates from the variation *between runs of the same week*.

    OLS (statsmodels) of the within-week deviations of ``100 ln proxy`` on the within-week
    deviations of the run-level covariates (week fixed effects): the slow between-week course
    (trend, strength, serial correlation) cancels out of it, so it costs the weekly model no
    degrees of freedom. Covariates without within-week variation are left out, and so are those
    whose coefficient is within :data:`MIN_RUN_LEVEL_T` standard errors of 0 (refit without
    them, weakest first). Returns the coefficients, their covariance (``cov``, for the weekly
    model's interval: the estimate moves linearly with them), the residual within-week variance of
    one run (``s2_run``) and the adjusted per-run values ``y - z gamma``.
    """
    import statsmodels.api as sm

    y = np.array([r["y"][proxy] for r in use])
    names = list(use[0]["z_run"]) if use else []
    Z = np.array([[r["z_run"][k] for k in names] for r in use]) if use else np.zeros((0, 0))
    wk = np.array([r["week"] for r in use])
    _, inv, cnt = np.unique(wk, return_inverse=True, return_counts=True)
    multi = cnt[inv] >= 2
    dof_w = int((cnt - 1).sum())
    out: dict[str, Any] = {
        "y_adj": y.copy(),
        "coef": {},
        "se": {},
        "cov": np.zeros((0, 0)),
        "dropped": {},
        "s2_run": None,
        "df": 0,
        "kept": [],
    }
    if not use or dof_w < 1:
        return out

    def demean(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        m = np.zeros((cnt.size, *a.shape[1:]))
        np.add.at(m, inv, a)
        return a - (m / cnt.reshape((-1, *([1] * (a.ndim - 1)))))[inv]

    yd = demean(y)
    Zd = demean(Z) if Z.size else Z
    keep = []
    for j, k in enumerate(names):
        col = Zd[multi, j]
        if col.size and np.ptp(col) > 1e-9:
            keep.append(j)
        else:
            out["dropped"][k] = "no variation between the runs of a week"
    fit = None
    while keep and dof_w - len(keep) >= min_df:
        fit = sm.OLS(yd[multi], Zd[multi][:, keep]).fit()
        scale = fit.df_resid / (dof_w - len(keep))  # the week means used up df that OLS does not see
        se_g = np.asarray(fit.bse) * math.sqrt(scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se_g > 0, np.abs(fit.params) / se_g, np.where(np.abs(fit.params) > 1e-12, np.inf, 0.0))
        weakest = int(np.argmin(t))
        if t[weakest] >= MIN_RUN_LEVEL_T:
            break
        out["dropped"][names[keep[weakest]]] = (
            f"within-week effect not distinguishable from 0 (|t| {t[weakest]:.1f} < {MIN_RUN_LEVEL_T:g})"
        )
        keep.pop(weakest)
        fit = None
    if fit is not None and keep:
        df = dof_w - len(keep)
        scale = fit.df_resid / df
        g = np.zeros(len(names))
        g[keep] = fit.params
        out["y_adj"] = y - Z @ g
        out["coef"] = {names[j]: float(fit.params[i]) for i, j in enumerate(keep)}
        out["se"] = {names[j]: float(fit.bse[i]) * math.sqrt(scale) for i, j in enumerate(keep)}
        out["cov"] = np.asarray(fit.cov_params()) * scale
        ssr = float(fit.ssr)
    else:
        for j in keep:
            out["dropped"][names[j]] = f"too few runs sharing a week to estimate it (within-week df {dof_w})"
        ssr = float(yd @ yd)
        df = dof_w
    out["s2_run"] = ssr / df if df > 0 else None
    out["df"] = int(df)
    out["kept"] = [names[j] for j in keep] if fit is not None else []
    return out


def _weekly(rows: Sequence[dict[str, Any]], proxy: str, first_week: int, *, adjust: bool = True) -> dict[str, Any]:
    use = [r for r in rows if r["y"][proxy] is not None and r["week"] >= first_week]
    if not use:
        return {
            "week": np.zeros(0, int),
            "y": np.zeros(0),
            "n": np.zeros(0, int),
            "z": {},
            "within_var": None,
            "z_run_means": [],
            "run_level_cov": np.zeros((0, 0)),
            "run_level": {"coef": {}, "se": {}, "dropped": {}, "df": 0},
        }
    adj = (
        _within_week_adjust(use, proxy)
        if adjust
        else {
            "y_adj": np.array([r["y"][proxy] for r in use]),
            "coef": {},
            "se": {},
            "cov": np.zeros((0, 0)),
            "dropped": {},
            "s2_run": None,
            "df": 0,
            "kept": [],
        }
    )
    weeks = sorted({r["week"] for r in use})
    idx = {w: i for i, w in enumerate(weeks)}
    k = len(weeks)
    ysum, n = np.zeros(k), np.zeros(k, int)
    names = list(use[0]["z_week"])
    zsum = {nm: np.zeros(k) for nm in names}
    rsum = {nm: np.zeros(k) for nm in adj["kept"]}
    yraw = np.zeros(k)
    for r, ya in zip(use, adj["y_adj"], strict=True):
        i = idx[r["week"]]
        ysum[i] += ya
        yraw[i] += r["y"][proxy]
        n[i] += 1
        for nm in names:
            zsum[nm][i] += r["z_week"][nm]
        for nm in adj["kept"]:
            rsum[nm][i] += r["z_run"][nm]
    within = adj["s2_run"]
    if within is None and not adjust:
        ym = yraw / n
        ss = sum((r["y"][proxy] - ym[idx[r["week"]]]) ** 2 for r in use)
        dof = int((n - 1).sum())
        within = ss / dof if dof > 0 else None
    return {
        "week": np.array(weeks),
        "y": ysum / n,
        "y_raw": yraw / n,
        "n": n,
        "z": {nm: v / n for nm, v in zsum.items()},
        "within_var": within,
        "z_run_means": [rsum[nm] / n for nm in adj["kept"]],
        "run_level_cov": adj["cov"],
        "run_level": {k2: adj[k2] for k2 in ("coef", "se", "dropped", "df")},
    }


def _exposure_at(weeks: np.ndarray, sessions_per_week: Sequence[int], start: int, target: float) -> np.ndarray:
    s = np.asarray(sessions_per_week, dtype=float).copy()
    s[:start] = 0.0
    x = its.exponential_exposure(s, target=target)
    at_weeks: npt.NDArray[np.float64] = x[weeks]
    return at_weeks


def analyse_economy_change(
    rows: Sequence[dict[str, Any]],
    start: StrengthStart,
    *,
    week0: _dt.date,
    excluded: Sequence[dict[str, Any]] = (),
    steps: Sequence[dict[str, Any]] = (),
    acwr_by_week: Sequence[float] | None = None,
    swc_pct: float | None = None,
    swc_source: str | None = None,
    primary_override: str | None = None,
    model: str = its.DEFAULT_MODEL,
    se: str = its.DEFAULT_SE,
    target_sessions: float = 2.0,
    shoe_known: bool = False,
) -> dict[str, Any]:
    """The economy section's numbers: per-proxy changes, primary proxy, TE, SWC, sensitivity, disclosures.

    Parameters
    ----------
    rows, excluded, steps : see :func:`run_rows`.
    start : StrengthStart
    week0 : datetime.date
        Monday of week index 0.
    acwr_by_week : sequence of float, optional
        ATL / CTL at each week's end (running load), for the overreaching disclosure.
    swc_pct, swc_source : optional
        The athlete's smallest worthwhile change (%) and where it comes from; default
        :data:`analysis.nof1.DEFAULT_SWC_PCT` from Saunders et al. 2004.
    primary_override : str, optional
        A proxy name set by the user (wins over the rule).
    model, se : str
        :func:`analysis.its.fit_change` options (the defaults are the validated method).
    shoe_known : bool
        Whether shoes are logged for this athlete (per run or as events): the unlogged-shoe
        disclosure then does not apply.

    Returns
    -------
    dict
        JSON-ready (see docs/report.md, ``economy_change``).
    """
    if swc_pct is not None and not (math.isfinite(swc_pct) and 0 < swc_pct < 50):
        raise ValueError("swc_pct must be a percentage in (0, 50)")
    if primary_override is not None and primary_override not in PROXIES:
        raise ValueError(f"primary proxy must be one of {', '.join(PROXIES)}")
    swc = float(swc_pct) if swc_pct is not None else DEFAULT_SWC_PCT
    swc_src = (swc_source or "set for this athlete") if swc_pct is not None else DEFAULT_SWC_SOURCE
    out: dict[str, Any] = {
        "method_version": METHOD_VERSION,
        "validation": dict(VALIDATION),
        "model": {
            "level_slope": "interrupted time series: pre-strength level and slope, change in level and in "
            "slope from the strength start",
            "exposure": f"pre-strength level and slope + exponentially weighted strength exposure (tau "
            f"{its.DEFAULT_TAU_WEEKS:g} weeks)",
            "level_exposure": f"interrupted time series: pre-strength level and slope, a level change at the "
            f"strength start and an exponentially weighted strength exposure (tau "
            f"{its.DEFAULT_TAU_WEEKS:g} weeks)",
        }[model],
        "model_name": model,
        "se_method": se,
        "estimand": "change of the proxy in the last observed week against the pre-strength level and trend "
        "extrapolated to that week (log scale, reported in %)",
        "strength_start": start.to_dict(),
        "swc_pct": swc,
        "swc_source": swc_src,
        "sensitivity_change_pct": SENSITIVITY_CHANGE_PCT,
        "primary": None,
        "changes": {},
        "typical_error": {},
        "excluded_from_proxies": list(excluded),
        "events": [{k: v for k, v in s.items() if k != "t_ns"} for s in steps],
        "multiplicity": MULTIPLICITY_NOTE.format(k=len(PROXIES), p=100 * (1 - 0.9 ** len(PROXIES))),
        "primary_rule": PRIMARY_RULE,
        "sensitivity": None,
        "disclosures": [],
        "covariates_run_level": list(rows[0]["z_run"]) if rows else [],
        "covariates_week_level": list(rows[0]["z_week"]) if rows else [],
    }
    if start.week is None:
        out["reason"] = f"no strength start: {start.note or 'no heavy lower-body session'}"
        for p, spec in PROXIES.items():
            out["changes"][p] = {
                "proxy": p,
                "label": spec.label,
                "estimate": None,
                "reason": out["reason"],
                "wording": f"not estimable for {spec.label}: {out['reason']}",
            }
        return out
    t0 = start.week
    b0 = start.baseline_first_week or 0
    # typical error and primary proxy from the baseline weeks only
    base_rows = [r for r in rows if b0 <= r["week"] < t0]
    weeks_with = {p: len({r["week"] for r in base_rows if r["y"][p] is not None}) for p in PROXIES}
    for p in PROXIES:
        wk = _weekly(base_rows, p, b0, adjust=False)
        series = np.full(max(t0 - b0, 0), np.nan)
        for w, v in zip(wk["week"], wk["y"], strict=True):
            series[w - b0] = math.exp(v / 100.0)
        te = typical_error(series).to_dict()
        te.update(
            {
                "swc": swc,
                "swc_source": swc_src,
                "baseline_mean": (math.exp(float(np.mean(wk["y"])) / 100.0) if wk["y"].size else None),
            }
        )
        out["typical_error"][p] = te
    decided_on = start.week_start
    if primary_override:
        primary, why, src = primary_override, "set by the user", "set by the user"
    else:
        primary, why = choose_primary_proxy(
            len(base_rows),
            {p: [(None if r["y"][p] is None else r["y"][p]) for r in base_rows] for p in PROXIES},
            weeks_with,
        )
        src = "rule"
    out["primary"] = {
        "proxy": primary,
        "label": PROXIES[primary].label,
        "source": src,
        "why": why,
        "decided_on": decided_on,
        "frozen": (
            "chosen from the baseline weeks before the strength start, so later data cannot change it"
            if src == "rule"
            else "set by the user"
        ),
    }
    for p, spec in PROXIES.items():
        wk = _weekly(rows, p, b0)
        exposure = None
        if model in ("exposure", "level_exposure"):
            exposure = _exposure_at(wk["week"], start.heavy_sessions_per_week, t0, target_sessions)
        fit = its.fit_change(
            wk["week"],
            wk["y"],
            wk["n"],
            t0,
            covariates=wk["z"],
            exposure=exposure,
            within_week_var=wk["within_var"],
            model=model,
            se=se,
            adjusted_for=wk["z_run_means"],
            adjustment_cov=wk["run_level_cov"],
        )
        ch = {
            "proxy": p,
            "label": spec.label,
            "role": "primary" if p == primary else "secondary",
            "estimate": fit.estimate_pct,
            "ci90_low": fit.ci_low_pct,
            "ci90_high": fit.ci_high_pct,
            "units": "%",
            "n_runs": fit.n_runs,
            "n_weeks": fit.n_weeks,
            "n_baseline_weeks": fit.n_baseline_weeks,
            "n_block_weeks": fit.n_block_weeks,
            "weeks_since_start": fit.weeks_since_start,
            "last_week": (week0 + _dt.timedelta(weeks=fit.last_week)).isoformat()
            if fit.last_week is not None
            else None,
            "covariates": [*wk["run_level"]["coef"], *fit.covariates],
            "covariates_run_level": wk["run_level"],
            "covariates_week_level": fit.covariates,
            "covariates_dropped": {**wk["run_level"]["dropped"], **fit.covariates_dropped},
            "df": fit.df,
            "rho": fit.rho,
            "sd_week_pct": fit.sd_week_pct,
            "sd_run_pct": fit.sd_run_pct,
            "coef": fit.coef,
            "higher_is_better": spec.higher_is_better,
            "method": fit.method,
            "model": model,
            "se_method": se,
            "typical_error": out["typical_error"][p]["typical_error"],
            "swc": swc,
            "reason": fit.reason,
        }
        if fit.estimate_pct is None:
            ch["wording"] = f"not estimable for {spec.label}: {fit.reason}"
        else:
            ch["wording"] = describe_change(
                fit.estimate_pct,
                fit.ci_low_pct,
                fit.ci_high_pct,
                higher_is_better=spec.higher_is_better,
                swc=swc,
                label=f"{spec.label}, net of the pre-strength trend",
                n_runs=fit.n_runs,
                n_weeks=fit.n_weeks,
            )
        out["changes"][p] = ch
        if p == primary:
            out["sensitivity"] = _sensitivity(fit, wk, t0, model, out["typical_error"][p]["typical_error"])
    out["disclosures"] = _disclosures(out, start, acwr_by_week, shoe_known, steps)
    pc = out["changes"].get(primary, {})
    for s in steps:
        why = (pc.get("covariates_dropped") or {}).get(s["label"], "")
        if why.startswith("collinear"):
            what = {"hr_sensor": "HR-sensor change", "shoe": "shoe change"}.get(s["kind"], f"{s['kind']} event")
            out["disclosures"].append(
                {
                    "risk": f"{what} at the strength start",
                    "applies": True,
                    "text": (
                        f"The {what} of {s['date']} ({s['source']}) falls where the strength block starts: the model "
                        "cannot separate its step from a change due to strength training, so part or all of the "
                        "estimate may be the " + ("shoes'" if s["kind"] == "shoe" else "sensor's") + "."
                    ),
                }
            )
    return out


def _sensitivity(fit: its.ItsFit, wk: dict[str, Any], t0: int, model: str, te: float | None) -> dict[str, Any]:
    base = wk["week"] < t0
    if fit.sd_week_pct is None or fit.se_log is None or base.sum() < 2:
        return {"weeks": None, "text": "no sensitivity figure: the model could not be fitted"}
    rho = min(fit.rho or 0.0, 0.97)
    rpw = float(np.mean(wk["n"])) if wk["n"].size else 0.0
    now = its.design_se(
        wk["week"], wk["n"], t0, sd_week_pct=fit.sd_week_pct, rho=rho, sd_run_pct=fit.sd_run_pct, model=model
    )
    inflation = max(1.0, fit.se_log / now) if now else 1.0
    weeks = its.weeks_to_detect(
        SENSITIVITY_CHANGE_PCT,
        baseline_weeks=wk["week"][base],
        baseline_runs=wk["n"][base],
        runs_per_week=rpw,
        sd_week_pct=fit.sd_week_pct,
        rho=rho,
        sd_run_pct=fit.sd_run_pct,
        model=model,
        inflation=inflation,
    )
    te_txt = f"typical error of {te:.1f} % between weeks" if te is not None else "week-to-week variation"
    head = (
        f"With this athlete's {te_txt} ({int(base.sum())} baseline weeks, {rpw:.1f} runs a week), a "
        f"{SENSITIVITY_CHANGE_PCT:g} % change in the primary proxy"
    )
    if weeks is None:
        text = (
            head + " would not be detected within two years of strength training net of the pre-strength trend "
            "(90 % interval excluding 0 in 4 of 5 cases): a longer or steadier baseline, or more runs a week, "
            "would be needed."
        )
    else:
        text = (
            head + f" would be detected (90 % interval excluding 0 in 4 of 5 cases) from about {weeks} "
            f"week{'s' if weeks != 1 else ''} of strength training on."
        )
    return {
        "weeks": weeks,
        "runs_per_week": rpw,
        "baseline_weeks": int(base.sum()),
        "inflation": inflation,
        "text": text,
    }


def _disclosures(
    out: dict[str, Any],
    start: StrengthStart,
    acwr: Sequence[float] | None,
    shoe_known: bool,
    steps: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    items = []
    t0 = start.week or 0
    high = []
    if acwr is not None:
        a = np.asarray(acwr, dtype=float)
        high = [i for i in range(t0, a.size) if math.isfinite(a[i]) and a[i] > OVERREACHING_ACWR]
    items.append(
        {
            "risk": "overreaching",
            "applies": bool(high),
            "text": (
                "A few weeks of overreaching (much more running load than usual) can lower heart rate at a "
                "given speed by a few beats per minute (Le Meur et al. 2013, Med Sci Sports Exerc 45:2061), "
                "which the HR-based proxies read as better economy. The model adjusts for running form (TSB) "
                "but cannot separate such a period from an effect of strength training."
                + (
                    f" Running load rose above {OVERREACHING_ACWR:g} x the chronic load in "
                    f"{len(high)} week(s) since strength training started."
                    if high
                    else " No week since the strength start had an acute:chronic running-load ratio above "
                    f"{OVERREACHING_ACWR:g}."
                )
            ),
        }
    )
    shoe_steps = [s for s in steps if s["kind"] == "shoe"]
    items.append(
        {
            "risk": "unlogged shoe change",
            "applies": not shoe_known,
            "text": (
                "New shoes change the energy cost of running by a few percent (up to ~4 % in Hoogkamer et al. "
                "2018, Sports Med 48:1009) and so every proxy; a change at the time strength training started "
                "looks exactly like an effect of it. "
                + (
                    "Shoe changes are logged for this athlete and enter the model as steps"
                    + (f" ({len(shoe_steps)} here)." if shoe_steps else " (none in these weeks).")
                    if shoe_known
                    else "No shoes are logged for this athlete: log shoe changes (`event add --kind shoe`) so the "
                    "model can adjust for them."
                )
            ),
        }
    )
    return items
