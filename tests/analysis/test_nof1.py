"""n-of-1 statistics: typical error, step change, lagged regression, wording, against independent answers."""

import datetime as dt
import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.economy import RunEconomy
from analysis.nof1 import (
    LITERATURE_CONTEXT,
    describe_change,
    lagged_regression,
    step_change,
    strength_blocks,
    typical_error,
    weekly_series,
)


def test_typical_error_by_hand():
    x = np.array([10.0, 12.0, 10.0, 12.0, 10.0])
    te = typical_error(x, log_scale=False)
    # differences +2, -2, +2, -2: SD = sqrt(16/3)
    assert te.typical_error == pytest.approx(math.sqrt(16 / 3) / math.sqrt(2))
    assert te.between_week_sd == pytest.approx(statistics.stdev(x.tolist()))
    assert te.swc == pytest.approx(0.2 * statistics.stdev(x.tolist()))
    assert (te.n_weeks, te.n_pairs) == (5, 4)


def test_typical_error_log_scale_and_gaps():
    x = np.array([1.0, 1.1, np.nan, 1.0, 1.05])
    te = typical_error(x)
    d = [100 * math.log(1.1), 100 * math.log(1.05)]  # the gap breaks the pairs around it
    assert te.n_pairs == 2
    assert te.typical_error == pytest.approx(statistics.stdev(d) / math.sqrt(2))
    assert typical_error(np.array([1.0, 2.0])).typical_error is None


def test_step_change_matches_pooled_t_interval():
    rng = np.random.default_rng(4)
    y = np.exp(rng.normal(0, 0.02, 20)) * 1.3
    y[8:] *= 1.05
    base = np.arange(20) < 8
    blk = ~base
    ce = step_change(y, base, blk, n_runs=np.full(20, 3))
    ly = 100 * np.log(y)
    ref = stats.ttest_ind(ly[blk], ly[base], equal_var=True).confidence_interval(0.90)
    diff = ly[blk].mean() - ly[base].mean()
    assert ce.estimate == pytest.approx(100 * (math.exp(diff / 100) - 1))
    assert ce.ci90_low == pytest.approx(100 * (math.exp(ref.low / 100) - 1))
    assert ce.ci90_high == pytest.approx(100 * (math.exp(ref.high / 100) - 1))
    assert (ce.n_runs, ce.n_weeks, ce.n_baseline_weeks, ce.n_block_weeks, ce.df) == (60, 20, 8, 12, 18)
    assert "consistent with an improvement" in ce.wording and "n = 60 runs over 20 weeks" in ce.wording


def test_step_change_covariate_removes_confounding_exactly():
    # y depends on a covariate that is higher in the block; with no true step the adjusted estimate is 0
    z = np.array([0, 1, 0, 2, 1, 0, 5, 6, 4, 7, 5, 6], float)
    y = np.exp(-0.01 * z)
    base = np.arange(12) < 6
    adj = step_change(y, base, ~base, covariates={"heat": z})
    raw = step_change(y, base, ~base)
    assert adj.estimate == pytest.approx(0.0, abs=1e-9)
    assert raw.estimate < -3.0
    assert adj.covariates == ["heat"]


def test_step_change_not_estimable_and_validation():
    y = np.array([1.0, 1.1, np.nan, 1.2, 1.3])
    ce = step_change(y, np.array([1, 1, 1, 0, 0], bool), np.array([0, 0, 0, 1, 1], bool))
    assert ce.estimate is None and "not estimable" in ce.wording and ce.n_baseline_weeks == 2
    with pytest.raises(ValueError, match="overlap"):
        step_change(y, np.ones(5, bool), np.ones(5, bool))


def test_wording_rules_and_no_causal_language():
    kw = {"label": "EF proxy", "n_runs": 40, "n_weeks": 12}
    assert describe_change(3, 1, 5, higher_is_better=True, **kw).startswith("consistent with an improvement")
    assert describe_change(3, 1, 5, higher_is_better=True, swc=0.5, **kw).startswith(
        "consistent with an improvement larger than the smallest worthwhile change"
    )
    assert describe_change(-3, -5, -1, higher_is_better=False, **kw).startswith("consistent with an improvement")
    assert describe_change(-3, -5, -1, higher_is_better=True, **kw).startswith("consistent with a decline")
    assert describe_change(1, -1, 3, higher_is_better=True, **kw).startswith("not distinguishable from no change")
    assert describe_change(0.1, -0.2, 0.3, higher_is_better=True, swc=0.5, **kw).startswith(
        "consistent with no worthwhile change"
    )
    for args in [(3, 1, 5), (-3, -5, -1), (1, -1, 3)]:
        text = describe_change(*args, higher_is_better=True, **kw)
        assert "caused" not in text and "causes" not in text and "n = 40 runs over 12 weeks" in text
    assert "not estimable" in describe_change(None, None, None, higher_is_better=True)


def test_lagged_regression_recovers_lag_and_is_deterministic():
    rng = np.random.default_rng(0)
    n = 60
    x = rng.integers(0, 3, n).astype(float)
    ctl = rng.normal(40, 5, n)
    y = 100 + 2.0 * np.concatenate(([0.0], x[:-1])) + 0.1 * ctl + rng.normal(0, 0.3, n)
    y[[5, 17]] = np.nan  # weeks without runs
    r = lagged_regression(y, x, lags=(0, 1), covariates={"ctl": ctl}, log_scale=False, n_boot=500, seed=3)
    assert r.n == n - 1 - 2
    assert r.coef[1] == pytest.approx(2.0, abs=0.2) and r.ci90[1][0] < 2.0 < r.ci90[1][1]
    assert r.ci90[0][0] < 0.0 < r.ci90[0][1]
    assert r.covariate_coef["ctl"] == pytest.approx(0.1, abs=0.05)
    assert r.block_length == math.ceil(r.n ** (1 / 3)) and r.n_boot_used == 500
    r2 = lagged_regression(y, x, lags=(0, 1), covariates={"ctl": ctl}, log_scale=False, n_boot=500, seed=3)
    assert r2.ci90 == r.ci90
    # point estimates equal an independent OLS fit
    use = np.isfinite(y)
    use[0] = False
    X = np.column_stack([np.ones(n), x, np.concatenate(([np.nan], x[:-1])), ctl - ctl[use].mean()])[use]
    beta = np.linalg.lstsq(X, y[use], rcond=None)[0]
    assert r.coef == pytest.approx(beta[1:3].tolist())


def test_lagged_regression_too_few_weeks():
    r = lagged_regression(np.ones(6), np.arange(6.0), lags=(0, 1))
    assert r.coef == [None, None] and "not estimable" in r.wording


def test_strength_blocks():
    s = np.array([0, 0, 1, 2, 0, 0, 1, 0, 0, 0, 2, 1])
    assert strength_blocks(s, max_gap_weeks=2) == [(2, 6), (10, 11)]
    assert strength_blocks(s) == [(2, 11)]  # default: gaps up to 4 weeks stay in the block
    assert strength_blocks(np.zeros(5)) == []


def test_weekly_series_local_weeks():
    def run(aid, date, ef, status="ok"):
        return RunEconomy(aid, status, None if status == "ok" else "x", 0, local_date=date, ef_proxy=ef,
                          mean_temperature_c=25.0, local_hour=7.0, trimp=50.0)

    runs = [run("a", "2025-03-03", 1.2), run("b", "2025-03-09", 1.4), run("c", "2025-03-10", None, "insufficient"),
            run("d", "2025-03-24", 1.3)]
    ws = weekly_series(runs, "UTC")
    assert ws.week_start == ["2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24"]
    assert ws.n_runs.tolist() == [2, 0, 0, 1] and ws.n_excluded.tolist() == [0, 1, 0, 0]
    assert ws.values["ef_proxy"][0] == pytest.approx(1.3) and np.isnan(ws.values["ef_proxy"][1])
    assert ws.mean_heat_excess_c[0] == pytest.approx(5.0)
    assert ws.trimp.tolist()[:2] == [100.0, 50.0] and np.isnan(ws.trimp[2])
    rows = ws.to_rows()
    assert rows[1]["ef_proxy"] is None and rows[0]["ef_proxy_n"] == 2


def test_literature_is_data_with_sources():
    assert any(d.get("improvement_pct") == 4.6 for d in LITERATURE_CONTEXT)
    den = next(d for d in LITERATURE_CONTEXT if "Denadai" in d["source"])
    assert den["oxygen_cost_change_pct"] == {"heavy_strength": -3.65, "explosive": -4.83}
    assert any(d.get("standardised_mean_difference") == -1.42 for d in LITERATURE_CONTEXT)
    assert all("oxygen cost" in d["measure"] for d in LITERATURE_CONTEXT)


def test_weekly_series_rejects_runs_without_time():
    with pytest.raises(ValueError, match="local_date"):
        weekly_series([RunEconomy("z", "ok", None, None)], "UTC")
    assert len(weekly_series([], "UTC", first_week=dt.date(2025, 1, 1), last_week=dt.date(2025, 1, 20))) == 4  # Wed 1 Jan is in the week of Mon 30 Dec


def test_lagged_regression_drops_constant_covariate():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, 30).astype(float)
    y = 100 + 1.5 * x + rng.normal(0, 0.5, 30)
    r = lagged_regression(y, x, lags=(0,), covariates={"heat": np.zeros(30)}, log_scale=False, n_boot=200)
    assert r.covariates == [] and r.covariates_dropped == ["heat"]
    assert r.coef[0] == pytest.approx(1.5, abs=0.3)



@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 100.0))
def test_step_change_is_scale_invariant_on_the_log_scale(seed, scale):
    rng = np.random.default_rng(seed)
    y = np.exp(rng.normal(0, 0.03, 16))
    base = np.arange(16) < 6
    a = step_change(y, base, ~base)
    b = step_change(y * scale, base, ~base)
    assert b.estimate == pytest.approx(a.estimate, abs=1e-9)
    assert b.ci90_low == pytest.approx(a.ci90_low, abs=1e-9) and b.ci90_high == pytest.approx(a.ci90_high, abs=1e-9)
