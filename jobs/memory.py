"""Giving freed memory back to the operating system between the phases of a long job.

glibc's allocator keeps memory freed by Python and numpy in its heap for reuse: after a phase
that allocated and freed many medium-sized buffers (a capture read in 4 MB chunks), ~30-40 MB
stays resident though nothing uses it, and the next phase's peak adds to it (measured on an
hour at 200 Hz: ``benchmarks/bench_replay.py``). ``malloc_trim(0)`` returns it. Elsewhere (no
glibc) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any


@cache
def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> bool:
    """Return the C heap's free memory to the OS; True if the platform could (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
