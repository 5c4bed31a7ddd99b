"""analysis.drift: the integrated velocity's error as a Gaussian process, checked against closed forms, brute-force
integrals of the kernel and simulated error paths (coverage of the posterior SD)."""

import numpy as np
import pytest

from analysis.drift import TRAPEZOID_FACTOR, DriftPrior, HeightUpdate, VelocityDrift


def _cumint(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cumulative trapezoid integral along axis 0."""
    out = np.zeros_like(y)
    out[1:] = np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(t)[:, None], axis=0)
    return out


@pytest.mark.parametrize("walk", [0.0, 0.02])
def test_position_covariances_are_integrals_of_the_velocity_kernel(walk):
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.005, 0.015, 300))
    t -= t[0]
    a = rng.normal(0.0, 1.0, 300)
    a[150] += 20.0  # a sharp transient
    m = VelocityDrift(t, a, DriftPrior(0.08, 0.02, walk))
    idx = np.arange(300)
    k = m.kernel(idx, idx)
    zv = _cumint(k, t)  # int_0^s k(u, t) du
    zz = _cumint(_cumint(k, t).T, t).T
    s = np.array([10, 100, 200, 299])
    j = np.array([5, 100, 150, 250])
    np.testing.assert_allclose(m.kernel_zv(s, j), zv[np.ix_(s, j)], atol=1e-6 * np.abs(zv).max())
    np.testing.assert_allclose(m.kernel_zz(s, s), zz[np.ix_(s, s)], atol=1e-6 * np.abs(zz).max())
    np.testing.assert_allclose(m.prior_var(j), np.diag(k)[j])


def test_white_noise_only_gives_the_brownian_bridge():
    """No offset: given e at two instants, the posterior mean is the straight line between them and the
    variance the Brownian bridge's, sigma^2 dt (t - a)(b - t) / (b - a)."""
    t = np.arange(0.0, 3.0, 0.01)
    a = np.zeros(t.size)
    m = VelocityDrift(t, a, DriftPrior(0.08, 0.0))
    m.v_raw = np.linspace(0.0, 0.3, t.size) ** 2  # any observed values
    ia, ib = 50, 250
    post = m.posterior(np.array([ia, ib]))
    mid = np.arange(ia, ib + 1)
    line = m.v_raw[ia] + (m.v_raw[ib] - m.v_raw[ia]) * (t[mid] - t[ia]) / (t[ib] - t[ia])
    np.testing.assert_allclose(post.mean(mid), line, rtol=1e-6, atol=1e-9)
    bridge = 0.08**2 * 0.01 * (t[mid] - t[ia]) * (t[ib] - t[mid]) / (t[ib] - t[ia])
    np.testing.assert_allclose(post.sd(mid) ** 2, bridge, atol=1e-7)


def test_a_step_in_acceleration_is_an_integration_uncertainty():
    """A step of size s between samples leaves a trapezoid error dt s (u - 1/2), u uniform: RMS dt s / sqrt(12)."""
    t = np.arange(0.0, 1.0, 0.01)
    a = np.where(t < 0.5, 6.0, 0.0)
    m = VelocityDrift(t, a, DriftPrior(0.0, 0.0))
    jump = m.V[-1]
    expected = 0.01 * 6.0 * TRAPEZOID_FACTOR
    # the step shows in two second differences (-6 and 6) spread over three intervals: 1/2, 1, 1/2 of one
    assert np.sqrt(jump) == pytest.approx(expected * np.sqrt(0.25 + 1.0 + 0.25), rel=1e-6)
    # and nothing of a smooth ramp or of white noise itself shows there
    assert VelocityDrift(t, 3.0 * t, DriftPrior(0.0, 0.0)).V[-1] == pytest.approx(0.0, abs=1e-20)
    assert pytest.approx(1 / np.sqrt(12)) == TRAPEZOID_FACTOR


@pytest.mark.parametrize("heights", [False, True])
def test_posterior_sd_covers_simulated_errors(heights):
    """Error paths drawn from the model's own sources (a constant reference offset, white noise): given
    zero-velocity updates at the start, in the middle and at the end (and a height update at the end), the
    posterior mean is within 2 posterior SDs of the true error about 95 % of the time, and the height
    update makes the SD smaller."""
    rng = np.random.default_rng(1)
    dt, n = 0.01, 400
    t = np.arange(n) * dt
    prior = DriftPrior(0.08, 0.02)
    obs = np.array([150, 160, n - 1])
    inside, sd_sum = 0, 0.0
    probe = np.array([60, 220, 330])
    trials = 300
    for _ in range(trials):
        c = rng.normal(0.0, prior.offset_sd_mps2)
        a = c + rng.normal(0.0, prior.noise_mps2, n)
        m = VelocityDrift(t, a, prior)  # the true velocity is 0: v_raw is the error itself
        e = m.v_raw
        h = [HeightUpdate(n - 1, 0.0, 1e-4)] if heights else []
        post = m.posterior(obs, h)
        err = np.abs(post.mean(probe) - e[probe])
        sd = post.sd(probe)
        inside += int(np.sum(err <= 2 * sd))
        sd_sum += float(sd.mean())
    assert inside / (trials * probe.size) == pytest.approx(0.95, abs=0.03)
    if heights:
        base = VelocityDrift(t, np.zeros(n), prior).posterior(obs).sd(probe).mean()
        assert sd_sum / trials < base


def test_prior_validation():
    with pytest.raises(ValueError, match=">= 0"):
        DriftPrior(-1.0)
    with pytest.raises(ValueError, match=">= 0"):
        DriftPrior(0.1, 0.02, -0.1)


def test_reading_wander_separates_breathing_from_a_bias_walk():
    """Readings of a held bar at rests 4 s apart: independent scatter (breathing, noise) of SD 0.015 m/s^2, and
    a bias random walk of 0.02 m/s^2/sqrt(s). The scatter is recovered from the readings' spread, the walk from
    how the differences grow with the time between readings; one wild reading (a rest spoilt by a creep)
    does not make the scatter large."""
    from analysis.barbell import reading_wander

    rng = np.random.default_rng(3)
    t = np.arange(9) * 4.0
    sds, walks = [], []
    for _ in range(400):
        g = 9.8 + rng.normal(0.0, 0.015, 9)
        var, walk2 = reading_wander(list(g), list(t))
        sds.append(np.sqrt(var))
        walks.append(np.sqrt(walk2))
    assert np.median(sds) == pytest.approx(0.015, rel=0.25)
    assert np.median(walks) < 0.005
    walks = []
    for _ in range(400):
        g = 9.8 + rng.normal(0.0, 0.015, 9) + np.cumsum(rng.normal(0.0, 0.02 * 2.0, 9))
        walks.append(np.sqrt(reading_wander(list(g), list(t))[1]))
    assert np.median(walks) == pytest.approx(0.02, rel=0.35)
    g = list(9.8 + rng.normal(0.0, 0.01, 5))
    g[2] += 0.2
    assert np.sqrt(reading_wander(g, list(t[:5]))[0]) < 0.03
    assert reading_wander([9.8], [0.0]) == (pytest.approx(0.02**2), 0.0)
