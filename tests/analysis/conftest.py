"""Shared simulated sessions for the bar-velocity tests (cached: each is simulated once per run)."""

from functools import lru_cache

import pytest

from sim.barbell import SimulatedSession, simulate_session

# The validation scenarios of the issue (100 Hz, 15 deg tilt unless said otherwise).
SCENARIOS: dict[str, dict] = {
    "squat": dict(exercise="back_squat", load_kg=120.0, reps=6, rate_hz=100.0, unrack=True),
    "deadlift": dict(exercise="deadlift", load_kg=140.0, reps=5, rate_hz=100.0, unrack=True),
    "split_squat": dict(exercise="split_squat", load_kg=60.0, reps=8, rate_hz=100.0),
    "bench": dict(exercise="bench_press", load_kg=80.0, reps=6, rate_hz=100.0),
    "light_squat": dict(exercise="back_squat", load_kg=60.0, reps=6, rate_hz=200.0, one_rm_kg=150.0),
    "squat_loss_jitter": dict(exercise="back_squat", load_kg=120.0, reps=6, rate_hz=100.0, loss_prob=0.05,
                              jitter_s=0.002),
}


@lru_cache(maxsize=64)
def _sim(name: str, seed: int) -> SimulatedSession:
    return simulate_session(seed=seed, **SCENARIOS[name])


@pytest.fixture(scope="session")
def scenario_session():
    """``scenario_session(name, seed)`` -> the cached SimulatedSession."""
    return _sim
