"""Output folders replaced atomically: a reader sees the old snapshot or the new one, never a mix.

``export --parquet OUT`` and ``report --out OUT`` write a whole new folder and then swap it in.
A rename cannot replace a non-empty directory, so ``OUT`` is a symbolic link to its current
*generation*, a hidden sibling folder ``.OUT.<UTC time>.<pid>``:

1. a new generation folder is created (``mkdir``: exclusive, never an existing folder) and filled;
   files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (:func:`write_new_file`), so nothing
   planted there is followed or overwritten;
2. a new link ``.OUT.link-<pid>`` to it is renamed over ``OUT`` (``rename(2)`` of a link is atomic);
3. the generation before is kept (a reader that resolved ``OUT`` before the swap can finish
   reading it); older generations of this folder, whose writer has gone, are removed.

A failure or a kill before step 2 leaves ``OUT`` as it was (the half-written generation is removed
on failure, or by the next run after a kill). ``OUT`` found as a plain folder written by an
earlier version (or a user's symlink to one) is checked to hold only what we write there, moved
aside once into a generation, and replaced the same way; that first swap is the only moment a
reader can find no ``OUT`` at all. Readers that list a folder and then open its files should
resolve ``OUT`` once (``os.path.realpath``) and read below that path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from store.processes import pid_alive

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class OutputDirError(Exception):
    """The output path cannot be replaced (a file, or a folder holding something we did not write)."""


def _generation_prefix(target: Path) -> str:
    return f".{target.name}."


def _is_generation(target: Path, path: Path) -> bool:
    return (
        path.parent == target.parent and path.name.startswith(_generation_prefix(target)) and ".link-" not in path.name
    )


def _pid_of(name: str) -> int | None:
    tail = name.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _writer_alive(pid: int | None) -> bool:
    """Whether the process that named a generation may still be writing it (never this process:
    its own earlier generations are finished)."""
    return pid is not None and pid != os.getpid() and pid_alive(pid)


def write_new_file(path: Path, data: bytes | str) -> None:
    """Create ``path`` and write ``data``; refuses to follow a link or reuse an existing name."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)


@contextlib.contextmanager
def replaced_atomically(out: Path | str, check_existing: Callable[[Path], None]) -> Iterator[Path]:
    """Yield a new, empty generation folder for ``out``; swap it in when the block succeeds.

    ``check_existing(folder)`` raises :class:`OutputDirError` if a plain folder found at ``out``
    holds something that is not ours (it is then left untouched).
    """
    target = Path(out).expanduser().absolute()
    if target.is_symlink():
        linked = target.parent / os.readlink(target)
        current: Path | None = linked
        if not _is_generation(target, linked):
            if linked.is_dir():
                check_existing(linked)  # a user's link to a folder: left as it is, the link replaced
            current = None
    elif target.is_dir():
        check_existing(target)
        current = None
    elif target.exists():
        raise OutputDirError(f"{target} is a file, not a folder: give a folder path")
    else:
        current = None
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    new = target.parent / f"{_generation_prefix(target)}{stamp}.{os.getpid()}"
    new.mkdir(mode=0o755)
    try:
        yield new
        if target.is_dir() and not target.is_symlink():  # an earlier version's plain folder: move aside
            current = target.parent / f"{_generation_prefix(target)}{stamp}.legacy"
            target.rename(current)
        link = target.parent / f"{_generation_prefix(target)}link-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink(new.name, link)
        os.replace(link, target)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    _remove_old_generations(target, keep={new, *([current] if current is not None else [])})


def _remove_old_generations(target: Path, keep: set[Path]) -> None:
    for path in target.parent.glob(f"{_generation_prefix(target)}*"):
        if path in keep or not _is_generation(target, path) or not path.is_dir() or path.is_symlink():
            continue
        if _writer_alive(_pid_of(path.name)):
            continue  # another live writer's generation in progress
        shutil.rmtree(path, ignore_errors=True)
