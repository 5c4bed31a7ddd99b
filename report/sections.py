"""The analysis sections of an athlete page, drawn from the summary dict (``report.json``'s
``athletes[i].summary``). Rendering and wording only; every number comes from the analysis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from report import charts
from report.html import Safe, definition_cards, el, fmt, table, trusted_svg

PRESCRIPTION = ("Prescription: 3-5 reps at 80-100 % of the 5-repetition maximum (5RM), 3-5 sets, twice a week, "
                "bilateral and unilateral lifts.")
ECCENTRIC_RFD_NOTE = ("This lift starts with the lowering phase, so force is already high at the turnaround where "
                      "the RFD onset is taken: the value can be near zero or negative, is not the isometric RFD of "
                      "the literature, and is comparable only within this athlete and exercise (at the same load).")
CONCENTRIC_RFD_NOTE = ("This lift starts concentric-first from rest; the value is still not the isometric RFD of the "
                       "literature and is comparable only within this athlete and exercise (at the same load).")
UNKNOWN_RFD_NOTE = ("Whether this lift starts with the lowering phase is unknown; the value is not the isometric RFD of "
                    "the literature and is comparable only within this athlete and exercise (at the same load).")
RFD_CAVEAT = ("Rate of force development (RFD) and time to peak velocity from a bar-mounted IMU are experimental "
              "(no published validation): compare them within this athlete over time, never with published values.")


def _fig(chart: str | charts.FewPoints, caption: Any, *, values_below: bool = False) -> Safe:
    """A chart with its caption; a chart over time with too few dates (:class:`report.charts.FewPoints`)
    becomes a sentence (one value) or a small table. ``values_below``: the section's own table right
    after the figure already lists the values, so only the sentence is shown."""
    if isinstance(chart, charts.FewPoints):
        return el("figure", _few_points(chart, values_below=values_below), el("figcaption", caption),
                  class_="few-points")
    return el("figure", el("div", trusted_svg(chart), class_="chart-scroll"), el("figcaption", caption))


def _value(v: float) -> str:
    """A value for the few-points sentence or table: four significant digits, no exponent."""
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _with_unit(label: str, v: float) -> str:
    """``"e1RM, kg"`` and 132.2 -> ``"e1RM 132.2 kg"``; a bare unit ``"m/s"`` -> ``"0.6879 m/s"``."""
    name, sep, unit = label.rpartition(", ")
    return f"{name} {_value(v)} {unit}" if sep else f"{_value(v)} {label}"


def _few_points(fp: charts.FewPoints, *, values_below: bool) -> Safe:
    dates = fp.dates
    rule = f"a chart over time is drawn from {charts.MIN_TIME_POINTS} dates on."
    title = el("strong", fp.title)
    if values_below:
        when = f"one date so far ({dates[0]})" if len(dates) == 1 else f"{len(dates)} dates so far"
        return el("p", title, f": {when}; {rule} The values are in the table below.")
    if len(fp.rows) == 1:
        d, label, v = fp.rows[0]
        return el("p", title, f": {_with_unit(label, v)} on {d}, the only date so far; {rule}")
    labels = list(dict.fromkeys(r[1] for r in fp.rows))
    cell = {(d, label): v for d, label, v in fp.rows}
    rows = [[d, *(_value(cell[(d, lab)]) if (d, lab) in cell else "—" for lab in labels)] for d in dates]
    head = ["date", *labels]
    when = "one date" if len(dates) == 1 else f"{len(dates)} dates"
    return el("div", el("p", title, f": {when} so far, shown as a table; {rule}"),
              table(head, rows, caption=f"{fp.value_label} by date"))


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


def _cards(s: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> Safe:
    last = weeks[-1] if weeks else {}
    block = s.get("latest_block")
    base = s.get("baseline")
    cards = [
        {"label": "Runs with economy proxies", "value": f"{s.get('n_runs_ok', 0)} of {s.get('n_runs_total', 0)}",
         "note": f"{s.get('n_runs_excluded', 0)} without (see data quality)"},
        {"label": "Weeks of data", "value": fmt(s.get("n_weeks")),
         "note": f"baseline {base['n_weeks']} wk" if base else "no pre-strength baseline"},
        {"label": "Strength sessions, total", "value": fmt(last.get("cumulative_sessions")),
         "note": f"latest week: {fmt(last.get('sessions'))} of {fmt(last.get('target_sessions', 2))} target"},
        {"label": "Sessions meeting the prescription, latest week",
         "value": f"{fmt(last.get('sessions_meeting_prescription', 0))} of {fmt(last.get('target_sessions', 2))}",
         "note": (f"{_lat_text(last)}"
                  + (f"; {last['sessions_zone_undecidable']} undecidable (no e5RM)"
                     if last.get("sessions_zone_undecidable") else ""))},
        {"label": "Strength block (since the first heavy lower-body week)",
         "value": f"{block['n_weeks']} wk" if block else "—",
         "note": (f"from {block['first_week']} ({block.get('start_source', 'detected')}) to {block['last_week']}"
                  if block else "no heavy lower-body session yet")},
        _primary_card(s),
        {"label": "Fitness (CTL) at the latest week end", "value": fmt(last.get("ctl"), 0),
         "note": f"fatigue (ATL) {fmt(last.get('atl'), 0)}, form (TSB) {fmt(last.get('tsb'), 0)}"},
    ]
    return definition_cards(cards)


def _primary_card(s: Mapping[str, Any]) -> dict[str, Any]:
    ec = s.get("economy_change") or {}
    prim = (ec.get("primary") or {}).get("proxy")
    ch = s.get("changes", {}).get(prim or "", {})
    if not prim:
        return {"label": "Primary economy proxy, change net of the pre-strength trend", "value": "not estimable",
                "note": ec.get("reason") or "no strength start yet"}
    est = ch.get("estimate")
    return {"label": f"Primary proxy ({s.get('proxies', {}).get(prim, {}).get('label', prim)}): change in the last "
                     "week net of the pre-strength trend",
            "value": fmt(est, 1, "%", signed=True) if est is not None else "not estimable",
            "note": (f"90 % interval {_ci(ch.get('ci90_low'), ch.get('ci90_high'), 1, ' %')}; "
                     f"n = {ch.get('n_runs', 0)} runs, {ch.get('n_weeks', 0)} weeks" if est is not None
                     else (ch.get("reason") or ""))}


def _lat_text(w: Mapping[str, Any]) -> str:
    b, u = w.get("bilateral_trained"), w.get("unilateral_trained")
    if b and u:
        return "bilateral and unilateral lifts trained"
    if b:
        return "bilateral lifts only (no unilateral)"
    if u:
        return "unilateral lifts only (no bilateral)"
    return "no lift of known laterality"


#: weeks before the first strength session that the strength charts still show (context)
LEAD_WEEKS = 8


def _strength_weeks(weeks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Weeks the strength charts show: from LEAD_WEEKS before the first strength session on (a decade of
    running-only weeks before it would squeeze the strength weeks into a sliver)."""
    sw = [w for w in weeks if w.get("sessions") is not None]
    first = next((i for i, w in enumerate(sw) if w.get("sessions")), None)
    return sw if first is None else sw[max(0, first - LEAD_WEEKS):]


def _adherence(s: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> list[Safe]:
    sw = _strength_weeks(weeks)
    target = sw[-1].get("target_sessions", 2) if sw else 2
    out = [el("h2", "Prescription adherence per week", id="adherence"), el("p", PRESCRIPTION),
           el("p", "A session meets the prescription when one exercise has 3-5 sets in the zone (3-5 reps at "
                   "80-100 % of that exercise's estimated 5RM); a week meets it with two such sessions. Streamed "
                   "barbell sets count in the training session they were lifted in.", class_="muted")]
    out.append(_fig(
        charts.adherence_chart([w["week_start"] for w in sw], [w.get("sessions", 0) for w in sw],
                               [w.get("zone_sets", 0) for w in sw], target_sessions=target,
                               meeting=[w.get("sessions_meeting_prescription", 0) for w in sw]),
        f"Light bars: strength sessions per week; dark hatched bars: sessions meeting the prescription "
        f"(n = {len(sw)} weeks{_from(sw, weeks)}); dashed line: the target of {target}; dots: sets of 3-5 reps at "
        "80-100 % of the exercise's estimated 5RM."))
    rows = []
    for w in reversed(sw[-16:]):
        undec = w.get("sessions_zone_undecidable", 0)
        rows.append([w["week_start"], f"{w.get('sessions', 0)} / {w.get('target_sessions', target)}",
                     f"{w.get('sessions_meeting_prescription', 0)} / {w.get('target_sessions', target)}"
                     + (f" ({undec} undecidable)" if undec else ""),
                     fmt(w.get("sets", 0)), fmt(w.get("zone_sets", 0)), fmt(w.get("sets_without_e5rm", 0)),
                     f"{fmt(w.get('bilateral_sets', 0))} / {fmt(w.get('unilateral_sets', 0))}",
                     ("yes" if w.get("bilateral_trained") and w.get("unilateral_trained") else
                      "no" if w.get("sessions") else "—"),
                     fmt(w.get("volume_load_kg"), 0, "kg")])
    out.append(table(["week (Mon)", "sessions / target", "sessions meeting prescription / target", "sets",
                      "zone sets", "sets without e5RM", "bilateral / unilateral sets", "both kinds trained",
                      "volume load"], rows,
                     caption=f"Latest {len(rows)} weeks (local weeks, {s.get('tz', 'UTC')})"))
    recent = [(w["week_start"], d) for w in sw[-4:] for d in (w.get("session_details") or [])]
    if recent:
        srows = []
        for _wk, d in reversed(recent):
            zs = d.get("zone_sets_by_exercise") or {}
            srows.append([d.get("local_date"), fmt(d.get("sets")),
                          ", ".join(f"{ex}: {n}" for ex, n in sorted(zs.items())) or "none",
                          "yes" if d.get("meets_prescription") else
                          ("undecidable (no e5RM)" if d.get("zone_undecidable") else "no"),
                          ("both" if d.get("bilateral") and d.get("unilateral") else
                           "bilateral only" if d.get("bilateral") else
                           "unilateral only" if d.get("unilateral") else "—")])
        out.append(table(["date (local)", "sets", "zone sets by exercise", "meets prescription",
                          "bilateral / unilateral lifts"], srows,
                         caption=f"Sessions of the latest {min(4, len(sw))} weeks (n = {len(srows)} sessions)"))
    if any(w.get("sets_without_e5rm") for w in sw):
        out.append(el("p", "Sets without an estimated 5RM for their exercise cannot be placed in or out of the "
                           "prescription zone; they count as volume only.", class_="muted"))
    return out


def _strength_load(rep: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> list[Safe]:
    sw = _strength_weeks(weeks)
    out = [el("h2", "Strength load and neuromuscular trends", id="strength")]
    out.append(_fig(
        charts.volume_chart([w["week_start"] for w in sw], [w.get("bilateral_volume_load_kg", 0.0) for w in sw],
                            [w.get("unilateral_volume_load_kg", 0.0) for w in sw]),
        f"Weekly volume load (sum of reps x kg), bilateral and unilateral, n = {len(sw)} weeks{_from(sw, weeks)}."))
    rfd = (rep.get("summary") or {}).get("rfd_sessions") or []
    out.append(el("p", RFD_CAVEAT, class_="caveat"))
    if rfd:
        for ex in sorted({r["exercise"] for r in rfd}):
            rr = [r for r in rfd if r["exercise"] == ex]
            n_reps = sum(r.get("n_reps", 0) for r in rr)
            nonpos = sum(r.get("n_rfd_0_100ms_nonpositive", 0) for r in rr)
            n_early = sum(r.get("n_rfd_0_100ms", 0) for r in rr)
            ecc = rr[0].get("eccentric_first")
            note = (ECCENTRIC_RFD_NOTE if ecc else CONCENTRIC_RFD_NOTE if ecc is False else UNKNOWN_RFD_NOTE)
            out.append(_fig(
                charts.rfd_chart(ex, rr), values_below=True, caption=
                [f"{ex}: median per session and load of the bar sensor's RFD (onset = concentric start), "
                 f"n = {len(rr)} session medians from {n_reps} reps"
                 + (f"; {nonpos} of {n_early} reps had an RFD 0-100 ms of zero or less" if nonpos else "")
                 + ". ", el("strong", note)]))
            rows = [[r.get("date"), fmt(r.get("load_kg"), 1, "kg"), fmt(r.get("n_reps")),
                     fmt(r.get("peak_rfd_median_n_per_s"), 0, "N/s"), fmt(r.get("rfd_0_100ms_median_n_per_s"), 0, "N/s")]
                    for r in reversed(rr[-12:])]
            out.append(table(["date (local)", "load", "reps", "peak RFD, median", "RFD 0-100 ms, median"], rows,
                             caption=f"{ex}: latest {len(rows)} session medians (experimental)"))
    else:
        out.append(el("p", "No barbell-sensor reps yet: RFD and velocity trends need streamed or replayed sets.",
                      class_="muted"))
    return out


def _lv(rep: Mapping[str, Any], s: Mapping[str, Any]) -> list[Safe]:
    out = [el("h2", "Load-velocity profile and estimated 1RM", id="load-velocity")]
    nm = s.get("neuromuscular") or {}
    profiles = nm.get("profiles") if isinstance(nm, Mapping) else None
    reps = [r for r in rep.get("barbell_reps", []) if r.get("mean_velocity_mps") is not None
            and r.get("load_kg") is not None]
    if profiles:
        for p in profiles:
            out.append(_fig(
                charts.lv_profile_chart(p.get("exercise", "?"), p.get("loads_kg", []), p.get("velocities_mps", []),
                                        line_points=p.get("line_points"), mvt_mps=p.get("mvt_mps"),
                                        e1rm_kg=p.get("e1rm_kg")),
                f"{p.get('exercise')}: e1RM {fmt(p.get('e1rm_kg'), 1, 'kg')}, e5RM {fmt(p.get('e5rm_kg'), 1, 'kg')}, "
                f"R² {fmt(p.get('r_squared'), 2)}; n = {p.get('n_sets', len(p.get('loads_kg', [])))} sets "
                f"(best rep each) at {p.get('n_loads', '?')} loads"
                + ("" if p.get("mvt_reliable", True) else "; velocity at 1RM unreliable for this lift, e1RM flagged")
                + (f". {p['note']}" if p.get("note") else "")))
        trend = nm.get("e1rm_trend") or []
        for ex in sorted({t["exercise"] for t in trend}):
            tt = [t for t in trend if t["exercise"] == ex]
            out.append(_fig(charts.series_chart(f"Estimated 1RM over time: {ex}", [t["date"] for t in tt],
                                                [t.get("e1rm_kg") for t in tt], ylabel="e1RM, kg"),
                            f"e1RM per training day from that day's load-velocity line (days with 3 or more "
                            f"loads), n = {_days(len(tt))}."))
        if not trend:
            out.append(el("p", "No e1RM trend yet: it needs training days with three or more loads of one lift.",
                          class_="muted"))
        vref = nm.get("velocity_at_reference_load") or []
        for ex in sorted({t["exercise"] for t in vref}):
            tt = [t for t in vref if t["exercise"] == ex]
            out.append(_fig(charts.series_chart(
                f"Velocity at the reference load: {ex} ({tt[0]['reference_load_kg']:g} kg)", [t["date"] for t in tt],
                [t.get("velocity_mps") for t in tt], ylabel="m/s"),
                f"Mean concentric velocity the day's profile predicts at {tt[0]['reference_load_kg']:g} kg, "
                f"n = {_days(len(tt))} (a neuromuscular marker)."))
    elif reps:
        by_ex: dict[str, list[Mapping[str, Any]]] = {}
        for r in reps:
            by_ex.setdefault(r.get("exercise") or "unknown", []).append(r)
        for ex, rr in by_ex.items():
            out.append(_fig(
                charts.lv_profile_chart(ex, [r["load_kg"] for r in rr], [r["mean_velocity_mps"] for r in rr],
                                        point_label="mean concentric velocity of each rep"),
                f"{ex}: mean concentric velocity of each rep against its load, n = {len(rr)} reps at "
                f"{len({r['load_kg'] for r in rr})} load(s). No profile line or e1RM in this build (the "
                "load-velocity analysis is not available)."))
    else:
        out.append(el("p", "No barbell-sensor reps yet: a load-velocity profile needs reps at three or more loads.",
                      class_="muted"))
    return out


def _economy(s: Mapping[str, Any], weeks: Sequence[Mapping[str, Any]]) -> list[Safe]:
    out = [el("h2", "Running-economy proxies over time", id="economy")]
    ref = s.get("reference_speed_mps")
    ec = s.get("economy_change") or {}
    out.append(el("p", "Weekly means of per-run proxies over steady segments (first 10 min dropped, steady speed, "
                       "flat or grade-adjusted, at least 20 min per run; runs with aerobic decoupling above 5 % left "
                       "out of the HR-based proxies). The shaded band is the baseline mean ± the typical error of the "
                       "baseline weeks (how much weekly means vary without any change); the dashed lines mark the "
                       "smallest worthwhile change, "
                       + (f"{ec['swc_pct']:g} % ({ec.get('swc_source', '')})." if ec.get("swc_pct") else "—.")
                       + (f" Reference speed for HR: {ref:.2f} m/s." if ref else "")))
    bands = s.get("reference_bands", {})
    base = s.get("baseline")
    for name, spec in s.get("proxies", {}).items():
        vals = [w.get(name) for w in weeks]
        n_runs = sum(w.get(f"{name}_n", 0) for w in weeks)
        n_weeks = sum(1 for v in vals if v is not None)
        b = bands.get(name)
        te = s.get("typical_error", {}).get(name, {})
        label = spec["label"]
        cap = (f"{label}, unit {spec['unit']}; {'higher' if spec['higher_is_better'] else 'lower'} is better "
               f"for the proxy. n = {n_runs} runs in {n_weeks} weeks.")
        hl = []
        if b:
            cap += (f" Band: baseline mean {b['baseline_mean']:.3g} ± typical error {b['typical_error']:.2f} % "
                    f"(n = {te.get('n_weeks', 0)} baseline weeks); dashed: ± smallest worthwhile change "
                    f"{b['swc']:g} %.")
            if b.get("swc_low") is not None:
                hl = [(b["swc_low"], "baseline ± smallest worthwhile change"),
                      (b["swc_high"], "baseline ± smallest worthwhile change")]
        else:
            cap += " No reference band: too few baseline weeks."
        out.append(_fig(charts.series_chart(
            f"Weekly {label}", [w["week_start"] for w in weeks], vals, ylabel=spec["unit"],
            band=(b["low"], b["high"]) if b else None, band_label="baseline ± typical error",
            baseline_end=base["last_week"] if base else None, hlines=hl), cap))
    return out


def _linkage(s: Mapping[str, Any]) -> list[Safe]:
    out = [el("h2", "Strength training and the economy proxies: the n-of-1 estimate", id="linkage")]
    changes = s.get("changes", {})
    proxies = s.get("proxies", {})
    ec = s.get("economy_change") or {}
    prim = ec.get("primary") or {}
    pname = prim.get("proxy")
    st = ec.get("strength_start") or {}
    if pname:
        pc = changes.get(pname, {})
        head = [el("strong", f"Primary proxy: {prim.get('label', pname)}"),
                f" (chosen {('by the rule' if prim.get('source') == 'rule' else 'by the user')} on "
                f"{prim.get('decided_on')}, {prim.get('frozen', '')}; {prim.get('why', '')}). "]
        if pc.get("estimate") is not None:
            head += [f"Change in the last observed week ({pc.get('last_week')}, {pc.get('weeks_since_start')} weeks "
                     f"after the strength start of {st.get('week_start')}), net of the pre-strength level and "
                     f"trend: {pc['estimate']:+.1f} % (90 % interval {pc['ci90_low']:+.1f} to {pc['ci90_high']:+.1f} %), "
                     f"n = {pc.get('n_runs')} runs over {pc.get('n_weeks')} weeks. ",
                     el("strong", _reading(pc.get("wording"))), "."]
        else:
            head.append(f"No estimate: {pc.get('reason') or 'too few weeks'}.")
        out.append(el("p", head))
        te = (s.get("typical_error", {}).get(pname) or {}).get("typical_error")
        out.append(el("p", [f"Typical error of the baseline weeks: {fmt(te, 2)} % (Hopkins 2000: SD of week-to-week "
                            f"differences / √2). Smallest worthwhile change: {ec.get('swc_pct', 0):g} %, "
                            f"{ec.get('swc_source', '')}; it is an outside criterion, not derived from this "
                            "athlete's noise."]))
        if ec.get("sensitivity"):
            out.append(el("p", ["Sensitivity: ", ec["sensitivity"].get("text", "")]))
        out.append(el("p", ec.get("multiplicity", ""), class_="muted"))
    elif ec.get("reason"):
        out.append(el("p", f"No estimate: {ec['reason']}."))
    out.append(el("div", el("p", s.get("literature_caveat", "")), el("ul", [
        el("li", f"{x.get('source')}: {x.get('note', '')}") for x in s.get("literature", [])
    ]), el("p", "Laboratory studies report about 2-8 % lower oxygen cost after 4 weeks or more of added strength "
                "training (Blagrove et al. 2018). This is shown as context beside the estimates, not as a band on "
                "the proxies' scale."), class_="context", role="note"))
    names = [n for n in proxies if changes.get(n, {}).get("estimate") is not None]
    out.append(_fig(charts.interval_chart(
        "Change in the last observed week net of the pre-strength trend, % with 90 % interval",
        [proxies[n]["label"] + (" (primary)" if n == pname else "") for n in names],
        [changes[n].get("estimate") for n in names],
        [changes[n].get("ci90_low") for n in names], [changes[n].get("ci90_high") for n in names],
        xlabel="change in the proxy, % (not a change in oxygen cost)"),
        "Diamonds: estimated change in the last observed week against the pre-strength level and trend "
        "extrapolated to it; bars: 90 % intervals. An interval crossing 0 is not distinguishable from no change."))
    rows = []
    for n, spec in proxies.items():
        c = changes.get(n, {})
        u = _unit(c.get("units"))
        rows.append([spec["label"], c.get("role", "—"),
                     fmt(c.get("estimate"), 2, signed=True) + (u if c.get("estimate") is not None else ""),
                     _ci(c.get("ci90_low"), c.get("ci90_high"), 2, u), fmt(c.get("n_runs")),
                     f"{c.get('n_baseline_weeks', 0)} + {c.get('n_block_weeks', 0)}",
                     ", ".join(c.get("covariates") or []) or "none", _reading(c.get("wording"))])
    out.append(table(["proxy", "role", "change", "90 % interval", "n runs", "weeks (baseline + block)",
                      "adjusted for", "reading"], rows,
                     caption="Change in the last observed week against the pre-strength course"))
    if ec:
        out.append(el("p", [f"Method {ec.get('method_version', '')}: {ec.get('model', '')}; errors: "
                            + ("AR(1) weeks plus run noise by REML, generalised least squares, Kenward-Roger "
                               "small-sample interval" if ec.get("se_method") == "ar1_gls" else
                               "Newey-West HAC") +
                            ". Run-level covariates (heat: air temperature when known, else the watch's skin-warmed "
                            "reading with a higher threshold; a run within 24 h after a heavy lower-body session, "
                            "Doma et al. 2015; running form; start hour) are adjusted within weeks; shoe and HR-sensor "
                            "changes and running volume enter the weekly model. Validated on independent synthetic "
                            "athletes (docs/statistics.md)."], class_="muted"))
    disc = ec.get("disclosures") or []
    if disc:
        out.append(el("h3", "What this estimate cannot tell apart from an effect"))
        out.append(el("ul", [el("li", [el("strong", ("Applies here: " if d.get("applies") else "")), d.get("text", "")])
                             for d in disc]))
    ex = ec.get("excluded_from_proxies") or []
    if ex:
        out.append(el("p", f"{len(ex)} run(s) left out of the HR-based proxies because their aerobic decoupling "
                           "exceeded 5 % (not a steady state; decoupling is a quality flag, not an outcome); they "
                           "are listed in report.json (economy_change.excluded_from_proxies).", class_="muted"))
    out.append(el("p", "Readings say \"consistent with\" or \"not distinguishable from\": this is one athlete's "
                       "observational data, an association that other changes (season, heat, fitness, sensors, "
                       "shoes) can also produce. It is never evidence that strength training caused a change.",
                  class_="caveat"))
    return out


def _load(s: Mapping[str, Any]) -> list[Safe]:
    d = s.get("daily", [])
    out = [el("h2", "Running load", id="load")]
    out.append(_fig(charts.load_chart([x["date"] for x in d], [x["ctl"] for x in d], [x["atl"] for x in d],
                                      [x["tsb"] for x in d]),
                    f"Banister TRIMP per day from heart rate and the athlete profile, n = {len(d)} days; CTL and ATL "
                    "are 42- and 7-day exponentially weighted averages, TSB = CTL - ATL."))
    return out


def summary_sections(rep: Mapping[str, Any]) -> list[Safe]:
    s = rep.get("summary") or {}
    weeks = s.get("weeks", [])
    out: list[Safe] = [el("h2", "Headline", id="headline"), _cards(s, weeks)]
    out += _adherence(s, weeks)
    out += _strength_load(rep, weeks)
    out += _lv(rep, s)
    out += _economy(s, weeks)
    out += _linkage(s)
    out += _load(s)
    if s.get("notes"):
        out.append(el("h3", "Notes from the analysis"))
        out.append(el("ul", [el("li", n) for n in s["notes"]]))
    return out
