"""Live rep detection: reps reported as soon as they are complete.

:class:`LiveRepDetector` is a thin wrapper over :class:`analysis.barbell.BarbellEngine`,
the same engine :func:`analysis.barbell.analyse_session` runs on a whole
capture, so a live session and the replay of its capture give identical reps
(tested by feeding sessions in random chunk sizes).

When is a rep reported?
-----------------------
A movement is analysed once the bar has been still for
:attr:`LiveRepDetector.return_window_s` (0.08 s) if it is back where the
movement started (the top of a squat or bench press, the floor after a
deadlift), else for :attr:`LiveRepDetector.stillness_window_s` (0.15 s): a
stall mid-rep is as still as a rest to an accelerometer but leaves the bar far
from its start (see :mod:`analysis.barbell`); a pause in the hole or a stall on
the way up never closes it before 2 s (the rep is not over). The still test looks at a 110 ms
window centred on each 10 ms block, so a still run starts ~55 ms after the bar
stopped and needs 50 ms of data beyond it, and a block is only closed when a
sample of a later block has arrived: a rep is reported about 0.19 s after the
bar came back to rest (0.26 s with the 0.15 s window). For
eccentric-first lifts (squat, bench...) the bar settles for ~0.1 s after the
concentric end, so the report comes 0.27-0.29 s after the concentric end
(simulator clock, ``benchmarks/bench_bar_velocity.py``; paused reps 0.17-0.31 s).
For concentric-first lifts (deadlift from the floor) a rep is complete only when
the bar is back at rest on the floor, after the lowering. A rep with no rest after
it (touch-and-go, a walk back to the rack right after the last rep) is reported
when the bar next rests.

Revised reps
------------
When the small movement after a close shows that the bar was still moving at it (a
creep into lockout whose final deceleration the rest detector saw as a new
movement), the close is undone and the two movements are analysed as one
(:meth:`analysis.barbell.BarbellEngine._reopen`): :meth:`LiveRepDetector.push` then
returns the rep again, with the same ``index`` and its revised values, and
:attr:`LiveRepDetector.reps` holds the revised list (identical to the batch
analysis). A consumer lets a later report of an index replace the earlier one.
"""

from __future__ import annotations

from analysis.barbell import (
    DEFAULT_STILLNESS_WINDOW_S,
    RETURN_STILLNESS_WINDOW_S,
    BarbellAnalysis,
    BarbellEngine,
    RepMetrics,
)
from analysis.reps import BLOCK_NS, HALF_WINDOW_BLOCKS
from records.imu import ImuSamples


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
        Adds ``peak_system_force_n`` (an upper bound: as if the whole body moved with the bar) to each rep.
    set_rest_s : float
        Rest between reps (s) that starts a new set.

    Attributes
    ----------
    stillness_window_s : float
        How long the bar must be still after a movement that did not end where
        it started before its reps are reported (s), not counting the still
        test's 50 ms look-ahead.
    return_window_s : float
        The same when the bar is back where the movement started (every
        complete rep): 0.08 s.
    report_delay_s : float
        Expected delay from the bar coming back to rest to the report (s):
        return window + the still test's half window before and after the
        run + one block = 0.19 s.
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
        self.return_window_s: float = RETURN_STILLNESS_WINDOW_S
        self.report_delay_s: float = RETURN_STILLNESS_WINDOW_S + (2 * HALF_WINDOW_BLOCKS + 1) * BLOCK_NS * 1e-9

    def push(self, samples: ImuSamples) -> list[RepMetrics]:
        """Add a chunk of samples (time order); return the reps that became complete with it, and any
        earlier rep revised by it (same ``index``: it replaces the earlier report; module docstring)."""
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
