"""Physical constants shared by the decoders, the simulator and the analysis."""

from __future__ import annotations

STANDARD_GRAVITY_MPS2: float = 9.80665
"""Standard gravity g (m/s^2; CGPM 1901), the g-unit of accelerometers and the g in F = m (a + g)."""

NS_PER_S: int = 1_000_000_000
"""Nanoseconds per second (``t_ns`` arithmetic)."""
