"""Date styles, the per-file day/month rule, and local -> UTC with daylight-saving notes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ingest.apps.dates import date_style, decide_date_rule, local_to_utc, parse_local, zone
from ingest.apps.model import AppExportError, DateRule

NO_NUMERIC = DateRule(None, "no numeric day/month dates")
DMY = DateRule("DMY", "test")
MDY = DateRule("MDY", "test")


@pytest.mark.parametrize(
    ("text", "rule", "expected", "precision"),
    [
        ("2026-08-07 08:27:00", NO_NUMERIC, dt.datetime(2026, 8, 7, 8, 27, 0), "second"),
        ("2026-08-07T08:27", NO_NUMERIC, dt.datetime(2026, 8, 7, 8, 27), "minute"),
        ("2026/08/07 08:27", NO_NUMERIC, dt.datetime(2026, 8, 7, 8, 27), "minute"),
        ("7 Aug 2026, 08:27", NO_NUMERIC, dt.datetime(2026, 8, 7, 8, 27), "minute"),
        ("25 Juli 2026, 14:21", NO_NUMERIC, dt.datetime(2026, 7, 25, 14, 21), "minute"),
        ("3 Dez. 2026, 07:05", NO_NUMERIC, dt.datetime(2026, 12, 3, 7, 5), "minute"),
        ("7. août 2026 08:27", NO_NUMERIC, dt.datetime(2026, 8, 7, 8, 27), "minute"),
        ("May 15, 2023", NO_NUMERIC, dt.datetime(2023, 5, 15), "day"),
        ("Aug 28, 2023 2:32 PM", NO_NUMERIC, dt.datetime(2023, 8, 28, 14, 32), "minute"),
        ("Aug 28, 2023 12:05\u202fAM", NO_NUMERIC, dt.datetime(2023, 8, 28, 0, 5), "minute"),
        ("Dec 1, 2023 12:00 PM", NO_NUMERIC, dt.datetime(2023, 12, 1, 12, 0), "minute"),
        ("05.06.2026, 07:30", DMY, dt.datetime(2026, 6, 5, 7, 30), "minute"),
        ("05.06.2026, 07:30", MDY, dt.datetime(2026, 5, 6, 7, 30), "minute"),
        ("6/5/2026 7:30 PM", MDY, dt.datetime(2026, 6, 5, 19, 30), "minute"),
        ("05-06-2026 07:30:15", DMY, dt.datetime(2026, 6, 5, 7, 30, 15), "second"),
    ],
)
def test_parse_local_styles(text: str, rule: DateRule, expected: dt.datetime, precision: str) -> None:
    st = parse_local(text, rule)
    assert st.value == expected
    assert st.precision == precision


@pytest.mark.parametrize(
    "text", ["2026-02-30 08:00:00", "31 Foo 2026, 08:00", "yesterday", "", "13:00 PM 2026", "2026-08-07 25:00"]
)
def test_parse_local_refuses_with_reason(text: str) -> None:
    with pytest.raises(ValueError, match=r"(impossible|unrecognised|unknown month|empty|hour)"):
        parse_local(text, NO_NUMERIC)


def test_date_style() -> None:
    assert date_style("2026-08-07 08:27:00") == "iso"
    assert date_style("05.06.2026, 07:30") == "numeric"
    assert date_style("7 Aug 2026, 08:27") == "day-month-name"
    assert date_style("May 15, 2023") == "month-name-day"
    assert date_style("next tuesday") is None


def test_rule_decided_by_first_unambiguous_value() -> None:
    r = decide_date_rule([(2, "05.06.2026, 07:30"), (3, "06.05.2026"), (9, "13.06.2026, 07:45"), (10, "14.06.2026")])
    assert r.day_month_order == "DMY"
    assert "13.06.2026" in r.decided_by and "line 9" in r.decided_by
    r = decide_date_rule([(2, "6/5/2026 7:30 PM"), (4, "6/13/2026 7:15 AM")])
    assert r.day_month_order == "MDY" and "line 4" in r.decided_by


def test_rule_ignores_non_numeric_styles() -> None:
    r = decide_date_rule([(2, "2026-08-07 08:27:00"), (3, "7 Aug 2026, 08:27")])
    assert r.day_month_order is None
    assert r.formats == ("day-month-name", "iso")
    # an ISO date with both fields <= 12 is never ambiguous
    assert decide_date_rule([(2, "2026-05-06 08:00:00")]).day_month_order is None


def test_rule_refuses_undecidable_and_contradictory_files() -> None:
    with pytest.raises(AppExportError, match="undecidable") as e:
        decide_date_rule([(2, "05.06.2026"), (3, "06.05.2026"), (4, "2026-08-01 10:00:00")])
    assert "line 2" in e.value.reason
    with pytest.raises(AppExportError, match="contradict"):
        decide_date_rule([(2, "13/06/2026"), (3, "06/14/2026")])


def test_local_to_utc_regular_gap_and_fold() -> None:
    zi = ZoneInfo("Europe/Oslo")
    utc, note = local_to_utc(dt.datetime(2026, 8, 7, 8, 27), zi)
    assert utc == dt.datetime(2026, 8, 7, 6, 27, tzinfo=dt.UTC) and note is None
    # 02:30 on 29 Mar 2026 does not exist in Oslo (clocks go 02:00 -> 03:00): offset before (+1)
    utc, note = local_to_utc(dt.datetime(2026, 3, 29, 2, 30), zi)
    assert utc == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC) and "does not exist" in note
    # 02:30 on 25 Oct 2026 happens twice (03:00 -> 02:00): the first, still at +2
    utc, note = local_to_utc(dt.datetime(2026, 10, 25, 2, 30), zi)
    assert utc == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC) and "twice" in note
    utc, note = local_to_utc(dt.datetime(2026, 1, 10, 9, 0), ZoneInfo("America/New_York"))
    assert utc == dt.datetime(2026, 1, 10, 14, 0, tzinfo=dt.UTC) and note is None


def test_zone_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="IANA"):
        zone("")
