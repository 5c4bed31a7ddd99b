"""One athlete's strength ledger from the store: watch (FIT) sets, streamed sensor sets and phone-app
workouts (Strong, Hevy) reconciled by ``analysis.ledger`` with the user's corrections, and the
commands that read or correct it (``sets``, ``correct --set``, ``correct --split``, ``correct --merge``).

Data flow: store (``store.ledger_sources``, ``store.app_sessions``) -> rows in the ledger's input
shape (this module) -> ``analysis.ledger.build_ledger`` -> ``sets --json`` rows, the report's
strength numbers (``jobs.report``) and the training load (``analysis.strength_load``).

``sets --json`` keeps its contract (docs/cli.md: fields are added, none renamed): ``set_id`` is the
id of the primary source's set (the id ``correct --set`` takes; a watch- or sensor-only set keeps the
id it always had), ``source`` the primary source, and each row gains ``training_session_id``,
``sources``, ``set_role`` and the ledger's provenance. FIT rest intervals are listed as before
(``set_type`` ``rest``); they are not sets of the ledger (``set_role`` null, never counted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis import ledger as al
from analysis.ledger import Correction, Ledger, LedgerSession, LedgerSet
from records.times import iso_z
from store import app_sessions as apps
from store import ledger_sources as src
from store.connection import Connection
from store.corrections import CorrectionError, correct_set_exercise
from store.lake import athlete_scope, write_transaction

__all__ = ["AthleteLedger", "correct_exercise", "load_ledger", "merge_sessions", "sets_rows", "split_sessions"]

_NS = 1_000_000_000
Ref = tuple[str, str]


def _ns(t: dt.datetime) -> int:
    d = t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (d.days * 86400 + d.seconds) * _NS + d.microseconds * 1000


@dataclass
class AthleteLedger:
    """The reconciled ledger of one athlete plus what ``sets`` shows beside it."""

    athlete: str
    tz: str
    ledger: Ledger
    #: (source, source_set_id) -> the stored row of that source set (watch, sensor or app)
    source_sets: dict[Ref, dict[str, Any]] = field(default_factory=dict)
    #: FIT rest intervals (not sets: listed by ``sets``, counted nowhere)
    rest_rows: list[dict[str, Any]] = field(default_factory=list)
    #: app session key -> its stored row (``missing_since`` flags a workout deleted in the app)
    app_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def deleted_in_app(self) -> set[Ref]:
        return {(r["app"], k) for k, r in self.app_sessions.items() if r["missing_since"] is not None}

    def source_refs(self) -> set[Ref]:
        return {r for s in self.ledger.sessions for r in s.source_sessions}


def _fit_inputs(
    sessions: Iterable[Mapping[str, Any]], sets: Iterable[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    starts: dict[str, int] = {}
    out_s = []
    for a in sessions:
        t0 = _ns(a["started_at"])
        starts[a["activity_id"]] = t0
        end = None if a["duration_s"] is None else t0 + round(float(a["duration_s"]) * _NS)
        out_s.append(
            {
                "source": "fit",
                "source_session_id": a["activity_id"],
                "start_ns": t0,
                "end_ns": end,
                "title": a["name"],
                "avg_heart_rate_bpm": a["avg_heart_rate_bpm"],
            }
        )
    out_x: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for x in sets:
        if x["source"] == "fit" and x["activity_id"] not in starts:
            continue  # a set of an activity on a device-relative clock: not on the calendar
        if x["set_type"] != "active":
            rest.append(dict(x))
            continue
        if x["source"] == "fit":
            t = _ns(x["started_at"]) if x["started_at"] is not None else starts[x["activity_id"]]
            out_x.append(
                {
                    "source": "fit",
                    "source_set_id": x["set_id"],
                    "source_session_id": x["activity_id"],
                    "exercise": x["exercise"],
                    "exercise_as_recorded": x["exercise_as_imported"],
                    "order": x["set_index"],
                    "started_at_ns": t,
                    "duration_s": x["duration_s"],
                    "reps": x["reps"],
                    "load_kg": x["load_kg"],
                }
            )
        elif x["started_at"] is not None:
            out_x.append(
                {
                    "source": "sensor",
                    "source_set_id": x["set_id"],
                    "source_session_id": x["session_id"],
                    "exercise": x["exercise"],
                    "exercise_as_recorded": x["exercise_as_imported"],
                    "order": x["set_index"],
                    "started_at_ns": _ns(x["started_at"]),
                    "duration_s": x["duration_s"],
                    "reps": x["reps"],
                    "load_kg": x["load_kg"],
                    "mean_velocity_mps": x["best_mean_velocity_mps"],
                    "velocity_loss_pct": x["velocity_loss_pct"],
                }
            )
    return out_s, out_x, rest


def _sensor_sessions(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "source": "sensor",
            "source_session_id": r["session_id"],
            "start_ns": _ns(r["started_at"]),
            "end_ns": None if r["ended_at"] is None or r["ended_at"] < r["started_at"] else _ns(r["ended_at"]),
        }
        for r in rows
    ]


def _app_inputs(
    sessions: Iterable[Mapping[str, Any]], sets: Iterable[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    out_s = []
    for r in sessions:
        t0 = _ns(r["started_at"])
        out_s.append(
            {
                "source": r["app"],
                "source_session_id": r["session_key"],
                "start_ns": t0,
                "end_ns": None if r["duration_s"] is None else t0 + round(float(r["duration_s"]) * _NS),
                "start_precision": r["start_precision"],
                "local_date": r["start_local"].date().isoformat(),
                "title": r["title"],
                "session_rpe": r["session_rpe"],
            }
        )
    out_x = [
        {
            "source": x["app"],
            "source_set_id": x["set_id"],
            "source_session_id": x["session_key"],
            "exercise": x["exercise"],
            "exercise_as_recorded": x["exercise_as_written"],
            "set_role": x["set_role"],
            "set_type": "active",
            "order": x["position"],
            "duration_s": x["duration_s"],
            "reps": x["reps"],
            "load_kg": x["load_kg"],
            "rpe": x["rpe"],
        }
        for x in sets
    ]
    return out_s, out_x


def load_ledger(con: Connection, athlete: str, *, tz: str | None = None) -> AthleteLedger:
    """Read the athlete's sources and corrections and reconcile them (``analysis.ledger.build_ledger``).

    ``tz``: the athlete's zone (places app workouts that have a date but no time); default the
    profile's, else UTC."""
    if tz is None:
        from store.athletes import get_profile

        p = get_profile(con, athlete)
        tz = (p.tz if p is not None else None) or "UTC"
    fit_s, fit_x, rest = _fit_inputs(src.fit_strength_sessions(con, athlete), sx := src.strength_set_rows(con, athlete))
    stored_app = apps.app_sessions(con, athlete)
    app_x_rows = apps.app_sets(con, athlete)
    app_s, app_x = _app_inputs(stored_app, app_x_rows)
    rows: dict[Ref, dict[str, Any]] = {(x["source"], x["set_id"]): x for x in sx}
    rows.update({(x["app"], x["set_id"]): x for x in app_x_rows})
    corrected = sorted((r for r in rows.values() if r["corrected"]), key=lambda r: r["corrected_at"])
    overrides = {(r.get("app") or r["source"], r["set_id"]): r["exercise"] for r in corrected}
    ledger = al.build_ledger(
        [*fit_s, *_sensor_sessions(src.sensor_strength_sessions(con, athlete)), *app_s],
        [*fit_x, *app_x],
        corrections=apps.ledger_corrections(con, athlete),
        tz=tz,
        exercise_overrides=overrides,
    )
    return AthleteLedger(athlete, tz, ledger, rows, rest, {r["session_key"]: r for r in stored_app})


# ------------------------------------------------------------------------------------------
# sets --json


def _iso_ns(t: int) -> str:
    return iso_z(dt.datetime.fromtimestamp(t // _NS, tz=dt.UTC).replace(microsecond=(t % _NS) // 1000)) or ""


def _set_row(x: AthleteLedger, ts: LedgerSession, s: LedgerSet, deleted: set[Ref]) -> dict[str, Any]:
    primary_id = s.source_set_ids[s.source][0]
    fit_ids = s.source_set_ids.get("fit") or []
    fit_row = x.source_sets.get(("fit", fit_ids[0])) if fit_ids else None
    members = [x.source_sets.get((source, i)) for source, ids in s.source_set_ids.items() for i in ids]
    app_key = s.source_session_ids.get("strong") or s.source_session_ids.get("hevy")
    app = "strong" if "strong" in s.source_session_ids else ("hevy" if app_key else None)
    t = s.started_at_ns if s.started_at_ns is not None else ts.start_ns
    return {
        "set_id": primary_id,
        "activity_id": s.source_session_ids.get("fit"),
        "session_id": s.source_session_ids.get("sensor"),
        "started_at": _iso_ns(t),
        "exercise": s.exercise,
        "exercise_candidates": list((fit_row or {}).get("exercise_candidates") or []),
        "set_type": "active",
        "reps": s.reps,
        "load_kg": s.load_kg,
        "duration_s": s.duration_s,
        "source": s.source,
        "corrected": any(m is not None and m["corrected"] for m in members),
        "exercise_as_recorded": s.exercise_as_recorded,
        # the ledger's fields (docs/cli.md, docs/strength-ledger.md)
        "training_session_id": ts.training_session_id,
        "sources": list(s.sources),
        "set_role": s.set_role,
        "counts_toward_prescription": s.counts_toward_prescription,
        "started_at_known": s.started_at_ns is not None,
        "rpe": s.rpe,
        "mean_velocity_mps": s.mean_velocity_mps,
        "velocity_loss_pct": s.velocity_loss_pct,
        "ledger_set_id": s.set_id,
        "source_set_ids": {k: list(v) for k, v in s.source_set_ids.items()},
        "source_session_ids": dict(s.source_session_ids),
        "app_session_id": app_key,
        "field_sources": dict(s.field_sources),
        "exercise_conflict": list(s.exercise_conflict),
        "deleted_in_app": app is not None and (app, app_key) in deleted,
    }


def _rest_row(r: Mapping[str, Any], ts: LedgerSession | None) -> dict[str, Any]:
    return {
        "set_id": r["set_id"],
        "activity_id": r["activity_id"],
        "session_id": r["session_id"],
        "started_at": iso_z(r["started_at"]),
        "exercise": r["exercise"],
        "exercise_candidates": list(r["exercise_candidates"] or []),
        "set_type": r["set_type"],
        "reps": r["reps"],
        "load_kg": r["load_kg"],
        "duration_s": r["duration_s"],
        "source": r["source"],
        "corrected": r["corrected"],
        "exercise_as_recorded": r["exercise_as_imported"],
        "training_session_id": ts.training_session_id if ts is not None else None,
        "sources": [r["source"]],
        "set_role": None,
        "counts_toward_prescription": False,
        "started_at_known": r["started_at"] is not None,
        "rpe": None,
        "mean_velocity_mps": None,
        "velocity_loss_pct": None,
        "ledger_set_id": None,
        "source_set_ids": {r["source"]: [r["set_id"]]},
        "source_session_ids": {r["source"]: r["activity_id"] or r["session_id"]},
        "app_session_id": None,
        "field_sources": {},
        "exercise_conflict": [],
        "deleted_in_app": False,
    }


def sets_rows(x: AthleteLedger, *, activity: str | None = None) -> list[dict[str, Any]]:
    """``sets --json`` rows: the ledger's sets in session order (FIT rest intervals between them, by
    time). ``activity`` keeps the rows of one FIT activity, stream session, app workout (its
    ``app_session_id``) or training session."""
    deleted = x.deleted_in_app()
    rest_by_ts: dict[str, list[Mapping[str, Any]]] = {}
    loose: list[Mapping[str, Any]] = []
    for r in x.rest_rows:
        ref = ("fit", r["activity_id"]) if r["source"] == "fit" else ("sensor", r["session_id"])
        try:
            rest_by_ts.setdefault(x.ledger.session_of(ref).training_session_id, []).append(r)
        except KeyError:
            loose.append(r)
    out: list[dict[str, Any]] = []
    for ts in x.ledger.sessions:
        rest = sorted(
            rest_by_ts.get(ts.training_session_id, []),
            key=lambda r: (r["started_at"] is None, r["started_at"] or dt.datetime.min, r["set_id"]),
        )
        for s in ts.sets:
            while (
                rest
                and s.started_at_ns is not None
                and rest[0]["started_at"] is not None
                and _ns(rest[0]["started_at"]) < s.started_at_ns
            ):
                out.append(_rest_row(rest.pop(0), ts))
            out.append(_set_row(x, ts, s, deleted))
        out.extend(_rest_row(r, ts) for r in rest)
    out.extend(_rest_row(r, None) for r in loose)
    if activity is not None:
        out = [
            r
            for r in out
            if activity in (r["activity_id"], r["session_id"], r["training_session_id"], r["app_session_id"])
        ]
    return out


# ------------------------------------------------------------------------------------------
# corrections


def _resolve_ref(x: AthleteLedger, token: str) -> Ref:
    """A source session named by its id (FIT activity id, stream session id, app session key), or
    ``<source>:<id>``."""
    refs = x.source_refs()
    hits = [r for r in refs if r[1] == token]
    if not hits:
        source, _, rest = token.partition(":")
        hits = [r for r in refs if r == (source, rest)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise CorrectionError(
            f"{token!r} names several source sessions ({', '.join(f'{a}:{b}' for a, b in hits)}): give <source>:<id>"
        )
    raise CorrectionError(
        f"no source session {token!r} for athlete {x.athlete!r} (`sets --json` lists each set's "
        "activity_id, session_id and app_session_id)"
    )


def _resolve_session(x: AthleteLedger, token: str) -> LedgerSession:
    for s in x.ledger.sessions:
        if s.training_session_id == token:
            return s
    return x.ledger.session_of(_resolve_ref(x, token))


def session_summary(s: LedgerSession) -> dict[str, Any]:
    return {
        "training_session_id": s.training_session_id,
        "started_at": _iso_ns(s.start_ns),
        "sources": list(s.sources),
        "source_sessions": [f"{a}:{b}" for a, b in s.source_sessions],
        "title": s.title,
        "sets": len(s.sets),
        "merged": s.merged,
        "corrected": s.corrected,
    }


def _store_correction(con: Connection, athlete: str, c: Correction) -> None:
    write_transaction(
        con, lambda: apps.add_ledger_correction(con, athlete, c.action, c.refs), scope=athlete_scope(athlete)
    )


def split_sessions(con: Connection, athlete: str, tokens: Sequence[str]) -> dict[str, Any]:
    """``correct --split SOURCE_SESSION...``: move these source sessions out of their training
    session into one of their own; the correction is stored in source-session terms (it survives
    new data joining the session)."""
    x = load_ledger(con, athlete)
    refs = [_resolve_ref(x, t) for t in tokens]
    holders = {x.ledger.session_of(r).training_session_id for r in refs}
    if len(holders) != 1:
        raise CorrectionError(
            f"the source sessions to split off must be in one training session (they are in {len(holders)})"
        )
    try:
        ledger, c = al.split(x.ledger, holders.pop(), refs)
    except ValueError as exc:
        raise CorrectionError(str(exc)) from None
    _store_correction(con, athlete, c)
    touched = {ledger.session_of(r).training_session_id for r in c.refs} | {
        s.training_session_id for s in ledger.sessions if s.corrected
    }
    return {
        "action": "split",
        "refs": [f"{a}:{b}" for a, b in c.refs],
        "training_sessions": [session_summary(s) for s in ledger.sessions if s.training_session_id in touched],
    }


def merge_sessions(con: Connection, athlete: str, tokens: Sequence[str]) -> dict[str, Any]:
    """``correct --merge SESSION SESSION...``: make these training sessions (named by their
    training_session_id or by one of their source sessions) one."""
    x = load_ledger(con, athlete)
    ids = list(dict.fromkeys(_resolve_session(x, t).training_session_id for t in tokens))
    try:
        ledger, c = al.merge(x.ledger, ids)
    except ValueError as exc:
        raise CorrectionError(str(exc)) from None
    _store_correction(con, athlete, c)
    merged = ledger.session_of(c.refs[0])
    return {"action": "merge", "refs": [f"{a}:{b}" for a, b in c.refs], "training_sessions": [session_summary(merged)]}


def correct_exercise(con: Connection, athlete: str, set_id: str, exercise: str) -> dict[str, Any]:
    """``correct --set SET_ID --exercise EX``: ``SET_ID`` is a source set's id (a watch, sensor or app
    set: what ``sets`` shows as ``set_id`` or in ``source_set_ids``) or a ledger set id
    (``ledger_set_id``, stored as its primary source's set). The correction wins over every source's
    name for that set, an app's later edit included."""
    target = set_id
    if set_id.startswith("ls-") and not src.strength_set_exists(con, athlete, set_id):
        x = load_ledger(con, athlete)
        found = next((s for s in x.ledger.sets() if s.set_id == set_id), None)
        if found is None:
            raise CorrectionError(f"no set {set_id!r} for athlete {athlete!r} (see `sets`)")
        target = found.source_set_ids[found.source][0]
    correct_set_exercise(con, athlete, target, exercise)  # one transaction (under the claim on a lake)
    return {"set_id": target, "exercise": exercise.strip()}
