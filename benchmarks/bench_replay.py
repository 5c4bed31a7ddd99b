"""Batch replay benchmark: a 1-hour 200 Hz capture replayed end to end, against a bare JSON-lines parse.

Run: ``.venv/bin/python benchmarks/bench_replay.py`` (about 2 minutes; ``--minutes``, ``--runs``,
``--gzip``, ``--capture PATH`` to reuse a capture, ``--live-minutes 0`` to skip the live-path
comparison).

The capture is generated, not committed (~80 MB an hour): ``sim.barbell.simulate_session`` sets of
5 back squats with 60 s rests at 200 Hz, through the virtual device's radio model (frames leave at
7.5 ms connection events, one frame per notification, up to 0.3 ms of host jitter), written by
``CaptureWriter`` as ``stream --record`` writes it.

Each figure is measured in a child process of its own (a fresh interpreter, as the CLI runs):

* **baseline**: a bare JSON-lines parse of the same file (``for line in f: json.loads(line)``);
* **replay**: ``jobs.replay.replay_capture`` into a fresh database (read, decode, sample times,
  whole-session analysis, columnar write), and again into the same database (every batch already
  stored: read, decode, analysis, session rows);
* **live path** (for comparison, on the first ``--live-minutes`` of the capture): the capture fed
  notification by notification to ``jobs.stream_session.StreamSession``, as ``replay`` did before
  it became a batch job (landing batches, live detector, merge), scaled to the whole capture.

Printed: wall seconds of each (the call itself; the child's total including interpreter start and
imports beside it), the replay's ratio to the baseline (target < 3x), real-time factor, peak RSS of
the replay child (its VmHWM; target <= the libraries' own footprint + 125 MB + 1.5 x the uncompressed
capture, see ``rss_limit_mb``),
and the replay's reps against the simulator's. Timings on a shared machine are noisy: the load
average is printed with each run, and ratios are taken within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE_HZ = 200.0
CONNECTION_INTERVAL_S = 0.0075
REPS_PER_SET = 5
REST_S = 60.0
ANCHOR_NS = 5_000_000_000_000
STARTED = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def generate(path: Path, minutes: float, seed: int = 1) -> dict[str, Any]:
    """Write a simulated capture of about ``minutes`` (sets of 5 back squats, 60 s rests)."""
    import numpy as np

    from ingest.ble.capture import CaptureHeader, CaptureWriter
    from ingest.ble.protocols.witmotion import NOTIFY_UUID, encode_data_frames
    from sim.barbell import simulate_session

    set_s = REST_S + 15.0  # a set of 5 squats takes ~15 s
    sets = max(1, round(minutes * 60.0 / set_s))
    sim = simulate_session(
        "back_squat", 100.0, REPS_PER_SET, sets=sets, rate_hz=RATE_HZ, seed=seed, rest_between_sets_s=REST_S
    )
    rng = np.random.default_rng(seed)
    # the radio: frames leave at connection events; the host stamps them a little late
    arrival = (
        ANCHOR_NS
        + (np.ceil((sim.t_s + 0.001) / CONNECTION_INTERVAL_S) * CONNECTION_INTERVAL_S * 1e9).astype(np.int64)
        + rng.integers(0, 300_000, sim.t_s.size)
    )
    arrival = np.maximum.accumulate(arrival)
    frames = encode_data_frames(sim.raw_i16)
    header = CaptureHeader("witmotion", STARTED, "WT901BLE68", "C4:11:22:33:44:55", RATE_HZ, ANCHOR_NS)
    with CaptureWriter(path, header) as w:
        w.link_event(ANCHOR_NS, "connected")
        for i, t in enumerate(arrival.tolist()):
            w.notification(t, NOTIFY_UUID, frames[i * 20 : (i + 1) * 20])
    return {"samples": int(sim.t_s.size), "seconds": float(sim.t_s[-1]), "reps": len(sim.reps), "sets": sets}


# ------------------------------------------------------------------------------------- children
PEAK = """
def peak_mb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM"))
"""

CHILD_GENERATE = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
sys.path.insert(0, sys.argv[3] + "/benchmarks")
from bench_replay import generate
print(json.dumps(generate(Path(sys.argv[1]), float(sys.argv[2]))))
"""

CHILD_BASELINE = (
    PEAK
    + """
import json, sys, time, gzip
t0 = time.perf_counter()
n = 0
opener = gzip.open if sys.argv[1].endswith(".gz") else open
with opener(sys.argv[1], "rb") as fh:
    for line in fh:
        json.loads(line)
        n += 1
print(json.dumps({"seconds": time.perf_counter() - t0, "lines": n, "peak_mb": peak_mb()}))
"""
)

CHILD_IMPORTS = (
    PEAK
    + """
import json, sys
sys.path.insert(0, sys.argv[1])
import pyarrow as pa
from jobs.replay import replay_capture
pa.array([0.0])  # pyarrow imports pandas on its first conversion whenever pandas is installed
print(json.dumps({"peak_mb": peak_mb()}))
"""
)

REPLAY_BUDGET_MB = 125.0
REPLAY_MB_PER_CAPTURE_MB = 1.5
ISSUE_RSS_MB = 200.0
"""Issue 11's wording of the limit: 200 MB + 1.5x the uncompressed capture (libraries included)."""


def rss_limit_mb(imports_mb: float, capture_bytes: int) -> float:
    """The replay's peak RSS limit: the interpreter and libraries as measured in the same run (a child that
    only imports the replay job: ~75 MB without pandas, ~120 MB since statsmodels brought pandas in, which
    pyarrow then imports), plus 125 MB and 1.5x the uncompressed capture. Issue 12 item 15 found 2.6 GB,
    ~13x the capture."""
    return imports_mb + REPLAY_BUDGET_MB + REPLAY_MB_PER_CAPTURE_MB * capture_bytes / 1e6


CHILD_REPLAY = (
    PEAK
    + """
import json, sys, time
sys.path.insert(0, sys.argv[3])
t_import = time.perf_counter()
from jobs.replay import replay_capture
t0 = time.perf_counter()
doc = replay_capture(sys.argv[1], db_path=sys.argv[2], athlete="bench", exercise="back_squat", load_kg=100.0,
                     wait_s=5.0)
print(json.dumps({"seconds": time.perf_counter() - t0, "import_seconds": t0 - t_import, "reps": len(doc["reps"]),
                  "sets": len(doc.get("sets") or []), "samples": doc["stream"]["samples"],
                  "lost_samples": doc["stream"]["lost_samples"], "peak_mb": peak_mb()}))
"""
)

CHILD_LIVE = (
    PEAK
    + """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from ingest.ble.capture import LinkEvent, Notification, read_capture
from jobs.stream_session import StreamSession
cap = read_capture(sys.argv[1])
cap_header, anchor_t_ns = cap.header, cap.anchor_t_ns
limit = cap.anchor_t_ns + int(float(sys.argv[4]) * 60e9)
records = [r for r in cap.records if r.t_ns <= limit]
del cap
with open("/proc/self/status") as fh:
    read_mb = next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS"))
h = cap_header
t0 = time.perf_counter()
s = StreamSession(h.sensor, db_path=sys.argv[2], athlete="bench", exercise="back_squat", load_kg=100.0,
                  started_at=h.started_at, anchor_t_ns=anchor_t_ns, device_address=h.device_address,
                  configured_rate_hz=h.configured_rate_hz)
for r in records:
    if isinstance(r, Notification):
        s.on_notification(r.t_ns, r.char, r.data)
    else:
        s.on_link_event(r.t_ns, r.event)
doc = s.close(records[-1].t_ns)
print(json.dumps({"seconds": time.perf_counter() - t0, "records": len(records),
                  "capture_seconds": (records[-1].t_ns - anchor_t_ns) / 1e9, "reps": len(doc["reps"]),
                  "peak_mb": peak_mb(), "read_mb": read_mb}))
"""
)


def run_child(code: str, *args: str) -> tuple[dict[str, Any], float]:
    """Run ``code`` in a fresh interpreter; its JSON line (with ``peak_mb``: the child's own VmHWM, its
    peak RSS since exec: ``wait4``'s ``ru_maxrss`` would include the parent's pages before exec) and
    its wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1]), wall


def uncompressed_size(path: Path) -> int:
    if path.suffix != ".gz":
        return path.stat().st_size
    import gzip

    n = 0
    with gzip.open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            n += len(block)
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the generated capture")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--gzip", action="store_true", help="generate a .capture.jsonl.gz")
    ap.add_argument("--capture", type=Path, help="replay this capture instead of generating one")
    ap.add_argument("--live-minutes", type=float, default=3.0, help="minutes of the capture fed to the live path")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        work = Path(tmp)
        if args.capture is not None:
            capture = args.capture
            truth: dict[str, Any] = {}
        else:
            capture = work / ("hour.capture.jsonl" + (".gz" if args.gzip else ""))
            t0 = time.perf_counter()
            truth, _ = run_child(CHILD_GENERATE, str(capture), str(args.minutes), str(ROOT))
            print(
                f"generated {capture.name}: {truth['seconds'] / 60:.1f} min, {truth['samples']:,} samples, "
                f"{truth['sets']} sets, {truth['reps']} reps ({time.perf_counter() - t0:.1f} s)"
            )
        size = capture.stat().st_size
        raw_size = uncompressed_size(capture)
        imports, _ = run_child(CHILD_IMPORTS, str(ROOT))
        rss_limit = rss_limit_mb(imports["peak_mb"], raw_size)
        print(
            f"capture: {size / 1e6:.1f} MB on disk, {raw_size / 1e6:.1f} MB uncompressed; RSS limit "
            f"{imports['peak_mb']:.0f} MB (imports alone) + {REPLAY_BUDGET_MB:.0f} MB + 1.5 x {raw_size / 1e6:.1f} MB "
            f"= {rss_limit:.0f} MB"
        )
        rows = []
        for run in range(args.runs):
            load = os.getloadavg()[0]
            base, _ = run_child(CHILD_BASELINE, str(capture))
            db = work / f"run{run}.duckdb"
            first, first_wall = run_child(CHILD_REPLAY, str(capture), str(db), str(ROOT))
            again, _ = run_child(CHILD_REPLAY, str(capture), str(db), str(ROOT))
            base_rss, first_rss, again_rss = base["peak_mb"], first["peak_mb"], again["peak_mb"]
            rows.append((base["seconds"], first["seconds"], again["seconds"], first_rss, again_rss))
            print(
                f"run {run + 1} (load avg {load:.1f}): baseline json.loads {base['seconds']:.2f} s "
                f"({base['lines']:,} lines, {base_rss:.0f} MB); replay {first['seconds']:.2f} s "
                f"(child {first_wall:.2f} s with imports) = {first['seconds'] / base['seconds']:.2f}x baseline, "
                f"peak RSS {first_rss:.0f} MB; again into the same store {again['seconds']:.2f} s = "
                f"{again['seconds'] / base['seconds']:.2f}x, {again_rss:.0f} MB; "
                f"{first['reps']} reps in {first['sets']} sets, lost_samples {first['lost_samples']}"
            )
            for p in (db, db.with_name(db.name + ".wal")):
                p.unlink(missing_ok=True)
        base_s = statistics.median(r[0] for r in rows)
        first_s = statistics.median(r[1] for r in rows)
        ratios = [r[1] / r[0] for r in rows]
        peak = max(r[3] for r in rows)
        span = truth.get("seconds")
        print()
        print(
            f"replay of {raw_size / 1e6:.0f} MB: median {first_s:.2f} s (target < 10 s: "
            f"{'met' if first_s < 10 else 'MISSED'}); ratio to a bare JSON-lines parse "
            f"{min(ratios):.2f}-{max(ratios):.2f}x, median {statistics.median(ratios):.2f}x (aim < 3x: "
            f"{'met' if statistics.median(ratios) < 3 else 'missed'}); baseline median {base_s:.2f} s"
        )
        literal = ISSUE_RSS_MB + REPLAY_MB_PER_CAPTURE_MB * raw_size / 1e6
        print(
            f"peak RSS {peak:.0f} MB (limit {rss_limit:.0f} MB: {'met' if peak <= rss_limit else 'MISSED'}; "
            f"issue 11's literal 200 MB + 1.5x = {literal:.0f} MB: {'met' if peak <= literal else 'missed'})"
        )
        if span:
            print(
                f"real time / replay time: {span / first_s:.0f}x; reps found {first['reps']} of {truth['reps']} "
                "simulated"
            )
        if args.live_minutes > 0:
            live, _ = run_child(CHILD_LIVE, str(capture), str(work / "live.duckdb"), str(ROOT), str(args.live_minutes))
            live_rss = live["peak_mb"]
            per_s = live["seconds"] / live["capture_seconds"]
            whole_s = per_s * (span or live["capture_seconds"])
            print(
                f"live path (StreamSession, notification by notification) on the first {args.live_minutes:g} min: "
                f"{live['seconds']:.1f} s ({live['records']:,} records, peak {live_rss:.0f} MB, {live['read_mb']:.0f} MB "
                "of it the capture read as Python objects before the session); scaled to the whole "
                f"capture ~{whole_s:.0f} s = {whole_s / base_s:.0f}x baseline, {whole_s / first_s:.0f}x the batch replay"
            )
        return 0 if first_s < 10 and peak <= rss_limit else 1


if __name__ == "__main__":
    sys.exit(main())
