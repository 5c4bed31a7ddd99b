"""Stream finish: the end-of-session analysis of a stream session, its rows, and the merge.

A stream session ends with the whole-session analysis (:func:`analysis.barbell.analyse_session`
over the samples at their reconstructed times, gaps included), its reps and sets as rows
(:class:`records.reps.RepRow`, :class:`records.activities.SetRow` with ``source='sensor'``), the
final transaction of the landing file, and the merge of that file into the main database if the
main database is free within ``wait_s`` (else the landing file waits for the next process that
opens it: ``store.landing.merge_pending``). The recovery job (:mod:`jobs.recovery`) gives a
session cut off by a crash the same analysis and rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from records.activities import SetRow
from records.imu import ImuSamples
from records.reps import REP_METRIC_FIELDS, RepRow

Analyse = Callable[..., dict[str, Any]]
"""``analyse(samples, exercise, load_kg, *, body_mass_kg, set_rest_s, gaps_ns) -> contract dict``."""

if TYPE_CHECKING:
    from store.lake import LakeConfig


def empty_result() -> dict[str, Any]:
    """The ``reps``/``set``/``sets`` part of the ``replay`` document of a session without reps."""
    return {"reps": [], "set": {"reps": 0, "best_mean_velocity_mps": 0.0, "velocity_loss_pct": 0.0}, "sets": []}


def rep_to_dict(rep: Any) -> dict[str, Any]:
    """A rep from the analysis (``RepMetrics`` or a dict) as the contract's JSON object."""
    if isinstance(rep, dict):
        return dict(rep)
    if hasattr(rep, "to_contract"):
        return dict(rep.to_contract())
    if is_dataclass(rep) and not isinstance(rep, type):
        return asdict(rep)
    raise TypeError(f"cannot turn {type(rep).__name__} into a rep dict")


def analyse_session_contract(
    samples: ImuSamples,
    exercise: str,
    load_kg: float,
    *,
    body_mass_kg: float | None,
    set_rest_s: float = 30.0,
    gaps_ns: list[tuple[int, int]],
) -> dict[str, Any]:
    """:func:`analysis.barbell.analyse_session` as the ``replay`` contract's dict."""
    from analysis.barbell import analyse_session

    return analyse_session(
        samples, exercise, load_kg, body_mass_kg=body_mass_kg, set_rest_s=set_rest_s, gaps_ns=gaps_ns
    ).to_contract()


def analysis_method(samples: ImuSamples | None) -> str | None:
    """The bar-velocity method version recorded with a session (None without IMU samples: no analysis)."""
    if samples is None:
        return None
    from analysis.version import BAR_VELOCITY_METHOD_VERSION

    return BAR_VELOCITY_METHOD_VERSION


def summary_document(
    *,
    session_id: str,
    exercise: str,
    load_kg: float,
    sensor: str,
    sample_rate_hz: float,
    result: dict[str, Any],
    notifications: int,
    samples: int,
    lost_samples: int,
    reconnects: int,
    gaps: list[tuple[int, int]],
) -> dict[str, Any]:
    """The ``replay`` JSON document plus its ``stream`` block (docs/cli.md)."""
    return {
        "session_id": session_id,
        "exercise": exercise,
        "load_kg": load_kg,
        "sensor": sensor,
        "sample_rate_hz": sample_rate_hz,
        **result,
        "stream": {
            "notifications": notifications,
            "samples": samples,
            "lost_samples": lost_samples,
            "reconnects": reconnects,
            "gaps": [{"start_ns": int(s), "end_ns": int(e)} for s, e in gaps],
        },
    }


def whole_session_result(
    samples: ImuSamples | None,
    exercise: str,
    load_kg: float,
    *,
    body_mass_kg: float | None,
    set_rest_s: float,
    gaps_ns: list[tuple[int, int]],
    analyse: Analyse | None = None,
) -> dict[str, Any]:
    """``reps``, ``set`` and ``sets`` of a finished session (empty without IMU samples)."""
    out = empty_result()
    if samples is None:
        return out
    result = (analyse or analyse_session_contract)(
        samples, exercise, load_kg, body_mass_kg=body_mass_kg, set_rest_s=set_rest_s, gaps_ns=list(gaps_ns)
    )
    out.update({k: result[k] for k in ("reps", "set", "sets") if k in result})
    out["reps"] = [rep_to_dict(r) for r in out["reps"]]
    return out


def session_rows(
    result: dict[str, Any], *, session_id: str, exercise: str, load_kg: float, started_at: datetime, anchor_t_ns: int
) -> tuple[list[RepRow], list[SetRow]]:
    """The ``rep`` and ``strength_set`` rows of a session's analysis (``result``: the contract's
    ``reps`` and ``sets``; times on the capture clock, whose ``anchor_t_ns`` is ``started_at``)."""

    def utc_at(t_ns: int | None) -> datetime | None:
        return None if t_ns is None else started_at + timedelta(microseconds=(int(t_ns) - anchor_t_ns) / 1000)

    reps = [
        RepRow(
            session_id=session_id,
            set_index=int(r.get("set_index", 1)),
            rep_index=int(r["index"]),
            exercise=exercise,
            load_kg=load_kg,
            started_at=utc_at(r.get("start_ns")),
            **{c: r.get(c) for c in REP_METRIC_FIELDS},
        )
        for r in result["reps"]
    ]
    sets = []
    for s in result.get("sets") or []:
        start, end = s.get("start_ns"), s.get("end_ns")
        sets.append(
            SetRow(
                set_id=f"{session_id}:{int(s['set_index'])}",
                set_index=int(s["set_index"]),
                started_at=utc_at(start),
                exercise=exercise,
                exercise_candidates=[exercise],
                fit_category=None,
                fit_category_subtype=None,
                set_type="active",
                reps=int(s["reps"]),
                load_kg=load_kg,
                duration_s=None if start is None or end is None else (end - start) / 1e9,
                source="sensor",
                activity_id=None,
                session_id=session_id,
                best_mean_velocity_mps=s.get("best_mean_velocity_mps"),
                velocity_loss_pct=s.get("velocity_loss_pct"),
                best_mean_propulsive_velocity_mps=s.get("best_mean_propulsive_velocity_mps"),
                velocity_loss_mpv_pct=s.get("velocity_loss_mpv_pct"),
            )
        )
    return reps, sets


def merge_landed_session(
    db_path: str | Path,
    landing_path: Path,
    *,
    wait_s: float,
    on_message: Callable[[str], None] | None = None,
    lake: LakeConfig | None = None,
) -> Exception | None:
    """Merge a finished session's landing file into the main database (or the ``lake``, a
    ``store.lake.LakeConfig``) if it is free within ``wait_s``. Returns None when merged, else the
    ``DatabaseLockedError`` (on a lake: ``LakeBusyError`` or ``LakeUnreachableError``) that kept it
    out: the session stays in its landing file, merged by the next command that opens the store."""
    from store.connection import DatabaseLockedError, open_store
    from store.lake import LakeBusyError, LakeUnreachableError, errors_translated
    from store.landing import merge_landing

    try:
        con = open_store(db_path, wait_s=wait_s, on_wait=on_message, lake=lake)
        try:
            with errors_translated(con):
                merge_landing(con, landing_path)
        finally:
            con.close()
    except (DatabaseLockedError, LakeBusyError, LakeUnreachableError) as exc:
        if on_message is not None:
            on_message(
                f"{exc} The session stays in {landing_path} and is merged by the next "
                "runstrong command that opens the store."
            )
        return exc
    return None
