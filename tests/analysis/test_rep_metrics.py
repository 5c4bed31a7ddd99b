"""analysis.rep_metrics against closed-form answers."""

import numpy as np
import pytest

from analysis.rep_metrics import (
    central_difference_rate,
    concentric_metrics,
    force_n,
    moving_average,
    set_velocity_loss_pct,
    velocity_loss_pct,
)
from records.units import STANDARD_GRAVITY_MPS2 as G

DT = 1e-4


def quadratic_then_brake(c: float, t1: float, brake: float, pre_s: float = 0.05):
    """v = c t^2 on [0, t1] (a = 2ct), then constant deceleration `brake` to v = 0; at rest before 0."""
    v1 = c * t1 * t1
    t_end = t1 + v1 / brake
    n_end = round(t_end / DT)
    t = np.arange(-round(pre_s / DT), n_end + 1) * DT
    t_end = t[-1]
    a = np.where(t < 0, 0.0, np.where(t <= t1, 2 * c * t, -brake))
    v = np.where(t < 0, 0.0, np.where(t <= t1, c * t * t, np.maximum(v1 - brake * (t - t1), 0.0)))
    z = np.where(t < 0, 0.0, np.where(t <= t1, c * t**3 / 3, c * t1**3 / 3 + v1 * (t - t1) - brake * (t - t1) ** 2 / 2))
    return t, v, a, z, v1, t_end


def test_rfd_of_quadratic_velocity_is_2mc():
    m, c = 100.0, 3.0
    t, v, a, z, _, t_end = quadratic_then_brake(c, 0.4, 6.0)
    res = concentric_metrics(t, v, a, z, 0.0, t_end, m, force_smoothing_s=0.0)
    assert res.peak_rfd_n_per_s == pytest.approx(2 * m * c, rel=1e-6)
    assert res.rfd_0_100ms_n_per_s == pytest.approx(2 * m * c, rel=1e-6)
    assert res.peak_force_n == pytest.approx(m * (2 * c * 0.4 + G), rel=1e-6)


def test_velocities_power_and_rom_closed_form():
    m, c, t1, brake = 80.0, 4.0, 0.5, 12.0  # brake > g: the propulsive phase ends at t1
    t, v, a, z, v1, t_end = quadratic_then_brake(c, t1, brake)
    res = concentric_metrics(t, v, a, z, 0.0, t_end, m)
    rom = c * t1**3 / 3 + v1**2 / (2 * brake)
    assert res.rom_m == pytest.approx(rom, rel=1e-6)
    assert res.mean_velocity_mps == pytest.approx(rom / t_end, rel=1e-6)
    assert res.mean_propulsive_velocity_mps == pytest.approx(c * t1**2 / 3, rel=1e-3)
    assert res.peak_velocity_mps == pytest.approx(v1, rel=1e-9)
    assert res.time_to_peak_velocity_s == pytest.approx(t1, abs=DT)
    work = m * (2 * c * c * t1**4 / 4 + G * c * t1**3 / 3) + m * (G - brake) * v1**2 / (2 * brake)
    # (trapezoid across the force step at t1 costs ~F_step v1 dt / 2T: tolerance 1e-3)
    assert res.mean_power_w == pytest.approx(work / t_end, rel=1e-3)


def test_mpv_equals_mcv_when_braking_is_gentler_than_g():
    t, v, a, z, _, t_end = quadratic_then_brake(4.0, 0.5, 0.8 * G)
    res = concentric_metrics(t, v, a, z, 0.0, t_end, 50.0)
    assert res.mean_propulsive_velocity_mps == res.mean_velocity_mps
    assert res.propulsive_end_s == t_end


def test_constant_acceleration_mean_velocity():
    # v = a0 t up to t1, then braking at 2g: MCV = (a0 t1^2/2 + v1^2/(4g)) / (t1 + v1/(2g)); MPV = a0 t1 / 2
    a0, t1 = 2.0, 0.6
    v1 = a0 * t1
    t_end = t1 + v1 / (2 * G)
    t = np.arange(0, round(t_end / DT) + 1) * DT
    t_end = t[-1]
    a = np.where(t <= t1, a0, -2 * G)
    v = np.where(t <= t1, a0 * t, np.maximum(v1 - 2 * G * (t - t1), 0))
    z = np.where(t <= t1, a0 * t * t / 2, a0 * t1 * t1 / 2 + v1 * (t - t1) - G * (t - t1) ** 2)
    res = concentric_metrics(t, v, a, z, 0.0, t_end, 60.0)
    assert res.mean_propulsive_velocity_mps == pytest.approx(a0 * t1 / 2, rel=1e-3)
    assert res.mean_velocity_mps == pytest.approx((a0 * t1 * t1 / 2 + v1 * v1 / (4 * G)) / t_end, rel=1e-6)


def test_rfd_0_100_is_none_for_short_concentric():
    t = np.linspace(0, 0.08, 81)
    v = np.sin(np.pi * t / 0.08)
    a = np.gradient(v, t)
    z = np.cumsum(v) * 0.001
    assert concentric_metrics(t, v, a, z, 0.0, 0.08, 20.0).rfd_0_100ms_n_per_s is None


def test_smoothing_keeps_the_closed_form_rfd_and_reduces_noise_bias():
    m, c = 100.0, 3.0
    t, v, a, z, _, t_end = quadratic_then_brake(c, 0.4, 6.0)
    res = concentric_metrics(t, v, a, z, 0.0, t_end, m)  # default 40 ms smoothing: linear F unchanged inside
    assert res.peak_rfd_n_per_s == pytest.approx(2 * m * c, rel=1e-3)
    noisy = a + np.random.default_rng(0).normal(0, 0.5, a.size)
    raw = concentric_metrics(t, v, noisy, z, 0.0, t_end, m, force_smoothing_s=0.0).peak_rfd_n_per_s
    smooth = concentric_metrics(t, v, noisy, z, 0.0, t_end, m).peak_rfd_n_per_s
    assert abs(smooth - 2 * m * c) < abs(raw - 2 * m * c)


def test_moving_average_exact_on_linear_and_validates():
    t = np.sort(np.random.default_rng(1).uniform(0, 1, 300))
    y = 2.0 + 3.0 * t
    inner = (t > 0.05) & (t < 0.95)
    np.testing.assert_allclose(moving_average(t, y, 0.04)[inner], y[inner], rtol=1e-9)
    with pytest.raises(ValueError, match="width_s"):
        moving_average(t, y, 0.0)


def test_central_difference_exact_on_quadratic():
    t = np.linspace(0, 1, 1001)
    y = 3 * t * t
    np.testing.assert_allclose(central_difference_rate(t, y, np.array([0.3, 0.5])), [1.8, 3.0], rtol=1e-4)


def test_force_is_newton_second_law():
    assert force_n(100.0, 0.0) == pytest.approx(100 * G)
    assert force_n(100.0, -G) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="load_kg"):
        force_n(0.0, 1.0)


def test_velocity_loss_closed_form():
    np.testing.assert_allclose(velocity_loss_pct([1.0, 0.9, 1.1, 0.88]), [0.0, 10.0, 0.0, 20.0])
    assert set_velocity_loss_pct([1.0, 0.9, 1.1, 0.88]) == pytest.approx(20.0)
    assert set_velocity_loss_pct([0.5]) == 0.0
    with pytest.raises(ValueError, match="> 0"):
        velocity_loss_pct([1.0, 0.0])


def test_argument_validation():
    t = np.linspace(0, 1, 11)
    with pytest.raises(ValueError, match="end_s must be > start_s"):
        concentric_metrics(t, t, t, t, 0.5, 0.5, 10.0)
    with pytest.raises(ValueError, match="same shape"):
        concentric_metrics(t, t[:5], t, t, 0.0, 1.0, 10.0)
    with pytest.raises(ValueError, match="load_kg"):
        concentric_metrics(t, t, t, t, 0.0, 1.0, -1.0)
