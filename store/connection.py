"""Opening the DuckDB store: single-writer rule, waiting for a lock, migrations.

DuckDB lets one process hold a database file read-write, and while it does no other process
can open it at all, not even read-only (docs/design.md section 3). :func:`open_store` retries for
up to ``wait_s`` seconds and then raises :class:`DatabaseLockedError` naming the holder, which
the CLI maps to exit code 3.

A missing store is created race-free (:func:`create_store`): built whole under a temporary name
in its folder, then hard-linked to its name, which fails if another process got there first; no
process can ever open a half-created file ("not a valid DuckDB database file"). A store written
by a newer runstrong (schema) or a newer DuckDB (storage format) is refused with
:class:`store.schema.NewerStoreError` (the CLI's exit code 2) before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from store.errors import StoreError as StoreError
from store.hooks import test_pause as _test_pause
from store.lake import LakeConfig
from store.schema import NewerStoreError, check_not_newer, migrate

Connection = duckdb.DuckDBPyConnection
"""An open store: what :func:`open_store` returns and what every store function takes. Other
layers annotate with this name and never import duckdb themselves."""

DEFAULT_DB = Path("~/.local/share/runstrong/runstrong.duckdb")
_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<prog>.*?) \(PID (?P<pid>\d+)\)")


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
            newer = newer_duckdb_message(path, exc)
            if newer is not None:
                raise NewerStoreError(newer) from None
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


def newer_duckdb_message(path: Path, exc: BaseException) -> str | None:
    """One line naming both DuckDB versions when ``exc`` says the file's storage format is newer
    than this DuckDB reads (None for any other error)."""
    text = str(exc)
    # 1.1-1.3 say "created with a newer version of DuckDB", 1.4 "created with an newer version"
    if "newer version of DuckDB" not in text:
        return None
    # DuckDB >= 1.2: "... storage version number N, but we can only read storage versions between A and B";
    # DuckDB 1.1: "... version number N, but we can only read version A"
    m = re.search(
        r"version number (\d+), but we can only read (?:storage )?versions? (?:between )?(\d+)"
        r"(?: and (\d+))?",
        text,
    )
    formats = ""
    if m:
        readable = m.group(2) if m.group(3) is None else f"{m.group(2)}-{m.group(3)}"
        formats = f" (storage format {m.group(1)}; this one reads {readable})"
    writer = _writer_version(path)
    return (
        f"database {path} was written by a newer DuckDB ({writer or 'version unknown'}) than this runstrong's "
        f"DuckDB {duckdb.__version__}{formats}: use a runstrong with that DuckDB or newer"
    )


def _writer_version(path: Path) -> str | None:
    """The DuckDB version a database file names in its header (the library version that wrote it)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(116)
    except OSError:
        return None
    if head[8:12] != b"DUCK":
        return None
    text = head[52:84].split(b"\0", 1)[0].decode("ascii", "replace").strip()
    return text or None


def create_store(db: Path) -> bool:
    """Create the store at ``db`` if it does not exist, race-free between processes; True if this
    call created it.

    The store is built whole (connected, migrated, closed: a complete DuckDB file with no WAL)
    under a temporary name in the same folder, then hard-linked to ``db``: ``link(2)`` fails if
    ``db`` exists, so of several processes creating the same store one wins and the others open
    its complete file. Where the file system has no hard links, the store is created in place as
    before (a concurrent opener can then see it half-written)."""
    if db.exists() or db.is_symlink():
        return False
    tmp = db.with_name(f".{db.name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        try:
            con = duckdb.connect(str(tmp))
            try:
                migrate(con)
            finally:
                con.close()
        except (duckdb.Error, OSError) as exc:  # a read-only folder, a full disk: one line, as for opening
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreError(f"cannot create database {db}: {first}") from None
        _test_pause("store-built")
        try:
            os.link(tmp, db)
        except FileExistsError:
            return False
        except OSError:  # no hard links here: the old way
            return False
        _test_pause("store-linked")
        return True
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def refuse_newer_store(path: Path | str) -> None:
    """Raise :class:`NewerStoreError` if the existing store at ``path`` is newer than this code (its
    schema or its DuckDB storage format); do nothing if it is missing or held by another process
    (the check is then made when it is opened). Opens the store read-only: writes nothing. For
    commands that write elsewhere first (a stream's landing file)."""
    db = Path(path).expanduser()
    if not db.is_file():
        return
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.IOException as exc:
        newer = newer_duckdb_message(db, exc)
        if newer is not None:
            raise NewerStoreError(newer) from None
        return
    except duckdb.Error:
        return
    try:
        check_not_newer(con)
    except NewerStoreError as exc:
        raise NewerStoreError(f"database {db}: {exc}") from None
    finally:
        con.close()


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def open_store(
    path: Path | str | None = None,
    *,
    wait_s: float = 30.0,
    on_wait: Callable[[str], None] | None = _stderr,
    lake: LakeConfig | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating) the main store read-write: the DuckDB file ``path``, or with
    ``lake`` the DuckLake it names (``store.lake``; ``path`` then only places the landing files).

    Raises :class:`NewerStoreError` for a store written by a newer runstrong or DuckDB (nothing is
    written to it), :class:`DatabaseLockedError` when it stays held for ``wait_s`` seconds,
    :class:`store.lake.LakeUnreachableError` when the lake's catalog cannot be reached."""
    if lake is not None:
        from store.lake_schema import open_lake

        return open_lake(lake, wait_s=wait_s)
    db = Path(path).expanduser() if path is not None else default_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    create_store(db)
    con = connect_with_wait(db, wait_s=wait_s, on_wait=on_wait)
    try:
        migrate(con)
    except NewerStoreError as exc:
        con.close()
        raise NewerStoreError(f"database {db}: {exc}") from None
    except BaseException:
        con.close()
        raise
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
