"""Everything the report shows about one athlete's running economy and training, computed here.

:func:`summarise_athlete` is the one pure function the report calls: it takes
per-run proxies (:func:`analysis.economy.run_economy`), running loads, strength
sets and the athlete profile and returns an :class:`AthleteSummary` whose
``to_dict()`` is JSON-ready (no NaN: absent is ``None``). The report draws
and prints these numbers and computes nothing itself.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.economy import RunEconomy, hr_at_speed, zone_info
from analysis.nof1 import (
    LITERATURE_CAVEAT,
    LITERATURE_CONTEXT,
    PROXIES,
    lagged_regression,
    step_change,
    strength_blocks,
    typical_error,
    weekly_series,
)
from analysis.training_load import (
    _parse_time_ns,
    daily_load,
    fitness_fatigue,
    strength_sets_from_dicts,
    weekly_strength,
)
from records.times import iso_z_ns as _iso_utc

__all__ = ["AthleteSummary", "rfd_session_medians", "summarise_athlete"]

PROXY_CAVEAT = (
    "All economy values are proxies from HR, speed and power, not running economy (oxygen cost). "
    "HR is not proportional to oxygen uptake, so a % change in an HR-based proxy is not a % change in "
    "running economy. Changes are associations in one athlete (n-of-1), never proof of cause."
)


@dataclass
class AthleteSummary:
    """All numbers behind the report's economy / training-load section for one athlete.

    Attributes (``to_dict()`` keys)
    -------------------------------
    tz : str
        Athlete's IANA zone; every date below is local, weeks start on Monday.
    profile : dict
        ``body_mass_kg, sex, hr_rest_bpm, hr_max_bpm`` as used (None if absent).
    reference_speed_mps : float or None
        Speed at which "HR at reference speed" is read (given, or the median
        steady grade-adjusted speed of the ok runs rounded to 0.05 m/s).
    n_runs_total, n_runs_ok, n_runs_excluded, n_weeks : int
    proxies : dict
        name -> {label, unit, higher_is_better} for each proxy (all are proxies).
    weeks : list of dict
        One row per local week, oldest first: ``week_start``; economy
        (``n_runs``, ``n_excluded``, each proxy's weekly mean and ``<proxy>_n``,
        ``mean_temperature_c``, ``mean_heat_excess_c``, ``mean_local_hour``);
        load (``trimp``: weekly sum of daily TRIMP, ``ctl``, ``atl``, ``tsb``
        at the week's last day); strength (``sessions``, ``target_sessions``,
        ``adherence``, ``sets``, ``volume_load_kg``, ``zone_sets``,
        ``sets_without_e5rm``, bilateral/unilateral sets and volume,
        ``cumulative_sessions``, ``exercises``; the per-session prescription check:
        ``sessions_meeting_prescription`` (sessions with 3-5 zone sets of one exercise),
        ``sessions_zone_undecidable``, ``prescription_met`` (meeting sessions >= target),
        ``bilateral_trained``, ``unilateral_trained``, ``session_details``, see
        :class:`analysis.training_load.WeeklyStrength`); ``period``: ``"baseline"``,
        ``"block"`` (the latest strength block), or ``None``.
    daily : list of dict
        ``date, trimp, ctl, atl, tsb`` per local day (CTL/ATL: 42/7-day EWMA,
        k = 1/tau, see :func:`analysis.training_load.fitness_fatigue`).
    strength_blocks : list of dict
        ``first_week, last_week, weeks`` of each block (session-free gaps of up to 4 weeks stay inside a block).
    baseline : dict
        ``first_week, last_week, n_weeks`` (weeks before the first strength session) or None.
    latest_block : dict or None
    typical_error : dict
        proxy -> :class:`analysis.nof1.TypicalError` dict (baseline weeks).
    changes : dict
        proxy -> :class:`analysis.nof1.ChangeEstimate` dict: latest block vs
        baseline, adjusted for weekly heat excess, 90 % interval, n, wording.
    regressions : dict
        proxy -> :class:`analysis.nof1.RegressionResult` dict: weekly proxy on
        strength sessions/week at lags, adjusted for CTL and heat excess,
        moving-block-bootstrap 90 % intervals, n, wording.
    literature : list of dict
        :data:`analysis.nof1.LITERATURE_CONTEXT` (laboratory oxygen cost, shown beside, not on, the proxy scale).
    literature_caveat, proxy_caveat : str
    runs : list of dict
        Per ok run: ``activity_id, local_date, local_hour, ef_proxy,
        hr_at_reference_speed_bpm, speed_per_w_per_kg, decoupling_pct,
        decoupled, steady_minutes, mean_temperature_c, trimp`` (scatter charts).
    excluded_runs : list of dict
        ``activity_id, started_at (ISO UTC), local_date, reason`` for every run not used.
    neuromuscular : Any
        The load-velocity module's trends (MCV at reference load, RFD...), passed through unchanged.
    notes : list of str
    """

    tz: str
    profile: dict
    reference_speed_mps: float | None
    n_runs_total: int
    n_runs_ok: int
    n_runs_excluded: int
    n_weeks: int
    proxies: dict
    weeks: list[dict]
    daily: list[dict]
    strength_blocks: list[dict]
    baseline: dict | None
    latest_block: dict | None
    typical_error: dict
    changes: dict
    regressions: dict
    literature: list[dict]
    literature_caveat: str
    proxy_caveat: str
    runs: list[dict]
    excluded_runs: list[dict]
    neuromuscular: Any = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict: numpy scalars to Python, NaN/inf to None."""
        return _clean(dataclasses.asdict(self))


def _clean(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_clean(v) for v in x.tolist()]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (_dt.date, _dt.datetime)):
        return x.isoformat()
    return x


def _with_reference(r: RunEconomy, ref: float) -> RunEconomy:
    out = copy.copy(r)  # the caller's objects stay untouched
    out.notes = list(r.notes)
    out.hr_at_reference_speed_bpm = hr_at_speed(r, ref)
    out.reference_speed_mps = ref
    return out


def _profile_get(profile: Any, key: str) -> Any:
    if profile is None:
        return None
    if isinstance(profile, Mapping):
        return profile.get(key)
    return getattr(profile, key, None)


def summarise_athlete(
    runs_economy: Sequence[RunEconomy],
    run_loads: Sequence[Mapping[str, Any]] | None = None,
    strength_sets: Sequence[Any] = (),
    profile: Mapping[str, Any] | Any = None,
    tz: str = "UTC",
    *,
    e5rm_kg: Mapping[str, float] | None = None,
    reference_speed_mps: float | None = None,
    neuromuscular_trends: Any = None,
    as_of: _dt.date | None = None,
    lags: Sequence[int] = (0, 1, 2),
    n_boot: int = 2000,
    seed: int = 0,
    include_regressions: bool = True,
) -> AthleteSummary:
    """Summarise one athlete: weekly proxies, load, strength adherence, the n-of-1 link.

    Parameters
    ----------
    runs_economy : sequence of RunEconomy
        One per running activity (ok and insufficient alike; insufficient runs
        and runs the user excluded are listed with reasons, never dropped
        silently: set ``status``/``reason`` on excluded ones before calling).
    run_loads : sequence of mapping, optional
        Session loads ``{"started_at_ns" | "started_at": ..., "trimp": float}``
        for every session that counts toward running load (may include
        sessions without economy values). Default: the ``trimp`` of each run
        in ``runs_economy``.
    strength_sets : sequence
        :class:`analysis.training_load.StrengthSet` or CLI ``sets`` rows.
    profile : mapping or object, optional
        ``body_mass_kg, sex, hr_rest_bpm, hr_max_bpm`` (informational here; TRIMP is computed per run).
    tz : str
        Athlete's IANA zone.
    e5rm_kg : mapping, optional
        Exercise -> estimated 5RM (kg), for the prescription-zone count.
    reference_speed_mps : float, optional
        For HR at reference speed (default: median steady GAP of ok runs, to 0.05 m/s).
    neuromuscular_trends : any, optional
        JSON-ready output of the load-velocity module, passed through.
    as_of : datetime.date, optional
        Extend the weekly/daily range to this local date (e.g. today).
    lags : sequence of int
        Exposure lags (weeks) of the lagged regression.
    n_boot, seed : int
        Moving-block-bootstrap replicates and seed (deterministic).
    include_regressions : bool
        False skips the lagged regressions (``regressions`` is then empty),
        for simulation studies that need only the change estimates.

    Returns
    -------
    AthleteSummary
    """
    zone_info(tz)
    runs = list(runs_economy)
    for r in runs:
        if not isinstance(r, RunEconomy):
            raise ValueError("runs_economy must contain RunEconomy objects")
    sets = strength_sets_from_dicts(strength_sets)
    notes: list[str] = []
    ok_runs = [r for r in runs if r.status == "ok"]
    if not runs:
        notes.append("no runs")
    elif not ok_runs:
        notes.append("no run had enough steady running with HR: no economy proxies (see excluded_runs)")

    # reference speed and HR at it (re-evaluated from each run's regression so all runs share it)
    ref = reference_speed_mps
    if ref is None:
        gaps = [r.mean_steady_gap_mps for r in ok_runs if r.mean_steady_gap_mps is not None]
        if gaps:
            ref = round(float(np.median(gaps)) / 0.05) * 0.05
            notes.append(f"reference speed = median steady grade-adjusted speed, {ref:.2f} m/s")
    elif not (math.isfinite(ref) and ref > 0):
        raise ValueError("reference_speed_mps must be a positive number")
    if ref is not None:
        runs = [_with_reference(r, ref) if r.status == "ok" else r for r in runs]
        ok_runs = [r for r in runs if r.status == "ok"]

    # loads
    if run_loads is None:
        load_t = [r.started_at_ns for r in runs if r.trimp is not None and r.started_at_ns is not None]
        load_x = [r.trimp for r in runs if r.trimp is not None and r.started_at_ns is not None]
    else:
        load_t, load_x = [], []
        for row in run_loads:
            t = row.get("started_at_ns", row.get("started_at"))
            if t is None:
                raise ValueError("each run load needs started_at_ns or started_at")
            load_t.append(_parse_time_ns(t))
            load_x.append(row.get("trimp"))

    # common range of local dates
    from analysis.training_load import local_date

    instants = [*load_t, *(s.started_at_ns for s in sets)]
    dates = [local_date(min(instants), tz), local_date(max(instants), tz)] if instants else []
    dates += [_dt.date.fromisoformat(r.local_date) if r.local_date else local_date(r.started_at_ns, tz)
              for r in runs if r.local_date or r.started_at_ns is not None]
    if as_of is not None:
        dates.append(as_of)
    if not dates:
        first = last = None
    else:
        first, last = min(dates), max(dates)

    ws = weekly_series([r for r in runs if r.local_date or r.started_at_ns is not None], tz,
                       first_week=first, last_week=last)
    n_w = len(ws)
    st = weekly_strength(sets, tz, e5rm_kg=e5rm_kg, first_week=first, last_week=last) if first else []
    if n_w and not st:
        st = []
    sessions = np.array([w.sessions for w in st], dtype=float) if st else np.zeros(n_w)

    # daily load -> CTL/ATL/TSB, weekly TRIMP and week-end CTL
    daily_rows: list[dict] = []
    wk_trimp = np.full(n_w, np.nan)
    wk_ctl = np.full(n_w, np.nan)
    wk_atl = np.full(n_w, np.nan)
    wk_tsb = np.full(n_w, np.nan)
    if first is not None and n_w:
        w0 = _dt.date.fromisoformat(ws.week_start[0])
        days, dl = daily_load(load_t, load_x, tz, first_day=w0, last_day=w0 + _dt.timedelta(days=7 * n_w - 1))
        ctl, atl, tsb = fitness_fatigue(dl)
        daily_rows = [
            {"date": d.isoformat(), "trimp": float(x), "ctl": float(c), "atl": float(a), "tsb": float(b)}
            for d, x, c, a, b in zip(days, dl, ctl, atl, tsb, strict=True)
        ]
        idx = np.array([(d - w0).days // 7 for d in days])
        wk_trimp = np.bincount(idx, weights=dl, minlength=n_w)[:n_w]
        last_day = np.array([np.flatnonzero(idx == i).max() for i in range(n_w)])
        wk_ctl, wk_atl, wk_tsb = ctl[last_day], atl[last_day], tsb[last_day]
        if not load_t:
            notes.append("no TRIMP available (no HR profile or no HR): running load is zero, CTL not informative")

    # periods
    blocks = strength_blocks(sessions)
    period: list[str | None] = [None] * n_w
    baseline_mask = np.zeros(n_w, bool)
    block_mask = np.zeros(n_w, bool)
    baseline = latest = None
    if blocks:
        baseline_mask[: blocks[0][0]] = True
        lb = blocks[-1]
        block_mask[lb[0] : lb[1] + 1] = True
        if blocks[0][0] > 0:
            baseline = {"first_week": ws.week_start[0], "last_week": ws.week_start[blocks[0][0] - 1],
                        "n_weeks": int(blocks[0][0])}
        else:
            notes.append("strength training started in the first week of data: no pre-strength baseline")
        latest = {"first_week": ws.week_start[lb[0]], "last_week": ws.week_start[lb[1]], "n_weeks": lb[1] - lb[0] + 1}
    elif n_w:
        notes.append("no strength sessions: no block to compare with a baseline")
    for i in range(n_w):
        period[i] = "baseline" if baseline_mask[i] else ("block" if block_mask[i] else None)

    # per-proxy statistics
    te, changes, regs = {}, {}, {}
    for name, spec in PROXIES.items():
        y = ws.values[name]
        te[name] = typical_error(np.where(baseline_mask, y, np.nan), log_scale=spec.log_scale).to_dict()
        ce = step_change(
            y, baseline_mask, block_mask, n_runs=ws.counts[name],
            covariates={"heat excess over 20 C": ws.mean_heat_excess_c}, proxy=name,
        )
        changes[name] = ce.to_dict()
        if not include_regressions:
            continue
        rr = lagged_regression(
            y, sessions, lags=lags, n_runs=ws.counts[name], proxy=name,
            covariates={"CTL (week end)": wk_ctl, "heat excess over 20 C": ws.mean_heat_excess_c},
            n_boot=n_boot, seed=seed,
        )
        regs[name] = rr.to_dict()

    # merged weekly rows
    rows = ws.to_rows()
    for i, row in enumerate(rows):
        row.update({"trimp": wk_trimp[i], "ctl": wk_ctl[i], "atl": wk_atl[i], "tsb": wk_tsb[i], "period": period[i]})
        if st:
            sd = st[i].to_dict()
            sd.pop("week_start")
            row.update(sd)
        else:
            row.update({"sessions": 0, "cumulative_sessions": 0, "volume_load_kg": 0.0, "zone_sets": 0,
                        "sessions_meeting_prescription": 0, "sessions_zone_undecidable": 0,
                        "prescription_met": False, "bilateral_trained": False, "unilateral_trained": False,
                        "session_details": []})

    run_rows = [
        {
            "activity_id": r.activity_id, "local_date": r.local_date, "local_hour": r.local_hour,
            "ef_proxy": r.ef_proxy, "hr_at_reference_speed_bpm": r.hr_at_reference_speed_bpm,
            "speed_per_w_per_kg": r.speed_per_w_per_kg, "decoupling_pct": r.decoupling_pct,
            "decoupled": r.decoupled, "steady_minutes": r.steady_minutes,
            "mean_temperature_c": r.mean_temperature_c, "trimp": r.trimp,
        }
        for r in sorted(ok_runs, key=lambda r: r.started_at_ns or 0)
    ]
    excluded = [
        {"activity_id": r.activity_id, "started_at": _iso_utc(r.started_at_ns), "local_date": r.local_date,
         "reason": r.reason or "excluded"}
        for r in sorted(runs, key=lambda r: r.started_at_ns or 0) if r.status != "ok"
    ]
    prof = {k: _profile_get(profile, k) for k in ("body_mass_kg", "sex", "hr_rest_bpm", "hr_max_bpm")}
    return AthleteSummary(
        tz=tz,
        profile=prof,
        reference_speed_mps=ref,
        n_runs_total=len(runs),
        n_runs_ok=len(ok_runs),
        n_runs_excluded=len(runs) - len(ok_runs),
        n_weeks=n_w,
        proxies={k: {"label": v.label, "unit": v.unit, "higher_is_better": v.higher_is_better} for k, v in PROXIES.items()},
        weeks=rows,
        daily=daily_rows,
        strength_blocks=[{"first_week": ws.week_start[a], "last_week": ws.week_start[b], "weeks": b - a + 1}
                         for a, b in blocks],
        baseline=baseline,
        latest_block=latest,
        typical_error=te,
        changes=changes,
        regressions=regs,
        literature=[dict(x) for x in LITERATURE_CONTEXT],
        literature_caveat=LITERATURE_CAVEAT,
        proxy_caveat=PROXY_CAVEAT,
        runs=run_rows,
        excluded_runs=excluded,
        neuromuscular=neuromuscular_trends,
        notes=notes,
    )


def _rep_time_ns(rep: Mapping[str, Any]) -> int | None:
    t = rep.get("started_at_ns", rep.get("started_at") or rep.get("session_started_at"))
    return None if t is None else _parse_time_ns(t)


def rfd_session_medians(reps: Sequence[Mapping[str, Any]], tz: str = "UTC") -> list[dict]:
    """Per-session medians of the bar sensor's RFD, one row per (exercise, session, load).

    RFD depends on the load, so reps are grouped by exercise, sensor session and load; each
    group gives the median of ``peak_rfd_n_per_s`` and of ``rfd_0_100ms_n_per_s`` over its
    reps with a value (None if none), the number of reps behind each median, and how many reps
    had an RFD 0-100 ms <= 0 (common in eccentric-first lifts, where force is already high at
    the turnaround that the contract takes as RFD onset). ``eccentric_first`` comes from
    :func:`analysis.exercises.exercise_info`.

    Parameters
    ----------
    reps : sequence of mapping
        ``rep`` rows: ``exercise, session_id, load_kg, started_at`` (or ``session_started_at``
        / ``started_at_ns``), ``peak_rfd_n_per_s``, ``rfd_0_100ms_n_per_s``.
    tz : str
        Athlete's IANA zone (``date`` is the local date of the session's first rep).

    Returns
    -------
    list of dict
        ``exercise, session_id, load_kg, date, started_at_ns, n_reps, peak_rfd_median_n_per_s,
        n_peak_rfd, rfd_0_100ms_median_n_per_s, n_rfd_0_100ms, n_rfd_0_100ms_nonpositive,
        eccentric_first``; oldest first.
    """
    from analysis.exercises import exercise_info
    from analysis.training_load import local_date

    zone_info(tz)
    groups: dict[tuple[str, str, float | None], list[Mapping[str, Any]]] = {}
    for r in reps:
        ex = r.get("exercise")
        if not ex or r.get("session_id") is None:
            continue
        load = r.get("load_kg")
        groups.setdefault((str(ex), str(r["session_id"]), None if load is None else float(load)), []).append(r)
    out: list[dict] = []
    for (ex, sid, load), rr in groups.items():
        times = [t for t in (_rep_time_ns(r) for r in rr) if t is not None]
        peak = np.array([r["peak_rfd_n_per_s"] for r in rr if _finite(r.get("peak_rfd_n_per_s"))], dtype=float)
        early = np.array([r["rfd_0_100ms_n_per_s"] for r in rr if _finite(r.get("rfd_0_100ms_n_per_s"))],
                         dtype=float)
        if not peak.size and not early.size:
            continue
        t0 = min(times) if times else None
        out.append({
            "exercise": ex, "session_id": sid, "load_kg": load,
            "date": local_date(t0, tz).isoformat() if t0 is not None else None, "started_at_ns": t0,
            "n_reps": len(rr),
            "peak_rfd_median_n_per_s": float(np.median(peak)) if peak.size else None, "n_peak_rfd": int(peak.size),
            "rfd_0_100ms_median_n_per_s": float(np.median(early)) if early.size else None,
            "n_rfd_0_100ms": int(early.size), "n_rfd_0_100ms_nonpositive": int(np.sum(early <= 0)),
            "eccentric_first": exercise_info(ex).eccentric_first,
        })
    out.sort(key=lambda d: (d["started_at_ns"] is None, d["started_at_ns"] or 0, d["exercise"], d["load_kg"] or 0))
    return out


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v))
