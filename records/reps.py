"""The stored row of one barbell rep (the ``rep`` table), and the sensor set it belongs to.

Reps are measured on a stream session's capture clock: ``*_ns`` are that clock's nanoseconds
(as in the ``replay`` JSON, docs/cli.md), ``started_at`` the rep's start as a UTC datetime.
The sets of a sensor session are :class:`records.activities.SetRow` rows with ``source='sensor'``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: The per-rep metrics of the ``replay`` contract that a rep row keeps, in the table's order.
REP_METRIC_FIELDS: tuple[str, ...] = (
    "start_ns",
    "end_ns",
    "concentric_start_ns",
    "concentric_end_ns",
    "mean_velocity_mps",
    "mean_propulsive_velocity_mps",
    "peak_velocity_mps",
    "time_to_peak_velocity_s",
    "rom_m",
    "mean_power_w",
    "peak_force_n",
    "peak_system_force_n",
    "peak_rfd_n_per_s",
    "rfd_0_100ms_n_per_s",
    "velocity_loss_pct",
    "velocity_loss_mpv_pct",
)


@dataclass
class RepRow:
    """One rep of a stream session; None where the analysis gave no value."""

    session_id: str
    set_index: int
    rep_index: int
    exercise: str | None
    load_kg: float | None
    started_at: dt.datetime | None
    start_ns: int | None = None
    end_ns: int | None = None
    concentric_start_ns: int | None = None
    concentric_end_ns: int | None = None
    mean_velocity_mps: float | None = None
    mean_propulsive_velocity_mps: float | None = None
    peak_velocity_mps: float | None = None
    time_to_peak_velocity_s: float | None = None
    rom_m: float | None = None
    mean_power_w: float | None = None
    peak_force_n: float | None = None
    peak_system_force_n: float | None = None
    peak_rfd_n_per_s: float | None = None
    rfd_0_100ms_n_per_s: float | None = None
    velocity_loss_pct: float | None = None
    velocity_loss_mpv_pct: float | None = None
