"""The report job: every instant in report.json is ISO-8601 UTC with a Z (the intended change of
issue 13); dates stay dates."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from jobs.report import build_report
from store.connection import open_store
from store.report_queries import log_run
from store.writers import insert_rows
from tests.report.report_testdata import build_history

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def instants(x, path: str = ""):
    """(path, text) of every string that starts like a date and a time, in nested JSON text too."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from instants(v, f"{path}.{k}")
    elif isinstance(x, list):
        for v in x:
            yield from instants(v, f"{path}[]")
    elif isinstance(x, str):
        if INSTANT.match(x):
            yield path, x
        elif x.startswith("{"):
            try:
                nested = json.loads(x)
            except ValueError:
                return
            yield from instants(nested, f"{path}<json>")


def test_every_instant_in_report_json_is_iso_utc_with_z(tmp_path: Path) -> None:
    con = open_store(tmp_path / "x.duckdb", wait_s=1.0)
    try:
        build_history(con, "alice", weeks=3, hostile=False)
        oslo = dt.timezone(dt.timedelta(hours=1))
        start = dt.datetime(2025, 3, 3, 18, 0, 0, 250_000, tzinfo=oslo)  # an offset and microseconds
        insert_rows(
            con,
            "stream_session",
            [
                {
                    "athlete": "alice",
                    "session_id": "s1",
                    "sensor": "witmotion",
                    "started_at": start,
                    "anchor_t_ns": 0,
                    "exercise": "back_squat",
                    "load_kg": 80.0,
                    "status": "complete",
                }
            ],
        )
        insert_rows(
            con,
            "rep",
            [
                {
                    "athlete": "alice",
                    "session_id": "s1",
                    "set_index": 1,
                    "rep_index": 1,
                    "exercise": "back_squat",
                    "load_kg": 80.0,
                    "started_at": start,
                    "mean_velocity_mps": 0.7,
                }
            ],
        )
        log_run(con, "nightly", start, 1.0, {"command": "nightly", "at": start})
        build_report(con, tmp_path / "out", since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    finally:
        con.close()
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    found = dict(instants(doc))
    # the instants the report carries, at least these
    for path in (
        ".generated_at",
        ".since",
        ".fingerprint.since",
        ".fingerprint.last_import_at",
        ".last_nightly.started_at",
        ".athletes[].barbell_reps[].started_at",
        ".athletes[].runs[].started_at",
        ".athletes[].last_import_at",
        ".last_nightly.summary<json>.at",
    ):
        assert path in found, path
    assert {p: t for p, t in instants(doc) if not ISO_Z.match(t)} == {}
    assert doc["since"] == doc["fingerprint"]["since"] == "2020-01-01T00:00:00Z"
    assert doc["athletes"][0]["barbell_reps"][0]["started_at"] == "2025-03-03T17:00:00.250000Z"
    # weeks and local days stay calendar dates
    weeks = doc["athletes"][0]["summary"]["weeks"]
    assert weeks and all(DATE.match(w["week_start"]) for w in weeks)
