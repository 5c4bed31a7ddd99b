"""Import time per file against the number of files that fail (issue 12, item 9).

    .venv/bin/python benchmarks/bench_import_scaling.py [--sizes 4000 16000 50000] [--json OUT]

A zip of N one-byte ``.fit`` members (the issue's case: every member fails, most as copies of an
earlier one) is imported into a fresh store, each size in its own child process, one after the
other. Printed: wall time, time per file, and that per-file time as a ratio against the first
(smallest) size measured in the same run: a linear importer keeps the ratio near 1 (issue 12
measured 6.5 s at 4 k, 56 s at 16 k, > 300 s at 50 k on 1129a4e: ratios 1, 2.2, > 15).
``--root DIR`` runs the children on another checkout's code (e.g. ``git archive`` of an older
commit), for the before/after comparison.
Also the peak RSS of each child. Timings on a shared machine are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_zip(path: Path, n: int) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(n):
            z.writestr(f"DI_CONNECT/f{i:06}.fit", bytes([i % 256]))
    path.write_bytes(buf.getvalue())


def child(zip_path: str, db: str, root: str) -> None:
    sys.path.insert(0, root)
    from ingest.fit.importer import import_paths
    from store.connection import open_store

    con = open_store(db)
    t0 = time.perf_counter()
    s = import_paths(con, [zip_path], athlete="bench", show_progress=False)
    seconds = time.perf_counter() - t0
    con.close()
    print(
        json.dumps(
            {
                "files": len(s.files),
                "failed": s.count("failed"),
                "seconds": seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000, 16000, 50000])
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--root", default=str(ROOT), help="the code to measure (default: this checkout)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, args.root)
        return 0
    print(f"code measured: {args.root}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared: timings are noisy, read the ratios)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        for n in args.sizes:
            z = Path(tmp) / f"{n}.zip"
            make_zip(z, n)
            out = subprocess.run(
                [sys.executable, __file__, "--root", args.root, "--child", str(z), str(Path(tmp) / f"{n}.duckdb")],
                capture_output=True,
                text=True,
                check=True,
                cwd=args.root,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            assert r["files"] == n and r["failed"] == n
            r["n"] = n
            r["us_per_file"] = 1e6 * r["seconds"] / n
            rows.append(r)
    base = rows[0]["us_per_file"]
    print(f"{'members':>8} {'seconds':>8} {'us/file':>8} {'ratio':>6} {'peak RSS MB':>12}")
    for r in rows:
        r["ratio"] = r["us_per_file"] / base
        print(f"{r['n']:>8} {r['seconds']:>8.2f} {r['us_per_file']:>8.1f} {r['ratio']:>6.2f} {r['peak_rss_mb']:>12.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
