"""`import`: FIT sources -> decode -> canonical activities -> the store.

* Idempotent: the ledger is keyed by (athlete, sha256 of the decompressed bytes); a duplicate is
  recognised before decoding, so a re-import costs a hash per file.
* Nothing is lost and nothing is half-imported: the ledger row and the data rows of a file
  commit in the same transaction; bulk imports commit chunks of files (DESIGN.md section 3).
* Damaged input never stops the batch: each file gets a status and a one-line reason.
* Bounded: sources are read one at a time, files over a per-file limit are refused alone, work
  per file is constant however many fail (docs/operations.md, "Limits").
* Decoding runs in worker processes (:mod:`ingest.fit.workers`: started by a fork server, gone
  when this process is) once the batch has shown enough work to pay for them; writing stays in
  this process (the store is single-writer).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingest.fit.activity import NoActivityData, NotAnActivity, build_activities, date_records
from ingest.fit.fitparse_boundary import decode_fitparse
from ingest.fit.model import DecodedFit, FitTooLarge
from ingest.fit.sources import iter_sources, printable
from ingest.fit.workers import decode_pool
from ingest.progress import Progress
from ingest.records import ActivityData, SourceFile
from store.activities import (
    ActivityBuffer,
    deleted_hashes,
    imported_hashes,
    lift_tombstones,
    log_import_events,
)
from store.athletes import ensure_athlete

log = logging.getLogger("runstrong.import")

#: Commit after this many files, records or seconds, whichever comes first.
COMMIT_FILES = 64
COMMIT_RECORDS = 1_000_000
COMMIT_SECONDS = 1.0
#: Use worker processes once at least this many files and bytes have needed decoding.
PARALLEL_MIN_FILES = 4
PARALLEL_MIN_BYTES = 1_000_000
#: Undecoded input handed to the workers at once (at least one file): bounds the batch's memory.
MAX_IN_FLIGHT_BYTES = 128 * 1024 * 1024
#: Commit the import events (failed and skipped files) at least every this many.
COMMIT_EVENTS = 4096


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


def looks_like_fit(data: bytes) -> str | None:
    """None when ``data`` starts with a FIT header, else the reason it does not."""
    if len(data) == 0:
        return "empty file"
    if len(data) < 12:
        return f"not a FIT file: {len(data)} bytes is shorter than a FIT header"
    if data[8:12] != b".FIT":
        return "not a FIT file: no '.FIT' signature in the header"
    if data[0] not in (12, 14):
        return f"not a FIT file: header size {data[0]} (a FIT header is 12 or 14 bytes)"
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
        log.warning("%s: fast decoder cannot decode it (%s); decoding it with fitparse", printable(path), exc)
        return decode_fitparse(data)


def decode_item(path: str, data: bytes, sha256: str) -> Decoded:
    """Decode one file and build its activities (runs in worker processes)."""
    base = Decoded(path=path, sha256=sha256, bytes_size=len(data), status="failed")
    bad = looks_like_fit(data)
    if bad:
        base.error = bad
        return base
    try:
        fit = decode(data, path)
    except FitTooLarge as exc:  # over a per-file limit: refused whole, nothing decoded
        base.error = f"too large: {exc}"
        return base
    base.decoder = fit.decoder
    base.file_type = fit.file_type
    dating = date_records(fit)  # records without a timestamp: dated, or counted as not stored
    try:
        base.activities = build_activities(fit, sha256, consume=True, dating=dating)
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
    problems = [e for e in (fit.error, dating.note() if dating.undated else None) if e]
    base.status = "partial" if problems else "imported"
    base.error = "; ".join(problems) or None
    if dating.derived and not dating.undated:
        base.reason = dating.note()
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
    """Items in file order, decoded inline or in a process pool, with a bounded window.

    Every operation is O(1) per item (issue 12, item 9: the window used to be counted by scanning
    the whole queue on every add, quadratic in the number of failed or skipped files): ready
    entries at the head are handed on at once, so the queue holds at most the window's futures
    and what waits behind the oldest of them. The window is bounded by count (``window``) and by
    the bytes of undecoded input it holds (``max_bytes``, at least one item), so that a batch of
    large files keeps one or two of them in memory, not a dozen."""

    def __init__(self, pool: ProcessPoolExecutor | None, window: int, max_bytes: int) -> None:
        self.pool = pool
        self.window = window
        self.max_bytes = max_bytes
        self.queue: deque[tuple[FileResult | _Duplicate | None, Future[Decoded] | Decoded | None, int]] = deque()
        self.in_flight = 0
        self.in_flight_bytes = 0

    def add_result(self, r: FileResult | _Duplicate) -> None:
        self.queue.append((r, None, 0))

    def add_work(self, path: str, data: bytes, sha: str) -> None:
        if self.pool is None:
            self.queue.append((None, decode_item(path, data, sha), 0))
        else:
            self.queue.append((None, self.pool.submit(decode_item, path, data, sha), len(data)))
            self.in_flight += 1
            self.in_flight_bytes += len(data)

    def full(self) -> bool:
        return self.in_flight >= self.window or (self.in_flight > 0 and self.in_flight_bytes >= self.max_bytes)

    def drain(self, until_not_full: bool) -> Iterator[FileResult | _Duplicate | Decoded]:
        """Hand on the entries at the head that are ready; with ``until_not_full`` wait for the
        oldest future only while the window is full, else wait for everything."""
        while self.queue:
            r, w, size = self.queue[0]
            if isinstance(w, Future):
                if until_not_full and not self.full() and not w.done():
                    return
                self.queue.popleft()
                self.in_flight -= 1
                self.in_flight_bytes -= size
                yield w.result()
            else:
                self.queue.popleft()
                yield r if r is not None else w  # type: ignore[misc]


def import_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    *,
    athlete: str,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    show_progress: bool = True,
    undelete: bool = False,
) -> ImportSummary:
    """Import FIT files, folders and archives for ``athlete`` (see module docstring).

    Sources are read lazily, one at a time (never listed ahead), so memory is bounded per file
    and per batch whatever a folder or an archive holds (docs/operations.md, "Limits"). Work is
    linear in the number of files, whatever becomes of them. ``progress(done, seen)`` counts the
    files handled and those found so far.

    Files of this athlete deleted by ``athlete delete`` are skipped with the reason ``deleted
    athlete`` unless ``undelete`` is set (their tombstones are then lifted and they import anew).
    """
    t0 = time.perf_counter()
    summary = ImportSummary()
    known = imported_hashes(con, athlete)
    tombstoned = set() if undelete else deleted_hashes(con, athlete)
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    pool: ProcessPoolExecutor | None = None
    bar = Progress(total=0, label="import", enabled=show_progress)
    pending = _Pending(None, window=4 * n_workers, max_bytes=MAX_IN_FLIGHT_BYTES)
    queued: set[str] = set()
    writer = _ChunkWriter(con, athlete, lift_tombstones=undelete)
    duplicates: list[tuple[FileResult, str]] = []
    work_files = work_bytes = 0
    try:
        for item in iter_sources(paths):
            bar.total += 1
            sha = hashlib.sha256(item.data).hexdigest() if item.data is not None else None
            bad = looks_like_fit(item.data) if item.data is not None else None
            if item.skip is not None:
                pending.add_result(FileResult(path=item.path, status="skipped", reason=item.skip))
            elif item.error is not None:
                pending.add_result(FileResult(path=item.path, status="failed", error=item.error))
            elif sha in known:
                pending.add_result(FileResult(path=item.path, status="skipped", sha256=sha, reason="duplicate"))
            elif sha in tombstoned:
                pending.add_result(FileResult(path=item.path, status="skipped", sha256=sha, reason=DELETED_REASON))
            elif sha in queued:
                pending.add_result(_Duplicate(item.path, sha))
            elif bad is not None:  # not FIT at all: no need to ship it to a worker
                assert sha is not None
                queued.add(sha)
                writer.outcome[sha] = result = FileResult(path=item.path, status="failed", sha256=sha, error=bad)
                pending.add_result(result)
            else:
                assert item.data is not None and sha is not None
                queued.add(sha)
                work_files += 1
                work_bytes += len(item.data)
                if pool is None and n_workers > 1 and work_files >= PARALLEL_MIN_FILES \
                        and work_bytes >= PARALLEL_MIN_BYTES:
                    # enough work to pay for workers: the first files were decoded here, the rest there
                    pending.pool = pool = decode_pool(n_workers)
                pending.add_work(item.path, item.data, sha)
            del item
            for done in pending.drain(until_not_full=True):
                _store(writer, done, summary, duplicates, bar, progress)
        for done in pending.drain(until_not_full=False):
            _store(writer, done, summary, duplicates, bar, progress)
        writer.commit()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        bar.close()
    for result, sha in duplicates:  # a later copy shares the first copy's final fate
        _follow_first(result, writer.outcome[sha])
    summary.seconds = time.perf_counter() - t0
    return summary


#: ``skipped`` reason of a file whose athlete was deleted (``import --undelete`` imports it again).
DELETED_REASON = "deleted athlete"


class _ChunkWriter:
    """Stores decoded files in chunks, one transaction per chunk, so that one file's failure stays
    that file's: a chunk whose transaction fails (a key violation, a value DuckDB refuses) is rolled
    back and written again one file per transaction; the file that fails alone is reported
    ``failed`` with DuckDB's first error, and every other file of the chunk is kept."""

    def __init__(self, con: duckdb.DuckDBPyConnection, athlete: str, *, lift_tombstones: bool) -> None:
        self.con = con
        self.athlete = athlete
        self.lift_tombstones = lift_tombstones
        self.outcome: dict[str, FileResult] = {}
        self._files: list[tuple[SourceFile, list[ActivityData], FileResult]] = []
        self._events: list[FileResult] = []
        self._records = 0
        self._last_commit = time.monotonic()

    def add_file(self, source: SourceFile, activities: list[ActivityData], result: FileResult) -> None:
        self._files.append((source, activities, result))
        self._records += result.records
        if result.status == "partial":
            self._events.append(result)
        self.outcome[source.sha256] = result
        self._maybe_commit()

    def add_event(self, result: FileResult) -> None:
        """A failed, partial or (not duplicate) skipped file, recorded in ``import_event``."""
        self._events.append(result)
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        if (self._files and (len(self._files) >= COMMIT_FILES or self._records >= COMMIT_RECORDS
                             or time.monotonic() - self._last_commit >= COMMIT_SECONDS)) \
                or len(self._events) >= COMMIT_EVENTS:
            self.commit()

    def commit(self) -> None:
        files, events = self._files, self._events
        self._files, self._events, self._records = [], [], 0
        self._last_commit = time.monotonic()
        if not files and not events:
            return
        try:
            self._transaction(files, events)
        except duckdb.Error:
            failed: list[FileResult] = []
            for source, activities, result in files:
                try:
                    self._transaction([(source, activities, result)], [])
                except duckdb.Error as exc:
                    _fail(result, f"could not be stored: {_first_line(exc)}")
                    failed.append(result)
            gone = {id(r) for r in failed}  # a partial file that failed is logged once, as failed
            self._transaction([], [e for e in events if id(e) not in gone] + failed)

    def _transaction(self, files: list[tuple[SourceFile, list[ActivityData], FileResult]],
                     events: list[FileResult]) -> None:
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if files:
                ensure_athlete(con, self.athlete)
                if self.lift_tombstones:
                    lift_tombstones(con, self.athlete, [s.sha256 for s, _, _ in files])
                buffer = ActivityBuffer()
                for source, activities, _ in files:
                    buffer.add(self.athlete, source, activities)
                buffer.flush(con)
            log_import_events(con, self.athlete, [(e.path, e.status, e.error or e.reason, e.sha256) for e in events])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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
    writer: _ChunkWriter,
    done: FileResult | _Duplicate | Decoded,
    summary: ImportSummary,
    duplicates: list[tuple[FileResult, str]],
    bar: Progress,
    progress: Callable[[int, int], None] | None,
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
            writer.add_file(source, done.activities, result)
        else:
            writer.outcome[done.sha256] = result
            writer.add_event(result)
    elif isinstance(done, _Duplicate):
        result = FileResult(path=done.path, status="skipped", sha256=done.sha256, reason="duplicate")
        duplicates.append((result, done.sha256))
    else:
        result = done
        # a deleted athlete's file leaves no trace, not even an event
        if result.status == "failed" or (result.status == "skipped" and result.reason not in ("duplicate",
                                                                                               DELETED_REASON)):
            writer.add_event(result)
    summary.files.append(result)
    bar.update(len(summary.files))
    if progress is not None:
        progress(len(summary.files), bar.total)
