"""The fast decoder against its oracle, decode_fitparse: field by field, on every sample file,
on generated files (hypothesis), on damaged files, and on the invalid value of every base type."""

from __future__ import annotations

import concurrent.futures as cf
import csv
import datetime as dt
import hashlib
import importlib.metadata
import multiprocessing
import os
import pickle
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.fit import fitparse_boundary, model
from ingest.fit.fast_decoder import FastDecodeUnsupported, decode_fast, fit_crc16
from ingest.fit.fitparse_boundary import decode_fitparse
from ingest.fit.model import DecodedFit
from tests.ingest.fit.fitgen import RawFitWriter, fit_crc, make_run_fit, make_strength_fit
from tests.paths import SAMPLE_FIT

SAMPLE_DIR = SAMPLE_FIT
PROVENANCE = SAMPLE_DIR / "PROVENANCE.tsv"
FIT_EPOCH_S = 631065600


def _provenance_files() -> list[str]:
    with PROVENANCE.open(newline="") as fh:
        return [row["file"] for row in csv.DictReader(fh, delimiter="\t")]


CORPUS = _provenance_files()


# ------------------------------------------------------------------------------------------
# Comparison


def assert_same(oracle: DecodedFit, fast: DecodedFit, label: str = "") -> None:
    """Same message types, row counts, column names, dtypes, NaN/None positions and values
    (floats within 1e-9 relative), and the same kind of damage (the text before ':')."""
    assert fast.decoder == "fast"
    assert (oracle.error is None) == (fast.error is None), (label, oracle.error, fast.error)
    if oracle.error is not None:
        assert fast.error is not None
        assert oracle.error.split(":")[0] == fast.error.split(":")[0], (label, oracle.error, fast.error)
    assert set(oracle.messages) == set(fast.messages), label
    for name, mo in oracle.messages.items():
        mf = fast.messages[name]
        assert mo.n == mf.n, (label, name)
        assert set(mo.columns) == set(mf.columns), (
            label,
            name,
            sorted(set(mo.columns) - set(mf.columns)),
            sorted(set(mf.columns) - set(mo.columns)),
        )
        for col, xo in mo.columns.items():
            xf = mf.columns[col]
            where = f"{label} {name}.{col}"
            assert xo.dtype == xf.dtype, (where, xo.dtype, xf.dtype)
            assert xf.shape == (mf.n,), where
            if xo.dtype == np.float64:
                no, nf = np.isnan(xo), np.isnan(xf)
                assert np.array_equal(no, nf), (where, np.flatnonzero(no != nf)[:5])
                np.testing.assert_allclose(xf[~nf], xo[~no], rtol=1e-9, atol=0, err_msg=where)
            else:
                for i, (a, b) in enumerate(zip(xo.tolist(), xf.tolist(), strict=True)):
                    assert type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)), (
                        where,
                        i,
                        a,
                        b,
                    )
                    assert a == b, (where, i, a, b)


def _same(data: bytes, label: str = "") -> DecodedFit:
    oracle = decode_fitparse(data)
    fast = decode_fast(data)
    assert_same(oracle, fast, label)
    return fast


# ------------------------------------------------------------------------------------------
# The sample corpus (fitparse is slow: the oracle decodes run on both cores, once per session)


def _oracle_key(data: bytes) -> str:
    """What the oracle's result depends on: the bytes, fitparse's version, and our boundary code."""
    h = hashlib.sha256(data)
    h.update(importlib.metadata.version("fitparse").encode())
    for mod in (fitparse_boundary, model):
        h.update(Path(str(mod.__file__)).read_bytes())
    return h.hexdigest()[:32]


@pytest.fixture(scope="module")
def oracle_futures(request: pytest.FixtureRequest) -> Iterator[dict[str, cf.Future[DecodedFit]]]:
    """decode_fitparse of every sample file, on both cores (fitparse needs ~45 s for the corpus).

    Results are cached in pytest's cache directory, keyed by the file's bytes, fitparse's
    version and the source of fitparse_boundary.py and model.py, so a re-run only decodes what
    changed; RUNSTRONG_FIT_ORACLE_FRESH=1 (or ``pytest --cache-clear``) recomputes everything.
    """
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    cache_dir = Path(cache.mkdir("fit-oracle")) if cache is not None else None
    fresh = os.environ.get("RUNSTRONG_FIT_ORACLE_FRESH") == "1" or cache_dir is None
    # spawn, not fork: by now this test process holds threads and DuckDB connections of earlier tests,
    # and a forked child that inherits them can crash (it did once, in fitparse, on a leaked session)
    ex = cf.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    futs: dict[str, cf.Future[DecodedFit]] = {}
    pending: list[tuple[str, Path | None]] = []
    # biggest first, so the long ones overlap
    for rel in sorted(CORPUS, key=lambda f: -(SAMPLE_DIR / f).stat().st_size):
        data = (SAMPLE_DIR / rel).read_bytes()
        cached = cache_dir / f"{_oracle_key(data)}.pickle" if cache_dir is not None else None
        if cached is not None and cached.is_file() and not fresh:
            fut: cf.Future[DecodedFit] = cf.Future()
            fut.set_result(pickle.loads(cached.read_bytes()))
            futs[rel] = fut
        else:
            futs[rel] = ex.submit(decode_fitparse, data)
            pending.append((rel, cached))
    yield futs
    for rel, cached in pending:
        fut = futs[rel]
        if cached is not None and fut.done() and not fut.cancelled() and fut.exception() is None:
            cached.write_bytes(pickle.dumps(fut.result()))
    ex.shutdown(cancel_futures=True)


def test_corpus_is_complete() -> None:
    assert len(CORPUS) == 29
    for sub in ("runs", "strength", "other", "invalid"):
        assert any(f.startswith(sub + "/") for f in CORPUS)
    missing = [f for f in CORPUS if not (SAMPLE_DIR / f).is_file()]
    assert not missing


@pytest.mark.slow
@pytest.mark.parametrize("rel", CORPUS)
def test_corpus_file_matches_fitparse(rel: str, oracle_futures: dict[str, cf.Future[DecodedFit]]) -> None:
    data = (SAMPLE_DIR / rel).read_bytes()
    fast = decode_fast(data)  # no file of the corpus needs the fitparse fallback
    oracle = oracle_futures[rel].result(timeout=240)
    assert_same(oracle, fast, rel)
    if rel.startswith("invalid/"):
        assert fast.error is not None
    else:
        assert fast.error is None


def test_corpus_specific_values() -> None:
    """A few values checked by hand, so a shared mistake of both decoders would show."""
    dec = decode_fast((SAMPLE_DIR / "runs/developer-types-sample.fit").read_bytes())
    rec = dec.get("record")
    assert rec.n == 3424
    for dev in ("Form Power", "Leg Spring Stiffness"):  # Stryd developer fields, by description
        assert dev in rec.columns and rec.columns[dev].dtype == np.float64
    np.testing.assert_allclose(rec.numeric("enhanced_speed"), rec.numeric("speed"), equal_nan=True)
    comp = decode_fast((SAMPLE_DIR / "runs/compressed-speed-distance.fit").read_bytes()).get("record")
    d = comp.numeric("distance")
    assert comp.n == 755 and np.nanmax(d) > 4096 / 16  # the 12-bit distance wrapped and was accumulated
    assert np.all(np.diff(d[~np.isnan(d)]) >= 0)
    chained = decode_fast((SAMPLE_DIR / "runs/sample_mulitple_header.fit").read_bytes())
    # four chained FIT files: swim, T1, bike + T2, run
    assert chained.get("session").objects("sport") == ["swimming", "transition", "cycling", "transition", "running"]
    sets = decode_fast((SAMPLE_DIR / "strength/20474406937_ACTIVITY.fit").read_bytes()).get("set")
    assert sets.n == 76 and sets.objects("set_type").count("active") == 38


# ------------------------------------------------------------------------------------------
# Invalid values per base type


def test_invalid_value_per_base_type() -> None:
    t0 = 1_100_000_000
    w = RawFitWriter()
    # file_id: type enum, manufacturer uint16, serial uint32z, product_name string
    w.define(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (3, 4, 0x8C), (8, 8, 0x07)])
    w.data(0, [4, 1, 0, b""])  # serial 0 = invalid for uint32z; empty string = absent
    w.data(0, [0xFF, 0xFFFF, 7, "fenix"])
    w.define(1, 207, [(3, 1, 0x02), (1, 16, 0x0D)])
    w.data(1, [0, bytes(16)])
    w.define(2, 206, [(0, 1, 0x02), (1, 1, 0x02), (2, 1, 0x02), (3, 8, 0x07)])
    w.data(2, [0, 0, 0x88, "f32"])
    w.data(2, [0, 1, 0x84, "u16"])
    w.data(2, [0, 2, 0x01, "s8"])
    # record: timestamp, heart_rate uint8, temperature sint8, altitude uint16, position_lat sint32,
    # distance uint32, grade sint16, + dev float32 / uint16 / sint8
    w.define(
        3,
        20,
        [(253, 4, 0x86), (3, 1, 0x02), (13, 1, 0x01), (2, 2, 0x84), (0, 4, 0x85), (5, 4, 0x86), (9, 2, 0x83)],
        [(0, 4, 0), (1, 2, 0), (2, 1, 0)],
    )
    types = [0x88, 0x84, 0x01]
    w.data(3, [t0, 0xFE, -1, 0, -1, 0, -1], [0.0, 0, -1], dev_types=types)  # all valid, incl. -1 °C
    w.data(
        3, [t0 + 1, 0xFF, 0x7F, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FFF], [float("nan"), 0xFFFF, 0x7F], dev_types=types
    )  # all invalid
    w.data(
        3, [t0 + 2, 0, -128, 0xFFFE, -0x80000000, 0xFFFFFFFE, -0x8000], [-1.5, 0xFFFE, -128], dev_types=types
    )  # extremes that are valid
    data = w.to_bytes()
    fast = _same(data, "invalid values")
    rec = fast.get("record")
    assert rec.objects("heart_rate") == [254, None, 0]
    assert rec.objects("temperature") == [-1, None, -128]  # a real -1 °C survives
    assert rec.objects("altitude") == [-500.0, None, 0xFFFE / 5 - 500]
    assert rec.objects("position_lat") == [-1, None, -0x80000000]
    assert rec.objects("distance") == [0.0, None, 0xFFFFFFFE / 100]
    assert rec.objects("grade") == [-0.01, None, -0x8000 / 100]
    assert rec.objects("f32") == [0.0, None, -1.5]
    assert rec.objects("u16") == [0, None, 0xFFFE]
    assert rec.objects("s8") == [-1, None, -128]
    fid = fast.get("file_id")
    assert fid.objects("serial_number") == [None, 7]  # uint32z: 0 is invalid
    assert fid.objects("product_name") == [None, "fenix"]
    assert fid.objects("type") == ["activity", None]
    assert fid.objects("manufacturer") == ["garmin", None]


def test_byte_and_array_fields() -> None:
    w = RawFitWriter()
    w.define(0, 225, [(254, 4, 0x86), (7, 4, 0x84), (8, 2, 0x84), (5, 1, 0x02)])  # set: category[2], subtype[1]
    w.data(0, [1_100_000_000, [28, 0xFFFF], [6], 1])
    w.data(0, [1_100_000_100, [0xFFFF, 0xFFFF], [0xFFFF], 0])
    w.define(1, 20, [(253, 4, 0x86), (8, 3, 0x0D), (199, 3, 0x0D), (198, 4, 0x02)])  # bytes + unknown fields
    w.data(1, [1_100_000_000, bytes([0x10, 0x20, 0x30]), bytes([0xFF, 0xFF, 0xFF]), [1, 0xFF, 3, 4]])
    w.data(1, [1_100_000_001, bytes([0xFF, 0xFF, 0xFF]), bytes([1, 2, 0xFF]), [0xFF] * 4])
    fast = _same(w.to_bytes(), "arrays")
    s = fast.get("set")
    assert s.objects("category") == [(28, None), (None, None)]
    assert s.objects("category_subtype") == [6, None]
    assert s.objects("set_type") == ["active", "rest"]
    rec = fast.get("record")
    assert rec.objects("unknown_199") == [None, (1, 2, 0xFF)]
    assert rec.objects("unknown_198") == [(1, None, 3, 4), (None,) * 4]
    assert rec.objects("speed")[0] == pytest.approx(0x010 / 100)  # low 12 bits of 0x302010
    assert rec.objects("distance")[0] == pytest.approx(0x302 / 16)


def test_empty_and_tiny_inputs() -> None:
    for data in (b"", b"\x0e", b"\x0e\x10" + b"\x00" * 10, b"not a FIT file at all"):
        _same(data, repr(data[:8]))
    with pytest.raises(TypeError):
        decode_fast("text")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Damage: truncation anywhere, and a flipped byte anywhere


_SMALL = (SAMPLE_DIR / "runs/garmin-fenix-5-run.fit").read_bytes()
_STRENGTH = make_strength_fit(
    [{"repetitions": 5, "weight": 100.0, "duration": 20, "category": ["squat"]}, {"set_type": "rest", "duration": 60}],
    dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=len(_SMALL) - 1))
def test_truncated_anywhere(cut: int) -> None:
    _same(_SMALL[:cut], f"cut at {cut}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=st.integers(min_value=0, max_value=len(_STRENGTH) - 1), xor=st.integers(min_value=1, max_value=255))
def test_flipped_byte(pos: int, xor: int) -> None:
    """A damaged byte anywhere: the same result as fitparse, or a clean fallback request."""
    data = bytearray(_STRENGTH)
    data[pos] ^= xor
    try:
        fast = decode_fast(bytes(data))
    except FastDecodeUnsupported:
        return
    assert_same(decode_fitparse(bytes(data)), fast, f"byte {pos} ^ {xor}")


def test_chained_and_trailing_garbage() -> None:
    one = make_strength_fit(
        [{"repetitions": 3, "weight": 50.0, "duration": 15}], dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC)
    )
    two = make_run_fit(20, dt.datetime(2026, 1, 6, 7, 0, tzinfo=dt.UTC), seed=4)
    fast = _same(one + two, "chained")
    assert fast.get("session").n == 2 and fast.error is None
    assert _same(one + two + b"garbage!", "garbage").error is not None
    assert _same(one + two[:100], "chained, truncated").error is not None


def test_misaligned_developer_field_like_fitparse() -> None:
    """A uint16 developer field declared 3 bytes wide: fitparse reads one value (2 bytes) and
    goes on with the third byte as the next header; the fast decoder reproduces that."""
    w = RawFitWriter()
    w.define(0, 207, [(3, 1, 0x02)])
    w.data(0, [0])
    w.define(1, 206, [(0, 1, 0x02), (1, 1, 0x02), (2, 1, 0x02), (3, 4, 0x07)])
    w.data(1, [0, 0, 0x84, "odd"])
    w.define(2, 20, [(253, 4, 0x86)], [(0, 3, 0)])
    w.data(2, [1_000_000_000], [b"\x01\x02\x02"], dev_types=[0x0D])  # third byte 0x02: a data header
    _same(w.to_bytes(), "misaligned developer field")


def test_unsupported_is_raised_for_float_components() -> None:
    """record.speed written as float32: fitparse expands it unmasked; we do not, we ask for fitparse."""
    w = RawFitWriter()
    w.define(0, 20, [(253, 4, 0x86), (6, 4, 0x88)])
    w.data(0, [1_000_000_000, 3.5])
    data = w.to_bytes()
    with pytest.raises(FastDecodeUnsupported) as exc:
        decode_fast(data)
    assert "float" in exc.value.reason
    assert decode_fitparse(data).get("record").objects("enhanced_speed") == [3.5 / 1000]


def test_crc16_matches_the_sdk_algorithm() -> None:
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 2047, 2048, 2049, 5000, 70_001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert fit_crc16(data) == fit_crc(data), n


# ------------------------------------------------------------------------------------------
# Generated files (hypothesis): fast == fitparse

_U8 = st.integers(0, 0xFF)
_S8 = st.integers(-128, 127)
_U16 = st.integers(0, 0xFFFF)
_S16 = st.integers(-0x8000, 0x7FFF)
_S32 = st.integers(-0x80000000, 0x7FFFFFFF)
_U32 = st.integers(0, 0xFFFFFFFF)


def _edge(strategy: st.SearchStrategy[int], *specials: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(specials), strategy)


#: record fields: (def_num, size, base type, value strategy), invalid values drawn often
RECORD_FIELDS = [
    (3, 1, 0x02, _edge(_U8, 0xFF, 0, 150)),  # heart_rate
    (6, 2, 0x84, _edge(_U16, 0xFFFF, 0, 3100)),  # speed -> enhanced_speed
    (2, 2, 0x84, _edge(_U16, 0xFFFF, 0, 2500)),  # altitude -> enhanced_altitude
    (0, 4, 0x85, _edge(_S32, 0x7FFFFFFF, -1)),  # position_lat
    (1, 4, 0x85, _edge(_S32, 0x7FFFFFFF, -1)),  # position_long
    (13, 1, 0x01, _edge(_S8, 0x7F, -1, -128)),  # temperature
    (5, 4, 0x86, _edge(_U32, 0xFFFFFFFF)),  # distance
    (4, 1, 0x02, _edge(_U8, 0xFF)),  # cadence
    (53, 1, 0x02, _edge(_U8, 0xFF)),  # fractional_cadence
    (7, 2, 0x84, _edge(_U16, 0xFFFF)),  # power
    (18, 1, 0x02, _edge(_U8, 0xFF)),  # cycles -> accumulated total_cycles
    (28, 2, 0x84, _edge(_U16, 0xFFFF)),  # compressed_accumulated_power -> accumulated_power
    (39, 2, 0x84, _edge(_U16, 0xFFFF)),  # vertical_oscillation (scale 10)
    (41, 2, 0x84, _edge(_U16, 0xFFFF)),  # stance_time (scale 10)
    (42, 1, 0x00, _edge(_U8, 0xFF, 0, 1, 200)),  # activity_type (enum: names and unknown numbers)
]

DEV_TYPES = {
    0x02: (1, _U8),
    0x84: (2, _U16),
    0x85: (4, _S32),
    0x01: (1, _S8),
    0x88: (4, st.floats(width=32, allow_nan=True)),
    0x86: (4, _U32),
}


@st.composite
def record_files(draw: st.DrawFn) -> bytes:
    big = draw(st.booleans())
    chosen = draw(st.lists(st.sampled_from(range(len(RECORD_FIELDS))), min_size=1, max_size=8, unique=True))
    fields = [RECORD_FIELDS[i] for i in chosen]
    if draw(st.booleans()):  # a compressed speed/distance field (byte[3])
        fields.append((8, 3, 0x0D, st.binary(min_size=3, max_size=3)))
    dev = draw(st.lists(st.sampled_from(sorted(DEV_TYPES)), max_size=3))
    w = RawFitWriter()
    t0 = draw(st.integers(0x10000000, 0x7FFFFFFF))
    w.define(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (2, 2, 0x84), (4, 4, 0x86)], big_endian=big)
    w.data(0, [4, draw(st.sampled_from([1, 15, 255, 0xFFFF])), draw(_U16), t0])  # product / garmin_product
    if dev:
        w.define(1, 207, [(3, 1, 0x02)])
        w.data(1, [0])
        w.define(1, 206, [(0, 1, 0x02), (1, 1, 0x02), (2, 1, 0x02), (3, 8, 0x07), (8, 8, 0x07)])
        for k, bt in enumerate(dev):
            w.data(1, [0, k, bt, f"Dev{k}", "u"])
    dev_defs = [(k, DEV_TYPES[bt][0], 0) for k, bt in enumerate(dev)]
    # local 0: records with a timestamp field; local 1: the same without (for compressed headers)
    w.define(0, 20, [(253, 4, 0x86), *[(f[0], f[1], f[2]) for f in fields]], dev_defs, big_endian=big)
    w.define(1, 20, [(f[0], f[1], f[2]) for f in fields], dev_defs, big_endian=big)
    ts = t0
    for _ in range(draw(st.integers(1, 12))):
        vals = [draw(f[3]) for f in fields]
        dvals = [draw(DEV_TYPES[bt][1]) for bt in dev]
        ts += draw(st.integers(0, 40))
        if draw(st.booleans()):
            w.data(1, vals, dvals, dev_types=dev, time_offset=ts & 0x1F)
        else:
            w.data(0, [ts, *vals], dvals, dev_types=dev)
    if draw(st.booleans()):  # a redefinition resets accumulators
        w.define(0, 20, [(253, 4, 0x86), *[(f[0], f[1], f[2]) for f in fields]], dev_defs, big_endian=big)
        w.data(0, [ts + 1, *[draw(f[3]) for f in fields]], [draw(DEV_TYPES[bt][1]) for bt in dev], dev_types=dev)
    # session with sport-dependent sub-fields (avg_running_cadence, total_strides)
    w.define(2, 18, [(253, 4, 0x86), (5, 1, 0x00), (18, 1, 0x02), (10, 4, 0x86), (14, 2, 0x84)], big_endian=big)
    w.data(2, [ts, draw(st.sampled_from([1, 2, 11, 0xFF, 77])), draw(_U8), draw(_U32), draw(_U16)])
    return w.to_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=record_files())
def test_generated_records_match_fitparse(data: bytes) -> None:
    _same(data, "generated")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 40), seed=st.integers(0, 2**16), with_power=st.booleans(), dev_power=st.booleans())
def test_fit_tool_runs_match_fitparse(n: int, seed: int, with_power: bool, dev_power: bool) -> None:
    data = make_run_fit(
        n, dt.datetime(2026, 2, 1, 6, 0, tzinfo=dt.UTC), seed=seed, with_power=with_power, dev_power=dev_power
    )
    fast = _same(data, "fit-tool run")
    assert fast.get("record").n == n
    assert ("Power" in fast.get("record").columns) == dev_power


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sets=st.lists(
        st.fixed_dictionaries(
            {
                "set_type": st.sampled_from(["active", "rest"]),
                "repetitions": st.one_of(st.none(), st.integers(0, 50)),
                "weight": st.one_of(st.none(), st.integers(0, 4000).map(lambda g: g / 16)),
                "duration": st.integers(1, 600),
                "category": st.one_of(st.none(), st.lists(st.integers(0, 32), min_size=1, max_size=3)),
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_fit_tool_strength_matches_fitparse(sets: list[dict[str, object]]) -> None:
    data = make_strength_fit(sets, dt.datetime(2026, 2, 1, 6, 0, tzinfo=dt.UTC))
    fast = _same(data, "fit-tool strength")
    assert fast.get("set").n == len(sets)


def test_compressed_timestamps_rollover() -> None:
    """Offsets wrap every 32 s; each compressed header adds the 5-bit difference."""
    w = RawFitWriter()
    t0 = 1_000_000_030  # low 5 bits 30
    w.define(0, 20, [(253, 4, 0x86), (3, 1, 0x02)])
    w.define(1, 20, [(3, 1, 0x02)])
    w.data(0, [t0, 100])
    expected = [t0]
    t = t0
    for step in (1, 3, 31, 0, 17):
        t += step
        w.data(1, [101], time_offset=t & 0x1F)
        expected.append(t)
    fast = _same(w.to_bytes(), "compressed")
    assert fast.get("record").objects("timestamp") == [v + FIT_EPOCH_S for v in expected]


def test_big_endian_definition() -> None:
    w = RawFitWriter()
    w.define(0, 20, [(253, 4, 0x86), (6, 2, 0x84), (0, 4, 0x85)], big_endian=True)
    w.data(0, [1_000_000_000, 3100, -123456])
    rec = _same(w.to_bytes(), "big endian").get("record")
    assert rec.objects("speed") == [3.1] and rec.objects("position_lat") == [-123456]
    raw = w.to_bytes()
    assert struct.pack(">H", 3100) in raw


def test_comparison_detects_differences() -> None:
    """The equality helper itself must fail on a changed value, a moved NaN, a renamed column."""
    data = make_run_fit(5, dt.datetime(2026, 2, 1, 6, 0, tzinfo=dt.UTC), seed=1)
    oracle = decode_fitparse(data)

    def mutated(fn: object) -> DecodedFit:
        fast = decode_fast(data)
        fn(fast.messages["record"].columns)  # type: ignore[operator]
        return fast

    def bump(c: dict[str, np.ndarray]) -> None:
        c["heart_rate"][2] += 1e-6

    def nan(c: dict[str, np.ndarray]) -> None:
        c["speed"][0] = np.nan

    def rename(c: dict[str, np.ndarray]) -> None:
        c["hr"] = c.pop("heart_rate")

    for fn in (bump, nan, rename):
        with pytest.raises(AssertionError):
            assert_same(oracle, mutated(fn), fn.__name__)
    assert_same(oracle, decode_fast(data), "unchanged")


@pytest.mark.parametrize("case", ["time_of_day", "date_time_array", "zero_size_field"])
def test_fitparse_processor_failures_in_skipped_messages(case: str) -> None:
    """fitparse stops at a message it cannot convert even when we do not store that message
    type; the fast decoder stops at the same message, keeping what comes before."""
    w = RawFitWriter()
    w.define(0, 20, [(253, 4, 0x86), (3, 1, 0x02)])
    w.data(0, [1_000_000_000, 120])
    if case == "time_of_day":
        w.define(1, 3, [(28, 4, 0x86)])  # user_profile.wake_time: seconds into the day
        w.data(1, [3600])
        w.data(1, [90_000])  # 25:00 -> fitparse: ValueError
    elif case == "date_time_array":
        w.define(1, 21, [(253, 8, 0x86)])  # event.timestamp as two uint32 -> TypeError
        w.data(1, [[1_000_000_001, 1_000_000_002]])
    else:
        w.define(1, 21, [(253, 4, 0x86), (0, 0, 0x00)])  # zero-size field: struct error on first use
        w.data(1, [1_000_000_001, b""])
    w.data(0, [1_000_000_003, 121])
    fast = _same(w.to_bytes(), case)
    assert fast.error is not None and fast.error.startswith("malformed FIT data")
    assert fast.get("record").objects("heart_rate") == [120]
