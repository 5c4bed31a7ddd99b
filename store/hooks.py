"""A test hook: stop at a named point of the store's work until a file exists, so that a test can
run another process (or kill this one) at exactly that point."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

_REACHED: Counter[str] = Counter()


def test_pause(stage: str) -> None:
    """With ``RUNSTRONG_TEST_PAUSE=<stage>:<file>``, stop at ``stage`` (say so on stderr) until
    ``<file>`` exists (at most 120 s); ``<stage>@<n>:<file>`` stops only the ``n``-th time the stage
    is reached. Stages: ``store-built``, ``store-linked`` (creating a store file), ``lake-claim``
    (a lake write about to take its claim), ``lake-commit`` (a lake transaction about to commit)."""
    spec = os.environ.get("RUNSTRONG_TEST_PAUSE")
    if not spec:
        return
    want, _, release = spec.partition(":")
    want, _, nth = want.partition("@")
    if want != stage or not release:
        return
    _REACHED[stage] += 1
    if nth and _REACHED[stage] != int(nth):
        return
    print(f"runstrong-test: paused at {stage}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.01)
