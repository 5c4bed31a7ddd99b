"""WitMotion raw counts <-> SI (ingest.ble.protocols.witmotion): the golden vector of
docs/ble-protocols.md, round trips, saturation, validation."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from ingest.ble.protocols.witmotion import raw_to_si, si_to_raw
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
