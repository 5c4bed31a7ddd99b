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

from analysis import its
from analysis.economy import RunEconomy, hr_at_speed, zone_info
from analysis.economy_change import StrengthStart, analyse_economy_change, locate_strength_start, run_rows
from analysis.nof1 import (
    LITERATURE_CAVEAT,
    LITERATURE_CONTEXT,
    PROXIES,
    strength_blocks,
    weekly_series,
)
from analysis.training_load import (
    _parse_time_ns,
    daily_load,
    fitness_fatigue,
    heavy_lower_body_sessions,
    load_seed,
    local_date,
    strength_sets_from_dicts,
    week_start,
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
        ``mean_temperature_c``, ``mean_local_hour``); load (``trimp``: weekly sum of daily
        running TRIMP, ``ctl``, ``atl``, ``tsb`` at the week's last day, seeded);
        ``heavy_lower_body_sessions``; strength (``sessions``, ``target_sessions``,
        ``adherence``, ``sets``, ``volume_load_kg``, ``zone_sets``,
        ``sets_without_e5rm``, bilateral/unilateral sets and volume,
        ``cumulative_sessions``, ``exercises``; the per-session prescription check:
        ``sessions_meeting_prescription`` (sessions with 3-5 zone sets of one exercise),
        ``sessions_zone_undecidable``, ``prescription_met`` (meeting sessions >= target),
        ``bilateral_trained``, ``unilateral_trained``, ``session_details``, see
        :class:`analysis.training_load.WeeklyStrength`); ``period``: ``"baseline"``,
        ``"block"`` (the latest strength block), or ``None``.
    daily : list of dict
        ``date, trimp, ctl, atl, tsb`` per local day (CTL/ATL: 42/7-day EWMA of running TRIMP,
        k = 1/tau, both started from the mean daily load of the first 6 weeks,
        :func:`analysis.training_load.load_seed`); with strength loads also ``strength_load_au``
        (session RPE x duration, Foster 2001, summed per local day) and the documented option
        ``combined_ctl, combined_atl, combined_tsb``: the same EWMAs of TRIMP + strength load, two
        different arbitrary units added (a choice, not an equivalence). Weekly rows carry
        ``strength_load_au`` (weekly sum) and the combined values at the week's last day.
    strength_load : dict
        ``method``, ``units``, ``sessions`` (one :class:`analysis.strength_load.SessionLoad` dict per
        training session, each counted once), counts of substitute and default RPEs, and the
        ``combined_option`` note. The economy model's load covariates never include it.
    strength_blocks : list of dict
        ``first_week, last_week, weeks`` of each block of weeks with strength sessions (session-free
        gaps of up to 4 weeks stay inside a block; display only).
    baseline : dict
        ``first_week, last_week, n_weeks`` of the economy model's pre-strength baseline, or None.
    latest_block : dict or None
        ``first_week, last_week, n_weeks, start_source`` of the strength block of the model (from the
        strength start, :func:`analysis.economy_change.locate_strength_start`, to the last week).
    typical_error : dict
        proxy -> typical error of the baseline weekly means (%), with ``swc``, ``swc_source`` and
        ``baseline_mean``.
    changes : dict
        proxy -> the change in the last observed week net of the pre-strength trend
        (:func:`analysis.economy_change.analyse_economy_change`): estimate, 90 % interval, n, role
        (primary / secondary), covariates, method, wording.
    economy_change : dict
        The rest of that analysis: ``method_version``, ``model``, ``se_method``, ``estimand``,
        ``strength_start``, ``primary``, ``swc_pct`` / ``swc_source``, ``sensitivity``,
        ``disclosures``, ``multiplicity``, ``excluded_from_proxies``, ``events``.
    literature : list of dict
        :data:`analysis.nof1.LITERATURE_CONTEXT` (laboratory oxygen cost, shown beside, not on, the proxy scale).
    literature_caveat, proxy_caveat : str
    runs : list of dict
        Per ok run: ``activity_id, local_date, local_hour, ef_proxy,
        hr_at_reference_speed_bpm, speed_per_w_per_kg, decoupling_pct,
        decoupled, steady_minutes, mean_temperature_c, trimp, air_temperature_c, hr_sensor,
        excluded_from`` (the HR-based proxies a decoupled run does not enter).
    excluded_runs : list of dict
        ``activity_id, started_at (ISO UTC), local_date, reason`` for every run not used.
    neuromuscular : Any
        The load-velocity module's trends (MCV at reference load, RFD...), passed through unchanged.
    notes : list of str
    """

    tz: str
    profile: dict[str, Any]
    reference_speed_mps: float | None
    n_runs_total: int
    n_runs_ok: int
    n_runs_excluded: int
    n_weeks: int
    proxies: dict[str, dict[str, Any]]
    weeks: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    strength_blocks: list[dict[str, Any]]
    baseline: dict[str, Any] | None
    latest_block: dict[str, Any] | None
    typical_error: dict[str, Any]
    changes: dict[str, Any]
    economy_change: dict[str, Any]
    literature: list[dict[str, Any]]
    literature_caveat: str
    proxy_caveat: str
    runs: list[dict[str, Any]]
    excluded_runs: list[dict[str, Any]]
    neuromuscular: Any = None
    notes: list[str] = field(default_factory=list)
    strength_load: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: numpy scalars to Python, NaN/inf to None."""
        cleaned: dict[str, Any] = _clean(dataclasses.asdict(self))
        return cleaned


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


def _date_or_none(v: Any) -> _dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    return _dt.date.fromisoformat(str(v)[:10])


def _run_date(r: RunEconomy, tz: str) -> _dt.date | None:
    """The run's local date: its ``local_date``, else the local date of its start, else None."""
    if r.local_date:
        return _dt.date.fromisoformat(r.local_date)
    if r.started_at_ns is not None:
        return local_date(r.started_at_ns, tz)
    return None


def _model_weeks(start: StrengthStart | None) -> tuple[int, int] | None:
    """``(baseline_first_week, week)`` of a located strength start, None without one."""
    if start is None or start.week is None:
        return None
    if start.baseline_first_week is None:
        raise ValueError(f"strength start in week {start.week} has no baseline first week")
    return start.baseline_first_week, start.week


def _without_proxies(r: RunEconomy, proxies: Sequence[str]) -> RunEconomy:
    """A copy of the run with these proxies absent (None); the caller's object stays untouched."""
    out = copy.copy(r)
    for p in proxies:
        setattr(out, p, None)
    return out


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
    run_context: Mapping[str, Mapping[str, Any]] | None = None,
    events: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
    model: str = its.DEFAULT_MODEL,
    se: str = its.DEFAULT_SE,
    strength_loads: Sequence[Any] | None = None,
) -> AthleteSummary:
    """Summarise one athlete: weekly proxies, load, strength adherence, the economy-change model.

    Parameters
    ----------
    runs_economy : sequence of RunEconomy
        One per running activity (ok and insufficient alike; insufficient runs
        and runs the user excluded are listed with reasons, never dropped
        silently: set ``status``/``reason`` on excluded ones before calling).
    run_loads : sequence of mapping, optional
        Running-session loads ``{"started_at_ns" | "started_at": ..., "trimp": float}`` for
        every *running* session (may include runs without economy values; never strength
        sessions: the load covariates must not contain the treatment). Default: the ``trimp``
        of each run in ``runs_economy``.
    strength_sets : sequence
        :class:`analysis.training_load.StrengthSet` or CLI ``sets`` rows.
    profile : mapping or object, optional
        ``body_mass_kg, sex, hr_rest_bpm, hr_max_bpm`` (informational here; TRIMP is computed per run).
    tz : str
        Athlete's IANA zone.
    e5rm_kg : mapping, optional
        Exercise -> estimated 5RM (kg), for the prescription zone and the heavy lower-body sessions.
    reference_speed_mps : float, optional
        For HR at reference speed (default: median steady GAP of the baseline's ok runs, else of
        all ok runs, to 0.05 m/s).
    neuromuscular_trends : any, optional
        JSON-ready output of the load-velocity module, passed through.
    as_of : datetime.date, optional
        Extend the weekly/daily range to this local date (e.g. today).
    run_context : mapping, optional
        activity_id -> ``{"air_temperature_c", "hr_sensor", "shoe"}``: what the records do not
        hold (air temperature logged by the user, the HR sensor named by the FIT ``device_info``,
        the logged shoe).
    events : sequence of mapping, optional
        Logged events ``{"kind": "shoe" | "hr_sensor" | ..., "at" (ISO UTC), "at_ns" or "date"
        (local ``YYYY-MM-DD``: from that day's start), "note"}``, modelled as steps.
    settings : mapping, optional
        Per-athlete overrides: ``strength_start`` (date), ``primary_proxy``, ``swc_pct`` and
        ``swc_source``.
    model, se : str
        Mean model and standard errors of :func:`analysis.its.fit_change` (default: the validated ones).
    strength_loads : sequence, optional
        Session-RPE loads of the reconciled strength sessions
        (:class:`analysis.strength_load.SessionLoad`, or mappings with ``training_session_id``,
        ``started_at_ns`` and ``load_au``), one per training session (a session given twice is
        refused: it would count twice). Shown as their own daily and weekly series and in the
        combined ATL/TSB option; never in the economy model's covariates (the treatment must not
        leak into them).

    Returns
    -------
    AthleteSummary
    """
    zone_info(tz)
    settings = dict(settings or {})
    runs = list(runs_economy)
    for r in runs:
        if not isinstance(r, RunEconomy):
            raise ValueError("runs_economy must contain RunEconomy objects")
    sets = strength_sets_from_dicts(strength_sets)
    s_loads = _strength_loads(strength_loads or ())
    notes: list[str] = []
    ok_runs = [r for r in runs if r.status == "ok"]
    if not runs:
        notes.append("no runs")
    elif not ok_runs:
        notes.append("no run had enough steady running with HR: no economy proxies (see excluded_runs)")

    # loads (running only)
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
            trimp = row.get("trimp")
            load_x.append(math.nan if trimp is None else trimp)  # daily_load counts None and NaN alike, as 0

    # common range of local dates
    instants = [*load_t, *(s.started_at_ns for s in sets), *(x["started_at_ns"] for x in s_loads)]
    dates = [local_date(min(instants), tz), local_date(max(instants), tz)] if instants else []
    dates += [d for d in (_run_date(r, tz) for r in runs) if d is not None]
    if as_of is not None:
        dates.append(as_of)
    first: _dt.date | None = None
    last: _dt.date | None = None
    w0: _dt.date | None = None
    n_w = 0
    if dates:
        first, last = min(dates), max(dates)
        w0 = week_start(first)
        n_w = (week_start(last) - w0).days // 7 + 1
    dated = [r for r in runs if r.local_date or r.started_at_ns is not None]

    # daily load -> seeded CTL/ATL/TSB
    daily_rows: list[dict[str, Any]] = []
    wk_trimp = wk_ctl = wk_atl = wk_tsb = np.full(n_w, np.nan)
    wk_strength = wk_cctl = wk_catl = wk_ctsb = np.full(n_w, np.nan)
    ctl = atl = np.zeros(0)
    if w0 is not None:
        days, dl = daily_load(load_t, load_x, tz, first_day=w0, last_day=w0 + _dt.timedelta(days=7 * n_w - 1))
        seed, seed_days = load_seed(dl)
        ctl, atl, tsb = fitness_fatigue(dl, ctl0=seed, atl0=seed)
        # strength session-RPE load beside TRIMP, and the documented combined option (TRIMP + strength)
        _, sl = daily_load(
            [x["started_at_ns"] for x in s_loads],
            [x["load_au"] for x in s_loads],
            tz,
            first_day=w0,
            last_day=w0 + _dt.timedelta(days=7 * n_w - 1),
        )
        cseed, _ = load_seed(dl + sl)
        cctl, catl, ctsb = fitness_fatigue(dl + sl, ctl0=cseed, atl0=cseed)
        daily_rows = [
            {
                "date": d.isoformat(),
                "trimp": float(x),
                "ctl": float(c),
                "atl": float(a),
                "tsb": float(b),
                **(
                    {
                        "strength_load_au": float(y),
                        "combined_ctl": float(cc),
                        "combined_atl": float(ca),
                        "combined_tsb": float(cb),
                    }
                    if s_loads
                    else {}
                ),
            }
            for d, x, c, a, b, y, cc, ca, cb in zip(days, dl, ctl, atl, tsb, sl, cctl, catl, ctsb, strict=True)
        ]
        idx = np.array([(d - w0).days // 7 for d in days])
        wk_trimp = np.bincount(idx, weights=dl, minlength=n_w)[:n_w]
        wk_strength = np.bincount(idx, weights=sl, minlength=n_w)[:n_w]
        last_day = np.array([np.flatnonzero(idx == i).max() for i in range(n_w)])
        wk_ctl, wk_atl, wk_tsb = ctl[last_day], atl[last_day], tsb[last_day]
        wk_cctl, wk_catl, wk_ctsb = cctl[last_day], catl[last_day], ctsb[last_day]
        if not load_t:
            notes.append("no TRIMP available (no HR profile or no HR): running load is zero, CTL not informative")
        else:
            notes.append(
                f"CTL and ATL start from the mean daily running load of the first {seed_days} days "
                f"({seed:.0f} TRIMP/day), not from 0"
            )

    # strength: weekly rollup, heavy lower-body sessions, the start of the economy model
    st = weekly_strength(sets, tz, e5rm_kg=e5rm_kg, first_week=first, last_week=last) if first else []
    sessions = np.array([w.sessions for w in st], dtype=float) if st else np.zeros(n_w)
    heavy = heavy_lower_body_sessions(sets, e5rm_kg=e5rm_kg)
    start = (
        locate_strength_start(
            heavy, tz=tz, week0=w0, n_weeks=n_w, override=_date_or_none(settings.get("strength_start"))
        )
        if w0 is not None
        else None
    )
    if start is not None and start.note:
        notes.append(f"strength start: {start.note}")

    # reference speed for HR, frozen from the baseline runs when there is a baseline
    ref = reference_speed_mps
    if ref is None:
        pool = ok_runs
        model_weeks = _model_weeks(start)
        if w0 is not None and model_weeks is not None:
            b_lo = w0 + _dt.timedelta(weeks=model_weeks[0])
            b_hi = w0 + _dt.timedelta(weeks=model_weeks[1])
            base_ok = [r for r in ok_runs if r.local_date and b_lo <= _dt.date.fromisoformat(r.local_date) < b_hi]
            pool = base_ok or ok_runs
        gaps = [r.mean_steady_gap_mps for r in pool if r.mean_steady_gap_mps is not None]
        if gaps:
            ref = round(float(np.median(gaps)) / 0.05) * 0.05
            notes.append(
                f"reference speed = median steady grade-adjusted speed of the "
                f"{'baseline' if pool is not ok_runs else 'usable'} runs, {ref:.2f} m/s"
            )
    elif not (math.isfinite(ref) and ref > 0):
        raise ValueError("reference_speed_mps must be a positive number")
    if ref is not None:
        runs = [_with_reference(r, ref) if r.status == "ok" else r for r in runs]
        dated = [r for r in runs if r.local_date or r.started_at_ns is not None]
        ok_runs = [r for r in runs if r.status == "ok"]

    # the economy-change model
    ctx = {k: dict(v) for k, v in (run_context or {}).items()}
    ev = []
    zi = zone_info(tz)
    for e in events:
        t = e.get("at_ns", e.get("at"))
        if t is None and e.get("date"):  # a local calendar date: the event counts from that day's start
            d = _date_or_none(e["date"])
            if d is not None:
                t = int(_dt.datetime.combine(d, _dt.time(0), tzinfo=zi).timestamp()) * 1_000_000_000
        if t is None:
            raise ValueError("each event needs at (ISO-8601 UTC), at_ns or date (local YYYY-MM-DD)")
        kind = str(e.get("kind") or "event")
        ev.append({**e, "kind": "hr_sensor" if kind in ("hr_strap", "hr_sensor") else kind, "at_ns": _parse_time_ns(t)})
    econ: dict[str, Any] = {}
    excluded_proxy: list[dict[str, Any]] = []
    if w0 is not None and start is not None:
        # load covariates from running *time*, not TRIMP: TRIMP is computed from HR, the outcome of the
        # HR-based proxies (a better economy lowers HR, so TRIMP, so a TRIMP-based CTL would absorb the effect)
        _, vmin = daily_load(
            [r.started_at_ns for r in dated if r.duration_s and r.started_at_ns is not None],
            [r.duration_s / 60.0 for r in dated if r.duration_s and r.started_at_ns is not None],
            tz,
            first_day=w0,
            last_day=w0 + _dt.timedelta(days=7 * n_w - 1),
        )
        vseed, _ = load_seed(vmin)
        vctl, vatl, _ = fitness_fatigue(vmin, ctl0=vseed, atl0=vseed)
        rows, excluded_proxy, steps = run_rows(
            ok_runs,
            tz=tz,
            week0=w0,
            days0=w0,
            ctl=vctl,
            atl=vatl,
            heavy_session_times_ns=start.heavy_session_times_ns,
            run_context=ctx,
            events=ev,
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            acwr = np.where(wk_ctl > 0, wk_atl / wk_ctl, np.nan)
        shoe_known = any(e.get("kind") == "shoe" for e in ev) or any(c.get("shoe") for c in ctx.values())
        econ = analyse_economy_change(
            rows,
            start,
            week0=w0,
            excluded=excluded_proxy,
            steps=steps,
            acwr_by_week=acwr.tolist(),
            swc_pct=settings.get("swc_pct"),
            swc_source=settings.get("swc_source"),
            primary_override=settings.get("primary_proxy"),
            model=model,
            se=se,
            shoe_known=shoe_known,
        )
    hidden = {(x["activity_id"], p) for x in excluded_proxy for p in x["proxies"]}
    shown = [
        _without_proxies(r, [p for p in PROXIES if (r.activity_id, p) in hidden])
        if any((r.activity_id, p) in hidden for p in PROXIES)
        else r
        for r in dated
    ]
    ws = weekly_series(shown, tz, first_week=first, last_week=last)

    # periods of the model
    period: list[str | None] = [None] * n_w
    baseline: dict[str, Any] | None = None
    latest: dict[str, Any] | None = None
    model_weeks = _model_weeks(start)
    if start is not None and model_weeks is not None:
        b0, t0 = model_weeks
        for i in range(n_w):
            period[i] = "baseline" if b0 <= i < t0 else ("block" if i >= t0 else None)
        if t0 > b0:
            baseline = {"first_week": ws.week_start[b0], "last_week": ws.week_start[t0 - 1], "n_weeks": t0 - b0}
        else:
            notes.append("strength training started in the first week of data: no pre-strength baseline")
        latest = {
            "first_week": ws.week_start[t0],
            "last_week": ws.week_start[n_w - 1],
            "n_weeks": n_w - t0,
            "start_source": start.source,
        }
    elif n_w:
        notes.append("no heavy lower-body strength session: no strength block to compare with a baseline")
    blocks = strength_blocks(sessions)

    # merged weekly rows
    rows_out = ws.to_rows()
    hpw = start.heavy_sessions_per_week if start is not None else [0] * n_w
    for i, row in enumerate(rows_out):
        row.update(
            {
                "trimp": wk_trimp[i],
                "ctl": wk_ctl[i],
                "atl": wk_atl[i],
                "tsb": wk_tsb[i],
                "period": period[i],
                "heavy_lower_body_sessions": int(hpw[i]) if i < len(hpw) else 0,
            }
        )
        if s_loads:
            row.update(
                {
                    "strength_load_au": wk_strength[i],
                    "combined_ctl": wk_cctl[i],
                    "combined_atl": wk_catl[i],
                    "combined_tsb": wk_ctsb[i],
                }
            )
        if st:
            sd = st[i].to_dict()
            sd.pop("week_start")
            row.update(sd)
        else:
            row.update(
                {
                    "sessions": 0,
                    "cumulative_sessions": 0,
                    "volume_load_kg": 0.0,
                    "zone_sets": 0,
                    "sessions_meeting_prescription": 0,
                    "sessions_zone_undecidable": 0,
                    "prescription_met": False,
                    "bilateral_trained": False,
                    "unilateral_trained": False,
                    "session_details": [],
                }
            )

    run_rows_out = [
        {
            "activity_id": r.activity_id,
            "local_date": r.local_date,
            "local_hour": r.local_hour,
            "ef_proxy": r.ef_proxy,
            "hr_at_reference_speed_bpm": r.hr_at_reference_speed_bpm,
            "speed_per_w_per_kg": r.speed_per_w_per_kg,
            "decoupling_pct": r.decoupling_pct,
            "decoupled": r.decoupled,
            "steady_minutes": r.steady_minutes,
            "mean_temperature_c": r.mean_temperature_c,
            "trimp": r.trimp,
            "air_temperature_c": ctx.get(r.activity_id, {}).get("air_temperature_c"),
            "hr_sensor": ctx.get(r.activity_id, {}).get("hr_sensor"),
            "excluded_from": sorted(p for p in PROXIES if (r.activity_id, p) in hidden),
        }
        for r in sorted(ok_runs, key=lambda r: r.started_at_ns or 0)
    ]
    excluded = [
        {
            "activity_id": r.activity_id,
            "started_at": _iso_utc(r.started_at_ns),
            "local_date": r.local_date,
            "reason": r.reason or "excluded",
        }
        for r in sorted(runs, key=lambda r: r.started_at_ns or 0)
        if r.status != "ok"
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
        proxies={
            k: {"label": v.label, "unit": v.unit, "higher_is_better": v.higher_is_better} for k, v in PROXIES.items()
        },
        weeks=rows_out,
        daily=daily_rows,
        strength_blocks=[
            {"first_week": ws.week_start[a], "last_week": ws.week_start[b], "weeks": b - a + 1} for a, b in blocks
        ],
        baseline=baseline,
        latest_block=latest,
        typical_error=econ.get("typical_error", {}),
        changes=econ.get("changes", {}),
        economy_change={k: v for k, v in econ.items() if k not in ("changes", "typical_error")},
        literature=[dict(x) for x in LITERATURE_CONTEXT],
        literature_caveat=LITERATURE_CAVEAT,
        proxy_caveat=PROXY_CAVEAT,
        runs=run_rows_out,
        excluded_runs=excluded,
        neuromuscular=neuromuscular_trends,
        notes=notes,
        strength_load=_strength_load_doc(s_loads),
    )


#: the strength load's method, and what adding it to TRIMP means (docs/strength-ledger.md)
STRENGTH_LOAD_METHOD = (
    "session RPE (CR-10) x duration in minutes per reconciled training session (Foster et al. "
    "2001; applies to resistance training: Day et al. 2004); a session logged by several sources "
    "counts once"
)
COMBINED_LOAD_NOTE = (
    "Combined ATL/TSB (an option): the same 42/7-day averages of running TRIMP + strength "
    "session-RPE load per day. The two are different arbitrary units (heart-rate-weighted minutes, "
    "Banister 1991; RPE x minutes, Foster 2001): their sum is a choice, not an equivalence, so both "
    "series are shown on their own too. The economy model's load covariates stay running-only."
)


def _strength_loads(loads: Sequence[Any]) -> list[dict[str, Any]]:
    """Session loads as dicts (``SessionLoad`` or mappings), refusing a training session given twice."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for x in loads:
        d = dict(x) if isinstance(x, Mapping) else x.to_dict()
        tid = str(d["training_session_id"])
        if tid in seen:
            raise ValueError(f"training session {tid} given twice: its load would be counted twice")
        seen.add(tid)
        d["started_at_ns"] = _parse_time_ns(d["started_at_ns"])
        out.append(d)
    return out


def _strength_load_doc(loads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if not loads:
        return {}
    return {
        "method": STRENGTH_LOAD_METHOD,
        "units": "AU (RPE x min)",
        "combined_option": COMBINED_LOAD_NOTE,
        "sessions": [
            {**x, "sources": list(x.get("sources") or ())}
            for x in sorted(loads, key=lambda x: (x["started_at_ns"], x["training_session_id"]))
        ],
        "n_sessions": len(loads),
        "n_session_rpe": sum(1 for x in loads if x.get("rpe_source") == "session"),
        "n_max_set_rpe": sum(1 for x in loads if x.get("rpe_source") == "max_set_rpe"),
        "n_default_rpe": sum(1 for x in loads if x.get("rpe_source") == "default"),
        "n_without_load": sum(1 for x in loads if x.get("load_au") is None),
        "total_au": float(sum(x["load_au"] for x in loads if x.get("load_au") is not None)),
    }


def _rep_time_ns(rep: Mapping[str, Any]) -> int | None:
    t = rep.get("started_at_ns", rep.get("started_at") or rep.get("session_started_at"))
    return None if t is None else _parse_time_ns(t)


def rfd_session_medians(reps: Sequence[Mapping[str, Any]], tz: str = "UTC") -> list[dict[str, Any]]:
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
    out: list[dict[str, Any]] = []
    for (ex, sid, load), rr in groups.items():
        times = [t for t in (_rep_time_ns(r) for r in rr) if t is not None]
        peak = np.array([r["peak_rfd_n_per_s"] for r in rr if _finite(r.get("peak_rfd_n_per_s"))], dtype=float)
        early = np.array([r["rfd_0_100ms_n_per_s"] for r in rr if _finite(r.get("rfd_0_100ms_n_per_s"))], dtype=float)
        if not peak.size and not early.size:
            continue
        t0 = min(times) if times else None
        out.append(
            {
                "exercise": ex,
                "session_id": sid,
                "load_kg": load,
                "date": local_date(t0, tz).isoformat() if t0 is not None else None,
                "started_at_ns": t0,
                "n_reps": len(rr),
                "peak_rfd_median_n_per_s": float(np.median(peak)) if peak.size else None,
                "n_peak_rfd": int(peak.size),
                "rfd_0_100ms_median_n_per_s": float(np.median(early)) if early.size else None,
                "n_rfd_0_100ms": int(early.size),
                "n_rfd_0_100ms_nonpositive": int(np.sum(early <= 0)),
                "eccentric_first": exercise_info(ex).eccentric_first,
            }
        )
    out.sort(key=lambda d: (d["started_at_ns"] is None, d["started_at_ns"] or 0, d["exercise"], d["load_kg"] or 0))
    return out


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v))
