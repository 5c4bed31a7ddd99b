"""Fuzzing the importer and the capture replay with seeded mutations (issue 12, "Done when").

Inputs are the sample FIT files and a recorded capture, mutated by tests/fuzz_inputs.py (bit
flips, hostile bytes, truncation, insertion, repetition, header fields, splices; CRCs fixed up on
most inputs so the decoders judge the content; some wrapped in .fit.gz or zip). Asserted for
every input:

* no exception escapes (the CLI's "internal error"): every FIT input ends as a file status, every
  capture is replayed or refused with a CaptureFormatError;
* no input takes more than 10 s;
* a file reported ``failed`` (or skipped) stores no row; an ``imported``/``partial`` one its ledger row;
* a refused capture leaves no landing file;
* the stores open afterwards and every table reads.

``RUNSTRONG_FUZZ_SECONDS`` (default 45) sets the time spent, ``RUNSTRONG_FUZZ_SEED`` (default 12)
the seed; a failing input is written to the test's tmp folder and named in the failure.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.ble.capture import CaptureFormatError, CaptureHeader, CaptureWriter
from ingest.fit.importer import import_paths
from jobs.replay import replay_capture
from store.connection import open_store
from tests.fuzz_inputs import mutate_capture, mutate_fit

REPO = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("RUNSTRONG_FUZZ_SECONDS", "45"))
SEED = int(os.environ.get("RUNSTRONG_FUZZ_SEED", "12"))
MAX_INPUT_S = 10.0
DATA_TABLES = ("source_file", "activity", "record", "lap", "strength_set")


def _counts(con) -> tuple[int, ...]:
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DATA_TABLES)


def _every_table_reads(db: Path) -> int:
    con = open_store(db)
    try:
        tables = [
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
        ]
        return sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    finally:
        con.close()


@pytest.mark.slow
def test_fuzz_fit_import_and_capture_replay(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    corpus = [p.read_bytes() for p in sorted((REPO / "sample_data" / "fit").rglob("*.fit"))]
    db = tmp_path / "fuzz.duckdb"
    con = open_store(db)
    stats = {"inputs": 0, "imported": 0, "partial": 0, "failed": 0, "skipped": 0, "slowest_s": 0.0}
    deadline = time.monotonic() + SECONDS * 0.75
    i = 0
    try:
        while time.monotonic() < deadline:
            i += 1
            data, name = mutate_fit(rng, corpus)
            path = tmp_path / "in" / f"{i:05}-{name}"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            before = _counts(con)
            t0 = time.monotonic()
            try:
                s = import_paths(con, [path], athlete="fuzz", workers=1, show_progress=False)
            except Exception as exc:  # the CLI would print "internal error"
                pytest.fail(f"seed {SEED} input {i} ({path}): {type(exc).__name__}: {exc}")
            took = time.monotonic() - t0
            stats["slowest_s"] = max(stats["slowest_s"], took)
            assert took < MAX_INPUT_S, f"seed {SEED} input {i} ({path}) took {took:.1f} s"
            after = _counts(con)
            new = [f for f in s.files if f.status in ("imported", "partial")]
            for f in s.files:
                stats[f.status] += 1
            if not new:
                assert after == before, f"seed {SEED} input {i} ({path}): rows stored for {s.to_contract()}"
            else:
                assert after[0] == before[0] + len(new), f"seed {SEED} input {i} ({path})"
                for f in new:
                    row = con.execute(
                        "SELECT status FROM source_file WHERE athlete = 'fuzz' AND sha256 = ?", [f.sha256]
                    ).fetchone()
                    assert row == (f.status,), f"seed {SEED} input {i} ({path})"
            path.unlink()
            stats["inputs"] += 1
    finally:
        con.close()
    assert _every_table_reads(db) > 0

    # captures
    capture = tmp_path / "good.capture.jsonl"
    from tests.jobs.test_replay import items, simulated

    with CaptureWriter(
        capture,
        CaptureHeader(
            "witmotion", datetime(2026, 1, 5, 7, tzinfo=UTC), anchor_t_ns=9_000_000_000_000, configured_rate_hz=200.0
        ),
    ) as w:
        for t, c, d in items(simulated())[:600]:
            w.notification(t, c, d)
    lines = capture.read_text().splitlines()
    cap_db = tmp_path / "captures.duckdb"
    landing = tmp_path / "captures.duckdb.landing"
    deadline = time.monotonic() + SECONDS * 0.25
    replayed = refused = 0
    while time.monotonic() < deadline:
        i += 1
        path = tmp_path / "in" / f"{i:05}.capture.jsonl"
        path.write_bytes(mutate_capture(rng, lines))
        pending_before = sorted(landing.rglob("*.duckdb")) if landing.exists() else []
        t0 = time.monotonic()
        try:
            replay_capture(path, db_path=cap_db, athlete="fuzz", exercise="deadlift", load_kg=100.0, wait_s=5.0)
            replayed += 1
        except CaptureFormatError:
            refused += 1
            after = sorted(landing.rglob("*.duckdb")) if landing.exists() else []
            assert after == pending_before, f"seed {SEED} capture {i} ({path}) left {after}"
        except Exception as exc:
            pytest.fail(f"seed {SEED} capture {i} ({path}): {type(exc).__name__}: {exc}")
        took = time.monotonic() - t0
        stats["slowest_s"] = max(stats["slowest_s"], took)
        assert took < MAX_INPUT_S, f"seed {SEED} capture {i} ({path}) took {took:.1f} s"
        path.unlink()
    if cap_db.exists():
        assert _every_table_reads(cap_db) >= 0
    print(f"fuzz seed {SEED}: {stats}, captures replayed {replayed}, refused {refused}")
    assert stats["inputs"] > 20 and replayed + refused > 5
