"""Child process for the memory tests: run one import (or one decode) and report its peak RSS.

    python -m tests.ingest.fit.memchild import DB PATH...   -> {"files": [[name, status, error], ...], "peak_mb": float}
    python -m tests.ingest.fit.memchild decode FILE         -> {"status": str, "records": int, "peak_mb": float}

The child caps its own data segment (``RLIMIT_DATA``, ``RUNSTRONG_TEST_DATA_LIMIT_MB``) so that code
that does not bound its memory fails with MemoryError instead of exhausting the shared machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sys
from pathlib import Path


def _peak_mb() -> float:
    """Peak RSS of this process since its exec: VmHWM (ru_maxrss would also count the parent's
    pages at the fork that started it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    limit_mb = int(os.environ.get("RUNSTRONG_TEST_DATA_LIMIT_MB", "0"))
    if limit_mb:
        resource.setrlimit(resource.RLIMIT_DATA, (limit_mb * 2**20, limit_mb * 2**20))
    cmd = argv[0]
    if cmd == "import":
        from ingest.fit.importer import import_paths
        from store.connection import open_store

        con = open_store(argv[1])
        s = import_paths(con, argv[2:], athlete="default", workers=1, show_progress=False)
        con.close()
        print(
            json.dumps(
                {
                    "files": [[Path(f.path.split("!")[-1]).name, f.status, f.error or f.reason] for f in s.files],
                    "peak_mb": _peak_mb(),
                }
            )
        )
    elif cmd == "decode":
        from ingest.fit.importer import decode_item

        data = Path(argv[1]).read_bytes()
        d = decode_item(argv[1], data, hashlib.sha256(data).hexdigest())
        print(
            json.dumps(
                {
                    "status": d.status,
                    "records": sum(len(a.records) for a in d.activities),
                    "error": d.error,
                    "peak_mb": _peak_mb(),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
