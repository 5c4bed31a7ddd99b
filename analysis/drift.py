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
* **bias random walk** (``walk_mps2_per_rt_s``; the rate random walk of IEEE Std 952-1997): the bias
  wanders during the movement; its increments are taken piecewise constant over WALK_KNOT_S;
* **integration error of sharp transients**: the trapezoid rule is exact for acceleration linear between
  samples; its error over one interval is ``dt^3 a''/12`` (e.g. Press et al., Numerical Recipes, 3rd ed.,
  section 4.1). An impact that rings the plates (a 25-45 Hz oscillation of several m/s^2 sampled at
  100-200 Hz) integrates to a velocity error of up to several 0.1 m/s although its true net velocity
  change is nil. Each interval adds the variance ``(dt |D| / 12)^2``, D the discrete second difference
  of the samples (``a'' dt^2``): negligible for the smooth motion of a lift, large at impacts, so the
  velocity is trusted less across them. No impact needs to be detected or thresholded;
Covariance of ``e`` at times s, t (from t0): ``c^2 s t + V(min(s, t))`` with V the accumulated per-interval
variance; the covariances of its integral (the position error) follow by integrating it. The posterior given exact
observations at the zero-velocity updates is the usual Gaussian-process regression (Rasmussen &
Williams 2006, Gaussian Processes for Machine Learning, eq. 2.19); with white noise only it is the
linear drift correction between consecutive updates (a Brownian bridge), with impacts it concentrates
the correction where the integration was uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis.kinematics import cumulative_trapezoid

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TRAPEZOID_FACTOR: float = 1.0 / np.sqrt(12.0)
"""RMS integration error of one sample interval per unit of ``dt |D|`` (D the discrete second difference of
the acceleration): a step of size D at a uniformly random instant of the interval leaves an error
``dt D (u - 1/2)``, RMS ``dt D / sqrt(12)``. For a smooth signal the error is smaller (``dt D / 12``); the
larger value is kept so that a landing or an impact (a near-step at the sampling scale) is not trusted
more than it can be."""
NOISE_SIGMAS_D2: float = 3.0
"""Second differences within this many SDs of the white noise's own are noise, not curvature."""
WALK_KNOT_S: float = 0.25
"""Knot spacing (s) of the bias random walk's piecewise-constant increments."""
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
        Random walk of the acceleration bias during the movement (m/s^2 per sqrt(s); IEEE Std 952-1997's
        rate random walk): 0 for a bias that holds within a movement.
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


@dataclass(frozen=True)
class HeightUpdate:
    """The bar's height at sample ``index`` is known: ``height_m`` above where integration started, with SD
    ``sd_m`` (a lift ending back where it started: the top of a squat, the floor after a deadlift)."""

    index: int
    height_m: float
    sd_m: float


class VelocityDrift:
    """The error ``e = v_raw - v`` of one movement's integrated velocity as a Gaussian process.

    ``t_s`` and ``a_mps2``: sample times and vertical acceleration (gravity reading removed) from the
    start of integration (the bar at rest, ``e = 0``). ``v_raw`` is their trapezoid integral. Besides
    zero-velocity updates (``e = v_raw`` at a sample), height updates (:class:`HeightUpdate`) observe the
    integral of ``e`` from the start: the raw displacement less the known one.
    """

    def __init__(
        self, t_s: FloatArray, a_mps2: FloatArray, prior: float | DriftPrior, v_raw: FloatArray | None = None
    ) -> None:
        self.prior = as_prior(prior)
        self.t = np.asarray(t_s, dtype=np.float64)
        a = np.asarray(a_mps2, dtype=np.float64)
        self.v_raw = cumulative_trapezoid(a, self.t) if v_raw is None else v_raw
        n = self.t.size
        self.tau = self.t - self.t[0] if n else self.t.copy()
        dt = np.diff(self.t)
        d2 = np.zeros(n)
        if n >= 3:
            # only the curvature beyond what the white noise itself makes (counted as white noise below):
            # the second difference of white noise has SD sqrt(6) noise
            noise_d2 = NOISE_SIGMAS_D2 * np.sqrt(6.0) * self.prior.noise_mps2
            d2[1:-1] = np.maximum(np.abs(a[2:] - 2.0 * a[1:-1] + a[:-2]) - noise_d2, 0.0)
        trap = dt * 0.5 * (d2[:-1] + d2[1:]) * TRAPEZOID_FACTOR if n >= 2 else dt
        self.white_rate = self.prior.noise_mps2**2 * (float(np.median(dt)) if n >= 2 else 0.0)
        inc = (self.prior.noise_mps2 * dt) ** 2 + trap**2
        self.V = np.concatenate([[0.0], np.cumsum(inc)])  # accumulated variance at each sample
        # bias walk: piecewise-constant increments on knots WALK_KNOT_S apart; the velocity error they make
        # is a sum of ramps (t - r_k)_+, its integral of (t - r_k)_+^2 / 2 (a finite-rank kernel)
        q = self.prior.walk_mps2_per_rt_s
        span = float(self.tau[-1]) if n else 0.0
        self.knots = np.arange(0.0, span, WALK_KNOT_S) if q > 0 else np.zeros(0)
        self.walk_w = q * q * WALK_KNOT_S
        if n:
            self.z_raw = cumulative_trapezoid(self.v_raw, self.t)
            self.W1 = cumulative_trapezoid(self.V, self.tau)  # int_0^t V
            self.W2 = cumulative_trapezoid(self.W1, self.tau)  # int_0^t W1
            self.M1 = cumulative_trapezoid(self.tau * self.V, self.tau)  # int_0^t u V(u) du
        else:
            self.z_raw = self.W1 = self.W2 = self.M1 = self.t.copy()

    def walk_v(self, i: IntArray) -> FloatArray:
        """Bias-walk features of e at samples i: (t - r_k)_+ (rows: samples, columns: knots)."""
        return np.maximum(self.tau[i][:, None] - self.knots[None, :], 0.0)

    def walk_z(self, s: IntArray) -> FloatArray:
        """Bias-walk features of the integral of e up to samples s: (t - r_k)_+^2 / 2."""
        d = np.maximum(self.tau[s][:, None] - self.knots[None, :], 0.0)
        return 0.5 * d * d

    # covariances: e at samples ("v") and its integral from the start up to samples ("z")
    def kernel(self, i: IntArray, j: IntArray) -> FloatArray:
        """Prior covariance of e between samples i (rows) and j (columns)."""
        c2 = self.prior.offset_sd_mps2**2
        k: FloatArray = c2 * self.tau[i][:, None] * self.tau[j][None, :] + self.V[np.minimum(i[:, None], j[None, :])]
        if self.knots.size:
            k = k + self.walk_w * (self.walk_v(i) @ self.walk_v(j).T)
        return k

    def kernel_zv(self, s: IntArray, j: IntArray) -> FloatArray:
        """Covariance of the integral of e up to samples s (rows) with e at samples j (columns)."""
        c2 = self.prior.offset_sd_mps2**2
        ts, tj = self.tau[s][:, None], self.tau[j][None, :]
        bm = self.W1[np.minimum(s[:, None], j[None, :])] + np.maximum(ts - tj, 0.0) * self.V[j][None, :]
        k: FloatArray = c2 * 0.5 * ts * ts * tj + bm
        if self.knots.size:
            k = k + self.walk_w * (self.walk_z(s) @ self.walk_v(j).T)
        return k

    def kernel_zz(self, s: IntArray, r: IntArray) -> FloatArray:
        """Covariance of the integrals of e up to samples s (rows) and r (columns)."""
        c2 = self.prior.offset_sd_mps2**2
        ts, tr = self.tau[s][:, None], self.tau[r][None, :]
        lo = np.minimum(s[:, None], r[None, :])
        bm = self.W2[lo] + np.maximum(ts, tr) * self.W1[lo] - self.M1[lo]
        k: FloatArray = c2 * 0.25 * ts * ts * tr * tr + bm
        if self.knots.size:
            k = k + self.walk_w * (self.walk_z(s) @ self.walk_z(r).T)
        return k

    def prior_var(self, i: IntArray) -> FloatArray:
        var: FloatArray = self.prior.offset_sd_mps2**2 * self.tau[i] ** 2 + self.V[i]
        if self.knots.size:
            var = var + self.walk_w * np.sum(self.walk_v(i) ** 2, axis=1)
        return var

    def posterior(self, obs: IntArray, heights: list[HeightUpdate] | tuple[HeightUpdate, ...] = ()) -> DriftPosterior:
        """The posterior of e given e = v_raw at the sample indices ``obs`` (the bar still there) and the
        height updates."""
        return DriftPosterior(self, np.unique(np.asarray(obs, dtype=np.int64)), list(heights))


class DriftPosterior:
    """Posterior mean and SD of the velocity error given zero-velocity and height updates."""

    def __init__(self, model: VelocityDrift, obs: IntArray, heights: list[HeightUpdate]) -> None:
        self.model = model
        self.obs = obs[obs > 0] if obs.size else obs  # e(t0) = 0 is known without observing it
        self.hidx = np.array([h.index for h in heights], dtype=np.int64)
        m = self.obs.size + self.hidx.size
        self._m = m
        if m:
            k = self._cov_obs_obs()
            # velocity observations exact up to a small jitter (keeps K well conditioned); heights with their SD
            jit = 1e-15 + 1e-9 * float(np.max(np.diag(k)))
            noise = np.concatenate([np.full(self.obs.size, jit), np.array([h.sd_m**2 + 1e-12 for h in heights])])
            self._chol = np.linalg.cholesky(k + np.diag(noise))
            y = np.concatenate([model.v_raw[self.obs], np.array([model.z_raw[h.index] - h.height_m for h in heights])])
            self.alpha = _chol_solve(self._chol, y)
        else:
            self._chol = np.zeros((0, 0))
            self.alpha = np.zeros(0)

    def _cov_obs_obs(self) -> FloatArray:
        md, o, h = self.model, self.obs, self.hidx
        kvv = md.kernel(o, o)
        kzv = md.kernel_zv(h, o)
        kzz = md.kernel_zz(h, h)
        return np.block([[kvv, kzv.T], [kzv, kzz]])

    def _cov_obs_v(self, idx: IntArray) -> FloatArray:
        """Covariance of the observations (rows) with e at samples idx (columns)."""
        md = self.model
        return np.vstack([md.kernel(self.obs, idx), md.kernel_zv(self.hidx, idx)])

    def mean(self, idx: IntArray | None = None) -> FloatArray:
        """Posterior mean of e at samples idx (all samples if None)."""
        model = self.model
        if idx is None:
            idx = np.arange(model.t.size)
        idx = np.asarray(idx, dtype=np.int64)
        if not self._m:
            return np.zeros(idx.size)
        return self.alpha @ self._cov_obs_v(idx)

    def sd(self, idx: IntArray) -> FloatArray:
        """Posterior SD of e at samples idx."""
        idx = np.asarray(idx, dtype=np.int64)
        var = self.model.prior_var(idx)
        if self._m:
            w = np.linalg.solve(self._chol, self._cov_obs_v(idx))
            var = var - np.sum(w * w, axis=0)
        return np.sqrt(np.maximum(var, 0.0))

    def smooth_slope(self) -> FloatArray:
        """Time derivative of the posterior mean without the transients' share (m/s^2 per sample): the
        drift rate that a constant acceleration offset over each stretch between updates explains."""
        model = self.model
        n = model.t.size
        if not self._m:
            return np.zeros(n)
        c2 = model.prior.offset_sd_mps2**2
        av, az = self.alpha[: self.obs.size], self.alpha[self.obs.size :]
        tv, tz = model.tau[self.obs], model.tau[self.hidx]
        slope = np.full(n, c2 * (float(np.dot(av, tv)) + 0.5 * float(np.dot(az, tz * tz))))
        # d/dt V(min(t, x_j)) = white rate while t < x_j; d/dt of the integral kernel: (t_s - t) white rate
        ti = model.tau[:, None]
        k = np.arange(n)[:, None]
        slope += model.white_rate * ((k < self.obs[None, :]) @ av)
        slope += model.white_rate * ((np.maximum(tz[None, :] - ti, 0.0)) @ az)
        if model.knots.size:  # the bias walk's share: d/dt (t - r_k)_+ = 1 after knot k
            beta = model.walk_v(self.obs).T @ av + model.walk_z(self.hidx).T @ az
            slope += model.walk_w * ((model.tau[:, None] > model.knots[None, :]) @ beta)
        return slope

    def integral_sd(self) -> float:
        """Posterior SD of the integral of e over the whole movement (m): the position error there."""
        md = self.model
        n = md.t.size
        if n < 2:
            return 0.0
        end = np.array([n - 1])
        var = float(md.kernel_zz(end, end)[0, 0])
        if self._m:
            c = np.concatenate([md.kernel_zv(end, self.obs)[0], md.kernel_zz(self.hidx, end)[:, 0]])
            w = np.linalg.solve(self._chol, c)
            var -= float(w @ w)
        return float(np.sqrt(max(var, 0.0)))


def _chol_solve(chol: npt.NDArray[np.floating[Any]], y: FloatArray) -> npt.NDArray[np.floating[Any]]:
    return np.linalg.solve(chol.T, np.linalg.solve(chol, y))
