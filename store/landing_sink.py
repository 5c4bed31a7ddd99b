"""A stream session's landing file, written on one writer thread with back-pressure.

:class:`LandingSink` owns the :class:`~store.landing.LandingWriter` of one stream session and runs
every commit on a single writer thread, in order: DuckDB releases the GIL while it works, so a
slow commit (an automatic WAL checkpoint: ~0.1 s, 1-4 s before landing files were uncompressed)
never stalls the event loop, the BLE host sharing it, or the live rep feedback. At most
:data:`MAX_WRITES_IN_FLIGHT` batches wait for their commit; the next one then waits for the
oldest (back-pressure when the disk falls behind). A failed commit is re-raised in the caller at
its next call.

The session opens under its pending id (:meth:`open`), is renamed once its id is known
(:meth:`name`: ``LandingWriter.promote``), and ends with :meth:`finish` (the final transaction,
then the file is closed) or :meth:`abort` (after an error: what was committed stays for the next
``merge_pending``).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from store.landing import LandingWriter, landing_path

MAX_WRITES_IN_FLIGHT = 50
"""Batches handed to the writer thread and not committed yet before the caller waits (5 s of data)."""
THREAD_PREFIX = "runstrong-landing"


class LandingSink:
    """The landing file of one session of ``athlete`` next to the main database ``db_path``."""

    def __init__(self, db_path: str | Path, athlete: str, *, max_in_flight: int = MAX_WRITES_IN_FLIGHT) -> None:
        self.db_path = Path(db_path).expanduser()
        self.athlete = athlete
        self.max_in_flight = max_in_flight
        self.path: Path | None = None
        """The landing file the session is being written to (pending, then named)."""
        self._writer: LandingWriter | None = None  # created, promoted and used on the writer thread only
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: deque[Future[None]] = deque()
        self._finished = False

    @property
    def opened(self) -> bool:
        return self._pool is not None or self._finished

    @property
    def commit_seconds(self) -> list[float]:
        """Seconds of each batch commit so far."""
        return list(self._writer.commit_seconds) if self._writer is not None else []

    def open(self, landing_id: str, session_row: Mapping[str, Any]) -> None:
        """Start the writer thread and open the landing file ``landing_id`` (pending or named) on it."""
        if self._pool is not None:
            raise RuntimeError("the landing sink is already open")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_PREFIX)
        self.path = landing_path(self.db_path, self.athlete, landing_id)
        self._submit(self._open_writer, landing_id, dict(session_row))

    def name(self, session_id: str, session_row: Mapping[str, Any]) -> None:
        """The session id is known: open ``<session_id>.duckdb``, or promote the pending file to it."""
        if self._pool is None:
            self.open(session_id, session_row)
            return
        self.path = landing_path(self.db_path, self.athlete, session_id)
        self._submit(self._promote_writer, session_id, dict(session_row))

    def write(
        self,
        seq: int,
        frames: Mapping[str, Any],
        samples: Mapping[str, Mapping[str, Any]],
        gaps: Sequence[tuple[int, int]],
    ) -> None:
        """Queue one batch for its commit (``LandingWriter.write_batch``)."""
        self._submit(self._write_on_thread, seq, frames, samples, list(gaps))

    def finish(self, session_row: Mapping[str, Any], reps: Sequence[Any] = (), sets: Sequence[Any] = ()) -> None:
        """Wait for every queued commit, stop the thread, write the final transaction and close."""
        self.wait()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._finished = True
        assert self._writer is not None, "finish() of a landing sink that was never opened"
        self._writer.finish(session_row, reps, sets)
        self._writer.close()

    def wait(self) -> None:
        """Wait until every queued commit is done (re-raising the first failure)."""
        self._reap(wait_for=len(self._in_flight))

    def abort(self) -> None:
        """Stop after an error: the writer thread runs what is queued (a failing commit is
        dropped) and the landing file is closed. What was committed stays in it."""
        if self._pool is not None:
            self._pool.submit(self._close_writer_quietly)
            self._pool.shutdown(wait=True)
            self._pool = None
        else:
            self._close_writer_quietly()
        self._in_flight.clear()

    # ------------------------------------------------------------------ the writer thread
    def _open_writer(self, landing_id: str, row: dict[str, Any]) -> None:
        self._writer = LandingWriter(self.db_path, landing_id, row)

    def _promote_writer(self, session_id: str, row: dict[str, Any]) -> None:
        assert self._writer is not None
        self._writer = self._writer.promote(session_id, row)

    def _write_on_thread(
        self, seq: int, frames: Mapping[str, Any], samples: Mapping[str, Mapping[str, Any]], gaps: list[tuple[int, int]]
    ) -> None:
        assert self._writer is not None
        self._writer.write_batch(seq, frames, samples, gaps)

    def _close_writer_quietly(self) -> None:  # last
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue ``fn(*args)`` on the writer thread (after everything queued before it)."""
        if self._pool is None:
            raise RuntimeError("the landing sink is not open")
        self._in_flight.append(self._pool.submit(fn, *args))
        self._reap(wait_for=len(self._in_flight) - self.max_in_flight)

    def _reap(self, wait_for: int = 0) -> None:
        """Collect finished commits (re-raising a failed one here); first wait for the oldest
        ``wait_for`` of them."""
        while self._in_flight and (wait_for > 0 or self._in_flight[0].done()):
            self._in_flight.popleft().result()
            wait_for -= 1
