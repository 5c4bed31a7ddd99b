"""Minetti cost polynomial, grade smoothing and grade-adjusted speed against closed forms."""

import numpy as np
import pytest

from analysis.grade import grade_adjusted_speed, minetti_cost_j_per_kg_m, smoothed_grade


def _minetti_by_hand(i: float) -> float:
    return 155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6


def test_minetti_flat_is_3_6():
    assert minetti_cost_j_per_kg_m(0.0) == pytest.approx(3.6, abs=1e-12)


@pytest.mark.parametrize("i", [-0.45, -0.2, -0.1, -0.02, 0.02, 0.1, 0.3, 0.45])
def test_minetti_matches_polynomial(i):
    assert minetti_cost_j_per_kg_m(i) == pytest.approx(_minetti_by_hand(i), rel=1e-12)


def test_minetti_10_percent_written_out():
    # 155.4e-5 - 30.4e-4 - 43.3e-3 + 46.3e-2 + 1.95 + 3.6
    assert minetti_cost_j_per_kg_m(0.1) == pytest.approx(0.001554 - 0.00304 - 0.0433 + 0.463 + 1.95 + 3.6)


def test_minetti_minimum_is_downhill():
    i = np.linspace(-0.45, 0.45, 9001)
    c = minetti_cost_j_per_kg_m(i)
    # running is cheapest on a moderate downhill (about -10 to -20 %), per Minetti 2002
    assert -0.22 < i[np.argmin(c)] < -0.08


def test_minetti_out_of_range_raises():
    with pytest.raises(ValueError, match=r"0\.45"):
        minetti_cost_j_per_kg_m(0.5)


def test_gap_on_flat_equals_speed_and_scales_with_cost():
    assert grade_adjusted_speed(3.0, 0.0) == pytest.approx(3.0)
    assert grade_adjusted_speed(3.0, 0.1) == pytest.approx(3.0 * _minetti_by_hand(0.1) / 3.6)
    v = np.array([3.0, 3.0])
    out = grade_adjusted_speed(v, np.array([np.nan, 0.05]))
    assert out[0] == pytest.approx(3.0)  # unknown grade: flat assumed
    assert out[1] > 3.0


def test_smoothed_grade_constant_ramp():
    d = np.arange(0.0, 3000.0, 3.0)
    alt = 100 + 0.05 * d
    g = smoothed_grade(d, alt)
    assert np.allclose(g, 0.05, atol=1e-9)


def test_smoothed_grade_sinusoid_and_pauses():
    d = np.repeat(np.arange(0.0, 5000.0, 3.0), 2)  # every distance twice: a watch standing still half the time
    alt = 20 * np.sin(2 * np.pi * d / 2000)
    g = smoothed_grade(d, alt)
    true = 20 * 2 * np.pi / 2000 * np.cos(2 * np.pi * d / 2000)
    inner = (d > 100) & (d < 4900)
    # a 60 m moving average of a 2 km sinusoid attenuates it by < 1 %
    assert np.max(np.abs(g[inner] - true[inner])) < 0.002


def test_smoothed_grade_missing_and_short():
    d = np.arange(0.0, 600.0, 3.0)
    alt = 0.02 * d
    alt[10] = np.nan
    g = smoothed_grade(d, alt)
    assert np.isnan(g[10]) and np.allclose(np.delete(g, 10), 0.02, atol=1e-9)
    assert np.all(np.isnan(smoothed_grade(np.arange(0.0, 30.0, 3.0), np.zeros(10))))
    with pytest.raises(ValueError):
        smoothed_grade(np.zeros(3), np.zeros(4))
