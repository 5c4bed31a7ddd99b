"""The test FIT writers produce files fitparse reads back with the values given."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ingest.fit.fitparse_boundary import decode_fitparse
from tests.ingest.fit.fitgen import RawFitWriter, make_run_fit, make_strength_fit

START = dt.datetime(2026, 3, 2, 17, 30, tzinfo=dt.UTC)


def _epoch(t: dt.datetime) -> float:
    return t.timestamp()


def test_strength_fit_reads_back() -> None:
    sets = [
        {
            "set_type": "active",
            "repetitions": 5,
            "weight": 100.0,
            "duration": 25.5,
            "category": ["squat"],
            "category_subtype": ["barbell_back_squat"],
        },
        {"set_type": "rest", "duration": 120.0},
        {
            "set_type": "active",
            "repetitions": 8,
            "weight": 62.5,
            "duration": 30.0,
            "start_time": START + dt.timedelta(seconds=300),
            "category": [8, 28],
            "category_subtype": [1, 6],
        },
    ]
    data = make_strength_fit(sets, START)
    dec = decode_fitparse(data)
    assert dec.error is None
    assert dec.file_type == "activity"
    s = dec.get("set")
    assert s.n == 3
    assert s.objects("set_type") == ["active", "rest", "active"]
    assert s.objects("repetitions") == [5, None, 8]
    assert s.objects("weight") == [100.0, None, 62.5]
    assert s.objects("duration") == [25.5, 120.0, 30.0]
    assert s.objects("start_time") == [_epoch(START), _epoch(START) + 26, _epoch(START) + 300]
    # fitparse names a one-element category but returns a list as raw numbers (docs/design.md section 4)
    assert s.objects("category") == ["squat", None, (8, 28)]
    assert s.objects("category_subtype") == [6, None, (1, 6)]
    ses = dec.get("session")
    assert ses.objects("sport") == ["training"] and ses.objects("sub_sport") == ["strength_training"]
    assert ses.objects("start_time") == [_epoch(START)]
    act = dec.get("activity")
    assert act.n == 1
    # local_timestamp = UTC end + the 1 h offset
    assert act.objects("local_timestamp")[0] - act.objects("timestamp")[0] == pytest.approx(3600, abs=1)
    assert dec.get("record").n >= 3
    assert not np.isnan(dec.get("record").numeric("heart_rate")).any()


def test_strength_fit_other_sport() -> None:
    data = make_strength_fit(
        [{"repetitions": 3, "weight": 20.0, "duration": 10}],
        START,
        sport="fitness_equipment",
        sub_sport="indoor_rowing",
    )
    ses = decode_fitparse(data).get("session")
    assert ses.objects("sport") == ["fitness_equipment"]
    assert ses.objects("sub_sport") == ["indoor_rowing"]


@pytest.mark.parametrize(("with_power", "dev_power"), [(False, False), (True, False), (False, True), (True, True)])
def test_run_fit_reads_back(with_power: bool, dev_power: bool) -> None:
    n = 120
    data = make_run_fit(n, START, seed=3, with_power=with_power, dev_power=dev_power)
    dec = decode_fitparse(data)
    assert dec.error is None
    rec = dec.get("record")
    assert rec.n == n
    ts = rec.numeric("timestamp")
    np.testing.assert_array_equal(ts, _epoch(START) + np.arange(n))
    hr = rec.numeric("heart_rate")
    assert np.all((hr >= 60) & (hr <= 200))
    speed = rec.numeric("speed")
    assert np.all((speed >= 1.0) & (speed <= 6.5))
    np.testing.assert_allclose(rec.numeric("enhanced_speed"), speed)
    assert np.all(np.diff(rec.numeric("distance")) >= 0)
    lat = rec.numeric("position_lat") * 180 / 2**31  # semicircles
    assert np.all(np.abs(lat - 47.37) < 0.1)
    # temperature is sint8 and negative around -2 °C: it must survive as a value
    temp = rec.numeric("temperature")
    assert not np.isnan(temp).any() and (temp < 0).any()
    if with_power:
        assert not np.isnan(rec.numeric("power")).any()
    else:
        assert "power" not in rec.columns
    if dev_power:
        p = rec.numeric("Power")
        assert not np.isnan(p).any() and np.all((p >= 0) & (p <= 600))
        if with_power:
            np.testing.assert_array_equal(p, rec.numeric("power"))
    else:
        assert "Power" not in rec.columns
    ses = dec.get("session")
    assert ses.objects("sport") == ["running"] and ses.objects("sub_sport") == ["road"]


def test_run_fit_deterministic() -> None:
    assert make_run_fit(30, START, seed=1) == make_run_fit(30, START, seed=1)
    assert make_run_fit(30, START, seed=1) != make_run_fit(30, START, seed=2)


def test_raw_writer_big_endian_compressed_and_dev_fields() -> None:
    w = RawFitWriter()
    w.define(0, 0, [(0, 1, 0x00), (4, 4, 0x86)])  # file_id: type, time_created
    t0 = int(_epoch(START)) - 631065600
    w.data(0, [4, t0])
    w.define(1, 207, [(3, 1, 0x02), (1, 16, 0x0D)])  # developer_data_id: index, application_id
    w.data(1, [0, bytes(range(16))])
    w.define(2, 206, [(0, 1, 0x02), (1, 1, 0x02), (2, 1, 0x02), (3, 8, 0x07), (8, 6, 0x07)])
    w.data(2, [0, 0, 0x88, "Power", "Watts"])  # field_description: float32 "Power"
    w.define(3, 20, [(253, 4, 0x86), (3, 1, 0x02), (13, 1, 0x01)], [(0, 4, 0)], big_endian=True)
    w.data(3, [t0, 150, -1], [250.5], dev_types=[0x88])
    w.data(3, [t0 + 1, 0xFF, 0x7F], [251.0], dev_types=[0x88], time_offset=(t0 + 3) & 0x1F)
    dec = decode_fitparse(w.to_bytes())
    assert dec.error is None
    rec = dec.get("record")
    assert rec.objects("heart_rate") == [150, None]
    assert rec.objects("temperature") == [-1, None]
    assert rec.objects("Power") == [250.5, 251.0]
    # the compressed header's timestamp (t0 + 3) overrides the field's value in fitparse's dict
    assert rec.objects("timestamp") == [_epoch(START), _epoch(START) + 3]


def test_raw_writer_corrupt_crc_is_reported() -> None:
    w = RawFitWriter()
    w.define(0, 0, [(0, 1, 0x00)])
    w.data(0, [4])
    dec = decode_fitparse(w.to_bytes(corrupt_crc=True))
    assert dec.error is not None and dec.error.startswith("CRC mismatch")
    assert dec.get("file_id").objects("type") == ["activity"]
