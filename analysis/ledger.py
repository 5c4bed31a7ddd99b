"""One strength ledger from several sources: watch (FIT) sets, streamed sensor sets, app sets (pure).

A training session logged by the watch, a phone app (Strong, Hevy) and/or the bar sensor is
one session in the ledger, and each of its sets appears once, with its provenance. The
function is pure: sessions and sets in (plain dataclasses, or mappings with the same keys),
a :class:`Ledger` out. Nothing here reads or writes a store.

Matching rule
-------------
1. **Sessions by time overlap.** Every source session is an interval (start to end; a
   watch or sensor session without an end spans its sets). Sorted by start, a session joins
   the current training session when it starts no later than ``tolerance_s`` after the
   latest end so far (so overlapping and touching sessions of any sources merge). A
   training session made only of sensor sessions (one streamed set each) joins the
   training session before it when it starts less than ``sensor_gap_s`` after that one's
   end. An app session with only a date (no time of day) joins the one training session on
   that local date if there is exactly one, else it stays its own.
2. **Corrections** (``split`` / ``merge``, from ``correct``) are applied in order on top;
   a later one wins. They name source sessions, so they survive a rebuild with new data.
3. **Sets, timed sources first.** Watch sets are the base (time order); a sensor set is the
   same set as the watch set its time interval overlaps most (within ``set_tolerance_s``),
   else a new set.
4. **Sets, app sources (no per-set times).** Per exercise, the app's sets and the ledger's
   sets of that exercise are aligned *in order* (a monotone alignment: the n-th squat set
   of the app can only match a later squat set than the (n-1)-th did); the alignment with
   the most matched pairs wins, and among those the one whose pairs differ least in reps
   and load (reps and load break the ties, e.g. where the watch missed a warm-up set).
   Then the sets left over on both sides whose exercise one side does not know or only the
   watch guessed (the watch's guess is often wrong) are aligned the same way, in session
   order, but a pair must agree on reps (+-1) and load (+-2.5 kg or 5 %). Two apps' sets
   pair this way only when their names as written agree (case and spacing aside): a name
   the user typed is a statement, even when runstrong cannot map it.
5. **Fields per set, the richer source first** (``FIELD_PRIORITY``): the app for load,
   reps, RPE and the set's role; the sensor for velocity; the watch for the set's time and
   heart rate. ``source`` is the primary source (the first of strong, hevy, sensor, fit
   that reported the set), ``sources`` every source that reported it,
   ``field_sources`` which source gave each field.

Warm-up sets (``set_role == "warmup"``) never count toward the prescription
(``counts_toward_prescription`` is False and :meth:`Ledger.strength_sets` leaves them out
by default). The tolerances are engineering choices for matching, not physiological
thresholds; they are parameters.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from analysis.economy import zone_info
from analysis.training_load import StrengthSet

__all__ = [
    "FIELD_PRIORITY",
    "SOURCES",
    "Correction",
    "Ledger",
    "LedgerSession",
    "LedgerSet",
    "SourceSession",
    "SourceSet",
    "build_ledger",
    "merge",
    "split",
]

Source = Literal["strong", "hevy", "sensor", "fit"]
SetRole = Literal["warmup", "working", "drop", "failure"]

#: Every source, in primary-source order.
SOURCES: tuple[str, ...] = ("strong", "hevy", "sensor", "fit")
_APPS = ("strong", "hevy")
_TIMED = ("fit", "sensor")

#: Field -> sources in order of preference (the first that has a value gives it).
FIELD_PRIORITY: dict[str, tuple[str, ...]] = {
    "exercise": ("strong", "hevy", "sensor", "fit"),
    "reps": ("strong", "hevy", "sensor", "fit"),
    "load_kg": ("strong", "hevy", "sensor", "fit"),
    "rpe": ("strong", "hevy"),
    "set_role": ("strong", "hevy"),
    "started_at_ns": ("fit", "sensor"),
    "duration_s": ("fit", "sensor"),
    "mean_velocity_mps": ("sensor",),
    "velocity_loss_pct": ("sensor",),
    "avg_heart_rate_bpm": ("fit",),
}

_NS = 1_000_000_000
Ref = tuple[str, str]


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _time_ns(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError(f"cannot read a time from {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            raise ValueError("datetimes must be tz-aware (UTC)")
        d = v - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        return (d.days * 86400 + d.seconds) * _NS + d.microseconds * 1000
    if isinstance(v, str):
        return _time_ns(_dt.datetime.fromisoformat(v.replace("Z", "+00:00")))
    raise ValueError(f"cannot read a time from {v!r}")


def _check_source(s: str) -> str:
    if s not in SOURCES:
        raise ValueError(f"unknown source {s!r} (expected one of {', '.join(SOURCES)})")
    return s


@dataclass(frozen=True)
class SourceSession:
    """One session as one source recorded it.

    Attributes
    ----------
    source : {"strong", "hevy", "sensor", "fit"}
    source_session_id : str
        FIT ``activity_id``, stream ``session_id``, app ``session_key``.
    start_ns : int
        UTC epoch ns.
    end_ns : int or None
        None: the end of its last set (timed sources), else the start.
    start_precision : {"second", "minute", "day"}
        ``day`` for an app session whose export had no time of day.
    local_date : str or None
        ISO local date of the start (needed for ``day`` precision).
    title : str or None
    session_rpe : float or None
        Session RPE (CR-10) if the source has one.
    avg_heart_rate_bpm : float or None
    """

    source: str
    source_session_id: str
    start_ns: int
    end_ns: int | None = None
    start_precision: str = "second"
    local_date: str | None = None
    title: str | None = None
    session_rpe: float | None = None
    avg_heart_rate_bpm: float | None = None

    def __post_init__(self) -> None:
        _check_source(self.source)
        if self.end_ns is not None and self.end_ns < self.start_ns:
            raise ValueError(f"session {self.source}:{self.source_session_id} ends before it starts")

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> SourceSession:
        """From a dict with the same keys (``start``/``end`` ISO UTC strings are accepted too)."""
        start = _time_ns(m.get("start_ns", m.get("start")))
        if start is None:
            raise ValueError("a source session needs start_ns")
        return cls(
            source=str(m["source"]),
            source_session_id=str(m["source_session_id"]),
            start_ns=start,
            end_ns=_time_ns(m.get("end_ns", m.get("end"))),
            start_precision=str(m.get("start_precision") or "second"),
            local_date=m.get("local_date"),
            title=m.get("title"),
            session_rpe=_opt_float(m.get("session_rpe")),
            avg_heart_rate_bpm=_opt_float(m.get("avg_heart_rate_bpm")),
        )


@dataclass(frozen=True)
class SourceSet:
    """One set as one source recorded it.

    Attributes
    ----------
    source, source_set_id, source_session_id : str
    exercise : str or None
        Project exercise name (``analysis.exercises``), None when unknown.
    exercise_as_recorded : str or None
        The source's own name (an app's "Squat (Barbell)", the watch's guess).
    set_role : {"warmup", "working", "drop", "failure"} or None
        None when the source does not say (watch, sensor).
    set_type : str
        ``active`` or ``rest``; rest entries (FIT rest intervals) are not sets and are ignored.
    order : int or None
        Position in the source session (apps: the logging order; timed sources may leave it
        None and are ordered by time).
    started_at_ns : int or None
        None for app sets (apps export no per-set times).
    duration_s, reps, load_kg, rpe, mean_velocity_mps, velocity_loss_pct, avg_heart_rate_bpm
    """

    source: str
    source_set_id: str
    source_session_id: str
    exercise: str | None = None
    exercise_as_recorded: str | None = None
    set_role: str | None = None
    set_type: str = "active"
    order: int | None = None
    started_at_ns: int | None = None
    duration_s: float | None = None
    reps: int | None = None
    load_kg: float | None = None
    rpe: float | None = None
    mean_velocity_mps: float | None = None
    velocity_loss_pct: float | None = None
    avg_heart_rate_bpm: float | None = None

    def __post_init__(self) -> None:
        _check_source(self.source)
        if self.set_role is not None and self.set_role not in ("warmup", "working", "drop", "failure"):
            raise ValueError(f"unknown set_role {self.set_role!r}")
        if self.source in _TIMED and self.started_at_ns is None and self.set_type == "active":
            raise ValueError(f"a {self.source} set needs started_at_ns ({self.source_set_id})")

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> SourceSet:
        """From a dict with the same keys, or from a ``sets --json`` row (docs/cli.md):
        ``set_id``, ``activity_id``/``session_id``, ``started_at`` (ISO UTC) are understood."""
        source = str(m["source"])
        sid = m.get("source_session_id") or m.get("activity_id") or m.get("session_id")
        if sid is None:
            raise ValueError("a source set needs source_session_id (or activity_id / session_id)")
        return cls(
            source=source,
            source_set_id=str(m.get("source_set_id") or m["set_id"]),
            source_session_id=str(sid),
            exercise=m.get("exercise"),
            exercise_as_recorded=m.get("exercise_as_recorded"),
            set_role=m.get("set_role"),
            set_type=str(m.get("set_type") or "active"),
            order=_opt_int(m.get("order")),
            started_at_ns=_time_ns(m.get("started_at_ns", m.get("started_at"))),
            duration_s=_opt_float(m.get("duration_s")),
            reps=_opt_int(m.get("reps")),
            load_kg=_opt_float(m.get("load_kg")),
            rpe=_opt_float(m.get("rpe")),
            mean_velocity_mps=_opt_float(m.get("mean_velocity_mps", m.get("best_mean_velocity_mps"))),
            velocity_loss_pct=_opt_float(m.get("velocity_loss_pct")),
            avg_heart_rate_bpm=_opt_float(m.get("avg_heart_rate_bpm")),
        )

    @property
    def ref(self) -> Ref:
        return (self.source, self.source_set_id)

    @property
    def end_ns(self) -> int | None:
        if self.started_at_ns is None:
            return None
        return self.started_at_ns + round((self.duration_s or 0.0) * _NS)


@dataclass(frozen=True)
class Correction:
    """A user correction of the reconciliation, in source-session terms.

    ``action="split"``: the source sessions ``refs`` leave their training session and form
    one of their own. ``action="merge"``: the training sessions holding any of ``refs``
    become one.
    """

    action: Literal["split", "merge"]
    refs: tuple[Ref, ...]

    def __post_init__(self) -> None:
        if self.action not in ("split", "merge"):
            raise ValueError(f"unknown correction {self.action!r}")
        if not self.refs:
            raise ValueError("a correction needs at least one source session")

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "refs": [list(r) for r in self.refs]}

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> Correction:
        return cls(m["action"], tuple((str(a), str(b)) for a, b in m["refs"]))


@dataclass(frozen=True)
class LedgerSet:
    """One set of the ledger (the fields of the primary or richer source, see ``FIELD_PRIORITY``).

    Attributes
    ----------
    set_id : str
        ``"ls-"`` + hash of the source set refs it merges (stable while they do not change).
    training_session_id : str
    source : str
        Primary source.
    sources : tuple of str
        Every source that reported the set, in ``SOURCES`` order.
    source_set_ids : dict
        Source -> that source's set id(s) (a list, usually of one).
    source_session_ids : dict
        Source -> the source session the set came from (FIT activity, stream session, app key).
    set_role : {"warmup", "working", "drop", "failure"}
        From the app; ``working`` when no source says.
    counts_toward_prescription : bool
        False for warm-up sets.
    exercise : str or None
    exercise_as_recorded : str or None
        The primary source's own name.
    exercise_conflict : tuple of str
        Other exercise names the sources gave (e.g. the watch's wrong guess).
    exercise_order, set_order : int
        1-based: the exercise's rank in the session; the set's rank within its exercise.
    started_at_ns : int or None
        None when only an app reported the set.
    duration_s, reps, load_kg, rpe, mean_velocity_mps, velocity_loss_pct, avg_heart_rate_bpm
    field_sources : dict
        Field -> the source that gave it.
    """

    set_id: str
    training_session_id: str
    source: str
    sources: tuple[str, ...]
    source_set_ids: dict[str, list[str]]
    source_session_ids: dict[str, str]
    set_role: str
    counts_toward_prescription: bool
    exercise: str | None
    exercise_as_recorded: str | None
    exercise_conflict: tuple[str, ...]
    exercise_order: int
    set_order: int
    started_at_ns: int | None
    duration_s: float | None
    reps: int | None
    load_kg: float | None
    rpe: float | None
    mean_velocity_mps: float | None
    velocity_loss_pct: float | None
    avg_heart_rate_bpm: float | None
    field_sources: dict[str, str]


@dataclass(frozen=True)
class LedgerSession:
    """One training session of the ledger.

    Attributes
    ----------
    training_session_id : str
        ``"ts-"`` + hash of its source sessions (changes when a source joins or leaves;
        corrections therefore name source sessions, not this id).
    start_ns, end_ns : int
        Earliest start and latest end over its source sessions (UTC epoch ns).
    sources : tuple of str
    source_sessions : tuple of (source, source_session_id)
    title : str or None
        The app's workout title, if any.
    session_rpe : float or None
        A source's session RPE (apps first).
    avg_heart_rate_bpm : float or None
        The watch's.
    sets : tuple of LedgerSet
        In session order.
    merged : bool
        More than one source reported the session.
    corrected : bool
        A correction changed its composition.
    day_precision_only : bool
        Every source gave only a date (no time of day): ``start_ns`` is local midnight.
    """

    training_session_id: str
    start_ns: int
    end_ns: int
    sources: tuple[str, ...]
    source_sessions: tuple[Ref, ...]
    title: str | None
    session_rpe: float | None
    avg_heart_rate_bpm: float | None
    sets: tuple[LedgerSet, ...]
    merged: bool
    corrected: bool
    day_precision_only: bool = False

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / _NS


@dataclass(frozen=True)
class Ledger:
    """The reconciled sessions plus what built them (so ``split``/``merge`` can rebuild).

    Attributes
    ----------
    sessions : tuple of LedgerSession
        Oldest first.
    corrections : tuple of Correction
        Applied in order.
    warnings : tuple of str
        Corrections naming source sessions that no longer exist, and similar.
    params : dict
        The matching parameters used, and the exercise overrides (so split and merge rebuild alike).
    inputs : tuple
        (source sessions, source sets) as given to :func:`build_ledger`.
    """

    sessions: tuple[LedgerSession, ...]
    corrections: tuple[Correction, ...]
    warnings: tuple[str, ...]
    params: dict[str, Any]
    inputs: tuple[tuple[SourceSession, ...], tuple[SourceSet, ...]] = field(repr=False, default=((), ()))

    def sets(self) -> list[LedgerSet]:
        return [s for ss in self.sessions for s in ss.sets]

    def session(self, training_session_id: str) -> LedgerSession:
        for s in self.sessions:
            if s.training_session_id == training_session_id:
                return s
        raise KeyError(f"no training session {training_session_id!r}")

    def session_of(self, ref: Ref) -> LedgerSession:
        """The training session holding source session ``ref`` = (source, source_session_id)."""
        for s in self.sessions:
            if tuple(ref) in s.source_sessions:
                return s
        raise KeyError(f"no source session {ref!r}")

    def strength_sets(self, *, include_warmups: bool = False) -> list[StrengthSet]:
        """The ledger as :class:`analysis.training_load.StrengthSet` rows for ``weekly_strength``.

        One row per ledger set (never one per source), ``session_key`` = the training session,
        ``source="ledger"``; app-only sets carry their session's start. Warm-ups are left out
        unless asked for (they never count toward the prescription).
        """
        out: list[StrengthSet] = []
        for ss in self.sessions:
            for s in ss.sets:
                if s.set_role == "warmup" and not include_warmups:
                    continue
                out.append(
                    StrengthSet(
                        s.started_at_ns if s.started_at_ns is not None else ss.start_ns,
                        s.exercise,
                        s.reps,
                        s.load_kg,
                        "active",
                        ss.training_session_id,
                        "ledger",
                    )
                )
        return out

    def to_rows(self) -> list[dict[str, Any]]:
        """Rows in the shape of ``sets --json`` (docs/cli.md) plus the ledger's fields:
        ``training_session_id``, ``sources``, ``set_role``, ``counts_toward_prescription``,
        ``field_sources``, ``started_at_known``. ``source`` names the primary source."""
        rows = []
        for ss in self.sessions:
            for s in ss.sets:
                t = s.started_at_ns if s.started_at_ns is not None else ss.start_ns
                started = _dt.datetime.fromtimestamp(t // _NS, tz=_dt.UTC).replace(microsecond=(t % _NS) // 1000)
                rows.append(
                    {
                        "set_id": s.set_id,
                        "activity_id": s.source_session_ids.get("fit"),
                        "session_id": s.source_session_ids.get("sensor"),
                        "started_at": started.isoformat().replace("+00:00", "Z"),
                        "started_at_known": s.started_at_ns is not None,
                        "exercise": s.exercise,
                        "exercise_as_recorded": s.exercise_as_recorded,
                        "set_type": "active",
                        "reps": s.reps,
                        "load_kg": s.load_kg,
                        "duration_s": s.duration_s,
                        "rpe": s.rpe,
                        "source": s.source,
                        "sources": list(s.sources),
                        "training_session_id": s.training_session_id,
                        "set_role": s.set_role,
                        "counts_toward_prescription": s.counts_toward_prescription,
                        "field_sources": dict(s.field_sources),
                    }
                )
        return rows


def _digest(prefix: str, items: Iterable[Any]) -> str:
    raw = json.dumps(sorted(list(x) if isinstance(x, tuple) else x for x in items), separators=(",", ":"))
    return prefix + hashlib.sha256(raw.encode()).hexdigest()[:20]


# --------------------------------------------------------------------------------------------
# Session clustering
# --------------------------------------------------------------------------------------------


@dataclass
class _Sess:
    ss: SourceSession
    start: int
    end: int


def _intervals(sessions: Sequence[SourceSession], sets_by_sess: Mapping[Ref, list[SourceSet]]) -> dict[Ref, _Sess]:
    out: dict[Ref, _Sess] = {}
    for s in sessions:
        ref = (s.source, s.source_session_id)
        if ref in out:
            raise ValueError(f"source session {ref} given twice")
        ends = [x.end_ns for x in sets_by_sess.get(ref, []) if x.end_ns is not None]
        end = s.end_ns if s.end_ns is not None else max([s.start_ns, *ends])
        out[ref] = _Sess(s, s.start_ns, max(end, s.start_ns))
    return out


def _cluster(sess: Mapping[Ref, _Sess], tolerance_ns: int, sensor_gap_ns: int, zi: ZoneInfo | None) -> list[list[Ref]]:
    timed = sorted((r for r, s in sess.items() if s.ss.start_precision != "day"), key=lambda r: (sess[r].start, r))
    clusters: list[list[Ref]] = []
    ends: list[int] = []
    for r in timed:
        s = sess[r]
        if clusters and s.start <= ends[-1] + tolerance_ns:
            clusters[-1].append(r)
            ends[-1] = max(ends[-1], s.end)
        else:
            clusters.append([r])
            ends.append(s.end)
    # sensor-only training sessions join the one before when close
    joined: list[list[Ref]] = []
    jends: list[int] = []
    for c, e in zip(clusters, ends, strict=True):
        only_sensor = all(src == "sensor" for src, _ in c)
        if joined and only_sensor and sess[c[0]].start - jends[-1] < sensor_gap_ns:
            joined[-1].extend(c)
            jends[-1] = max(jends[-1], e)
        else:
            joined.append(list(c))
            jends.append(e)
    # date-only sessions: the one training session on that local date, else their own
    for r, s in sorted(sess.items()):
        if s.ss.start_precision != "day":
            continue
        day = s.ss.local_date
        hits = []
        if day is not None and zi is not None:
            for i, c in enumerate(joined):
                days = {
                    _dt.datetime.fromtimestamp(sess[x].start / _NS, tz=_dt.UTC).astimezone(zi).date().isoformat()
                    for x in c
                    if sess[x].ss.start_precision != "day"
                }
                if day in days:
                    hits.append(i)
        if len(hits) == 1:
            joined[hits[0]].append(r)
        else:
            joined.append([r])
    return joined


def _apply_corrections(
    clusters: list[list[Ref]], corrections: Sequence[Correction], known: set[Ref]
) -> tuple[list[list[Ref]], set[Ref], list[str]]:
    cl = [list(c) for c in clusters]
    touched: set[Ref] = set()
    warnings: list[str] = []
    for corr in corrections:
        refs = [r for r in corr.refs if r in known]
        for r in corr.refs:
            if r not in known:
                warnings.append(f"{corr.action}: source session {r[0]}:{r[1]} is not in the data (ignored)")
        if not refs:
            continue
        if corr.action == "split":
            rs = set(refs)
            cl = [[x for x in c if x not in rs] for c in cl]
            cl = [c for c in cl if c]
            cl.append(sorted(rs))
            touched |= rs
        else:
            idx = sorted({i for i, c in enumerate(cl) for x in c if x in refs})
            merged = [x for i in idx for x in cl[i]]
            cl = [c for i, c in enumerate(cl) if i not in idx] + [merged]
            touched |= set(merged)
    return cl, touched, warnings


# --------------------------------------------------------------------------------------------
# Set matching
# --------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """A ledger set under construction: the source sets it merges and a sort position."""

    members: list[SourceSet]
    pos: float

    def has(self, source: str) -> bool:
        return any(m.source == source for m in self.members)

    def first(self, name: str, order: Sequence[str]) -> tuple[Any, str | None]:
        for src in order:
            for m in self.members:
                if m.source == src:
                    v = getattr(m, name)
                    if v is not None:
                        return v, src
        return None, None

    @property
    def exercise(self) -> str | None:
        exercise: str | None = self.first("exercise", FIELD_PRIORITY["exercise"])[0]
        return exercise

    @property
    def exercise_only_guessed(self) -> bool:
        """No source but the watch named the exercise."""
        return all(m.source == "fit" or m.exercise is None for m in self.members)


def _diss(a_reps: int | None, a_load: float | None, b_reps: int | None, b_load: float | None) -> float:
    d = 0.0
    if a_reps is None or b_reps is None:
        d += 0.5
    else:
        d += min(1.0, abs(a_reps - b_reps) / max(a_reps, b_reps, 1))
    if a_load is None or b_load is None:
        d += 0.5
    else:
        d += min(1.0, abs(a_load - b_load) / max(abs(a_load), abs(b_load), 1.0))
    return d


def _compatible(a_reps: int | None, a_load: float | None, b_reps: int | None, b_load: float | None) -> bool:
    known = 0
    if a_reps is not None and b_reps is not None:
        if abs(a_reps - b_reps) > 1:
            return False
        known += 1
    if a_load is not None and b_load is not None:
        if abs(a_load - b_load) > max(2.5, 0.05 * max(a_load, b_load)):
            return False
        known += 1
    return known > 0


def _reps_load(e: _Entry) -> tuple[int | None, float | None]:
    return e.first("reps", FIELD_PRIORITY["reps"])[0], e.first("load_kg", FIELD_PRIORITY["load_kg"])[0]


#: ``cost(entry, set)``: a pair's cost in [0, 2.5], or None when the pair is not allowed
_PairCost = Callable[[_Entry, SourceSet], float | None]


def _cost_same(e: _Entry, s: SourceSet) -> float | None:
    """Same known exercise on both sides: any reps/load, scored by their difference."""
    ex = e.exercise
    if ex is None or s.exercise is None or ex != s.exercise:
        return None
    return _diss(*_reps_load(e), s.reps, s.load_kg)


def _cost_any(e: _Entry, s: SourceSet) -> float | None:
    """Same exercise, or one side does not know it / only the watch guessed it (then reps and
    load must agree, and the pair costs a little more than a same-exercise pair)."""
    c = _cost_same(e, s)
    if c is not None:
        return c
    if not (e.exercise is None or e.exercise_only_guessed or s.exercise is None):
        return None
    if _written_names_differ(e, s):
        return None
    r, ld = _reps_load(e)
    if not _compatible(r, ld, s.reps, s.load_kg):
        return None
    return _diss(r, ld, s.reps, s.load_kg) + 0.5


def _written(name: str | None) -> str | None:
    return " ".join(name.casefold().split()) or None if name else None


def _written_names_differ(e: _Entry, s: SourceSet) -> bool:
    """Two apps' sets that do not map to one exercise (:func:`_cost_same` takes those): the names as
    written are what the user said, so different names are different exercises (e.g. 'Shrug
    (Cable)' in Hevy is not the 'Seated Row (Cable)' of a Strong log that overlaps it in time,
    whatever their reps and load)."""
    if s.source not in _APPS:
        return False
    mine = _written(s.exercise_as_recorded)
    theirs = {_written(m.exercise_as_recorded) for m in e.members if m.source in _APPS} - {None}
    return mine is not None and bool(theirs) and mine not in theirs


def _align(left: Sequence[_Entry], right: Sequence[SourceSet], cost: _PairCost) -> list[tuple[int, int]]:
    """Monotone alignment maximising matched pairs, then minimising the summed pair cost.

    ``cost(entry, set)`` is a number in [0, 2.5] or None (the pair is not allowed).
    """
    n, m = len(left), len(right)
    if n == 0 or m == 0:
        return []
    big = 4.0 * (n + m) + 4.0  # one more pair always outweighs any sum of pair costs (each <= 2.5)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]  # 1 = match, 2 = skip left, 3 = skip right
    for i in range(1, n + 1):
        move[i][0] = 2
    for j in range(1, m + 1):
        move[0][j] = 3
    for i in range(1, n + 1):
        le = left[i - 1]
        for j in range(1, m + 1):
            best, mv = score[i - 1][j], 2
            if score[i][j - 1] > best:
                best, mv = score[i][j - 1], 3
            c = cost(le, right[j - 1])
            if c is not None:
                cand = score[i - 1][j - 1] + big - c
                if cand > best + 1e-12:
                    best, mv = cand, 1
            score[i][j] = best
            move[i][j] = mv
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        mv = move[i][j]
        if mv == 1:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif mv == 2:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _timed_entries(sets: Sequence[SourceSet], set_tol_ns: int) -> list[_Entry]:
    fit = sorted((s for s in sets if s.source == "fit"), key=lambda s: (s.started_at_ns, s.source_set_id))
    entries = [_Entry([s], 0.0) for s in fit]
    for s in sorted((s for s in sets if s.source == "sensor"), key=lambda s: (s.started_at_ns, s.source_set_id)):
        a0, a1 = s.started_at_ns, s.end_ns
        assert a0 is not None and a1 is not None
        best, best_ov = None, -1
        for e in entries:
            if e.has("sensor") or not e.has("fit"):
                continue
            f = e.members[0]
            b0, b1 = f.started_at_ns, f.end_ns
            assert b0 is not None and b1 is not None
            ov = min(a1, b1) - max(a0, b0)
            if ov + set_tol_ns >= 0 and ov > best_ov:
                best, best_ov = e, ov
        if best is not None:
            best.members.append(s)
        else:
            entries.append(_Entry([s], 0.0))
    entries.sort(key=lambda e: min(m.started_at_ns or 0 for m in e.members))
    for i, e in enumerate(entries):
        e.pos = float(i)
    return entries


def _app_sequence(sets: Sequence[SourceSet], sess_start: Mapping[str, int]) -> list[SourceSet]:
    return sorted(
        sets,
        key=lambda s: (
            sess_start.get(s.source_session_id, 0),
            s.source_session_id,
            s.order if s.order is not None else 0,
            s.source_set_id,
        ),
    )


def _add_app_source(entries: list[_Entry], app_sets: Sequence[SourceSet]) -> list[_Entry]:
    entries = sorted(entries, key=lambda e: e.pos)
    matched: dict[int, int] = {}  # app index -> entry index

    def run(li: list[int], ai: list[int], cost: _PairCost) -> None:
        for p, q in _align([entries[k] for k in li], [app_sets[k] for k in ai], cost):
            matched[ai[q]] = li[p]

    def free() -> tuple[list[int], list[int]]:
        used = set(matched.values())
        return [k for k in range(len(entries)) if k not in used], [k for k in range(len(app_sets)) if k not in matched]

    # 1. the whole session in order (same exercise, or unknown/guessed with agreeing reps and load)
    run(*free(), _cost_any)
    # 2. per exercise, in order, what is left (e.g. supersets: apps export each exercise's sets together)
    li, ai = free()
    for ex in dict.fromkeys(app_sets[k].exercise for k in ai if app_sets[k].exercise is not None):
        run([k for k in li if entries[k].exercise == ex], [k for k in ai if app_sets[k].exercise == ex], _cost_same)
    # 3. unknown or guessed exercises once more among what is left
    run(*free(), _cost_any)
    # merge, and place unmatched app sets after the previous app set's entry
    prev_pos = -1.0
    added = 0
    for k, s in enumerate(app_sets):
        if k in matched:
            e = entries[matched[k]]
            e.members.append(s)
            prev_pos = e.pos
        else:
            added += 1
            pos = prev_pos + added * 1e-6
            entries.append(_Entry([s], pos))
            prev_pos = pos
    entries.sort(key=lambda e: e.pos)
    for i, e in enumerate(entries):
        e.pos = float(i)
    return entries


def _finish_set(e: _Entry, tsid: str, overrides: Mapping[Ref, str]) -> dict[str, Any]:
    vals: dict[str, Any] = {}
    fsrc: dict[str, str] = {}
    for name, order in FIELD_PRIORITY.items():
        v, src = e.first(name, order)
        vals[name] = v
        if src is not None:
            fsrc[name] = src
    refs = {m.ref for m in e.members}
    user = [ex for ref, ex in overrides.items() if ref in refs]
    if user:  # the user's correction of any source's version of the set wins; a later one over an earlier
        vals["exercise"] = user[-1]
        fsrc["exercise"] = "user"
    sources = tuple(s for s in SOURCES if e.has(s))
    primary = sources[0]
    role = vals["set_role"] or "working"
    names = [m.exercise for m in e.members if m.exercise is not None]
    conflict = tuple(sorted({n for n in names if n != vals["exercise"]}))
    as_rec = next((m.exercise_as_recorded for m in e.members if m.source == primary), None)
    ids: dict[str, list[str]] = {}
    sids: dict[str, str] = {}
    for m in e.members:
        ids.setdefault(m.source, []).append(m.source_set_id)
        sids.setdefault(m.source, m.source_session_id)
    return dict(
        set_id=_digest("ls-", [m.ref for m in e.members]),
        training_session_id=tsid,
        source=primary,
        sources=sources,
        source_set_ids=ids,
        source_session_ids=sids,
        set_role=role,
        counts_toward_prescription=role != "warmup",
        exercise=vals["exercise"],
        exercise_as_recorded=as_rec,
        exercise_conflict=conflict,
        started_at_ns=vals["started_at_ns"],
        duration_s=vals["duration_s"],
        reps=vals["reps"],
        load_kg=vals["load_kg"],
        rpe=vals["rpe"],
        mean_velocity_mps=vals["mean_velocity_mps"],
        velocity_loss_pct=vals["velocity_loss_pct"],
        avg_heart_rate_bpm=vals["avg_heart_rate_bpm"],
        field_sources=fsrc,
    )


def _build_session(
    refs: Sequence[Ref],
    sess: Mapping[Ref, _Sess],
    sets_by_sess: Mapping[Ref, list[SourceSet]],
    set_tol_ns: int,
    corrected: bool,
    overrides: Mapping[Ref, str],
) -> LedgerSession:
    refs = sorted(refs, key=lambda r: (SOURCES.index(r[0]), sess[r].start, r[1]))
    tsid = _digest("ts-", refs)
    members = [x for r in refs for x in sets_by_sess.get(r, [])]
    entries = _timed_entries([x for x in members if x.source in _TIMED], set_tol_ns)
    starts = {r[1]: sess[r].start for r in refs}
    for app in _APPS:
        app_sets = _app_sequence([x for x in members if x.source == app], starts)
        if app_sets:
            entries = _add_app_source(entries, app_sets)
    rows = [_finish_set(e, tsid, overrides) for e in entries]
    ex_rank: dict[str | None, int] = {}
    per_ex: dict[str | None, int] = {}
    out_sets = []
    for r in rows:
        ex = r["exercise"]
        ex_rank.setdefault(ex, len(ex_rank) + 1)
        per_ex[ex] = per_ex.get(ex, 0) + 1
        out_sets.append(LedgerSet(exercise_order=ex_rank[ex], set_order=per_ex[ex], **r))
    ss = [sess[r] for r in refs]
    timed = [s for s in ss if s.ss.start_precision != "day"] or ss
    start = min(s.start for s in timed)
    end = max(s.end for s in timed)
    set_ends = [x.end_ns for x in members if x.end_ns is not None]
    end = max([end, *set_ends])

    def first_attr(name: str, order: Sequence[str]) -> Any:
        for src in order:
            for s in ss:
                if s.ss.source == src and getattr(s.ss, name) is not None:
                    return getattr(s.ss, name)
        return None

    sources = tuple(s for s in SOURCES if any(r[0] == s for r in refs))
    return LedgerSession(
        training_session_id=tsid,
        start_ns=start,
        end_ns=end,
        sources=sources,
        source_sessions=tuple(refs),
        title=first_attr("title", (*_APPS, "sensor", "fit")),
        session_rpe=first_attr("session_rpe", SOURCES),
        avg_heart_rate_bpm=first_attr("avg_heart_rate_bpm", ("fit",)),
        sets=tuple(out_sets),
        merged=len(sources) > 1,
        corrected=corrected,
        day_precision_only=all(s.ss.start_precision == "day" for s in ss),
    )


def build_ledger(
    sessions: Iterable[SourceSession | Mapping[str, Any]],
    sets: Iterable[SourceSet | Mapping[str, Any]],
    *,
    corrections: Iterable[Correction | Mapping[str, Any]] = (),
    tz: str | None = None,
    tolerance_s: float = 300.0,
    sensor_gap_s: float = 3600.0,
    set_tolerance_s: float = 15.0,
    exercise_overrides: Mapping[Ref, str] | None = None,
) -> Ledger:
    """Reconcile the sources into one ledger (see the module docstring for the rule).

    Parameters
    ----------
    sessions : iterable of SourceSession or mapping
        Source sessions. A set whose (source, source_session_id) has no session here gets one
        spanning its sets (timed sources only: app sets need their session).
    sets : iterable of SourceSet or mapping
        Source sets (``sets --json`` rows are accepted as mappings).
    corrections : iterable of Correction or mapping
        Applied in order after the automatic matching.
    tz : str, optional
        The athlete's IANA zone, used only to place app sessions that have a date but no time.
    tolerance_s : float
        Sessions closer than this (end to start) are one training session.
    sensor_gap_s : float
        A sensor-only training session this close after the previous one's end joins it.
    set_tolerance_s : float
        Watch and sensor sets closer than this (interval gap) can be the same set.
    exercise_overrides : mapping, optional
        (source, source_set_id) -> exercise: the user's corrections (``correct --set``). A ledger
        set holding a corrected source set takes the corrected exercise whatever the sources say
        (``field_sources["exercise"] = "user"``); of several, the later in the mapping's order wins.
        Give the corrected exercise on the source sets too, so that the matching uses it.

    Returns
    -------
    Ledger
    """
    if tolerance_s < 0 or sensor_gap_s < 0 or set_tolerance_s < 0:
        raise ValueError("tolerances must be >= 0")
    zi = zone_info(tz) if tz is not None else None
    ss = [s if isinstance(s, SourceSession) else SourceSession.from_mapping(s) for s in sessions]
    xs = [s if isinstance(s, SourceSet) else SourceSet.from_mapping(s) for s in sets]
    corr = tuple(c if isinstance(c, Correction) else Correction.from_mapping(c) for c in corrections)
    seen_ids: set[Ref] = set()
    for x in xs:
        if x.ref in seen_ids:
            raise ValueError(f"source set {x.ref} given twice")
        seen_ids.add(x.ref)
    active = [x for x in xs if x.set_type == "active"]
    sets_by_sess: dict[Ref, list[SourceSet]] = {}
    for x in active:
        sets_by_sess.setdefault((x.source, x.source_session_id), []).append(x)
    given = tuple(ss)
    have = {(s.source, s.source_session_id) for s in ss}
    for ref, members in sets_by_sess.items():
        if ref in have:
            continue
        if ref[0] in _APPS:
            raise ValueError(f"app sets of {ref[0]}:{ref[1]} need their session (apps export no per-set times)")
        t0 = min(m.started_at_ns for m in members if m.started_at_ns is not None)
        ss.append(SourceSession(ref[0], ref[1], t0))
    sess = _intervals(ss, sets_by_sess)
    clusters = _cluster(sess, round(tolerance_s * _NS), round(sensor_gap_s * _NS), zi)
    clusters, touched, warnings = _apply_corrections(clusters, corr, set(sess))
    overrides = {(str(a), str(b)): str(ex) for (a, b), ex in (exercise_overrides or {}).items()}
    built = [
        _build_session(c, sess, sets_by_sess, round(set_tolerance_s * _NS), bool(touched & set(c)), overrides)
        for c in clusters
    ]
    built.sort(key=lambda s: (s.start_ns, s.training_session_id))
    params = {
        "tz": tz,
        "tolerance_s": tolerance_s,
        "sensor_gap_s": sensor_gap_s,
        "set_tolerance_s": set_tolerance_s,
        "exercise_overrides": overrides,
    }
    return Ledger(tuple(built), corr, tuple(warnings), params, (given, tuple(xs)))


def _rebuild(ledger: Ledger, extra: Correction) -> Ledger:
    ss, xs = ledger.inputs
    return build_ledger(ss, xs, corrections=(*ledger.corrections, extra), **ledger.params)


def split(ledger: Ledger, training_session_id: str, refs: Iterable[Ref]) -> tuple[Ledger, Correction]:
    """Move source sessions ``refs`` out of a training session into one of their own.

    Returns the rebuilt ledger and the :class:`Correction` to store (``correct`` keeps it
    and passes it to every later :func:`build_ledger`).
    """
    ts = ledger.session(training_session_id)
    rs = tuple(sorted({(str(a), str(b)) for a, b in refs}))
    if not rs:
        raise ValueError("split needs at least one source session")
    missing = [r for r in rs if r not in ts.source_sessions]
    if missing:
        raise ValueError(f"{missing} are not in training session {training_session_id}")
    if len(rs) == len(ts.source_sessions):
        raise ValueError("split must leave at least one source session behind")
    c = Correction("split", rs)
    return _rebuild(ledger, c), c


def merge(ledger: Ledger, training_session_ids: Iterable[str]) -> tuple[Ledger, Correction]:
    """Make the given training sessions one; returns the rebuilt ledger and the Correction to store."""
    ids = list(dict.fromkeys(training_session_ids))
    if len(ids) < 2:
        raise ValueError("merge needs at least two training sessions")
    refs = tuple(r for i in ids for r in ledger.session(i).source_sessions)
    c = Correction("merge", refs)
    return _rebuild(ledger, c), c
