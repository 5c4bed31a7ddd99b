"""Live rep detection: reps reported as soon as they are complete.

:class:`LiveRepDetector` is a thin wrapper over :class:`analysis.barbell.BarbellEngine`,
the same engine :func:`analysis.barbell.analyse_session` runs on a whole
capture, so a live session and the replay of its capture give identical reps
(tested by feeding sessions in random chunk sizes).

When is a rep reported?
-----------------------
A movement is analysed once the bar has been still for
:attr:`LiveRepDetector.stillness_window_s` (0.15 s). The still test looks at a
110 ms window centred on each 10 ms block, so it needs 50 ms of data beyond
the still run, and a block is only closed when a sample of a later block has
arrived: in total the rep is reported about 0.2-0.25 s after the bar came to
rest. For eccentric-first lifts (squat, bench...) the bar comes to rest right
after the concentric phase, so the report comes ~0.3-0.4 s after the
concentric end (measured on the simulator's clock in the tests). For
concentric-first lifts (deadlift from the floor) a rep is complete only when
the bar is back at rest on the floor, after the lowering.
"""

from __future__ import annotations

from analysis.barbell import DEFAULT_STILLNESS_WINDOW_S, BarbellAnalysis, BarbellEngine, RepMetrics
from analysis.imu import ImuSamples
from analysis.reps import BLOCK_NS, HALF_WINDOW_BLOCKS


class LiveRepDetector:
    """Incremental rep detector for a live stream of IMU samples.

    Parameters
    ----------
    exercise : str
        Contract exercise name.
    load_kg : float
        Bar load (> 0).
    rate_hz : float
        Nominal sample rate (> 0); informative (sample times drive everything)
        and used to validate that chunks are plausible.
    body_mass_kg : float or None
        Adds ``peak_system_force_n`` to each rep.
    set_rest_s : float
        Rest between reps (s) that starts a new set.

    Attributes
    ----------
    stillness_window_s : float
        How long the bar must be still after a movement before its reps are
        reported (s), not counting the still test's 50 ms look-ahead (see
        :attr:`report_delay_s`).
    report_delay_s : float
        Expected delay from the bar coming to rest to the report (s):
        stillness window + look-ahead + one block.
    """

    def __init__(
        self,
        exercise: str,
        load_kg: float,
        rate_hz: float,
        *,
        body_mass_kg: float | None = None,
        set_rest_s: float = 30.0,
    ) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.rate_hz = float(rate_hz)
        self._engine = BarbellEngine(exercise, load_kg, body_mass_kg=body_mass_kg, set_rest_s=set_rest_s)
        self.stillness_window_s: float = DEFAULT_STILLNESS_WINDOW_S
        self.report_delay_s: float = DEFAULT_STILLNESS_WINDOW_S + (HALF_WINDOW_BLOCKS + 1) * BLOCK_NS * 1e-9

    def push(self, samples: ImuSamples) -> list[RepMetrics]:
        """Add a chunk of samples (time order); return the reps that became complete with it."""
        return self._engine.push(samples)

    def mark_gap(self, start_ns: int, end_ns: int) -> None:
        """Declare a link gap (disconnect to reconnect) before pushing the samples after it."""
        self._engine.mark_gap(start_ns, end_ns)

    def finish(self) -> list[RepMetrics]:
        """End of stream: return the reps completed by flushing the last movement."""
        return self._engine.finish()

    @property
    def reps(self) -> list[RepMetrics]:
        """All reps reported so far."""
        return list(self._engine.reps)

    def result(self) -> BarbellAnalysis:
        """Reps, sets and discarded movements so far, as :func:`analysis.barbell.analyse_session` returns them."""
        return self._engine.result()
