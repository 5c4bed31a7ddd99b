"""Training load: Banister TRIMP, CTL/ATL/TSB, and weekly strength exposure.

Pure numpy functions (no I/O). Weekly and daily rollups are computed in the
athlete's time zone (an IANA name such as ``"Europe/Oslo"``); weeks are ISO
weeks starting on Monday and are named by their Monday's ISO date.

References
----------
Banister EW (1991). Modeling elite athletic performance. In: Physiological
Testing of Elite Athletes. Human Kinetics. (TRIMP weighting 0.64 e^(1.92 x)
for men, 0.86 e^(1.67 x) for women.)
Coggan A / TrainingPeaks Performance Manager: CTL and ATL as 42- and 7-day
exponentially weighted averages of daily load, TSB = CTL - ATL.

Running load only: the loads passed here are the runs' TRIMP, never the strength sessions', so the
treatment (strength training) cannot leak into the load covariates of the economy model.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis.exercises import exercise_info
from records.times import local_date, week_start, zone_info

__all__ = [
    "LOWER_BODY_EXERCISES",
    "StrengthSet",
    "WeeklyStrength",
    "banister_trimp",
    "daily_load",
    "fitness_fatigue",
    "heavy_lower_body_sessions",
    "load_seed",
    "local_date",
    "strength_sets_from_dicts",
    "week_start",
    "weekly_strength",
]


def _sex_key(sex: str) -> str:
    s = str(sex).strip().lower()
    if s in ("male", "m", "man"):
        return "male"
    if s in ("female", "f", "woman"):
        return "female"
    raise ValueError(f"sex must be 'male' or 'female' (the two Banister weightings), got {sex!r}")


def banister_trimp(
    t_ns: np.ndarray,
    heart_rate_bpm: np.ndarray,
    *,
    hr_rest_bpm: float,
    hr_max_bpm: float,
    sex: str,
    max_interval_s: float = 10.0,
) -> float:
    """Banister training impulse (TRIMP) of one session from sampled HR.

    ``TRIMP = sum over sample intervals of  dt_min * HRr * y(HRr)``, with
    ``HRr = (HR - HR_rest) / (HR_max - HR_rest)`` clipped to [0, 1] and
    ``y = 0.64 e^(1.92 HRr)`` (men) or ``0.86 e^(1.67 HRr)`` (women)
    (Banister 1991). Each sample's HR holds over the interval to the next
    sample (left rectangle); intervals longer than ``max_interval_s`` (pauses)
    and intervals whose HR is NaN contribute nothing.

    Parameters
    ----------
    t_ns : numpy.ndarray
        int64 UTC epoch ns, non-decreasing.
    heart_rate_bpm : numpy.ndarray
        Same length, NaN where absent.
    hr_rest_bpm, hr_max_bpm : float
        From the athlete profile; 20 <= rest < max <= 250.
    sex : str
        ``'male'`` or ``'female'``.

    Returns
    -------
    float
        TRIMP in arbitrary units ("minutes at weighted intensity").
    """
    t = np.asarray(t_ns)
    hr = np.asarray(heart_rate_bpm, dtype=np.float64)
    if t.ndim != 1 or hr.shape != t.shape:
        raise ValueError(f"t_ns and heart_rate_bpm must be 1-D of equal length, got {t.shape} and {hr.shape}")
    if not (np.isfinite(hr_rest_bpm) and np.isfinite(hr_max_bpm) and 20 <= hr_rest_bpm < hr_max_bpm <= 250):
        raise ValueError("need 20 <= hr_rest_bpm < hr_max_bpm <= 250")
    a, b = (0.64, 1.92) if _sex_key(sex) == "male" else (0.86, 1.67)
    if t.size < 2:
        return 0.0
    t = t.astype(np.int64)
    dt_s = np.diff(t) / 1e9
    if np.any(dt_s < 0):
        raise ValueError("t_ns must be non-decreasing")
    hrr = np.clip((hr[:-1] - hr_rest_bpm) / (hr_max_bpm - hr_rest_bpm), 0.0, 1.0)
    use = np.isfinite(hrr) & (dt_s <= max_interval_s)
    w = hrr[use] * a * np.exp(b * hrr[use])
    return float(np.sum(dt_s[use] / 60.0 * w))


def fitness_fatigue(
    daily_load: np.ndarray,
    *,
    ctl_days: float = 42.0,
    atl_days: float = 7.0,
    ctl0: float = 0.0,
    atl0: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CTL, ATL and TSB from consecutive daily loads (exponentially weighted averages).

    Recurrence (the TrainingPeaks/Coggan Performance Manager form), with
    smoothing constant ``k = 1 / tau``::

        CTL[d] = CTL[d-1] + (load[d] - CTL[d-1]) / 42
        ATL[d] = ATL[d-1] + (load[d] - ATL[d-1]) / 7
        TSB[d] = CTL[d] - ATL[d]

    so a constant load ``L`` from zero gives ``CTL[n] = L (1 - (1 - 1/42)^(n+1))``
    for day index ``n`` (0-based). (Some tools use ``k = 1 - e^(-1/tau)``
    instead; the difference is under 1.2 % for tau = 42 and 7 % for tau = 7.)
    TSB is reported on the same day as CTL/ATL (TrainingPeaks shows
    yesterday's: shift by one day if you need that convention).

    Parameters
    ----------
    daily_load : numpy.ndarray
        One value per consecutive calendar day (0 for rest days, not NaN).
    ctl_days, atl_days : float
        Time constants, days (>= 1).
    ctl0, atl0 : float
        Values on the day before the first.

    Returns
    -------
    (ctl, atl, tsb) : tuple of numpy.ndarray
    """
    x = np.asarray(daily_load, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("daily_load must be 1-D (one value per day)")
    if not np.all(np.isfinite(x)):
        raise ValueError("daily_load must be finite (use 0 for days without training)")
    if ctl_days < 1 or atl_days < 1:
        raise ValueError("ctl_days and atl_days must be >= 1")
    ctl = _ewma(x, 1.0 / ctl_days, ctl0)
    atl = _ewma(x, 1.0 / atl_days, atl0)
    return ctl, atl, ctl - atl


def _ewma(x: np.ndarray, k: float, y0: float) -> np.ndarray:
    # y[n] = (1-k) y[n-1] + k x[n], closed form via scipy.signal.lfilter (exact, vectorised).
    from scipy.signal import lfilter

    if x.size == 0:
        return x.copy()
    y: npt.NDArray[np.float64]
    y, _ = lfilter([k], [1.0, -(1.0 - k)], x, zi=[(1.0 - k) * y0])
    return y


def load_seed(daily_load: np.ndarray, *, days: int = 42) -> tuple[float, int]:
    """Starting value of CTL and ATL: the mean daily load of the first ``days`` days (4-6 weeks).

    Starting CTL at 0 makes it ramp up through the first months of data whatever the athlete
    did, so as a covariate of a pre-strength baseline it mostly encodes "weeks since the data
    began" (and can take the sign of any trend). Seeding both EWMAs with the athlete's mean
    daily load of the first 6 weeks (with fewer days of data, the mean of what there is) starts
    them near their steady state for that load.

    Returns
    -------
    (seed, days_used) : float, int
    """
    x = np.asarray(daily_load, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("daily_load must be a finite 1-D array")
    if days < 1:
        raise ValueError("days must be >= 1")
    n = min(days, x.size)
    return (float(x[:n].mean()) if n else 0.0), int(n)


def daily_load(
    started_at_ns: Sequence[int],
    loads: Sequence[float],
    tz: str,
    *,
    first_day: _dt.date | None = None,
    last_day: _dt.date | None = None,
) -> tuple[list[_dt.date], np.ndarray]:
    """Sum session loads into consecutive local calendar days (zeros on days without sessions).

    Parameters
    ----------
    started_at_ns : sequence of int
        Session start instants, UTC epoch ns.
    loads : sequence of float
        Load per session (e.g. TRIMP); NaN/None sessions count as 0.
    tz : str
        Athlete's IANA zone (sessions are dated by local start).
    first_day, last_day : datetime.date, optional
        Extend the range (e.g. to today) beyond the sessions.

    Returns
    -------
    (days, load) : list of datetime.date, numpy.ndarray
    """
    if len(started_at_ns) != len(loads):
        raise ValueError("started_at_ns and loads must have the same length")
    dates = [local_date(t, tz) for t in started_at_ns]
    cand = [*dates, *(x for x in (first_day, last_day) if x is not None)]
    if not cand:
        return [], np.zeros(0)
    d0, d1 = min(cand), max(cand)
    n = (d1 - d0).days + 1
    out = np.zeros(n)
    for d, x in zip(dates, loads, strict=True):
        if x is not None and np.isfinite(x):
            out[(d - d0).days] += float(x)
    return [d0 + _dt.timedelta(days=i) for i in range(n)], out


# --------------------------------------------------------------------------------------------
# Strength
# --------------------------------------------------------------------------------------------


@dataclass
class StrengthSet:
    """One strength set (the CLI ``sets`` row, reduced to what load needs).

    Attributes
    ----------
    started_at_ns : int
        UTC epoch ns.
    exercise : str or None
        Snake_case name (``back_squat``...) or None if unknown.
    reps : int or None
    load_kg : float or None
        External load (bar + plates). None/0 for body-weight sets.
    set_type : str
        ``'active'`` or ``'rest'`` (rest sets are ignored).
    session_key : str or None
        Activity or stream session the set belongs to; sets without one are
        grouped into sessions by time (see :func:`weekly_strength`).
    source : str or None
        ``'fit'`` (watch) or ``'sensor'`` (a streamed/replayed barbell set). A sensor
        session usually holds one set, so sensor sets join the training session of
        the set before them when it is close in time (see :func:`weekly_strength`).
    """

    started_at_ns: int
    exercise: str | None
    reps: int | None
    load_kg: float | None
    set_type: str = "active"
    session_key: str | None = None
    source: str | None = None


def _parse_time_ns(v: Any) -> int:
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            raise ValueError("started_at datetimes must be tz-aware (UTC)")
        delta = v - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(v, str):
        dt = _dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return _parse_time_ns(dt)
    raise ValueError(f"cannot read a time from {v!r}")


def strength_sets_from_dicts(rows: Iterable[StrengthSet | Mapping[str, Any]]) -> list[StrengthSet]:
    """Convert ``sets`` rows (docs/cli.md JSON: started_at ISO UTC, exercise, reps, load_kg,
    set_type, activity_id/session_id) or :class:`StrengthSet` objects into StrengthSets."""
    out: list[StrengthSet] = []
    for r in rows:
        if isinstance(r, StrengthSet):
            out.append(r)
            continue
        t = r.get("started_at_ns", r.get("started_at"))
        if t is None:
            raise ValueError("every set needs started_at (ISO-8601 UTC) or started_at_ns")
        out.append(
            StrengthSet(
                started_at_ns=_parse_time_ns(t),
                exercise=r.get("exercise"),
                reps=None if r.get("reps") is None else int(r["reps"]),
                load_kg=None if r.get("load_kg") is None else float(r["load_kg"]),
                set_type=str(r.get("set_type") or "active"),
                session_key=r.get("session_key") or r.get("activity_id") or r.get("session_id"),
                source=r.get("source") or (None if r.get("activity_id") or not r.get("session_id") else "sensor"),
            )
        )
    return out


def _laterality(exercise: str | None) -> str | None:
    """'bilateral' / 'unilateral' from :func:`analysis.exercises.exercise_info`, else None (unknown)."""
    if not exercise or not isinstance(exercise, str) or not exercise.strip():
        return None
    lat = exercise_info(exercise).laterality
    return lat if lat in ("bilateral", "unilateral") else None


def _session_keys(rows: Sequence[StrengthSet], session_gap_s: float) -> list[str]:
    """Session identity of time-sorted active sets (rules in :func:`weekly_strength`)."""
    keys: list[str] = []
    last_t: int | None = None
    anon = 0
    prev_t: int | None = None
    for s in rows:
        if s.source == "sensor":
            if prev_t is not None and (s.started_at_ns - prev_t) / 1e9 < session_gap_s:
                keys.append(keys[-1])
            else:
                keys.append(f"s:{s.session_key or s.started_at_ns}")
        elif s.session_key:
            keys.append(f"k:{s.session_key}")
        else:
            if last_t is None or (s.started_at_ns - last_t) / 1e9 > session_gap_s:
                anon += 1
            keys.append(f"a:{anon}")
            last_t = s.started_at_ns
        prev_t = s.started_at_ns
    return keys


#: Lifts that load the legs (hip and knee extensors): a heavy set of one of them starts the strength
#: block of the economy model and counts as "heavy lower-body session" for the acute covariate.
LOWER_BODY_EXERCISES = frozenset(
    {
        "back_squat",
        "front_squat",
        "deadlift",
        "romanian_deadlift",
        "hip_thrust",
        "lunge",
        "split_squat",
        "bulgarian_split_squat",
        "step_up",
    }
)


def heavy_lower_body_sessions(
    sets: Iterable[StrengthSet | Mapping[str, Any]],
    *,
    e5rm_kg: Mapping[str, float] | None = None,
    zone_reps: tuple[int, int] = (3, 5),
    zone_pct_e5rm: tuple[float, float] = (0.80, 1.00),
    session_gap_s: float = 3 * 3600.0,
) -> list[dict[str, Any]]:
    """Strength sessions with at least one heavy set of a lower-body lift, oldest first.

    A set is heavy when it is a *zone set* of a lower-body lift (:data:`LOWER_BODY_EXERCISES`):
    3-5 reps at 80-100 % of that exercise's estimated 5RM (the prescription zone of
    :func:`weekly_strength`). A loaded 3-5-rep lower-body set whose exercise has no e5RM cannot be
    placed in or out of the zone: such a session is returned with ``decided = False`` (heavy
    only by the rep count), so the caller can fall back to it when no session is decided.

    Returns
    -------
    list of dict
        ``started_at_ns`` (first set of the session), ``ended_at_ns`` (last set), ``decided``
        (a zone set with a known e5RM), ``exercises`` (the heavy lower-body lifts).
    """
    lo_r, hi_r = zone_reps
    lo_p, hi_p = zone_pct_e5rm
    e5 = dict(e5rm_kg or {})
    rows = [s for s in strength_sets_from_dicts(sets) if s.set_type == "active"]
    rows.sort(key=lambda s: s.started_at_ns)
    keys = _session_keys(rows, session_gap_s)
    sess: dict[str, dict[str, Any]] = {}
    for s, key in zip(rows, keys, strict=True):
        d = sess.setdefault(
            key,
            {
                "started_at_ns": s.started_at_ns,
                "ended_at_ns": s.started_at_ns,
                "decided": False,
                "undecided": False,
                "exercises": set(),
            },
        )
        d["ended_at_ns"] = max(d["ended_at_ns"], s.started_at_ns)
        if s.exercise not in LOWER_BODY_EXERCISES or s.reps is None or not (lo_r <= s.reps <= hi_r):
            continue
        if s.load_kg is None or s.load_kg <= 0:
            continue
        ref = e5.get(s.exercise)
        if ref is None:
            d["undecided"] = True
            d["exercises"].add(s.exercise)
        elif lo_p * ref - 1e-9 <= s.load_kg <= hi_p * ref + 1e-9:
            d["decided"] = True
            d["exercises"].add(s.exercise)
    out = [
        {
            "started_at_ns": d["started_at_ns"],
            "ended_at_ns": d["ended_at_ns"],
            "decided": d["decided"],
            "exercises": sorted(d["exercises"]),
        }
        for d in sess.values()
        if d["decided"] or d["undecided"]
    ]
    out.sort(key=lambda d: d["started_at_ns"])
    return out


@dataclass
class WeeklyStrength:
    """Strength exposure of one local ISO week (Monday ``week_start``).

    Attributes
    ----------
    week_start : str
        ISO date of the Monday, athlete's zone.
    sessions : int
        Distinct strength sessions with at least one active set.
    target_sessions : int
        The prescription (2/week).
    adherence : float
        ``sessions / target`` (not capped: 1.5 means three sessions against a target of two).
    sets : int
        Active sets.
    volume_load_kg : float
        Sum of reps x load_kg over active sets with both known (kg moved).
    zone_sets : int
        Sets of 3-5 reps at 80-100 % of that exercise's estimated 5RM.
    sets_without_e5rm : int
        Loaded sets whose exercise had no e5RM given (zone not decidable).
    bilateral_sets, unilateral_sets, unknown_laterality_sets : int
    bilateral_volume_load_kg, unilateral_volume_load_kg : float
    cumulative_sessions : int
        Sessions up to and including this week.
    sessions_meeting_prescription : int
        Sessions with 3-5 zone sets (``zone_sets_per_session``) of at least one exercise.
    sessions_zone_undecidable : int
        Sessions not meeting the prescription where sets without an e5RM could have made
        them meet it (an exercise's zone sets + its 3-5-rep loaded sets without e5RM >= 3).
    prescription_met : bool
        ``sessions_meeting_prescription >= target_sessions``.
    bilateral_trained, unilateral_trained : bool
        At least one active set of a bilateral / unilateral exercise this week.
    session_details : list of dict
        Per session, oldest first: ``local_date``, ``sets``, ``zone_sets_by_exercise``
        (exercise -> zone sets), ``meets_prescription``, ``zone_undecidable``,
        ``bilateral``, ``unilateral``.
    exercises : dict
        Exercise -> active sets.
    """

    week_start: str
    sessions: int = 0
    target_sessions: int = 2
    adherence: float = 0.0
    sets: int = 0
    volume_load_kg: float = 0.0
    zone_sets: int = 0
    sets_without_e5rm: int = 0
    bilateral_sets: int = 0
    unilateral_sets: int = 0
    unknown_laterality_sets: int = 0
    bilateral_volume_load_kg: float = 0.0
    unilateral_volume_load_kg: float = 0.0
    cumulative_sessions: int = 0
    sessions_meeting_prescription: int = 0
    sessions_zone_undecidable: int = 0
    prescription_met: bool = False
    bilateral_trained: bool = False
    unilateral_trained: bool = False
    session_details: list[dict[str, Any]] = field(default_factory=list)
    exercises: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def weekly_strength(
    sets: Iterable[StrengthSet | Mapping[str, Any]],
    tz: str,
    *,
    e5rm_kg: Mapping[str, float] | None = None,
    target_sessions_per_week: int = 2,
    zone_reps: tuple[int, int] = (3, 5),
    zone_pct_e5rm: tuple[float, float] = (0.80, 1.00),
    zone_sets_per_session: tuple[int, int] = (3, 5),
    session_gap_s: float = 3 * 3600.0,
    first_week: _dt.date | None = None,
    last_week: _dt.date | None = None,
) -> list[WeeklyStrength]:
    """Weekly strength rollup in the athlete's time zone.

    Per local ISO week (Monday start): sessions (distinct ``session_key``;
    sets without a key are one session while consecutive sets are less than
    ``session_gap_s`` apart), active sets, volume load = sum(reps x load_kg),
    sets in the prescription zone (``zone_reps`` = 3-5 reps at
    ``zone_pct_e5rm`` = 80-100 % of the exercise's estimated 5RM, given in
    ``e5rm_kg``; the clinic prescription, docs/design.md section 7), sessions
    against the target (2/week), and the bilateral/unilateral split from
    ``analysis.exercises`` (unknown exercises count as volume only). Weeks
    without sessions between the first and last week are included (zeros).

    Per session, zone sets are counted per exercise; a session *meets the
    prescription* when at least one exercise has ``zone_sets_per_session`` (3-5)
    zone sets. Per week: sessions meeting it (against the target), and whether a
    bilateral and a unilateral lift were both trained. Sessions: sets sharing a
    ``session_key``; keyless sets are one session while consecutive keyless sets
    are < ``session_gap_s`` apart; a sensor set (``source='sensor'``, one streamed
    set per sensor session) joins the session of the set just before it (any
    source) when that set started < ``session_gap_s`` earlier, else starts one.

    Parameters
    ----------
    sets : iterable of StrengthSet or mapping
        See :func:`strength_sets_from_dicts`.
    tz : str
        Athlete's IANA zone.
    e5rm_kg : mapping, optional
        Exercise name -> estimated 5RM in kg.
    first_week, last_week : datetime.date, optional
        Extend the range of weeks (any date in the week).

    Returns
    -------
    list of WeeklyStrength
        Consecutive weeks, oldest first (empty if no sets and no range).
    """
    zone_info(tz)
    if target_sessions_per_week < 1:
        raise ValueError("target_sessions_per_week must be >= 1")
    lo_r, hi_r = zone_reps
    lo_p, hi_p = zone_pct_e5rm
    lo_s, hi_s = zone_sets_per_session
    if not (0 < lo_r <= hi_r and 0 < lo_p <= hi_p and 0 < lo_s <= hi_s):
        raise ValueError("zone_reps, zone_pct_e5rm and zone_sets_per_session must be increasing positive pairs")
    e5 = dict(e5rm_kg or {})
    for k, v in e5.items():
        if not (v is not None and np.isfinite(v) and v > 0):
            raise ValueError(f"e5rm_kg[{k!r}] must be a positive number of kg")
    rows = [s for s in strength_sets_from_dicts(sets) if s.set_type == "active"]
    rows.sort(key=lambda s: s.started_at_ns)
    keys = _session_keys(rows, session_gap_s)
    zi = zone_info(tz)
    weeks_of = [
        week_start(_dt.datetime.fromtimestamp(s.started_at_ns / 1e9, tz=_dt.UTC).astimezone(zi).date()) for s in rows
    ]
    cand = [*weeks_of, *(week_start(w) for w in (first_week, last_week) if w is not None)]
    if not cand:
        return []
    w0, w1 = min(cand), max(cand)
    n_weeks = (w1 - w0).days // 7 + 1
    out = [
        WeeklyStrength(
            week_start=(w0 + _dt.timedelta(days=7 * i)).isoformat(), target_sessions=target_sessions_per_week
        )
        for i in range(n_weeks)
    ]
    sessions_in_week: list[set[str]] = [set() for _ in range(n_weeks)]
    session_week: dict[str, int] = {}
    lat_cache: dict[str | None, str | None] = {}
    # per session: first local date, sets, zone sets and undecidable zone-rep sets per exercise, lateralities
    per_session: dict[str, dict[str, Any]] = {}
    for s, key, wk in zip(rows, keys, weeks_of, strict=True):
        i = (wk - w0).days // 7
        # a session spanning midnight Sunday counts in the week it started
        i = session_week.setdefault(key, i)
        sess = per_session.get(key)
        if sess is None:
            day = _dt.datetime.fromtimestamp(s.started_at_ns / 1e9, tz=_dt.UTC).astimezone(zi).date()
            sess = per_session[key] = {
                "week": i,
                "local_date": day.isoformat(),
                "sets": 0,
                "zone": {},
                "undecided": {},
                "bilateral": False,
                "unilateral": False,
            }
        sess["sets"] += 1
        ws = out[i]
        sessions_in_week[i].add(key)
        ws.sets += 1
        if s.exercise:
            ws.exercises[s.exercise] = ws.exercises.get(s.exercise, 0) + 1
        vl = float(s.reps) * float(s.load_kg) if s.reps is not None and s.load_kg is not None else 0.0
        ws.volume_load_kg += vl
        if s.exercise not in lat_cache:
            lat_cache[s.exercise] = _laterality(s.exercise)
        lat = lat_cache[s.exercise]
        if lat in ("bilateral", "unilateral"):
            sess[lat] = True
        if lat == "bilateral":
            ws.bilateral_sets += 1
            ws.bilateral_volume_load_kg += vl
        elif lat == "unilateral":
            ws.unilateral_sets += 1
            ws.unilateral_volume_load_kg += vl
        else:
            ws.unknown_laterality_sets += 1
        if s.reps is not None and s.load_kg is not None and s.load_kg > 0:
            ref = e5.get(s.exercise) if s.exercise else None
            if ref is None:
                ws.sets_without_e5rm += 1
                if lo_r <= s.reps <= hi_r:
                    sess["undecided"][s.exercise] = sess["undecided"].get(s.exercise, 0) + 1
            elif lo_r <= s.reps <= hi_r and lo_p * ref - 1e-9 <= s.load_kg <= hi_p * ref + 1e-9:
                ws.zone_sets += 1
                sess["zone"][s.exercise] = sess["zone"].get(s.exercise, 0) + 1
    for sess in per_session.values():
        ws = out[sess["week"]]
        meets = any(lo_s <= n <= hi_s for n in sess["zone"].values())
        undecidable = not meets and any(sess["zone"].get(ex, 0) + n >= lo_s for ex, n in sess["undecided"].items())
        ws.sessions_meeting_prescription += meets
        ws.sessions_zone_undecidable += undecidable
        ws.bilateral_trained |= sess["bilateral"]
        ws.unilateral_trained |= sess["unilateral"]
        ws.session_details.append(
            {
                "local_date": sess["local_date"],
                "sets": sess["sets"],
                "zone_sets_by_exercise": dict(sess["zone"]),
                "meets_prescription": meets,
                "zone_undecidable": undecidable,
                "bilateral": sess["bilateral"],
                "unilateral": sess["unilateral"],
            }
        )
    cum = 0
    for ws, ss in zip(out, sessions_in_week, strict=True):
        ws.sessions = len(ss)
        cum += ws.sessions
        ws.cumulative_sessions = cum
        ws.adherence = ws.sessions / ws.target_sessions
        ws.prescription_met = ws.sessions_meeting_prescription >= ws.target_sessions
        ws.session_details.sort(key=lambda d: d["local_date"])
        ws.volume_load_kg = round(ws.volume_load_kg, 6)
    return out
