"""The velocity error of an integrated accelerometer, and what zero-velocity updates tell about it.

Integrating the vertical acceleration of one movement from rest gives ``v_raw(t) = v(t) + e(t)``: the
bar's velocity plus an error that starts at 0. Where the bar is known to be still (a zero-velocity
update, ZUPT: Foxlin 2005, IEEE Comput Graph Appl 25(6):38-46) the error is observed exactly,
``e = v_raw``; between those instants it is estimated. This module models ``e`` as a Gaussian process
built from the sensor's own error sources, so that every estimate comes with its uncertainty:

* **reference offset**: the gravity reading of the rest before is removed from every sample; its error
  is a constant ``c`` over the movement, so ``e`` grows like ``c (t - t0)``. Prior SD ``offset_sd_mps2``:
  the standard error of the reading (noise / sqrt(samples averaged)) and the slow acceleration of a held
  bar (breathing), measured at the rests by the caller (:class:`DriftPrior`);
* **white noise**: ``noise_mps2`` per sample (measured at rest), integrated by the trapezoid rule: a
  random walk of variance ``noise^2 dt^2`` per sample interval;
* **integration error of sharp transients**: the trapezoid rule is exact for acceleration linear between
  samples; its error over one interval is ``dt^3 a''/12`` (e.g. Press et al., Numerical Recipes, 3rd ed.,
  section 4.1). An impact that rings the plates (a 25-45 Hz oscillation of several m/s^2 sampled at
  100-200 Hz) integrates to a velocity error of up to several 0.1 m/s although its true net velocity
  change is nil. Each interval adds the variance ``(dt |D| / 12)^2``, D the discrete second difference
  of the samples (``a'' dt^2``): negligible for the smooth motion of a lift, large at impacts, so the
  velocity is trusted less across them. No impact needs to be detected or thresholded;
* **bias random walk** (optional, ``walk_mps2_per_rt_s``; IEEE Std 952-1997): an integrated random walk.

Covariance of ``e`` at times s, t (from t0): ``c^2 s t + V(min(s, t)) + q^2 m^2 (3M - m) / 6`` (m, M the
smaller and larger of s, t) with V the accumulated per-interval variance. The posterior given exact
observations at the zero-velocity updates is the usual Gaussian-process regression (Rasmussen &
Williams 2006, Gaussian Processes for Machine Learning, eq. 2.19); with white noise only it is the
linear drift correction between consecutive updates (a Brownian bridge), with impacts it concentrates
the correction where the integration was uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.kinematics import cumulative_trapezoid

TRAPEZOID_FACTOR: float = 1.0 / np.sqrt(12.0)
"""RMS integration error of one sample interval per unit of ``dt |D|`` (D the discrete second difference of
the acceleration): a step of size D at a uniformly random instant of the interval leaves an error
``dt D (u - 1/2)``, RMS ``dt D / sqrt(12)``. For a smooth signal the error is smaller (``dt D / 12``); the
larger value is kept so that a landing or an impact (a near-step at the sampling scale) is not trusted
more than it can be."""
OFFSET_SD_DEFAULT_MPS2: float = 0.02
"""Prior SD of the reference offset (m/s^2) when the caller gives only the noise: a held bar's reading
moves by 0.01-0.02 m/s^2 between rests (breathing), above the standard error of a 0.5 s average of
0.008 g noise (0.011 m/s^2 at 100 Hz)."""


@dataclass(frozen=True)
class DriftPrior:
    """Error sources of the integrated vertical acceleration of one movement.

    Attributes
    ----------
    noise_mps2 : float
        Per-sample SD of the white acceleration noise (m/s^2), measured at rest.
    offset_sd_mps2 : float
        SD of the constant error of the gravity reference over the movement (m/s^2).
    walk_mps2_per_rt_s : float
        Bias random walk (m/s^2 per sqrt(s)); 0 for a bias that is constant within a movement.
    """

    noise_mps2: float
    offset_sd_mps2: float = OFFSET_SD_DEFAULT_MPS2
    walk_mps2_per_rt_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.noise_mps2 >= 0 and self.offset_sd_mps2 >= 0 and self.walk_mps2_per_rt_s >= 0):
            raise ValueError(f"drift prior terms must be >= 0, got {self}")


def as_prior(prior: float | DriftPrior) -> DriftPrior:
    """A :class:`DriftPrior` from a prior or from the white-noise SD alone (default offset SD)."""
    if isinstance(prior, DriftPrior):
        return prior
    if not prior >= 0:
        raise ValueError(f"noise_mps2 must be >= 0, got {prior}")
    return DriftPrior(float(prior))


class VelocityDrift:
    """The error ``e = v_raw - v`` of one movement's integrated velocity as a Gaussian process.

    ``t_s`` and ``a_mps2``: sample times and vertical acceleration (gravity reading removed) from the
    start of integration (the bar at rest, ``e = 0``). ``v_raw`` is their trapezoid integral.
    """

    def __init__(self, t_s: np.ndarray, a_mps2: np.ndarray, prior: float | DriftPrior,
                 v_raw: np.ndarray | None = None) -> None:
        self.prior = as_prior(prior)
        self.t = np.asarray(t_s, dtype=np.float64)
        a = np.asarray(a_mps2, dtype=np.float64)
        self.v_raw = cumulative_trapezoid(a, self.t) if v_raw is None else v_raw
        n = self.t.size
        self.tau = self.t - self.t[0] if n else self.t.copy()
        dt = np.diff(self.t)
        d2 = np.zeros(n)
        if n >= 3:
            d2[1:-1] = np.abs(a[2:] - 2.0 * a[1:-1] + a[:-2])
        trap = dt * 0.5 * (d2[:-1] + d2[1:]) * TRAPEZOID_FACTOR if n >= 2 else dt
        self.white_rate = self.prior.noise_mps2**2 * (float(np.median(dt)) if n >= 2 else 0.0)
        inc = (self.prior.noise_mps2 * dt) ** 2 + trap**2
        self.V = np.concatenate([[0.0], np.cumsum(inc)])  # accumulated variance at each sample

    def kernel(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Prior covariance of e between samples i (rows) and j (columns)."""
        p = self.prior
        ti, tj = self.tau[i][:, None], self.tau[j][None, :]
        k = p.offset_sd_mps2**2 * ti * tj + self.V[np.minimum(i[:, None], j[None, :])]
        if p.walk_mps2_per_rt_s > 0:
            m, mx = np.minimum(ti, tj), np.maximum(ti, tj)
            k = k + p.walk_mps2_per_rt_s**2 * m * m * (3.0 * mx - m) / 6.0
        return k

    def prior_var(self, i: np.ndarray) -> np.ndarray:
        p = self.prior
        ti = self.tau[i]
        var = p.offset_sd_mps2**2 * ti * ti + self.V[i]
        if p.walk_mps2_per_rt_s > 0:
            var = var + p.walk_mps2_per_rt_s**2 * ti**3 / 3.0
        return var

    def posterior(self, obs: np.ndarray) -> DriftPosterior:
        """The posterior of e given e = v_raw at the sample indices ``obs`` (the bar still there)."""
        return DriftPosterior(self, np.unique(np.asarray(obs, dtype=np.int64)))


class DriftPosterior:
    """Posterior mean and SD of the velocity error given zero-velocity updates at ``obs``."""

    def __init__(self, model: VelocityDrift, obs: np.ndarray) -> None:
        self.model = model
        self.obs = obs[obs > 0] if obs.size else obs  # e(t0) = 0 is known without observing it
        m = self.obs.size
        if m:
            k = model.kernel(self.obs, self.obs)
            # observations exact up to one sample's integrated noise (keeps K well conditioned)
            jitter = max(model.white_rate * 1e-3, 1e-12) + 1e-6 * float(np.max(np.diag(k)))
            self._chol = np.linalg.cholesky(k + jitter * np.eye(m))
            self.alpha = _chol_solve(self._chol, model.v_raw[self.obs])
        else:
            self._chol = np.zeros((0, 0))
            self.alpha = np.zeros(0)

    def mean(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Posterior mean of e at samples idx (all samples if None)."""
        model = self.model
        if idx is None:
            idx = np.arange(model.t.size)
        idx = np.asarray(idx, dtype=np.int64)
        if not self.obs.size:
            return np.zeros(idx.size)
        return model.kernel(idx, self.obs) @ self.alpha

    def sd(self, idx: np.ndarray) -> np.ndarray:
        """Posterior SD of e at samples idx."""
        idx = np.asarray(idx, dtype=np.int64)
        var = self.model.prior_var(idx)
        if self.obs.size:
            w = np.linalg.solve(self._chol, self.model.kernel(self.obs, idx))
            var = var - np.sum(w * w, axis=0)
        return np.sqrt(np.maximum(var, 0.0))

    def smooth_slope(self) -> np.ndarray:
        """Time derivative of the posterior mean without the transients' share (m/s^2 per sample): the
        drift rate that a constant acceleration offset over each stretch between updates explains."""
        model = self.model
        n = model.t.size
        if not self.obs.size:
            return np.zeros(n)
        p = model.prior
        tau_obs = model.tau[self.obs]
        slope = np.full(n, p.offset_sd_mps2**2 * float(np.dot(self.alpha, tau_obs)))
        # d/dt V(min(t, x_j)) = white rate while t < x_j
        later = np.cumsum(self.alpha[::-1])[::-1]  # sum of alpha_j over x_j >= obs k
        k = np.searchsorted(self.obs, np.arange(n), side="right")  # first observation after each sample
        beta = np.where(k < self.obs.size, later[np.minimum(k, self.obs.size - 1)], 0.0)
        slope += beta * model.white_rate
        if p.walk_mps2_per_rt_s > 0:
            ti = model.tau[:, None]
            tj = tau_obs[None, :]
            d = np.where(ti <= tj, ti * (2.0 * tj - ti) / 2.0, tj * tj / 2.0)
            slope += p.walk_mps2_per_rt_s**2 * (d @ self.alpha)
        return slope

    def integral_sd(self, points: int = 64) -> float:
        """Posterior SD of the integral of e over the whole movement (m): the position error there."""
        model = self.model
        n = model.t.size
        if n < 2:
            return 0.0
        g = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(np.int64))
        w = np.zeros(g.size)
        tg = model.t[g]
        dt = np.diff(tg)
        w[:-1] += 0.5 * dt
        w[1:] += 0.5 * dt
        cov = model.kernel(g, g)
        if self.obs.size:
            b = np.linalg.solve(self._chol, model.kernel(self.obs, g))
            cov = cov - b.T @ b
        return float(np.sqrt(max(float(w @ cov @ w), 0.0)))


def _chol_solve(chol: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.solve(chol.T, np.linalg.solve(chol, y))
