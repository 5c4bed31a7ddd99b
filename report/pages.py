"""The report's pages: the index and one page per athlete. Rendering only: every number shown
comes from the dicts :mod:`report.build` assembled from the analysis (the same numbers are in
``report.json``); strings from FIT files or users are escaped by :mod:`report.html`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from report.html import Safe, el, fmt, page, table

LITERATURE_TEXT = (
    "Context from the literature (not on this page's scale): heavy or explosive strength training added to "
    "running improved laboratory running economy, the oxygen cost of running, by about 2-8 % in most studies "
    "of 4 weeks or more (Blagrove et al. 2018, Sports Med 48:1117; Yamamoto et al. 2008: 4.6 %; Denadai et al. 2016: heavy -3.65 %, explosive -4.83 % oxygen cost; "
    "Balsalobre-Fernández et al. 2016: standardised mean difference -1.42)."
)
PROXY_CAVEAT = (
    "Everything on this page about economy is a proxy computed from watch data (heart rate, speed, grade, "
    "power), not running economy itself, which is oxygen cost and needs a laboratory. Heart rate is not "
    "proportional to oxygen uptake, so a percentage change in an HR-based proxy is not a percentage change in "
    "running economy. Heat, time of day, fatigue, illness and sensor changes move these proxies too."
)


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


NO_DATE = "no date (device clock)"


def _when_row(r: Mapping[str, Any]) -> str:
    """A row's start time, or that it has none: a device-relative FIT clock's 1970-based time is not a date."""
    return NO_DATE if r.get("time_reference", "utc") != "utc" else _when(r.get("started_at"))


def _day(iso: str | None) -> str:
    return _when(iso)[:10] if iso else "—"


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.0f} min"


def _km(m: float | None) -> str:
    return "—" if m is None else f"{m / 1000:.2f} km"


def _health_counts(rep: Mapping[str, Any]) -> tuple[int, int, int, int]:
    h = rep.get("data_health", {})
    excluded_auto = sum(1 for r in rep.get("runs", []) if r["status"] != "ok" and not r["excluded_by_user"])
    return (len(h.get("files_failed", [])), len(h.get("runs_excluded_by_user", [])) + excluded_auto,
            len(h.get("sessions_with_gaps", [])), len(h.get("files_partial", [])))


# ------------------------------------------------------------------------------------------
# index
# ------------------------------------------------------------------------------------------


def index_page(doc: Mapping[str, Any]) -> str:
    rows = []
    for rep in doc["athletes"]:
        failed, excluded, gaps, partial = _health_counts(rep)
        c = rep.get("counts", {})
        label = rep["athlete"] + (" (simulated data)" if rep.get("simulated", {}).get("simulated_activities") else "")
        rows.append([
            el("a", label, href=rep["page"]),
            fmt(c.get("runs")),
            fmt(c.get("strength_sets")),
            fmt(c.get("stream_sessions")),
            _when(rep.get("last_import_at")),
            f"{failed} failed, {partial} partial",
            str(excluded),
            str(gaps),
        ])
    nightly = doc.get("last_nightly")
    body = [
        el("h1", "runstrong report"),
        el("p", f"Generated {_when(doc.get('generated_at'))}. "
                + (f"Data since {_day(doc.get('since'))} only. " if doc.get("since") else "")
                + (f"Last nightly run completed before this report: {_when(nightly.get('started_at'))}." if nightly
                   else "No nightly run logged yet."),
           class_="muted"),
        el("h2", "Athletes and data health"),
        table(["athlete", "runs", "strength sets", "barbell sessions", "last import", "files with problems",
               "runs excluded from economy", "stream sessions with gaps"], rows,
              caption=f"{len(rows)} athlete(s); each name links to that athlete's page"),
        el("p", "The numbers behind every chart are in ", el("a", "report.json", href="report.json"), ".",
           class_="muted"),
        el("footer", "runstrong: strength training for runners. Economy values are proxies; see each page."),
    ]
    return page("runstrong report", body)


# ------------------------------------------------------------------------------------------
# athlete page
# ------------------------------------------------------------------------------------------


def _data_quality(rep: Mapping[str, Any]) -> list[Safe]:
    h = rep.get("data_health", {})
    out = [el("h2", "Data quality", id="data-quality")]
    failed = h.get("files_failed", [])
    out.append(table(["file", "problem", "attempts", "last attempt"],
                     [[f["path"], f.get("reason"), fmt(f.get("attempts")), _when(f.get("logged_at"))] for f in failed],
                     caption=f"Files that failed to import (n = {len(failed)}); nightly retries them until they "
                             "are imported or removed"))
    partial = h.get("files_partial", [])
    out.append(table(["file", "problem"], [[f["path"], f.get("reason")] for f in partial],
                     caption=f"Files only partly readable, readable part kept (n = {len(partial)})"))
    if h.get("files_skipped"):
        out.append(el("p", f"{h['files_skipped']} file(s) were skipped as not activity files (settings, "
                           "monitoring, workouts).", class_="muted"))
    user_ex = h.get("runs_excluded_by_user", [])
    out.append(table(["run", "started", "reason"],
                     [[r.get("name") or r["activity_id"], _when_row(r), r.get("reason")] for r in user_ex],
                     caption=f"Runs excluded from the economy analysis by the user or, for files without a calendar "
                             f"date, automatically (n = {len(user_ex)})"))
    auto = [r for r in rep.get("runs", []) if r["status"] != "ok" and not r["excluded_by_user"]]
    out.append(table(["run", "started", "why no proxy"],
                     [[r.get("name") or r["activity_id"], _when_row(r), r.get("reason")] for r in auto],
                     caption=f"Runs without economy proxies (not steady or not measurable enough, n = {len(auto)})"))
    gaps = h.get("sessions_with_gaps", [])
    out.append(table(["barbell session", "started", "exercise", "gaps", "gap time", "lost samples", "status"],
                     [[g["session_id"], _when(g.get("started_at")), g.get("exercise"), fmt(g.get("gaps")),
                       fmt(g.get("gap_s"), 1, "s"), fmt(g.get("lost_samples")), g.get("status")] for g in gaps],
                     caption=f"Streamed sessions with link gaps or lost samples (n = {len(gaps)})"))
    return out


def _runs_table(rep: Mapping[str, Any]) -> list[Safe]:
    runs = rep.get("runs", [])
    rows = []
    for r in reversed(runs[-60:]):
        status = "excluded: " + (r.get("excluded_reason") or "") if r["excluded_by_user"] else (
            "ok" if r["status"] == "ok" else r["status"])
        rows.append([_when_row(r)[:10] if r.get("time_reference", "utc") == "utc" else NO_DATE, r.get("name") or "—", _minutes(r.get("duration_s")),
                     _km(r.get("distance_m")), fmt(r.get("ef_proxy"), 3), fmt(r.get("speed_per_w_per_kg"), 3),
                     fmt(r.get("decoupling_pct"), 1, "%"), fmt(r.get("mean_temperature_c"), 0, "°C"), status])
    return [
        el("h2", "Runs", id="runs"),
        table(["date", "name", "time", "distance", "EF proxy", "speed per W/kg (proxy)", "decoupling",
               "temperature", "status"], rows,
              caption=f"Latest {len(rows)} of {len(runs)} runs (per-run proxies over steady segments)"),
    ]


def athlete_page(rep: Mapping[str, Any], *, generated_at: str | None = None) -> str:
    from report import sections

    athlete = rep["athlete"]
    sim = rep.get("simulated", {})
    body: list[Any] = [el("p", el("a", "← all athletes", href="index.html"))]
    title = f"runstrong: {athlete}"
    if sim.get("simulated_activities"):
        title += " (SIMULATED data)"
        body.append(el("div", f"SIMULATED DATA: {sim['simulated_activities']} of {sim['activities']} activities on "
                              "this page come from the runstrong simulator, not from a real athlete.",
                       class_="banner", role="note"))
    body.append(el("h1", f"Athlete {athlete}"))
    body.append(el("p", f"Generated {_when(generated_at)}. Data from {_day(rep.get('first_activity_at'))} to "
                        f"{_day(rep.get('last_activity_at'))}; last import {_when(rep.get('last_import_at'))}.",
                   class_="muted"))
    body.append(el("p", PROXY_CAVEAT, class_="caveat"))
    body.extend(sections.summary_sections(rep))
    body.extend(_runs_table(rep))
    body.extend(_data_quality(rep))
    body.append(el("footer", "All times UTC unless marked local. n = number of runs, weeks or sets behind a value. "
                             "The numbers behind every chart are in report.json."))
    return page(title, body)
