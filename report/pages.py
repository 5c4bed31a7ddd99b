"""The report's pages: the index and one page per athlete, rendered from the templates in
``report/templates`` (``index.html.j2``, ``athlete.html.j2`` and the section templates) with the
view models built here and in :mod:`report.sections`. Every number shown comes from the dicts
:mod:`report.build` assembled from the analysis (the same numbers are in ``report.json``); every
string is escaped by the templates' autoescape (:mod:`report.templating`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from report import sections
from report.templating import render_page
from report.text import day, fmt, km, minutes, when

NO_DATE = "no date (device clock)"


def _when_row(r: Mapping[str, Any]) -> str:
    """A row's start time, or that it has none: a device-relative FIT clock's 1970-based time is not a date."""
    return NO_DATE if r.get("time_reference", "utc") != "utc" else when(r.get("started_at"))


def _health_counts(rep: Mapping[str, Any]) -> tuple[int, int, int, int]:
    h = rep.get("data_health", {})
    excluded_auto = sum(1 for r in rep.get("runs", []) if r["status"] != "ok" and not r["excluded_by_user"])
    return (
        len(h.get("files_failed", [])),
        len(h.get("runs_excluded_by_user", [])) + excluded_auto,
        len(h.get("sessions_with_gaps", [])),
        len(h.get("files_partial", [])),
    )


# ------------------------------------------------------------------------------------------
# index
# ------------------------------------------------------------------------------------------


def index_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The index's view model: the athletes table's rows (the first cell a link ``{"href", "text"}``)."""
    rows = []
    for rep in doc["athletes"]:
        failed, excluded, gaps, partial = _health_counts(rep)
        c = rep.get("counts", {})
        label = rep["athlete"] + (" (simulated data)" if rep.get("simulated", {}).get("simulated_activities") else "")
        rows.append(
            [
                {"href": rep["page"], "text": label},
                fmt(c.get("runs")),
                fmt(c.get("strength_sets")),
                fmt(c.get("stream_sessions")),
                when(rep.get("last_import_at")),
                f"{failed} failed, {partial} partial",
                str(excluded),
                str(gaps),
            ]
        )
    nightly = doc.get("last_nightly")
    return {
        "title": "runstrong report",
        "generated": when(doc.get("generated_at")),
        "since": day(doc.get("since")) if doc.get("since") else None,
        "last_nightly": when(nightly.get("started_at")) if nightly else None,
        "rows": rows,
    }


def index_page(doc: Mapping[str, Any], *, templates_dir: Path | str | None = None) -> str:
    return render_page("index.html.j2", index_view(doc), templates_dir=templates_dir)


# ------------------------------------------------------------------------------------------
# athlete page
# ------------------------------------------------------------------------------------------


def data_quality(rep: Mapping[str, Any]) -> dict[str, Any]:
    """Rows of the data-quality tables (files failed and partial, runs excluded by the user and runs
    without proxies, streamed sessions with gaps) and the number of files skipped."""
    h = rep.get("data_health", {})
    auto = [r for r in rep.get("runs", []) if r["status"] != "ok" and not r["excluded_by_user"]]
    return {
        "files_failed": [
            [f["path"], f.get("reason"), fmt(f.get("attempts")), when(f.get("logged_at"))]
            for f in h.get("files_failed", [])
        ],
        "files_partial": [[f["path"], f.get("reason")] for f in h.get("files_partial", [])],
        "files_skipped": h.get("files_skipped") or 0,
        "excluded_by_user": [
            [r.get("name") or r["activity_id"], _when_row(r), r.get("reason")]
            for r in h.get("runs_excluded_by_user", [])
        ],
        "without_proxies": [[r.get("name") or r["activity_id"], _when_row(r), r.get("reason")] for r in auto],
        "sessions_with_gaps": [
            [
                g["session_id"],
                when(g.get("started_at")),
                g.get("exercise"),
                fmt(g.get("gaps")),
                fmt(g.get("gap_s"), 1, "s"),
                fmt(g.get("lost_samples")),
                g.get("status"),
            ]
            for g in h.get("sessions_with_gaps", [])
        ],
        "ledger": ledger_quality(rep),
    }


def ledger_quality(rep: Mapping[str, Any]) -> dict[str, Any] | None:
    """The strength ledger's data-quality items (``summary.strength_ledger.data_quality``): ``line`` (one
    sentence with the counts and the unmapped names), ``unmapped``, ``merged`` and ``deleted`` rows,
    ``conflicts`` and ``warnings``; None without a ledger."""
    led = (rep.get("summary") or {}).get("strength_ledger") or {}
    dq = led.get("data_quality")
    if not led.get("sessions") or dq is None:
        return None
    unmapped = dq.get("unmapped_exercises") or []
    merged = dq.get("merged_sessions") or []
    names = ", ".join(u["name"] for u in unmapped[:8]) + (f" and {len(unmapped) - 8} more" if len(unmapped) > 8 else "")
    line = (
        f"Strength ledger: {len(unmapped)} exercise name(s) not mapped to the exercise vocabulary"
        + (f" ({names}; correct --set ID --exercise EX maps one)" if unmapped else "")
        + f"; {len(merged)} of {led.get('counts', {}).get('sessions', 0)} training sessions merged across sources"
        + f"; {dq.get('exercise_conflicts', 0)} set(s) whose sources named different exercises."
    )
    return {
        "line": line,
        "unmapped": [[u["name"], fmt(u.get("sets")), ", ".join(u.get("sources") or [])] for u in unmapped],
        "merged": [
            [m.get("local_date"), m.get("title") or "—", " + ".join(m.get("sources") or []), fmt(m.get("sets"))]
            for m in reversed(merged)
        ],
        "deleted": [
            [d.get("local_date"), d.get("title") or "—", ", ".join(d.get("deleted_in_app") or [])]
            for d in dq.get("deleted_in_app") or []
        ],
        "warnings": list(dq.get("warnings") or []),
    }


def runs_table(rep: Mapping[str, Any]) -> dict[str, Any]:
    """The latest 60 runs, newest first, with their proxies and status; ``n_total`` runs in all."""
    runs = rep.get("runs", [])
    rows = []
    for r in reversed(runs[-60:]):
        status = (
            "excluded: " + (r.get("excluded_reason") or "")
            if r["excluded_by_user"]
            else ("ok" if r["status"] == "ok" else r["status"])
        )
        rows.append(
            [
                _when_row(r)[:10] if r.get("time_reference", "utc") == "utc" else NO_DATE,
                r.get("name") or "—",
                minutes(r.get("duration_s")),
                km(r.get("distance_m")),
                fmt(r.get("ef_proxy"), 3),
                fmt(r.get("speed_per_w_per_kg"), 3),
                fmt(r.get("decoupling_pct"), 1, "%"),
                fmt(r.get("mean_temperature_c"), 0, "°C"),
                status,
            ]
        )
    return {"rows": rows, "n_total": len(runs)}


def athlete_view(rep: Mapping[str, Any], *, generated_at: str | None = None) -> dict[str, Any]:
    """The athlete page's view model: the head of the page, every section's view model, runs, data quality."""
    athlete = rep["athlete"]
    sim = rep.get("simulated", {})
    simulated = None
    if sim.get("simulated_activities"):
        simulated = {"simulated_activities": sim["simulated_activities"], "activities": sim["activities"]}
    return {
        "title": f"runstrong: {athlete}" + (" (SIMULATED data)" if simulated else ""),
        "athlete": athlete,
        "simulated": simulated,
        "generated": when(generated_at),
        "first_activity": day(rep.get("first_activity_at")),
        "last_activity": day(rep.get("last_activity_at")),
        "last_import": when(rep.get("last_import_at")),
        **sections.summary_sections(rep),
        "runs": runs_table(rep),
        "data_quality": data_quality(rep),
    }


def athlete_page(
    rep: Mapping[str, Any], *, generated_at: str | None = None, templates_dir: Path | str | None = None
) -> str:
    return render_page("athlete.html.j2", athlete_view(rep, generated_at=generated_at), templates_dir=templates_dir)
