"""The strength ledger in the athlete summary: its own session-RPE load series beside running TRIMP, the
documented combined ATL/TSB option, an economy model untouched by it, and the report's ledger part
(sessions once, each set's sources, data quality)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from analysis.athlete_summary import summarise_athlete
from analysis.ledger import SourceSession, SourceSet, build_ledger
from analysis.strength_load import session_loads
from analysis.strength_report import ledger_report
from sim.athlete import simulate_athlete

NS = 10**9
T0 = int(dt.datetime(2026, 8, 7, 6, 0, tzinfo=dt.UTC).timestamp()) * NS  # 08:00 in Oslo


@pytest.fixture(scope="module")
def athlete():
    a = simulate_athlete(seed=5, weeks=20, effect=0.04, strength_start_week=8)
    return a, a.fast_economy()


def _loads_from(a) -> list[dict]:
    """One made-up session load per simulated strength session (RPE 6 x 45 min = 270 AU)."""
    starts: dict[str, int] = {}
    for s in a.strength_sets:
        starts.setdefault(s.session_key, s.started_at_ns)
    return [
        {"training_session_id": k, "started_at_ns": t, "load_au": 270.0, "rpe": 6.0, "rpe_source": "session"}
        for k, t in starts.items()
    ]


@pytest.mark.slow
def test_strength_load_is_its_own_series_and_the_economy_model_never_sees_it(athlete) -> None:
    a, runs = athlete
    loads = _loads_from(a)
    tz = a.profile["tz"]
    plain = summarise_athlete(runs, None, a.strength_sets, a.profile, tz, e5rm_kg=a.e5rm_kg).to_dict()
    with_sl = summarise_athlete(
        runs, None, a.strength_sets, a.profile, tz, e5rm_kg=a.e5rm_kg, strength_loads=loads
    ).to_dict()
    # the treatment never leaks into the economy model: its estimates are identical to the last digit
    for k in ("changes", "economy_change", "typical_error", "baseline", "latest_block"):
        assert with_sl[k] == plain[k], k
    assert [w["ctl"] for w in with_sl["weeks"]] == [w["ctl"] for w in plain["weeks"]]  # running TRIMP only
    assert [d["trimp"] for d in with_sl["daily"]] == [d["trimp"] for d in plain["daily"]]
    # the strength series: each session's load on its local day, nothing else
    daily = with_sl["daily"]
    from analysis.training_load import local_date

    want: dict[str, float] = {}
    for x in loads:
        d = local_date(x["started_at_ns"], tz).isoformat()
        want[d] = want.get(d, 0.0) + 270.0
    assert [d["strength_load_au"] for d in daily] == [want.get(d["date"], 0.0) for d in daily]
    assert sum(w["strength_load_au"] for w in with_sl["weeks"]) == pytest.approx(270.0 * len(loads))
    # the combined option: the 42/7-day EWMA recurrence on TRIMP + strength, seeded with the first 42 days' mean
    x = np.array([d["trimp"] + d["strength_load_au"] for d in daily])
    seed = x[:42].mean()
    ctl, atl = seed, seed
    for d, v in zip(daily, x, strict=True):
        ctl += (v - ctl) / 42.0
        atl += (v - atl) / 7.0
        assert d["combined_ctl"] == pytest.approx(ctl, rel=1e-12) and d["combined_atl"] == pytest.approx(atl, rel=1e-12)
        assert d["combined_tsb"] == pytest.approx(ctl - atl, rel=1e-9, abs=1e-9)
    sl = with_sl["strength_load"]
    assert sl["n_sessions"] == len(loads) and sl["total_au"] == pytest.approx(270.0 * len(loads))
    assert "Foster" in sl["method"] and "not an equivalence" in sl["combined_option"]
    assert plain["strength_load"] == {} and "strength_load_au" not in plain["daily"][0]


def test_a_training_session_given_twice_is_refused(athlete) -> None:
    a, runs = athlete
    loads = _loads_from(a)
    with pytest.raises(ValueError, match="counted twice"):
        summarise_athlete(runs, None, a.strength_sets, a.profile, a.profile["tz"], strength_loads=[*loads, loads[0]])


def _ledger(*, extra_plank: bool = True):
    """One session logged by the watch, Hevy and the bar sensor; one Hevy-only session with an unmapped name."""
    sessions = [
        SourceSession("hevy", "hevy:a", T0, T0 + 3600 * NS, title="Lower"),
        SourceSession("fit", "act1", T0 + 60 * NS, T0 + 3500 * NS, avg_heart_rate_bpm=120.0),
        SourceSession("sensor", "s1", T0 + 400 * NS, T0 + 440 * NS),
        SourceSession("hevy", "hevy:b", T0 + 2 * 86400 * NS, T0 + 2 * 86400 * NS + 1800 * NS, title="Core"),
    ]
    sets = [
        SourceSet(
            "hevy", "hevy:a/1", "hevy:a", "back_squat", "Squat (Barbell)", "warmup", order=1, reps=8, load_kg=40.0
        ),
        SourceSet(
            "hevy",
            "hevy:a/2",
            "hevy:a",
            "back_squat",
            "Squat (Barbell)",
            "working",
            order=2,
            reps=5,
            load_kg=100.0,
            rpe=8.0,
        ),
        SourceSet(
            "hevy",
            "hevy:a/3",
            "hevy:a",
            "back_squat",
            "Squat (Barbell)",
            "working",
            order=3,
            reps=5,
            load_kg=100.0,
            rpe=9.0,
        ),
        SourceSet(
            "fit",
            "act1:1",
            "act1",
            "back_squat",
            "back_squat",
            started_at_ns=T0 + 405 * NS,
            duration_s=30,
            reps=5,
            load_kg=100.0,
        ),
        SourceSet(
            "fit",
            "act1:2",
            "act1",
            "deadlift",
            "deadlift",
            started_at_ns=T0 + 700 * NS,
            duration_s=30,
            reps=5,
            load_kg=100.0,
        ),
        SourceSet(
            "sensor",
            "s1:1",
            "s1",
            "back_squat",
            "back_squat",
            started_at_ns=T0 + 410 * NS,
            duration_s=20,
            reps=5,
            load_kg=100.0,
            mean_velocity_mps=0.55,
        ),
    ]
    if extra_plank:
        sets.append(SourceSet("hevy", "hevy:b/1", "hevy:b", None, "Plank", "working", order=1, duration_s=60))
    return build_ledger(sessions, sets, tz="Europe/Oslo")


def test_the_report_part_lists_each_session_once_with_its_sources_and_the_data_quality() -> None:
    ledger = _ledger()
    loads = session_loads(ledger.sessions)
    doc = ledger_report(ledger, loads, tz="Europe/Oslo", deleted_in_app={("hevy", "hevy:b")})
    # the watch's second set (it guessed "deadlift") is the app's second working squat: reps and load agree,
    # and only the watch named it (docs/strength-ledger.md, step 4), so the session has 3 sets, not 4
    assert doc["counts"] == {
        "sessions": 2,
        "sets": 4,
        "working_sets": 3,
        "merged_sessions": 1,
        "sessions_by_source": {"hevy": 2, "fit": 1, "sensor": 1},
    }
    first, second = doc["sessions"]
    assert first["sources"] == ["hevy", "sensor", "fit"] and first["merged"]
    assert (first["sets"], first["working_sets"], first["warmup_sets"]) == (3, 2, 1)
    # one load per training session: the highest working-set RPE (9) x the session's span (60 min)
    assert first["load_au"] == pytest.approx(9.0 * 60.0) and first["rpe_source"] == "max_set_rpe"
    assert first["substitute"] is True
    assert second["load_au"] == pytest.approx(5.0 * 30.0) and second["rpe_source"] == "default"
    assert second["deleted_in_app"] == ["hevy:hevy:b"] and first["deleted_in_app"] == []
    dq = doc["data_quality"]
    assert dq["unmapped_exercises"] == [{"name": "Plank", "sets": 1, "sources": ["hevy"]}]
    assert [m["training_session_id"] for m in dq["merged_sessions"]] == [first["training_session_id"]]
    assert dq["merged_sessions"][0]["sources"] == ["hevy", "sensor", "fit"]
    assert [d["training_session_id"] for d in dq["deleted_in_app"]] == [second["training_session_id"]]
    assert dq["exercise_conflicts"] == 1
    # the latest sessions, newest first, each set with its primary source and every source that reported it
    newest = doc["latest_sessions"][0]
    assert newest["training_session_id"] == second["training_session_id"]
    rows = doc["latest_sessions"][1]["set_rows"]
    assert [(r["exercise"], r["set_role"], r["source"], r["sources"]) for r in rows] == [
        ("back_squat", "warmup", "hevy", ["hevy"]),
        ("back_squat", "working", "hevy", ["hevy", "sensor", "fit"]),
        ("back_squat", "working", "hevy", ["hevy", "fit"]),
    ]
    assert rows[1]["mean_velocity_mps"] == 0.55 and rows[1]["started_at"] is not None and rows[0]["started_at"] is None
    assert not rows[0]["counts_toward_prescription"]


def test_report_part_since_and_latest() -> None:
    ledger = _ledger()
    loads = session_loads(ledger.sessions)
    later = ledger_report(ledger, loads, tz="UTC", since_ns=T0 + 86400 * NS, latest=1)
    assert [s["title"] for s in later["sessions"]] == ["Core"] and len(later["latest_sessions"]) == 1
    assert later["data_quality"]["merged_sessions"] == []
    # a set whose name is outside the vocabulary (a watch's own name) is unmapped too
    odd = build_ledger(
        [SourceSession("fit", "x", T0, T0 + 600 * NS)],
        [SourceSet("fit", "x:1", "x", "pull_up", "pull_up", started_at_ns=T0, reps=5)],
    )
    dq = ledger_report(odd, session_loads(odd.sessions), tz="UTC")["data_quality"]
    assert dq["unmapped_exercises"] == [{"name": "pull_up", "sets": 1, "sources": ["fit"]}]


def test_warm_ups_never_reach_the_prescription_rollup() -> None:
    ledger = _ledger(extra_plank=False)
    from analysis.training_load import weekly_strength

    [w] = weekly_strength(ledger.strength_sets(), "Europe/Oslo", e5rm_kg={"back_squat": 110.0, "deadlift": 120.0})
    assert (w.sessions, w.sets, w.zone_sets) == (1, 2, 2)  # 3 ledger sets, the warm-up left out
    both = weekly_strength(ledger.strength_sets(include_warmups=True), "Europe/Oslo")
    assert both[0].sets == 3
    # a ledger whose sessions were filtered (report --since) keeps the same sets per session
    cut = dataclasses.replace(ledger, sessions=ledger.sessions[:1])
    assert len(cut.strength_sets()) == 2
