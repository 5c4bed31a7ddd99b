"""End-to-end import benchmark: parse + store through ``import_paths`` vs plain fitparse decoding.

    .venv/bin/python benchmarks/bench_import.py [--corpus DIR] [--json OUT]

Measured in one run, each side in its own fresh child process, one after the other:

* **fitparse**: ``decode_fitparse`` of every file (fitparse reading every message into the
  columnar form), one process, one timed decode per file.
* **import**: ``ingest.fit.importer.import_paths`` of the whole corpus into a fresh DuckDB store
  (sources -> decode -> canonical activities -> store), arranged as the import jobs do it: the
  decoding workers (``DecodePool``) forked before the store is opened, timed as one batch from the
  pool's start; then, for the per-file spread, every file imported on its own
  (``workers=1``) into a second fresh store.

Records/s uses the same numerator for both sides (the ``record`` messages fitparse decodes from
the corpus), so the aggregate ratio is fitparse's decode time over the import's wall time. Also
printed: the ratio of fitparse to the single-process per-file imports (no pool), the per-file
spread, the peak RSS of each child's process tree (pool workers included; sampled from the
parent every 10 ms), and the machine load before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fit_decode import (
    ROOT,
    _rss_kb,
    child_decode,
    corpus_files,
    corpus_header,
    default_corpus,
    fmt_mb,
    machine_load,
    per_file_table,
    run_child,
    spread,
)


def child_import(files: list[Path]) -> dict[str, Any]:
    import logging

    from ingest.fit.importer import DecodePool, decode, import_paths
    from store.connection import open_store

    logging.getLogger("runstrong.import").setLevel(logging.ERROR)
    base_rss = _rss_kb(os.getpid())
    smallest = min(files, key=lambda p: p.stat().st_size)
    decode(smallest.read_bytes())  # warm-up like the fitparse child: lazy imports, not timed
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        c0 = time.process_time()
        t0 = time.perf_counter()
        with DecodePool() as pool:  # the workers are forked before the store is opened, as in the jobs
            con = open_store(Path(tmp) / "batch.duckdb", wait_s=0, on_wait=None)
            summary = import_paths(con, [str(p) for p in files], athlete="bench", show_progress=False, pool=pool)
        batch_s = time.perf_counter() - t0
        batch_cpu_s = time.process_time() - c0
        con.close()
        statuses: dict[str, int] = {}
        for f in summary.files:
            statuses[f.status] = statuses.get(f.status, 0) + 1
        decoders = {f.path: f.decoder for f in summary.files}
        batch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        con = open_store(Path(tmp) / "per_file.duckdb", wait_s=0, on_wait=None)
        per_file: list[dict[str, Any]] = []
        for p in files:
            t0 = time.perf_counter()
            s = import_paths(con, [str(p)], athlete="bench", workers=1, show_progress=False)
            per_file.append(
                {
                    "file": str(p),
                    "seconds": time.perf_counter() - t0,
                    "status": s.files[0].status if s.files else None,
                    "records": s.records,
                }
            )
        con.close()
    return {
        "kind": "import",
        "batch_seconds": batch_s,
        "batch_cpu_seconds": batch_cpu_s,
        "stored_records": summary.records,
        "statuses": statuses,
        "decoders": decoders,
        "files": per_file,
        "base_rss_kb": base_rss,
        "batch_ru_maxrss_kb": batch_rss,
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    ap.add_argument("--child", choices=["fitparse", "import"], help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "fitparse":
        print(json.dumps(child_decode("fitparse", [Path(f) for f in args.files])))
        return
    if args.child == "import":
        print(json.dumps(child_import([Path(f) for f in args.files])))
        return
    corpus = (args.corpus or default_corpus()).resolve()
    files = corpus_files(corpus)
    load_before = corpus_header(corpus, files)
    script = Path(__file__).resolve()
    names = [str(p) for p in files]
    fp = run_child(script, ["--child", "fitparse", *names])
    imp = run_child(script, ["--child", "import", *names])
    load_after = machine_load()

    ratios = per_file_table(
        fp, imp, "import", corpus, lambda a, b: f"  {b['status']} ({imp['decoders'].get(a['file']) or '-'})"
    )
    rec = sum(f["records"] for f in fp["files"])
    t_fp = sum(f["seconds"] for f in fp["files"])
    t_batch = imp["batch_seconds"]
    t_single = sum(f["seconds"] for f in imp["files"])
    lo, med, hi = spread(ratios)
    fallbacks = sorted(Path(p).name for p, d in imp["decoders"].items() if d == "fitparse")
    print()
    print(
        f"records (fitparse-decoded record messages): {rec}; stored by the import: {imp['stored_records']}; "
        f"statuses: {imp['statuses']}"
    )
    print(f"fitparse decode: {t_fp:.2f} s = {rec / t_fp:,.0f} records/s (one process)")
    print(
        f"import, batch (DecodePool forked before the store is opened, {min(2, os.cpu_count() or 1)} workers): {t_batch:.3f} s = "
        f"{rec / t_batch:,.0f} records/s -> aggregate ratio {t_fp / t_batch:.0f}x"
    )
    print(
        f"import, file by file (one process, per-call overheads included): {t_single:.3f} s = "
        f"{rec / t_single:,.0f} records/s -> ratio {t_fp / t_single:.0f}x"
    )
    print(f"per-file ratio (file by file) min/median/max: {lo:.1f}x / {med:.0f}x / {hi:.0f}x")
    print(
        f"peak RSS, whole process tree: fitparse {fmt_mb(fp['tree_peak_rss_kb'])}, "
        f"import {fmt_mb(imp['tree_peak_rss_kb'])} (import main process {fmt_mb(imp['ru_maxrss_kb'])}, "
        f"{fmt_mb(imp['base_rss_kb'])} after imports; fitparse {fmt_mb(fp['base_rss_kb'])} after imports)"
    )
    print(
        f"peak PSS, whole process tree (shared pages of forked workers counted once): "
        f"fitparse {fmt_mb(fp['tree_peak_pss_kb'])}, import {fmt_mb(imp['tree_peak_pss_kb'])}"
    )
    print(f"fell back to fitparse: {', '.join(fallbacks) if fallbacks else 'none'}")
    print(f"load after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "corpus": str(corpus),
                    "records": rec,
                    "fitparse_s": t_fp,
                    "import_batch_s": t_batch,
                    "import_single_s": t_single,
                    "ratio": t_fp / t_batch,
                    "ratio_single_process": t_fp / t_single,
                    "per_file_ratio": {"min": lo, "median": med, "max": hi},
                    "peak_rss_kb": {"fitparse": fp["tree_peak_rss_kb"], "import": imp["tree_peak_rss_kb"]},
                    "load_before": load_before,
                    "load_after": load_after,
                    "fallbacks": fallbacks,
                    "fitparse": fp,
                    "import": imp,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    main()
