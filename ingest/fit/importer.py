"""`import`: FIT sources -> decode -> canonical activities -> the store; and phone-app CSV exports.

Strong and Hevy CSV exports met on the way (``.csv`` files, in folders and archives too,
recognised by their header: ``ingest.apps.detect``) are parsed here, in this process (a parse is
milliseconds), with the athlete's time zone and weight unit, and stored through
:meth:`store.activities.ImportWriter.write_app_file` by the update rule of
``store.app_sessions`` (docs/strength-ledger.md). They get the same statuses as FIT files.

* Idempotent: the ledger is keyed by (athlete, sha256 of the decompressed bytes); a duplicate is
  recognised before decoding, so a re-import costs a hash per file.
* Nothing is lost and nothing is half-imported: the ledger row and the data rows of a file
  commit in the same transaction; bulk imports commit chunks of files (docs/design.md section 3).
* Damaged input never stops the batch: each file gets a status and a one-line reason.
* Bounded: sources are read one at a time, files over a per-file limit are refused alone, work
  per file is constant however many fail (docs/operations.md, "Limits").
* Decoding runs in worker processes when the batch is large enough to pay for them; writing
  stays in this process (the store is single-writer). A worker is never forked from a process
  that holds an open DuckDB connection (a forked child inherits the connection's memory, locks and
  threads in whatever state they were): the import jobs start a :class:`DecodePool` before they
  open the store (forked then, in milliseconds, with the decoder already imported) and hand it
  in; without one, the workers come from a fork server (a fresh interpreter that imports the
  decoder once: ~0.5 s more per import), started once the batch has shown enough work to pay for
  them. Either way each worker exits when the importer dies, ``kill -9`` included
  (:mod:`ingest.fit.workers`). Either way a script that imports must guard its entry
  point with ``if __name__ == "__main__":`` (the fork server runs the main module again).
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.apps import AppExport, AppExportError, detect, parse_export
from ingest.apps.store_rows import export_file
from ingest.fit.activity import NoActivityData, NotAnActivity, build_activities, date_records
from ingest.fit.fitparse_boundary import decode_fitparse
from ingest.fit.model import DecodedFit, FitTooLarge
from ingest.fit.sources import is_csv_name, iter_sources, printable
from ingest.fit.workers import decode_pool, die_with_importer
from ingest.progress import ProgressFn, TerminalProgress, bar_wanted
from records.activities import ActivityData, SourceFile
from records.app_exports import AppImportOutcome
from store.activities import DELETED_REASON as _STORE_DELETED_REASON
from store.activities import ImportEvent, ImportWriter, deleted_hashes, imported_hashes
from store.athletes import get_profile
from store.connection import Connection

log = logging.getLogger("runstrong.import")

#: Use worker processes once at least this many files and bytes have needed decoding.
PARALLEL_MIN_FILES = 4
PARALLEL_MIN_BYTES = 1_000_000
#: Undecoded input handed to the workers at once (at least one file): bounds the batch's memory.
MAX_IN_FLIGHT_BYTES = 128 * 1024 * 1024


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
    #: a phone-app export: what was read and what storing it did (None for FIT files)
    app: dict[str, Any] | None = None

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
            "app": self.app,
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
            self.executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=die_with_importer,
                initargs=(os.getpid(),),
            )
            self.executor.submit(int).result()  # forks every worker now

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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

    Sources are read lazily, one at a time (never listed ahead), so memory is bounded per file
    and per batch whatever a folder or an archive holds (docs/operations.md, "Limits"). Work is
    linear in the number of files, whatever becomes of them.

    Files of this athlete deleted by ``athlete delete`` are skipped with the reason ``deleted
    athlete`` unless ``undelete`` is set (their tombstones are then lifted and they import anew).
    ``pool`` (started before ``con`` was opened) decodes once the batch has shown enough work to
    pay for it; without one, ``workers`` processes from a fork server (``workers=1``: inline).
    ``progress(done, seen)`` counts the files handled and those found so far; ``show_progress``
    also draws a bar with rate when stderr is a terminal (:mod:`ingest.progress`; never under cron
    or into a pipe).
    """
    t0 = time.perf_counter()
    summary = ImportSummary()
    known = imported_hashes(con, athlete)
    tombstoned = set() if undelete else deleted_hashes(con, athlete)
    n_workers = workers if workers is not None else (pool.workers if pool is not None else default_workers())
    executor: ProcessPoolExecutor | None = None
    own_executor = False
    bars = TerminalProgress(enabled=show_progress and bar_wanted())
    found = 0
    exhausted = False

    def report(done: int) -> None:
        # while sources are still being read there may be more: the bar never looks complete early
        bar(done, found if exhausted else found + 1)
        if progress is not None:
            progress(done, found)

    pending = _Pending(None, window=4 * n_workers, max_bytes=MAX_IN_FLIGHT_BYTES)
    queued: set[str] = set()
    outcome: dict[str, FileResult] = {}
    writer = ImportWriter(
        con,
        athlete,
        lift_tombstones=undelete,
        on_failed=lambda sha, error: _fail(outcome[sha], error),
        on_skipped=lambda sha, reason: _skip(outcome[sha], reason),
    )
    duplicates: list[tuple[FileResult, str]] = []
    work_files = work_bytes = 0
    apps = AppSettings.of(con, athlete)
    try:
        bars.start()
        bar = bars.task("import", unit="files", total=None)
        for item in iter_sources(paths):
            found += 1
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
            elif (
                bad is not None and item.data is not None and (is_csv_name(item.path) or detect(item.data) is not None)
            ):
                assert sha is not None and item.data is not None
                queued.add(sha)  # a phone-app export (or a CSV that is not one): read and stored here
                outcome[sha] = result = import_app_export(writer, item.path, item.data, sha, apps)
                pending.add_result(result)
            elif bad is not None:  # not FIT at all: no need to ship it to a worker
                assert sha is not None
                queued.add(sha)
                outcome[sha] = result = FileResult(path=item.path, status="failed", sha256=sha, error=bad)
                pending.add_result(result)
            else:
                assert item.data is not None and sha is not None
                queued.add(sha)
                work_files += 1
                work_bytes += len(item.data)
                if (
                    executor is None
                    and n_workers > 1
                    and work_files >= PARALLEL_MIN_FILES
                    and work_bytes >= PARALLEL_MIN_BYTES
                ):
                    # enough work to pay for workers: the first files were decoded here, the rest there
                    if pool is not None and pool.executor is not None:
                        executor, n_workers = pool.executor, pool.workers
                    else:
                        executor, own_executor = decode_pool(n_workers), True
                    pending.pool = executor
                pending.add_work(item.path, item.data, sha)
            del item
            for done in pending.drain(until_not_full=True):
                _store(writer, outcome, done, summary, duplicates, report)
        exhausted = True
        for done in pending.drain(until_not_full=False):
            _store(writer, outcome, done, summary, duplicates, report)
        bar(len(summary.files), found)  # every source read: the bar's true total
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
DELETED_REASON = _STORE_DELETED_REASON
#: ``skipped`` reason of a CSV whose header is neither Strong's nor Hevy's
NOT_AN_APP_EXPORT = "not a Strong or Hevy export (header not recognised)"


@dataclass(frozen=True)
class AppSettings:
    """How an app export is read for this athlete: their zone (the apps write local times without
    one) and the weight unit of an export that does not name its own."""

    tz: str
    tz_source: str  # 'athlete' | 'default'
    weight_unit: str
    weight_unit_source: str  # 'athlete' | 'default'

    @classmethod
    def of(cls, con: Connection, athlete: str) -> AppSettings:
        p = get_profile(con, athlete)
        tz, wu = (p.tz, p.weight_unit) if p is not None else (None, None)
        return cls(tz or "UTC", "athlete" if tz else "default", wu or "kg", "athlete" if wu else "default")

    def zone_note(self) -> str:
        if self.tz_source == "athlete":
            return f"times read in {self.tz}, the athlete's time zone (the export has none)"
        return (
            "times read in UTC: the athlete has no time zone (`athlete set --tz ZONE` reads them again in "
            "it); the export has none"
        )


def _app_doc(exp: AppExport, settings: AppSettings, outcome: AppImportOutcome | None) -> dict[str, Any]:
    """The ``app`` object of an app export's import result (docs/cli.md)."""
    return {
        "app": exp.app,
        "variant": exp.variant,
        "encoding": exp.encoding,
        "delimiter": exp.delimiter,
        "sessions": len(exp.sessions),
        **(outcome.to_dict() if outcome is not None else {}),
        "bad_rows": [{"line": b.line, "reason": b.reason} for b in exp.bad_rows],
        "skipped_rows": len(exp.skipped_rows),
        "unmapped_exercises": list(exp.unmapped_exercises),
        "tz": exp.tz,
        "zone_assumed": exp.zone_assumed,
        "tz_source": settings.tz_source,
        "date_rule": {"day_month_order": exp.date_rule.day_month_order, "decided_by": exp.date_rule.decided_by},
        "weight_unit": exp.weight_unit,
        "weight_unit_source": exp.weight_unit_source
        if exp.weight_unit_source != "caller"
        else f"caller ({'the athlete' if settings.weight_unit_source == 'athlete' else 'default'}: "
        f"`athlete set --weight-unit`)",
    }


def import_app_export(writer: ImportWriter, path: str, data: bytes, sha256: str, settings: AppSettings) -> FileResult:
    """Parse one CSV and store it if it is a Strong or Hevy export (see the module docstring).

    ``skipped`` when the header is neither app's; ``failed`` when the export is refused whole
    (its dates undecidable, no readable row...) or the database refused it; ``partial`` when rows
    were refused (each listed with its line and reason in ``app.bad_rows``), the rest kept."""
    if detect(data) is None:
        return FileResult(path=path, status="skipped", sha256=sha256, reason=NOT_AN_APP_EXPORT)
    try:
        exp = parse_export(data, tz=settings.tz, weight_unit=settings.weight_unit)  # type: ignore[arg-type]
    except AppExportError as exc:
        return FileResult(path=path, status="failed", sha256=sha256, error=f"app export refused: {exc.reason}")
    f = export_file(exp, path, len(data))
    result = FileResult(
        path=path,
        status=exp.status,
        sha256=sha256,
        sets=exp.sets,
        error=f.source.error,
        reason=settings.zone_note(),
        decoder=f.source.decoder,
    )
    outcome, error = writer.write_app_file(f, event=_event(result) if exp.status == "partial" else None)
    if error is not None:
        _fail(result, error)
    result.app = _app_doc(exp, settings, outcome)
    return result


def _event(result: FileResult) -> ImportEvent:
    """The ``import_event`` row of a failed, partial or skipped file."""
    return ImportEvent(result.path, result.status, result.error or result.reason, result.sha256)


def _fail(result: FileResult, error: str) -> None:
    result.status = "failed"
    result.error = error
    result.activity_ids = []
    result.records = 0
    result.sets = 0


def _skip(result: FileResult, reason: str) -> None:
    """A file the writer left out: stored meanwhile by another station (``duplicate``) or deleted."""
    result.status = "skipped"
    result.reason = reason
    result.error = None
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
    progress: Callable[[int], None],
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
        if result.status == "failed" or (
            result.status == "skipped" and result.reason not in ("duplicate", DELETED_REASON)
        ):
            writer.add_event(_event(result))
    summary.files.append(result)
    progress(len(summary.files))
