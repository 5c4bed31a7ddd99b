"""The bar-velocity method version moves with the results: stored sessions record the version that
analysed them, and ``reanalyse`` is how they catch up, so a change that moves the results must
come with a new ``analysis.version.BAR_VELOCITY_METHOD_VERSION``.

The fingerprint is the analysis of fixed simulated sessions (three lifts, a pause-free and a
lossy one), every number rounded to 5 decimals, hashed. When this test fails after a change to the
analysis: bump the version (docs in ``analysis/version.py``) and pin the new fingerprint below
(the failure message prints it); if the change was meant to leave the results alone, it did not.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from analysis.barbell import analyse_session
from analysis.version import BAR_VELOCITY_METHOD_VERSION
from ingest.ble.protocols.witmotion import samples_from_raw

#: version -> fingerprint of its results on the sessions below
PINNED = {
    "2026.12.05": "91b8290fdb9f7139",
    "2026.12.05.2": "11deee826aa068d2",
    "2026.12.05.3": "11deee826aa068d2",  # moves sessions with a drifted bias only: these three keep theirs
}


def _rounded(x: Any) -> Any:
    if isinstance(x, float):
        return round(x, 5)
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_rounded(v) for v in x]
    return x


@cache
def fingerprint() -> str:
    from sim.barbell import simulate_session

    docs = []
    for exercise, load, reps, seed, extra in (
        ("back_squat", 100.0, 4, 11, {}),
        ("deadlift", 150.0, 3, 12, {"sets": 2, "rest_between_sets_s": 40.0}),
        ("bench_press", 70.0, 5, 13, {"loss_prob": 0.01, "unrack": True}),
    ):
        sim = simulate_session(exercise, load, reps, rate_hz=200.0, seed=seed, **extra)
        t_ns = (sim.t_s * 1e9).round().astype("int64")
        res = analyse_session(samples_from_raw(t_ns, sim.raw_i16), exercise, load, body_mass_kg=75.0)
        docs.append(res.to_contract())
    text = json.dumps(_rounded(docs), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_results_change_only_with_a_new_method_version() -> None:
    digest = fingerprint()
    assert BAR_VELOCITY_METHOD_VERSION in PINNED, (
        f"pin the fingerprint of method version {BAR_VELOCITY_METHOD_VERSION!r} in PINNED: {digest!r}"
    )
    assert PINNED[BAR_VELOCITY_METHOD_VERSION] == digest, (
        f"the bar-velocity results changed (fingerprint {digest!r}, pinned {PINNED[BAR_VELOCITY_METHOD_VERSION]!r}) "
        "while analysis.version.BAR_VELOCITY_METHOD_VERSION did not: bump it and pin the new fingerprint, so that "
        "stored sessions show which method analysed them and `reanalyse` brings them up to date"
    )


def test_the_fingerprint_sees_a_change_of_results() -> None:
    """The hash covers the numbers: a change in the fifth decimal of one rep changes it."""
    base = json.dumps(_rounded([{"v": 0.512341}]), sort_keys=True)
    moved = json.dumps(_rounded([{"v": 0.512361}]), sort_keys=True)
    assert hashlib.sha256(base.encode()).hexdigest() != hashlib.sha256(moved.encode()).hexdigest()
