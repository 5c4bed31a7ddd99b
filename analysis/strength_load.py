"""Strength training load from reconciled sessions: session RPE x duration (pure, no I/O).

Formula (Foster et al. 2001)::

    load_au = session RPE (CR-10 scale) x duration (minutes)

per training session of the ledger (:mod:`analysis.ledger`), so a session logged by the
watch, an app and the bar sensor counts once. Which RPE, in order:

1. ``session``: the session's own RPE (CR-10), when a source has it.
2. ``max_set_rpe``: otherwise the highest per-set RPE of its non-warm-up sets stands in,
   flagged ``substitute=True``. The apps' set RPE is the repetitions-in-reserve scale of
   Zourdos et al. (2016), a rating of one set's proximity to failure, not Foster's rating of
   the whole session; the substitution is a proxy and says so.
3. ``default``: otherwise the stated default of the session's type
   (``DEFAULT_SESSION_RPE``), with its justification, flagged likewise.

Duration: the training session's span (earliest source start to latest source end). For a
session only the bar sensor saw, that span runs from the first set to the end of the last
(``duration_source="sets_span"``), which underestimates the session. Sessions longer than
``max_duration_s`` get no load and a reason (a timer left running would otherwise dominate
the acute load); that bound is ours, a plausibility check, not from the literature.

The daily series (:func:`daily_strength_load`) sits beside running TRIMP
(``analysis.training_load``). TRIMP (Banister 1991, heart-rate-weighted minutes) and
session-RPE load are different arbitrary units: :func:`combine_daily` adds them for a
combined ATL/TSB only as a documented option, not as an equivalence.

References
----------
Foster C, Florhaug JA, Franklin J, Gottschall L, Hrovatin LA, Parker S, Doleshal P,
Dodge C (2001). A new approach to monitoring exercise training. J Strength Cond Res
15(1):109-115.
Day ML, McGuigan MR, Brice G, Foster C (2004). Monitoring exercise intensity during
resistance training using the session RPE scale. J Strength Cond Res 18(2):353-358
(session RPE applies to resistance training).
Zourdos MC, Klemp A, Dolan C, et al. (2016). Novel resistance training-specific rating of
perceived exertion scale measuring repetitions in reserve. J Strength Cond Res
30(1):267-275.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from analysis.ledger import LedgerSession
from analysis.training_load import daily_load

__all__ = [
    "DEFAULT_SESSION_RPE",
    "SessionLoad",
    "combine_daily",
    "daily_strength_load",
    "session_load",
    "session_loads",
]

#: Session type -> (default CR-10 session RPE, why). Used only when no source rated the session.
DEFAULT_SESSION_RPE: dict[str, tuple[float, str]] = {
    "strength": (
        5.0,
        "assumed 'hard' (5), the CR-10 anchor of the session-RPE scale (Foster et al. 2001), "
        "for an unrated heavy strength session (3-5 reps at 80-100 % of 5RM); an assumption, "
        "not a measurement",
    ),
}

_NS = 1_000_000_000


@dataclass(frozen=True)
class SessionLoad:
    """Load of one training session.

    Attributes
    ----------
    training_session_id : str
    started_at_ns : int
        UTC epoch ns (dates the load in the athlete's zone).
    session_type : str
    duration_s : float
    duration_source : {"session", "sets_span"}
    rpe : float or None
    rpe_source : {"session", "max_set_rpe", "default"}
    substitute : bool
        True unless the session's own RPE was used.
    rpe_note : str or None
        For a default: its justification; for a substitute: what stood in.
    load_au : float or None
        ``rpe x duration_min``; None when the duration is implausible (``reason``).
    reason : str or None
    sources : tuple of str
        The sources that reported the session (it is counted once).
    """

    training_session_id: str
    started_at_ns: int
    session_type: str
    duration_s: float
    duration_source: str
    rpe: float | None
    rpe_source: str
    substitute: bool
    rpe_note: str | None
    load_au: float | None
    reason: str | None
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def session_load(
    session: LedgerSession,
    *,
    session_type: str = "strength",
    default_rpe: Mapping[str, tuple[float, str]] | None = None,
    max_duration_s: float | None = 4 * 3600.0,
) -> SessionLoad:
    """Session-RPE load of one reconciled session (see the module docstring for the rule)."""
    defaults = DEFAULT_SESSION_RPE if default_rpe is None else default_rpe
    dur = float(session.duration_s)
    duration_source = "sets_span" if set(session.sources) <= {"sensor"} else "session"
    if session.session_rpe is not None:
        rpe, src, sub, note = float(session.session_rpe), "session", False, None
        _check_rpe(rpe, "session RPE")
    else:
        set_rpes = [s.rpe for s in session.sets if s.rpe is not None and s.set_role != "warmup"]
        if set_rpes:
            rpe = float(max(set_rpes))
            _check_rpe(rpe, "set RPE")
            src, sub = "max_set_rpe", True
            note = (
                f"highest of {len(set_rpes)} working-set RPEs (repetitions-in-reserve scale, Zourdos 2016) "
                "stands in for the session RPE"
            )
        else:
            if session_type not in defaults:
                raise ValueError(
                    f"no default session RPE for session type {session_type!r} (known: {', '.join(sorted(defaults))})"
                )
            rpe, note = defaults[session_type]
            _check_rpe(rpe, "default RPE")
            src, sub = "default", True
    load: float | None = rpe * dur / 60.0
    reason = None
    if max_duration_s is not None and dur > max_duration_s:
        load = None
        reason = (
            f"duration {dur / 3600:.1f} h exceeds {max_duration_s / 3600:.1f} h: probably a timer left running; "
            "no load counted"
        )
    return SessionLoad(
        session.training_session_id,
        session.start_ns,
        session_type,
        dur,
        duration_source,
        rpe,
        src,
        sub,
        note,
        load,
        reason,
        session.sources,
    )


def _check_rpe(x: float, what: str) -> None:
    if not (np.isfinite(x) and 0.0 <= x <= 10.0):
        raise ValueError(f"{what} must be in [0, 10], got {x}")


def session_loads(
    sessions: Iterable[LedgerSession],
    *,
    session_types: Mapping[str, str] | None = None,
    default_rpe: Mapping[str, tuple[float, str]] | None = None,
    max_duration_s: float | None = 4 * 3600.0,
) -> list[SessionLoad]:
    """:func:`session_load` of every session (``session_types``: training_session_id -> type,
    default ``strength``). A training session given twice is refused: it would count twice."""
    out: list[SessionLoad] = []
    seen: set[str] = set()
    for s in sessions:
        if s.training_session_id in seen:
            raise ValueError(f"training session {s.training_session_id} given twice: it would be counted twice")
        seen.add(s.training_session_id)
        st = (session_types or {}).get(s.training_session_id, "strength")
        out.append(session_load(s, session_type=st, default_rpe=default_rpe, max_duration_s=max_duration_s))
    return out


def daily_strength_load(
    loads: Sequence[SessionLoad], tz: str, *, first_day: _dt.date | None = None, last_day: _dt.date | None = None
) -> tuple[list[_dt.date], np.ndarray]:
    """Session loads summed per local calendar day (zeros between; sessions without a load add 0).

    Dated by each session's start in the athlete's zone ``tz``, like running TRIMP
    (:func:`analysis.training_load.daily_load`).
    """
    ids = [x.training_session_id for x in loads]
    if len(set(ids)) != len(ids):
        raise ValueError("a training session appears twice: it would be counted twice")
    return daily_load(
        [x.started_at_ns for x in loads],
        [np.nan if x.load_au is None else x.load_au for x in loads],
        tz,
        first_day=first_day,
        last_day=last_day,
    )


def combine_daily(
    days_a: Sequence[_dt.date], load_a: np.ndarray, days_b: Sequence[_dt.date], load_b: np.ndarray
) -> tuple[list[_dt.date], np.ndarray, np.ndarray, np.ndarray]:
    """Two daily series (e.g. running TRIMP and strength session-RPE load) on one day range.

    Returns ``(days, a, b, a + b)``; days missing from a series are 0 in it. The sum mixes
    two arbitrary units and is an option for a combined ATL/TSB, not an equivalence; show
    the two series separately as well.
    """
    if len(days_a) != len(load_a) or len(days_b) != len(load_b):
        raise ValueError("each series needs one value per day")
    alld = [*days_a, *days_b]
    if not alld:
        z = np.zeros(0)
        return [], z, z.copy(), z.copy()
    d0, d1 = min(alld), max(alld)
    n = (d1 - d0).days + 1
    a = np.zeros(n)
    b = np.zeros(n)
    for d, x in zip(days_a, load_a, strict=True):
        a[(d - d0).days] += float(x)
    for d, x in zip(days_b, load_b, strict=True):
        b[(d - d0).days] += float(x)
    return [d0 + _dt.timedelta(days=i) for i in range(n)], a, b, a + b
