"""Progress bars (rich) on a terminal and nowhere else.

The CLI runs on a real pseudo-terminal (``pty``): stderr on the pty must carry a live bar with a rate
and an ETA; piped stderr (what cron gives), ``--quiet`` and ``--json`` must carry none. The library
callbacks behind the bars are checked against the work they report.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

import pytest

from ingest.progress import TerminalProgress, bar_wanted

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "fit"
BAR = "━"  # rich's bar glyph
ANCHOR_NS = 5_000_000_000_000
#: two small real runs: enough for a report with runs to analyse
RUNS = [SAMPLE / "runs" / "activity-small-fenix2-run.fit", SAMPLE / "runs" / "garmin-fenix-5-run.fit"]


def _env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    for k in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(k, None)
    return env


def run_cli(
    *args: str, db: Path, stderr_tty: bool = True, stdout_tty: bool = False, timeout_s: float = 120.0
) -> tuple[int, str, str]:
    """Run ``pipeline.py`` with stderr (and optionally stdout) on a new pseudo-terminal, or piped.
    Returns (exit code, what the terminal received, stdout, or stdout + stderr when both are piped)."""
    argv = [sys.executable, str(ROOT / "pipeline.py"), "--db", str(db), *args]
    with tempfile.TemporaryFile() as out:
        if not stderr_tty:
            p = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=ROOT, env=_env(), timeout=timeout_s
            )
            return p.returncode, p.stderr.decode(), p.stdout.decode()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        p = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=slave if stdout_tty else out, stderr=slave, cwd=ROOT, env=_env()
        )
        os.close(slave)
        chunks = []
        try:
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer of the pty has closed it
                    break
                if not data:
                    break
                chunks.append(data)
            rc = p.wait(timeout=timeout_s)
        finally:
            os.close(master)
            if p.poll() is None:
                p.kill()
        out.seek(0)
        return rc, b"".join(chunks).decode(errors="replace"), out.read().decode()


def assert_bar(tty: str, label: str, unit: str) -> None:
    assert label in tty and BAR in tty, tty[-2000:]
    assert f"{unit}/s" in tty, tty[-2000:]  # a rate
    assert "ETA" in tty and ("0:00:0" in tty or "-:--:--" in tty), tty[-2000:]  # an estimated time left


def assert_no_bar(text: str) -> None:
    assert BAR not in text and "ETA" not in text and "\x1b[" not in text, text[-2000:]


def test_import_bar_on_a_terminal_only(tmp_path):
    rc, tty, stdout = run_cli("import", str(SAMPLE), db=tmp_path / "a.duckdb")
    assert rc == 1  # the bundled invalid files
    assert_bar(tty, "import", "files")
    n = len([p for p in SAMPLE.rglob("*") if p.is_file() and p.suffix.lower() == ".fit"])
    assert f"{n}/{n}" in tty  # the bar reached the end: every file counted
    assert "imported," in stdout and "\x1b[" not in stdout  # the summary on stdout, free of terminal codes


@pytest.mark.slow
def test_no_bar_when_piped_quiet_or_json(tmp_path):
    runs = [str(p) for p in RUNS]
    # piped stderr (cron): no bar, the summary unchanged
    rc, err, out = run_cli("import", *runs, db=tmp_path / "b.duckdb", stderr_tty=False)
    assert rc == 0
    assert_no_bar(err)
    assert "2 imported," in out
    # --quiet and --json on a terminal: no bar; --json's stdout is the one JSON document
    rc, tty, _ = run_cli("import", *runs, "--quiet", db=tmp_path / "c.duckdb")
    assert rc == 0
    assert_no_bar(tty)
    rc, tty, stdout = run_cli("--json", "import", *runs, db=tmp_path / "d.duckdb")
    assert rc == 0
    assert_no_bar(tty)
    assert json.loads(stdout)["imported"] == 2


def test_stdout_on_the_same_terminal_stays_whole(tmp_path):
    """stdout on the bar's terminal: the summary comes after the bar is cleared, on its own line."""
    rc, tty, _ = run_cli("import", *map(str, RUNS), db=tmp_path / "a.duckdb", stdout_tty=True)
    assert rc == 0
    assert_bar(tty, "import", "files")
    after = tty[tty.rindex(BAR) :]
    assert "2 imported, 0 skipped, 0 partial, 0 failed" in after


def _capture(path: Path) -> int:
    """A WitMotion capture of a simulated set (notification per sample); returns its record count."""
    from ingest.ble.capture import CaptureHeader, CaptureWriter
    from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames
    from sim.barbell import simulate_session

    sim = simulate_session("back_squat", 100.0, 3, rate_hz=200, seed=2, lead_in_s=1.0, tail_s=1.0)
    header = CaptureHeader(
        "witmotion",
        started_at=dt.datetime(2026, 1, 5, 17, 0, tzinfo=dt.UTC),
        configured_rate_hz=200.0,
        anchor_t_ns=ANCHOR_NS,
    )
    with CaptureWriter(path, header) as w:
        w.link_event(ANCHOR_NS, "connected")
        for t, row in zip(sim.t_s, sim.raw_i16, strict=True):
            w.notification(ANCHOR_NS + round(float(t) * 1e9), NOTIFY_UUID, encode_data_frames(row[None, :]))
    return 1 + len(sim.t_s)


@pytest.mark.slow
def test_replay_report_export_bars_on_a_terminal(tmp_path):
    db = tmp_path / "x.duckdb"
    assert run_cli("import", *map(str, RUNS), "--quiet", db=db)[0] == 0
    cap = tmp_path / "set.capture.jsonl"
    _capture(cap)
    rc, tty, stdout = run_cli("replay", str(cap), "--exercise", "back_squat", "--load-kg", "100", db=db)
    assert rc == 0, tty
    assert_bar(tty, "replay", "kB")  # the file read (a batch job: the reading is most of it)
    kb = -(-cap.stat().st_size // 1000)
    assert f"{kb}/{kb}" in tty
    assert stdout.count("rep ") >= 3 and "session " in stdout  # rep lines and the summary stay on stdout

    rc, tty, stdout = run_cli("reanalyse", db=db)
    assert rc == 0, tty
    # one session is done before rich measures a rate: the bar, its count and the ETA column
    assert "reanalyse" in tty and BAR in tty and "1/1" in tty and "sessions" in tty and "ETA" in tty, tty[-2000:]
    assert "re-analysed 1 sensor session(s)" in stdout

    rc, tty, stdout = run_cli("report", "--out", str(tmp_path / "rep"), db=db)
    assert rc == 0, tty
    assert_bar(tty, "report", "runs")
    assert "report written to" in stdout

    rc, tty, stdout = run_cli("export", "--parquet", str(tmp_path / "pq"), db=db)
    assert rc == 0, tty
    assert_bar(tty, "export", "rows")
    for cmd in (["report", "--out", str(tmp_path / "rep2")], ["export", "--parquet", str(tmp_path / "pq2")]):
        rc, err, _ = run_cli(*cmd, db=db, stderr_tty=False)
        assert rc == 0
        assert_no_bar(err)


# ------------------------------------------------------------------------------------------
# the policy and the library callbacks


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_bar_wanted_policy(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    assert bar_wanted(stream=_Stream(True))
    assert not bar_wanted(stream=_Stream(False))  # cron, pipes, files
    assert not bar_wanted(quiet=True, stream=_Stream(True))
    assert not bar_wanted(json_output=True, stream=_Stream(True))
    monkeypatch.setenv("TERM", "dumb")
    assert not bar_wanted(stream=_Stream(True))
    closed = _Stream(True)
    closed.close()
    assert not bar_wanted(stream=closed)


def test_disabled_bars_write_nothing():
    s = _Stream(True)
    with TerminalProgress(enabled=False, stream=s) as bars:
        update = bars.task("x", unit="files", total=3)
        update(1, 3)
    assert s.getvalue() == ""


@pytest.mark.slow
def test_library_progress_reports_the_work_done(tmp_path):
    from ingest.fit.importer import import_paths
    from jobs.replay import replay_capture
    from jobs.report import build_report
    from store.connection import open_store
    from store.export import export_parquet

    db = tmp_path / "x.duckdb"
    calls: dict[str, list[tuple[int, int]]] = {"import": [], "replay": [], "report": [], "export": []}
    con = open_store(db, wait_s=1.0)
    try:
        s = import_paths(
            con, RUNS, athlete="default", show_progress=False, progress=lambda d, t: calls["import"].append((d, t))
        )
    finally:
        con.close()
    n_files = len(s.files)
    # (files handled, files found so far): sources are read lazily, so the total grows to the end
    assert [d for d, _ in calls["import"]] == list(range(1, n_files + 1))
    assert all(d <= t for d, t in calls["import"]) and calls["import"][-1] == (n_files, n_files)
    assert [t for _, t in calls["import"]] == sorted(t for _, t in calls["import"])

    cap = tmp_path / "c.capture.jsonl"
    _capture(cap)
    replay_capture(
        cap,
        db_path=db,
        athlete="default",
        exercise="back_squat",
        load_kg=100.0,
        progress=lambda d, t: calls["replay"].append((d, t)),
    )
    kb = -(-cap.stat().st_size // 1000)  # kilobytes of the file read
    assert calls["replay"][-1] == (kb, kb) and all(t == kb for _, t in calls["replay"])
    assert [d for d, _ in calls["replay"]] == sorted(d for d, _ in calls["replay"])

    con = open_store(db, wait_s=1.0)
    try:
        runs = con.execute("SELECT count(*) FROM activity WHERE sport = 'running'").fetchone()[0]
        res = build_report(con, tmp_path / "rep", progress=lambda d, t: calls["report"].append((d, t)))
        doc = export_parquet(con, tmp_path / "pq", progress=lambda d, t: calls["export"].append((d, t)))
    finally:
        con.close()
    # every run analysed, then one step per athlete page and one for the index
    assert calls["report"][-1] == (runs + res["athletes"] + 1,) * 2
    assert [d for d, _ in calls["report"]] == list(range(1, runs + res["athletes"] + 2))
    assert calls["export"][-1] == (doc["rows"], doc["rows"])
    assert [d for d, _ in calls["export"]] == sorted(d for d, _ in calls["export"])
