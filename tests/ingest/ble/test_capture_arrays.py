"""read_capture_arrays: the streamed, vectorised reader accepts and refuses exactly what read_capture
does (same records, same errors on the same lines), at any chunk size, plain and gzip."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.ble.capture import CaptureFormatError, CaptureHeader, CaptureWriter, read_capture
from ingest.ble.capture_arrays import MAX_SPAN_NS, read_capture_arrays

STARTED = datetime(2026, 11, 28, 17, 0, 0, 123456, tzinfo=UTC)
WT = "0000ffe4-0000-1000-8000-00805f9a34fb"
HR = "00002a37-0000-1000-8000-00805f9b34fb"
HEADER = json.dumps(
    CaptureHeader("witmotion", STARTED, "WT", "AA:BB", 200.0, 1_000_000).to_json(), separators=(",", ":")
)


def same(path: Path, **kw) -> None:
    """read_capture_arrays gives what read_capture gives: the records, truncation and header, or the
    same error on the same line."""
    try:
        cap = read_capture(path)
    except CaptureFormatError as exc:
        with pytest.raises(CaptureFormatError) as err:
            read_capture_arrays(path, **kw)
        assert (err.value.line, str(err.value)) == (exc.line, str(exc))
        return
    arr = read_capture_arrays(path, **kw)
    assert arr.header == cap.header and arr.header.extra == cap.header.extra
    assert list(arr.records()) == cap.records
    assert arr.truncated == cap.truncated
    assert arr.anchor_t_ns == cap.anchor_t_ns


def write(path: Path, lines: list[str], *, gz: bool = False, newline_at_end: bool = True) -> Path:
    text = ("\n".join(lines) + ("\n" if newline_at_end else "")).encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def odd(line: str) -> str:
    """A hand-written line; ``"C"`` stands for the WitMotion characteristic."""
    return line.replace('"C"', f'"{WT}"')


def canonical(t: int, char: str, data: bytes) -> str:
    return json.dumps({"t_ns": t, "char": char, "data": data.hex()}, separators=(",", ":"))


def link(t: int, event: str) -> str:
    return json.dumps({"t_ns": t, "event": event}, separators=(",", ":"))


def test_a_recorded_capture_is_read_alike_plain_and_gzip_at_any_chunk_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for suffix in (".capture.jsonl", ".capture.jsonl.gz"):
        path = tmp_path / f"c{suffix}"
        with CaptureWriter(path, CaptureHeader("witmotion", STARTED, "WT", "AA:BB", 200.0, 5_000)) as w:
            w.link_event(5_000, "connected")
            t = 5_000
            for i in range(3000):
                t += int(rng.integers(0, 9_000_000))
                if i in (700, 701):
                    w.link_event(t, "disconnected" if i == 700 else "connected")
                n = int(rng.choice([1, 1, 1, 2, 12]))
                w.notification(t, WT if i % 97 else HR, rng.integers(0, 256, 20 * n, dtype=np.uint8).tobytes())
                if i == 10**3:
                    t = 10**13  # more digits from here on (a new line length)
        for chunk in (64, 4096, 1 << 20):
            same(path, chunk_bytes=chunk)
        arr = read_capture_arrays(path)
        assert arr.notifications == 3000 and arr.link_events == ("connected", "disconnected", "connected")
        assert arr.link_position.tolist() == [0, 700, 701]


@pytest.mark.parametrize(
    "lines, why",
    [
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns": 11, "char": "C", "data": "5561"}')], "spaces: not canonical"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":11,"char":"C","data":"55AB"}')], "upper-case hex"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"char":"C","t_ns":11,"data":"5561"}')], "other key order"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":11,"char":"C","data":"55 61"}')], "fromhex allows spaces"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":011,"char":"C","data":"5561"}')], "a leading zero: not JSON"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":1e3,"char":"C","data":"5561"}')], "a float t_ns"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":-12,"char":"C","data":"5561"}')], "negative: backwards"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":12,"char":"C","data":"556"}')], "odd hex"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":12,"char":"C","data":"55g1"}')], "not hex"),
        ([canonical(10, WT, b"\x55\x61"), canonical(9, WT, b"\x55\x62")], "backwards in the fast path"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":11,"char":"C","data":"5561","x":1}')], "an extra key"),
        ([canonical(10, WT, b"\x55\x61"), odd('{"t_ns":true,"char":"C","data":"5561"}')], "a bool t_ns"),
        ([canonical(10, WT, b"\x55\x61"), "", "   ", canonical(12, WT, b"\x55\x61")], "blank lines are skipped"),
        ([canonical(10, WT.upper(), b"\x55\x61"), canonical(11, WT.upper(), b"\x55\x62")], "upper-case char"),
        ([canonical(10, WT, b"\x55\x61"), canonical(11, WT, b"\x55\x61") + "\r"], "a CR"),
        ([canonical(10, WT, b"\x55\x61"), canonical(11, WT, b"\x55\x61")[:-1]], "a broken line inside"),
        ([canonical(10, WT, b"\x55\x61"), "[1, 2]"], "not an object"),
    ],
)
def test_lines_the_fast_path_must_not_take_are_read_as_read_capture_reads_them(
    tmp_path: Path, lines: list[str], why: str
) -> None:
    # many copies of a canonical line first (same length), so that the odd line meets the fast path
    body = [canonical(10, WT, bytes([0x55, 0x61]))] * 50
    header = HEADER.replace('"anchor_t_ns":1000000', '"anchor_t_ns":10')
    path = write(tmp_path / "odd.capture.jsonl", [header, *body, *lines])
    same(path)
    same(path, chunk_bytes=97)


def test_numbers_of_19_digits_take_the_line_parser(tmp_path: Path) -> None:
    big = 10**18  # 19 digits: may not fit int64 digit by digit, so never the fast path
    header = HEADER.replace('"anchor_t_ns":1000000', f'"anchor_t_ns":{big}')
    path = write(tmp_path / "big.capture.jsonl", [header, *[canonical(big + i, WT, bytes(20)) for i in range(40)]])
    same(path)
    assert read_capture_arrays(path).t_ns[-1] == big + 39


def test_the_span_limit_of_one_capture_is_checked_in_bulk(tmp_path: Path) -> None:
    far = 1_000_000 + MAX_SPAN_NS + 1
    path = write(
        tmp_path / "far.capture.jsonl", [HEADER, canonical(1_000_000, WT, b"\x55"), canonical(far, WT, b"\x55")]
    )
    with pytest.raises(CaptureFormatError) as err:
        read_capture_arrays(path)
    assert err.value.line == 3 and "7-day limit" in str(err.value)


def test_torn_last_line_and_truncated_gzip(tmp_path: Path) -> None:
    body = [canonical(1_000_000 + i, WT, bytes(20)) for i in range(500)]
    torn = write(
        tmp_path / "torn.capture.jsonl", [HEADER, *body, canonical(2_000_000, WT, bytes(20))[:30]], newline_at_end=False
    )
    same(torn)
    assert read_capture_arrays(torn).truncated
    whole_last = write(tmp_path / "last.capture.jsonl", [HEADER, *body], newline_at_end=False)
    same(whole_last)
    assert not read_capture_arrays(whole_last).truncated
    # a gzip stream cut short (a killed writer: no trailer)
    gz = tmp_path / "cut.capture.jsonl.gz"
    with CaptureWriter(gz, CaptureHeader("witmotion", STARTED, anchor_t_ns=1)) as w:
        for i in range(2000):
            w.notification(1 + i, WT, bytes(20))
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) - 200])
    arr = read_capture_arrays(gz)
    assert arr.truncated and 1500 < arr.notifications < 2000
    assert list(arr.records()) == read_capture(gz).records[: arr.notifications]


def test_not_a_gzip_file_and_empty_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.capture.jsonl.gz"
    bad.write_bytes(b"plain text\n")
    same(bad)
    empty = tmp_path / "e.capture.jsonl"
    empty.write_bytes(b"")
    same(empty)
    header_only = write(tmp_path / "h.capture.jsonl", [HEADER], newline_at_end=False)
    same(header_only)
    assert read_capture_arrays(header_only).notifications == 0


def test_concatenated_gzip_members_are_read_whole(tmp_path: Path) -> None:
    lines = [HEADER, *[canonical(1_000_000 + i, WT, bytes(20)) for i in range(100)]]
    text = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "two.capture.jsonl.gz"
    path.write_bytes(gzip.compress(text[:1000]) + gzip.compress(text[1000:]))
    same(path)
    assert read_capture_arrays(path).notifications == 100


def test_a_line_too_long_to_buffer_is_refused_while_reading(tmp_path: Path) -> None:
    path = tmp_path / "long.capture.jsonl"
    path.write_bytes(HEADER.encode() + b"\n" + b"x" * (9 << 20))
    with pytest.raises(CaptureFormatError, match="line 2: the line is longer than"):
        read_capture_arrays(path, chunk_bytes=1 << 20)


_line = st.one_of(
    st.builds(
        lambda t, c, d: ("n", t, c, d),
        st.integers(0, 50_000),
        st.sampled_from([WT, HR, WT.upper()]),
        st.binary(max_size=48),
    ),
    st.builds(lambda t, e: ("l", t, e), st.integers(0, 50_000), st.sampled_from(["connected", "disconnected"])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(_line, max_size=60),
    cut=st.integers(0, 10**6),
    mutation=st.integers(0, 10**6),
    chunk=st.sampled_from([7, 64, 1 << 20]),
    gz=st.booleans(),
)
def test_random_captures_and_mutations_read_alike(
    tmp_path: Path, records: list, cut: int, mutation: int, chunk: int, gz: bool
) -> None:
    t = 1_000_000
    lines = [HEADER]
    for r in records:
        t += r[1]
        lines.append(canonical(t, r[2], r[3]) if r[0] == "n" else link(t, r[2]))
    text = "\n".join(lines) + "\n"
    rnd = random.Random(mutation)
    if records and mutation % 3:  # flip, drop or insert a byte after the header
        pos = rnd.randrange(len(HEADER) + 1, len(text))
        op = mutation % 3
        text = text[:pos] + (rnd.choice('0123456789abcdef{}",: \n') if op == 1 else "") + text[pos + (op == 2) :]
    if cut % 4 == 0:  # the writer died mid-line
        text = text[: max(len(HEADER) + 1, len(text) - cut % 40)]
    raw = text.encode()
    path = tmp_path / ("r.capture.jsonl.gz" if gz else "r.capture.jsonl")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    same(path, chunk_bytes=chunk)
