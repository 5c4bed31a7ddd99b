"""Capture files: exact format, round trips (plain and gzip), validation errors with line numbers,
and what survives a writer killed with SIGKILL."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.ble.capture import (
    CaptureFormatError,
    CaptureHeader,
    CaptureWriter,
    LinkEvent,
    Notification,
    read_capture,
)
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
STARTED = datetime(2026, 11, 28, 17, 0, 0, 123456, tzinfo=UTC)
WT_CHAR = "0000ffe4-0000-1000-8000-00805f9a34fb"
FRAME = bytes.fromhex("55 61 77 02 a8 fe 92 fe 06 02 30 fe cd ff f8 f0 53 fc ab c4")


def header(**kw) -> CaptureHeader:
    base = dict(
        sensor="witmotion",
        started_at=STARTED,
        device_name="WT901BLE68",
        device_address="AA:BB:CC:DD:EE:FF",
        configured_rate_hz=200.0,
        anchor_t_ns=1_000,
    )
    return CaptureHeader(**{**base, **kw})


@pytest.mark.parametrize("suffix", [".capture.jsonl", ".capture.jsonl.gz"])
def test_round_trip_and_exact_lines(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"s{suffix}"
    with CaptureWriter(path, header()) as w:
        w.link_event(1_000, "connected")
        w.notification(2_000, WT_CHAR.upper(), FRAME)
        w.notification(2_000, WT_CHAR, FRAME[:7])
        w.link_event(9_000, "disconnected")
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if suffix.endswith(".gz") else raw).decode()
    lines = text.splitlines()
    assert json.loads(lines[0]) == {
        "format": "runstrong-capture",
        "version": 1,
        "sensor": "witmotion",
        "device_name": "WT901BLE68",
        "device_address": "AA:BB:CC:DD:EE:FF",
        "configured_rate_hz": 200.0,
        "started_at": "2026-11-28T17:00:00.123456+00:00",
        "anchor_t_ns": 1000,
    }
    assert json.loads(lines[2]) == {"t_ns": 2000, "char": WT_CHAR, "data": FRAME.hex()}
    assert json.loads(lines[1]) == {"t_ns": 1000, "event": "connected"}
    cap = read_capture(path)
    assert not cap.truncated
    assert cap.header == header()
    assert cap.records == [
        LinkEvent(1_000, "connected"),
        Notification(2_000, WT_CHAR, FRAME),
        Notification(2_000, WT_CHAR, FRAME[:7]),
        LinkEvent(9_000, "disconnected"),
    ]
    assert cap.anchor_t_ns == 1_000


def test_anchor_defaults_to_first_record_and_z_suffix_accepted(tmp_path: Path) -> None:
    path = tmp_path / "a.capture.jsonl"
    path.write_text(
        '{"format":"runstrong-capture","version":1,"sensor":"heart_rate","device_name":null,'
        '"device_address":null,"configured_rate_hz":null,"started_at":"2026-11-28T17:00:00Z"}\n'
        '{"t_ns":555,"char":"00002a37-0000-1000-8000-00805f9b34fb","data":"0448"}\n'
    )
    cap = read_capture(path)
    assert cap.anchor_t_ns == 555 and cap.header.started_at == datetime(2026, 11, 28, 17, tzinfo=UTC)
    assert cap.header.configured_rate_hz is None


def test_non_utc_offset_normalised() -> None:
    h = header(started_at=datetime(2026, 11, 28, 18, 0, tzinfo=timezone(timedelta(hours=1))))
    assert h.to_json()["started_at"] == "2026-11-28T17:00:00.000000+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        header(started_at=datetime(2026, 11, 28, 17, 0))
    with pytest.raises(ValueError, match="sensor must be one of"):
        header(sensor="vitruve")


GOOD_HEADER = (
    '{"format":"runstrong-capture","version":1,"sensor":"witmotion","device_name":null,'
    '"device_address":null,"configured_rate_hz":200,"started_at":"2026-11-28T17:00:00+00:00"}'
)


@pytest.mark.parametrize(
    "content, line, message",
    [
        ("", 1, "header line is missing"),
        ("hello\n", 1, "header is not JSON"),
        ('{"format":"other"}\n', 1, "not a runstrong capture"),
        (GOOD_HEADER.replace('"version":1', '"version":2') + "\n", 1, "unsupported capture version 2"),
        (GOOD_HEADER.replace('"witmotion"', '"vitruve"') + "\n", 1, "sensor must be one of"),
        (GOOD_HEADER.replace('"2026-11-28T17:00:00+00:00"', '"2026-11-28T17:00:00"') + "\n", 1, "no UTC offset"),
        (GOOD_HEADER.replace('"configured_rate_hz":200', '"configured_rate_hz":-1') + "\n", 1, "configured_rate_hz"),
        (
            GOOD_HEADER + '\n{"t_ns":1,"event":"connected"}\n{"t_ns":"2","char":"x","data":"00"}\n',
            3,
            "t_ns must be an integer",
        ),
        (GOOD_HEADER + '\n{"t_ns":1,"char":"x","data":"zz"}\n{"t_ns":2,"event":"up"}\n', 2, "data is not hex"),
        (GOOD_HEADER + '\n{"t_ns":1,"char":"x","data":"00"}\n{"t_ns":2,"event":"up"}\n', 3, "event must be one of"),
        (GOOD_HEADER + '\n{"t_ns":5,"char":"x","data":"00"}\n{"t_ns":4,"char":"x","data":"00"}\n', 3, "backwards"),
        (GOOD_HEADER + '\n[1,2]\n{"t_ns":4,"char":"x","data":"00"}\n', 2, "JSON object"),
    ],
)
def test_validation_errors_name_the_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "bad.capture.jsonl"
    path.write_text(content)
    with pytest.raises(CaptureFormatError) as err:
        read_capture(path)
    assert isinstance(err.value, ValueError)
    assert err.value.line == line
    assert f"line {line}:" in str(err.value) and message in str(err.value)


def test_torn_last_line_is_dropped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "torn.capture.jsonl"
    with CaptureWriter(path, header()) as w:
        for i in range(10):
            w.notification(2_000 + i, WT_CHAR, FRAME)
    data = path.read_bytes()
    path.write_bytes(data[:-15])  # the writer died mid-line
    cap = read_capture(path)
    assert cap.truncated and len(cap.records) == 9


_CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from datetime import datetime, UTC
from ingest.ble.capture import CaptureHeader, CaptureWriter
w = CaptureWriter(sys.argv[1], CaptureHeader("witmotion", datetime(2026, 11, 28, tzinfo=UTC)),
                  flush_every_lines=50, flush_every_s=0.05)
frame = bytes.fromhex("55617702a8fe92fe0602" + "30fecdfff8f053fcabc4")
i = 0
while True:
    w.notification(i, "0000ffe4-0000-1000-8000-00805f9a34fb", frame)
    i += 1
    if i == 2000:
        print("ready", flush=True)
    if i > 2000:
        time.sleep(0.0005)
"""


@pytest.mark.parametrize("suffix", [".capture.jsonl", ".capture.jsonl.gz"])
def test_sigkill_keeps_what_was_flushed(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"k{suffix}"
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    cap = read_capture(path)
    n = len(cap.records)
    assert n >= 1950  # at most the last unflushed lines are lost
    assert [r.t_ns for r in cap.records] == list(range(n))  # a prefix, in order, nothing torn
    assert all(r.data == bytes.fromhex("55617702a8fe92fe060230fecdfff8f053fcabc4") for r in cap.records)
