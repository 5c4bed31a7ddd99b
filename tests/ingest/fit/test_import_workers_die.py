"""The importer's worker processes never outlive it and never hold the store (issue 12, item 7)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ingest.fit.bigfit import run_file

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a live process, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """pid -> start time of every live descendant of ``root``."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[1] != "Z":
                children.setdefault(st[0], []).append(int(entry))
                starts[int(entry)] = st[2]
    out: dict[int, int] = {}
    todo = [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out[c] = starts[c]
            todo.append(c)
    return out


def _alive(pid: int, start: int) -> bool:
    st = _stat(pid)
    return st is not None and st[2] == start and st[1] != "Z"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("inbox")
    for k in range(40):  # ~1 MB each, distinct: enough work to keep two workers busy for seconds
        (d / f"run{k:02}.fit").write_bytes(run_file(50_000, start_unix_s=1_700_000_000 + 86_400 * k))
    return d


def _start_import(db: Path, inbox: Path) -> tuple[subprocess.Popen[bytes], dict[int, int]]:
    p = subprocess.Popen(
        [sys.executable, str(REPO / "pipeline.py"), "--db", str(db), "--quiet", "import", str(inbox)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = _descendants(p.pid)
        if len(kids) >= 2:  # the workers (and, with a fork server, the server)
            time.sleep(0.3)  # let them pick up work
            return p, _descendants(p.pid)
        if p.poll() is not None:
            break
        time.sleep(0.02)
    p.kill()
    raise AssertionError("the import never started worker processes")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_exit_when_the_import_is_killed(sig: signal.Signals, inbox: Path, tmp_path: Path) -> None:
    """main: each kill left its 2 forked workers blocked on pipes forever (~135 MB each, DB open)."""
    p, kids = _start_import(tmp_path / "x.duckdb", inbox)
    try:
        os.kill(p.pid, sig)
        p.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid, st) for pid, st in kids.items()):
            time.sleep(0.05)
        survivors = [pid for pid, st in kids.items() if _alive(pid, st)]
        assert survivors == [], f"worker processes outlived the killed import: {survivors}"
    finally:
        for pid, st in kids.items():
            if _alive(pid, st):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_workers_do_not_hold_the_store(inbox: Path, tmp_path: Path) -> None:
    """Workers are started clean, not forked from the process holding DuckDB: none of them has the
    database or its WAL open."""
    db = tmp_path / "x.duckdb"
    p, kids = _start_import(db, inbox)
    try:
        held = []
        for pid in kids:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith(str(db)):
                    held.append((pid, target))
        assert held == []
    finally:
        p.kill()
        p.wait(timeout=30)
        time.sleep(0.5)
        for pid, st in kids.items():
            if _alive(pid, st):
                os.kill(pid, signal.SIGKILL)
