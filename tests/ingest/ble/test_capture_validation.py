"""Hostile captures are refused before anything is written (issue 12, item 12): no landing file, no
phantom `recovered` session merged by the next command, a one-line error naming the line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingest.ble.capture import (
    MAX_JSON_DEPTH,
    MAX_LINE_BYTES,
    CaptureFormatError,
    CaptureHeader,
    CaptureWriter,
    read_capture,
)
from tests.jobs.test_replay import items, simulated

REPO = Path(__file__).resolve().parents[3]
ANCHOR = 9_000_000_000_000


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[str]]:
    path = tmp_path_factory.mktemp("cap") / "good.capture.jsonl"
    with CaptureWriter(
        path,
        CaptureHeader("witmotion", datetime(2026, 1, 5, 7, tzinfo=UTC), anchor_t_ns=ANCHOR, configured_rate_hz=200.0),
    ) as w:
        for t, c, d in items(simulated())[:300]:
            w.notification(t, c, d)
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), lines[1:]


def _write(path: Path, header: dict | str, body: list[str]) -> Path:
    first = header if isinstance(header, str) else json.dumps(header)
    path.write_text("\n".join([first, *body]) + "\n")
    return path


def _replay(db: Path, capture: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "pipeline.py"),
            "--db",
            str(db),
            "replay",
            str(capture),
            "--exercise",
            "deadlift",
            "--load-kg",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def _t_times(body: list[str], factor: int) -> list[str]:
    return [json.dumps({**json.loads(line), "t_ns": json.loads(line)["t_ns"] * factor}) for line in body]


CASES = {
    # name: (header change, body change, the error's words)
    "started_at 9999-12-31": ({"started_at": "9999-12-31T23:59:59+00:00"}, None, "line 1: started_at"),
    "started_at 0001-01-01": ({"started_at": "0001-01-01T00:00:00+00:00"}, None, "line 1: started_at"),
    "t_ns x 10^12": ({}, lambda b: _t_times(b, 10**12), "line 2: t_ns"),
    "t_ns x 10^4": ({}, lambda b: _t_times(b, 10**4), "days from the capture's anchor"),
    "deep JSON": ({}, lambda b: [*b[:4], "[" * 20000 + "]" * 20000, *b[4:]], f"deeper than {MAX_JSON_DEPTH} levels"),
    "deep JSON header": ({"extra": json.loads("[" * 50 + "]" * 50)}, None, "line 1: the header nests"),
    "long line": (
        {},
        lambda b: [*b[:4], json.dumps({"t_ns": ANCHOR, "char": "x" * MAX_LINE_BYTES, "data": ""}), *b[4:]],
        "over the 65536-byte limit",
    ),
    "negative anchor": ({"anchor_t_ns": -5}, None, "anchor_t_ns must be an integer in [0, 2**63)"),
    "infinite rate": ({"configured_rate_hz": 1e999}, None, "configured_rate_hz must be a finite positive"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_capture_leaves_nothing_behind(case: str, good, tmp_path: Path) -> None:
    """main: `internal error: OverflowError` (or RecursionError) and a pending-*.duckdb that the next
    command merged as a phantom recovered session."""
    header, body = good
    change, body_change, words = CASES[case]
    header = {**header, **change}
    if case == "infinite rate":
        text = json.dumps(header).replace("Infinity", "1e999")
        capture = _write(tmp_path / "bad.capture.jsonl", text, body)
    else:
        capture = _write(tmp_path / "bad.capture.jsonl", header, body_change(body) if body_change else body)
    db = tmp_path / "x.duckdb"
    r = _replay(db, capture)
    assert r.returncode == 1
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert words in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.duckdb.landing").exists() or not any((tmp_path / "x.duckdb.landing").rglob("*.duckdb"))
    # the next command merges nothing: no phantom session
    r2 = subprocess.run(
        [sys.executable, str(REPO / "pipeline.py"), "--db", str(db), "import", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert "merged" not in r2.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM stream_session").fetchone()[0] == 0
    finally:
        con.close()


def test_the_good_capture_still_reads(good, tmp_path: Path) -> None:
    header, body = good
    cap = read_capture(_write(tmp_path / "ok.capture.jsonl", header, body))
    assert len(cap.records) == 300 and cap.header.started_at == datetime(2026, 1, 5, 7, tzinfo=UTC)


def test_limits_are_checked_before_json_parsing(tmp_path: Path, good) -> None:
    """A line of 30,000 nested brackets would raise RecursionError inside json.loads."""
    header, _body = good
    path = _write(tmp_path / "deep.capture.jsonl", header, ["[" * 30000 + "]" * 30000])
    with pytest.raises(CaptureFormatError, match="line 2: the line nests JSON deeper than 8 levels"):
        read_capture(path)
