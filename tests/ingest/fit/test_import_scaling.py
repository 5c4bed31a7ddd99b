"""Work per file stays constant however many files fail or are skipped (issue 12, item 9).

Counted, not timed (timing belongs in benchmarks/bench_import_scaling.py): the importer's queue
entries looked at, and the longest the queue gets, for batches of N failed, duplicate and
skipped files. main scanned the whole queue on every file (6.5 s at 4 k one-byte members, 56 s
at 16 k, > 300 s at 50 k).
"""

from __future__ import annotations

import collections
import io
import zipfile
from pathlib import Path

import pytest

import ingest.fit.importer as importer
from ingest.fit.importer import import_paths
from store.connection import open_store

RUN = (Path(__file__).resolve().parents[3] / "sample_data" / "fit" / "runs" / "garmin-fenix-5-run.fit").read_bytes()


class CountingDeque(collections.deque):
    """A deque that counts the entries iterated over and its longest length."""

    looked_at = 0
    longest = 0

    def __iter__(self):
        for x in super().__iter__():
            CountingDeque.looked_at += 1
            yield x

    def append(self, x) -> None:
        super().append(x)
        CountingDeque.longest = max(CountingDeque.longest, len(self))


def _zip(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(n):
            z.writestr(f"f{i:06}.fit", bytes([i % 256]))  # one byte: 256 distinct failures, then duplicates
        z.writestr("run.fit", RUN)
    return buf.getvalue()


def _import(tmp_path: Path, n: int, monkeypatch) -> tuple[float, int, int]:
    (tmp_path / f"{n}.zip").write_bytes(_zip(n))
    monkeypatch.setattr(importer, "deque", CountingDeque)
    CountingDeque.looked_at = CountingDeque.longest = 0
    con = open_store(tmp_path / f"{n}.duckdb")
    s = import_paths(con, [tmp_path / f"{n}.zip"], athlete="default", workers=1, show_progress=False)
    assert len(s.files) == n + 1 and s.count("imported") == 1
    assert s.count("failed") == n  # 256 distinct one-byte files and their copies all fail
    events = con.execute("SELECT count(*) FROM import_event").fetchone()[0]
    assert events == min(n, 256)  # each distinct failure is logged once; copies follow the first
    con.close()
    return CountingDeque.looked_at / n, CountingDeque.longest, n


@pytest.mark.parametrize("n", [500, 3000])
def test_queue_work_per_file_is_constant(n: int, tmp_path: Path, monkeypatch) -> None:
    per_file, longest, _ = _import(tmp_path, n, monkeypatch)
    assert per_file <= 1.0  # main: ~n/2 entries looked at per file
    assert longest <= 4 * 2 + 1  # main: the queue held every failed file (n)


def test_a_reimport_of_duplicates_is_linear_too(tmp_path: Path, monkeypatch) -> None:
    """Every file already imported: the duplicate path, also O(1) per file."""
    folder = tmp_path / "export"
    folder.mkdir()
    for i in range(400):
        data = bytearray(RUN)
        data[-3] ^= i % 251 + 1  # a different (damaged: CRC) file each, imported as partial
        data[-4] ^= i // 251
        (folder / f"{i:04}.fit").write_bytes(bytes(data))
    con = open_store(tmp_path / "x.duckdb")
    first = import_paths(con, [folder], athlete="default", workers=1, show_progress=False)
    assert first.count("partial") == 400
    monkeypatch.setattr(importer, "deque", CountingDeque)
    CountingDeque.looked_at = CountingDeque.longest = 0
    again = import_paths(con, [folder], athlete="default", workers=1, show_progress=False)
    assert again.count("skipped") == 400
    assert CountingDeque.looked_at <= 400 and CountingDeque.longest <= 9
