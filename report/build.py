"""The report's content from the numbers it is handed: ``report.json`` and the HTML files.

Rendering only (docs/report.md): the report job (:mod:`jobs.report`) reads the store, runs the
analysis and hands this module each athlete's rows and results; :func:`athlete_section` shapes
them into the athlete's ``report.json`` section, :func:`report_document` the whole document, and
:func:`render_files` turns the document into the files of a report folder (one page per athlete,
``index.html`` and ``report.json``). Every instant in ``report.json`` is ISO-8601 UTC with a ``Z``
(:func:`records.times.iso_z`); dates (weeks, local days) stay dates.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.economy import RunEconomy
from records.times import iso_z

#: bump when the report's content changes: an unchanged store is then still re-rendered
REPORT_VERSION = 4
PAGE_PREFIX = "athlete-"
REPORT_FILES = ("index.html", "report.json", "index.html.tmp", "report.json.tmp")


def page_name(athlete: str) -> str:
    """File name of an athlete's page (slugs are validated upstream; sanitised again here)."""
    return PAGE_PREFIX + re.sub(r"[^a-z0-9_-]", "_", athlete.lower()) + ".html"


def is_report_file(name: str) -> bool:
    """True for the name of a file a report folder holds (or an interrupted write of one)."""
    return name in REPORT_FILES or (name.startswith(PAGE_PREFIX) and name.endswith((".html", ".tmp")))


def json_safe(x: Any) -> Any:
    """``x`` as JSON-ready values: numpy scalars and arrays as Python ones, non-finite floats as
    None, instants as ISO-8601 UTC with ``Z``, dates as ``YYYY-MM-DD``."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return [json_safe(v) for v in x.tolist()]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        f = float(x)
        return f if np.isfinite(f) else None
    if isinstance(x, dt.datetime):
        return iso_z(x)
    if isinstance(x, dt.date):
        return x.isoformat()
    return x


def athlete_section(
    row: Mapping[str, Any],
    *,
    profile: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    economies: Sequence[RunEconomy],
    reps: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    data_health: Mapping[str, Any],
    simulated: Mapping[str, Any],
) -> dict[str, Any]:
    """One athlete's ``report.json`` section (what the athlete's page shows)."""
    athlete = row["athlete"]
    run_rows = []
    for r, e in zip(runs, economies, strict=True):
        run_rows.append(
            {
                "activity_id": r["activity_id"],
                "started_at": r["started_at"],
                "name": r["name"],
                "duration_s": r["duration_s"],
                "distance_m": r["distance_m"],
                "excluded_by_user": r["excluded_reason"] is not None,
                "excluded_reason": r["excluded_reason"],
                "time_reference": r.get("time_reference", "utc"),
                "status": e.status,
                "reason": e.reason,
                "ef_proxy": e.ef_proxy,
                "hr_at_reference_speed_bpm": e.hr_at_reference_speed_bpm,
                "speed_per_w_per_kg": e.speed_per_w_per_kg,
                "decoupling_pct": e.decoupling_pct,
                "mean_temperature_c": e.mean_temperature_c,
                "trimp": e.trimp,
                "notes": e.notes,
            }
        )
    section: dict[str, Any] = json_safe(
        {
            "athlete": athlete,
            "page": page_name(athlete),
            "simulated": simulated,
            "profile": dict(profile),
            "counts": {
                k: row.get(k)
                for k in (
                    "activities",
                    "runs",
                    "strength_sets",
                    "stream_sessions",
                    "files_imported",
                    "files_failed",
                    "app_sessions",
                    "app_sets",
                )
            },
            "first_activity_at": row.get("first_activity_at"),
            "last_activity_at": row.get("last_activity_at"),
            "last_import_at": row.get("last_import_at"),
            "data_health": data_health,
            "runs": run_rows,
            "barbell_reps": [
                {
                    k: r.get(k)
                    for k in (
                        "session_id",
                        "set_index",
                        "rep_index",
                        "exercise",
                        "load_kg",
                        "started_at",
                        "mean_velocity_mps",
                        "peak_velocity_mps",
                        "peak_rfd_n_per_s",
                        "rfd_0_100ms_n_per_s",
                        "velocity_loss_pct",
                    )
                }
                | {"started_at": r.get("started_at") or r.get("session_started_at")}
                for r in reps
            ],
            "summary": summary,
        }
    )
    return section


def report_document(
    athletes: Sequence[Mapping[str, Any]],
    *,
    generated_at: dt.datetime,
    since: dt.datetime | None,
    fingerprint: Mapping[str, Any],
    last_nightly: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The whole ``report.json`` document."""
    return {
        "format": "runstrong-report",
        "version": REPORT_VERSION,
        "generated_at": json_safe(generated_at),
        "since": json_safe(since),
        "fingerprint": json_safe(dict(fingerprint)),
        "last_nightly": json_safe(last_nightly),
        "athletes": list(athletes),
    }


def render_files(doc: Mapping[str, Any], *, templates_dir: Path | str | None = None) -> dict[str, str]:
    """The files of a report folder, name -> text: one page per athlete, ``index.html``, ``report.json``.
    ``templates_dir``: a folder whose templates replace the package's of the same name
    (:mod:`report.templating`)."""
    from report import pages

    files = {
        rep["page"]: pages.athlete_page(rep, generated_at=doc["generated_at"], templates_dir=templates_dir)
        for rep in doc["athletes"]
    }
    files["index.html"] = pages.index_page(doc, templates_dir=templates_dir)
    files["report.json"] = json.dumps(doc, indent=1, allow_nan=False, default=str)
    return files
