"""Canonical, source-independent activities and strength sets: what the store writes.

Every source (FIT files, simulated histories for the demo and benchmarks, sensor sessions for
their sets) produces these; the store's writers take nothing else. ``*_at`` are timezone-aware
UTC datetimes; the records of an activity are a :class:`records.runs.RunRecords`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from records.runs import RunRecords


@dataclass
class LapRow:
    lap_index: int
    started_at: dt.datetime | None
    duration_s: float | None
    distance_m: float | None
    avg_heart_rate_bpm: float | None
    avg_speed_mps: float | None
    avg_power_w: float | None
    total_ascent_m: float | None


@dataclass
class SetRow:
    """One strength set (FIT ``set`` message or a sensor-detected set): a ``strength_set`` row."""

    set_id: str
    set_index: int
    started_at: dt.datetime | None
    exercise: str | None
    exercise_candidates: list[str]
    fit_category: str | None
    fit_category_subtype: str | None
    set_type: str  # 'active' | 'rest'
    reps: int | None
    load_kg: float | None
    duration_s: float | None
    source: str = "fit"  # 'fit' | 'sensor'
    activity_id: str | None = None
    session_id: str | None = None
    # sensor sets: the set figures of the bar-velocity analysis (None for FIT sets)
    best_mean_velocity_mps: float | None = None
    velocity_loss_pct: float | None = None
    best_mean_propulsive_velocity_mps: float | None = None
    velocity_loss_mpv_pct: float | None = None


@dataclass
class ActivityData:
    """One activity (one FIT session) with its records, laps and sets."""

    activity_id: str
    session_index: int
    sport: str
    sub_sport: str | None
    started_at: dt.datetime
    duration_s: float | None
    distance_m: float | None
    records: RunRecords
    laps: list[LapRow] = field(default_factory=list)
    sets: list[SetRow] = field(default_factory=list)
    total_ascent_m: float | None = None
    utc_offset_s: int | None = None
    device: str | None = None
    #: heart-rate source from FIT device_info ("strap:<maker>/<product>:SN<serial>" or "built-in"), None if no HR
    hr_sensor: str | None = None
    name: str | None = None
    #: 'utc', or 'device_relative' when the FIT clock counted from device power-on (no date known)
    time_reference: str = "utc"

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware (UTC)")
        if self.records.activity_id != self.activity_id:
            raise ValueError(f"records of activity {self.records.activity_id!r} given to activity {self.activity_id!r}")


@dataclass
class SourceFile:
    """The ledger entry of one imported file (sha256 of the decompressed bytes)."""

    sha256: str
    path: str
    bytes_size: int
    status: str  # 'imported' | 'partial'
    decoder: str
    file_type: str | None
    error: str | None = None
