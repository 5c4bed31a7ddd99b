"""Interrupted time series of a weekly economy proxy around the start of strength training (pure).

One athlete, one proxy, weekly means of per-run values on the log scale (``y = 100 ln proxy``, so
a coefficient of 1 is ~1 %). The question the report asks is: *in the last observed week, how
far is the proxy from where the pre-strength course of this athlete would have put it?*

Mean models (``model``)
-----------------------
``"level_slope"`` (segmented regression; Wagner et al. 2002, J Clin Pharm Ther 27:299)::

    y_w = a + b t_w + c D_w + d (t_w - t0) D_w + sum_k g_k z_kw + u_w + e_w

with ``t`` the week index, ``t0`` the first strength week and ``D_w = 1`` from ``t0`` on. The
estimand is the change in the last observed week ``T``: ``c + d (T - t0)`` (a step, a ramp, or
both, net of the pre-strength level and slope extrapolated to ``T``).

``"exposure"``: ``c D_w`` and ``d (t - t0) D_w`` are replaced by ``c X_w`` where ``X`` is an
exponentially weighted exposure (:func:`exponential_exposure`, an EWMA of the weekly heavy
sessions per target session, time constant ``tau`` weeks); the estimand is ``c X_T``.

``"level_exposure"``: a level change at the start and the exposure, ``c D_w + e X_w``; the estimand
is ``c + e X_T``. A step is the level change, a gradual change the exposure term; the pre-strength
slope is shared by the block (the exposure saturates, so late block weeks inform the trend), which
keeps the interval close to the exposure model's while an instant step is not misread (the
exposure model alone reads a step through its slow rise and, with strongly autocorrelated weeks,
can inflate it several-fold).

Errors (``se``)
---------------
``"ar1_gls"``: two variance components, ``u`` an AR(1) process over *calendar* weeks
(``corr(u_i, u_j) = rho^|t_i - t_j|``, so weeks without runs keep their distance) and ``e`` the
mean of the week's run-to-run noise, ``var(e_w) = s2_run / n_w`` (so a week of six runs weighs
more than a week of one, but not six times more once ``u`` dominates). ``s2_run`` is the pooled
within-week variance of the per-run values (given by the caller); ``s2_u`` and ``rho`` are
estimated by restricted maximum likelihood (REML, Patterson & Thompson 1971: the likelihood of
the residual contrasts, which does not shrink the variance by the fitted trend and level terms).
The coefficients and their plug-in covariance come from
:class:`statsmodels.regression.linear_model.GLS` with that covariance matrix; because the plug-in
covariance treats the estimated ``rho`` and ``s2_u`` as known and is too small in series of
15-30 weeks, it gets the Kenward & Roger (1997) small-sample adjustment with Satterthwaite
degrees of freedom (:func:`_kenward_roger`) before the Student-t interval is formed.

``"ar1_gls_plugin"``: the same GLS with statsmodels' own interval (plug-in covariance, scale
re-estimated, n - p df), kept to show in the validation why the adjustment is needed.

``"hac"``: weighted least squares (weights = runs per week) with Newey-West HAC standard errors
(statsmodels ``cov_type="HAC"``, Bartlett kernel, ``maxlags = floor(4 (n/100)^(2/9))``, small-sample
correction, Student-t), rows in time order. Kept for comparison; the validation in
``benchmarks/bench_economy_validation.py`` decides which one the report uses
(:data:`DEFAULT_MODEL`, :data:`DEFAULT_SE`, see docs/statistics.md).

The sensitivity (:func:`weeks_to_detect`) uses the same AR(1) + run-noise covariance on a
hypothetical continuation of the block.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SE",
    "DEFAULT_TAU_WEEKS",
    "ItsFit",
    "design_se",
    "exponential_exposure",
    "fit_change",
    "weeks_to_detect",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: mean model and standard-error method the report uses (chosen by the validation, docs/statistics.md:
#: every AR(1)-GLS variant kept coverage on the field athletes; the exposure terms give narrower intervals
#: than level + slope and a sensitivity that improves with every block week, and the level change keeps an
#: instant step from being read through the exposure's slow rise; HAC intervals covered 44-72 %)
DEFAULT_MODEL = "level_exposure"
DEFAULT_SE = "ar1_gls"
#: time constant of the exponentially weighted exposure (weeks; the issue's range is 4-8)
DEFAULT_TAU_WEEKS = 6.0
#: a covariate this well explained by the terms already in the model (R2 of z on them; variance inflation
#: factor 1 / (1 - R2) > 10, the usual collinearity limit) is left out: its coefficient would be unstable and
#: would take the trend's or the change's place
MAX_COVARIATE_R2 = 0.9
#: largest AR(1) coefficient the REML search considers (a unit root is a random walk, not AR(1))
RHO_MAX = 0.98
MODELS = ("level_exposure", "level_slope", "exposure")
SE_METHODS = ("ar1_gls", "ar1_gls_plugin", "hac")


@dataclass
class ItsFit:
    """One interrupted-time-series fit (log-% units unless said).

    Attributes
    ----------
    estimate_log, se_log, ci_low_log, ci_high_log : float or None
        The change in the last observed week on the ``100 ln`` scale, its standard error and
        ``confidence`` interval (Student-t, ``df``).
    estimate_pct, ci_low_pct, ci_high_pct : float or None
        The same as ``100 (e^(x/100) - 1)`` %.
    df : float
        Degrees of freedom of the interval (Satterthwaite for AR(1) GLS, n - p for HAC).
    n_weeks, n_baseline_weeks, n_block_weeks, n_runs : int
    last_week, start_week : int
        Week indices ``T`` and ``t0``.
    weeks_since_start : int
        ``T - t0``.
    exposure_at_last_week : float or None
        ``X_T`` of the exposure model.
    covariates : list of str
        Adjustment terms in the model. ``covariates_dropped``: name -> why not.
    coef : dict
        Every coefficient (log-% per unit).
    rho, sd_week_pct, sd_run_pct : float or None
        AR(1) coefficient and SDs of the week process and of one run (log-%), AR(1) GLS only.
    model, se_method, method : str
    reason : str or None
        Why there is no estimate.
    """

    estimate_log: float | None = None
    se_log: float | None = None
    ci_low_log: float | None = None
    ci_high_log: float | None = None
    estimate_pct: float | None = None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    df: float = 0.0
    n_weeks: int = 0
    n_baseline_weeks: int = 0
    n_block_weeks: int = 0
    n_runs: int = 0
    last_week: int | None = None
    start_week: int | None = None
    weeks_since_start: int | None = None
    exposure_at_last_week: float | None = None
    covariates: list[str] = field(default_factory=list)
    covariates_dropped: dict[str, str] = field(default_factory=dict)
    coef: dict[str, float] = field(default_factory=dict)
    rho: float | None = None
    sd_week_pct: float | None = None
    sd_run_pct: float | None = None
    model: str = DEFAULT_MODEL
    se_method: str = DEFAULT_SE
    method: str = ""
    confidence: float = 0.90
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def exponential_exposure(
    sessions_per_week: Sequence[float] | FloatArray, *, target: float = 2.0, tau_weeks: float = DEFAULT_TAU_WEEKS
) -> FloatArray:
    """Exponentially weighted strength exposure per week, 0 before the first session.

    ``X_w = X_(w-1) + k (s_w / target - X_(w-1))`` with ``k = 1 - e^(-1/tau)`` (an EWMA of the
    weekly heavy sessions relative to the target, the form of the Banister fitness term), so
    training at the target from week ``t0`` on gives ``X = 1 - e^(-(w - t0 + 1)/tau)``.
    """
    s = np.asarray(sessions_per_week, dtype=np.float64)
    if s.ndim != 1 or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sessions_per_week must be a 1-D array of counts >= 0")
    if not (target > 0 and tau_weeks > 0):
        raise ValueError("target and tau_weeks must be > 0")
    k = 1.0 - math.exp(-1.0 / tau_weeks)
    out = np.zeros(s.size)
    x = 0.0
    for i, v in enumerate(s):
        x += k * (v / target - x)
        out[i] = x
    return out


# --------------------------------------------------------------------------------------------
# covariance and REML
# --------------------------------------------------------------------------------------------


def _covariance(t: IntArray, n: FloatArray, s2_u: float, rho: float, s2_run: float) -> FloatArray:
    lag = np.abs(t[:, None] - t[None, :]).astype(np.float64)
    V: FloatArray = s2_u * rho**lag + np.diag(s2_run / n)
    return V


def _neg_reml(
    s2_u: float, rho: float, t: IntArray, n: FloatArray, X: FloatArray, y: FloatArray, s2_run: float
) -> float:
    V = _covariance(t, n, s2_u, rho, s2_run)
    try:
        L = np.linalg.cholesky(V)
    except np.linalg.LinAlgError:
        return np.inf
    Xt = np.linalg.solve(L, X)
    yt = np.linalg.solve(L, y)
    XtX = Xt.T @ Xt
    sign, logdet_xx = np.linalg.slogdet(XtX)
    if sign <= 0:
        return np.inf
    beta = np.linalg.solve(XtX, Xt.T @ yt)
    r = yt - Xt @ beta
    return 0.5 * (2.0 * float(np.log(np.diag(L)).sum()) + float(logdet_xx) + float(r @ r))


def _reml(t: IntArray, n: FloatArray, X: FloatArray, y: FloatArray, s2_run: float) -> tuple[float, float]:
    """(s2_u, rho) maximising the restricted likelihood: a grid, then a bounded quasi-Newton step."""
    p = X.shape[1]
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = y - X @ beta
    s2_tot = max(float(r @ r) / max(y.size - p, 1), 1e-6)
    floor = max(s2_run, s2_tot) * 1e-4
    grid_s = s2_tot * np.logspace(-3, 1, 13) + floor
    grid_r = np.linspace(0.0, RHO_MAX, 15)
    best = (np.inf, grid_s[0], 0.0)
    for s2 in grid_s:
        for rho in grid_r:
            v = _neg_reml(s2, rho, t, n, X, y, s2_run)
            if v < best[0]:
                best = (v, s2, rho)

    def f(z: FloatArray) -> float:
        return _neg_reml(math.exp(z[0]), z[1], t, n, X, y, s2_run)

    res = optimize.minimize(
        f,
        x0=[math.log(best[1]), best[2]],
        method="L-BFGS-B",
        bounds=[(math.log(floor), math.log(s2_tot * 100 + floor)), (0.0, RHO_MAX)],
    )
    if res.success and res.fun <= best[0]:
        return math.exp(float(res.x[0])), float(res.x[1])
    return float(best[1]), float(best[2])


def _kenward_roger(
    t: IntArray, n: FloatArray, X: FloatArray, V: FloatArray, phi: FloatArray, Lvec: FloatArray, s2_u: float, rho: float
) -> tuple[float, float]:
    """Variance of ``L'beta`` and its degrees of freedom with the Kenward & Roger (1997) adjustment.

    The plug-in GLS variance ``L' Phi L`` (``Phi = (X'V^-1X)^-1``) treats the REML estimates of
    ``s2_u`` and ``rho`` as known and is too small in short series (Kackar & Harville 1984).
    Kenward & Roger (1997, Biometrics 53:983-997) add, with ``W`` the inverse expected REML
    information of the variance parameters, ``V_i = dV/dtheta_i``,
    ``P_i = -X'V^-1 V_i V^-1 X`` and ``Q_ij = X'V^-1 V_i V^-1 V_j V^-1 X``::

        Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j)] Phi

    (the first-order form, second derivatives of V omitted), and take Satterthwaite's degrees of
    freedom ``nu = 2 (L'Phi_A L)^2 / (g'Wg)`` with ``g_i = dL'PhiL/dtheta_i = -L'Phi P_i Phi L``,
    capped at ``n - p``. A variance parameter on its boundary (``rho`` = 0 or at
    :data:`RHO_MAX`, ``s2_u`` at its floor) is treated as known.
    """
    lag = np.abs(t[:, None] - t[None, :]).astype(np.float64)
    R = rho**lag
    dV = []
    if s2_u > 1e-6 * max(float(np.max(np.diag(V))), 1e-12):
        dV.append(R)
    if 1e-3 < rho < RHO_MAX - 1e-3 and s2_u > 0:
        dV.append(s2_u * lag * np.where(lag > 0, rho ** np.maximum(lag - 1.0, 0.0), 0.0))
    phi = np.asarray(phi, dtype=np.float64)
    v0 = float(Lvec @ phi @ Lvec)
    df_max = float(X.shape[0] - X.shape[1])
    if not dV:
        return v0, df_max
    Vi = np.linalg.inv(V)
    ViX = Vi @ X
    P = Vi - ViX @ phi @ ViX.T
    info = np.array([[0.5 * float(np.trace(P @ a @ P @ c)) for c in dV] for a in dV])
    try:
        W = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return v0, df_max
    Pi = [-(ViX.T @ a @ ViX) for a in dV]
    adj = np.zeros_like(phi)
    for i, a in enumerate(dV):
        for j, c in enumerate(dV):
            Q = ViX.T @ a @ Vi @ c @ ViX
            adj += W[i, j] * (Q - Pi[i] @ phi @ Pi[j])
    var_a = max(float(Lvec @ (phi + 2.0 * phi @ adj @ phi) @ Lvec), v0)
    g = np.array([-float(Lvec @ phi @ p_ @ phi @ Lvec) for p_ in Pi])
    denom = float(g @ W @ g)
    nu = 2.0 * var_a**2 / denom if denom > 0 else df_max
    return var_a, float(min(max(nu, 2.0), df_max))


# --------------------------------------------------------------------------------------------
# the fit
# --------------------------------------------------------------------------------------------


def _adjustment_var(
    series: Sequence[Sequence[float]], cov: np.ndarray | None, estimator: Callable[[FloatArray], float]
) -> float:
    """``e' C e``: variance the estimate inherits from coefficients estimated outside the weekly model."""
    if not len(series) or cov is None or np.size(cov) == 0:
        return 0.0
    e = np.array([estimator(np.asarray(z, dtype=np.float64)) for z in series])
    C = np.asarray(cov, dtype=np.float64)
    if C.shape != (e.size, e.size):
        raise ValueError("adjustment_cov must be k x k for k adjusted_for series")
    return max(float(e @ C @ e), 0.0)


def _hac_maxlags(n: int) -> int:
    return max(1, math.floor(4.0 * float((n / 100.0) ** (2.0 / 9.0))))


def _pct(x: float) -> float:
    return 100.0 * (math.exp(x / 100.0) - 1.0)


def fit_change(
    week: Sequence[int],
    y: Sequence[float],
    n_runs: Sequence[int],
    start_week: int,
    *,
    covariates: Mapping[str, Sequence[float]] | None = None,
    exposure: Sequence[float] | FloatArray | None = None,
    within_week_var: float | None = None,
    model: str = DEFAULT_MODEL,
    se: str = DEFAULT_SE,
    confidence: float = 0.90,
    min_baseline_weeks: int = 6,
    min_block_weeks: int = 2,
    min_resid_df: int = 6,
    adjusted_for: Sequence[Sequence[float]] = (),
    adjustment_cov: np.ndarray | None = None,
) -> ItsFit:
    """Change of a weekly log-scale proxy in its last observed week, net of the pre-strength course.

    Parameters
    ----------
    week : sequence of int
        Calendar week index of each observed week (strictly increasing; gaps = weeks without data).
    y : sequence of float
        Weekly mean of ``100 ln proxy`` over the week's runs.
    n_runs : sequence of int
        Runs behind each weekly mean (>= 1).
    start_week : int
        First strength week ``t0`` (weeks before it are the baseline).
    covariates : mapping of name -> sequence, optional
        Weekly means of per-run covariates over the same runs, in priority order: a covariate
        is kept only if it varies over the used weeks, is not collinear with the terms already in
        the model (R2 <= :data:`MAX_COVARIATE_R2`) and the residual degrees of freedom stay
        >= ``min_resid_df``; otherwise it is listed in ``covariates_dropped`` with the reason.
    exposure : sequence of float, optional
        Exposure per observed week (model ``"exposure"``; 0 in baseline weeks).
    within_week_var : float, optional
        Pooled within-week variance of single runs' ``100 ln proxy`` (``s2_run``); None or 0 when
        no week had two runs (then the week process carries all the noise).
    model : {"level_exposure", "level_slope", "exposure"}
    se : {"ar1_gls", "ar1_gls_plugin", "hac"}
    confidence : float
        Interval level (0.90).
    adjusted_for, adjustment_cov : optional
        When ``y`` was adjusted before the fit as ``y - sum_k gamma_k zbar_k`` with estimated
        ``gamma`` (covariance ``adjustment_cov``, estimated independently of the weekly means, e.g.
        within weeks), the weekly means ``zbar_k`` of those covariates: the estimate moves by
        ``-sum_k gamma_k e_k`` where ``e_k`` is the same estimator applied to ``zbar_k``, so
        ``e' C e`` is added to its variance (exact: the estimator is linear in ``y``).

    Returns
    -------
    ItsFit
        ``reason`` set (and no estimate) with fewer than ``min_baseline_weeks`` baseline weeks or
        ``min_block_weeks`` block weeks with data, or too few weeks for the model.
    """
    import statsmodels.api as sm

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    if se not in SE_METHODS:
        raise ValueError(f"se must be one of {SE_METHODS}")
    if not (0 < confidence < 1):
        raise ValueError("confidence must be in (0, 1)")
    t = np.asarray(week, dtype=np.int64)
    yy = np.asarray(y, dtype=np.float64)
    n = np.asarray(n_runs, dtype=np.float64)
    if t.ndim != 1 or yy.shape != t.shape or n.shape != t.shape:
        raise ValueError("week, y and n_runs must be 1-D of equal length")
    if t.size and np.any(np.diff(t) <= 0):
        raise ValueError("week must be strictly increasing")
    if np.any(~np.isfinite(yy)) or np.any(n < 1):
        raise ValueError("y must be finite and n_runs >= 1")
    cov = {k: np.asarray(v, dtype=np.float64) for k, v in (covariates or {}).items()}
    for k, v in cov.items():
        if v.shape != t.shape or not np.all(np.isfinite(v)):
            raise ValueError(f"covariate {k!r} must be finite and match week")
    if model in ("exposure", "level_exposure"):
        if exposure is None:
            raise ValueError(f"model {model!r} needs exposure")
        xexp = np.asarray(exposure, dtype=np.float64)
        if xexp.shape != t.shape or not np.all(np.isfinite(xexp)):
            raise ValueError("exposure must be finite and match week")
    blk = t >= start_week
    res = ItsFit(
        model=model,
        se_method=se,
        confidence=confidence,
        start_week=int(start_week),
        n_weeks=int(t.size),
        n_baseline_weeks=int((~blk).sum()),
        n_block_weeks=int(blk.sum()),
        n_runs=int(n.sum()),
    )
    if res.n_baseline_weeks < min_baseline_weeks:
        res.reason = (
            f"{res.n_baseline_weeks} pre-strength baseline weeks with data "
            f"(at least {min_baseline_weeks} are needed to estimate the pre-strength level and trend)"
        )
        return res
    if res.n_block_weeks < min_block_weeks:
        res.reason = f"{res.n_block_weeks} weeks with data since strength training started (need >= {min_block_weeks})"
        return res
    T = int(t[-1])
    res.last_week, res.weeks_since_start = T, T - int(start_week)
    tc = (t - start_week).astype(np.float64)
    names = ["level", "pre-strength slope (per week)"]
    cols = [np.ones(t.size), tc]
    L_tail: list[float] = []
    if model == "level_slope":
        names += ["level change at the start", "slope change (per week)"]
        cols += [blk.astype(float), tc * blk]
        L = [0.0, 0.0, 1.0, float(T - start_week)]
    elif model == "exposure":
        names += ["exposure effect (at exposure 1)"]
        cols += [xexp]
        res.exposure_at_last_week = float(xexp[-1])
        L = [0.0, 0.0, float(xexp[-1])]
    else:
        names += ["level change at the start", "exposure effect (at exposure 1)"]
        cols += [blk.astype(float), xexp]
        res.exposure_at_last_week = float(xexp[-1])
        L = [0.0, 0.0, 1.0, float(xexp[-1])]
    p_core = len(cols)
    if t.size - p_core < max(min_resid_df, 2):
        res.reason = f"{t.size} weeks with data: too few for the {p_core}-parameter model (need >= {p_core + max(min_resid_df, 2)})"
        return res
    for k, v in cov.items():
        z = v - v.mean()
        if np.ptp(z) <= 1e-9 * max(1.0, float(np.abs(v).max())):
            res.covariates_dropped[k] = "no variation over the weeks used"
            continue
        if t.size - len(cols) - 1 < min_resid_df:
            res.covariates_dropped[k] = f"too few weeks (residual df would fall below {min_resid_df})"
            continue
        base = np.column_stack(cols)
        fitted = base @ np.linalg.lstsq(base, z, rcond=None)[0]
        r2 = 1.0 - float(np.sum((z - fitted) ** 2)) / float(np.sum(z**2))
        if r2 > MAX_COVARIATE_R2:
            res.covariates_dropped[k] = (
                f"collinear with the level, trend and strength terms (R2 {r2:.2f} > "
                f"{MAX_COVARIATE_R2:g}): its effect cannot be told apart from theirs"
            )
            continue
        cols.append(z)
        names.append(k)
        res.covariates.append(k)
        L_tail.append(0.0)
    X = np.column_stack(cols)
    Lvec = np.array([*L, *L_tail])
    alpha = 1.0 - confidence
    if se in ("ar1_gls", "ar1_gls_plugin"):
        s2_run = float(within_week_var) if within_week_var and within_week_var > 0 else 0.0
        s2_u, rho = _reml(t, n, X, yy, s2_run)
        V = _covariance(t, n, s2_u, rho, s2_run)
        fit = sm.GLS(yy, X, sigma=V).fit()
        res.rho, res.sd_week_pct = rho, math.sqrt(s2_u)
        res.sd_run_pct = math.sqrt(s2_run) if s2_run else None
        extra = _adjustment_var(
            adjusted_for,
            adjustment_cov,
            lambda z: float(Lvec @ (fit.normalized_cov_params @ (X.T @ np.linalg.solve(V, z)))),
        )
        if se == "ar1_gls":
            est = float(Lvec @ fit.params)
            var_kr, df = _kenward_roger(t, n, X, V, fit.normalized_cov_params, Lvec, s2_u, rho)
            sd = math.sqrt(var_kr + extra)
            q = float(stats.t.ppf(1.0 - alpha / 2.0, df))
            lo, hi = est - q * sd, est + q * sd
            res.method = (
                f"GLS with AR(1) week errors (rho {rho:.2f}) + run noise / runs per week, variance "
                f"components by REML; Kenward-Roger covariance, Satterthwaite {df:.1f} df, "
                f"{confidence:.0%} Student-t interval (statsmodels GLS)"
            )
        else:  # the plug-in GLS interval, kept for the validation that showed why the adjustment is needed
            tt = fit.t_test(Lvec)
            est, sd = float(np.squeeze(tt.effect)), float(np.squeeze(tt.sd))
            lo, hi = (float(v) for v in np.squeeze(tt.conf_int(alpha=alpha)))
            df = float(fit.df_resid)
            if extra > 0:
                sd = math.sqrt(sd**2 + extra)
                q = float(stats.t.ppf(1.0 - alpha / 2.0, df))
                lo, hi = est - q * sd, est + q * sd
            res.method = (
                f"GLS with AR(1) week errors (rho {rho:.2f}) + run noise, REML, plug-in covariance, "
                f"Student-t {confidence:.0%} interval, {df:.0f} df (statsmodels GLS)"
            )
        res.df = float(df)
    else:
        ml = _hac_maxlags(t.size)
        fit = sm.WLS(yy, X, weights=n).fit(cov_type="HAC", cov_kwds={"maxlags": ml, "use_correction": True}, use_t=True)
        tt = fit.t_test(Lvec)
        est = float(np.squeeze(tt.effect))
        sd = float(np.squeeze(tt.sd))
        lo, hi = (float(v) for v in np.squeeze(tt.conf_int(alpha=alpha)))
        res.df = float(fit.df_resid)
        w = n / n.sum()
        extra = _adjustment_var(
            adjusted_for, adjustment_cov, lambda z: float(Lvec @ np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * z)))
        )
        if extra > 0:
            sd = math.sqrt(sd**2 + extra)
            q = float(stats.t.ppf(1.0 - alpha / 2.0, fit.df_resid))
            lo, hi = est - q * sd, est + q * sd
        res.method = (
            f"WLS (weights = runs per week) with Newey-West HAC standard errors ({ml} lags), "
            f"Student-t {confidence:.0%} interval, {int(fit.df_resid)} df (statsmodels)"
        )
    res.estimate_log, res.se_log, res.ci_low_log, res.ci_high_log = est, sd, lo, hi
    res.estimate_pct, res.ci_low_pct, res.ci_high_pct = _pct(est), _pct(lo), _pct(hi)
    res.coef = {nm: float(b) for nm, b in zip(names, fit.params, strict=True)}
    return res


def design_se(
    weeks: Sequence[int] | IntArray,
    runs: Sequence[float] | FloatArray,
    start_week: int,
    *,
    sd_week_pct: float,
    rho: float,
    sd_run_pct: float | None,
    model: str = DEFAULT_MODEL,
    tau_weeks: float = DEFAULT_TAU_WEEKS,
) -> float | None:
    """Standard error (log-%) of the change in the last week for a design, covariance known.

    The mean model of :func:`fit_change` without covariates, exposure at the target from
    ``start_week`` on, and the AR(1) + run-noise covariance; None when the design cannot
    estimate the change (e.g. a single block week for ``level_slope``).
    """
    t = np.asarray(weeks, dtype=np.int64)
    n = np.asarray(runs, dtype=np.float64)
    tc = (t - start_week).astype(float)
    blk = (t >= start_week).astype(float)
    k = 1.0 - math.exp(-1.0 / tau_weeks)
    xexp = np.where(blk > 0, 1.0 - (1.0 - k) ** (tc + 1.0), 0.0)
    if model == "level_slope":
        X = np.column_stack([np.ones(t.size), tc, blk, tc * blk])
        Lv = np.array([0.0, 0.0, 1.0, float(tc[-1])])
    elif model == "exposure":
        X = np.column_stack([np.ones(t.size), tc, xexp])
        Lv = np.array([0.0, 0.0, float(xexp[-1])])
    else:
        X = np.column_stack([np.ones(t.size), tc, blk, xexp])
        Lv = np.array([0.0, 0.0, 1.0, float(xexp[-1])])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return None
    V = _covariance(t, n, sd_week_pct**2, rho, (sd_run_pct or 0.0) ** 2)
    try:
        C = np.linalg.inv(X.T @ np.linalg.solve(V, X))
    except np.linalg.LinAlgError:
        return None
    return math.sqrt(max(float(Lv @ C @ Lv), 0.0))


def weeks_to_detect(
    change_pct: float,
    *,
    baseline_weeks: Sequence[int],
    baseline_runs: Sequence[int],
    runs_per_week: float,
    sd_week_pct: float,
    rho: float,
    sd_run_pct: float | None,
    model: str = DEFAULT_MODEL,
    tau_weeks: float = DEFAULT_TAU_WEEKS,
    inflation: float = 1.0,
    confidence: float = 0.90,
    power: float = 0.80,
    max_weeks: int = 104,
) -> int | None:
    """Weeks of strength training after which a change of ``change_pct`` % would be detected.

    "Detected": the ``confidence`` interval of :func:`fit_change` excludes 0 with probability
    ``power`` (normal approximation: ``|change| >= (z_(1-a/2) + z_power) x SE``). SE is
    :func:`design_se` for the athlete's baseline weeks (their positions and runs) and a block of
    ``B`` consecutive weeks with ``runs_per_week`` runs each, under the AR(1) + run-noise
    covariance estimated for the athlete, times ``inflation`` (the ratio of the athlete's actual
    SE, with its covariates and small-sample adjustment, to the design SE of the weeks observed so
    far). For ``level_slope`` the SE grows again for long blocks (the pre-strength slope is
    extrapolated further), so the answer may be None (not within ``max_weeks``) although the
    change is large. The SE of the change in the *last* week is not monotone in the block length
    (a change seen after two block weeks is barely extrapolated; the level and exposure terms
    separate only once the exposure saturates), so the answer is the block length from which the
    change stays detected up to ``max_weeks``.

    Returns
    -------
    int or None
        Smallest block length ``B`` (weeks) from which every longer block up to ``max_weeks``
        detects the change, or None.
    """
    if not (runs_per_week > 0 and sd_week_pct >= 0 and 0 <= rho < 1 and inflation > 0):
        raise ValueError("need runs_per_week > 0, sd_week_pct >= 0, 0 <= rho < 1, inflation > 0")
    bw = np.asarray(baseline_weeks, dtype=np.int64)
    bn = np.asarray(baseline_runs, dtype=np.float64)
    if bw.size < 2 or bn.shape != bw.shape:
        raise ValueError("need >= 2 baseline weeks with their runs")
    t0 = int(bw.max()) + 1
    target = abs(100.0 * math.log1p(change_pct / 100.0))
    z = stats.norm.ppf(0.5 + confidence / 2.0) + stats.norm.ppf(power)
    first: int | None = None
    for B in range(1, max_weeks + 1):
        t = np.concatenate([bw, t0 + np.arange(B)])
        n = np.concatenate([bn, np.full(B, runs_per_week)])
        se = design_se(
            t, n, t0, sd_week_pct=sd_week_pct, rho=rho, sd_run_pct=sd_run_pct, model=model, tau_weeks=tau_weeks
        )
        if se is not None and target >= z * se * inflation:
            first = B if first is None else first
        else:
            first = None
    return first
