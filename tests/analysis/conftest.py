"""Shared simulated sessions for the bar-velocity tests (cached: each is simulated once per run)."""

from functools import lru_cache

import pytest

from sim.barbell import SimulatedSession, simulate_session
from sim.scenarios import VALIDATION_SCENARIOS as SCENARIOS


@lru_cache(maxsize=64)
def _sim(name: str, seed: int) -> SimulatedSession:
    return simulate_session(seed=seed, **SCENARIOS[name])


@pytest.fixture(scope="session")
def scenario_session():
    """``scenario_session(name, seed)`` -> the cached SimulatedSession."""
    return _sim
