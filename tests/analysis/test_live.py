"""analysis.live: identical to the batch path in any chunking; report latency on the simulator's clock."""

import numpy as np
import pytest

from analysis.barbell import analyse_session
from analysis.live import LiveRepDetector
from sim.barbell import simulate_session


def _feed(det, smp, rng, max_chunk):
    reps, when_s = [], []
    i = 0
    while i < len(smp):
        k = int(rng.integers(1, max_chunk + 1))
        chunk = smp.slice(i, i + k)
        i += k
        got = det.push(chunk)
        reps += got
        when_s += [chunk.t_ns[-1] * 1e-9] * len(got)
    tail = det.finish()
    return reps + tail, when_s + [float("inf")] * len(tail)


@pytest.mark.parametrize(
    ("exercise", "kw"),
    [
        ("back_squat", dict(rate_hz=200.0, unrack=True, sets=2, rest_between_sets_s=35.0)),
        ("deadlift", dict(rate_hz=100.0)),
        ("split_squat", dict(rate_hz=100.0, loss_prob=0.05, jitter_s=0.002, gap=(12.0, 12.6))),
    ],
)
@pytest.mark.parametrize("chunk_seed", [0, 1])
def test_live_equals_batch_in_random_chunks(exercise, kw, chunk_seed):
    s = simulate_session(exercise, 100.0, 4, seed=3, **kw)
    smp = s.to_imu_samples(t0_ns=1_700_000_000_000_000_000)
    gaps = [(int(smp.t_ns[0] + a * 1e9), int(smp.t_ns[0] + b * 1e9)) for a, b in s.gaps_s]
    batch = analyse_session(smp, exercise, 100.0, gaps_ns=gaps)
    det = LiveRepDetector(exercise, 100.0, kw["rate_hz"])
    for g in gaps:
        det.mark_gap(*g)
    live, _ = _feed(det, smp, np.random.default_rng(chunk_seed), 40 if chunk_seed else 7)
    assert len(batch.reps) > 0
    assert live == batch.reps  # exact equality of every field
    assert det.result().sets == batch.sets


@pytest.mark.parametrize(("exercise", "rate"), [("back_squat", 100.0), ("bench_press", 200.0)])
def test_report_within_400ms_of_concentric_end(exercise, rate):
    s = simulate_session(exercise, 100.0, 5, rate_hz=rate, seed=8)
    smp = s.to_imu_samples()
    det = LiveRepDetector(exercise, 100.0, rate)
    reps, when_s = _feed(det, smp, np.random.default_rng(0), 2)  # chunks of <= 2 samples: no batching delay
    assert len(reps) == 5
    latency = np.array([w - t.concentric_end_s for w, t in zip(when_s, s.reps, strict=True)])
    assert np.all(latency > 0)  # never before the rep ended
    assert np.all(latency <= 0.4), latency
    assert det.stillness_window_s == pytest.approx(0.15)
    assert det.report_delay_s < 0.25


def test_deadlift_reported_after_lowering():
    s = simulate_session("deadlift", 140.0, 3, rate_hz=100.0, seed=2)
    det = LiveRepDetector("deadlift", 140.0, 100.0)
    reps, when_s = _feed(det, s.to_imu_samples(), np.random.default_rng(0), 2)
    assert len(reps) == 3
    for w, t in zip(when_s, s.reps, strict=True):
        assert t.end_s < w <= t.end_s + 0.45


def test_live_validation():
    with pytest.raises(ValueError, match="rate_hz"):
        LiveRepDetector("back_squat", 100.0, 0.0)
    with pytest.raises(ValueError, match="load_kg"):
        LiveRepDetector("back_squat", 0.0, 100.0)
    det = LiveRepDetector("back_squat", 100.0, 100.0)
    det.finish()
    with pytest.raises(ValueError, match="after finish"):
        det.push(simulate_session(rate_hz=100.0, reps=1).to_imu_samples())
