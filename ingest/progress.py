"""Progress bars for long commands on a terminal (``rich``), and nothing anywhere else.

Library functions that take long (import, replay, export, report; later reanalyse, lake push)
accept a plain callback ``progress(done, total)`` (:data:`ProgressFn`) and know nothing of
terminals. The command line decides whether a bar is wanted (:func:`bar_wanted`: stderr is a
terminal, not ``--json``, not ``--quiet``; under cron stderr is not a terminal) and hands the
library the callback of a :class:`TerminalProgress` task:

    with TerminalProgress(enabled=bar_wanted(quiet=args.quiet, json_output=args.json)) as bars:
        doc = export_parquet(con, out, progress=bars.task("export", unit="rows"))

Each task is one line on stderr: label, bar, done/total, unit, rate (units per second) and the
estimated time left. The bars are transient (cleared when the command ends, so its summary is
the last thing on the screen), and while they run, lines written to stderr (and to stdout when
that is the same terminal) appear above them instead of tearing them. Disabled, a task is a
callback that does nothing, and rich is not even imported.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

#: ``progress(done, total)``: ``done`` units of ``total`` finished (``total`` may grow as work is found)
ProgressFn = Callable[[int, int], None]


def bar_wanted(*, quiet: bool = False, json_output: bool = False, stream: TextIO | None = None) -> bool:
    """A live bar only for a person at a terminal: ``stream`` (default stderr) is a TTY that can
    redraw (``TERM`` is not ``dumb``), and neither ``--quiet`` nor ``--json`` was given."""
    if quiet or json_output:
        return False
    s = stream if stream is not None else sys.stderr
    try:
        tty = s.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def _ignore(done: int, total: int) -> None:
    return None


class TerminalProgress:
    """Live progress bars on stderr, one line per :meth:`task`; a no-op when not ``enabled``."""

    def __init__(self, *, enabled: bool, stream: TextIO | None = None, refresh_per_second: float = 8.0) -> None:
        self.enabled = enabled
        self._stream = stream
        self._refresh = refresh_per_second
        self._progress: Any = None
        self._rerouted: list[tuple[logging.StreamHandler[Any], Any]] = []

    def __enter__(self) -> TerminalProgress:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start drawing (``with`` does this); does nothing when disabled or already started."""
        if not self.enabled or self._progress is not None:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        stream = self._stream if self._stream is not None else sys.stderr
        console = Console(file=stream)
        try:
            same_tty = sys.stdout.isatty() and os.path.samestat(
                os.fstat(sys.stdout.fileno()), os.fstat(stream.fileno())
            )
        except (OSError, ValueError, AttributeError):
            same_tty = False
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            _rate_column(),
            TextColumn("ETA"),
            _eta_column(),
            console=console,
            transient=True,
            refresh_per_second=self._refresh,
            # stdout goes through the bar's console only when it is the same terminal (never into a pipe)
            redirect_stdout=same_tty,
            redirect_stderr=stream is sys.stderr,
        )
        self._progress.start()
        if sys.stderr is not stream:  # rich redirected stderr: log records take the same way above the bars
            for h in logging.getLogger().handlers:
                if isinstance(h, logging.StreamHandler) and h.stream is stream:
                    self._rerouted.append((h, h.setStream(sys.stderr)))

    def stop(self) -> None:
        """Stop drawing and clear the bars (``with`` does this)."""
        for h, old in self._rerouted:
            h.setStream(old)
        self._rerouted.clear()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def task(self, label: str, *, unit: str, total: int | None = None) -> ProgressFn:
        """A new bar; returns its ``progress(done, total)`` callback (thread-safe, cheap to call often)."""
        if self._progress is None:
            return _ignore
        progress = self._progress
        task_id = progress.add_task(label, total=total, unit=unit)

        def update(done: int, total_now: int) -> None:
            progress.update(task_id, completed=done, total=max(total_now, done))

        return update


def _rate(task: Any) -> float | None:
    """Units per second: rich's windowed speed, else the average since the bar started (rich drops
    its speed samples whenever a task's total changes, as it does while an import still finds
    files)."""
    speed: float | None = task.finished_speed or task.speed
    if speed is None and task.completed and task.elapsed:
        speed = task.completed / task.elapsed
    return speed


def _rate_column() -> Any:
    """A rich column: units per second, e.g. ``12.5 files/s``."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = _rate(task)
            unit = task.fields.get("unit", "")
            return Text("?/s" if speed is None else f"{speed:,.1f} {unit}/s")

    return RateColumn()


def _eta_column() -> Any:
    """A rich column: the time left at the current rate (``-:--:--`` while unknown)."""
    import datetime as dt

    from rich.progress import ProgressColumn
    from rich.text import Text

    class EtaColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = _rate(task)
            if task.total is None or not speed:
                return Text("-:--:--", style="progress.remaining")
            left = max(0.0, (task.total - task.completed) / speed)
            return Text(str(dt.timedelta(seconds=round(left))), style="progress.remaining")

    return EtaColumn()
