"""Hand the store's rows to the analysis and get back the JSON-ready numbers the page shows.

No statistics here: :func:`analysis.athlete_summary.summarise_athlete` computes the weekly series,
typical error, the economy-change model and loads; :func:`analysis.neuromuscular.neuromuscular_trends`
the load-velocity profiles and e5RM. This module only converts row shapes, marks the runs the
user excluded (so the analysis lists them with their reason), and derives the display band of a
proxy from the analysis' baseline mean, typical error and smallest worthwhile change (a unit
conversion from % to the proxy's scale).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis.athlete_summary import rfd_session_medians, summarise_athlete
from analysis.economy import RunEconomy
from analysis.ledger import Ledger
from analysis.neuromuscular import neuromuscular_trends as neuromuscular
from analysis.strength_load import session_loads
from analysis.strength_report import ledger_report

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
        {
            "started_at": s["started_at"],
            "exercise": s["exercise"],
            "reps": s["reps"],
            "load_kg": s["load_kg"],
            "set_type": s["set_type"],
            "activity_id": s.get("activity_id"),
            "session_id": s.get("session_id"),
            "source": s.get("source"),
        }
        for s in sets
        if s.get("started_at") is not None
    ]


def reference_band(baseline_mean: float | None, pct: float | None, proxy: str) -> tuple[float, float] | None:
    """Baseline mean x exp(-pct/100) .. x exp(+pct/100) on the proxy's own scale (display only).

    The analysis gives the typical error and the smallest worthwhile change of ratio proxies in %
    (log scale); this converts such a ± % to the proxy's unit around the baseline mean.
    """
    if baseline_mean is None or pct is None or proxy not in RATIO_PROXIES:
        return None
    f = math.exp(pct / 100.0)
    return (baseline_mean / f, baseline_mean * f)


def summarise(
    *,
    athlete: str,
    profile: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    economies: Sequence[RunEconomy],
    sets: Sequence[Mapping[str, Any]],
    reps: Sequence[Mapping[str, Any]],
    reference_loads: Mapping[str, float],
    run_context: Mapping[str, Mapping[str, Any]] | None = None,
    events: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
    ledger: Ledger | None = None,
    deleted_in_app: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The athlete's summary dict. With the strength ``ledger`` (``jobs.ledger``: watch, sensor and app
    sets reconciled), the strength numbers come from it: each training session once, warm-ups left out
    of the prescription (``Ledger.strength_sets``), the session-RPE load per training session
    (``analysis.strength_load``) and the ledger's report part (``analysis.strength_report``) as
    ``strength_ledger``; without it, from the ``sets`` rows as they are."""
    tz = profile.get("tz") or "UTC"
    econ = _mark_excluded(runs, economies)
    loads = session_loads(ledger.sessions) if ledger is not None else None
    set_rows: Sequence[Any] = ledger.strength_sets() if ledger is not None else _set_rows(sets)
    nm = neuromuscular([] if ledger is not None else set_rows, reps, reference_loads, tz)  # (sets: not used)
    e5rm = None
    if isinstance(nm, Mapping) and isinstance(nm.get("e5rm_kg"), Mapping):
        e5rm = {k: v for k, v in nm["e5rm_kg"].items() if v}
    s = summarise_athlete(
        econ,
        None,
        set_rows,
        dict(profile),
        tz,
        e5rm_kg=e5rm,
        neuromuscular_trends=nm,
        run_context=run_context,
        events=events,
        settings=settings,
        strength_loads=loads,
    ).to_dict()
    if ledger is not None and loads is not None:
        s["strength_ledger"] = ledger_report(ledger, loads, tz=tz, deleted_in_app=deleted_in_app)
    bands = {}
    for name in s.get("proxies", {}):
        te = s.get("typical_error", {}).get(name, {})
        mean = te.get("baseline_mean")
        band = reference_band(mean, te.get("typical_error"), name)
        swc = reference_band(mean, te.get("swc"), name)
        bands[name] = (
            None
            if band is None
            else {
                "low": band[0],
                "high": band[1],
                "typical_error": te.get("typical_error"),
                "units": te.get("units"),
                "baseline_mean": mean,
                "swc": te.get("swc"),
                "swc_source": te.get("swc_source"),
                "swc_low": swc[0] if swc else None,
                "swc_high": swc[1] if swc else None,
            }
        )
    s["reference_bands"] = bands
    s["rfd_sessions"] = rfd_session_medians(reps, tz)
    s["athlete"] = athlete
    s["neuromuscular_available"] = nm is not None
    return s
