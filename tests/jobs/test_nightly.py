"""nightly: imports what is new, is idempotent, and reports a held lock quickly and clearly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.nightly import run_nightly
from store.connection import DatabaseLockedError, open_store
from tests.lock_holder import held_lock
from tests.paths import REPO_ROOT

REPO = REPO_ROOT
RUNS = REPO / "sample_data" / "fit" / "runs"
FILES = ("activity-small-fenix2-run.fit", "garmin-fenix-5-run.fit")

#: tables whose content must not change on a no-op nightly (run_log gets its one line per run)
DATA_TABLES = (
    "athlete",
    "source_file",
    "import_event",
    "activity",
    "record",
    "lap",
    "strength_set",
    "set_correction",
    "activity_exclusion",
    "stream_session",
    "rep",
    "run_metric",
)


def _snapshot(db: Path) -> dict[str, object]:
    con = open_store(db, wait_s=5)
    try:
        snap = {}
        for t in DATA_TABLES:
            snap[t] = (
                con.execute(
                    f"SELECT count(*), hash(string_agg(CAST(COLUMNS(*) AS VARCHAR), '|' ORDER BY ALL)) FROM {t}"
                ).fetchall()
                if t != "record"
                else con.execute("SELECT count(*), sum(t_ns), sum(heart_rate_bpm) FROM record").fetchall()
            )
        snap["run_log"] = con.execute("SELECT count(*) FROM run_log WHERE command = 'nightly'").fetchall()[0][0]
        return snap
    finally:
        con.close()


@pytest.fixture
def watch(tmp_path: Path) -> Path:
    w = tmp_path / "inbox"
    w.mkdir()
    for f in FILES:
        shutil.copy(RUNS / f, w / f)
    return w


def test_nightly_imports_then_is_idempotent(tmp_path, watch):
    db, out = tmp_path / "rs.duckdb", tmp_path / "report"
    lines: list[str] = []
    first = run_nightly(db_path=db, watch_dir=watch, out_dir=out, athlete="jane", wait_s=2, log=lines.append)
    assert first["imported"] == 2 and first["failed"] == 0
    assert first["report_rebuilt"] and (out / "index.html").is_file()
    assert first["exit_code"] == 0
    assert lines and lines[-1].startswith("runstrong nightly") and "imported 2" in lines[-1]
    before = _snapshot(db)
    html_before = (out / "athlete-jane.html").read_text()

    second = run_nightly(db_path=db, watch_dir=watch, out_dir=out, athlete="jane", wait_s=2, log=lines.append)
    assert second["imported"] == 0 and second["skipped"] == 2
    assert not second["report_rebuilt"]
    after = _snapshot(db)
    assert after["run_log"] == before["run_log"] + 1  # the one log line per run
    assert {k: v for k, v in after.items() if k != "run_log"} == {k: v for k, v in before.items() if k != "run_log"}
    assert (out / "athlete-jane.html").read_text() == html_before
    # the run_log rows carry the summaries
    con = open_store(db, wait_s=5)
    try:
        rows = con.execute("SELECT summary FROM run_log WHERE command = 'nightly' ORDER BY started_at").fetchall()
    finally:
        con.close()
    assert [json.loads(r[0])["imported"] for r in rows] == [2, 0]
    assert json.loads(rows[0][0])["report_index"] == str(out / "index.html")
    # nightly's report build logs no row of its own (one row per nightly run, not two)
    con = open_store(db, wait_s=5)
    try:
        assert con.execute("SELECT count(*) FROM run_log WHERE command <> 'nightly'").fetchall()[0][0] == 0
    finally:
        con.close()


def test_nightly_picks_up_a_new_file(tmp_path, watch):
    db, out = tmp_path / "rs.duckdb", tmp_path / "report"
    run_nightly(db_path=db, watch_dir=watch, out_dir=out, athlete="jane", wait_s=2, log=lambda m: None)
    shutil.copy(RUNS / "developer-types-sample.fit", watch / "new.fit")
    res = run_nightly(db_path=db, watch_dir=watch, out_dir=out, athlete="jane", wait_s=2, log=lambda m: None)
    assert res["imported"] == 1 and res["report_rebuilt"]


@pytest.mark.slow
def test_locked_store_raises_quickly_with_the_holder(tmp_path, watch):
    db = tmp_path / "rs.duckdb"
    open_store(db, wait_s=1).close()
    with held_lock(db) as holder:
        t0 = time.monotonic()
        with pytest.raises(DatabaseLockedError) as ei:
            run_nightly(
                db_path=db, watch_dir=watch, out_dir=tmp_path / "o", athlete="jane", wait_s=0.5, log=lambda m: None
            )
        assert time.monotonic() - t0 < 5
        assert ei.value.holder_pid == holder.pid
        assert f"PID {holder.pid}" in str(ei.value)
        # the CLI turns it into exit code 3 with a one-line message, no traceback
        cli = subprocess.run(
            [
                sys.executable,
                str(REPO / "pipeline.py"),
                "--db",
                str(db),
                "--athlete",
                "jane",
                "nightly",
                "--watch",
                str(watch),
                "--out",
                str(tmp_path / "o"),
                "--wait",
                "0.5",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert cli.returncode == 3, cli.stderr
        assert "locked" in cli.stderr and "Traceback" not in cli.stderr
    # once the holder is gone the same command succeeds
    res = run_nightly(db_path=db, watch_dir=watch, out_dir=tmp_path / "o", athlete="jane", wait_s=2, log=lambda m: None)
    assert res["imported"] == 2


def test_a_failing_file_is_reported_once_per_file(tmp_path):
    watch = tmp_path / "inbox"
    watch.mkdir()
    shutil.copy(RUNS / FILES[1], watch / FILES[1])
    (watch / "garbage.fit").write_bytes(b"this is not a FIT file at all")
    db, out = tmp_path / "rs.duckdb", tmp_path / "report"
    first = run_nightly(db_path=db, watch_dir=watch, out_dir=out, athlete="jane", wait_s=2, log=lambda m: None)
    assert (first["imported"], first["failed"], first["exit_code"]) == (1, 1, 1)
    assert first["failed_files"] == [str(watch / "garbage.fit")]
    second = run_nightly(db_path=db, watch_dir=watch, out_dir=out, athlete="jane", wait_s=2, log=lambda m: None)
    assert (second["imported"], second["failed"]) == (0, 1)
    doc = json.loads((out / "report.json").read_text())
    failed = doc["athletes"][0]["data_health"]["files_failed"]
    assert [(f["path"], f["attempts"]) for f in failed] == [(str(watch / "garbage.fit"), 2)]
    assert "garbage.fit" in (out / "athlete-jane.html").read_text()
