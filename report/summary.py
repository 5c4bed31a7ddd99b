"""Hand the store's rows to the analysis and get back the JSON-ready numbers the page shows.

No statistics here: :func:`analysis.athlete_summary.summarise_athlete` computes the weekly series,
typical error, changes, regressions and loads; the bar-velocity module (when present) computes
the load-velocity profiles and e5RM. This module only converts row shapes, marks the runs the
user excluded (so the analysis lists them with their reason), and derives the display band of a
proxy from the analysis' baseline mean and smallest worthwhile change (a unit conversion).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from analysis.athlete_summary import rfd_session_medians, summarise_athlete
from analysis.economy import RunEconomy

#: moving-block-bootstrap replicates per proxy (the analysis default is 2000)
N_BOOT = 1000
#: proxies on a ratio scale: their typical error / SWC are in % of the value
RATIO_PROXIES = ("ef_proxy", "hr_at_reference_speed_bpm", "speed_per_w_per_kg")


def _mark_excluded(runs: Sequence[Mapping[str, Any]], econ: Sequence[RunEconomy]) -> list[RunEconomy]:
    out = []
    for r, e in zip(runs, econ, strict=True):
        if r.get("excluded_reason") is not None and e.status != "excluded":  # undated runs keep their reason
            e = dataclasses.replace(e, status="excluded", reason=f"excluded by the user: {r['excluded_reason']}")
        out.append(e)
    return out


def _set_rows(sets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"started_at": s["started_at"], "exercise": s["exercise"], "reps": s["reps"], "load_kg": s["load_kg"],
         "set_type": s["set_type"], "activity_id": s.get("activity_id"), "session_id": s.get("session_id"),
         "source": s.get("source")}
        for s in sets if s.get("started_at") is not None
    ]


def neuromuscular(sets: Sequence[Mapping[str, Any]], reps: Sequence[Mapping[str, Any]],
                  reference_loads: Mapping[str, float], tz: str) -> dict[str, Any] | None:
    """Load-velocity profiles, e1RM/e5RM and velocity-at-reference-load trends from the bar-velocity
    module, or None when :mod:`analysis.load_velocity` is not in this build.

    If that module offers an aggregate (``neuromuscular_trends``) it is used as is; otherwise this
    narrow adapter selects the points (each set's best-rep mean concentric velocity with its load)
    and calls the module's own functions: ``fit_load_velocity`` (all sets of an exercise; and per
    session with >= 3 loads for the e1RM trend), ``one_rm_for_exercise`` (e1RM at the exercise's
    MVT, e5RM by Epley), ``velocity_at_reference_load_mps`` and ``reference_load_kg``. Trend points are
    training days (local date) with >= 3 loads of the lift.
    """
    try:
        from analysis import load_velocity as lv
    except ImportError:
        return None
    agg = getattr(lv, "neuromuscular_trends", None)
    if agg is not None:
        res = agg(sets=list(sets), reps=list(reps), reference_loads=dict(reference_loads), tz=tz)
        return res.to_dict() if hasattr(res, "to_dict") else res
    best: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in reps:
        if r.get("mean_velocity_mps") is None or r.get("load_kg") is None or not r.get("exercise"):
            continue
        key = (r["exercise"], r["session_id"], int(r.get("set_index") or 0))
        if key not in best or r["mean_velocity_mps"] > best[key]["mean_velocity_mps"]:
            best[key] = r
    by_ex: dict[str, list[dict[str, Any]]] = {}
    for (ex, _, _), r in sorted(best.items(), key=lambda kv: str(kv[1].get("started_at"))):
        by_ex.setdefault(ex, []).append(r)
    profiles, e5rm, e1_trend, vref_trend = [], {}, [], []
    for ex, pts in by_ex.items():
        loads = [float(p["load_kg"]) for p in pts]
        vels = [float(p["mean_velocity_mps"]) for p in pts]
        entry: dict[str, Any] = {"exercise": ex, "loads_kg": loads, "velocities_mps": vels, "n_sets": len(pts),
                                 "n_loads": len(set(loads)), "point": "best rep of each set (MCV)"}
        try:
            prof = lv.fit_load_velocity(loads, vels)
        except ValueError as exc:
            entry["note"] = str(exc)
            profiles.append(entry)
            continue
        lo, hi = min(loads), max(loads)
        orm = lv.one_rm_for_exercise(ex, prof)
        entry.update({"slope_kg_per_mps": prof.slope_kg_per_mps, "intercept_kg": prof.intercept_kg,
                      "r_squared": prof.r_squared,
                      "line_points": [[lo, prof.velocity_at_load_mps(lo)], [hi, prof.velocity_at_load_mps(hi)]]})
        if orm is not None:
            entry.update({"mvt_mps": orm.mvt_mps, "e1rm_kg": orm.e1rm_kg, "e5rm_kg": orm.e5rm_kg,
                          "mvt_reliable": orm.reliable, "note": orm.note})
            e5rm[ex] = orm.e5rm_kg
            ref = reference_loads.get(ex) or lv.reference_load_kg(orm.e1rm_kg)
            entry["reference_load_kg"] = ref
            entry["reference_load_source"] = "stored" if reference_loads.get(ex) else "70 % of the e1RM (not stored)"
        profiles.append(entry)
        # one training day = one point of the trend (a day's sets are often separate sensor sessions)
        sessions: dict[str, list[dict[str, Any]]] = {}
        for p in pts:
            sessions.setdefault(_local_day(p, tz), []).append(p)
        for day, sp in sessions.items():
            sid = ",".join(sorted({str(p["session_id"]) for p in sp}))
            try:
                sprof = lv.fit_load_velocity([p["load_kg"] for p in sp], [p["mean_velocity_mps"] for p in sp])
            except ValueError:
                continue
            when = day
            so = lv.one_rm_for_exercise(ex, sprof)
            if so is not None:
                e1_trend.append({"exercise": ex, "session_id": sid, "date": when, "e1rm_kg": so.e1rm_kg,
                                 "n_sets": len(sp)})
            if entry.get("reference_load_kg"):
                vref_trend.append({"exercise": ex, "session_id": sid, "date": when, "n_sets": len(sp),
                                   "reference_load_kg": entry["reference_load_kg"],
                                   "velocity_mps": lv.velocity_at_reference_load_mps(sprof, entry["reference_load_kg"])})
    return {"profiles": profiles, "e5rm_kg": e5rm, "e1rm_trend": e1_trend, "velocity_at_reference_load": vref_trend,
            "source": "report.summary adapter over analysis.load_velocity"}


def _local_day(rep: Mapping[str, Any], tz: str) -> str:
    t = rep.get("started_at") or rep.get("session_started_at")
    if isinstance(t, dt.datetime):
        return t.astimezone(ZoneInfo(tz)).date().isoformat()
    return str(t)[:10]


def reference_band(baseline_mean: float | None, swc: float | None, proxy: str) -> tuple[float, float] | None:
    """Baseline mean ± smallest worthwhile change, on the proxy's own scale (display only).

    For ratio proxies the analysis gives the SWC in % (log scale): the band is
    ``mean * exp(±SWC/100)``; otherwise the SWC is in the proxy's unit: ``mean ± SWC``.
    """
    if baseline_mean is None or swc is None:
        return None
    if proxy in RATIO_PROXIES:
        f = math.exp(swc / 100.0)
        return (baseline_mean / f, baseline_mean * f)
    return (baseline_mean - swc, baseline_mean + swc)


def summarise(
    *,
    athlete: str,
    profile: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    economies: Sequence[RunEconomy],
    sets: Sequence[Mapping[str, Any]],
    reps: Sequence[Mapping[str, Any]],
    reference_loads: Mapping[str, float],
) -> dict[str, Any]:
    tz = profile.get("tz") or "UTC"
    econ = _mark_excluded(runs, economies)
    set_rows = _set_rows(sets)
    nm = neuromuscular(set_rows, reps, reference_loads, tz)
    e5rm = None
    if isinstance(nm, Mapping) and isinstance(nm.get("e5rm_kg"), Mapping):
        e5rm = {k: v for k, v in nm["e5rm_kg"].items() if v}
    s = summarise_athlete(econ, None, set_rows, dict(profile), tz, e5rm_kg=e5rm, neuromuscular_trends=nm,
                          n_boot=N_BOOT).to_dict()
    bands = {}
    for name in s.get("proxies", {}):
        ch = s.get("changes", {}).get(name, {})
        te = s.get("typical_error", {}).get(name, {})
        band = reference_band(ch.get("baseline_mean"), te.get("swc"), name)
        bands[name] = None if band is None else {"low": band[0], "high": band[1], "swc": te.get("swc"),
                                                 "typical_error": te.get("typical_error"),
                                                 "units": te.get("units"), "baseline_mean": ch.get("baseline_mean")}
    s["reference_bands"] = bands
    s["rfd_sessions"] = rfd_session_medians(reps, tz)
    s["athlete"] = athlete
    s["neuromuscular_available"] = nm is not None
    return s
