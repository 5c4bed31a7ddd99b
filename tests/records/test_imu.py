"""records.imu.ImuSamples: validation, slices and concatenation."""

import numpy as np
import pytest

from ingest.ble.protocols.witmotion import samples_from_raw
from records.imu import ImuSamples


def test_imu_samples_validation():
    with pytest.raises(ValueError, match="non-decreasing"):
        ImuSamples(np.array([2, 1]), np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"accel_mps2 must have shape"):
        ImuSamples(np.array([1, 2]), np.zeros((3, 3)), np.zeros((2, 3)))
    s = samples_from_raw(np.array([0, 10]), np.zeros((2, 9), np.int16))
    assert s.t_ns.dtype == np.int64 and len(s) == 2 and s.angles_rad is not None


def test_concatenate_and_slice_round_trip():
    rng = np.random.default_rng(0)
    s = ImuSamples(np.arange(10) * 5, rng.normal(size=(10, 3)), rng.normal(size=(10, 3)), rng.normal(size=(10, 3)))
    j = ImuSamples.concatenate([s.slice(0, 4), s.slice(4, 10)])
    assert np.array_equal(j.t_ns, s.t_ns) and np.array_equal(j.angles_rad, s.angles_rad)
    no_angles = ImuSamples(s.t_ns[:2], s.accel_mps2[:2], s.gyro_radps[:2], None)
    assert ImuSamples.concatenate([no_angles, s.slice(2, 4)]).angles_rad is None
