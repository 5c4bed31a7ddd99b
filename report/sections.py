"""View models of an athlete page's analysis sections, from the summary dict (``report.json``'s
``athletes[i].summary``): plain values (formatted numbers, the sentences that carry them, table
rows, charts) for the templates ``report/templates/sections/*.html.j2``, which hold the markup,
headings, column headers and fixed paragraphs. Wording and rounding only; every number comes from
the analysis. Charts are marked as markup here, and only here (:func:`figure`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from report import charts
from report.templating import chart_markup
from report.text import fmt, minutes

#: weeks before the first strength session that the strength charts still show (context)
LEAD_WEEKS = 8


# ------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------


def figure(chart: charts.ChartSvg | charts.FewPoints, caption: str, *, values_below: bool = False) -> dict[str, Any]:
    """A chart with its caption (macro ``figure``); a chart over time with too few dates
    (:class:`report.charts.FewPoints`) becomes a sentence (one value) or a small table.
    ``values_below``: the section's own table right after the figure already lists the values, so
    only the sentence is shown."""
    if isinstance(chart, charts.FewPoints):
        return {"svg": None, "few": _few_points(chart, values_below=values_below), "caption": caption}
    return {"svg": chart_markup(chart), "few": None, "caption": caption}


def _value(v: float) -> str:
    """A value for the few-points sentence or table: four significant digits, no exponent."""
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _with_unit(label: str, v: float) -> str:
    """``"e1RM, kg"`` and 132.2 -> ``"e1RM 132.2 kg"``; a bare unit ``"m/s"`` -> ``"0.6879 m/s"``."""
    name, sep, unit = label.rpartition(", ")
    return f"{name} {_value(v)} {unit}" if sep else f"{_value(v)} {label}"


def _few_points(fp: charts.FewPoints, *, values_below: bool) -> dict[str, Any]:
    """``{"title", "text", "table"}``: the title in bold, then the sentence; ``table`` (or None) with
    ``headers``, ``rows``, ``caption``."""
    dates = fp.dates
    rule = f"a chart over time is drawn from {charts.MIN_TIME_POINTS} dates on."
    if values_below:
        when = f"one date so far ({dates[0]})" if len(dates) == 1 else f"{len(dates)} dates so far"
        return {"title": fp.title, "text": f": {when}; {rule} The values are in the table below.", "table": None}
    if len(fp.rows) == 1:
        d, label, v = fp.rows[0]
        return {
            "title": fp.title,
            "text": f": {_with_unit(label, v)} on {d}, the only date so far; {rule}",
            "table": None,
        }
    labels = list(dict.fromkeys(r[1] for r in fp.rows))
    cell = {(d, label): v for d, label, v in fp.rows}
    rows = [[d, *(_value(cell[(d, lab)]) if (d, lab) in cell else "—" for lab in labels)] for d in dates]
    when = "one date" if len(dates) == 1 else f"{len(dates)} dates"
    return {
        "title": fp.title,
        "text": f": {when} so far, shown as a table; {rule}",
        "table": {"headers": ["date", *labels], "rows": rows, "caption": f"{fp.value_label} by date"},
    }


# ------------------------------------------------------------------------------------------
# wording helpers
# ------------------------------------------------------------------------------------------


def _ci(lo: float | None, hi: float | None, digits: int = 2, unit: str = "") -> str:
    if lo is None or hi is None:
        return "—"
    return f"{lo:+.{digits}f} to {hi:+.{digits}f}{unit}"


def _from(shown: Sequence[Mapping[str, Any]], weeks: Sequence[Mapping[str, Any]]) -> str:
    if not shown or len(shown) == len(weeks):
        return ""
    return f" from {shown[0]['week_start']}, {LEAD_WEEKS} weeks before the first strength session"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _reading(wording: str | None) -> str:
    """The analysis' reading without the numbers it repeats (they are in the neighbouring columns):
    the clause before the first colon ("consistent with ...", "not distinguishable from ...",
    "not estimable for ...: why" keeps its reason)."""
    if not wording:
        return "—"
    head, sep, _rest = wording.partition(": ")
    if not sep or head.startswith("not estimable"):
        return wording
    return head


def _unit(u: str | None) -> str:
    return " %" if u == "%" else (f" {u}" if u else "")


def _lat_text(w: Mapping[str, Any]) -> str:
    b, u = w.get("bilateral_trained"), w.get("unilateral_trained")
    if b and u:
        return "bilateral and unilateral lifts trained"
    if b:
        return "bilateral lifts only (no unilateral)"
    if u:
        return "unilateral lifts only (no bilateral)"
    return "no lift of known laterality"


def _strength_weeks(weeks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Weeks the strength charts show: from LEAD_WEEKS before the first strength session on (a decade of
    running-only weeks before it would squeeze the strength weeks into a sliver)."""
    sw = [w for w in weeks if w.get("sessions") is not None]
    first = next((i for i, w in enumerate(sw) if w.get("sessions")), None)
    return sw if first is None else sw[max(0, first - LEAD_WEEKS) :]


# ------------------------------------------------------------------------------------------
# sections (templates sections/<name>.html.j2)
# ------------------------------------------------------------------------------------------


def headline(s: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``cards``: ``{"label", "value", "note"}`` each."""
    last = weeks[-1] if weeks else {}
    block = s.get("latest_block")
    base = s.get("baseline")
    cards = [
        {
            "label": "Runs with economy proxies",
            "value": f"{s.get('n_runs_ok', 0)} of {s.get('n_runs_total', 0)}",
            "note": f"{s.get('n_runs_excluded', 0)} without (see data quality)",
        },
        {
            "label": "Weeks of data",
            "value": fmt(s.get("n_weeks")),
            "note": f"baseline {base['n_weeks']} wk" if base else "no pre-strength baseline",
        },
        {
            "label": "Strength sessions, total",
            "value": fmt(last.get("cumulative_sessions")),
            "note": f"latest week: {fmt(last.get('sessions'))} of {fmt(last.get('target_sessions', 2))} target",
        },
        {
            "label": "Sessions meeting the prescription, latest week",
            "value": f"{fmt(last.get('sessions_meeting_prescription', 0))} of {fmt(last.get('target_sessions', 2))}",
            "note": (
                f"{_lat_text(last)}"
                + (
                    f"; {last['sessions_zone_undecidable']} undecidable (no e5RM)"
                    if last.get("sessions_zone_undecidable")
                    else ""
                )
            ),
        },
        {
            "label": "Strength block (since the first heavy lower-body week)",
            "value": f"{block['n_weeks']} wk" if block else "—",
            "note": (
                f"from {block['first_week']} ({block.get('start_source', 'detected')}) to {block['last_week']}"
                if block
                else "no heavy lower-body session yet"
            ),
        },
        _primary_card(s),
        {
            "label": "Fitness (CTL) at the latest week end",
            "value": fmt(last.get("ctl"), 0),
            "note": f"fatigue (ATL) {fmt(last.get('atl'), 0)}, form (TSB) {fmt(last.get('tsb'), 0)}",
        },
    ]
    return {"cards": cards}


def _primary_card(s: Mapping[str, Any]) -> dict[str, Any]:
    ec = s.get("economy_change") or {}
    prim = (ec.get("primary") or {}).get("proxy")
    ch = s.get("changes", {}).get(prim or "", {})
    if not prim:
        return {
            "label": "Primary economy proxy, change net of the pre-strength trend",
            "value": "not estimable",
            "note": ec.get("reason") or "no strength start yet",
        }
    est = ch.get("estimate")
    return {
        "label": f"Primary proxy ({s.get('proxies', {}).get(prim, {}).get('label', prim)}): change in the last "
        "week net of the pre-strength trend",
        "value": fmt(est, 1, "%", signed=True) if est is not None else "not estimable",
        "note": (
            f"90 % interval {_ci(ch.get('ci90_low'), ch.get('ci90_high'), 1, ' %')}; "
            f"n = {ch.get('n_runs', 0)} runs, {ch.get('n_weeks', 0)} weeks"
            if est is not None
            else (ch.get("reason") or "")
        ),
    }


def adherence(s: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``figure``; ``weeks`` (rows, caption) of the latest 16 weeks; ``sessions`` (rows, caption) of the latest
    four weeks' sessions or None; ``sets_without_e5rm``: whether a note on volume-only sets is due."""
    sw = _strength_weeks(weeks)
    target = sw[-1].get("target_sessions", 2) if sw else 2
    fig = figure(
        charts.adherence_chart(
            [w["week_start"] for w in sw],
            [w.get("sessions", 0) for w in sw],
            [w.get("zone_sets", 0) for w in sw],
            target_sessions=target,
            meeting=[w.get("sessions_meeting_prescription", 0) for w in sw],
        ),
        f"Light bars: strength sessions per week; dark hatched bars: sessions meeting the prescription "
        f"(n = {len(sw)} weeks{_from(sw, weeks)}); dashed line: the target of {target}; dots: sets of 3-5 reps at "
        "80-100 % of the exercise's estimated 5RM.",
    )
    rows = []
    for w in reversed(sw[-16:]):
        undec = w.get("sessions_zone_undecidable", 0)
        rows.append(
            [
                w["week_start"],
                f"{w.get('sessions', 0)} / {w.get('target_sessions', target)}",
                f"{w.get('sessions_meeting_prescription', 0)} / {w.get('target_sessions', target)}"
                + (f" ({undec} undecidable)" if undec else ""),
                fmt(w.get("sets", 0)),
                fmt(w.get("zone_sets", 0)),
                fmt(w.get("sets_without_e5rm", 0)),
                f"{fmt(w.get('bilateral_sets', 0))} / {fmt(w.get('unilateral_sets', 0))}",
                (
                    "yes"
                    if w.get("bilateral_trained") and w.get("unilateral_trained")
                    else "no"
                    if w.get("sessions")
                    else "—"
                ),
                fmt(w.get("volume_load_kg"), 0, "kg"),
            ]
        )
    week_table = {"rows": rows, "caption": f"Latest {len(rows)} weeks (local weeks, {s.get('tz', 'UTC')})"}
    recent = [(w["week_start"], d) for w in sw[-4:] for d in (w.get("session_details") or [])]
    sessions = None
    if recent:
        srows = []
        for _wk, d in reversed(recent):
            zs = d.get("zone_sets_by_exercise") or {}
            srows.append(
                [
                    d.get("local_date"),
                    fmt(d.get("sets")),
                    ", ".join(f"{ex}: {n}" for ex, n in sorted(zs.items())) or "none",
                    "yes"
                    if d.get("meets_prescription")
                    else ("undecidable (no e5RM)" if d.get("zone_undecidable") else "no"),
                    (
                        "both"
                        if d.get("bilateral") and d.get("unilateral")
                        else "bilateral only"
                        if d.get("bilateral")
                        else "unilateral only"
                        if d.get("unilateral")
                        else "—"
                    ),
                ]
            )
        sessions = {
            "rows": srows,
            "caption": f"Sessions of the latest {min(4, len(sw))} weeks (n = {len(srows)} sessions)",
        }
    return {
        "figure": fig,
        "weeks": week_table,
        "sessions": sessions,
        "sets_without_e5rm": any(w.get("sets_without_e5rm") for w in sw),
    }


def strength(rep: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``volume`` figure; ``rfd``: per exercise ``{"figure", "eccentric_first", "table"}`` (the template picks
    the note on the RFD onset by ``eccentric_first``: True, False or None for unknown)."""
    sw = _strength_weeks(weeks)
    volume = figure(
        charts.volume_chart(
            [w["week_start"] for w in sw],
            [w.get("bilateral_volume_load_kg", 0.0) for w in sw],
            [w.get("unilateral_volume_load_kg", 0.0) for w in sw],
        ),
        f"Weekly volume load (sum of reps x kg), bilateral and unilateral, n = {len(sw)} weeks{_from(sw, weeks)}.",
    )
    rfd = (rep.get("summary") or {}).get("rfd_sessions") or []
    per_exercise = []
    for ex in sorted({r["exercise"] for r in rfd}):
        rr = [r for r in rfd if r["exercise"] == ex]
        n_reps = sum(r.get("n_reps", 0) for r in rr)
        nonpos = sum(r.get("n_rfd_0_100ms_nonpositive", 0) for r in rr)
        n_early = sum(r.get("n_rfd_0_100ms", 0) for r in rr)
        fig = figure(
            charts.rfd_chart(ex, rr),
            values_below=True,
            caption=(
                f"{ex}: median per session and load of the bar sensor's RFD (onset = concentric start), "
                f"n = {len(rr)} session medians from {n_reps} reps"
                + (f"; {nonpos} of {n_early} reps had an RFD 0-100 ms of zero or less" if nonpos else "")
                + ". "
            ),
        )
        rows = [
            [
                r.get("date"),
                fmt(r.get("load_kg"), 1, "kg"),
                fmt(r.get("n_reps")),
                fmt(r.get("peak_rfd_median_n_per_s"), 0, "N/s"),
                fmt(r.get("rfd_0_100ms_median_n_per_s"), 0, "N/s"),
            ]
            for r in reversed(rr[-12:])
        ]
        per_exercise.append(
            {
                "figure": fig,
                "eccentric_first": rr[0].get("eccentric_first"),
                "table": {"rows": rows, "caption": f"{ex}: latest {len(rows)} session medians (experimental)"},
            }
        )
    return {"volume": volume, "rfd": per_exercise}


def load_velocity(rep: Mapping[str, Any], s: Mapping[str, Any]) -> dict[str, Any]:
    """``mode``: "profiles" (``profiles``, ``e1rm``, ``velocity`` figures), "reps" (``reps`` figures: reps
    without the load-velocity analysis) or "none"."""
    nm = s.get("neuromuscular") or {}
    profiles = nm.get("profiles") if isinstance(nm, Mapping) else None
    reps = [
        r
        for r in rep.get("barbell_reps", [])
        if r.get("mean_velocity_mps") is not None and r.get("load_kg") is not None
    ]
    out: dict[str, Any] = {"mode": "none", "profiles": [], "e1rm": [], "velocity": [], "reps": []}
    if profiles:
        out["mode"] = "profiles"
        for p in profiles:
            out["profiles"].append(
                figure(
                    charts.lv_profile_chart(
                        p.get("exercise", "?"),
                        p.get("loads_kg", []),
                        p.get("velocities_mps", []),
                        line_points=p.get("line_points"),
                        mvt_mps=p.get("mvt_mps"),
                        e1rm_kg=p.get("e1rm_kg"),
                    ),
                    f"{p.get('exercise')}: e1RM {fmt(p.get('e1rm_kg'), 1, 'kg')}, e5RM {fmt(p.get('e5rm_kg'), 1, 'kg')}, "
                    f"R² {fmt(p.get('r_squared'), 2)}; n = {p.get('n_sets', len(p.get('loads_kg', [])))} sets "
                    f"(best rep each) at {p.get('n_loads', '?')} loads"
                    + (
                        ""
                        if p.get("mvt_reliable", True)
                        else "; velocity at 1RM unreliable for this lift, e1RM flagged"
                    )
                    + (f". {p['note']}" if p.get("note") else ""),
                )
            )
        trend = nm.get("e1rm_trend") or []
        for ex in sorted({t["exercise"] for t in trend}):
            tt = [t for t in trend if t["exercise"] == ex]
            out["e1rm"].append(
                figure(
                    charts.series_chart(
                        f"Estimated 1RM over time: {ex}",
                        [t["date"] for t in tt],
                        [t.get("e1rm_kg") for t in tt],
                        ylabel="e1RM, kg",
                    ),
                    f"e1RM per training day from that day's load-velocity line (days with 3 or more loads), "
                    f"n = {_days(len(tt))}.",
                )
            )
        vref = nm.get("velocity_at_reference_load") or []
        for ex in sorted({t["exercise"] for t in vref}):
            tt = [t for t in vref if t["exercise"] == ex]
            out["velocity"].append(
                figure(
                    charts.series_chart(
                        f"Velocity at the reference load: {ex} ({tt[0]['reference_load_kg']:g} kg)",
                        [t["date"] for t in tt],
                        [t.get("velocity_mps") for t in tt],
                        ylabel="m/s",
                    ),
                    f"Mean concentric velocity the day's profile predicts at {tt[0]['reference_load_kg']:g} kg, "
                    f"n = {_days(len(tt))} (a neuromuscular marker).",
                )
            )
    elif reps:
        out["mode"] = "reps"
        by_ex: dict[str, list[Mapping[str, Any]]] = {}
        for r in reps:
            by_ex.setdefault(r.get("exercise") or "unknown", []).append(r)
        for ex, rr in by_ex.items():
            out["reps"].append(
                figure(
                    charts.lv_profile_chart(
                        ex,
                        [r["load_kg"] for r in rr],
                        [r["mean_velocity_mps"] for r in rr],
                        point_label="mean concentric velocity of each rep",
                    ),
                    f"{ex}: mean concentric velocity of each rep against its load, n = {len(rr)} reps at "
                    f"{len({r['load_kg'] for r in rr})} load(s). No profile line or e1RM in this build (the "
                    "load-velocity analysis is not available).",
                )
            )
    return out


def economy(s: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``swc`` ("2 % (source)" or None), ``reference_speed`` ("3.20" m/s or None), one figure per proxy."""
    ref = s.get("reference_speed_mps")
    ec = s.get("economy_change") or {}
    bands = s.get("reference_bands", {})
    base = s.get("baseline")
    figures = []
    for name, spec in s.get("proxies", {}).items():
        vals = [w.get(name) for w in weeks]
        n_runs = sum(w.get(f"{name}_n", 0) for w in weeks)
        n_weeks = sum(1 for v in vals if v is not None)
        b = bands.get(name)
        te = s.get("typical_error", {}).get(name, {})
        label = spec["label"]
        cap = (
            f"{label}, unit {spec['unit']}; {'higher' if spec['higher_is_better'] else 'lower'} is better "
            f"for the proxy. n = {n_runs} runs in {n_weeks} weeks."
        )
        hl = []
        if b:
            cap += (
                f" Band: baseline mean {b['baseline_mean']:.3g} ± typical error {b['typical_error']:.2f} % "
                f"(n = {te.get('n_weeks', 0)} baseline weeks); dashed: ± smallest worthwhile change "
                f"{b['swc']:g} %."
            )
            if b.get("swc_low") is not None:
                hl = [
                    (b["swc_low"], "baseline ± smallest worthwhile change"),
                    (b["swc_high"], "baseline ± smallest worthwhile change"),
                ]
        else:
            cap += " No reference band: too few baseline weeks."
        figures.append(
            figure(
                charts.series_chart(
                    f"Weekly {label}",
                    [w["week_start"] for w in weeks],
                    vals,
                    ylabel=spec["unit"],
                    band=(b["low"], b["high"]) if b else None,
                    band_label="baseline ± typical error",
                    baseline_end=base["last_week"] if base else None,
                    hlines=hl,
                ),
                cap,
            )
        )
    return {
        "swc": f"{ec['swc_pct']:g} % ({ec.get('swc_source', '')})" if ec.get("swc_pct") else None,
        "reference_speed": f"{ref:.2f}" if ref else None,
        "figures": figures,
    }


def linkage(s: Mapping[str, Any]) -> dict[str, Any]:
    """The n-of-1 estimate: ``primary`` (or None, then ``reason`` or None), the literature context, the
    forest plot, the table of all proxies, the ``method`` (or None), ``disclosures`` and ``n_excluded``."""
    changes = s.get("changes", {})
    proxies = s.get("proxies", {})
    ec = s.get("economy_change") or {}
    prim = ec.get("primary") or {}
    pname = prim.get("proxy")
    st = ec.get("strength_start") or {}
    primary = None
    if pname:
        pc = changes.get(pname, {})
        estimate = None
        if pc.get("estimate") is not None:
            estimate = {
                "text": f"Change in the last observed week ({pc.get('last_week')}, {pc.get('weeks_since_start')} "
                f"weeks after the strength start of {st.get('week_start')}), net of the pre-strength "
                f"level and trend: {pc['estimate']:+.1f} % (90 % interval {pc['ci90_low']:+.1f} to "
                f"{pc['ci90_high']:+.1f} %), n = {pc.get('n_runs')} runs over {pc.get('n_weeks')} "
                "weeks. ",
                "reading": _reading(pc.get("wording")),
            }
        te = (s.get("typical_error", {}).get(pname) or {}).get("typical_error")
        primary = {
            "label": prim.get("label", pname),
            "chosen": (
                f" (chosen {('by the rule' if prim.get('source') == 'rule' else 'by the user')} on "
                f"{prim.get('decided_on')}, {prim.get('frozen', '')}; {prim.get('why', '')}). "
            ),
            "estimate": estimate,
            "no_estimate": None if estimate else (pc.get("reason") or "too few weeks"),
            "typical_error": fmt(te, 2),
            "swc": f"{ec.get('swc_pct', 0):g}",
            "swc_source": ec.get("swc_source", ""),
            "sensitivity": (ec.get("sensitivity") or {}).get("text", "") if ec.get("sensitivity") else None,
            "multiplicity": ec.get("multiplicity", ""),
        }
    names = [n for n in proxies if changes.get(n, {}).get("estimate") is not None]
    forest = figure(
        charts.interval_chart(
            "Change in the last observed week net of the pre-strength trend, % with 90 % interval",
            [proxies[n]["label"] + (" (primary)" if n == pname else "") for n in names],
            [changes[n].get("estimate") for n in names],
            [changes[n].get("ci90_low") for n in names],
            [changes[n].get("ci90_high") for n in names],
            xlabel="change in the proxy, % (not a change in oxygen cost)",
        ),
        "Diamonds: estimated change in the last observed week against the pre-strength level and trend "
        "extrapolated to it; bars: 90 % intervals. An interval crossing 0 is not distinguishable from no change.",
    )
    rows = []
    for n, spec in proxies.items():
        c = changes.get(n, {})
        u = _unit(c.get("units"))
        rows.append(
            [
                spec["label"],
                c.get("role", "—"),
                fmt(c.get("estimate"), 2, signed=True) + (u if c.get("estimate") is not None else ""),
                _ci(c.get("ci90_low"), c.get("ci90_high"), 2, u),
                fmt(c.get("n_runs")),
                f"{c.get('n_baseline_weeks', 0)} + {c.get('n_block_weeks', 0)}",
                ", ".join(c.get("covariates") or []) or "none",
                _reading(c.get("wording")),
            ]
        )
    method = None
    if ec:
        method = {
            "version": ec.get("method_version", ""),
            "model": ec.get("model", ""),
            "ar1_gls": ec.get("se_method") == "ar1_gls",
        }
    return {
        "primary": primary,
        "reason": None if pname else ec.get("reason"),
        "literature_caveat": s.get("literature_caveat", ""),
        "literature": [{"source": x.get("source"), "note": x.get("note", "")} for x in s.get("literature", [])],
        "forest": forest,
        "rows": rows,
        "method": method,
        "disclosures": [
            {"applies": bool(d.get("applies")), "text": d.get("text", "")} for d in ec.get("disclosures") or []
        ],
        "n_excluded": len(ec.get("excluded_from_proxies") or []),
    }


#: the latest training sessions whose sets the page lists (report.json has more: LATEST_SESSIONS there)
LEDGER_SETS_SESSIONS = 4
#: the latest training sessions the page's session table lists (report.json has every session)
LEDGER_SESSION_ROWS = 20

_RPE_SOURCE = {"session": "session RPE", "max_set_rpe": "highest set RPE, a substitute", "default": "default, assumed"}


def _sources(xs: Sequence[str] | None) -> str:
    return " + ".join(xs or []) or "—"


def _exercise(x: Mapping[str, Any]) -> str:
    if x.get("exercise"):
        return str(x["exercise"]) + (" (corrected)" if x.get("exercise_user_corrected") else "")
    return f"{x.get('exercise_as_recorded') or '(no name)'} (unmapped)"


def ledger(s: Mapping[str, Any]) -> dict[str, Any]:
    """The strength ledger (``summary.strength_ledger`` and ``strength_load``): ``present``; the weekly
    strength-load ``figure``; ``sessions`` (rows and caption, newest first, each once with its sources and
    load); ``latest`` (per latest session: ``heading``, ``rows``, ``caption``); ``load_note``, ``n_sessions``."""
    led = s.get("strength_ledger") or {}
    rows_all = led.get("sessions") or []
    if not rows_all:
        return {"present": False}
    sl = s.get("strength_load") or {}
    weeks = [w for w in s.get("weeks", []) if w.get("strength_load_au") is not None]
    lifted = next((i for i, w in enumerate(weeks) if w.get("strength_load_au")), None)
    shown = weeks if lifted is None else weeks[max(0, lifted - LEAD_WEEKS) :]
    n_loaded = sum(1 for r in rows_all if r.get("load_au") is not None)
    fig = figure(
        charts.series_chart(
            "Weekly strength load (session RPE x minutes)",
            [w["week_start"] for w in shown],
            [w.get("strength_load_au") for w in shown],
            ylabel="AU (RPE x min)",
        ),
        f"Sum per local week of session RPE x duration (Foster et al. 2001) over the reconciled training sessions "
        f"(n = {n_loaded} sessions with a load, {len(shown)} weeks): a session logged by the watch, an app and the "
        "bar sensor counts once. Its own series beside running TRIMP (the running load chart below); "
        f"{sl.get('n_max_set_rpe', 0)} session(s) used the highest set RPE and {sl.get('n_default_rpe', 0)} the "
        "default RPE as substitutes.",
    )
    srows = []
    for r in reversed(rows_all[-LEDGER_SESSION_ROWS:]):
        rpe = (
            "—"
            if r.get("rpe") is None
            else f"{r['rpe']:g} ({_RPE_SOURCE.get(r.get('rpe_source'), r.get('rpe_source'))})"
        )
        srows.append(
            [
                r.get("local_date"),
                r.get("title") or "—",
                _sources(r.get("sources")),
                f"{r.get('working_sets', 0)} + {r.get('warmup_sets', 0)}",
                minutes(r.get("duration_s")),
                rpe,
                fmt(r.get("load_au"), 0) if r.get("load_au") is not None else (r.get("load_reason") or "—"),
            ]
        )
    sessions = {
        "rows": srows,
        "caption": (
            f"Latest {len(srows)} of {len(rows_all)} training sessions, newest first (local dates, {s.get('tz', 'UTC')}); "
            "sets: working + warm-up (warm-ups never count toward the prescription)"
        ),
    }
    latest = []
    for r in (led.get("latest_sessions") or [])[:LEDGER_SETS_SESSIONS]:
        rows = [
            [
                _exercise(x),
                x.get("set_role") or "—",
                fmt(x.get("reps"), 0),
                fmt(x.get("load_kg"), 1, "kg"),
                fmt(x.get("rpe"), 1),
                fmt(x.get("mean_velocity_mps"), 2, "m/s"),
                x.get("source") or "—",
                _sources(x.get("sources")),
            ]
            for x in r.get("set_rows") or []
        ]
        latest.append(
            {
                "heading": f"{r.get('local_date')}: {r.get('title') or 'untitled'} ({_sources(r.get('sources'))})",
                "rows": rows,
                "caption": f"{r.get('local_date')}: {len(rows)} sets in logging order; source: the primary "
                "source of each set, sources: every source that reported it",
            }
        )
    return {
        "present": True,
        "figure": fig,
        "sessions": sessions,
        "latest": latest,
        "n_sessions": len(rows_all),
        "load_note": sl.get("combined_option") or "",
    }


def running_load(s: Mapping[str, Any]) -> dict[str, Any]:
    d = s.get("daily", [])
    return {
        "figure": figure(
            charts.load_chart(
                [x["date"] for x in d], [x["ctl"] for x in d], [x["atl"] for x in d], [x["tsb"] for x in d]
            ),
            f"Banister TRIMP per day from heart rate and the athlete profile, n = {len(d)} days; CTL and ATL "
            "are 42- and 7-day exponentially weighted averages, TSB = CTL - ATL.",
        )
    }


def summary_sections(rep: Mapping[str, Any]) -> dict[str, Any]:
    """Every analysis section's view model, by template name (``sections/<name>.html.j2``)."""
    s = rep.get("summary") or {}
    weeks = s.get("weeks", [])
    return {
        "headline": headline(s, weeks),
        "adherence": adherence(s, weeks),
        "strength": strength(rep, weeks),
        "ledger": ledger(s),
        "load_velocity": load_velocity(rep, s),
        "economy": economy(s, weeks),
        "linkage": linkage(s),
        "running_load": running_load(s),
        "notes": list(s.get("notes") or []),
    }
