"""A stream cut off by kill -9 mid-session: its landing file is merged and its reps analysed."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from jobs.recovery import merge_and_analyse
from store.connection import open_store
from store.landing import landing_dir
from tests.kill9 import kill_9_when
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT

_STREAMER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
from datetime import datetime, UTC
import numpy as np
from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames
from jobs.stream_session import StreamSession
from sim.barbell import simulate_session

sim = simulate_session("back_squat", 100.0, 3, rate_hz=200, seed=3, lead_in_s=1.5, tail_s=1.5)
live = []
s = StreamSession("witmotion", db_path=sys.argv[1], athlete="ann", exercise="back_squat", load_kg=100.0,
                  started_at=datetime(2026, 11, 28, 17, tzinfo=UTC), anchor_t_ns=0, device_address="C4:11",
                  configured_rate_hz=200.0, on_rep=live.append)
arrival = (np.ceil((sim.t_s + 0.001) / 0.03) * 0.03 * 1e9).astype(np.int64)  # 30 ms connection events
for t, raw in zip(arrival, sim.raw_i16):
    s.on_notification(int(t), NOTIFY_UUID, encode_data_frames(raw[None, :]))
s.sink.wait()  # every closed batch committed; the open one is not
print(json.dumps({"live": [r["mean_velocity_mps"] for r in live],
                  "truth": [r.mean_velocity_mps for r in sim.reps]}), flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_a_killed_stream_is_merged_and_its_reps_analysed(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    # killed once it has fed everything: no close(), so no final analysis and no merge
    seen = json.loads(kill_9_when(["-c", _STREAMER, str(db), str(ROOT)], lambda line: True)[0])
    assert len(seen["live"]) == 3
    con = open_store(db)
    try:
        merged = merge_and_analyse(con, db)
        assert len(merged) == 1
        status = con.execute("SELECT status FROM stream_session").fetchone()[0]
        reps = con.execute(
            "SELECT rep_index, set_index, mean_velocity_mps, concentric_start_ns FROM rep ORDER BY rep_index"
        ).fetchall()
        sets = con.execute("SELECT set_id, reps, source FROM strength_set").fetchall()
        again = merge_and_analyse(con, db)  # nothing left to merge, nothing analysed twice
        n_reps = con.execute("SELECT count(*) FROM rep").fetchone()[0]
    finally:
        con.close()
    assert status == "recovered"
    assert [(r[0], r[1]) for r in reps] == [(1, 1), (2, 1), (3, 1)]
    # the whole-session analysis of the recovered samples: the reps the live detector reported,
    # and the simulator's truth
    assert [r[2] for r in reps] == pytest.approx(seen["live"], abs=0.01)
    assert [r[2] for r in reps] == pytest.approx(seen["truth"], abs=0.06)
    assert sets == [(f"{merged[0]}:1", 3, "sensor")]
    assert again == [] and n_reps == 3
    assert not landing_dir(db).exists()


def test_only_recovered_sessions_are_analysed(tmp_path: Path) -> None:
    """A complete session's reps are its own close()'s: even with its rep rows gone, it is not
    re-analysed; the same session marked recovered is."""
    from datetime import UTC, datetime

    import numpy as np

    from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames
    from jobs.recovery import analyse_recovered
    from jobs.stream_session import StreamSession
    from sim.barbell import simulate_session

    sim = simulate_session("back_squat", 100.0, 2, rate_hz=200, seed=4, lead_in_s=1.5, tail_s=1.5)
    db = tmp_path / "main.duckdb"
    s = StreamSession(
        "witmotion",
        db_path=db,
        athlete="ann",
        exercise="back_squat",
        load_kg=100.0,
        started_at=datetime(2026, 11, 28, 17, tzinfo=UTC),
        anchor_t_ns=0,
        device_address="C4:11",
        configured_rate_hz=200.0,
    )
    for t, raw in zip((sim.t_s * 1e9).astype(np.int64) + 1_000_000, sim.raw_i16, strict=True):
        s.on_notification(int(t), NOTIFY_UUID, encode_data_frames(raw[None, :]))
    sid = s.close()["session_id"]
    con = duckdb.connect(str(db))
    try:
        con.execute("DELETE FROM rep")
        assert analyse_recovered(con, [sid]) == {}
        con.execute("UPDATE stream_session SET status = 'recovered'")
        assert analyse_recovered(con, [sid]) == {sid: 2}
        assert analyse_recovered(con, [sid]) == {}  # it has reps now
    finally:
        con.close()
