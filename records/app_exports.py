"""Phone-app workouts (Strong, Hevy) as the store writes them, and what writing one export did.

``ingest.apps`` parses an export into these (``ingest/apps/store_rows.py``); ``store.app_sessions``
writes them and answers with an :class:`AppImportOutcome`. Local wall-clock times stay naive (the
apps write no zone); ``started_at`` is the instant they were read as, in the athlete's zone ``tz``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from records.activities import SourceFile


@dataclass(frozen=True)
class AppSetRow:
    """One set of an app workout: an ``app_set`` row (without athlete and session key)."""

    set_id: str
    position: int
    exercise: str | None
    exercise_as_written: str
    equipment: str | None
    exercise_order: int
    set_order: int
    set_order_as_written: str
    set_role: str
    reps: int | None
    load_kg: float | None
    distance_m: float | None
    duration_s: float | None
    rpe: float | None
    notes: str | None
    superset_id: str | None
    line: int | None


@dataclass(frozen=True)
class AppSessionRow:
    """One app workout: an ``app_session`` row (without the athlete and the bookkeeping columns)."""

    session_key: str
    app: str
    title: str
    start_local: dt.datetime
    start_precision: str
    started_at: dt.datetime
    duration_s: float | None
    tz: str
    local_time_note: str | None
    notes: str | None
    session_rpe: float | None
    weight_unit: str | None
    weight_unit_source: str | None
    distance_unit: str | None
    distance_unit_source: str | None
    content_sha256: str
    sets: tuple[AppSetRow, ...] = ()

    def __post_init__(self) -> None:
        if self.start_local.tzinfo is not None:
            raise ValueError("start_local is the app's wall-clock time: naive")
        if self.started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware (UTC)")


@dataclass(frozen=True)
class AppExportFile:
    """One export file to store: its ``source_file`` ledger entry and its workouts.

    ``as_of`` is the latest workout start (local) in the file: how recent the export is. An
    export never replaces a stored workout's version that came from a more recent one, and it
    flags as deleted in the app only the stored workouts of its own app that start within its
    own span (``first_start`` to ``as_of``) and that it lacks.
    """

    source: SourceFile
    app: str
    sessions: tuple[AppSessionRow, ...]

    @property
    def as_of(self) -> dt.datetime | None:
        return max((s.start_local for s in self.sessions), default=None)

    @property
    def first_start(self) -> dt.datetime | None:
        return min((s.start_local for s in self.sessions), default=None)


@dataclass
class AppImportOutcome:
    """What storing one export did, by session key."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: stored from a more recent export with other content: the stored version was kept
    kept_newer: list[str] = field(default_factory=list)
    #: stored workouts of this app, within this export's span, that it lacks (deleted in the app): kept, flagged
    flagged_deleted: list[str] = field(default_factory=list)
    #: flagged before, present again in this export: the flag was lifted
    restored: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, int]:
        return {k: len(v) for k, v in vars(self).items()}
