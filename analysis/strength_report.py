"""What the report shows of the strength ledger: its sessions with their sources and load, the latest
sessions' sets with each set's source, and the data-quality items (pure, JSON-ready).

Input: a reconciled :class:`analysis.ledger.Ledger` and its session loads
(:func:`analysis.strength_load.session_loads`). Every training session appears once however many
sources logged it; each set carries its primary source and every source that reported it.

Data quality (docs/strength-ledger.md):

* ``unmapped_exercises``: names no source mapped to the project's exercise vocabulary
  (``analysis.exercises``): an app's name as written (``exercise`` None), or a name outside the
  vocabulary (a watch's own category name). Such sets count as volume only (no laterality, no
  prescription zone); ``correct --set ID --exercise EX`` maps one.
* ``merged_sessions``: training sessions that more than one source reported (one session, counted
  once), so that a wrong merge is visible (``correct --split``).
* ``deleted_in_app``: app workouts a later export no longer holds (kept and counted, flagged).
* ``exercise_conflicts``: sets whose sources named different exercises (the app's name won).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection, Sequence
from typing import Any

from analysis.economy import zone_info
from analysis.exercises import EXERCISES
from analysis.ledger import Ledger, LedgerSession, LedgerSet
from analysis.strength_load import SessionLoad

__all__ = ["LATEST_SESSIONS", "ledger_report"]

#: sessions whose sets the report lists (the latest); report.json has every session's summary
LATEST_SESSIONS = 8
_NS = 1_000_000_000


def _iso(t_ns: int) -> str:
    return _dt.datetime.fromtimestamp(t_ns // _NS, tz=_dt.UTC).isoformat().replace("+00:00", "Z")


def _set_row(s: LedgerSet) -> dict[str, Any]:
    return {
        "exercise": s.exercise,
        "exercise_as_recorded": s.exercise_as_recorded,
        "set_role": s.set_role,
        "reps": s.reps,
        "load_kg": s.load_kg,
        "rpe": s.rpe,
        "source": s.source,
        "sources": list(s.sources),
        "mean_velocity_mps": s.mean_velocity_mps,
        "velocity_loss_pct": s.velocity_loss_pct,
        "started_at": _iso(s.started_at_ns) if s.started_at_ns is not None else None,
        "counts_toward_prescription": s.counts_toward_prescription,
        "exercise_user_corrected": s.field_sources.get("exercise") == "user",
    }


def ledger_report(
    ledger: Ledger,
    loads: Sequence[SessionLoad],
    *,
    tz: str,
    deleted_in_app: Collection[tuple[str, str]] = (),
    latest: int = LATEST_SESSIONS,
    since_ns: int | None = None,
) -> dict[str, Any]:
    """The ledger's part of an athlete's ``report.json`` (see the module docstring).

    Parameters
    ----------
    ledger : Ledger
    loads : sequence of SessionLoad
        One per training session of ``ledger`` (a session without one shows no load).
    tz : str
        The athlete's IANA zone (local dates).
    deleted_in_app : collection of (app, session_key)
        App workouts flagged as deleted in the app.
    latest : int
        How many of the latest sessions list their sets.
    since_ns : int, optional
        Only sessions starting at or after this instant (``report --since``).

    Returns
    -------
    dict
        ``sessions`` (every session, oldest first: ``training_session_id, started_at, local_date,
        duration_s, sources, source_sessions, title, merged, corrected, deleted_in_app, sets,
        working_sets, warmup_sets, load_au, rpe, rpe_source, substitute, load_reason``),
        ``latest_sessions`` (the latest ``latest``, newest first, each with its ``set_rows``),
        ``data_quality`` (``unmapped_exercises``: ``[{name, sets, sources}]``, ``merged_sessions``,
        ``deleted_in_app``, ``exercise_conflicts``, ``warnings``), ``counts``.
    """
    zi = zone_info(tz)
    by_id = {x.training_session_id: x for x in loads}
    deleted = set(deleted_in_app)
    sessions: list[LedgerSession] = [s for s in ledger.sessions if since_ns is None or s.start_ns >= since_ns]
    rows: list[dict[str, Any]] = []
    unmapped: dict[str, dict[str, Any]] = {}
    conflicts = 0
    for s in sessions:
        ld = by_id.get(s.training_session_id)
        gone = [f"{a}:{b}" for a, b in s.source_sessions if (a, b) in deleted]
        rows.append(
            {
                "training_session_id": s.training_session_id,
                "started_at": _iso(s.start_ns),
                "local_date": _dt.datetime.fromtimestamp(s.start_ns / _NS, tz=_dt.UTC)
                .astimezone(zi)
                .date()
                .isoformat(),
                "duration_s": s.duration_s,
                "sources": list(s.sources),
                "source_sessions": [f"{a}:{b}" for a, b in s.source_sessions],
                "title": s.title,
                "merged": s.merged,
                "corrected": s.corrected,
                "deleted_in_app": gone,
                "sets": len(s.sets),
                "working_sets": sum(x.counts_toward_prescription for x in s.sets),
                "warmup_sets": sum(not x.counts_toward_prescription for x in s.sets),
                "load_au": None if ld is None else ld.load_au,
                "rpe": None if ld is None else ld.rpe,
                "rpe_source": None if ld is None else ld.rpe_source,
                "substitute": None if ld is None else ld.substitute,
                "load_reason": None if ld is None else ld.reason,
            }
        )
        for x in s.sets:
            conflicts += bool(x.exercise_conflict)
            if x.exercise is not None and x.exercise in EXERCISES:
                continue
            name = x.exercise if x.exercise is not None else (x.exercise_as_recorded or "(no name)")
            u = unmapped.setdefault(name, {"name": name, "sets": 0, "sources": set()})
            u["sets"] += 1
            u["sources"] |= set(x.sources)
    merged = [r for r in rows if r["merged"]]
    newest = sorted(sessions, key=lambda s: (s.start_ns, s.training_session_id), reverse=True)[: max(0, latest)]
    by_row = {r["training_session_id"]: r for r in rows}
    latest_rows = [{**by_row[s.training_session_id], "set_rows": [_set_row(x) for x in s.sets]} for s in newest]
    by_source: dict[str, int] = {}
    for s in sessions:
        for src in s.sources:
            by_source[src] = by_source.get(src, 0) + 1
    return {
        "sessions": rows,
        "latest_sessions": latest_rows,
        "data_quality": {
            "unmapped_exercises": sorted(
                ({**u, "sources": sorted(u["sources"])} for u in unmapped.values()),
                key=lambda u: (-u["sets"], u["name"]),
            ),
            "merged_sessions": [
                {k: r[k] for k in ("training_session_id", "local_date", "sources", "title", "sets")} for r in merged
            ],
            "deleted_in_app": [
                {k: r[k] for k in ("training_session_id", "local_date", "deleted_in_app", "title")}
                for r in rows
                if r["deleted_in_app"]
            ],
            "exercise_conflicts": conflicts,
            "warnings": list(ledger.warnings),
        },
        "counts": {
            "sessions": len(rows),
            "sets": sum(r["sets"] for r in rows),
            "working_sets": sum(r["working_sets"] for r in rows),
            "merged_sessions": len(merged),
            "sessions_by_source": by_source,
        },
    }
