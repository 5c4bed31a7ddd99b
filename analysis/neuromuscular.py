"""Load-velocity profiles, e1RM/e5RM and velocity-at-reference-load trends of an athlete's reps.

The points: each set's best rep (highest mean concentric velocity, MCV) with its load. Per
exercise, :func:`analysis.load_velocity.fit_load_velocity` over all its sets gives the profile,
:func:`~analysis.load_velocity.one_rm_for_exercise` the e1RM at the exercise's minimal velocity
threshold and the e5RM (Epley), and the reference load (stored, else
:func:`~analysis.load_velocity.reference_load_kg` of the e1RM). Trend points are training days
(the athlete's local date) with >= 3 loads of the lift: the e1RM of that day's profile and the
velocity at the reference load (:func:`~analysis.load_velocity.velocity_at_reference_load_mps`).
Method and thresholds: docs/design.md section 6, docs/bar-velocity.md. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis import load_velocity as lv
from records.times import local_day


def neuromuscular_trends(
    sets: Sequence[Mapping[str, Any]], reps: Sequence[Mapping[str, Any]], reference_loads: Mapping[str, float], tz: str
) -> dict[str, Any]:
    """Profiles, e5RM per exercise and the e1RM and velocity-at-reference-load trends (JSON-ready).

    ``reps`` are rep rows (``exercise``, ``session_id``, ``set_index``, ``load_kg``,
    ``mean_velocity_mps``, ``started_at`` or ``session_started_at``); ``reference_loads`` the
    stored reference load per exercise; ``tz`` the athlete's time zone (training days). ``sets``
    is accepted for the caller's convenience and not used: the points come from the reps.
    """
    best: dict[tuple[str, str, int], Mapping[str, Any]] = {}
    for r in reps:
        if r.get("mean_velocity_mps") is None or r.get("load_kg") is None or not r.get("exercise"):
            continue
        key = (r["exercise"], r["session_id"], int(r.get("set_index") or 0))
        if key not in best or r["mean_velocity_mps"] > best[key]["mean_velocity_mps"]:
            best[key] = r
    by_ex: dict[str, list[Mapping[str, Any]]] = {}
    for (ex, _, _), r in sorted(best.items(), key=lambda kv: str(kv[1].get("started_at"))):
        by_ex.setdefault(ex, []).append(r)
    profiles: list[dict[str, Any]] = []
    e5rm: dict[str, float] = {}
    e1_trend: list[dict[str, Any]] = []
    vref_trend: list[dict[str, Any]] = []
    for ex, pts in by_ex.items():
        loads = [float(p["load_kg"]) for p in pts]
        vels = [float(p["mean_velocity_mps"]) for p in pts]
        entry: dict[str, Any] = {
            "exercise": ex,
            "loads_kg": loads,
            "velocities_mps": vels,
            "n_sets": len(pts),
            "n_loads": len(set(loads)),
            "point": "best rep of each set (MCV)",
        }
        try:
            prof = lv.fit_load_velocity(loads, vels)
        except ValueError as exc:
            entry["note"] = str(exc)
            profiles.append(entry)
            continue
        lo, hi = min(loads), max(loads)
        orm = lv.one_rm_for_exercise(ex, prof)
        entry.update(
            {
                "slope_kg_per_mps": prof.slope_kg_per_mps,
                "intercept_kg": prof.intercept_kg,
                "r_squared": prof.r_squared,
                "line_points": [[lo, prof.velocity_at_load_mps(lo)], [hi, prof.velocity_at_load_mps(hi)]],
            }
        )
        if orm is not None:
            entry.update(
                {
                    "mvt_mps": orm.mvt_mps,
                    "e1rm_kg": orm.e1rm_kg,
                    "e5rm_kg": orm.e5rm_kg,
                    "mvt_reliable": orm.reliable,
                    "note": orm.note,
                }
            )
            e5rm[ex] = orm.e5rm_kg
            ref = reference_loads.get(ex) or lv.reference_load_kg(orm.e1rm_kg)
            entry["reference_load_kg"] = ref
            entry["reference_load_source"] = "stored" if reference_loads.get(ex) else "70 % of the e1RM (not stored)"
        profiles.append(entry)
        # one training day = one point of the trend (a day's sets are often separate sensor sessions)
        days: dict[str, list[Mapping[str, Any]]] = {}
        for p in pts:
            days.setdefault(local_day(p.get("started_at") or p.get("session_started_at"), tz), []).append(p)
        for day, sp in days.items():
            sid = ",".join(sorted({str(p["session_id"]) for p in sp}))
            try:
                sprof = lv.fit_load_velocity([p["load_kg"] for p in sp], [p["mean_velocity_mps"] for p in sp])
            except ValueError:
                continue
            so = lv.one_rm_for_exercise(ex, sprof)
            if so is not None:
                e1_trend.append(
                    {"exercise": ex, "session_id": sid, "date": day, "e1rm_kg": so.e1rm_kg, "n_sets": len(sp)}
                )
            if entry.get("reference_load_kg"):
                vref_trend.append(
                    {
                        "exercise": ex,
                        "session_id": sid,
                        "date": day,
                        "n_sets": len(sp),
                        "reference_load_kg": entry["reference_load_kg"],
                        "velocity_mps": lv.velocity_at_reference_load_mps(sprof, entry["reference_load_kg"]),
                    }
                )
    return {
        "profiles": profiles,
        "e5rm_kg": e5rm,
        "e1rm_trend": e1_trend,
        "velocity_at_reference_load": vref_trend,
        "source": "analysis.neuromuscular over analysis.load_velocity",
    }
