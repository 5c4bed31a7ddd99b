"""A throwaway PostgreSQL cluster for the lake tests (Debian's ``postgresql`` package).

The cluster lives in a temporary folder on a Unix socket there (no TCP port), is started once per
test session and stopped at its end. initdb refuses to run as root, and CI runs as root: then the
cluster runs as the ``postgres`` user (``runuser -u postgres``) in a folder that user owns. Where
PostgreSQL is missing the lake tests are skipped with a loud note, and fail under ``CI=true``
(like the browser tests, tests/report/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from store.lake import LakeConfig

_SKIPPED_LAKE: list[str] = []


def pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl
    (``RUNSTRONG_PG_BIN`` overrides; ``RUNSTRONG_PG_BIN=none`` pretends it is missing)."""
    env = os.environ.get("RUNSTRONG_PG_BIN")
    if env:
        return None if env.lower() == "none" else Path(env)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def lake_unavailable(reason: str) -> None:
    """Fail under CI=true, else skip and remember it for the loud terminal note."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: the lake tests cannot run")
    _SKIPPED_LAKE.append(reason)
    pytest.skip(f"{reason}: lake tests SKIPPED")


@dataclass
class PgServer:
    """One running cluster: ``catalog(dbname)`` is the ``--lake`` value of a database in it."""

    bin: Path
    root: Path
    as_postgres: bool
    port: int = 5432

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else list(cmd)
        return subprocess.run(full, capture_output=True, text=True, timeout=120, check=check, cwd=self.root)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        )

    def start(self) -> None:
        opts = f"-k {self.root} -c listen_addresses='' -p {self.port} -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def createdb(self, name: str) -> None:
        self._run(str(self.bin / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", name)

    def psql(self, dbname: str, sql: str) -> str:
        return self._run(
            str(self.bin / "psql"),
            "-h",
            str(self.root),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            dbname,
            "-At",
            "-c",
            sql,
        ).stdout

    def catalog(self, dbname: str) -> str:
        return f"postgres:dbname={dbname} host={self.root} port={self.port} user=postgres"


def start_server() -> PgServer:
    """initdb + start in a fresh temporary folder (owned by ``postgres`` when we are root)."""
    found = pg_bin()
    if found is None or not (found / "initdb").exists() or not (found / "pg_ctl").exists():
        lake_unavailable(
            "PostgreSQL is not installed (apt-get install -y postgresql; expected "
            "/usr/lib/postgresql/<version>/bin/initdb)"
        )
    assert found is not None
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="runstrong-pg-"))
    if as_postgres:
        if shutil.which("runuser") is None:
            lake_unavailable("running as root without runuser: cannot run initdb as the postgres user")
        shutil.chown(root, user="postgres")
    server = PgServer(found, root, as_postgres)
    try:
        server.init()
        server.start()
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}\n{log}")
    return server


def remove_server(server: PgServer) -> None:
    server.stop("immediate")
    shutil.rmtree(server.root, ignore_errors=True)


@contextmanager
def running_server() -> Iterator[PgServer]:
    """A started cluster, stopped and removed on the way out."""
    server = start_server()
    try:
        yield server
    finally:
        remove_server(server)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def own_pg_server() -> Iterator[PgServer]:
    """A cluster of the test's own (a test that stops its server)."""
    with running_server() as server:
        yield server


@pytest.fixture
def lake(pg_server: PgServer, tmp_path: Path) -> LakeConfig:
    """A new, empty lake: a fresh database in the session's cluster, data under ``tmp_path``."""
    name = f"lake_{uuid.uuid4().hex[:12]}"
    pg_server.createdb(name)
    return LakeConfig(pg_server.catalog(name), str(tmp_path / "lake-data"))


def lake_env(config: LakeConfig) -> dict[str, str]:
    """The environment that points the CLI at ``config``."""
    env = {**os.environ, "RUNSTRONG_LAKE": config.catalog}
    if config.data_path:
        env["RUNSTRONG_LAKE_DATA"] = config.data_path
    return env


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _SKIPPED_LAKE:
        terminalreporter.write_sep("!", "LAKE TESTS SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(
            f"the lake tests did not run ({'; '.join(sorted(set(_SKIPPED_LAKE)))}). DuckLake with a PostgreSQL "
            "catalog was NOT checked. Install it with: apt-get install -y postgresql",
            yellow=True,
        )
