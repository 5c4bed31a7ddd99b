"""Memory bounded per file and per batch whatever the inputs hold (issue 12, item 5).

Each case runs in a child process that reports its own peak RSS (VmHWM); the bound is on
the peak minus a baseline child that imports one small file the same way, so it holds whatever
the interpreter, numpy and DuckDB cost on this machine. The children cap their data segment at
3 GB: code without the bounds (main) fails with MemoryError there instead of taking the shared
machine down (issue 12 measured 1.15 GB for 3 M tiny records and ~38 GB for the 100 M below).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from ingest.fit.fast_decoder import fit_crc16
from ingest.fit.model import MAX_MESSAGES
from ingest.fit.sources import MAX_FIT_BYTES
from tests.ingest.fit.bigfit import run_file

REPO = Path(__file__).resolve().parents[3]
SMALL = REPO / "sample_data" / "fit" / "runs" / "garmin-fenix-5-run.fit"
MB = 2**20

pytestmark = pytest.mark.slow


def _child(*args: str) -> dict:
    r = subprocess.run(
        [sys.executable, "-m", "tests.ingest.fit.memchild", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        env={**os.environ, "RUNSTRONG_TEST_DATA_LIMIT_MB": "3072"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def baseline_mb(tmp_path_factory: pytest.TempPathFactory) -> float:
    d = tmp_path_factory.mktemp("base")
    return _child("import", str(d / "b.duckdb"), str(SMALL))["peak_mb"]


def _write_tiny_records_gz(path: Path, n: int) -> int:
    """A .fit.gz of n two-byte records (file_id, then a one-byte heart rate per record), streamed to
    disk; returns its size. The CRC is left 0: the file is refused before it is checked."""
    head = bytes([0x40, 0, 0]) + struct.pack("<HB", 0, 1) + bytes([0, 1, 0x00]) + bytes([0, 4])
    head += bytes([0x41, 0, 0]) + struct.pack("<HB", 20, 1) + bytes([3, 1, 0x02])
    size = len(head) + 2 * n
    hdr = struct.pack("<BBHI4s", 14, 0x20, 2132, size, b".FIT")
    hdr += struct.pack("<H", fit_crc16(hdr))
    block = np.empty((1_000_000, 2), dtype=np.uint8)
    block[:, 0] = 1
    block[:, 1] = (np.arange(1_000_000) % 200).astype(np.uint8)
    with gzip.open(path, "wb", compresslevel=6) as fh:
        fh.write(hdr + head)
        for _ in range(n // 1_000_000):
            fh.write(block.tobytes())
        fh.write(b"\0\0")
    return path.stat().st_size


def test_a_gz_of_a_hundred_million_tiny_records_is_refused_within_a_bound(tmp_path: Path, baseline_mb: float) -> None:
    """Case 5a: ~0.5 MB of .fit.gz inflating to 200 MB of 2-byte records (100 M records), next to a
    symlink to /dev/zero (case 5c) and a good file. The big file fails with the limit named, the
    other two are handled, and the peak stays within the inflated bytes (<= MAX_FIT_BYTES) plus
    the walk's 8 bytes per message up to MAX_MESSAGES, plus 150 MB."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    gz_size = _write_tiny_records_gz(inbox / "a_bomb.fit.gz", 100_000_000)
    assert gz_size < 2 * MB
    (inbox / "b_zero.fit").symlink_to("/dev/zero")
    (inbox / "c_ok.fit").write_bytes(SMALL.read_bytes())
    r = _child("import", str(tmp_path / "x.duckdb"), str(inbox))
    assert r["files"] == [
        [
            "a_bomb.fit.gz",
            "failed",
            f"too large: holds more than {MAX_MESSAGES:,} messages, the per-file limit: refused",
        ],
        ["b_zero.fit", "skipped", "not a regular file (a character device): not read"],
        ["c_ok.fit", "imported", None],
    ]
    grown = r["peak_mb"] - baseline_mb
    bound = (200_000_000 + 8 * MAX_MESSAGES) / MB + 150
    print(
        f"case 5a: peak {r['peak_mb']:.0f} MB, baseline {baseline_mb:.0f} MB, grown {grown:.0f} MB, bound {bound:.0f} MB"
    )
    assert grown <= bound


def _write_zip_of_big_members(path: Path, members: int, member_bytes: int) -> None:
    """A zip of ``members`` members of ``member_bytes`` each (a FIT header, then zeros), written by
    hand so that the deflated data is computed once and repeated."""
    hdr = struct.pack("<BBHI4s", 14, 0x20, 2132, member_bytes - 16, b".FIT")
    hdr += struct.pack("<H", fit_crc16(hdr))
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc = zlib.crc32(hdr)
    parts = [comp.compress(hdr)]
    zeros = bytes(16 * MB)
    left = member_bytes - len(hdr)
    while left:
        chunk = zeros[: min(left, len(zeros))]
        crc = zlib.crc32(chunk, crc)
        parts.append(comp.compress(chunk))
        left -= len(chunk)
    parts.append(comp.flush())
    deflated = b"".join(parts)
    central = b""
    with open(path, "wb") as fh:
        for i in range(members):
            name = f"DI_CONNECT/m{i:02}.fit".encode()
            offset = fh.tell()
            fh.write(
                struct.pack(
                    "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(deflated), member_bytes, len(name), 0
                )
                + name
            )
            fh.write(deflated)
            central += (
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    8,
                    0,
                    0x21,
                    crc,
                    len(deflated),
                    member_bytes,
                    len(name),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + name
            )
        start = fh.tell()
        fh.write(central)
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, members, members, len(central), start, 0))


def test_a_zip_of_big_members_is_read_one_member_at_a_time(tmp_path: Path, baseline_mb: float) -> None:
    """Case 5b: every member passes its size check (255 MiB < MAX_FIT_BYTES) but main loaded all of
    them at once (`list(iter_sources())`): 6 x 255 MiB. Now one member is in memory at a time."""
    member = 255 * MB
    assert member <= MAX_FIT_BYTES
    _write_zip_of_big_members(tmp_path / "export.zip", 6, member)
    r = _child("import", str(tmp_path / "x.duckdb"), str(tmp_path / "export.zip"), str(SMALL))
    assert [f[1] for f in r["files"]] == ["failed"] * 6 + ["imported"]
    assert all("malformed FIT data" in f[2] for f in r["files"][:6])
    grown = r["peak_mb"] - baseline_mb
    print(
        f"case 5b: peak {r['peak_mb']:.0f} MB, baseline {baseline_mb:.0f} MB, grown {grown:.0f} MB "
        f"(one member: {member / MB:.0f} MB)"
    )
    assert grown <= member / MB + 150  # main: 6 members at once


def test_decoding_a_large_valid_file_costs_a_bounded_amount_per_record(tmp_path: Path) -> None:
    """A valid 3 M-record run (66 MB): decoding and building its activity peaks at the file's bytes
    plus under 200 bytes per record (main: ~350; the canonical columns alone take 120)."""
    n = 3_000_000
    big = tmp_path / "big.fit"
    big.write_bytes(run_file(n))
    base = _child("decode", str(SMALL))["peak_mb"]
    r = _child("decode", str(big))
    assert r["status"] == "imported" and r["records"] == n
    per_record = (r["peak_mb"] - base) * MB / n - big.stat().st_size / n
    print(
        f"decode of {n} records: peak {r['peak_mb']:.0f} MB, baseline {base:.0f} MB, "
        f"{per_record:.0f} B/record beyond the file's bytes"
    )
    assert per_record < 200
