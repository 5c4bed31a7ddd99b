"""analysis.imu: the sensor-to-world rotation of fused Euler angles."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.imu import rotation_matrices
from analysis.kinematics import up_from_angles


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
