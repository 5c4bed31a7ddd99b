"""Decode-only benchmark: fitparse vs our fast decoder over a FIT corpus, measured in one run.

    .venv/bin/python benchmarks/bench_fit_decode.py [--corpus DIR] [--json OUT]

Each decoder runs in its own fresh child process, one after the other (never side by side),
over every ``*.fit`` under the corpus (default ``../shared/fit``, else ``sample_data/fit``):
one timed decode per file, after one untimed warm-up decode of the smallest file. A child reports
per-file wall and CPU seconds, record counts, its RSS after imports and its peak RSS
(``ru_maxrss``); the parent also samples the child's process-tree RSS every 10 ms. The parent
prints per-file ratios, the aggregate records/s of each decoder (wall time; CPU time too, which
other users' load on the machine disturbs less), the spread (min/median/max of the per-file
ratios) and the machine load before and after.

The helpers here are shared with ``bench_import.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def default_corpus() -> Path:
    shared = ROOT.parent / "shared" / "fit"
    return shared if shared.is_dir() else ROOT / "sample_data" / "fit"


def corpus_files(corpus: Path) -> list[Path]:
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() == ".fit")
    if not files:
        raise SystemExit(f"no .fit files under {corpus}")
    return files


# ------------------------------------------------------------------------------------------
# Memory sampling (process tree RSS, so pool workers count too)


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared between forked workers and their parent count once."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out: list[int] = []
    stack = [root]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, ()))
    return out


class TreeRssSampler:
    """Peak of the summed RSS of process ``root`` and its descendants, sampled from outside.

    Runs in the benchmark's parent (so it takes no time from the measured process's own
    interpreter): RSS every 10 ms, the list of descendants refreshed every 100 ms.
    """

    def __init__(self, root: int, interval_s: float = 0.01) -> None:
        self.root = root
        self.interval_s = interval_s
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self._pids: list[int] = [root]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        k = 0
        while not self._stop.is_set():
            if k % 10 == 0:
                self._pids = _descendants(self.root)
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in self._pids))
            if k % 5 == 0:  # smaps_rollup is costlier to read: every 50 ms
                self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(p) for p in self._pids))
            k += 1
            self._stop.wait(self.interval_s)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def machine_load() -> tuple[float, float, float]:
    return os.getloadavg()


# ------------------------------------------------------------------------------------------
# Child: decode every file with one decoder


def _decoder(kind: str) -> Callable[[bytes], Any]:
    if kind == "fitparse":
        from ingest.fit.fitparse_boundary import decode_fitparse

        return decode_fitparse
    if kind == "fast":
        from ingest.fit.fast_decoder import FastDecodeUnsupported, decode_fast
        from ingest.fit.fitparse_boundary import decode_fitparse

        def fast_or_fallback(data: bytes) -> Any:
            try:
                return decode_fast(data)
            except FastDecodeUnsupported:  # what the importer does: fitparse, whole file
                return decode_fitparse(data)

        return fast_or_fallback
    raise SystemExit(f"unknown decoder {kind!r}")


def child_decode(kind: str, files: list[Path]) -> dict[str, Any]:
    decode = _decoder(kind)
    base_rss = _rss_kb(os.getpid())
    smallest = min(files, key=lambda p: p.stat().st_size)
    decode(smallest.read_bytes())  # warm-up: lazy imports and caches, not timed
    rows: list[dict[str, Any]] = []
    for p in files:
        data = p.read_bytes()
        c0 = time.process_time()
        t0 = time.perf_counter()
        dec = decode(data)
        dt_s = time.perf_counter() - t0
        cpu_s = time.process_time() - c0
        rows.append(
            {
                "file": str(p),
                "bytes": len(data),
                "records": int(dec.get("record").n),
                "seconds": dt_s,
                "cpu_seconds": cpu_s,
                "decoder": dec.decoder,
                "error": dec.error,
            }
        )
        del dec, data
    return {
        "kind": kind,
        "files": rows,
        "base_rss_kb": base_rss,
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def run_child(script: Path, args: list[str], timeout_s: float = 170.0) -> dict[str, Any]:
    """Run ``script --child ...`` in a fresh interpreter and parse its JSON result."""
    cmd = [sys.executable, str(script), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    with TreeRssSampler(proc.pid) as sampler:
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SystemExit(f"child {args[:2]} took more than {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise SystemExit(f"child {args[:2]} failed ({proc.returncode}):\n{err[-4000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_rss_kb"] = sampler.peak_kb
    result["tree_peak_pss_kb"] = sampler.peak_pss_kb
    return result


# ------------------------------------------------------------------------------------------
# Report


def spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def fmt_mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def corpus_header(corpus: Path, files: list[Path]) -> tuple[float, float, float]:
    """Print the corpus line with the machine load before the run; return that load."""
    load = machine_load()
    print(
        f"corpus: {corpus} ({len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.2f} MB); "
        f"load before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)"
    )
    return load


def per_file_table(
    base: dict[str, Any],
    other: dict[str, Any],
    other_label: str,
    corpus: Path,
    note: Callable[[dict[str, Any], dict[str, Any]], str] | None = None,
) -> list[float]:
    """Print fitparse vs ``other`` file by file; return the per-file ratios.

    ``note(base_row, other_row)`` adds a last column; by default it flags differing record counts.
    """

    def records_note(a: dict[str, Any], b: dict[str, Any]) -> str:
        return "" if a["records"] == b["records"] else f"  (records differ: {a['records']} vs {b['records']})"

    note = note or records_note
    print(f"{'file':52s} {'bytes':>9s} {'records':>8s} {'fitparse s':>10s} {other_label + ' s':>10s} {'ratio':>7s}")
    ratios: list[float] = []
    for a, b in zip(base["files"], other["files"], strict=True):
        r = a["seconds"] / b["seconds"] if b["seconds"] > 0 else float("inf")
        ratios.append(r)
        name = str(Path(a["file"]).relative_to(corpus))
        print(
            f"{name:52.52s} {a['bytes']:9d} {a['records']:8d} {a['seconds']:10.3f} {b['seconds']:10.4f} "
            f"{r:7.1f}x{note(a, b)}"
        )
    return ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    ap.add_argument("--child", choices=["fitparse", "fast"], help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_decode(args.child, [Path(f) for f in args.files])))
        return
    corpus = (args.corpus or default_corpus()).resolve()
    files = corpus_files(corpus)
    load_before = corpus_header(corpus, files)
    script = Path(__file__).resolve()
    names = [str(p) for p in files]
    fp = run_child(script, ["--child", "fitparse", *names])
    fast = run_child(script, ["--child", "fast", *names])
    load_after = machine_load()
    ratios = per_file_table(fp, fast, "fast", corpus)
    rec = sum(f["records"] for f in fp["files"])
    t_fp = sum(f["seconds"] for f in fp["files"])
    t_fast = sum(f["seconds"] for f in fast["files"])
    c_fp = sum(f["cpu_seconds"] for f in fp["files"])
    c_fast = sum(f["cpu_seconds"] for f in fast["files"])
    fallbacks = [Path(f["file"]).name for f in fast["files"] if f["decoder"] != "fast"]
    lo, med, hi = spread(ratios)
    print()
    print(
        f"records: {rec}; fitparse {t_fp:.2f} s = {rec / t_fp:,.0f} records/s; "
        f"fast {t_fast:.3f} s = {rec / t_fast:,.0f} records/s"
    )
    print(
        f"aggregate ratio (wall): {t_fp / t_fast:.0f}x; (CPU time: {c_fp / c_fast:.0f}x); "
        f"per-file ratio min/median/max: {lo:.1f}x / {med:.0f}x / {hi:.0f}x"
    )
    print(
        f"peak RSS: fitparse {fmt_mb(fp['ru_maxrss_kb'])} (after imports {fmt_mb(fp['base_rss_kb'])}), "
        f"fast {fmt_mb(fast['ru_maxrss_kb'])} (after imports {fmt_mb(fast['base_rss_kb'])})"
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
                    "fast_s": t_fast,
                    "ratio": t_fp / t_fast,
                    "cpu_ratio": c_fp / c_fast,
                    "per_file_ratio": {"min": lo, "median": med, "max": hi},
                    "peak_rss_kb": {"fitparse": fp["ru_maxrss_kb"], "fast": fast["ru_maxrss_kb"]},
                    "load_before": load_before,
                    "load_after": load_after,
                    "fallbacks": fallbacks,
                    "fitparse": fp,
                    "fast": fast,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
