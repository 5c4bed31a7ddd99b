"""DuckLake: one store shared by many stations (docs/store.md, "The lake"; docs/operations.md).

With ``--lake CATALOG`` every command works on a DuckLake instead of the single DuckDB file: the
catalog (tables, snapshots, transactions) lives in PostgreSQL (``postgres:dbname=... host=...``,
a clinic's stations on several machines) or in a SQLite file (``sqlite:/path``, several processes
on one machine), the rows in Parquet files under the data path. Each process stays an embedded
DuckDB (in memory) with the lake attached as :data:`LAKE_ALIAS` and made its default database, so
the store's SQL runs on it unchanged but for the upserts (no keys in DuckLake) and the DDL
(:mod:`store.lake_schema`).

This module owns the DuckLake and PostgreSQL/SQLite boundary:

* :func:`attach`: an in-memory DuckDB with the extensions loaded from the ``duckdb-ext-*`` wheels
  (no download), the lake attached and used;
* **claims** (:meth:`LakeSession.claim`): DuckLake has no PRIMARY KEY or UNIQUE constraint, and
  concurrent appends never conflict, so two stations importing the same file at once would both
  commit it. Every write of an athlete's rows therefore holds the claim ``athlete:<slug>`` from
  before its lake transaction begins until after it committed; inside it, the writer reads the
  ledgers again and writes only what is missing. With a PostgreSQL catalog the claim is a row of
  ``runstrong_claim`` (``scope`` is its primary key) in the catalog's own database, inserted in an
  open PostgreSQL transaction and rolled back afterwards: a second station inserting the same
  scope waits on the unique index until the first has finished (at most ``--wait`` seconds:
  ``lock_timeout``), and a station that dies (``kill -9``, a lost machine) has its transaction,
  and so its claim, ended by the server. With a SQLite catalog (one machine) the claim is an
  exclusive ``flock`` on ``<catalog>.claims/<scope>.lock``, released by the kernel when its
  process dies;
* :func:`write_transaction`: BEGIN ... COMMIT under a claim, retried with backoff when DuckLake
  reports a conflict (two transactions deleting from the same data file, a compaction meanwhile);
* **reachability**: an error while the catalog's server is down becomes
  :class:`LakeUnreachableError` (the CLI's exit code 4), after a probe of the catalog.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import socket
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb

from store.errors import StoreError
from store.hooks import test_pause

LAKE_ALIAS = "runstrong_lake"
"""The name the lake is attached under (and made the default database)."""
META_ALIAS = f"__ducklake_metadata_{LAKE_ALIAS}"
"""DuckLake attaches the catalog's own database under this name (PostgreSQL or SQLite)."""
CLAIM_TABLE = "runstrong_claim"
EXTENSIONS = {"postgres": ("ducklake", "postgres_scanner"), "sqlite": ("ducklake", "sqlite_scanner")}
"""Extension binaries loaded from the ``duckdb-ext-*`` packages, per catalog kind."""
MAX_ATTEMPTS = 8
"""Attempts of one lake transaction that DuckLake refuses with a conflict (backoff 50 ms doubling)."""

T = TypeVar("T")


class LakeError(StoreError):
    """A lake that cannot be used as given (bad ``--lake`` value, extensions missing): exit code 2."""


class LakeUnreachableError(StoreError):
    """The lake's catalog (its PostgreSQL server, its SQLite file) cannot be reached: exit code 4.
    Raised before anything is half-written: a lake transaction commits whole or not at all."""


class LakeBusyError(StoreError):
    """Another station held the claim this write needs for longer than ``--wait``: exit code 3."""


@dataclass(frozen=True)
class LakeConfig:
    """``--lake CATALOG`` (DuckDB's DuckLake syntax without ``ducklake:``) and ``--lake-data DIR``."""

    catalog: str
    data_path: str | None = None
    encrypted: bool = False
    """Create the lake with DuckLake's ``ENCRYPTED`` option (each data file encrypted, its key kept in
    the catalog); a lake created so stays encrypted whoever attaches it later."""

    @property
    def kind(self) -> str:
        return self.catalog.split(":", 1)[0]

    @property
    def target(self) -> str:
        """The catalog without its kind: a libpq connection string or the SQLite file's path."""
        return self.catalog.split(":", 1)[1] if ":" in self.catalog else ""

    def shown(self) -> str:
        """The catalog as printed in messages (a password, if any, masked)."""
        return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", self.catalog)

    def check(self) -> LakeConfig:
        if self.kind not in EXTENSIONS or not self.target.strip():
            raise LakeError(
                f"--lake {self.shown()!r}: give 'postgres:dbname=... host=... port=...' or "
                "'sqlite:/path/catalog.sqlite' (DuckDB's DuckLake catalog syntax without 'ducklake:')"
            )
        if self.data_path is not None and "'" in self.data_path:
            raise LakeError(f"--lake-data {self.data_path!r}: a path with a quote is not supported")
        return self


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def extension_dir() -> Path:
    """Where the ``duckdb-ext-*`` wheels put the extension binaries of this DuckDB and platform."""
    platform = duckdb.execute("PRAGMA platform").fetchone()
    version = duckdb.__version__
    try:
        import duckdb_ext  # type: ignore[import-untyped]  # the namespace package of the duckdb-ext-* wheels

        roots = [Path(p) for p in duckdb_ext.__path__]
    except ImportError:
        roots = []
    for root in roots:
        folder = root / "extensions" / f"v{version}" / str(platform[0] if platform else "")
        if folder.is_dir():
            return folder
    raise LakeError(
        f"the lake needs the packages duckdb-ext-ducklake, duckdb-ext-postgres and duckdb-ext-sqlite "
        f"built for DuckDB {version} (pip install -e .): no extensions found for it"
    )


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _process_start_ticks() -> str:
    try:
        return Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


STATION = f"{socket.gethostname()}:{os.getpid()}:{_process_start_ticks()}"
"""This process as a claim names it (host, PID, process start)."""


@dataclass
class LakeSession:
    """The lake attached to one connection: its configuration, its claims, its probe."""

    config: LakeConfig
    _con: weakref.ref[duckdb.DuckDBPyConnection]
    wait_s: float
    held: list[str] = field(default_factory=list)
    in_transaction: bool = False
    _claim_con: duckdb.DuckDBPyConnection | None = None
    _locks: dict[str, int] = field(default_factory=dict)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        con = self._con()
        if con is None:
            raise StoreError("the lake's connection is closed")
        return con

    # -- claims ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def claim(self, scope: str) -> Iterator[None]:
        """Hold ``scope`` (``athlete:<slug>``, ``schema``) for the block; re-entrant. Raises
        :class:`LakeBusyError` if another station holds it for more than ``wait_s`` seconds."""
        if scope in self.held:
            yield
            return
        self._take(scope)
        self.held.append(scope)
        try:
            yield
        finally:
            self.held.remove(scope)
            self._release(scope)

    def _busy(self, scope: str) -> LakeBusyError:
        what = scope.replace("athlete:", "athlete ", 1)
        return LakeBusyError(
            f"{what} is being written by another station of lake {self.config.shown()}; "
            f"waited {self.wait_s:.0f} s: retry when it has finished, or raise --wait"
        )

    def _take(self, scope: str) -> None:
        if self.config.kind == "sqlite":
            self._take_flock(scope)
            return
        if self._claim_con is None:
            self._claim_con = self.con.cursor()
        cur = self._claim_con
        first = not self.held
        if first:
            cur.execute("BEGIN TRANSACTION")
        ms = max(1, int(self.wait_s * 1000))
        sql = (
            f"SET LOCAL lock_timeout = {ms}; INSERT INTO {CLAIM_TABLE} (scope, station, claimed_at) "
            f"VALUES ({_sql_str(scope)}, {_sql_str(STATION)}, now()) "
            "ON CONFLICT (scope) DO UPDATE SET station = EXCLUDED.station, claimed_at = EXCLUDED.claimed_at"
        )
        try:
            cur.execute("CALL postgres_execute(?, ?)", [META_ALIAS, sql])
        except duckdb.Error as exc:
            if first:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
            if "lock timeout" in str(exc):
                raise self._busy(scope) from None
            gone = self.unreachable(exc)
            if gone is not None:
                raise gone from None
            raise

    def _release(self, scope: str) -> None:
        if self.config.kind == "sqlite":
            fd = self._locks.pop(scope, None)
            if fd is not None:
                os.close(fd)  # closing the descriptor releases the flock
            return
        if not self.held and self._claim_con is not None:
            # the claim rows were never committed: rolling back ends them (and their row locks)
            with contextlib.suppress(duckdb.Error):
                self._claim_con.execute("ROLLBACK")

    def _take_flock(self, scope: str) -> None:
        folder = Path(self.config.target).expanduser()
        folder = folder.with_name(folder.name + ".claims")
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / (re.sub(r"[^A-Za-z0-9_.-]", "-", scope) + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise self._busy(scope) from None
                time.sleep(0.02)
        self._locks[scope] = fd

    # -- reachability ---------------------------------------------------------------------------

    def unreachable(self, exc: BaseException) -> LakeUnreachableError | None:
        """:class:`LakeUnreachableError` if the catalog cannot be reached now (``exc`` is what a
        statement raised; DuckLake's own message is often only "Failed to execute query"), else None."""
        return probe(self.con, self.config, exc)

    def close(self) -> None:
        for scope in list(self._locks):
            self._release(scope)
        if self._claim_con is not None:
            with contextlib.suppress(duckdb.Error):
                self._claim_con.close()
            self._claim_con = None


_SESSIONS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, LakeSession] = weakref.WeakKeyDictionary()


def session(con: duckdb.DuckDBPyConnection) -> LakeSession | None:
    """The lake behind ``con``, or None for a DuckDB file."""
    return _SESSIONS.get(con)


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    return con in _SESSIONS


_UNREACHABLE = (
    "unable to connect",
    "could not connect",
    "connection to server",
    "server closed the connection",
    "no connection to the server",
    "connection refused",
    "terminating connection",
    "unable to open database file",
    "the database system is shutting down",
    "the database system is starting up",
    "ssl connection has been closed",
)


def _unreachable_text(text: str) -> bool:
    low = text.lower()
    return any(s in low for s in _UNREACHABLE)


def _reason(exc: BaseException) -> str:
    """The useful part of a libpq / SQLite error: after ``Unable to connect to Postgres at "...":``."""
    text = str(exc)
    m = re.search(r'Unable to connect to Postgres at "[^"]*": (.*)', text)
    if m:
        text = m.group(1)
    return _first_line(Exception(text.replace("IO Error: ", "")))


def probe(
    con: duckdb.DuckDBPyConnection | None, config: LakeConfig, exc: BaseException | None = None
) -> LakeUnreachableError | None:
    """Ask the catalog for one row (PostgreSQL) or look at its file (SQLite); a
    :class:`LakeUnreachableError` naming the catalog and why, or None if it answers."""
    if config.kind == "sqlite":
        path = Path(config.target).expanduser()
        if not path.is_file() or not os.access(path, os.R_OK | os.W_OK):
            return LakeUnreachableError(
                f"lake catalog {config.shown()} unreachable: no readable and writable file {path}"
            )
        return None
    if exc is not None and _unreachable_text(str(exc)):
        return LakeUnreachableError(f"lake catalog {config.shown()} unreachable: {_reason(exc)}")
    if con is None:
        return None
    try:
        cur = con.cursor()
        try:
            cur.execute("SELECT * FROM postgres_query(?, 'SELECT 1')", [META_ALIAS]).fetchall()
        finally:
            cur.close()
    except duckdb.Error as probe_exc:
        return LakeUnreachableError(f"lake catalog {config.shown()} unreachable: {_reason(probe_exc)}")
    return None


def attach(config: LakeConfig, *, wait_s: float = 30.0, create: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as :data:`LAKE_ALIAS` and used; the claims table
    exists. Raises :class:`LakeUnreachableError` if the catalog cannot be reached, :class:`LakeError`
    for a lake that cannot be created or used as given. Does not migrate (``store.lake_schema``).

    ``create=False`` refuses a catalog that holds no lake yet (for commands that only read)."""
    config.check()
    folder = extension_dir()
    con = duckdb.connect(":memory:")
    try:
        for name in (*EXTENSIONS[config.kind], *(("httpfs",) if config.encrypted else ())):
            # httpfs brings OpenSSL's secure random engine, which DuckDB's encryption needs
            con.execute(f"LOAD {_sql_str(str(folder / (name + '.duckdb_extension')))}")
        if config.kind == "sqlite":
            path = Path(config.target).expanduser()
            if not create and not path.is_file():
                raise LakeUnreachableError(f"lake catalog {config.shown()} unreachable: no file {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_wal(path)
        options = []
        if config.data_path is not None:
            data = Path(config.data_path).expanduser()
            if "://" not in config.data_path:
                data.mkdir(parents=True, exist_ok=True)
            options.append(
                f"DATA_PATH {_sql_str(str(data) + '/' if '://' not in config.data_path else config.data_path)}"
            )
        if config.encrypted:
            options.append("ENCRYPTED")
        opts = f" ({', '.join(options)})" if options else ""
        _attach_lake(con, config, opts)
        con.execute(f"USE {LAKE_ALIAS}")
        if not config.encrypted and con.execute(
            "SELECT value FROM ducklake_options(?) WHERE option_name = 'encrypted'", [LAKE_ALIAS]
        ).fetchone() == ("true",):
            # a lake created encrypted: writing its files needs the secure random engine too
            con.execute(f"LOAD {_sql_str(str(folder / 'httpfs.duckdb_extension'))}")
        s = LakeSession(config, weakref.ref(con), wait_s)
        _SESSIONS[con] = s
        if config.kind == "postgres":
            _create_claim_table(con, config)
    except BaseException:
        con.close()
        raise
    return con


def _sqlite_wal(path: Path) -> None:
    """Put a SQLite catalog in WAL mode (kept in the file): readers then never block a writer's
    commit, and writers only wait for each other (measured: in the default rollback-journal mode,
    three processes creating and filling one lake failed with "database is locked")."""
    import sqlite3

    try:
        db = sqlite3.connect(str(path), timeout=30)
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()
    except sqlite3.Error:
        pass  # another process holds it now: it will have set the mode, or the next attach does


_CREATION_RACE = ("already exists", "duplicate key", "database is locked", "conflict")


def _attach_lake(con: duckdb.DuckDBPyConnection, config: LakeConfig, opts: str) -> None:
    """ATTACH the lake; retried when another process is creating the same new lake at that moment
    (DuckLake's first ATTACH creates its catalog tables: the second process finds them half made)."""
    delay = 0.05
    for attempt in range(1, MAX_ATTEMPTS + 3):
        try:
            con.execute(f"ATTACH {_sql_str('ducklake:' + config.catalog)} AS {LAKE_ALIAS}{opts}")
            return
        except duckdb.Error as exc:
            gone = probe(None, config, exc)
            if gone is not None:
                raise gone from None
            if attempt < MAX_ATTEMPTS + 2 and any(s in str(exc).lower() for s in _CREATION_RACE):
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"DETACH {LAKE_ALIAS}")
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)
                continue
            raise LakeError(f"cannot attach lake {config.shown()}: {_first_line(exc)}") from None


def _create_claim_table(con: duckdb.DuckDBPyConnection, config: LakeConfig) -> None:
    """Create ``runstrong_claim`` in the catalog's database if it is missing (a station's role,
    which may not create tables, only looks: docs/operations.md)."""
    try:
        row = con.execute(
            "SELECT * FROM postgres_query(?, ?)", [META_ALIAS, f"SELECT to_regclass('{CLAIM_TABLE}') IS NOT NULL"]
        ).fetchone()
        if row and row[0]:
            return
        con.execute(
            "CALL postgres_execute(?, ?)",
            [
                META_ALIAS,
                (
                    f"CREATE TABLE IF NOT EXISTS {CLAIM_TABLE} (scope TEXT PRIMARY KEY, station TEXT NOT NULL, "
                    "claimed_at TIMESTAMPTZ NOT NULL)"
                ),
            ],
        )
    except duckdb.Error as exc:
        # two stations creating it at once: PostgreSQL's IF NOT EXISTS is not race-free
        if "already exists" in str(exc) or "duplicate key" in str(exc):
            return
        raise probe(con, config, exc) or LakeError(
            f"lake {config.shown()}: cannot create the claims table "
            f"({_first_line(exc)}): see docs/operations.md for the role "
            "a station needs"
        ) from None


def close(con: duckdb.DuckDBPyConnection) -> None:
    s = _SESSIONS.pop(con, None)
    if s is not None:
        s.close()
    con.close()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def is_conflict(exc: BaseException) -> bool:
    """DuckLake refused the commit because another transaction changed what this one read or
    deleted (retry the whole transaction), or SQLite's file was busy."""
    text = str(exc).lower()
    return "conflict" in text or "database is locked" in text or "could not serialize" in text


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """True while ``con`` has an explicit transaction open. On a DuckDB file: two statements then
    share one transaction id, in autocommit each gets its own (a BEGIN that fails inside a
    transaction would abort that transaction: it cannot be the test). On a lake (whose
    transactions have no such id): while :func:`write_transaction` runs, the only way the store
    opens one there."""
    s = session(con)
    if s is not None:
        return s.in_transaction
    first = con.execute("SELECT txid_current()").fetchone()
    second = con.execute("SELECT txid_current()").fetchone()
    return first is not None and second is not None and first[0] == second[0]


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """BEGIN; False (nothing begun) when the caller's own transaction is open."""
    if in_transaction(con):
        return False
    con.execute("BEGIN TRANSACTION")
    return True


def write_transaction(con: duckdb.DuckDBPyConnection, fn: Callable[[], T], *, scope: str | None = None) -> T:
    """Run ``fn`` (the statements of one transaction, safe to run again) between BEGIN and COMMIT.

    On a DuckDB file: one attempt (the file's single-writer lock already serialises writers). On a
    lake: under the claim ``scope`` (taken before BEGIN, released after COMMIT), retried up to
    :data:`MAX_ATTEMPTS` times with backoff when DuckLake reports a conflict; an error while the
    catalog is down becomes :class:`LakeUnreachableError`. Inside a transaction the caller already
    holds, ``fn`` simply runs in it (under the claim, on a lake)."""
    s = session(con)
    if s is None:
        if not _begin(con):
            return fn()
        try:
            result = fn()
        except BaseException:
            _rollback(con)
            raise
        con.execute("COMMIT")
        return result
    test_pause("lake-claim")
    with s.claim(scope) if scope else contextlib.nullcontext():
        delay = 0.05
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if not _begin(con):
                return fn()
            s.in_transaction = True
            try:
                result = fn()
                test_pause("lake-commit")
                con.execute("COMMIT")
                return result
            except duckdb.Error as exc:
                _rollback(con)
                gone = s.unreachable(exc)
                if gone is not None:
                    raise gone from None
                if not is_conflict(exc) or attempt == MAX_ATTEMPTS:
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay *= 2
            except BaseException:
                _rollback(con)
                raise
            finally:
                s.in_transaction = False
    raise AssertionError("unreachable")


def retrying(con: duckdb.DuckDBPyConnection, fn: Callable[[], T]) -> T:
    """Run ``fn`` (which owns its transactions and is safe to run again, e.g. the migrations) and
    run it again when the catalog reports a conflict or a busy SQLite file."""
    delay = 0.05
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return fn()
        except duckdb.Error as exc:
            _rollback(con)
            s = session(con)
            gone = s.unreachable(exc) if s is not None else None
            if gone is not None:
                raise gone from None
            if not is_conflict(exc) or attempt == MAX_ATTEMPTS:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay *= 2
    raise AssertionError("unreachable")


@contextlib.contextmanager
def claimed(con: duckdb.DuckDBPyConnection, scope: str) -> Iterator[None]:
    """Hold the claim ``scope`` for the block on a lake (nothing on a DuckDB file)."""
    s = session(con)
    if s is None:
        yield
        return
    with s.claim(scope):
        yield


def athlete_scope(athlete: str) -> str:
    return f"athlete:{athlete}"


@contextlib.contextmanager
def errors_translated(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, a DuckDB error while the lake's catalog is unreachable becomes
    :class:`LakeUnreachableError` (nothing on a DuckDB file)."""
    try:
        yield
    except duckdb.Error as exc:
        s = session(con)
        gone = s.unreachable(exc) if s is not None else None
        if gone is not None:
            raise gone from None
        raise
