"""The report job, ``report --out DIR``: ``index.html``, one self-contained page per athlete, and
``report.json``.

Data flow: store (``store.readers`` / ``store.report_queries``, read-only but for the proxy cache
and the ``run_log`` row) -> analysis (``analysis.economy.run_economy`` per run, cached in
``run_metric``; ``analysis.athlete_summary`` through ``report.summary`` for everything aggregated)
-> rendering (:mod:`report.build`, :mod:`report.pages`, :mod:`report.charts`) -> the report folder,
replaced atomically (``store.snapshot_dir``). This module computes no statistics: it selects,
caches and hands numbers through.

Re-runs are fast: per-run proxies are cached in ``run_metric`` under
(athlete, activity_id, :data:`ECONOMY_ALGO_VERSION`) together with the profile parameters they
depend on, so only new or changed runs are decoded from ``record`` again; with
``reuse_unchanged=True`` (nightly) a report whose store fingerprint matches the one in the
existing ``report.json`` is left as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.economy import RunEconomy, run_economy
from jobs.ledger import load_ledger
from records.runs import RunRecords
from records.times import iso_z
from report.build import (
    REPORT_VERSION,
    athlete_section,
    is_report_file,
    json_safe,
    render_files,
    report_document,
)
from report.templating import environment, templates_fingerprint
from store import readers
from store import report_queries as rq
from store.connection import Connection
from store.snapshot_dir import OutputDirError, replaced_atomically, write_new_file

#: bump when the per-run proxy computation (or its inputs) changes: cached rows are recomputed
ECONOMY_ALGO_VERSION = 1
#: per-run proxies recomputed per batch of this many runs (bounded memory on 2-year histories)
RECORD_BATCH = 100


def _economy_params(profile: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "algo_version": ECONOMY_ALGO_VERSION,
        "body_mass_kg": profile.get("body_mass_kg"),
        "tz": profile.get("tz") or "UTC",
        "hr_rest_bpm": profile.get("hr_rest_bpm"),
        "hr_max_bpm": profile.get("hr_max_bpm"),
        "sex": profile.get("sex"),
    }


def run_economies(
    con: Connection,
    athlete: str,
    runs: list[dict[str, Any]],
    profile: Mapping[str, Any],
    *,
    on_runs: Callable[[int], None] | None = None,
) -> tuple[list[RunEconomy], int]:
    """Per-run proxies for ``runs`` (rows of :func:`store.report_queries.run_activities`), from the
    ``run_metric`` cache where valid, else computed with :func:`analysis.economy.run_economy` and
    cached. Returns (economies in the order of ``runs``, number computed now). ``on_runs(n)`` is told
    of every ``n`` runs done (the cached ones at once, then each computed one)."""
    advance = on_runs or (lambda n: None)
    params = _economy_params(profile)
    cached = rq.get_run_metrics(con, athlete, ECONOMY_ALGO_VERSION)
    out: dict[str, RunEconomy] = {}
    todo: list[str] = []
    for r in runs:
        p = cached.get(r["activity_id"])
        if p is not None and p.get("params") == params:
            out[r["activity_id"]] = RunEconomy(**p["economy"])
        else:
            todo.append(r["activity_id"])
    if len(runs) > len(todo):
        advance(len(runs) - len(todo))
    bm = params["body_mass_kg"]
    bm = bm if bm is not None and 20 <= bm <= 250 else None
    hr_ok = None not in (params["hr_rest_bpm"], params["hr_max_bpm"], params["sex"])
    for i in range(0, len(todo), RECORD_BATCH):
        chunk = todo[i : i + RECORD_BATCH]
        loaded = {
            r.activity_id: r for r in readers.run_records(con, athlete, activity_ids=chunk, include_excluded=True)
        }
        fresh: dict[str, dict[str, Any]] = {}
        for aid in chunk:
            rec = loaded.get(aid) or RunRecords.from_arrays(aid, np.zeros(0, dtype=np.int64))
            econ = run_economy(
                rec,
                body_mass_kg=bm,
                tz=params["tz"],
                hr_rest_bpm=params["hr_rest_bpm"] if hr_ok else None,
                hr_max_bpm=params["hr_max_bpm"] if hr_ok else None,
                sex=params["sex"] if hr_ok else None,
            )
            out[aid] = econ
            fresh[aid] = {"params": params, "economy": json_safe(econ.to_dict())}
            advance(1)
        rq.put_run_metrics(con, athlete, ECONOMY_ALGO_VERSION, fresh)
    return [out[r["activity_id"]] for r in runs], len(todo)


DEVICE_CLOCK_REASON = (
    "device-relative clock: the FIT file has no calendar date (time since the device was "
    "reset), so the run cannot be placed in a week; excluded from time-based analysis"
)


def _undated(e: RunEconomy) -> RunEconomy:
    """A run on a device-relative FIT clock: listed with the reason, never placed on the calendar
    (its 1970-based date would stretch the weekly series over decades)."""
    return dataclasses.replace(
        e,
        status="excluded",
        reason=DEVICE_CLOCK_REASON,
        started_at_ns=None,
        local_date=None,
        local_hour=None,
        trimp=None,
    )


def _profile(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("body_mass_kg", "sex", "hr_rest_bpm", "hr_max_bpm", "tz")}


def _fingerprint(con: Connection, since: dt.datetime | None, templates_dir: Path | str | None = None) -> dict[str, Any]:
    fp = rq.fingerprint(con)
    fp.update({"report_version": REPORT_VERSION, "economy_algo_version": ECONOMY_ALGO_VERSION, "since": iso_z(since)})
    if templates_dir is not None:  # edited templates are a change too (only then: the key is absent without)
        fp["templates"] = templates_fingerprint(templates_dir)
    return fp


def _unchanged(out: Path, fp: Mapping[str, Any]) -> dict[str, Any] | None:
    rj = out / "report.json"
    if not (rj.is_file() and (out / "index.html").is_file()):
        return None
    try:
        old = json.loads(rj.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict):
        return None
    if old.get("fingerprint") != json_safe(dict(fp)):
        return None
    pages = [out / a.get("page", "") for a in old.get("athletes", [])]
    if not all(p.is_file() for p in pages):
        return None
    return old


def _check_previous_report(folder: Path) -> None:
    """A plain folder at ``--out`` may be replaced only if it holds nothing but a previous report."""
    for p in folder.iterdir():
        if not (p.is_file() and not p.is_symlink() and is_report_file(p.name)):
            raise OutputDirError(
                f"refusing to replace {folder}: {p.name} is not part of a runstrong report "
                "(give an empty or new folder)"
            )


def athlete_report(
    con: Connection, row: Mapping[str, Any], *, since: dt.datetime | None, steps: _Steps | None = None
) -> dict[str, Any]:
    """Everything one athlete's page and report.json section show (numbers from the analysis),
    plus ``_runs_computed``: the runs whose proxies were computed now (not cached)."""
    from report.summary import summarise

    athlete = row["athlete"]
    profile = _profile(row)
    runs = rq.run_activities(con, athlete, since=since)
    if steps is not None:
        steps.listed(athlete, len(runs))
    econ, computed = run_economies(con, athlete, runs, profile, on_runs=steps.advance if steps else None)
    econ = [_undated(e) if r.get("time_reference", "utc") != "utc" else e for r, e in zip(runs, econ, strict=True)]
    sets = rq.strength_sets(con, athlete, since=since)
    reps = rq.reps(con, athlete, since=since)
    inputs = rq.economy_inputs(con, athlete)
    strength = load_ledger(con, athlete, tz=profile.get("tz") or "UTC")
    ledger = strength.ledger
    if since is not None:  # reconciled over all data (merges do not depend on --since), shown from --since
        since_ns = int(since.timestamp()) * 1_000_000_000
        ledger = dataclasses.replace(ledger, sessions=tuple(s for s in ledger.sessions if s.start_ns >= since_ns))
    summary = summarise(
        athlete=athlete,
        profile=profile,
        runs=runs,
        economies=econ,
        sets=sets,
        reps=reps,
        reference_loads=rq.reference_loads(con, athlete),
        run_context=inputs["run_context"],
        events=inputs["events"],
        settings=inputs["settings"],
        ledger=ledger,
        deleted_in_app=sorted(strength.deleted_in_app()),
    )
    section = athlete_section(
        row,
        profile=profile,
        runs=runs,
        economies=econ,
        reps=reps,
        summary=summary,
        data_health=rq.data_health(con, athlete),
        simulated=rq.simulated_share(con, athlete),
    )
    section["_runs_computed"] = computed
    return section


def build_report(
    con: Connection,
    out_dir: Path | str,
    *,
    since: dt.datetime | None = None,
    reuse_unchanged: bool = False,
    log_command: str | None = "report",
    progress: Callable[[int, int], None] | None = None,
    templates_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Write ``out_dir/index.html``, one page per athlete and ``out_dir/report.json``.

    Returns ``{"index_html": str, "report_json": str, "pages": [str], "athletes": int,
    "runs_computed": int, "rebuilt": bool, "seconds": float}``. Unless ``log_command`` is None
    (nightly logs its own row), one ``run_log`` row (command ``log_command``) records the run
    with that summary. ``progress(done, total)`` counts runs analysed (cached or computed) and one step
    per page written. ``templates_dir``: a folder whose templates replace the package's of the same name
    (:mod:`report.templating`; a missing folder or a failing template is a
    :class:`report.templating.TemplateDirError`, and the previous report stays).
    """
    started_at = dt.datetime.now(dt.UTC)
    if templates_dir is not None:
        environment(templates_dir)  # a missing folder fails now, before the analysis
    res = _build(
        con, out_dir, since=since, reuse_unchanged=reuse_unchanged, progress=progress, templates_dir=templates_dir
    )
    if log_command is not None:
        rq.log_run(
            con,
            log_command,
            started_at,
            res["seconds"],
            {
                "command": log_command,
                "out_dir": str(Path(out_dir).expanduser()),
                "since": json_safe(since),
                **{k: v for k, v in res.items() if k != "pages"},
            },
        )
    return res


class _Steps:
    """Progress over the athletes' runs plus one step per page; the total starts from the store's run
    counts and is corrected as each athlete's runs are listed (``--since`` lists fewer)."""

    def __init__(self, progress: Callable[[int, int], None] | None, rows: Sequence[Mapping[str, Any]]) -> None:
        self.progress = progress
        self.planned = {r["athlete"]: int(r.get("runs") or 0) for r in rows}
        self.done = 0

    def listed(self, athlete: str, n_runs: int) -> None:
        self.planned[athlete] = n_runs

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, max(self.done, sum(self.planned.values()) + len(self.planned) + 1))


def _build(
    con: Connection,
    out_dir: Path | str,
    *,
    since: dt.datetime | None,
    reuse_unchanged: bool,
    progress: Callable[[int, int], None] | None = None,
    templates_dir: Path | str | None = None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = Path(out_dir).expanduser()
    fp = _fingerprint(con, since, templates_dir)
    if reuse_unchanged:
        old = _unchanged(out, fp)
        if old is not None:
            return {
                "index_html": str(out / "index.html"),
                "report_json": str(out / "report.json"),
                "pages": [str(out / a["page"]) for a in old.get("athletes", [])],
                "athletes": len(old.get("athletes", [])),
                "runs_computed": 0,
                "rebuilt": False,
                "seconds": round(time.perf_counter() - t0, 3),
            }
    generated_at = dt.datetime.now(dt.UTC)
    rows = rq.athletes(con)
    steps = _Steps(progress, rows)
    reports = [athlete_report(con, row, since=since, steps=steps) for row in rows]
    computed = sum(r.pop("_runs_computed") for r in reports)
    doc = report_document(
        reports, generated_at=generated_at, since=since, fingerprint=fp, last_nightly=rq.last_run_log(con, "nightly")
    )
    # the pages, index and report.json of one build appear together or not at all
    with replaced_atomically(out, _check_previous_report) as gen:
        for name, text in render_files(doc, templates_dir=templates_dir).items():
            write_new_file(gen / name, text)
            if name.endswith(".html"):  # one step per page (report.json is written with them)
                steps.advance()
    page_paths = [str(out / rep["page"]) for rep in reports]
    return {
        "index_html": str(out / "index.html"),
        "report_json": str(out / "report.json"),
        "pages": page_paths,
        "athletes": len(reports),
        "runs_computed": computed,
        "rebuilt": True,
        "seconds": round(time.perf_counter() - t0, 3),
    }
