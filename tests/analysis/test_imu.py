"""records.imu, the WitMotion scales (ingest.ble.protocols.witmotion), analysis.imu rotations: WitMotion scales against the shared golden vector, round trips, validation."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.imu import rotation_matrices
from analysis.kinematics import up_from_angles
from ingest.ble.protocols.witmotion import raw_to_si, samples_from_raw, si_to_raw
from records.imu import ImuSamples
from records.units import STANDARD_GRAVITY_MPS2

GOLDEN = bytes.fromhex("55 61 77 02 a8 fe 92 fe 06 02 30 fe cd ff f8 f0 53 fc ab c4".replace(" ", ""))


def test_golden_vector_matches_ble_protocols_doc():
    raw = np.array([struct.unpack("<9h", GOLDEN[2:])])
    accel, gyro, angles = raw_to_si(raw)
    np.testing.assert_allclose(accel[0] / STANDARD_GRAVITY_MPS2, [0.308, -0.168, -0.179], atol=6e-4)
    np.testing.assert_allclose(np.rad2deg(gyro[0]), [31.62, -28.32, -3.11], atol=6e-3)
    np.testing.assert_allclose(np.rad2deg(angles[0]), [-21.14, -5.17, -83.44], atol=6e-3)


@settings(max_examples=50, deadline=None)
@given(arrays(np.int16, (7, 9)))
def test_si_to_raw_inverts_raw_to_si(raw):
    assert np.array_equal(si_to_raw(*raw_to_si(raw)), raw)


def test_si_to_raw_saturates_at_full_scale():
    big = np.array([[200.0, -200.0, 0.0]])
    raw = si_to_raw(big, np.zeros((1, 3)), np.zeros((1, 3)))
    assert raw[0, 0] == 32767 and raw[0, 1] == -32768


def test_raw_to_si_rejects_wrong_shape_and_float():
    with pytest.raises(ValueError, match="shape"):
        raw_to_si(np.zeros((3, 8), np.int16))
    with pytest.raises(ValueError, match="integer"):
        raw_to_si(np.zeros((3, 9)))


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


@settings(max_examples=30, deadline=None)
@given(st.floats(-3.0, 3.0), st.floats(-1.5, 1.5), st.floats(-3.0, 3.0))
def test_rotation_is_orthonormal_and_up_is_its_third_row(roll, pitch, yaw):
    r = rotation_matrices(np.array([[roll, pitch, yaw]]))[0]
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_allclose(up_from_angles(np.array([[roll, pitch, yaw]]))[0], r[2], atol=1e-12)


def test_rotation_of_pure_roll_tilts_y_axis_up():
    # sensor rolled +90 deg about x: sensor y points up in the world
    r = rotation_matrices(np.array([[np.pi / 2, 0.0, 0.0]]))[0]
    np.testing.assert_allclose(r @ [0, 1, 0], [0, 0, 1], atol=1e-12)
