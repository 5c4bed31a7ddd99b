"""WitMotion frames, stream parser, vectorised decoding and commands (golden vectors from
docs/ble-protocols.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.ble.protocols import witmotion as wm
from ingest.ble.protocols.base import ProtocolError, TruncatedError
from ingest.ble.protocols.witmotion import raw_to_si
from records.units import STANDARD_GRAVITY_MPS2

GOLDEN = bytes.fromhex("55 61 77 02 a8 fe 92 fe 06 02 30 fe cd ff f8 f0 53 fc ab c4")

i16 = st.integers(-32768, 32767)
data_frames = st.builds(wm.DataFrame, *([i16] * 9))
register_replies = st.builds(wm.RegisterReply, st.integers(0, 0xFFFF), st.tuples(*([i16] * 8)))


def test_golden_data_frame_in_si_units() -> None:
    frame = wm.DataFrame.from_bytes(GOLDEN)
    accel, gyro, angles = frame.to_si()
    np.testing.assert_allclose(accel / STANDARD_GRAVITY_MPS2, [0.308, -0.168, -0.179], atol=5e-4)
    np.testing.assert_allclose(np.rad2deg(gyro), [31.62, -28.32, -3.11], atol=5e-3)
    np.testing.assert_allclose(np.rad2deg(angles), [-21.14, -5.17, -83.44], atol=5e-3)
    assert bytes(frame) == GOLDEN


def test_vectorised_decode_matches_record_decode() -> None:
    rng = np.random.default_rng(1)
    raw = rng.integers(-32768, 32768, size=(500, 9)).astype(np.int16)
    buf = wm.encode_data_frames(raw)
    assert len(buf) == 500 * 20
    np.testing.assert_array_equal(wm.decode_data_frames(buf), raw)
    for i in (0, 17, 499):
        assert wm.DataFrame.from_bytes(buf[i * 20 : (i + 1) * 20]).raw == tuple(int(v) for v in raw[i])


def test_decode_data_frames_names_the_bad_frame() -> None:
    buf = bytearray(GOLDEN * 4)
    buf[41] = 0x71
    with pytest.raises(ProtocolError) as err:
        wm.decode_data_frames(bytes(buf))
    assert err.value.offset == 40 and err.value.expected == "55 61" and err.value.got == "55 71"
    with pytest.raises(TruncatedError) as err2:
        wm.decode_data_frames(GOLDEN * 2 + GOLDEN[:7])
    assert isinstance(err2.value, ValueError) and err2.value.offset == 40


@pytest.mark.parametrize("n", [0, 1, 2, 19])
def test_truncated_frame_is_a_clear_value_error(n: int) -> None:
    with pytest.raises(ValueError, match=r"wrong length.*offset 0.*expected 20 bytes.*got"):
        wm.DataFrame.from_bytes(GOLDEN[:n])


def test_wrong_header_is_reported() -> None:
    with pytest.raises(ProtocolError, match=r"expected 55 61.*got 55 71"):
        wm.DataFrame.from_bytes(b"\x55\x71" + GOLDEN[2:])


@given(data_frames)
def test_data_frame_round_trip(frame: wm.DataFrame) -> None:
    assert wm.DataFrame.from_bytes(bytes(frame)) == frame


@given(register_replies)
def test_register_reply_round_trip(reply: wm.RegisterReply) -> None:
    assert wm.RegisterReply.from_bytes(bytes(reply)) == reply


def _stream(frames: list[wm.DataFrame | wm.RegisterReply], garbage: list[bytes]) -> bytes:
    out = bytearray()
    for i, f in enumerate(frames):
        out += garbage[i % len(garbage)] if garbage else b""
        out += bytes(f)
    return bytes(out)


def _parse_all(parser: wm.WitMotionStreamParser, chunks: list[bytes]) -> tuple[np.ndarray, list, int]:
    raws, regs, skipped = [], [], 0
    for c in chunks:
        p = parser.feed(c)
        raws.append(p.raw_i16)
        regs += p.registers
        skipped += p.skipped_bytes
    return np.concatenate(raws) if raws else np.zeros((0, 9), np.int16), regs, skipped


# Garbage that cannot contain a frame header (no 0x55): the parser must skip it exactly.
garbage_bytes = st.binary(max_size=25).map(lambda b: bytes(x for x in b if x != 0x55))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(data_frames, register_replies), min_size=1, max_size=40),
    st.lists(garbage_bytes, max_size=5),
    st.data(),
)
def test_random_chunking_equals_whole_buffer(frames, garbage, data) -> None:
    stream = _stream(frames, garbage)
    whole_raw, whole_regs, whole_skipped = _parse_all(wm.WitMotionStreamParser(), [stream])
    # Whole-buffer parse finds exactly the frames that were put in, garbage skipped.
    expected_raw = [f.raw for f in frames if isinstance(f, wm.DataFrame)]
    assert [tuple(int(v) for v in r) for r in whole_raw] == expected_raw
    assert whole_regs == [f for f in frames if isinstance(f, wm.RegisterReply)]
    expected_skipped = sum(len(garbage[i % len(garbage)]) for i in range(len(frames))) if garbage else 0
    assert whole_skipped == expected_skipped
    # Random cut points: the same frames in the same order.
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=30)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    raw, regs, skipped = _parse_all(wm.WitMotionStreamParser(), chunks)
    np.testing.assert_array_equal(raw, whole_raw)
    assert regs == whole_regs and skipped == whole_skipped


@settings(max_examples=100, deadline=None)
@given(st.lists(data_frames, min_size=1, max_size=40), st.lists(st.integers(1, 13), max_size=20))
def test_whole_frame_notifications_take_the_fast_path_with_the_same_result(frames, sizes) -> None:
    """Notifications of whole data frames (the usual case) go through the three-call fast path; they
    must decode exactly as the general path does (forced here by a leading garbage byte)."""
    stream = b"".join(bytes(f) for f in frames)
    general, _, skipped = _parse_all(wm.WitMotionStreamParser(), [b"\x00" + stream])
    assert skipped == 1
    chunks, pos = [], 0
    for k in [*sizes, len(frames)]:
        chunks.append(stream[pos : pos + 20 * k])
        pos += 20 * k
    parser = wm.WitMotionStreamParser()
    fast, regs, skipped = _parse_all(parser, [c for c in chunks if c])
    np.testing.assert_array_equal(fast, general)
    assert fast.dtype == np.int16 and fast.flags["C_CONTIGUOUS"]
    assert regs == [] and skipped == 0 and parser.frames_total == len(frames) and parser.pending_bytes == 0


def test_garbage_containing_header_byte_is_skipped_and_resynchronised() -> None:
    parser = wm.WitMotionStreamParser()
    out = parser.feed(b"\x00\x55\x00\x55" + GOLDEN + b"\x55\x55\x12" + GOLDEN + b"\x55")
    assert out.raw_i16.shape == (2, 9) and out.skipped_bytes == 7
    assert parser.pending_bytes == 1  # trailing 0x55 may start the next frame
    out2 = parser.feed(GOLDEN[1:])
    assert out2.raw_i16.shape == (1, 9)


def test_frames_merged_and_split_across_notifications() -> None:
    reply = wm.RegisterReply(wm.REG_BATTERY, (395, 0, 0, 0, 0, 0, 0, 0))
    stream = GOLDEN + bytes(reply) + GOLDEN * 3
    parser = wm.WitMotionStreamParser()
    got = [parser.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)]
    assert sum(g.raw_i16.shape[0] for g in got) == 4
    regs = [r for g in got for r in g.registers]
    assert regs == [reply] and regs[0].battery_v == pytest.approx(3.95)


def test_iter_frames_and_reset() -> None:
    frames = wm.iter_frames(b"zz" + GOLDEN + GOLDEN[:10])
    assert frames == [wm.DataFrame.from_bytes(GOLDEN)]
    parser = wm.WitMotionStreamParser()
    parser.feed(GOLDEN[:12])
    parser.reset()  # a reconnect: the tail of the frame never comes
    assert parser.feed(GOLDEN).raw_i16.shape == (1, 9)


def test_decoder_gives_raw_frames_and_si_columns() -> None:
    chunk = wm.WitMotionDecoder().feed(GOLDEN * 2 + GOLDEN[:5])
    assert chunk.n == 2 and chunk.raw_i16.shape == (2, 9)
    cols = wm.imu_columns(chunk.raw_i16)
    accel, _gyro, angles = raw_to_si(chunk.raw_i16)
    np.testing.assert_array_equal(cols["ax_mps2"], accel[:, 0])
    np.testing.assert_array_equal(cols["yaw_rad"], angles[:, 2])
    assert cols["ax_mps2"][0] / 9.80665 == pytest.approx(0.308, abs=5e-4)
    assert set(cols) == {
        "ax_mps2",
        "ay_mps2",
        "az_mps2",
        "gx_radps",
        "gy_radps",
        "gz_radps",
        "roll_rad",
        "pitch_rad",
        "yaw_rad",
    }


def test_commands_exact_bytes() -> None:
    assert wm.unlock() == bytes.fromhex("ff aa 69 88 b5")
    assert wm.save() == bytes.fromhex("ff aa 00 00 00")
    assert wm.calibrate_accelerometer() == bytes.fromhex("ff aa 01 01 00")
    expected = {1: 0x03, 5: 0x05, 10: 0x06, 50: 0x08, 100: 0x09, 200: 0x0B}
    for hz, code in expected.items():
        assert wm.set_rate(hz) == bytes([0xFF, 0xAA, 0x03, code, 0x00])
    for hz, code in {5: 7, 10: 6, 20: 5, 42: 4, 98: 3, 188: 2}.items():
        assert wm.set_bandwidth(hz) == bytes([0xFF, 0xAA, 0x1F, code, 0x00])
    assert wm.read_register(wm.REG_BATTERY) == bytes.fromhex("ff aa 27 64 00")
    assert wm.config_commands(100) == [wm.unlock(), wm.set_rate(100), wm.save()]
    assert wm.config_commands(None)[1] == wm.set_rate(200)
    with pytest.raises(ValueError, match="output rate must be one of"):
        wm.set_rate(1000)
    with pytest.raises(ValueError):
        wm.set_bandwidth(50)


@given(st.integers(0, 0xFF), st.integers(0, 0xFFFF))
def test_command_round_trip(register: int, value: int) -> None:
    cmd = wm.Command(register, value)
    assert wm.Command.from_bytes(bytes(cmd)) == cmd


def test_command_errors() -> None:
    with pytest.raises(TruncatedError):
        wm.Command.from_bytes(b"\xff\xaa\x03")
    with pytest.raises(ProtocolError, match="expected ff aa"):
        wm.Command.from_bytes(b"\xff\xab\x03\x0b\x00")
