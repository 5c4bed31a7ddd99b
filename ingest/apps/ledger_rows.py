"""An app export as the ledger's input rows (plain dicts; ingest does not import analysis).

The keys are those of ``analysis.ledger.SourceSession`` / ``SourceSet`` (their
``from_mapping`` reads them); the tests feed one into the other, so a change on either
side that breaks the contract fails there.
"""

from __future__ import annotations

from typing import Any

from ingest.apps.model import AppExport, AppSession

__all__ = ["ledger_rows", "session_rows"]


def session_rows(s: AppSession) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One app session -> (session row, set rows). Set ids are ``<session_key>/<n>`` (n = 1-based
    position in the session), stable while the workout is not edited."""
    end_ns = None if s.duration_s is None else s.started_at_ns + round(s.duration_s * 1e9)
    sess = {
        "source": s.app,
        "source_session_id": s.session_key,
        "start_ns": s.started_at_ns,
        "end_ns": end_ns,
        "start_precision": s.start_precision,
        "local_date": s.start_local.date().isoformat(),
        "title": s.title,
        "session_rpe": s.session_rpe,
    }
    sets = [
        {
            "source": s.app,
            "source_set_id": f"{s.session_key}/{i}",
            "source_session_id": s.session_key,
            "exercise": x.exercise,
            "exercise_as_recorded": x.exercise_as_written,
            "set_role": x.set_role,
            "set_type": "active",
            "order": i,
            "started_at_ns": None,
            "duration_s": x.duration_s,
            "reps": x.reps,
            "load_kg": x.load_kg,
            "rpe": x.rpe,
        }
        for i, x in enumerate(s.sets, start=1)
    ]
    return sess, sets


def ledger_rows(export: AppExport) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every session of ``export`` -> (session rows, set rows) for ``analysis.ledger.build_ledger``."""
    sessions: list[dict[str, Any]] = []
    sets: list[dict[str, Any]] = []
    for s in export.sessions:
        a, b = session_rows(s)
        sessions.append(a)
        sets.extend(b)
    return sessions, sets
