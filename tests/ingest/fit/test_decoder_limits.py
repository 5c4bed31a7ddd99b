"""The decoders' per-file limits, chunked decoding, message positions, and a header whose data_size
is wrong (issue 12, items 5 and 15)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

import ingest.fit.fast_decoder as fast_decoder
import ingest.fit.fitparse_boundary as fitparse_boundary
import ingest.fit.importer as importer
from ingest.fit.fast_decoder import decode_fast, fit_crc16
from ingest.fit.fitparse_boundary import decode_fitparse
from ingest.fit.model import FitTooLarge
from tests.ingest.fit.bigfit import run_file, tiny_records
from tests.ingest.fit.fitgen import RawFitWriter

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data" / "fit"
STRENGTH = (SAMPLE / "strength" / "20748058539_ACTIVITY.fit").read_bytes()


def _decode_item(data: bytes):
    return importer.decode_item("x.fit", data, hashlib.sha256(data).hexdigest())


def _same_messages(a, b) -> None:
    assert set(a.messages) == set(b.messages)
    for name, ma in a.messages.items():
        mb = b.messages[name]
        assert ma.n == mb.n and set(ma.columns) == set(mb.columns), name
        for k, xa in ma.columns.items():
            xb = mb.columns[k]
            if xa.dtype == np.float64:
                assert np.array_equal(xa, xb, equal_nan=True), (name, k)
            else:
                assert xa.tolist() == xb.tolist(), (name, k)


# ------------------------------------------------------------------------------------------
# limits


def test_a_file_over_the_message_limit_is_refused_in_the_walk(monkeypatch) -> None:
    """100 M two-byte records fit in 200 MB (a 582 KB .fit.gz): decoding them all would take ~38 GB.
    Past MAX_MESSAGES the walk stops and the file is refused, with no fitparse fallback."""
    monkeypatch.setattr(fast_decoder, "MAX_MESSAGES", 10_000)
    monkeypatch.setattr(fast_decoder, "_WALK_STRIDE", 1024)
    with pytest.raises(FitTooLarge, match="more than 10,000 messages"):
        decode_fast(tiny_records(20_000))
    assert decode_fast(tiny_records(9_000)).get("record").n == 9_000

    def no_fallback(*a, **k):
        raise AssertionError("fitparse must not decode a file refused for its size")

    monkeypatch.setattr(importer, "decode_fitparse", no_fallback)
    d = _decode_item(tiny_records(20_000))
    assert d.status == "failed"
    assert d.error == "too large: holds more than 10,000 messages, the per-file limit: refused"


def test_a_file_of_endless_distinct_layouts_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(fast_decoder, "MAX_LAYOUTS", 50)
    w = RawFitWriter()
    for k in range(60):  # 60 definitions that differ (field 0..59 of a record), one message each
        w.define(0, 20, [(k, 1, 0x02)])
        w.data(0, [1])
    with pytest.raises(FitTooLarge, match="more than 50 distinct message layouts"):
        decode_fast(w.to_bytes())


def test_the_fallback_decoder_is_bounded_too(monkeypatch) -> None:
    monkeypatch.setattr(fitparse_boundary, "FITPARSE_MAX_MESSAGES", 100)
    with pytest.raises(FitTooLarge, match="limit of the fallback decoder"):
        decode_fitparse(run_file(200))
    assert decode_fitparse(run_file(50)).get("record").n == 50


def test_the_limit_admits_twenty_million_records() -> None:
    from ingest.fit.model import MAX_MESSAGES

    assert MAX_MESSAGES >= 20_000_000


# ------------------------------------------------------------------------------------------
# chunked decoding and positions


@pytest.mark.parametrize(
    "rel",
    [
        "runs/activity-small-fenix2-run.fit",
        "runs/compressed-speed-distance.fit",
        "runs/sample_mulitple_header.fit",
        "strength/20474406937_ACTIVITY.fit",
        "runs/developer-types-sample.fit",
    ],
)
def test_decoding_in_chunks_gives_the_same_columns(rel: str, monkeypatch) -> None:
    """Rows decoded CHUNK_ROWS at a time (here 7: accumulated and compressed fields cross chunk
    borders) give exactly the columns of one whole pass."""
    data = (SAMPLE / rel).read_bytes()
    whole = decode_fast(data)
    monkeypatch.setattr(fast_decoder, "CHUNK_ROWS", 7)
    chunked = decode_fast(data)
    _same_messages(whole, chunked)
    for name, m in chunked.messages.items():
        assert np.array_equal(m.positions, whole.messages[name].positions), name


@pytest.mark.parametrize(
    "rel", ["runs/sample_mulitple_header.fit", "strength/20748058539_ACTIVITY.fit", "other/TestEncode.fit"]
)
def test_positions_order_messages_across_types_like_fitparse(rel: str) -> None:
    """Byte offsets (fast) and message ordinals (fitparse) put every stored message in the same place
    among the others."""
    data = (SAMPLE / rel).read_bytes()

    def sequence(fit) -> list[tuple[str, int]]:
        items = [(int(p), name, i) for name, m in fit.messages.items() for i, p in enumerate(m.positions)]
        return [(name, i) for _, name, i in sorted(items)]

    fast, slow = decode_fast(data), decode_fitparse(data)
    assert sequence(fast) == sequence(slow)
    for m in fast.messages.values():
        assert np.all(np.diff(m.positions) > 0)


def test_decoded_memory_grows_with_the_columns_not_with_the_decoder() -> None:
    """The walk keeps 8 bytes per message (an int64 array, not a list of Python ints)."""
    w = fast_decoder._Walker(run_file(10_000))
    walk = w.run()
    [rec] = [g for g in walk.groups if g.mesg_num == 20]
    assert rec.offs.itemsize == 8 and len(rec.offs) == 10_000


# ------------------------------------------------------------------------------------------
# a header whose data_size is wrong


def _with_data_size(data: bytes, data_size: int, *, fix_crcs: bool = True) -> bytes:
    out = bytearray(data)
    out[4:8] = struct.pack("<I", data_size)
    if fix_crcs:  # a writer that wrote the wrong size and computed its CRCs over what it wrote
        out[12:14] = struct.pack("<H", fit_crc16(bytes(out[:12])))
        out[-2:] = struct.pack("<H", fit_crc16(bytes(out[:-2])))
    return bytes(out)


@pytest.mark.parametrize("delta", [-1000, -1, 1, 5000])
def test_a_wrong_data_size_reads_on_when_every_message_is_intact(delta: int, tmp_path: Path) -> None:
    """main failed these files (or kept the part before the declared end) although every message
    is intact: the messages are read to the file's CRC and the file is `partial`, naming the size."""
    good = decode_fast(STRENGTH)
    size = len(STRENGTH) - 16
    bad = _with_data_size(STRENGTH, size + delta)
    fit = decode_fast(bad)
    _same_messages(good, fit)
    assert fit.error == (
        f"wrong data size in the FIT header: it says {size + delta} bytes of messages, the "
        f"messages run intact to the file's CRC ({size} bytes): read on (at byte offset 4)"
    )
    d = _decode_item(bad)
    assert d.status == "partial" and d.error == fit.error
    assert sum(len(a.records) for a in d.activities) == good.get("record").n
    assert sum(len(a.sets) for a in d.activities) == good.get("set").n


def test_a_wrong_data_size_in_a_damaged_file_is_not_read_on() -> None:
    """Without the writer's CRCs (a flipped size byte), or with a message damaged, the declared size
    is followed and the damage reported where fitparse reports it."""
    size = len(STRENGTH) - 16
    flipped = _with_data_size(STRENGTH, size - 1000, fix_crcs=False)
    fit = decode_fast(flipped)
    assert fit.error.startswith("CRC mismatch: header CRC")
    assert decode_fitparse(flipped).error.split(":")[0] == "CRC mismatch"
    torn = bytearray(_with_data_size(STRENGTH, size + 10))
    torn[5000] ^= 0xFF  # the writer's CRC no longer matches: not every message can be trusted
    assert not (decode_fast(bytes(torn)).error or "").startswith("wrong data size")


def test_chained_files_with_right_sizes_are_not_affected() -> None:
    two = STRENGTH + run_file(30)
    fit = decode_fast(two)
    assert fit.error is None and fit.get("session").n == 2
