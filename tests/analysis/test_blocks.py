"""analysis.blocks: incremental block codes equal those of the whole capture; breaks and declared gaps."""

import numpy as np

from analysis.blocks import BlockTrack, RestReference
from analysis.reps import BREAK, MOVING, STILL, StillnessThresholds, block_index
from records.units import STANDARD_GRAVITY_MPS2 as G


def _signal(rate_hz=200.0, seconds=6.0, hole=(2.0, 2.4)):
    t = np.arange(0.0, seconds, 1.0 / rate_hz)
    t = t[(t < hole[0]) | (t >= hole[1])]  # 0.4 s without samples: a break
    acc = np.zeros((t.size, 3))
    acc[:, 2] = G + np.where((t > 3.5) & (t < 4.5), 3.0 * np.sin(2 * np.pi * 2 * t), 0.0)
    acc += np.random.default_rng(0).normal(0, 0.05, acc.shape)
    return (t * 1e9).astype(np.int64), acc, np.zeros_like(acc)


def _feed(t_ns, acc, gyr, ends):
    track = BlockTrack(StillnessThresholds())
    blk_all = block_index(t_ns, 0)
    for i1 in ends:
        blk = blk_all[:i1]
        track.update(blk, acc[:i1], gyr[:i1], int(blk[-1]))
    track.update(blk_all, acc, gyr, int(blk_all[-1]) + 1, final=True)
    return track


def test_codes_do_not_depend_on_chunking():
    t_ns, acc, gyr = _signal()
    whole = _feed(t_ns, acc, gyr, [t_ns.size])
    edges = np.unique(np.r_[0, np.random.default_rng(1).integers(1, t_ns.size, 80), t_ns.size])
    chunked = _feed(t_ns, acc, gyr, edges[1:].tolist())
    np.testing.assert_array_equal(whole.codes, chunked.codes)
    np.testing.assert_array_equal(whole.wmean, chunked.wmean)
    assert whole.end == int(block_index(t_ns, 0)[-1]) + 1
    # the 0.4 s without samples is a break; the 2 Hz shaking is moving; the rest still
    assert np.all(whole.codes_between(205, 235) == BREAK)
    assert np.all(whole.codes_between(370, 440) == MOVING)
    assert np.all(whole.codes_between(10, 190) == STILL)


def test_declared_gap_is_a_break_and_rest_reference_tracks_the_rest():
    t_ns, acc, gyr = _signal(hole=(9.0, 9.0))
    track = BlockTrack(StillnessThresholds())
    track.mark_gap(100, 110)
    blk = block_index(t_ns, 0)
    track.update(blk, acc, gyr, int(blk[-1]))
    assert np.all(track.codes_between(100, 110) == BREAK)
    assert track.code(99) == STILL and track.code(110) == STILL
    ref = RestReference(track, 120, 15)
    mean, thr = ref.at(np.array([200, 300]))
    # |f| - g at rest: the noise adds ~ (2 sigma^2) / (2 g) on average; well inside the tolerance
    np.testing.assert_allclose(mean, 0.0, atol=0.01)
    assert np.all(thr >= 0.15)
    # a block whose windowed |f| is 0.3 m/s^2 above the rest's is not quiet in that rest
    acc2 = acc.copy()
    acc2[(t_ns > 2.0e9) & (t_ns < 2.5e9), 2] += 0.3
    track2 = BlockTrack(StillnessThresholds())
    track2.update(blk, acc2, gyr, int(blk[-1]))
    ref2 = RestReference(track2, 20, 15)
    q = track2.quiet(180, 260, ref2)
    assert q[:10].all() and not q[30:60].any()
    assert track2.quiet(180, 260, None)[30:60].all()  # the still test alone does not see it
