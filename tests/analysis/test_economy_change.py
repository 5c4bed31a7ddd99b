"""The economy-change pipeline (analysis.economy_change through summarise_athlete) on hand-built athletes."""

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

from analysis.athlete_summary import summarise_athlete
from analysis.economy import RunEconomy
from analysis.economy_change import _within_week_adjust, locate_strength_start, run_rows
from analysis.nof1 import DEFAULT_SWC_PCT

MONDAY = dt.date(2025, 1, 6)
NS = 10**9


def _ns(d: dt.date, hour: float) -> int:
    return int(dt.datetime.combine(d, dt.time(0), tzinfo=dt.UTC).timestamp() * NS + hour * 3600 * NS)


def athlete(
    weeks=20,
    start=8,
    *,
    trend=0.0,
    effect=0.0,
    noise=0.0,
    seed=0,
    decoupled_days=(),
    power=True,
    sensor=None,
    heat_by_day=None,
    shape="step",
):
    """Three runs a week (Tue, Thu, Sat 07:00 UTC), heavy squat sessions on Mondays from week ``start``.
    log proxy = trend x week + effect x shape (from the start) + noise; HR at the reference speed moves the
    other way. ``shape``: "step", or "exposure" (1 - e^(-(w - start + 1)/6), two sessions a week)."""
    rng = np.random.default_rng(seed)
    runs, sets, ctx = [], [], {}
    for w in range(weeks):
        for k, dow in enumerate((1, 3, 5)):
            d = MONDAY + dt.timedelta(weeks=w, days=dow)
            grow = 1.0 if shape == "step" else 1.0 - math.exp(-(w - start + 1) / 6.0)
            x = trend * w + (effect * grow if w >= start else 0.0) + rng.normal(0, noise)
            aid = f"r{w:02d}{k}"
            dec = 8.0 if (w, k) in decoupled_days else 2.0
            runs.append(
                RunEconomy(
                    aid,
                    "ok",
                    None,
                    _ns(d, 7.0),
                    local_date=d.isoformat(),
                    local_hour=7.0,
                    duration_s=3000.0,
                    steady_minutes=35.0,
                    ef_proxy=1.5 * math.exp(x / 100),
                    hr_at_reference_speed_bpm=140 * math.exp(-x / 100),
                    speed_per_w_per_kg=(1.0 * math.exp(x / 100)) if power else None,
                    decoupling_pct=dec,
                    decoupled=dec > 5,
                    mean_temperature_c=15.0,
                    trimp=60.0,
                    mean_steady_gap_mps=3.0,
                    # a flat HR-vs-speed line over 2.8-3.2 m/s: HR at the reference speed 3.0 m/s is the intercept
                    hr_vs_gap_intercept_bpm=140 * math.exp(-x / 100),
                    hr_vs_gap_slope_bpm_per_mps=0.0,
                    hr_vs_gap_min_mps=2.8,
                    hr_vs_gap_max_mps=3.2,
                )
            )
            ctx[aid] = {
                "hr_sensor": sensor(w, k) if sensor else None,
                "air_temperature_c": heat_by_day(w, k) if heat_by_day else None,
            }
        if w >= start:
            d = MONDAY + dt.timedelta(weeks=w)
            for j in range(4):
                sets.append(
                    {
                        "started_at_ns": _ns(d, 17.0) + j * 180 * NS,
                        "exercise": "back_squat",
                        "reps": 5,
                        "load_kg": 85.0,
                        "activity_id": f"s{w}",
                        "set_type": "active",
                    }
                )
    return runs, sets, ctx


def summarise(runs, sets, ctx=None, **kw):
    return summarise_athlete(
        runs, None, sets, {}, "UTC", e5rm_kg={"back_squat": 100.0}, reference_speed_mps=3.0, run_context=ctx, **kw
    )


def test_a_fitness_trend_alone_is_not_read_as_an_improvement():
    """+0.3 %/week of fitness and no strength effect: the naive block-minus-baseline difference is +3 %,
    the trend-adjusted change in the last week is ~0 and its interval holds 0."""
    runs, sets, ctx = athlete(trend=0.3, noise=0.3, seed=1)
    s = summarise(runs, sets, ctx)
    ch = s.changes["speed_per_w_per_kg"]
    naive = 0.3 * (np.mean(np.arange(8, 20)) - np.mean(np.arange(8)))
    assert naive == pytest.approx(3.0)
    assert ch["estimate"] == pytest.approx(0.0, abs=1.0)
    assert ch["ci90_low"] < 0.0 < ch["ci90_high"]
    assert ch["role"] == "primary" and ch["n_baseline_weeks"] == 8 and ch["n_block_weeks"] == 12
    assert "net of the pre-strength trend" in ch["wording"] and "not proof of cause" in ch["wording"]


@pytest.mark.parametrize(
    "model,shape",
    [("level_slope", "step"), ("exposure", "exposure"), ("level_exposure", "step"), ("level_exposure", "exposure")],
)
def test_a_change_of_the_model_s_shape_is_recovered_net_of_the_trend(model, shape):
    runs, sets, ctx = athlete(trend=0.2, effect=4.0, noise=0.3, seed=2, shape=shape)
    s = summarise(runs, sets, ctx, model=model)
    true_log = 4.0 * (1.0 if shape == "step" else 1.0 - math.exp(-12 / 6.0))  # last week: 12 weeks in
    ch = s.changes["speed_per_w_per_kg"]
    assert ch["estimate"] == pytest.approx(100 * (math.exp(true_log / 100) - 1), abs=1.0)
    assert ch["ci90_low"] > 0 and ch["wording"].startswith("consistent with an improvement")
    hr = s.changes["hr_at_reference_speed_bpm"]
    assert hr["estimate"] == pytest.approx(100 * (math.exp(-true_log / 100) - 1), abs=1.0)
    assert not hr["higher_is_better"] and s.economy_change["model_name"] == model


def test_strength_start_is_the_first_heavy_lower_body_week_and_can_be_overridden():
    runs, sets, ctx = athlete(start=9)
    # a heavy bench-press session in week 2 must not start the block
    sets = [
        {
            "started_at_ns": _ns(MONDAY + dt.timedelta(weeks=2), 17),
            "exercise": "bench_press",
            "reps": 5,
            "load_kg": 70.0,
            "activity_id": "bp",
            "set_type": "active",
        },
        *sets,
    ]
    s = summarise_athlete(
        runs, None, sets, {}, "UTC", e5rm_kg={"back_squat": 100.0, "bench_press": 75.0}, run_context=ctx
    )
    st = s.economy_change["strength_start"]
    assert (st["week"], st["source"], st["baseline_first_week"]) == (9, "detected", 0)
    assert s.baseline == {"first_week": "2025-01-06", "last_week": "2025-03-03", "n_weeks": 9}
    s2 = summarise(runs, sets, ctx, settings={"strength_start": "2025-03-19"})
    assert s2.economy_change["strength_start"]["week"] == 10
    assert s2.economy_change["strength_start"]["source"] == "set by the user"


def test_locate_strength_start_rules():
    zi_week0 = MONDAY

    def sess(week, decided=True):
        t = _ns(MONDAY + dt.timedelta(weeks=week), 17)
        return {"started_at_ns": t, "ended_at_ns": t, "decided": decided}

    # an earlier block (weeks 2-3) ended > 8 weeks before the latest (from week 20): baseline after a washout
    st = locate_strength_start([sess(2), sess(3), sess(20), sess(21)], tz="UTC", week0=zi_week0, n_weeks=30)
    assert st.week == 20 and st.baseline_first_week == 3 + 1 + 8 and "earlier strength block" in st.note
    # a long history: at most 16 baseline weeks
    st = locate_strength_start([sess(40)], tz="UTC", week0=zi_week0, n_weeks=50)
    assert (st.week, st.baseline_first_week) == (40, 24)
    # undecided sessions (no e5RM) are used only when no session is decided, with a note
    st = locate_strength_start([sess(5, False), sess(9)], tz="UTC", week0=zi_week0, n_weeks=20)
    assert st.week == 9 and st.source == "detected"
    st = locate_strength_start([sess(5, False)], tz="UTC", week0=zi_week0, n_weeks=20)
    assert st.week == 5 and st.source == "detected without e5RM" and "e5RM" in st.note
    st = locate_strength_start([], tz="UTC", week0=zi_week0, n_weeks=20)
    assert st.week is None and st.source == "none"


def test_short_baseline_gives_no_estimate_and_says_why():
    runs, sets, ctx = athlete(start=5)
    s = summarise(runs, sets, ctx)
    for ch in s.changes.values():
        assert ch["estimate"] is None
        assert "5 pre-strength baseline weeks" in ch["reason"] and "at least 6" in ch["wording"]


def test_decoupled_runs_leave_the_hr_proxies_and_are_listed():
    runs, sets, ctx = athlete(decoupled_days={(2, 1), (12, 0)})
    s = summarise(runs, sets, ctx)
    ex = {e["activity_id"]: e for e in s.economy_change["excluded_from_proxies"]}
    assert set(ex) == {"r021", "r120"}
    assert ex["r021"]["proxies"] == ["hr_at_reference_speed_bpm", "ef_proxy"]
    assert "decoupling 8.0 % > 5 %" in ex["r021"]["reason"]
    wk2 = s.weeks[2]
    assert wk2["ef_proxy_n"] == 2 and wk2["speed_per_w_per_kg_n"] == 3  # power proxy keeps the run
    assert s.changes["ef_proxy"]["n_runs"] == 58 and s.changes["speed_per_w_per_kg"]["n_runs"] == 60
    assert next(r for r in s.runs if r["activity_id"] == "r021")["excluded_from"] == [
        "ef_proxy",
        "hr_at_reference_speed_bpm",
    ]
    assert "decoupling_pct" not in s.changes  # a quality flag, not an outcome


def test_hr_sensor_change_is_detected_and_a_logged_event_is_not_counted_twice():
    def sensor(w, k):
        return "wrist-ohr" if w < 14 else "strap:HRM-Pro:SN1"

    runs, _sets, ctx = athlete(sensor=sensor)
    ok = [r for r in runs if r.status == "ok"]
    rows, _, steps = run_rows(
        ok,
        tz="UTC",
        week0=MONDAY,
        days0=MONDAY,
        ctl=np.zeros(200),
        atl=np.zeros(200),
        heavy_session_times_ns=[],
        run_context=ctx,
    )
    assert [(s["kind"], s["source"], s["date"]) for s in steps] == [("hr_sensor", "detected", "2025-04-15")]
    lab = steps[0]["label"]
    assert [r["z_week"][lab] for r in rows[40:44]] == [0.0, 0.0, 1.0, 1.0]
    logged = [{"kind": "hr_sensor", "at_ns": _ns(dt.date(2025, 4, 14), 0), "note": "new strap"}]
    _, _, steps2 = run_rows(
        ok,
        tz="UTC",
        week0=MONDAY,
        days0=MONDAY,
        ctl=np.zeros(200),
        atl=np.zeros(200),
        heavy_session_times_ns=[],
        run_context=ctx,
        events=logged,
    )
    assert [(s["kind"], s["source"]) for s in steps2] == [("hr_sensor", "logged")]


def test_a_sensor_step_is_adjusted_for():
    """A chest strap reading 3 % lower HR from week 14 on (no strength effect): without the step the
    HR-based proxies would read an improvement; with it the change is ~0."""

    def sensor(w, k):
        return "wrist-ohr" if w < 14 else "strap:HRM-Pro:SN1"

    runs, sets, ctx = athlete(sensor=sensor, noise=0.2, seed=4)
    runs = [
        r
        if r.started_at_ns < _ns(MONDAY + dt.timedelta(weeks=14), 0)
        else dataclasses.replace(r, hr_vs_gap_intercept_bpm=r.hr_vs_gap_intercept_bpm * 0.97)
        for r in runs
    ]
    s = summarise(runs, sets, ctx)
    hr = s.changes["hr_at_reference_speed_bpm"]
    assert any("HR sensor change" in c for c in hr["covariates"])
    assert hr["ci90_low"] < 0.0 < hr["ci90_high"] and abs(hr["estimate"]) < 1.0


def test_within_week_adjustment_recovers_a_run_level_coefficient_exactly():
    """Noiseless: y = week level + 0.8 x heat. The within-week regression returns 0.8 whatever the week levels."""
    rng = np.random.default_rng(0)
    rows = []
    for w in range(10):
        level = rng.normal(0, 5)
        for _ in range(3):
            h = rng.uniform(0, 6)
            rows.append({"week": w, "y": {"p": level + 0.8 * h}, "z_run": {"heat": h, "flat": 1.0}})
    adj = _within_week_adjust(rows, "p")
    assert adj["coef"]["heat"] == pytest.approx(0.8, abs=1e-9) and adj["kept"] == ["heat"]
    assert adj["dropped"] == {"flat": "no variation between the runs of a week"}
    assert adj["s2_run"] == pytest.approx(0.0, abs=1e-12)
    ya = adj["y_adj"]
    assert np.allclose(ya[:3], ya[0])  # the adjusted values of one week are its level


def test_weeks_of_single_runs_leave_nothing_to_adjust_within():
    rows = [{"week": w, "y": {"p": float(w)}, "z_run": {"heat": float(w % 3)}} for w in range(8)]
    adj = _within_week_adjust(rows, "p")
    assert adj["kept"] == [] and adj["coef"] == {} and adj["s2_run"] is None
    assert np.allclose(adj["y_adj"], np.arange(8.0))


def test_an_imprecise_run_level_effect_does_not_adjust_the_series():
    """A covariate that barely varies inside weeks but a lot between them (a few warm runs in hot weeks):
    its within-week coefficient is noise, and applied to the weekly means it would swamp the series."""
    rng = np.random.default_rng(1)
    rows = []
    for w in range(16):
        level = rng.normal(0, 1)
        hot = 8.0 if w < 8 else 0.0
        for k in range(4):
            h = hot + (0.05 if k == 0 else 0.0)
            rows.append({"week": w, "y": {"p": level + rng.normal(0, 1.0)}, "z_run": {"heat": h}})
    adj = _within_week_adjust(rows, "p")
    assert adj["kept"] == [] and "not distinguishable from 0" in adj["dropped"]["heat"]
    assert np.allclose(adj["y_adj"], [r["y"]["p"] for r in rows])


def test_primary_proxy_is_frozen_by_the_baseline_and_can_be_set():
    runs, sets, ctx = athlete(weeks=20, power=True)
    full = summarise(runs, sets, ctx).economy_change["primary"]
    short = summarise(
        [r for r in runs if r.started_at_ns < _ns(MONDAY + dt.timedelta(weeks=12), 0)],
        [x for x in sets if x["started_at_ns"] < _ns(MONDAY + dt.timedelta(weeks=12), 0)],
        ctx,
    ).economy_change["primary"]
    assert full == short and full["proxy"] == "speed_per_w_per_kg" and full["decided_on"] == "2025-03-03"
    nopower, sets2, ctx2 = athlete(power=False)
    p = summarise(nopower, sets2, ctx2).economy_change["primary"]
    assert p["proxy"] == "hr_at_reference_speed_bpm" and p["source"] == "rule"
    s = summarise(runs, sets, ctx, settings={"primary_proxy": "ef_proxy"})
    assert s.economy_change["primary"]["source"] == "set by the user" and s.changes["ef_proxy"]["role"] == "primary"
    assert s.changes["speed_per_w_per_kg"]["role"] == "secondary"
    assert "at least one shows a 'change' by chance" in s.economy_change["multiplicity"]
    with pytest.raises(ValueError, match="primary proxy"):
        summarise(runs, sets, ctx, settings={"primary_proxy": "decoupling_pct"})


def test_swc_comes_from_the_settings_or_the_default_with_its_source():
    runs, sets, ctx = athlete()
    s = summarise(runs, sets, ctx)
    assert s.economy_change["swc_pct"] == DEFAULT_SWC_PCT and "Saunders" in s.economy_change["swc_source"]
    assert s.typical_error["ef_proxy"]["swc"] == DEFAULT_SWC_PCT
    s3 = summarise(runs, sets, ctx, settings={"swc_pct": 3.0, "swc_source": "coach: 3 % from lab retests"})
    assert (s3.economy_change["swc_pct"], s3.economy_change["swc_source"]) == (3.0, "coach: 3 % from lab retests")
    with pytest.raises(ValueError, match="swc_pct"):
        summarise(runs, sets, ctx, settings={"swc_pct": -1.0})


def test_report_fields_sensitivity_and_disclosures():
    runs, sets, ctx = athlete(noise=0.5, seed=5)
    s = summarise(runs, sets, ctx)
    ec = s.economy_change
    assert ec["method_version"] and ec["se_method"] == "ar1_gls" and ec["model_name"] == "level_exposure"
    assert ec["sensitivity"]["text"].startswith("With this athlete's typical error")
    assert "3 % change" in ec["sensitivity"]["text"]
    risks = {d["risk"]: d for d in ec["disclosures"]}
    assert risks["unlogged shoe change"]["applies"] and "event add --kind shoe" in risks["unlogged shoe change"]["text"]
    assert "overreaching" in risks
    logged = summarise(runs, sets, ctx, events=[{"kind": "shoe", "date": "2025-02-04", "note": "new shoes"}])
    risks = {d["risk"]: d for d in logged.economy_change["disclosures"]}
    assert not risks["unlogged shoe change"]["applies"] and "shoe change at the strength start" not in risks
    assert any("shoe change of 2025-02-04" in c for c in logged.changes["ef_proxy"]["covariates"])
    # new shoes in the week strength training starts: collinear with the level change, named as a risk
    at_start = summarise(runs, sets, ctx, events=[{"kind": "shoe", "date": "2025-03-03", "note": "new shoes"}])
    risks = {d["risk"]: d for d in at_start.economy_change["disclosures"]}
    assert risks["shoe change at the strength start"]["applies"]
    assert "cannot separate" in risks["shoe change at the strength start"]["text"]
    dropped = at_start.changes["speed_per_w_per_kg"]["covariates_dropped"]
    assert dropped["after the shoe change of 2025-03-03 (logged)"].startswith("collinear")
