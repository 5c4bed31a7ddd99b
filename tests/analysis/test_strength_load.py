"""analysis.strength_load: session RPE x duration (Foster 2001) on reconciled sessions, closed-form values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analysis.ledger import SourceSession, SourceSet, build_ledger
from analysis.strength_load import (
    DEFAULT_SESSION_RPE,
    combine_daily,
    daily_strength_load,
    session_load,
    session_loads,
)
from analysis.training_load import fitness_fatigue

NS = 10**9


def _t(y, mo, d, h, mi=0) -> int:
    return int(dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC).timestamp()) * NS


def _app(
    key: str,
    start: int,
    minutes: float,
    rpes: list[tuple[str, float | None]],
    *,
    session_rpe=None,
    source: str = "hevy",
):
    ss = SourceSession(source, key, start, start + round(minutes * 60 * NS), session_rpe=session_rpe)
    xs = [
        SourceSet(source, f"{key}/{k}", key, "back_squat", set_role=role, order=k, reps=5, load_kg=100.0, rpe=r)
        for k, (role, r) in enumerate(rpes, start=1)
    ]
    return ss, xs


def _one(ss, xs, **kw):
    (s,) = build_ledger([ss], xs, **kw).sessions
    return s


def test_session_rpe_times_minutes() -> None:
    s = _one(*_app("a", _t(2026, 8, 7, 6), 60, [("working", 8.0)], session_rpe=7.0))
    x = session_load(s)
    assert (x.rpe, x.rpe_source, x.substitute, x.load_au) == (7.0, "session", False, 420.0)
    assert x.duration_s == 3600.0 and x.duration_source == "session" and x.reason is None


def test_highest_working_set_rpe_stands_in_flagged() -> None:
    s = _one(
        *_app(
            "a",
            _t(2026, 8, 7, 6),
            65,
            [("warmup", 9.5), ("working", 8.0), ("working", 9.0), ("failure", 8.5), ("working", None)],
        )
    )
    x = session_load(s)
    assert x.rpe == 9.0 and x.rpe_source == "max_set_rpe" and x.substitute  # the warm-up's 9.5 does not count
    assert x.load_au == pytest.approx(9.0 * 65)
    assert "Zourdos" in x.rpe_note


def test_default_per_session_type_with_its_source() -> None:
    s = _one(*_app("a", _t(2026, 8, 7, 6), 50, [("working", None)]))
    x = session_load(s)
    assert x.rpe_source == "default" and x.substitute and x.rpe == DEFAULT_SESSION_RPE["strength"][0] == 5.0
    assert x.load_au == 250.0 and "Foster" in x.rpe_note
    custom = session_load(s, session_type="mobility", default_rpe={"mobility": (2.0, "light, by our choice")})
    assert custom.load_au == 100.0 and custom.rpe_note == "light, by our choice"
    with pytest.raises(ValueError, match="no default session RPE"):
        session_load(s, session_type="mobility")


def test_implausible_duration_gets_no_load_and_a_reason() -> None:
    s = _one(*_app("a", _t(2026, 8, 7, 6), 35 * 60, [("working", 8.0)]))
    x = session_load(s)
    assert x.load_au is None and "timer left running" in x.reason
    assert session_load(s, max_duration_s=None).load_au == pytest.approx(8.0 * 35 * 60)


def test_sensor_only_session_uses_its_sets_span() -> None:
    t0 = _t(2026, 8, 7, 17)
    xs = [
        SourceSet(
            "sensor",
            f"s{k}",
            f"stream{k}",
            "back_squat",
            started_at_ns=t0 + k * 180 * NS,
            duration_s=30.0,
            reps=5,
            load_kg=100.0,
        )
        for k in range(4)
    ]
    (s,) = build_ledger([], xs).sessions
    x = session_load(s)
    assert x.duration_source == "sets_span" and x.duration_s == 3 * 180 + 30
    assert x.load_au == pytest.approx(5.0 * 570 / 60)


def test_a_session_in_three_sources_loads_once() -> None:
    start = _t(2026, 8, 7, 6)
    hs, hx = _app("h", start, 60, [("working", 8.0), ("working", 9.0)])
    fit_s = SourceSession("fit", "act", start + 60 * NS, start + 3500 * NS)
    fit = [
        SourceSet(
            "fit",
            f"f{k}",
            "act",
            "back_squat",
            started_at_ns=start + (300 + 400 * k) * NS,
            duration_s=30.0,
            reps=5,
            load_kg=100.0,
        )
        for k in range(2)
    ]
    sens = [
        SourceSet(
            "sensor",
            f"s{k}",
            f"st{k}",
            "back_squat",
            started_at_ns=start + (302 + 400 * k) * NS,
            duration_s=20.0,
            reps=5,
            load_kg=100.0,
            mean_velocity_mps=0.5,
        )
        for k in range(2)
    ]
    led = build_ledger([hs, fit_s], [*hx, *fit, *sens])
    loads = session_loads(led.sessions)
    assert len(loads) == 1 and loads[0].sources == ("hevy", "sensor", "fit")
    assert loads[0].load_au == pytest.approx(9.0 * 60)
    days, series = daily_strength_load(loads, "Europe/Oslo")
    assert days == [dt.date(2026, 8, 7)] and series.tolist() == pytest.approx([540.0])
    with pytest.raises(ValueError, match="twice"):
        session_loads([led.sessions[0], led.sessions[0]])
    with pytest.raises(ValueError, match="twice"):
        daily_strength_load([loads[0], loads[0]], "Europe/Oslo")


def test_daily_series_dates_by_local_start_and_fills_rest_days() -> None:
    # 23:30 UTC on 7 Aug is 01:30 on 8 Aug in Oslo (UTC+2)
    a = _one(*_app("a", _t(2026, 8, 7, 23, 30), 60, [("working", None)], session_rpe=6.0))
    b = _one(*_app("b", _t(2026, 8, 8, 16), 30, [("working", None)], session_rpe=4.0))
    c = _one(*_app("c", _t(2026, 8, 10, 16), 45, [("working", None)], session_rpe=8.0))
    loads = session_loads([a, b, c])
    days, s = daily_strength_load(loads, "Europe/Oslo", last_day=dt.date(2026, 8, 11))
    assert days == [dt.date(2026, 8, d) for d in (8, 9, 10, 11)]
    assert s.tolist() == pytest.approx([360.0 + 120.0, 0.0, 360.0, 0.0])
    days_u, s_u = daily_strength_load(loads, "UTC")
    assert days_u[0] == dt.date(2026, 8, 7) and s_u[0] == pytest.approx(360.0)


def test_combine_daily_aligns_two_series_and_feeds_atl_tsb() -> None:
    d = dt.date
    days, run, lift, total = combine_daily(
        [d(2026, 8, 1), d(2026, 8, 2)], np.array([50.0, 0.0]), [d(2026, 8, 2), d(2026, 8, 4)], np.array([300.0, 200.0])
    )
    assert days == [d(2026, 8, k) for k in range(1, 5)]
    assert run.tolist() == [50.0, 0.0, 0.0, 0.0] and lift.tolist() == [0.0, 300.0, 0.0, 200.0]
    assert total.tolist() == [50.0, 300.0, 0.0, 200.0]
    ctl, atl, tsb = fitness_fatigue(total)
    assert tsb[0] == pytest.approx(ctl[0] - atl[0])
    # closed form of the first day: x / tau
    assert atl[0] == pytest.approx(50.0 / 7) and ctl[0] == pytest.approx(50.0 / 42)
    assert combine_daily([], np.zeros(0), [], np.zeros(0))[0] == []


def test_rpe_out_of_range_is_refused() -> None:
    s = _one(*_app("a", _t(2026, 8, 7, 6), 60, [("working", None)], session_rpe=12.0))
    with pytest.raises(ValueError, match=r"\[0, 10\]"):
        session_load(s)
