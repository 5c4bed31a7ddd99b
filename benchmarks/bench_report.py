"""Benchmark: report build and no-change nightly on two years of simulated data.

Two years of one simulated athlete (sim.athlete: 700 runs of 1 h at 1 Hz = 2.52 M records,
184 strength sessions from week 8, so the first 8 weeks are the pre-strength baseline the n-of-1
estimate needs) are written to a temporary store; then:

* baseline: DuckDB scans the record table once (an aggregate over every row), and the store
  reader fetches every run's arrays (the least work any report must do on a cold cache);
* full report build with an empty per-run cache (target < 30 s);
* no-change nightly re-run (import of an empty watch folder, landing merge, report reuse; target < 5 s);
* a forced rebuild with a warm per-run cache (for information).

Figures are printed with their ratio to the baseline measured in the same run, so they can be
compared across machines. Standalone: ``python benchmarks/bench_report.py`` (< 4 min).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.demo import write_simulated_history  # noqa: E402
from jobs.nightly import run_nightly  # noqa: E402
from jobs.report import build_report  # noqa: E402
from sim.athlete import simulate_athlete  # noqa: E402
from store import readers  # noqa: E402
from store.connection import open_store  # noqa: E402

FULL_BUILD_TARGET_S = 30.0
NIGHTLY_TARGET_S = 5.0
ATHLETE = "bench-runner"


def _t(fn, *a, **k):
    t0 = time.perf_counter()
    out = fn(*a, **k)
    return time.perf_counter() - t0, out


def main() -> int:
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="runstrong-bench-") as tmp:
        tmpd = Path(tmp)
        db = tmpd / "bench.duckdb"
        out = tmpd / "report"
        watch = tmpd / "inbox"
        watch.mkdir()
        sim = simulate_athlete(
            weeks=100,
            runs_per_week=7,
            vary_runs_per_week=False,
            missing_weeks=0,
            strength_start_week=8,
            strength_attendance=1.0,
            run_minutes=(60.0, 60.0),
            short_run_prob=0.0,
            seed=11,
        )
        con = open_store(db, wait_s=5)
        try:
            t_write, counts = _t(write_simulated_history, con, ATHLETE, sim, label="BENCHMARK SIMULATED")
            n_rec = con.execute("SELECT count(*) FROM record").fetchall()[0][0]
            print(
                f"data: {counts['runs']} runs, {counts['strength_sessions']} strength sessions, "
                f"{n_rec:,} records (written in {t_write:.1f} s, {n_rec / t_write / 1e6:.2f} M rows/s)"
            )

            t_scan, _ = _t(
                lambda: con.execute(
                    "SELECT count(*), sum(heart_rate_bpm), sum(speed_mps), sum(altitude_m), sum(power_w) FROM record"
                ).fetchall()
            )
            t_scan, _ = _t(
                lambda: con.execute(
                    "SELECT count(*), sum(heart_rate_bpm), sum(speed_mps), sum(altitude_m), sum(power_w) FROM record"
                ).fetchall()
            )
            t_fetch, n_runs = _t(lambda: sum(1 for _ in readers.run_records(con, ATHLETE)))
            print(
                f"baseline: DuckDB scan of the record table {t_scan * 1000:.0f} ms; "
                f"reader fetch of all {n_runs} runs {t_fetch:.2f} s"
            )

            t_full, res = _t(build_report, con, out)
            t_warm, res_w = _t(build_report, con, out)
        finally:
            con.close()
        t_nightly, night = _t(
            run_nightly, db_path=db, watch_dir=watch, out_dir=out, athlete=ATHLETE, wait_s=5, log=lambda m: None
        )
        size_kb = sum(p.stat().st_size for p in out.iterdir()) / 1024

        def row(name: str, secs: float, target: float | None = None) -> str:
            verdict = "" if target is None else (f"  target < {target:.0f} s: {'OK' if secs < target else 'MISSED'}")
            return f"{name:44s} {secs:7.2f} s   {secs / t_scan:8.0f} x scan   {secs / t_fetch:6.2f} x fetch{verdict}"

        print(f"{'':44s} {'time':>9s}   {'vs scan':>10s}   {'vs fetch':>8s}")
        print(row(f"full report build (cold cache, {res['runs_computed']} runs)", t_full, FULL_BUILD_TARGET_S))
        print(row(f"rebuild with warm cache ({res_w['runs_computed']} runs recomputed)", t_warm))
        print(
            row(
                f"no-change nightly (imported {night['imported']}, rebuilt "
                f"{'yes' if night['report_rebuilt'] else 'no'})",
                t_nightly,
                NIGHTLY_TARGET_S,
            )
        )
        print(
            f"report size {size_kb:.0f} KiB; total benchmark time {time.perf_counter() - t_start:.0f} s "
            f"(cpus: {os.cpu_count()})"
        )
        ok = t_full < FULL_BUILD_TARGET_S and t_nightly < NIGHTLY_TARGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
