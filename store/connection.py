"""Opening the DuckDB store: single-writer rule, waiting for a lock, migrations.

DuckDB lets one process hold a database file read-write, and while it does no other process
can open it at all, not even read-only (docs/design.md section 3). :func:`open_store` retries for
up to ``wait_s`` seconds and then raises :class:`DatabaseLockedError` naming the holder, which
the CLI maps to exit code 3.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from store.schema import migrate

Connection = duckdb.DuckDBPyConnection
"""An open store: what :func:`open_store` returns and what every store function takes. Other
layers annotate with this name and never import duckdb themselves."""

DEFAULT_DB = Path("~/.local/share/runstrong/runstrong.duckdb")
_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<prog>.*?) \(PID (?P<pid>\d+)\)")


class StoreError(Exception):
    """Base class of store errors that reach the user as a one-line message."""


class DatabaseLockedError(StoreError):
    """Another process holds the database file."""

    def __init__(self, path: Path, holder_pid: int | None, holder: str | None, waited_s: float) -> None:
        self.path = path
        self.holder_pid = holder_pid
        self.holder = holder
        self.waited_s = waited_s
        who = f"PID {holder_pid} ({holder})" if holder_pid is not None else "another process"
        super().__init__(
            f"database {path} is locked by {who}; waited {waited_s:.0f} s. "
            "Only one runstrong process may use the database at a time: retry when it has finished, "
            "or raise --wait."
        )


def default_db_path() -> Path:
    env = os.environ.get("RUNSTRONG_DB")
    return Path(env).expanduser() if env else DEFAULT_DB.expanduser()


def parse_lock_holder(message: str) -> tuple[int | None, str | None]:
    """Extract (pid, program) from DuckDB's lock-conflict message."""
    m = _LOCK_RE.search(message)
    if not m:
        return None, None
    return int(m.group("pid")), m.group("prog")


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect_with_wait(
    path: Path,
    *,
    wait_s: float = 30.0,
    read_only: bool = False,
    on_wait: Callable[[str], None] | None = None,
    poll_s: float = 0.25,
) -> duckdb.DuckDBPyConnection:
    """Connect to ``path``, retrying while another process holds the lock.

    Raises
    ------
    DatabaseLockedError
        if the lock is still held after ``wait_s`` seconds.
    """
    start = time.monotonic()
    announced = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise StoreError(f"cannot open database {path}: {exc}") from exc
            waited = time.monotonic() - start
            pid, prog = parse_lock_holder(str(exc))
            if waited >= wait_s:
                raise DatabaseLockedError(path, pid, prog, waited) from None
            if not announced and on_wait is not None:
                who = f"PID {pid}" if pid is not None else "another process"
                on_wait(f"database {path} is in use by {who}; waiting up to {wait_s:.0f} s ...")
                announced = True
            time.sleep(min(poll_s, max(0.0, wait_s - waited)))


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def open_store(
    path: Path | str | None = None,
    *,
    wait_s: float = 30.0,
    on_wait: Callable[[str], None] | None = _stderr,
) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating) the main store read-write."""
    db = Path(path).expanduser() if path is not None else default_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    con = connect_with_wait(db, wait_s=wait_s, on_wait=on_wait)
    migrate(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, rolling back on any exception (including KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
