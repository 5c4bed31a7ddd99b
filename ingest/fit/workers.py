"""The importer's decoding worker processes: started clean, and gone when the importer is.

* **Clean start.** Workers are forked by a *fork server* (``multiprocessing``'s ``forkserver``
  start method), a small process started fresh, with the decoding modules preloaded: a worker
  starts in milliseconds like a plain fork, but never inherits the importer's open DuckDB
  database, its WAL, its threads or its locks (a forked copy of a process holding DuckDB is what
  the layer rules forbid). Where there is no fork server (Windows), ``spawn``.
* **No orphans.** A worker exits when the importer dies, ``kill -9`` included. Its parent is the
  fork server, not the importer, and the fork server only exits once every copy of the
  importer's "alive" pipe is closed, copies the workers themselves hold (CPython hands each
  worker one as its parent sentinel): so each worker watches the importer itself, with a thread
  blocked on a pidfd of the importer (Linux; elsewhere it polls the pid), and exits the moment
  the importer is gone. The server then sees the pipe's end and exits too. A worker also gets
  SIGKILL from the kernel if its own parent dies (``prctl(PR_SET_PDEATHSIG)``): the chain
  importer -> fork server -> workers unwinds from either end.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: Modules the fork server imports once, so that each worker it forks starts with them loaded.
PRELOAD = ["ingest.fit.importer"]


def die_with_importer(importer_pid: int) -> None:
    """Worker initializer: exit when the importer (or this worker's own parent) dies."""
    if sys.platform.startswith("linux"):
        parent = os.getppid()
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() != parent:
                os._exit(1)  # the parent died before the signal was armed
        except (OSError, AttributeError):
            pass
    try:
        pidfd = os.pidfd_open(importer_pid) if hasattr(os, "pidfd_open") else None
    except ProcessLookupError:
        os._exit(1)  # already gone
    except OSError:
        pidfd = None

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])  # readable when the importer has exited
            os._exit(1)
        while True:
            time.sleep(0.5)
            try:
                os.kill(importer_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="runstrong-importer-watch", daemon=True).start()


def decode_pool(n_workers: int) -> ProcessPoolExecutor:
    """A process pool for decoding FIT files (module docstring)."""
    methods = multiprocessing.get_all_start_methods()
    ctx: BaseContext
    if "forkserver" in methods:
        fs_ctx = multiprocessing.get_context("forkserver")
        fs_ctx.set_forkserver_preload(PRELOAD)
        ctx = fs_ctx
    else:
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=n_workers, mp_context=ctx, initializer=die_with_importer, initargs=(os.getpid(),)
    )
