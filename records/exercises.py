"""The contract's exercise names (docs/cli.md, `replay`): the names a lift is stored and analysed under.

One list for the FIT mapping (``ingest.fit.exercises``), the bar-velocity table
(``analysis.exercises``, one entry per name) and the CLI's warning for other names (``jobs.commands``).
"""

from __future__ import annotations

CONTRACT_EXERCISES: tuple[str, ...] = (
    "back_squat",
    "front_squat",
    "deadlift",
    "romanian_deadlift",
    "bench_press",
    "overhead_press",
    "hip_thrust",
    "lunge",
    "split_squat",
    "bulgarian_split_squat",
    "step_up",
)
