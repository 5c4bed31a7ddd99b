"""Command-line arguments and messages under hostile or mistaken use (issue 12, items 13 and 15)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.ble.capture import CaptureHeader, CaptureWriter
from tests.jobs.test_replay import items, simulated

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "fit"


def run(*args: str, db: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "pipeline.py"), "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--wait", "nan", "activities"],
        ["--wait", "inf", "activities"],
        ["activities", "--wait", "NaN"],
        ["replay", "x.capture.jsonl", "--exercise", "deadlift", "--load-kg", "inf"],
        ["replay", "x.capture.jsonl", "--exercise", "deadlift", "--load-kg", "nan"],
        ["stream", "--virtual", "--exercise", "deadlift", "--load-kg", "1e999"],
        ["athlete", "set", "--body-mass-kg", "inf"],
        ["stream", "--virtual", "--exercise", "deadlift", "--load-kg", "100", "--duration", "inf"],
    ],
)
def test_non_finite_numbers_are_refused(args: list[str], tmp_path: Path) -> None:
    """main: `--wait nan` waited forever on a held store, `--load-kg inf` was stored."""
    t0 = time.monotonic()
    r = run(*args, db=tmp_path / "x.duckdb", timeout=60)
    assert r.returncode == 2
    assert "must be a finite number" in r.stderr
    assert not (tmp_path / "x.duckdb").exists()
    assert time.monotonic() - t0 < 60


def test_nightly_watch_of_a_file_says_it_is_not_a_folder(tmp_path: Path) -> None:
    """main said "does not exist" about a file that exists."""
    f = tmp_path / "export.fit"
    f.write_bytes((SAMPLE / "runs/garmin-fenix-5-run.fit").read_bytes())
    r = run("nightly", "--watch", str(f), "--out", str(tmp_path / "out"), db=tmp_path / "x.duckdb")
    assert r.returncode == 2
    [line] = r.stderr.strip().splitlines()
    assert "is a file, not a folder" in line and "does not exist" not in line
    missing = run(
        "nightly", "--watch", str(tmp_path / "nope"), "--out", str(tmp_path / "out"), db=tmp_path / "x.duckdb"
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr


@pytest.mark.parametrize("size", [0, 11, 13, 15, 255])
def test_a_header_size_other_than_12_or_14_has_its_own_message(size: int, tmp_path: Path) -> None:
    """main reported "no '.FIT' signature" about a file whose signature is there."""
    data = bytearray((SAMPLE / "runs/garmin-fenix-5-run.fit").read_bytes())
    data[0] = size
    (tmp_path / "h.fit").write_bytes(bytes(data))
    r = run("--json", "import", str(tmp_path / "h.fit"), db=tmp_path / "x.duckdb")
    [f] = json.loads(r.stdout)["files"]
    assert f["status"] == "failed"
    assert f["error"] == f"not a FIT file: header size {size} (a FIT header is 12 or 14 bytes)"
    assert struct.unpack("4s", bytes(data[8:12]))[0] == b".FIT"


def test_athlete_list_shows_an_athlete_whose_only_data_is_streamed(tmp_path: Path) -> None:
    """main said "no athletes" when the only data was a streamed (here replayed) session."""
    capture = tmp_path / "set.capture.jsonl"
    with CaptureWriter(
        capture,
        CaptureHeader(
            "witmotion", datetime(2026, 1, 5, 7, tzinfo=UTC), anchor_t_ns=9_000_000_000_000, configured_rate_hz=200.0
        ),
    ) as w:
        for t, c, d in items(simulated()):
            w.notification(t, c, d)
    db = tmp_path / "x.duckdb"
    r = run("--athlete", "zoe", "replay", str(capture), "--exercise", "deadlift", "--load-kg", "140", db=db)
    assert r.returncode == 0, r.stderr
    listed = run("athlete", "list", db=db)
    assert listed.returncode == 0 and listed.stdout.split() == ["zoe"]
    doc = json.loads(run("--json", "athlete", "list", db=db).stdout)
    assert [a["athlete"] for a in doc["athletes"]] == ["zoe"]
