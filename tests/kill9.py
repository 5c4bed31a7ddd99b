"""A child process killed with SIGKILL at a point it reports (the crash tests' harness)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable


def kill_9_when(args: list[str], until: Callable[[str], bool], *, delay_s: float = 0.0) -> list[str]:
    """Run ``python *args``, read its output lines until ``until(line)`` holds, wait ``delay_s``, then
    SIGKILL it. Returns every line it printed, including those printed after the one that
    stopped the reading (work it finished before the kill landed)."""
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the child ended before the kill point, having printed {lines}")
            lines.append(line.strip())
            if until(lines[-1]):
                break
        time.sleep(delay_s)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    lines.extend(x.strip() for x in proc.stdout.read().splitlines() if x.strip())
    return lines
