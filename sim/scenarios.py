"""The bar-velocity validation scenarios, shared by the accuracy tests and the benchmark.

Keyword arguments of :func:`sim.barbell.simulate_session` (100 Hz and 15 deg tilt unless said
otherwise): each exercise's usual set, a light fast squat at 200 Hz, and a squat with 5 % random
sample loss and 2 ms timing jitter.
"""

from __future__ import annotations

from typing import Any

VALIDATION_SCENARIOS: dict[str, dict[str, Any]] = {
    "squat": dict(exercise="back_squat", load_kg=120.0, reps=6, rate_hz=100.0, unrack=True),
    "deadlift": dict(exercise="deadlift", load_kg=140.0, reps=5, rate_hz=100.0, unrack=True),
    "split_squat": dict(exercise="split_squat", load_kg=60.0, reps=8, rate_hz=100.0),
    "bench": dict(exercise="bench_press", load_kg=80.0, reps=6, rate_hz=100.0),
    "light_squat": dict(exercise="back_squat", load_kg=60.0, reps=6, rate_hz=200.0, one_rm_kg=150.0),
    "squat_loss_jitter": dict(exercise="back_squat", load_kg=120.0, reps=6, rate_hz=100.0, loss_prob=0.05,
                              jitter_s=0.002),
}
