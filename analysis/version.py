"""The version of the bar-velocity method: what :func:`analysis.barbell.analyse_session` (and the
live detector, which runs the same engine) computes from IMU samples.

Every stored sensor session records the version that produced its reps and sets
(``stream_session.analysis_method``); ``reanalyse`` re-runs the analysis of every stored session
from its raw frames and records the version it ran (docs/cli.md).

**Bump it with every change that changes results** of the bar-velocity analysis
(``analysis/barbell.py`` and what it runs: ``drift``, ``blocks``, ``buffers``, ``kinematics``, ``movement``,
``rep_metrics``, ``reps``, ``zupt``, ``imu``, ``exercises``): a new date, or ``.2``, ``.3`` for a
second change on one day. ``tests/analysis/test_method_version.py`` pins the results of a fixed
simulated session to the version, and fails when they move while the version does not.
"""

from __future__ import annotations

BAR_VELOCITY_METHOD_VERSION: str = "2026.12.05.3"
"""A steady still run whose reading moved off the rest before by more than half the quiet test's
tolerance (was: by more than all of it) is a rest with its own reading (``STEADY_OFFSET_FRACTION``).
Before: "2026.12.05.2", the integrated velocity's error as a Gaussian process with a bias random walk
(analysis/drift.py), height updates, closes undone on creeps into lockout, touch-and-go sets kept whole (issue 11,
merged 2026-12-05). Before: "2026.12.05", pause-aware concentric bounds, zero-velocity updates at
pauses and holds, the mid-rep rule (issue 11 items 2 and 4)."""
