"""Hand the store's rows to the analysis and get back the JSON-ready numbers the page shows.

No statistics here: :func:`analysis.athlete_summary.summarise_athlete` computes the weekly series,
typical error, changes, regressions and loads; :func:`analysis.neuromuscular.neuromuscular_trends`
the load-velocity profiles and e5RM. This module only converts row shapes, marks the runs the
user excluded (so the analysis lists them with their reason), and derives the display band of a
proxy from the analysis' baseline mean and smallest worthwhile change (a unit conversion).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis.athlete_summary import rfd_session_medians, summarise_athlete
from analysis.economy import RunEconomy
from analysis.neuromuscular import neuromuscular_trends as neuromuscular

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
