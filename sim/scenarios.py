"""The bar-velocity validation scenarios, shared by the accuracy tests and the benchmark.

``VALIDATION_SCENARIOS``: keyword arguments of :func:`sim.barbell.simulate_session` (100 Hz and
15 deg tilt unless said otherwise): each exercise's usual set, a light fast squat at 200 Hz, and a
squat with 5 % random sample loss and 2 ms timing jitter.

``SHAPE_SCENARIOS`` (issue 11): keyword arguments of :func:`sim.rep_shapes.simulate_shapes`, without
``rate_hz`` and ``seed``; each is meant to run at every rate of ``SHAPE_RATES_HZ``. One scenario per
rep shape (the plates rattle at every impact), mixed sets, and mixed sets under the other sensor
error models. Call :func:`simulate_scenario` for either kind.
"""

from __future__ import annotations

from typing import Any

from sim.barbell import SimulatedSession, simulate_session
from sim.rep_shapes import simulate_shapes

VALIDATION_SCENARIOS: dict[str, dict[str, Any]] = {
    "squat": dict(exercise="back_squat", load_kg=120.0, reps=6, rate_hz=100.0, unrack=True),
    "deadlift": dict(exercise="deadlift", load_kg=140.0, reps=5, rate_hz=100.0, unrack=True),
    "split_squat": dict(exercise="split_squat", load_kg=60.0, reps=8, rate_hz=100.0),
    "bench": dict(exercise="bench_press", load_kg=80.0, reps=6, rate_hz=100.0),
    "light_squat": dict(exercise="back_squat", load_kg=60.0, reps=6, rate_hz=200.0, one_rm_kg=150.0),
    "squat_loss_jitter": dict(
        exercise="back_squat", load_kg=120.0, reps=6, rate_hz=100.0, loss_prob=0.05, jitter_s=0.002
    ),
}

SHAPE_RATES_HZ: tuple[float, ...] = (100.0, 200.0)

_SQUAT = dict(exercise="back_squat", load_kg=120.0, unrack=True, rerack=True)
_BENCH = dict(exercise="bench_press", load_kg=80.0)
_DEADLIFT = dict(exercise="deadlift", load_kg=140.0)
_MIX_SQUAT = ("plain", "bottom_pause", "sticking", "slow_lockout", "touch_and_go", "bounce", "top_sway")
_MIX_BENCH = ("plain", "bottom_pause", "sticking", "slow_lockout", "touch_and_go", "top_sway")
_MIX_DEADLIFT = ("plain", "sticking", "slow_lockout", "touch_and_go", "top_sway")

SHAPE_SCENARIOS: dict[str, dict[str, Any]] = {
    # one shape per set
    "paused_squat": dict(**_SQUAT, reps=5, shapes=("bottom_pause",), pause_s=(0.0, 1.0)),
    "short_pause_squat": dict(**_SQUAT, reps=5, shapes=("bottom_pause",), pause_s=(0.0, 0.3)),
    "paused_bench": dict(**_BENCH, reps=5, shapes=("bottom_pause",), pause_s=(0.0, 1.0)),
    "sticking_squat": dict(**_SQUAT, reps=5, shapes=("sticking",)),
    "sticking_bench": dict(**_BENCH, reps=5, shapes=("sticking",)),
    "grind_squat": dict(**_SQUAT, reps=2, shapes=("grind",)),
    "grind_bench": dict(**_BENCH, reps=2, shapes=("grind",)),
    "grind_deadlift": dict(**_DEADLIFT, reps=2, shapes=("grind",)),
    "slow_lockout_squat": dict(**_SQUAT, reps=5, shapes=("slow_lockout",)),
    "slow_lockout_bench": dict(**_BENCH, reps=5, shapes=("slow_lockout",)),
    "touch_and_go_bench": dict(**_BENCH, reps=6, shapes=("touch_and_go",)),
    "touch_and_go_deadlift": dict(**_DEADLIFT, reps=5, shapes=("touch_and_go",)),
    "bounce_squat": dict(**_SQUAT, reps=5, shapes=("bounce",)),
    "top_sway_squat": dict(**_SQUAT, reps=5, shapes=("top_sway",)),
    "plain_squat_rerack": dict(**_SQUAT, reps=5, shapes=("plain",)),
    # mixes within one set
    "mixed_squat": dict(**_SQUAT, reps=7, shapes=_MIX_SQUAT),
    "mixed_bench": dict(**_BENCH, reps=6, shapes=_MIX_BENCH),
    "mixed_deadlift": dict(**_DEADLIFT, reps=5, shapes=_MIX_DEADLIFT),
    # mixes under the other sensor error models
    "mixed_squat_bias_walk": dict(**_SQUAT, reps=7, shapes=_MIX_SQUAT, sensor="bias_walk"),
    "mixed_squat_coloured": dict(**_SQUAT, reps=7, shapes=_MIX_SQUAT, sensor="coloured"),
    "mixed_bench_fused_lag": dict(**_BENCH, reps=6, shapes=_MIX_BENCH, sensor="fused_lag"),
    "mixed_deadlift_all_errors": dict(**_DEADLIFT, reps=5, shapes=_MIX_DEADLIFT, sensor="all"),
}


def simulate_scenario(name: str, seed: int = 0, rate_hz: float | None = None) -> SimulatedSession:
    """Simulate a scenario of either table by name.

    ``rate_hz`` overrides the scenario's rate (``SHAPE_SCENARIOS`` default to 100 Hz).
    """
    if name in VALIDATION_SCENARIOS:
        kw = dict(VALIDATION_SCENARIOS[name])
        if rate_hz is not None:
            kw["rate_hz"] = rate_hz
        return simulate_session(seed=seed, **kw)
    if name in SHAPE_SCENARIOS:
        return simulate_shapes(seed=seed, rate_hz=100.0 if rate_hz is None else rate_hz, **SHAPE_SCENARIOS[name])
    raise ValueError(f"unknown scenario {name!r}; known: {sorted(VALIDATION_SCENARIOS) + sorted(SHAPE_SCENARIOS)}")
