"""records: the one per-record series type, activities, identity and the time helpers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from records.activities import ActivityData
from records.identity import PENDING_PREFIX, pending_id_for, session_id_for
from records.runs import RECORD_FIELDS, SAMPLE_FIELDS, RunRecords
from records.times import (
    iso_utc,
    iso_z,
    iso_z_ns,
    local_date,
    local_day,
    parse_iso_utc,
    utc_anchor_ns,
    week_start,
    zone_info,
)

T0 = 1_700_000_000_000_000_000


def test_run_records_carry_every_record_channel_and_fill_absent_ones_with_nan():
    t = T0 + np.arange(4, dtype=np.int64) * 1_000_000_000
    r = RunRecords.from_arrays(
        "a-0", t, heart_rate_bpm=[140, np.nan, 150, 160], lat_deg=[1.0, 2.0, 3.0, 4.0], sport="cycling"
    )
    assert set(SAMPLE_FIELDS) < set(RECORD_FIELDS) and len(RECORD_FIELDS) == 14
    assert len(r) == r.n_samples == 4 and r.started_at_ns == T0 and r.sport == "cycling"
    for name in RECORD_FIELDS:
        assert r.channel(name).dtype == np.float64 and r.channel(name).shape == (4,)
    assert np.isnan(r.cadence_rpm).all() and np.isnan(r.speed_mps).all()
    assert r.mean("heart_rate_bpm") == pytest.approx(150.0)  # over the three present values
    assert r.mean("power_w") is None
    with pytest.raises(ValueError, match="unknown record field"):
        r.channel("pace")
    with pytest.raises(ValueError, match="unknown RunRecords field"):
        RunRecords.from_arrays("a-0", t, pace=[1, 2, 3, 4])


def test_run_records_refuse_a_wrong_shape_a_float_clock_and_time_going_back():
    t = T0 + np.arange(3, dtype=np.int64)
    with pytest.raises(ValueError, match="lat_deg must have shape"):
        RunRecords.from_arrays("a", t, lat_deg=[1.0, 2.0])
    with pytest.raises(ValueError, match="integer array"):
        RunRecords.from_arrays("a", t.astype(float))
    with pytest.raises(ValueError, match="non-decreasing"):
        RunRecords.from_arrays("a", t[::-1])
    with pytest.raises(ValueError, match="activity_id"):
        RunRecords.from_arrays("", t)


def test_an_activity_holds_its_own_records_only():
    when = dt.datetime(2026, 3, 1, 7, 30, tzinfo=dt.UTC)
    records = RunRecords.from_arrays("b-0", np.zeros(0, np.int64))
    kw = dict(session_index=0, sport="running", sub_sport=None, started_at=when, duration_s=None, distance_m=None)
    assert ActivityData(activity_id="b-0", records=records, **kw).records is records
    with pytest.raises(ValueError, match="records of activity 'b-0'"):
        ActivityData(activity_id="c-0", records=records, **kw)
    with pytest.raises(ValueError, match="timezone-aware"):
        ActivityData(activity_id="b-0", records=records, **{**kw, "started_at": when.replace(tzinfo=None)})


def test_session_identity_is_the_documented_hash():
    import hashlib

    started = dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.UTC)
    payloads = [bytes([i]) * 20 for i in range(70)]
    h = hashlib.sha256(b"AA:BB\x00" + b"2026-11-28T17:00:00.000000+00:00")
    for p in payloads[:64]:
        h.update(b"\x00" + len(p).to_bytes(4, "big") + p)
    assert session_id_for("AA:BB", started, payloads) == h.hexdigest()[:16]
    # the same instant in another zone is the same session
    oslo = started.astimezone(zone_info("Europe/Oslo"))
    assert session_id_for("AA:BB", oslo, payloads) == h.hexdigest()[:16]
    pending = pending_id_for("AA:BB", started)
    assert pending.startswith(PENDING_PREFIX) and len(pending) == len(PENDING_PREFIX) + 16


def test_iso_texts():
    t = dt.datetime(2026, 3, 1, 7, 30, tzinfo=dt.UTC)
    assert iso_z(t) == "2026-03-01T07:30:00Z"
    assert iso_z(t.astimezone(zone_info("America/New_York"))) == "2026-03-01T07:30:00Z"
    assert iso_z(t.replace(tzinfo=None)) == "2026-03-01T07:30:00Z"  # DuckDB's naive TIMESTAMP is UTC
    assert iso_z(None) is None and iso_z_ns(None) is None
    assert iso_z_ns(int(t.timestamp()) * 1_000_000_000 + 250_000_000) == "2026-03-01T07:30:00.250000Z"
    assert iso_utc(t) == "2026-03-01T07:30:00.000000+00:00"
    assert parse_iso_utc("2026-03-01T08:30:00+01:00") == t == parse_iso_utc(iso_z(t))
    with pytest.raises(ValueError, match="timezone-aware"):
        iso_utc(t.replace(tzinfo=None))
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_iso_utc("2026-03-01T07:30:00")
    assert utc_anchor_ns(t) == int(t.timestamp()) * 1_000_000_000


def test_local_calendar_in_the_athletes_zone():
    # 2026-03-29 00:30 UTC is 01:30 in Oslo (CET, +1) and still 2026-03-28 20:30 in New York
    instant = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)
    t_ns = int(instant.timestamp()) * 1_000_000_000
    assert local_date(t_ns, "Europe/Oslo") == dt.date(2026, 3, 29)
    assert local_date(t_ns, "America/New_York") == dt.date(2026, 3, 28)
    assert local_day(instant, "America/New_York") == "2026-03-28"
    assert local_day("2026-03-29T00:30:00Z", "America/New_York") == "2026-03-29"  # text is already dated
    assert week_start(dt.date(2026, 3, 29)) == dt.date(2026, 3, 23)  # a Sunday -> its Monday
    assert week_start(dt.date(2026, 3, 23)) == dt.date(2026, 3, 23)
    with pytest.raises(ValueError, match="unknown time zone"):
        zone_info("Mars/Olympus")
    with pytest.raises(ValueError, match="IANA"):
        zone_info("")
