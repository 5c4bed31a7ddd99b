"""The interrupted time series (analysis.its) against closed-form and independently computed answers."""

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis.its import (
    _covariance,
    design_se,
    exponential_exposure,
    fit_change,
    weeks_to_detect,
)

WEEKS = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19])
RUNS = np.array([3, 4, 2, 5, 3, 4, 4, 2, 3, 3, 4, 5, 2, 3, 4, 4, 3, 3])
T0 = 8


@pytest.mark.parametrize("se", ["ar1_gls", "hac"])
def test_noiseless_level_and_slope_change_recovered_exactly(se):
    y = 1.0 + 0.1 * WEEKS + (WEEKS >= T0) * (3.0 + 0.2 * (WEEKS - T0))
    f = fit_change(WEEKS, y, RUNS, T0, se=se, within_week_var=1.0, model="level_slope")
    assert f.estimate_log == pytest.approx(3.0 + 0.2 * (19 - T0), abs=1e-9)
    assert f.estimate_pct == pytest.approx(100 * (math.exp((3.0 + 0.2 * 11) / 100) - 1), abs=1e-9)
    assert f.coef["pre-strength slope (per week)"] == pytest.approx(0.1, abs=1e-9)
    assert f.ci_low_log <= f.estimate_log <= f.ci_high_log
    assert (f.n_baseline_weeks, f.n_block_weeks, f.weeks_since_start, f.n_runs) == (7, 11, 11, int(RUNS.sum()))


def test_noiseless_exposure_effect_recovered_exactly():
    sessions = np.where(np.arange(20) >= T0, 2, 0)
    x = exponential_exposure(sessions)[WEEKS]
    y = 5.0 - 0.05 * WEEKS + 4.0 * x
    f = fit_change(WEEKS, y, RUNS, T0, model="exposure", exposure=x, within_week_var=1.0)
    assert f.estimate_log == pytest.approx(4.0 * x[-1], abs=1e-9)
    assert f.exposure_at_last_week == pytest.approx(x[-1])


def test_noiseless_step_plus_exposure_recovered_exactly():
    sessions = np.where(np.arange(20) >= T0, 2, 0)
    x = exponential_exposure(sessions)[WEEKS]
    y = 5.0 + 0.05 * WEEKS + 1.5 * (WEEKS >= T0) + 3.0 * x
    f = fit_change(WEEKS, y, RUNS, T0, model="level_exposure", exposure=x, within_week_var=1.0)
    assert f.estimate_log == pytest.approx(1.5 + 3.0 * x[-1], abs=1e-9)
    assert f.coef["level change at the start"] == pytest.approx(1.5, abs=1e-9)
    # a pure step is the level change, not an inflated exposure effect
    g = fit_change(WEEKS, 5.0 + 4.0 * (WEEKS >= T0), RUNS, T0, model="level_exposure", exposure=x, within_week_var=1.0)
    assert g.estimate_log == pytest.approx(4.0, abs=1e-9)


def test_exponential_exposure_closed_form():
    tau = 6.0
    s = np.array([0, 0, 2, 2, 2, 2, 2, 2])
    x = exponential_exposure(s, tau_weeks=tau)
    k = np.arange(6)
    assert x[:2].tolist() == [0.0, 0.0]
    assert x[2:] == pytest.approx(1 - np.exp(-(k + 1) / tau))
    assert exponential_exposure([4, 0], target=2.0, tau_weeks=1.0)[0] == pytest.approx(2 * (1 - math.exp(-1)))
    with pytest.raises(ValueError):
        exponential_exposure([1, -1])


def test_covariate_removes_confounding_exactly():
    heat = np.where(WEEKS >= T0, 3.0, 0.0) + (WEEKS % 3)
    y = 2.0 + 0.05 * WEEKS - 0.7 * heat
    f = fit_change(WEEKS, y, RUNS, T0, covariates={"heat": heat}, within_week_var=1.0, model="level_slope")
    assert f.estimate_log == pytest.approx(0.0, abs=1e-9) and f.covariates == ["heat"]
    assert f.coef["heat"] == pytest.approx(-0.7, abs=1e-9)
    g = fit_change(
        WEEKS, y, RUNS, T0, covariates={"flat": np.ones(WEEKS.size)}, within_week_var=1.0, model="level_slope"
    )
    assert g.covariates_dropped == {"flat": "no variation over the weeks used"}


def test_hac_equals_statsmodels_called_directly():
    rng = np.random.default_rng(3)
    y = rng.normal(0, 1.5, WEEKS.size) + 0.1 * WEEKS
    f = fit_change(WEEKS, y, RUNS, T0, se="hac", model="level_slope")
    tc = (WEEKS - T0).astype(float)
    d = (WEEKS >= T0).astype(float)
    X = np.column_stack([np.ones(WEEKS.size), tc, d, tc * d])
    ref = sm.WLS(y, X, weights=RUNS).fit(cov_type="HAC", cov_kwds={"maxlags": 2, "use_correction": True}, use_t=True)
    L = np.array([0, 0, 1, 11.0])
    tt = ref.t_test(L)
    assert f.estimate_log == pytest.approx(float(np.squeeze(tt.effect)), rel=1e-10)
    assert f.se_log == pytest.approx(float(np.squeeze(tt.sd)), rel=1e-10)
    lo, hi = np.squeeze(tt.conf_int(alpha=0.10))
    assert (f.ci_low_log, f.ci_high_log) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))


def test_gls_point_estimate_equals_an_independent_gls_computation():
    rng = np.random.default_rng(7)
    y = rng.normal(0, 1.0, WEEKS.size) + np.cumsum(rng.normal(0, 0.5, WEEKS.size))
    f = fit_change(WEEKS, y, RUNS, T0, within_week_var=2.0, model="level_slope")
    V = _covariance(WEEKS, RUNS.astype(float), f.sd_week_pct**2, f.rho, 2.0)
    tc = (WEEKS - T0).astype(float)
    d = (WEEKS >= T0).astype(float)
    X = np.column_stack([np.ones(WEEKS.size), tc, d, tc * d])
    Vi = np.linalg.inv(V)
    beta = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
    assert f.estimate_log == pytest.approx(beta[2] + 11 * beta[3], rel=1e-8)
    # the Kenward-Roger variance is never below the plug-in GLS variance
    plug_in = float(np.array([0, 0, 1, 11.0]) @ np.linalg.inv(X.T @ Vi @ X) @ np.array([0, 0, 1, 11.0]))
    assert f.se_log**2 >= plug_in - 1e-12


def test_kenward_roger_reduces_to_the_ols_t_interval_with_one_variance_parameter():
    """Independent weeks with no run-noise term: V = s2 I, the one variance parameter is s2 (rho = 0 on
    its boundary, treated as known). Kenward-Roger is then exact: the OLS t interval with n - p df."""
    rng = np.random.default_rng(11)
    alt = np.where(np.arange(WEEKS.size) % 2 == 0, 1.0, -1.0)  # negatively autocorrelated: REML rho = 0
    y = 0.3 * WEEKS + 2.0 * alt + rng.normal(0, 0.2, WEEKS.size)
    f = fit_change(WEEKS, y, RUNS, T0, within_week_var=None, model="level_slope")
    assert f.rho == 0.0
    tc = (WEEKS - T0).astype(float)
    d = (WEEKS >= T0).astype(float)
    X = np.column_stack([np.ones(WEEKS.size), tc, d, tc * d])
    tt = sm.OLS(y, X).fit().t_test(np.array([0, 0, 1, 11.0]))
    lo, hi = np.squeeze(tt.conf_int(alpha=0.10))
    assert f.df == pytest.approx(WEEKS.size - 4)
    assert f.estimate_log == pytest.approx(float(np.squeeze(tt.effect)), rel=1e-6)
    assert (f.ci_low_log, f.ci_high_log) == (pytest.approx(lo, rel=1e-4), pytest.approx(hi, rel=1e-4))


def test_not_estimable_with_short_baseline_or_block_and_bad_input():
    f = fit_change(WEEKS[3:], np.zeros(WEEKS.size - 3), RUNS[3:], T0, model="level_slope")
    assert f.estimate_pct is None and "4 pre-strength baseline weeks" in f.reason and "at least 6" in f.reason
    g = fit_change(WEEKS[:8], np.zeros(8), RUNS[:8], T0, model="level_slope")
    assert g.estimate_pct is None and "1 weeks with data since strength" in g.reason
    with pytest.raises(ValueError, match="increasing"):
        fit_change(WEEKS[::-1], np.zeros(WEEKS.size), RUNS, T0, model="level_slope")
    with pytest.raises(ValueError, match="model"):
        fit_change(WEEKS, np.zeros(WEEKS.size), RUNS, T0, model="step")
    with pytest.raises(ValueError, match="exposure"):
        fit_change(WEEKS, np.zeros(WEEKS.size), RUNS, T0, model="exposure")


def test_design_se_matches_the_ols_formula_for_independent_weeks():
    s2 = 2.25
    se = design_se(
        WEEKS, np.ones(WEEKS.size), T0, sd_week_pct=math.sqrt(s2), rho=0.0, sd_run_pct=None, model="level_slope"
    )
    tc = (WEEKS - T0).astype(float)
    d = (WEEKS >= T0).astype(float)
    X = np.column_stack([np.ones(WEEKS.size), tc, d, tc * d])
    L = np.array([0, 0, 1, 11.0])
    assert se == pytest.approx(math.sqrt(s2 * L @ np.linalg.inv(X.T @ X) @ L), rel=1e-10)


def test_weeks_to_detect_is_the_week_from_which_detection_holds():
    """level + exposure: the SE of the last week's change rises over the first months of the block and falls
    once the exposure saturates, so a change detectable after 2 weeks may not be at 12; the answer is the
    block length from which it stays detected."""
    kw = {
        "baseline_weeks": range(8),
        "baseline_runs": [4] * 8,
        "runs_per_week": 4.0,
        "rho": 0.05,
        "sd_run_pct": 0.85,
        "model": "level_exposure",
        "sd_week_pct": 0.5,
    }
    z = stats.norm.ppf(0.95) + stats.norm.ppf(0.80)

    def detected(B):
        t = np.concatenate([np.arange(8), 8 + np.arange(B)])
        se = design_se(t, np.full(t.size, 4.0), 8, sd_week_pct=0.5, rho=0.05, sd_run_pct=0.85, model="level_exposure")
        return se is not None and 100 * math.log(1.03) >= z * se * 1.05

    b = weeks_to_detect(3.0, inflation=1.05, **kw)
    assert detected(2) and not detected(12)  # not monotone
    assert b is not None and b > 12 and all(detected(B) for B in range(b, 105)) and not detected(b - 1)


def test_weeks_to_detect_threshold_and_monotonicity():
    kw = {
        "baseline_weeks": range(8),
        "baseline_runs": [4] * 8,
        "runs_per_week": 4.0,
        "rho": 0.0,
        "sd_run_pct": 2.0,
        "model": "exposure",
    }
    b = weeks_to_detect(3.0, sd_week_pct=0.5, **kw)
    assert b is not None
    # at the week found the criterion holds, one week earlier it does not
    z = stats.norm.ppf(0.95) + stats.norm.ppf(0.80)
    target = 100 * math.log(1.03)

    def se(B):
        t = np.concatenate([np.arange(8), 8 + np.arange(B)])
        return design_se(t, np.full(t.size, 4.0), 8, sd_week_pct=0.5, rho=0.0, sd_run_pct=2.0, model="exposure")

    assert target >= z * se(b) and (b == 1 or target < z * se(b - 1))
    assert all(target >= z * se(B) for B in range(b, 60, 7))  # and stays detected
    noisier = weeks_to_detect(3.0, sd_week_pct=1.5, **kw)
    assert noisier is None or noisier > b
    assert weeks_to_detect(3.0, sd_week_pct=0.5, inflation=1.5, **kw) >= b


@pytest.mark.slow
def test_interval_covers_under_ar1_weeks_with_the_small_sample_adjustment():
    """200 series of strongly autocorrelated weeks (rho 0.8) plus run noise and no change: the
    Kenward-Roger interval covers 0 in most (the plug-in GLS interval covered ~80 % in development)."""
    rng = np.random.default_rng(2024)
    covered = 0
    n_rep = 200
    for _ in range(n_rep):
        u = np.zeros(WEEKS.max() + 1)
        u[0] = rng.normal(0, 1.5)
        for i in range(1, u.size):
            u[i] = 0.8 * u[i - 1] + rng.normal(0, 1.5 * math.sqrt(1 - 0.64))
        y = u[WEEKS] + rng.normal(0, 2.0, WEEKS.size) / np.sqrt(RUNS)
        f = fit_change(WEEKS, y, RUNS, T0, within_week_var=4.0, model="level_slope")
        covered += f.ci_low_log <= 0.0 <= f.ci_high_log
    assert 0.85 <= covered / n_rep <= 0.98


def test_plugin_variant_is_statsmodels_gls_with_the_same_covariance():
    rng = np.random.default_rng(5)
    y = rng.normal(0, 1.0, WEEKS.size)
    f = fit_change(WEEKS, y, RUNS, T0, se="ar1_gls_plugin", within_week_var=2.0, model="level_slope")
    g = fit_change(WEEKS, y, RUNS, T0, se="ar1_gls", within_week_var=2.0, model="level_slope")
    V = _covariance(WEEKS, RUNS.astype(float), f.sd_week_pct**2, f.rho, 2.0)
    tc = (WEEKS - T0).astype(float)
    d = (WEEKS >= T0).astype(float)
    X = np.column_stack([np.ones(WEEKS.size), tc, d, tc * d])
    tt = sm.GLS(y, X, sigma=V).fit().t_test(np.array([0, 0, 1, 11.0]))
    lo, hi = np.squeeze(tt.conf_int(alpha=0.10))
    assert (f.ci_low_log, f.ci_high_log) == (pytest.approx(lo, rel=1e-10), pytest.approx(hi, rel=1e-10))
    assert g.estimate_log == pytest.approx(f.estimate_log, rel=1e-10)  # same point estimate, other interval


def test_adjustment_variance_is_added_exactly():
    """y adjusted by an externally estimated coefficient gamma (variance c) on a covariate whose weekly means
    are z: the estimate is linear in y, so its variance grows by c e^2, e the estimator applied to z."""
    rng = np.random.default_rng(9)
    y = rng.normal(0, 1.0, WEEKS.size)
    z = rng.uniform(0, 3, WEEKS.size)
    c = 0.04
    f0 = fit_change(WEEKS, y, RUNS, T0, se="ar1_gls_plugin", within_week_var=2.0, model="level_slope")
    f1 = fit_change(
        WEEKS,
        y,
        RUNS,
        T0,
        se="ar1_gls_plugin",
        within_week_var=2.0,
        model="level_slope",
        adjusted_for=[z],
        adjustment_cov=np.array([[c]]),
    )
    V = _covariance(WEEKS, RUNS.astype(float), f0.sd_week_pct**2, f0.rho, 2.0)
    tc = (WEEKS - T0).astype(float)
    d = (WEEKS >= T0).astype(float)
    X = np.column_stack([np.ones(WEEKS.size), tc, d, tc * d])
    Vi = np.linalg.inv(V)
    e = np.array([0, 0, 1, 11.0]) @ np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ z)
    assert f1.estimate_log == pytest.approx(f0.estimate_log)
    assert f1.se_log**2 == pytest.approx(f0.se_log**2 + c * e**2, rel=1e-9)
    with pytest.raises(ValueError, match="adjustment_cov"):
        fit_change(WEEKS, y, RUNS, T0, model="level_slope", adjusted_for=[z, z], adjustment_cov=np.array([[c]]))
