"""`import`: FIT sources -> decode -> canonical activities -> the store.

* Idempotent: the ledger is keyed by (athlete, sha256 of the decompressed bytes); a duplicate is
  recognised before decoding, so a re-import costs a hash per file.
* Nothing is lost and nothing is half-imported: the ledger row and the data rows of a file
  commit in the same transaction; bulk imports commit chunks of files (docs/design.md section 3).
* Damaged input never stops the batch: each file gets a status and a one-line reason.
* Decoding runs in worker processes when the batch is large enough to pay for them; writing
  stays in this process (the store is single-writer). A worker is never forked from a process
  that holds an open DuckDB connection (a forked child inherits the connection's memory, locks and
  threads in whatever state they were): the import jobs start a :class:`DecodePool` before they
  open the store (forked then, in milliseconds, with the decoder already imported) and hand it
  in; without one, the workers come from a fork server (a fresh interpreter that imports the
  decoder once: ~0.5 s more per import). Either way a script that imports must guard its entry
  point with ``if __name__ == "__main__":`` (the fork server runs the main module again).
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.fit.activity import NoActivityData, NotAnActivity, build_activities
from ingest.fit.fitparse_boundary import decode_fitparse
from ingest.fit.model import DecodedFit
from ingest.fit.sources import SourceItem, iter_sources
from ingest.progress import ProgressFn, TerminalProgress, bar_wanted
from records.activities import ActivityData, SourceFile
from store.activities import ImportEvent, ImportWriter, deleted_hashes, imported_hashes
from store.connection import Connection

log = logging.getLogger("runstrong.import")

#: Use worker processes when at least this many files and bytes need decoding.
PARALLEL_MIN_FILES = 4
PARALLEL_MIN_BYTES = 1_000_000


@dataclass
class FileResult:
    path: str
    status: str  # imported | skipped | failed | partial
    sha256: str | None = None
    activity_ids: list[str] = field(default_factory=list)
    sport: str | None = None
    records: int = 0
    sets: int = 0
    error: str | None = None
    reason: str | None = None
    decoder: str | None = None

    def to_contract(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "sha256": self.sha256,
            "activity_ids": self.activity_ids,
            "sport": self.sport,
            "records": self.records,
            "sets": self.sets,
            "error": self.error,
            "reason": self.reason,
        }


@dataclass
class ImportSummary:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files if f.status in ("imported", "partial"))

    @property
    def exit_code(self) -> int:
        return 1 if self.count("failed") or self.count("partial") else 0

    def to_contract(self) -> dict[str, Any]:
        return {
            "files": [f.to_contract() for f in self.files],
            "imported": self.count("imported"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "partial": self.count("partial"),
            "records": self.records,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Decoded:
    """What a worker returns for one file."""

    path: str
    sha256: str
    bytes_size: int
    status: str
    activities: list[ActivityData] = field(default_factory=list)
    decoder: str | None = None
    file_type: str | None = None
    error: str | None = None
    reason: str | None = None


def default_workers() -> int:
    """Decoding workers by default: two, or one on a single core."""
    return min(2, os.cpu_count() or 1)


class DecodePool:
    """Decoding worker processes, forked at once: create it BEFORE opening the store.

    ``with DecodePool() as pool: con = open_store(...); import_paths(con, ..., pool=pool)``. The
    workers are forked when the pool is created (Python forks every worker of a fork-context
    executor at its first task), so they copy a process that holds no DuckDB connection and has
    the decoder imported. One worker (a single core) means decoding inline, no process.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else default_workers()
        self.executor: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("fork"))
            self.executor.submit(int).result()  # forks every worker now

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fork_server_pool(workers: int) -> ProcessPoolExecutor:
    """Workers from a fork server, for a caller that already holds the store (no :class:`DecodePool`)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])  # each worker starts with the decoder imported
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def looks_like_fit(data: bytes) -> str | None:
    """None when ``data`` starts with a FIT header, else the reason it does not."""
    if len(data) == 0:
        return "empty file"
    if len(data) < 12:
        return f"not a FIT file: {len(data)} bytes is shorter than a FIT header"
    if data[0] not in (12, 14) or data[8:12] != b".FIT":
        return "not a FIT file: no '.FIT' signature in the header"
    return None


def decode(data: bytes, path: str = "") -> DecodedFit:
    """Our fast decoder, falling back to fitparse for the whole file when it cannot decode it."""
    try:
        from ingest.fit.fast_decoder import FastDecodeUnsupported, decode_fast
    except ImportError:  # pragma: no cover - only while the fast decoder is absent
        return decode_fitparse(data)
    try:
        return decode_fast(data)
    except FastDecodeUnsupported as exc:
        log.warning("%s: fast decoder cannot decode it (%s); decoding it with fitparse", path, exc)
        return decode_fitparse(data)


def decode_item(path: str, data: bytes, sha256: str) -> Decoded:
    """Decode one file and build its activities (runs in worker processes)."""
    base = Decoded(path=path, sha256=sha256, bytes_size=len(data), status="failed")
    bad = looks_like_fit(data)
    if bad:
        base.error = bad
        return base
    fit = decode(data, path)
    base.decoder = fit.decoder
    base.file_type = fit.file_type
    try:
        base.activities = build_activities(fit, sha256)
    except NotAnActivity as exc:
        if fit.error:  # damaged before we even learnt what it is
            base.error = fit.error
            return base
        base.status = "skipped"
        base.reason = str(exc)
        return base
    except NoActivityData as exc:
        base.error = fit.error or str(exc)
        return base
    base.status = "partial" if fit.error else "imported"
    base.error = fit.error
    return base


def _result_from(d: Decoded) -> FileResult:
    acts = d.activities
    sports = {a.sport for a in acts}
    return FileResult(
        path=d.path,
        status=d.status,
        sha256=d.sha256,
        activity_ids=[a.activity_id for a in acts],
        sport=(next(iter(sports)) if len(sports) == 1 else ("multisport" if sports else None)),
        records=sum(len(a.records) for a in acts),
        sets=sum(len(a.sets) for a in acts),
        error=d.error,
        reason=d.reason,
        decoder=d.decoder,
    )


@dataclass(frozen=True)
class _Duplicate:
    """A file whose content appeared earlier in this batch: its status follows the first copy's."""

    path: str
    sha256: str


class _Pending:
    """Items to decode, in order, decoded inline or in a process pool with a bounded window."""

    def __init__(self, pool: ProcessPoolExecutor | None, window: int) -> None:
        self.pool = pool
        self.window = window
        self.queue: deque[tuple[FileResult | _Duplicate | None, Future[Decoded] | Decoded | None]] = deque()

    def add_result(self, r: FileResult | _Duplicate) -> None:
        self.queue.append((r, None))

    def add_work(self, path: str, data: bytes, sha: str) -> None:
        if self.pool is None:
            self.queue.append((None, decode_item(path, data, sha)))
        else:
            self.queue.append((None, self.pool.submit(decode_item, path, data, sha)))

    def full(self) -> bool:
        return sum(1 for r, w in self.queue if isinstance(w, Future)) >= self.window

    def drain(self, until_not_full: bool) -> Iterator[FileResult | _Duplicate | Decoded]:
        while self.queue and (not until_not_full or self.full()):
            r, w = self.queue.popleft()
            if r is not None:
                yield r
            elif isinstance(w, Future):
                yield w.result()
            elif w is not None:
                yield w


def import_paths(
    con: Connection,
    paths: Iterable[str | Path],
    *,
    athlete: str,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    show_progress: bool = True,
    undelete: bool = False,
    pool: DecodePool | None = None,
) -> ImportSummary:
    """Import FIT files, folders and archives for ``athlete`` (see module docstring).

    Files of this athlete deleted by ``athlete delete`` are skipped with the reason ``deleted
    athlete`` unless ``undelete`` is set (their tombstones are then lifted and they import anew).
    ``pool`` (started before ``con`` was opened) decodes large batches; without it they are decoded
    by ``workers`` processes from a fork server (``workers=1``: inline).
    ``progress(done, total)`` is called after each file; ``show_progress`` also draws a bar with rate
    and ETA when stderr is a terminal (:mod:`ingest.progress`; never under cron or into a pipe).
    """
    t0 = time.perf_counter()
    summary = ImportSummary()
    items = list(iter_sources(list(paths)))
    known = imported_hashes(con, athlete)
    tombstoned = set() if undelete else deleted_hashes(con, athlete)
    seen: set[str] = set()
    todo: list[tuple[SourceItem, str]] = []
    ordered: list[tuple[SourceItem, str | None]] = []
    for item in items:
        sha = hashlib.sha256(item.data).hexdigest() if item.data is not None else None
        ordered.append((item, sha))
        if sha is not None and sha not in known and sha not in tombstoned and sha not in seen:
            todo.append((item, sha))
            seen.add(sha)
    n_workers = workers if workers is not None else (pool.workers if pool is not None else default_workers())
    executor: ProcessPoolExecutor | None = None
    own_executor = False
    todo_bytes = sum(len(item.data or b"") for item, _ in todo)
    if n_workers > 1 and len(todo) >= PARALLEL_MIN_FILES and todo_bytes >= PARALLEL_MIN_BYTES:
        if pool is not None and pool.executor is not None:
            executor, n_workers = pool.executor, pool.workers
        else:
            executor, own_executor = _fork_server_pool(n_workers), True
    bars = TerminalProgress(enabled=show_progress and bar_wanted())

    def report(done: int, total: int) -> None:
        bar(done, total)
        if progress is not None:
            progress(done, total)

    pending = _Pending(executor, window=4 * n_workers)
    queued: set[str] = set()
    outcome: dict[str, FileResult] = {}
    writer = ImportWriter(con, athlete, lift_tombstones=undelete,
                          on_failed=lambda sha, error: _fail(outcome[sha], error))
    duplicates: list[tuple[FileResult, str]] = []
    try:
        bars.start()
        bar = bars.task("import", unit="files", total=len(ordered))
        for item, sha in ordered:
            if item.error is not None:
                pending.add_result(FileResult(path=item.path, status="failed", error=item.error))
            elif sha in known:
                pending.add_result(FileResult(path=item.path, status="skipped", sha256=sha, reason="duplicate"))
            elif sha in tombstoned:
                pending.add_result(FileResult(path=item.path, status="skipped", sha256=sha, reason=DELETED_REASON))
            elif sha in queued:
                pending.add_result(_Duplicate(item.path, sha))
            else:
                assert item.data is not None and sha is not None
                queued.add(sha)
                pending.add_work(item.path, item.data, sha)
            for done in pending.drain(until_not_full=True):
                _store(writer, outcome, done, summary, duplicates, len(ordered), report)
        for done in pending.drain(until_not_full=False):
            _store(writer, outcome, done, summary, duplicates, len(ordered), report)
        writer.commit()
    finally:
        if own_executor and executor is not None:
            executor.shutdown(cancel_futures=True)
        bars.stop()
    for result, sha in duplicates:  # a later copy shares the first copy's final fate
        _follow_first(result, outcome[sha])
    summary.seconds = time.perf_counter() - t0
    return summary


#: ``skipped`` reason of a file whose athlete was deleted (``import --undelete`` imports it again).
DELETED_REASON = "deleted athlete"


def _event(result: FileResult) -> ImportEvent:
    """The ``import_event`` row of a failed, partial or skipped file."""
    return ImportEvent(result.path, result.status, result.error or result.reason, result.sha256)


def _fail(result: FileResult, error: str) -> None:
    result.status = "failed"
    result.error = error
    result.activity_ids = []
    result.records = 0
    result.sets = 0


def _follow_first(result: FileResult, first: FileResult) -> None:
    """The fate of a later copy (same content) of ``first`` in the same batch."""
    if first.status in ("imported", "partial"):
        result.status, result.reason, result.error = "skipped", "duplicate", None
    elif first.status == "skipped":
        result.status, result.reason, result.error = "skipped", first.reason, None
    else:
        result.status, result.reason, result.error = first.status, None, first.error


def _store(
    writer: ImportWriter,
    outcome: dict[str, FileResult],
    done: FileResult | _Duplicate | Decoded,
    summary: ImportSummary,
    duplicates: list[tuple[FileResult, str]],
    total: int,
    progress: ProgressFn,
) -> None:
    if isinstance(done, Decoded):
        result = _result_from(done)
        if done.status in ("imported", "partial"):
            source = SourceFile(
                sha256=done.sha256,
                path=done.path,
                bytes_size=done.bytes_size,
                status=done.status,
                decoder=done.decoder or "?",
                file_type=done.file_type,
                error=done.error,
            )
            outcome[done.sha256] = result
            writer.add_file(source, done.activities, event=_event(result) if result.status == "partial" else None)
        else:
            outcome[done.sha256] = result
            writer.add_event(_event(result))
    elif isinstance(done, _Duplicate):
        result = FileResult(path=done.path, status="skipped", sha256=done.sha256, reason="duplicate")
        duplicates.append((result, done.sha256))
    else:
        result = done
        # a deleted athlete's file leaves no trace, not even an event
        if result.status == "failed" or (result.status == "skipped" and result.reason not in ("duplicate",
                                                                                               DELETED_REASON)):
            writer.add_event(_event(result))
    summary.files.append(result)
    progress(len(summary.files), total)
