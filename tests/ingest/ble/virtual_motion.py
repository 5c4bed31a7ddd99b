"""A synthetic motion for the virtual WitMotion whose frames carry their own sample index
(ax = index), so tests can match every received frame to the one the device sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Motion:
    t_s: np.ndarray
    raw_i16: np.ndarray
    reps: list[Any] = field(default_factory=list)


def indexed_motion(seconds: float, rate_hz: float = 200.0) -> Motion:
    n = round(seconds * rate_hz)
    raw = np.zeros((n, 9), dtype=np.int16)
    raw[:, 0] = np.arange(n)
    return Motion(np.arange(n) / rate_hz, raw)
