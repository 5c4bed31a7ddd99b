"""Heart Rate, Running Speed and Cadence, Cycling Power: golden vectors from
docs/ble-protocols.md, round trips, truncation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.ble.protocols.base import ProtocolError, TruncatedError
from ingest.ble.protocols.cycling_power import CyclingPowerDecoder, CyclingPowerMeasurement
from ingest.ble.protocols.heart_rate import HeartRateDecoder, HeartRateMeasurement, SensorContact
from ingest.ble.protocols.running_speed_cadence import RscMeasurement

# ---- Heart rate ---------------------------------------------------------------------------


def test_hr_golden_rr_and_contact_detected() -> None:
    m = HeartRateMeasurement.from_bytes(bytes.fromhex("16 48 1e 03 0e 03"))
    assert m.heart_rate_bpm == 72 and m.contact is SensorContact.DETECTED
    assert m.energy_expended_kj is None
    assert [round(rr * 1000, 1) for rr in m.rr_s] == [779.3, 763.7]
    assert bytes(m) == bytes.fromhex("16 48 1e 03 0e 03")


def test_hr_golden_uint16_energy_contact_not_supported() -> None:
    m = HeartRateMeasurement.from_bytes(bytes.fromhex("09 9a 00 2c 01"))
    assert (m.heart_rate_bpm, m.energy_expended_kj, m.contact) == (154, 300, SensorContact.NOT_SUPPORTED)
    assert m.uint16_format and m.rr_s == ()
    assert bytes(m) == bytes.fromhex("09 9a 00 2c 01")


def test_hr_golden_contact_supported_but_not_detected() -> None:
    m = HeartRateMeasurement.from_bytes(bytes.fromhex("04 48"))
    assert m.heart_rate_bpm == 72
    assert m.contact is SensorContact.NOT_DETECTED  # not DETECTED: the bug seen elsewhere


def test_hr_contact_bits_01_mean_not_supported() -> None:
    assert HeartRateMeasurement.from_bytes(b"\x02\x48").contact is SensorContact.NOT_SUPPORTED


@pytest.mark.parametrize(
    "payload, offset",
    [
        (b"", 0),
        (b"\x01\x9a", 1),
        (b"\x08\x48\x01", 2),
        (b"\x10\x48\x1e", 2),
    ],
)
def test_hr_truncated(payload: bytes, offset: int) -> None:
    with pytest.raises(ValueError) as err:
        HeartRateMeasurement.from_bytes(payload)
    assert isinstance(err.value, ProtocolError) and err.value.offset == offset
    assert "offset" in str(err.value) and "expected" in str(err.value)


def test_hr_trailing_bytes_without_rr_flag() -> None:
    with pytest.raises(ProtocolError, match="trailing"):
        HeartRateMeasurement.from_bytes(b"\x00\x48\x00")


hr_strategy = st.one_of(
    st.builds(
        HeartRateMeasurement,
        st.integers(0, 255),
        st.sampled_from(SensorContact),
        st.none() | st.integers(0, 0xFFFF),
        st.lists(st.integers(0, 0xFFFF), max_size=9).map(tuple),
        st.just(False),
    ),
    st.builds(
        HeartRateMeasurement,
        st.integers(0, 0xFFFF),
        st.sampled_from(SensorContact),
        st.none() | st.integers(0, 0xFFFF),
        st.lists(st.integers(0, 0xFFFF), max_size=8).map(tuple),
        st.just(True),
    ),
)


@given(hr_strategy)
def test_hr_round_trip(m: HeartRateMeasurement) -> None:
    assert HeartRateMeasurement.from_bytes(bytes(m)) == m


def test_hr_encoder_refuses_uint8_overflow() -> None:
    with pytest.raises(ValueError, match="heart_rate_bpm"):
        HeartRateMeasurement(300)


def test_hr_decoder_row_and_error() -> None:
    chunk = HeartRateDecoder().feed(bytes.fromhex("16 48 1e 03 0e 03"))
    assert chunk.n == 1 and chunk.columns["heart_rate_bpm"] == [72.0]
    assert chunk.columns["rr_s"] == [[798 / 1024, 782 / 1024]] and chunk.columns["contact"] == ["detected"]
    bad = HeartRateDecoder().feed(b"\x01")
    assert bad.n == 0 and isinstance(bad.errors[0], TruncatedError)


# ---- RSC --------------------------------------------------------------------------------------


def test_rsc_golden() -> None:
    payload = bytes.fromhex("07 33 03 ae 6a 00 39 30 00 00")
    m = RscMeasurement.from_bytes(payload)
    assert round(m.speed_mps, 3) == 3.199 and m.cadence_spm == 174 and m.running
    assert m.stride_length_m == pytest.approx(1.06) and m.total_distance_m == pytest.approx(1234.5)
    assert bytes(m) == payload


def test_rsc_walking_without_options() -> None:
    m = RscMeasurement.from_bytes(bytes.fromhex("00 00 02 50"))
    assert (m.speed_mps, m.cadence_spm, m.running, m.stride_length_m, m.total_distance_m) == (
        2.0,
        80,
        False,
        None,
        None,
    )


@pytest.mark.parametrize("cut", range(10))
def test_rsc_truncated(cut: int) -> None:
    with pytest.raises(TruncatedError):
        RscMeasurement.from_bytes(bytes.fromhex("07 33 03 ae 6a 00 39 30 00 00")[:cut])


@given(
    st.builds(
        RscMeasurement,
        st.integers(0, 0xFFFF),
        st.integers(0, 255),
        st.none() | st.integers(0, 0xFFFF),
        st.none() | st.integers(0, 0xFFFFFFFF),
        st.booleans(),
    )
)
def test_rsc_round_trip(m: RscMeasurement) -> None:
    assert RscMeasurement.from_bytes(bytes(m)) == m


# ---- Cycling power ---------------------------------------------------------------------------


def test_cp_golden_vectors() -> None:
    assert CyclingPowerMeasurement.from_bytes(bytes.fromhex("00 00 f5 00")).power_w == 245
    m = CyclingPowerMeasurement.from_bytes(bytes.fromhex("20 00 2c 01 10 00 00 80"))
    assert (m.power_w, m.crank_revolutions, m.last_crank_event_s) == (300, 16, 32.0)
    neg = CyclingPowerMeasurement.from_bytes(bytes.fromhex("00 00 f6 ff"))
    assert neg.power_w == -10  # signed, not 65526
    assert bytes(neg) == bytes.fromhex("00 00 f6 ff")


def test_cp_all_fields_in_flag_order() -> None:
    m = CyclingPowerMeasurement(
        power_w=-5,
        pedal_power_balance_raw=101,
        accumulated_torque_raw=0x1234,
        wheel_revolutions=0x01020304,
        last_wheel_event_raw=2048,
        crank_revolutions=7,
        last_crank_event_raw=1024,
        extreme_forces_n=(300, -20),
        extreme_torques_raw=(64, -32),
        extreme_angles_deg=(0xABC, 0x123),
        top_dead_spot_deg=10,
        bottom_dead_spot_deg=190,
        accumulated_energy_kj=42,
        other_flags=(1 << 1) | (1 << 12),
    )
    expected = bytes.fromhex(
        "f7 1f"  # flags: 0x0ff5 presence | bit1 | bit12 = 0x1ff7
        "fb ff"  # -5 W
        "65"  # balance
        "34 12"  # torque
        "04 03 02 01 00 08"  # wheel revs + time
        "07 00 00 04"  # crank revs + time
        "2c 01 ec ff"  # forces 300, -20
        "40 00 e0 ff"  # torques 64, -32
        "bc 3a 12"  # angles: 0xABC | 0x123 << 12 = 0x123ABC
        "0a 00 be 00"  # dead spots
        "2a 00"
    )  # energy
    assert bytes(m) == expected
    assert CyclingPowerMeasurement.from_bytes(expected) == m
    assert m.last_wheel_event_s == 1.0 and m.pedal_power_balance_pct == 50.5


def test_cp_truncated_names_the_field() -> None:
    with pytest.raises(TruncatedError, match=r"last crank event time.*offset 6.*expected 2 byte"):
        CyclingPowerMeasurement.from_bytes(bytes.fromhex("20 00 2c 01 10 00 00"))
    with pytest.raises(TruncatedError, match="flags"):
        CyclingPowerMeasurement.from_bytes(b"\x00")


def _opt(s):
    return st.none() | s


cp_strategy = st.builds(
    CyclingPowerMeasurement,
    power_w=st.integers(-32768, 32767),
    pedal_power_balance_raw=_opt(st.integers(0, 255)),
    accumulated_torque_raw=_opt(st.integers(0, 0xFFFF)),
    extreme_forces_n=_opt(st.tuples(st.integers(-32768, 32767), st.integers(-32768, 32767))),
    extreme_torques_raw=_opt(st.tuples(st.integers(-32768, 32767), st.integers(-32768, 32767))),
    extreme_angles_deg=_opt(st.tuples(st.integers(0, 0xFFF), st.integers(0, 0xFFF))),
    top_dead_spot_deg=_opt(st.integers(0, 0xFFFF)),
    bottom_dead_spot_deg=_opt(st.integers(0, 0xFFFF)),
    accumulated_energy_kj=_opt(st.integers(0, 0xFFFF)),
    other_flags=st.sampled_from([0, 2, 8, 1 << 12, (1 << 13) | 2]),
).flatmap(
    lambda m: st.builds(
        lambda wheel, crank: CyclingPowerMeasurement(
            **{
                **m.__dict__,
                "wheel_revolutions": wheel and wheel[0],
                "last_wheel_event_raw": wheel and wheel[1],
                "crank_revolutions": crank and crank[0],
                "last_crank_event_raw": crank and crank[1],
            }
        ),
        _opt(st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF))),
        _opt(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))),
    )
)


@given(cp_strategy)
def test_cp_round_trip(m: CyclingPowerMeasurement) -> None:
    assert CyclingPowerMeasurement.from_bytes(bytes(m)) == m


def test_cp_invalid_construction() -> None:
    with pytest.raises(ValueError, match="give both or neither"):
        CyclingPowerMeasurement(100, crank_revolutions=3)
    with pytest.raises(ValueError, match="presence"):
        CyclingPowerMeasurement(100, other_flags=1 << 5)


def test_cp_decoder_row() -> None:
    chunk = CyclingPowerDecoder().feed(bytes.fromhex("20 00 2c 01 10 00 00 80"))
    assert chunk.columns == {"power_w": [300.0], "crank_revolutions": [16], "last_crank_event_s": [32.0]}
