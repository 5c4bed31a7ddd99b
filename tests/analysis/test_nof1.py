"""n-of-1 building blocks: typical error, primary-proxy rule, heat covariate, wording, weekly series."""

import datetime as dt
import math
import statistics

import numpy as np
import pytest

from analysis.economy import RunEconomy
from analysis.nof1 import (
    AIR_HEAT_THRESHOLD_C,
    DEFAULT_SWC_PCT,
    DEFAULT_SWC_SOURCE,
    DEVICE_HEAT_THRESHOLD_C,
    LITERATURE_CONTEXT,
    PROXIES,
    choose_primary_proxy,
    describe_change,
    heat_excess_c,
    strength_blocks,
    typical_error,
    weekly_series,
)


def test_typical_error_by_hand():
    x = np.exp(np.array([10.0, 12.0, 10.0, 12.0, 10.0]) / 100.0)  # 100 ln x = 10, 12, 10, 12, 10
    te = typical_error(x)
    # differences +2, -2, +2, -2: SD = sqrt(16/3)
    assert te.typical_error == pytest.approx(math.sqrt(16 / 3) / math.sqrt(2))
    assert te.between_week_sd == pytest.approx(statistics.stdev([10.0, 12.0, 10.0, 12.0, 10.0]))
    assert (te.n_weeks, te.n_pairs, te.units) == (5, 4, "%")
    assert not hasattr(te, "swc")  # the SWC is an outside criterion, never the athlete's own noise


def test_typical_error_log_scale_and_gaps():
    x = np.array([1.0, 1.1, np.nan, 1.0, 1.05])
    te = typical_error(x)
    d = [100 * math.log(1.1), 100 * math.log(1.05)]  # the gap breaks the pairs around it
    assert te.n_pairs == 2
    assert te.typical_error == pytest.approx(statistics.stdev(d) / math.sqrt(2))
    assert typical_error(np.array([1.0, 2.0])).typical_error is None
    with pytest.raises(ValueError, match="positive"):
        typical_error(np.array([1.0, -1.0, 2.0]))


def test_swc_default_is_an_outside_criterion_with_its_source():
    assert DEFAULT_SWC_PCT == 2.0
    assert "Saunders" in DEFAULT_SWC_SOURCE and "1.5-5 %" in DEFAULT_SWC_SOURCE


def test_heat_excess_prefers_air_and_uses_a_higher_device_threshold():
    assert heat_excess_c(30.0, 40.0) == (pytest.approx(30.0 - AIR_HEAT_THRESHOLD_C), "air")
    assert heat_excess_c(None, 30.0) == (pytest.approx(30.0 - DEVICE_HEAT_THRESHOLD_C), "device")
    assert heat_excess_c(float("nan"), 20.0) == (0.0, "device")
    assert heat_excess_c(None, None) == (0.0, None)
    assert DEVICE_HEAT_THRESHOLD_C > AIR_HEAT_THRESHOLD_C


def test_primary_proxy_rule():
    six = {"speed_per_w_per_kg": 6, "hr_at_reference_speed_bpm": 6, "ef_proxy": 8}
    power = {"speed_per_w_per_kg": [1.0] * 19 + [None], "ef_proxy": [1.0] * 20}
    assert choose_primary_proxy(20, power, six)[0] == "speed_per_w_per_kg"  # 95 % of runs have power
    patchy = {"speed_per_w_per_kg": [1.0] * 17 + [None] * 3, "ef_proxy": [1.0] * 20}
    p, why = choose_primary_proxy(20, patchy, six)
    assert p == "hr_at_reference_speed_bpm" and "17 of 20" in why  # 85 % < 90 %
    few = dict(six, hr_at_reference_speed_bpm=5)
    assert choose_primary_proxy(20, patchy, few)[0] == "ef_proxy"
    assert choose_primary_proxy(20, power, dict(six, speed_per_w_per_kg=5))[0] == "hr_at_reference_speed_bpm"
    assert set(PROXIES) == {"speed_per_w_per_kg", "hr_at_reference_speed_bpm", "ef_proxy"}  # decoupling is a flag


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


def test_strength_blocks():
    s = np.array([0, 0, 1, 2, 0, 0, 1, 0, 0, 0, 2, 1])
    assert strength_blocks(s, max_gap_weeks=2) == [(2, 6), (10, 11)]
    assert strength_blocks(s) == [(2, 11)]  # default: gaps up to 4 weeks stay in the block
    assert strength_blocks(np.zeros(5)) == []


def test_weekly_series_local_weeks():
    def run(aid, date, ef, status="ok"):
        return RunEconomy(
            aid,
            status,
            None if status == "ok" else "x",
            0,
            local_date=date,
            ef_proxy=ef,
            mean_temperature_c=25.0,
            local_hour=7.0,
            trimp=50.0,
        )

    runs = [
        run("a", "2025-03-03", 1.2),
        run("b", "2025-03-09", 1.4),
        run("c", "2025-03-10", None, "insufficient"),
        run("d", "2025-03-24", 1.3),
    ]
    ws = weekly_series(runs, "UTC")
    assert ws.week_start == ["2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24"]
    assert ws.n_runs.tolist() == [2, 0, 0, 1] and ws.n_excluded.tolist() == [0, 1, 0, 0]
    assert ws.values["ef_proxy"][0] == pytest.approx(1.3) and np.isnan(ws.values["ef_proxy"][1])
    assert ws.trimp.tolist()[:2] == [100.0, 50.0] and np.isnan(ws.trimp[2])
    rows = ws.to_rows()
    assert rows[1]["ef_proxy"] is None and rows[0]["ef_proxy_n"] == 2


def test_literature_is_data_with_sources():
    assert any(d.get("improvement_pct") == 4.6 for d in LITERATURE_CONTEXT)
    review = next(d for d in LITERATURE_CONTEXT if d.get("improvement_pct_range"))
    assert (
        review["improvement_pct_range"] == [2.0, 8.0]
        and "Blagrove" in review["source"]
        and "48(5):1117" in review["source"]
    )
    den = next(d for d in LITERATURE_CONTEXT if "Denadai" in d["source"])
    assert den["oxygen_cost_change_pct"] == {"heavy_strength": -3.65, "explosive": -4.83}
    assert any(d.get("standardised_mean_difference") == -1.42 for d in LITERATURE_CONTEXT)
    assert all("oxygen cost" in d["measure"] for d in LITERATURE_CONTEXT)


def test_weekly_series_rejects_runs_without_time():
    with pytest.raises(ValueError, match="local_date"):
        weekly_series([RunEconomy("z", "ok", None, None)], "UTC")
    assert (
        len(weekly_series([], "UTC", first_week=dt.date(2025, 1, 1), last_week=dt.date(2025, 1, 20))) == 4
    )  # Wed 1 Jan is in the week of Mon 30 Dec
