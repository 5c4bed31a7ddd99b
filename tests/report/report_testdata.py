"""Synthetic stores for the report, export, nightly and demo tests, built only with the
canonical writer types (records.activities) and store.activities.write_activities. No statistics here."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import numpy as np

from records.activities import ActivityData, SetRow, SourceFile
from records.runs import RunRecords
from store.activities import write_activities
from store.connection import transaction

HOSTILE = "<script>alert(1)</script>"
UTC = dt.UTC


# ------------------------------------------------------------------------------------------


def _ns(t: dt.datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000


def run_activity(
    activity_id: str,
    started_at: dt.datetime,
    *,
    minutes: float = 45.0,
    speed_mps: float = 3.2,
    hr_bpm: float = 148.0,
    seed: int = 0,
    name: str | None = None,
    with_hr: bool = True,
    temperature_c: float = 15.0,
) -> ActivityData:
    """A flat, steady 1 Hz run with mild noise (enough steady minutes for the economy proxies)."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60)
    t_ns = _ns(started_at) + np.arange(n, dtype=np.int64) * 1_000_000_000
    speed = speed_mps + rng.normal(0, 0.03, n)
    ramp = np.minimum(1.0, np.arange(n) / 300.0)
    hr = (100 + (hr_bpm - 100) * ramp + rng.normal(0, 1.0, n)) if with_hr else np.full(n, np.nan)
    dist = np.cumsum(speed)
    vals = {
        "heart_rate_bpm": hr,
        "speed_mps": speed,
        "distance_m": dist,
        "altitude_m": np.full(n, 50.0),
        "cadence_spm": np.full(n, 170.0),
        "temperature_c": np.full(n, temperature_c),
    }
    return ActivityData(
        activity_id=activity_id,
        session_index=0,
        sport="running",
        sub_sport="generic",
        started_at=started_at,
        duration_s=float(n),
        distance_m=float(dist[-1]),
        records=RunRecords.from_arrays(activity_id, t_ns, **vals),
        name=name,
    )


def strength_activity(
    activity_id: str,
    started_at: dt.datetime,
    sets: Sequence[tuple[str, int, float]],
    *,
    name: str | None = None,
) -> ActivityData:
    rows = []
    for i, (ex, reps, load) in enumerate(sets):
        rows.append(
            SetRow(
                set_id=f"{activity_id}-s{i}",
                set_index=i,
                started_at=started_at + dt.timedelta(minutes=3 * i),
                exercise=ex,
                exercise_candidates=[ex],
                fit_category=None,
                fit_category_subtype=None,
                set_type="active",
                reps=reps,
                load_kg=load,
                duration_s=30.0,
                activity_id=activity_id,
            )
        )
    return ActivityData(
        activity_id=activity_id,
        session_index=0,
        sport="training",
        sub_sport="strength_training",
        started_at=started_at,
        duration_s=60.0 * 3 * len(sets),
        distance_m=None,
        records=RunRecords.from_arrays(activity_id, np.zeros(0, dtype=np.int64), sport="training"),
        sets=rows,
        name=name,
    )


def write(con, athlete: str, activities: Sequence[ActivityData], *, path: str = "synthetic.fit") -> str:
    sha = hashlib.sha256((athlete + "|" + "|".join(a.activity_id for a in activities)).encode()).hexdigest()
    with transaction(con):
        write_activities(con, athlete, SourceFile(sha, path, 1000, "imported", "fast", "activity"), activities)
    return sha


def build_history(con, athlete: str = "alice", *, weeks: int = 10, hostile: bool = True) -> dict:
    """Two runs and two strength sessions a week for ``weeks`` weeks (+ a hostile name, an exclusion,
    a failed import), starting Monday 2025-01-06 08:00 UTC. Returns the ids used."""
    start = dt.datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    run_ids: list[str] = []
    for w in range(weeks):
        acts = []
        for k, day in enumerate((1, 4)):
            aid = f"run{w:02d}{k}" + "0" * 10 + "-0"
            run_ids.append(aid)
            nm = HOSTILE if (hostile and w == 0 and k == 0) else f"Easy run {w}.{k}"
            acts.append(
                run_activity(aid, start + dt.timedelta(days=7 * w + day), seed=w * 2 + k, hr_bpm=150 - 0.3 * w, name=nm)
            )
        for k, day in enumerate((0, 3)):
            aid = f"str{w:02d}{k}" + "0" * 10 + "-0"
            acts.append(
                strength_activity(
                    aid,
                    start + dt.timedelta(days=7 * w + day, hours=9),
                    [
                        ("back_squat", 5, 80.0 + w),
                        ("back_squat", 5, 80.0 + w),
                        ("back_squat", 4, 85.0 + w),
                        ("split_squat", 8, 20.0),
                    ],
                )
            )
        write(con, athlete, acts, path=f"week{w}.fit")
    excluded = run_ids[3]
    con.execute(
        "INSERT INTO activity_exclusion VALUES (?, ?, ?, now())",
        [athlete, excluded, "treadmill run " + (HOSTILE if hostile else "")],
    )
    con.execute(
        "INSERT INTO import_event VALUES (?, ?, NULL, 'failed', ?, now())",
        [athlete, "broken/" + (HOSTILE if hostile else "bad") + ".fit", "FitCRCError: CRC mismatch"],
    )
    con.execute(
        "INSERT INTO athlete (athlete, body_mass_kg, sex, hr_rest_bpm, hr_max_bpm, tz, created_at) "
        "VALUES (?, 70.0, 'female', 50.0, 190.0, 'Europe/Oslo', now()) ON CONFLICT DO NOTHING",
        [athlete],
    )
    return {"run_ids": run_ids, "excluded": excluded}


def barbell_day(con, athlete: str, day: dt.datetime, *, exercise: str = "back_squat") -> dict[float, list[float]]:
    """One day of streamed barbell sets at three loads (three reps each, as the stream writer stores them):
    enough for one load-velocity profile, so one e1RM day and one session of RFD medians per load.
    Returns the mean concentric velocities by load."""
    from store.writers import insert_rows

    mcv = {60.0: [0.95, 1.01, 0.98], 80.0: [0.80, 0.78, 0.74], 100.0: [0.62, 0.60, 0.55]}
    reps, sessions = [], []
    for k, (load, vs) in enumerate(mcv.items()):
        sid = f"{athlete}-bar{k}"
        start = day + dt.timedelta(minutes=5 * k)
        sessions.append(
            {
                "athlete": athlete,
                "session_id": sid,
                "sensor": "witmotion",
                "started_at": start,
                "anchor_t_ns": 0,
                "exercise": exercise,
                "load_kg": load,
                "status": "complete",
            }
        )
        for i, v in enumerate(vs):
            reps.append(
                {
                    "athlete": athlete,
                    "session_id": sid,
                    "set_index": 1,
                    "rep_index": i + 1,
                    "exercise": exercise,
                    "load_kg": load,
                    "started_at": start + dt.timedelta(seconds=4 * i),
                    "mean_velocity_mps": v,
                    "peak_velocity_mps": v * 1.6,
                    "peak_rfd_n_per_s": 3000.0 + 100 * i - 10 * load,
                    "rfd_0_100ms_n_per_s": 900.0 - 8 * load,
                }
            )
    insert_rows(con, "stream_session", sessions)
    insert_rows(con, "rep", reps)
    return mcv
