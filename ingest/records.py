"""Canonical, source-independent records that the store writes.

Every source (FIT files, simulated histories for the demo and benchmarks) produces these; the
store's writers take nothing else. Arrays are SI with the unit in the name, ``t_ns`` is int64
UTC epoch nanoseconds, NaN means absent (written as NULL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

#: Column name -> meaning of the per-record arrays in :class:`RecordArrays`.
RECORD_FIELDS: tuple[str, ...] = (
    "heart_rate_bpm",
    "speed_mps",
    "distance_m",
    "altitude_m",
    "cadence_spm",
    "cadence_rpm",
    "power_w",
    "lat_deg",
    "lon_deg",
    "temperature_c",
    "vertical_oscillation_m",
    "stance_time_s",
    "step_length_m",
    "vertical_ratio_pct",
)


@dataclass
class RecordArrays:
    """Per-record columns of one activity (all the same length as ``t_ns``)."""

    t_ns: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t_ns = np.asarray(self.t_ns, dtype=np.int64)
        n = len(self.t_ns)
        for k in RECORD_FIELDS:
            v = self.values.get(k)
            if v is None:
                self.values[k] = np.full(n, np.nan)
            else:
                arr = np.asarray(v, dtype=np.float64)
                if arr.shape != (n,):
                    raise ValueError(f"record field {k!r} has shape {arr.shape}, expected ({n},)")
                self.values[k] = arr
        unknown = set(self.values) - set(RECORD_FIELDS)
        if unknown:
            raise ValueError(f"unknown record fields: {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.t_ns)

    def mean(self, key: str) -> float | None:
        """Mean over records where ``key`` is present; None when it never is."""
        v = self.values[key]
        ok = ~np.isnan(v)
        return float(v[ok].mean()) if ok.any() else None


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
    """One strength set (FIT ``set`` message or a sensor-detected set)."""

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
    source: str = "fit"
    activity_id: str | None = None
    session_id: str | None = None


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
    records: RecordArrays
    laps: list[LapRow] = field(default_factory=list)
    sets: list[SetRow] = field(default_factory=list)
    total_ascent_m: float | None = None
    utc_offset_s: int | None = None
    device: str | None = None
    name: str | None = None
    #: 'utc', or 'device_relative' when the FIT clock counted from device power-on (no date known)
    time_reference: str = "utc"

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware (UTC)")


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
