"""analysis.kinematics against closed-form answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.kinematics import (
    cumulative_trapezoid,
    gyro_attitude,
    interp_crossing,
    linear_drift_correction,
    position_at,
    rotate_by_conjugate,
    up_from_gyro,
    vertical_specific_force,
)


@settings(max_examples=60, deadline=None)
@given(st.floats(-5, 5), st.floats(-5, 5), st.integers(2, 60), st.integers(0, 2**31))
def test_trapezoid_is_exact_on_linear_signals_with_irregular_times(a, b, n, seed):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.001, 0.05, n))
    y = a + b * t
    exact = a * (t - t[0]) + 0.5 * b * (t**2 - t[0] ** 2)
    np.testing.assert_allclose(cumulative_trapezoid(y, t), exact, atol=1e-9)


def test_trapezoid_initial_value_and_2d():
    t = np.array([0.0, 1.0, 3.0])
    y = np.array([[1.0, 0.0], [1.0, 2.0], [1.0, 2.0]])
    out = cumulative_trapezoid(y, t, initial=5.0)
    np.testing.assert_allclose(out[:, 0], [5, 6, 8])
    np.testing.assert_allclose(out[:, 1], [5, 6, 10])


def test_trapezoid_rejects_bad_times():
    with pytest.raises(ValueError, match="non-decreasing"):
        cumulative_trapezoid([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        cumulative_trapezoid([1.0, 2.0, 3.0], [0.0, 1.0])


def test_gyro_attitude_constant_rate_about_fixed_axis():
    # rate w about a fixed axis: attitude angle = w t exactly (rotations about one axis commute)
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    t = np.sort(np.random.default_rng(1).uniform(0, 2, 500))
    w = 0.7
    q = gyro_attitude(t, np.tile(axis * w, (t.size, 1)))
    angle = 2 * np.arctan2(np.linalg.norm(q[:, 1:], axis=1), q[:, 0])
    np.testing.assert_allclose(angle, w * (t - t[0]), atol=1e-9)
    moved = angle > 1e-3
    np.testing.assert_allclose(
        q[moved, 1:] / np.sin(angle[moved, None] / 2), np.tile(axis, (moved.sum(), 1)), atol=1e-9
    )


def test_up_vector_follows_rotation_and_rest_correction():
    # sensor rotating at 0.5 rad/s about its x axis: the world up vector seen by the sensor rotates back
    t = np.linspace(0, 1, 201)
    gyro = np.tile([0.5, 0.0, 0.0], (t.size, 1))
    u = up_from_gyro(t, gyro, np.array([0.0, 0.0, 1.0]))
    ang = 0.5 * t
    np.testing.assert_allclose(u, np.stack([0 * t, np.sin(ang), np.cos(ang)], 1), atol=1e-9)
    # a gyro bias of 0.05 rad/s is removed by the accelerometer reading at the end rest
    biased = gyro + np.array([0.05, 0.0, 0.0])
    u2 = up_from_gyro(t, biased, np.array([0.0, 0.0, 1.0]), up_end=np.array([0.0, np.sin(0.5), np.cos(0.5)]))
    np.testing.assert_allclose(u2[-1], [0, np.sin(0.5), np.cos(0.5)], atol=1e-9)
    # the bias makes the angle error grow linearly; the correction grows linearly too: exact here
    np.testing.assert_allclose(u2, u, atol=1e-9)


def test_rotate_by_conjugate_identity():
    q = np.array([[1.0, 0, 0, 0]])
    np.testing.assert_allclose(rotate_by_conjugate(q, np.array([0.1, 0.2, 0.3])), [[0.1, 0.2, 0.3]])


def test_vertical_specific_force_dot_product():
    f = vertical_specific_force(np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 0.6, 0.8]]))
    assert f[0] == pytest.approx(1.2 + 2.4)


def test_linear_drift_correction_removes_constant_accel_offset():
    t = np.linspace(0, 2, 101)
    true_v = np.sin(np.pi * t / 2) ** 2 * (t < 2)  # v(0) = 0, v(2) = 0
    true_v[-1] = 0.0
    offset = 0.07
    v_meas = true_v + offset * t
    v, off = linear_drift_correction(v_meas, t)
    assert off == pytest.approx(offset)
    np.testing.assert_allclose(v, true_v, atol=1e-12)


def test_crossing_and_position_helpers():
    assert interp_crossing(0.0, 1.0, -1.0, 3.0) == pytest.approx(0.25)
    assert interp_crossing(0.0, 1.0, 2.0, 2.0) == 0.0
    t = np.array([0.0, 1.0, 2.0])
    v = np.array([0.0, 2.0, 2.0])
    z = cumulative_trapezoid(v, t)
    # v = 2t on [0, 1]: z(0.5) = 0.25
    assert position_at(t, v, z, 0.5) == pytest.approx(0.25)
    assert position_at(t, v, z, 1.5) == pytest.approx(1.0 + 1.0)
