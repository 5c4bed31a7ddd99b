"""BarbellAnalysis.to_contract(): every field of docs/cli.md `replay`, times on the input clock."""

import json

import pytest

from analysis.barbell import analyse_session
from sim.barbell import simulate_session

REP_FIELDS = {
    "index",
    "set_index",
    "start_ns",
    "end_ns",
    "concentric_start_ns",
    "concentric_end_ns",
    "mean_velocity_mps",
    "mean_propulsive_velocity_mps",
    "peak_velocity_mps",
    "time_to_peak_velocity_s",
    "rom_m",
    "mean_power_w",
    "peak_force_n",
    "peak_rfd_n_per_s",
    "rfd_0_100ms_n_per_s",
    "velocity_loss_pct",
    "velocity_loss_mpv_pct",
}
T0_NS = 1_764_000_000_123_456_789


@pytest.fixture(scope="module")
def session():
    return simulate_session("back_squat", 100.0, 4, sets=2, rest_between_sets_s=35.0, rate_hz=100.0, seed=11)


def test_contract_fields_and_clock(session):
    res = analyse_session(session.to_imu_samples(t0_ns=T0_NS), "back_squat", 100.0)
    doc = res.to_contract()
    json.dumps(doc)  # JSON-serialisable
    assert set(doc) == {"reps", "set", "sets"}
    assert len(doc["reps"]) == 8
    for k, (rep, truth) in enumerate(zip(doc["reps"], session.reps, strict=True), start=1):
        assert set(rep) >= REP_FIELDS and "peak_system_force_n" not in rep
        assert rep["index"] == k
        for f in ("start_ns", "end_ns", "concentric_start_ns", "concentric_end_ns"):
            assert isinstance(rep[f], int)
        assert (rep["concentric_start_ns"] - T0_NS) / 1e9 == pytest.approx(truth.concentric_start_s, abs=0.05)
        assert (rep["concentric_end_ns"] - T0_NS) / 1e9 == pytest.approx(truth.concentric_end_s, abs=0.05)
        assert (rep["start_ns"] - T0_NS) / 1e9 == pytest.approx(truth.start_s, abs=0.2)
        assert (rep["end_ns"] - T0_NS) / 1e9 == pytest.approx(truth.end_s, abs=0.2)
        assert rep["start_ns"] < rep["concentric_start_ns"] < rep["concentric_end_ns"] <= rep["end_ns"]
    assert doc["set"] == {
        k: doc["sets"][-1][k] for k in ("reps", "best_mean_velocity_mps", "velocity_loss_pct", "velocity_loss_mpv_pct")
    }
    assert [s["set_index"] for s in doc["sets"]] == [1, 2]
    assert doc["sets"][1]["start_ns"] == doc["reps"][4]["start_ns"]


def test_peak_system_force_with_body_mass(session):
    res = analyse_session(session.to_imu_samples(), "back_squat", 100.0, body_mass_kg=75.0)
    for rep in res.to_contract()["reps"]:
        assert rep["peak_system_force_n"] == pytest.approx(rep["peak_force_n"] * 175.0 / 100.0)


def test_argument_validation(session):
    smp = session.to_imu_samples()
    with pytest.raises(ValueError, match="load_kg"):
        analyse_session(smp, "back_squat", 0.0)
    with pytest.raises(ValueError, match="body_mass_kg"):
        analyse_session(smp, "back_squat", 100.0, body_mass_kg=-1.0)
    with pytest.raises(ValueError, match="set_rest_s"):
        analyse_session(smp, "back_squat", 100.0, set_rest_s=0.0)
    with pytest.raises(ValueError, match="ImuSamples"):
        analyse_session(session.raw_i16, "back_squat", 100.0)
