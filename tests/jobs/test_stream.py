"""Whole ``stream --virtual`` runs: simulated set -> Bumble link -> bleak client -> StreamSession -> store.

Received payloads (from the ``--record`` capture) are matched, in order, against the frames the virtual
device says it sent, so "no loss" and "loss only inside the gap" are checked frame by frame.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ingest.ble.capture import Notification, read_capture
from ingest.ble.virtual_witmotion import LOST, SENT, VirtualWitMotion
from jobs.replay import replay_capture
from jobs.stream import StreamError, StreamRun, run_stream, stream_async
from sim.barbell import simulate_session

METRICS = (
    "start_ns",
    "end_ns",
    "concentric_start_ns",
    "concentric_end_ns",
    "mean_velocity_mps",
    "peak_velocity_mps",
    "rom_m",
    "mean_power_w",
    "peak_force_n",
    "peak_rfd_n_per_s",
    "velocity_loss_pct",
)


# The timebase reads host scheduling as timing evidence: on a loaded 2-core machine arrival stamps are
# late by up to ~100 ms now and then, which moved ``lost_samples`` by up to 5 in ~2,000 samples in some
# runs here (exact on a quiet machine; reported to the timebase's owner). Transport checks below are
# exact; the timebase's count gets this slack: 1% of the samples plus 10% of the true count.
def timebase_slack(true_lost: int, samples: int = 2000) -> int:
    return round(0.01 * samples + 0.1 * true_lost)


def short_set(seed: int = 1) -> Any:
    return simulate_session("back_squat", 100.0, 2, seed=seed, lead_in_s=3.0, tail_s=2.0)


def run(tmp_path: Path, **kwargs: Any) -> StreamRun:
    kwargs.setdefault("virtual_motion", short_set())
    return asyncio.run(
        stream_async(
            db_path=tmp_path / "rs.duckdb",
            athlete="jane",
            exercise="back_squat",
            load_kg=100.0,
            virtual=True,
            record=tmp_path / "set.capture.jsonl",
            **kwargs,
        )
    )


def match(device: VirtualWitMotion, capture: Path) -> tuple[list[int], list[int]]:
    """Truth rows of the received frames (an in-order subsequence of what was sent) and of the unmatched."""
    truth = device.truth
    received = [
        n.data[i : i + 20]
        for n in read_capture(capture).records
        if isinstance(n, Notification)
        for i in range(0, len(n.data), 20)
    ]
    sent_rows = [r for r, s in enumerate(truth.status) if s == SENT]
    matched, missing, k = [], [], 0
    for row in sent_rows:
        if k < len(received) and received[k] == device.frame(truth.sample_index[row]):
            matched.append(row)
            k += 1
        else:
            missing.append(row)
    assert k == len(received), "received a frame the device never sent, or out of order"
    return matched, missing


@pytest.mark.slow
def test_200hz_set_streams_whole_and_replays_identically(tmp_path: Path) -> None:
    live_reps: list[dict[str, Any]] = []
    result = run(tmp_path, on_rep=live_reps.append)
    doc, device = result.doc, result.device
    assert device is not None
    stream = doc["stream"]
    assert stream["ended_by"] == "end_of_set" and stream["reconnects"] == 0 and stream["gaps"] == []
    matched, missing = match(device, tmp_path / "set.capture.jsonl")
    connected_ns = device.truth.sent_ns[matched[0]]
    # nothing sent after the stream started is missing; the missing ones went out while configuring
    assert all(device.truth.sent_ns[r] <= connected_ns for r in missing)
    assert stream["notifications"] == len(matched) == stream["samples"] >= 0.9 * len(device.truth.status)
    assert stream["lost_samples"] <= timebase_slack(0)
    # the rate command was honoured: ~200 samples per second of the sim clock reached the session
    arrivals = [n.t_ns for n in read_capture(tmp_path / "set.capture.jsonl").records if isinstance(n, Notification)]
    assert (len(arrivals) - 1) / ((arrivals[-1] - arrivals[0]) / 1e9) == pytest.approx(200.0, rel=0.03)
    truth_reps = device.truth.reps
    true_ends = [device.truth.motion_ns(r.concentric_end_s) for r in truth_reps]
    assert len(doc["reps"]) == len(truth_reps) == 2
    for rep, true, end_ns in zip(doc["reps"], truth_reps, true_ends, strict=True):
        assert rep["mean_velocity_mps"] == pytest.approx(true.mean_velocity_mps, abs=0.06)
        assert abs(rep["concentric_end_ns"] - end_ns) < 60e6
    # on_rep fired live, after each rep's true concentric end (the live detector's accuracy is tested
    # with the analysis; under host jitter it may miss one here)
    assert 1 <= len(live_reps) <= 2 and len(result.rep_times_ns) == len(live_reps)
    for rep, fired_ns in zip(live_reps, result.rep_times_ns, strict=True):
        end_ns = min(true_ends, key=lambda e: abs(e - rep["concentric_end_ns"]))
        assert abs(rep["concentric_end_ns"] - end_ns) < 100e6 and fired_ns > end_ns
    replayed = replay_capture(
        tmp_path / "set.capture.jsonl",
        db_path=tmp_path / "other.duckdb",
        athlete="jane",
        exercise="back_squat",
        load_kg=100.0,
    )
    assert replayed["session_id"] == doc["session_id"]
    assert [{k: r[k] for k in METRICS} for r in replayed["reps"]] == [{k: r[k] for k in METRICS} for r in doc["reps"]]


@pytest.mark.slow
def test_dropped_link_reconnects_marks_the_gap_and_loses_nothing_outside_it(tmp_path: Path) -> None:
    result = run(tmp_path, virtual_disconnect_at=5.0)
    doc, device = result.doc, result.device
    assert device is not None
    stream = doc["stream"]
    assert stream["reconnects"] == 1 and len(stream["gaps"]) == 1
    gap = stream["gaps"][0]
    truth = device.truth
    assert truth.disconnected_ns[0] <= gap["start_ns"] < gap["end_ns"]
    assert 0.3e9 <= gap["end_ns"] - gap["start_ns"] < 5e9
    matched, missing = match(device, tmp_path / "set.capture.jsonl")
    first = truth.sent_ns[matched[0]]
    # every frame sent after the stream started and outside the gap arrived
    outside = [
        r for r in missing if truth.sent_ns[r] > first and not gap["start_ns"] <= truth.sent_ns[r] <= gap["end_ns"]
    ]
    assert outside == []
    assert stream["lost_samples"] <= timebase_slack(0)
    assert stream["notifications"] == len(matched)
    # the session knows the samples inside the gap are missing: none arrived between its bounds
    received_t = [n.t_ns for n in read_capture(tmp_path / "set.capture.jsonl").records if isinstance(n, Notification)]
    assert not [t for t in received_t if gap["start_ns"] < t < gap["end_ns"]]
    replays_as_stored(tmp_path, doc)


@pytest.mark.slow
def test_injected_loss_is_detected_from_timing(tmp_path: Path) -> None:
    result = run(tmp_path, virtual_loss=0.02, seed=3)
    doc, device = result.doc, result.device
    assert device is not None
    truth = device.truth
    matched, _missing = match(device, tmp_path / "set.capture.jsonl")
    # the timebase counts lost samples between the first and the last received sample of a segment
    lost_inside = sum(1 for r in range(matched[0], matched[-1]) if truth.status[r] == LOST)
    assert lost_inside >= 10  # ~2% of ~2,000 samples
    assert abs(stream_lost(doc) - lost_inside) <= timebase_slack(lost_inside)
    assert doc["stream"]["notifications"] == doc["stream"]["samples"] == len(matched)
    replays_as_stored(tmp_path, doc)


def replays_as_stored(tmp_path: Path, doc: dict[str, Any]) -> None:
    """The batch replay of the run's recorded capture stores what the live run stored: the same
    document, session row, reps (bounds within a sample, MCV/MPV within 0.002 m/s), sets, frames,
    ledger and gaps; the same samples at times within 3 periods (the live rows carry the online
    timebase's times, the replay the whole-session reconstruction)."""
    from tests.jobs.test_replay import PERIOD_NS, assert_stored_alike, stored

    fresh = tmp_path / "replayed.duckdb"
    out = replay_capture(
        tmp_path / "set.capture.jsonl", db_path=fresh, athlete="jane", exercise="back_squat", load_kg=100.0
    )
    assert {k: v for k, v in out.items() if k != "stream"} == {k: v for k, v in doc.items() if k != "stream"}
    assert {k: out["stream"][k] for k in ("notifications", "samples", "lost_samples", "reconnects", "gaps")} == {
        k: doc["stream"][k] for k in ("notifications", "samples", "lost_samples", "reconnects", "gaps")
    }
    assert_stored_alike(stored(tmp_path / "rs.duckdb", "jane"), stored(fresh, "jane"), sample_time_tol_ns=3 * PERIOD_NS)


def stream_lost(doc: dict[str, Any]) -> int:
    return int(doc["stream"]["lost_samples"])


def test_run_stream_cli_path_ends_at_duration(tmp_path: Path) -> None:
    messages: list[str] = []
    doc = run_stream(
        db_path=tmp_path / "rs.duckdb",
        athlete="jane",
        exercise="back_squat",
        load_kg=100.0,
        virtual=True,
        duration_s=1.5,
        on_message=messages.append,
    )
    assert doc["stream"]["ended_by"] == "duration"
    assert 150 <= doc["stream"]["samples"] <= 320  # ~1.5 s at 200 Hz, minus connecting
    assert doc["sensor"] == "witmotion" and doc["session_id"]
    assert any("as witmotion at 200 Hz" in m for m in messages)


@pytest.mark.parametrize(
    ("kwargs", "match_text"),
    [
        ({"virtual": True, "name": "WT1"}, "exactly one of"),
        ({"name": "WT1", "virtual_loss": 0.1}, "need --virtual"),
        ({"virtual": True, "virtual_loss": 1.0}, r"\[0, 1\)"),
        ({"virtual": True, "rate_hz": 100.0, "virtual_rate_hz": 200.0}, "not both"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, kwargs: dict[str, Any], match_text: str) -> None:
    with pytest.raises(StreamError, match=match_text):
        run_stream(db_path=tmp_path / "rs.duckdb", athlete="jane", exercise="back_squat", load_kg=100.0, **kwargs)


def test_a_rate_the_device_cannot_do_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StreamError, match="output rate must be one of"):
        run(tmp_path, rate_hz=150.0)


def test_virtual_one_rm_is_fixed_per_exercise_so_heavier_loads_are_slower() -> None:
    from jobs.stream import VIRTUAL_ONE_RM_KG, StreamError, virtual_one_rm
    from sim.barbell import simulate_session

    assert virtual_one_rm("back_squat", 100.0) == VIRTUAL_ONE_RM_KG["back_squat"] == 140.0
    assert virtual_one_rm("back_squat", 60.0) == 140.0  # not derived from the load
    assert virtual_one_rm("back_squat", 100.0, 125.0) == 125.0
    with pytest.raises(StreamError, match="1RM"):
        virtual_one_rm("back_squat", 150.0)
    mcv = [
        simulate_session("back_squat", load, 3, seed=1, one_rm_kg=virtual_one_rm("back_squat", load))
        .reps[0]
        .mean_velocity_mps
        for load in (60.0, 90.0, 120.0)
    ]
    assert mcv[0] > mcv[1] + 0.1 > mcv[2] + 0.2
