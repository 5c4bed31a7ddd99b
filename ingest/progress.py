"""A minimal progress bar on stderr, shown only for work that lasts more than a couple of seconds."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, *, enabled: bool = True, delay_s: float = 2.0,
                 stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.enabled = enabled
        self.delay_s = delay_s
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.monotonic()
        self.last_draw = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.t0 < self.delay_s or now - self.last_draw < 0.2:
            return
        self.last_draw = now
        self.shown = True
        frac = done / self.total if self.total else 1.0
        width = 30
        filled = round(frac * width)
        rate = done / (now - self.t0)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} files, {rate:.0f}/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
