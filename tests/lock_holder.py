"""A second process holding a DuckDB file read-write (docs/design.md section 3: nobody else can open it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_CODE = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.readline()"


@contextmanager
def held_lock(db: Path) -> Iterator[subprocess.Popen]:
    """Yield the holder process once it holds ``db``; it exits when the block ends."""
    p = subprocess.Popen(
        [sys.executable, "-c", _CODE, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        yield p
    finally:
        assert p.stdin is not None
        p.stdin.close()  # end of input: the holder's readline returns and it exits
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
