"""Benchmark: the store on DuckLake (PostgreSQL catalog) against one local DuckDB file.

    .venv/bin/python benchmarks/bench_lake.py [--athletes 50] [--weeks 52] [--skip-report] [--skip-import]

Needs Debian's ``postgresql`` (a throwaway cluster is started in a temporary folder, as the
``postgres`` user when run as root, and stopped at the end). Not part of ``make test``.

1. **Concurrent imports** (the real FIT path: sources, decoder, ``ImportWriter``): the bundled
   sample runs and strength files (14 files, ~51 k records) imported by 1, 2 and 4 station
   processes at once, each under its own athlete, against the same imports one after the other;
   then 4 stations importing the *same* files for the *same* athlete at once (each file must be
   stored once: the claim serialises their commits). Baseline: one import of the same files into a
   DuckDB file, in the same run.
2. **Clinic report**: ``--athletes`` simulated athletes (``sim.athlete``) x ``--weeks`` of runs
   (4 per week, 40-75 min, recorded like a watch's smart recording: one record per 5 s) and
   their strength sessions from week 8, written through the store's import writer
   (``store.activities.ImportWriter``, the path every FIT import takes after decoding) into the
   lake and into one DuckDB file; then ``report`` (every athlete's page plus the clinic index)
   with an empty per-run cache and again with a warm one, on both. Printed as lake / file ratios.

All times are wall-clock on this machine; other processes' load changes them (the load average is
printed), the ratios less so.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.demo import _sim_source, simulated_activities  # noqa: E402
from jobs.report import build_report  # noqa: E402
from records.runs import RECORD_FIELDS, RunRecords  # noqa: E402
from sim.athlete import simulate_athlete  # noqa: E402
from store.activities import ImportWriter  # noqa: E402
from store.athletes import set_profile  # noqa: E402
from store.connection import open_store  # noqa: E402
from store.lake import LakeConfig  # noqa: E402

SAMPLE = [ROOT / "sample_data" / "fit" / "runs", ROOT / "sample_data" / "fit" / "strength"]
RECORD_EVERY_S = 5


class Postgres:
    """A throwaway cluster on a Unix socket in a temporary folder."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            raise SystemExit("bench_lake needs PostgreSQL: apt-get install -y postgresql")
        self.bin = found[-1].parent
        self.root = Path(tempfile.mkdtemp(prefix="runstrong-bench-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, user="postgres")
        self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-o",
            f"-k {self.root} -c listen_addresses='' -p 5432 -c max_connections=200",
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else cmd,
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def lake(self, data: Path) -> LakeConfig:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        self._run("createdb", "-h", str(self.root), "-p", "5432", "-U", "postgres", name)
        return LakeConfig(f"postgres:dbname={name} host={self.root} port=5432 user=postgres", str(data))

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _cli(db: Path, lake: LakeConfig | None, athlete: str) -> list[str]:
    cmd = [sys.executable, str(ROOT / "pipeline.py"), "--db", str(db), "--athlete", athlete, "--quiet"]
    if lake is not None:
        cmd += ["--lake", lake.catalog, "--lake-data", str(lake.data_path)]
    return [*cmd, "import", *map(str, SAMPLE)]


def _run_all(cmds: list[list[str]], *, at_once: bool) -> float:
    t0 = time.perf_counter()
    if at_once:
        procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in cmds]
        for p in procs:
            _, err = p.communicate()
            if p.returncode not in (0, 1):
                raise SystemExit(f"import failed: {err.decode()}")
    else:
        for c in cmds:
            r = subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode not in (0, 1):
                raise SystemExit(f"import failed: {r.stderr.decode()}")
    return time.perf_counter() - t0


def _counts(lake: LakeConfig, athlete: str | None = None) -> tuple[int, int]:
    con = open_store(None, lake=lake)
    try:
        where = "" if athlete is None else f" WHERE athlete = '{athlete}'"
        files = con.execute(f"SELECT count(*) FROM source_file{where}").fetchone()[0]
        recs = con.execute(f"SELECT count(*) FROM record{where}").fetchone()[0]
    finally:
        con.close()
    return int(files), int(recs)


def concurrent_imports(pg: Postgres, tmp: Path) -> None:
    print("== concurrent imports: the sample FIT files (14 files), one athlete per station", flush=True)
    t_file = _run_all([_cli(tmp / "file.duckdb", None, "a0")], at_once=False)
    print(f"one import into a DuckDB file (baseline)        : {t_file:6.2f} s", flush=True)
    t_file4 = _run_all([_cli(tmp / "file4.duckdb", None, f"a{i}") for i in range(4)], at_once=True)
    print(
        f"4 stations at once into one DuckDB file         : {t_file4:6.2f} s (they queue on the file's lock)",
        flush=True,
    )
    for k in (1, 2, 4):
        serial_lake = pg.lake(tmp / f"serial{k}")
        t_serial = _run_all([_cli(tmp / f"s{k}-{i}.duckdb", serial_lake, f"a{i}") for i in range(k)], at_once=False)
        par_lake = pg.lake(tmp / f"par{k}")
        t_par = _run_all([_cli(tmp / f"p{k}-{i}.duckdb", par_lake, f"a{i}") for i in range(k)], at_once=True)
        files, _ = _counts(par_lake)
        print(
            f"{k} station(s): one after another {t_serial:6.2f} s, at once {t_par:6.2f} s = "
            f"{t_serial / t_par:4.2f} x faster at once; per import {t_par / k:5.2f} s = "
            f"{t_par / k / t_file:4.2f} x the file's ({files} files stored)",
            flush=True,
        )
    same = pg.lake(tmp / "same")
    t_same = _run_all([_cli(tmp / f"same{i}.duckdb", same, "shared") for i in range(4)], at_once=True)
    files, recs = _counts(same, "shared")
    _, recs_one = _counts(par_lake, "a0")
    print(
        f"4 stations, the same files for the same athlete at once: {t_same:6.2f} s; stored {files} files, "
        f"{recs} records (one import stores {recs_one}: {'each once' if recs == recs_one else 'DUPLICATES'})",
        flush=True,
    )


def _smart(a):
    """A run as a watch's smart recording stores it: one record per ~5 s (every 5th 1 Hz sample)."""
    r = a.records
    if not len(r):
        return a
    keep = slice(None, None, RECORD_EVERY_S)
    rec = RunRecords.from_arrays(
        r.activity_id, r.t_ns[keep], sport=r.sport, **{f: r.channel(f)[keep] for f in RECORD_FIELDS}
    )
    return dataclasses.replace(a, records=rec)


def write_athletes(con, n: int, weeks: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    records = 0
    for i in range(n):
        athlete = f"athlete-{i:03d}"
        sim = simulate_athlete(
            weeks=weeks,
            seed=1000 + i,
            runs_per_week=4.0,
            run_minutes=(40.0, 75.0),
            strength_start_week=8,
            sex="female" if i % 2 else "male",
        )
        p = sim.profile
        set_profile(
            con,
            athlete,
            body_mass_kg=p["body_mass_kg"],
            sex=p["sex"],
            hr_rest_bpm=p["hr_rest_bpm"],
            hr_max_bpm=p["hr_max_bpm"],
            tz=p["tz"],
        )
        writer = ImportWriter(con, athlete)
        for act in simulated_activities(sim, label="BENCHMARK"):
            act = _smart(act)
            records += len(act.records)
            writer.add_file(_sim_source(athlete, act.activity_id), [act])
        writer.commit()
    return time.perf_counter() - t0, records


def _report(con, out: Path) -> tuple[float, dict]:
    t0 = time.perf_counter()
    doc = build_report(con, out)
    return time.perf_counter() - t0, doc


def clinic_report(pg: Postgres, tmp: Path, n: int, weeks: int) -> None:
    """Both stores written, then their reports timed in turns (file, lake, file, lake), so that a
    change of the machine's load in between weighs on both sides alike."""
    print(
        f"== clinic report: {n} athletes x {weeks} weeks (runs at 1 record / {RECORD_EVERY_S} s, strength)", flush=True
    )
    lake = pg.lake(tmp / "clinic-data")
    cons = {"file": open_store(tmp / "clinic.duckdb"), "lake": open_store(tmp / "clinic.duckdb", lake=lake)}
    try:
        wrote = {}
        for name, con in cons.items():
            wrote[name] = write_athletes(con, n, weeks)
            print(
                f"{name}: wrote {wrote[name][1]:,} records in {wrote[name][0]:6.1f} s (simulation included)", flush=True
            )
        times: dict[str, list[float]] = {"file": [], "lake": []}
        docs = {}
        for cache in ("empty", "warm"):
            for name, con in cons.items():
                t, docs[name] = _report(con, tmp / f"report-{name}")
                times[name].append(t)
                print(
                    f"{name}: report with {'an empty' if cache == 'empty' else 'a warm'} cache: {docs[name]['athletes']} pages + index, "
                    f"{docs[name]['runs_computed']:,} runs computed, {t:6.1f} s",
                    flush=True,
                )
    finally:
        for con in cons.values():
            con.close()
    f, k = times["file"], times["lake"]
    print(
        f"lake / file: writing {wrote['lake'][0] / wrote['file'][0]:4.2f} x, report with an empty cache "
        f"{k[0] / f[0]:4.2f} x, with a warm cache {k[1] / f[1]:4.2f} x",
        flush=True,
    )
    files = list((tmp / "clinic-data").rglob("*.parquet"))
    print(
        f"storage: DuckDB file {(tmp / 'clinic.duckdb').stat().st_size / 1e6:.1f} MB, lake data path "
        f"{sum(p.stat().st_size for p in files) / 1e6:.1f} MB in {len(files)} Parquet files",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--athletes", type=int, default=50)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--skip-report", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    pg = Postgres()
    try:
        with tempfile.TemporaryDirectory(prefix="runstrong-bench-lake-") as tmp:
            if not args.skip_import:
                concurrent_imports(pg, Path(tmp))
            if not args.skip_report:
                clinic_report(pg, Path(tmp), args.athletes, args.weeks)
    finally:
        pg.stop()
    print(
        f"benchmark wall time {time.perf_counter() - t0:.0f} s; load average {load:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores; DuckDB {duckdb.__version__}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
