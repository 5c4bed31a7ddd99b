"""``nightly --watch DIR --out DIR``: import what is new, merge landed stream sessions, rebuild
the report. Safe from cron and safe to re-run at any time.

* Idempotent: the importer skips content it has seen (sha256 ledger), merged landing files are
  gone, and the report is rebuilt only when the store changed since the report in ``out_dir``
  was written (its ``report.json`` carries the store fingerprint); per-run proxies are cached in
  ``run_metric`` either way.
* Locking: the store is opened with :func:`store.connection.open_store`, which waits up to
  ``wait_s`` and then raises :class:`store.connection.DatabaseLockedError` naming the holder
  (a live stream merging its session, another nightly, an interactive command). The CLI maps it
  to exit code 3 with that one-line message; nothing half-done is left behind.
* Logging: one line per run on stderr and one ``run_log`` row (command ``nightly``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobs.recovery import merge_and_analyse
from jobs.report import build_report
from store.connection import open_store
from store.lake import LakeConfig, errors_translated
from store.report_queries import log_run


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_nightly(
    *,
    db_path: Path | str,
    watch_dir: Path | str,
    out_dir: Path | str,
    athlete: str = "default",
    wait_s: float = 30.0,
    log: Callable[[str], None] = _stderr,
    templates_dir: Path | str | None = None,
    lake: LakeConfig | None = None,
) -> dict[str, Any]:
    """Import new files under ``watch_dir`` for ``athlete``, merge pending stream sessions, rebuild
    the report in ``out_dir`` if anything changed. Returns a JSON-ready summary.

    Raises
    ------
    DatabaseLockedError
        the store stayed locked for ``wait_s`` seconds (CLI exit code 3).
    FileNotFoundError
        ``watch_dir`` does not exist.
    NotADirectoryError
        ``watch_dir`` is a file (the CLI's exit code 2).
    """
    from ingest.fit.importer import DecodePool, import_paths

    t0 = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    db = Path(db_path).expanduser()
    watch = Path(watch_dir).expanduser()
    if not watch.is_dir():
        if watch.exists():
            raise NotADirectoryError(
                f"--watch {watch} is a file, not a folder: give the folder the watch's exports land in"
            )
        raise FileNotFoundError(f"watch folder {watch} does not exist")
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(DecodePool())  # forked before the store is opened (ingest.fit.importer)
        con = open_store(db, wait_s=wait_s, on_wait=log, lake=lake)
        stack.callback(con.close)
        stack.enter_context(errors_translated(con))  # a lake whose catalog went away: exit 4
        imp = import_paths(con, [watch], athlete=athlete, show_progress=False, pool=pool)
        pool.close()
        merged = merge_and_analyse(con, db)
        rep = build_report(
            con,
            out_dir,
            reuse_unchanged=True,
            log_command=None,  # nightly logs its own row
            templates_dir=templates_dir,
        )
        summary: dict[str, Any] = {
            "command": "nightly",
            "athlete": athlete,
            "watch_dir": str(watch),
            "out_dir": str(Path(out_dir).expanduser()),
            "imported": imp.count("imported"),
            "skipped": imp.count("skipped"),
            "failed": imp.count("failed"),
            "partial": imp.count("partial"),
            "records": imp.records,
            "failed_files": [f.path for f in imp.files if f.status in ("failed", "partial")],
            "merged_sessions": merged,
            "report_rebuilt": bool(rep.get("rebuilt", True)),
            "report_index": rep.get("index_html"),
            "runs_computed": rep.get("runs_computed", 0),
            "notes": [],
        }
        summary["exit_code"] = 1 if summary["failed"] or summary["partial"] else 0
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        log_run(con, "nightly", started_at, summary["seconds"], summary)
    summary["log_line"] = (
        f"runstrong nightly {started_at:%Y-%m-%dT%H:%M:%SZ} athlete={athlete}: imported {summary['imported']}, "
        f"skipped {summary['skipped']}, failed {summary['failed']}, partial {summary['partial']}, "
        f"merged {len(merged)} stream session(s), report "
        f"{'rebuilt' if summary['report_rebuilt'] else 'unchanged'} ({summary['seconds']:.1f} s)"
    )
    log(summary["log_line"])
    return summary
