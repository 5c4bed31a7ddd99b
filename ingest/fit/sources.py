"""Expanding import arguments into file byte strings: FIT files (.fit, .fit.gz), phone-app CSV exports
(.csv: Strong, Hevy; recognised by their header downstream), folders and zip archives.

Lazy and bounded, whatever the input holds (docs/operations.md, "Limits"):

* :func:`iter_sources` is a generator: one item is produced at a time and nothing is listed
  ahead, so a batch never holds more than the items its consumer keeps.
* Only regular files are opened. A FIFO, a device (``x.fit -> /dev/zero``), a socket or
  anything else that is not a regular file is skipped with a reason, without being opened for
  reading; a file that turns into one between the check and the open is caught by ``fstat`` on
  the descriptor, which was opened non-blocking, so no read ever waits.
* Every read is bounded: a FIT file (or archive member) of more than :data:`MAX_FIT_BYTES` after
  decompression is refused without producing more than that, whatever its size fields claim; a CSV
  of more than :data:`MAX_CSV_BYTES` likewise.
* Archives are read from disk as they are iterated, member by member, and never extracted: a
  member name such as ``../../etc/passwd`` cannot write anywhere (such names are still refused:
  an archive that carries them is not a watch export). A nested archive is spooled to a temporary
  file (in memory up to :data:`SPOOL_BYTES`), nesting is followed :data:`MAX_ZIP_DEPTH` levels deep,
  and an archive listing more than :data:`MAX_ARCHIVE_MEMBERS` members is refused before its
  directory is read (the directory of a zip is read whole when it is opened).
* Member names are shown escaped (:func:`printable`): a name carrying terminal control sequences
  cannot reach a terminal or a log as such.

Every problem becomes a :class:`SourceItem` with an ``error`` (or a ``skip`` reason): nothing here
raises for bad input.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

#: Largest decompressed FIT file we accept (the largest real FIT files are a few tens of MB).
MAX_FIT_BYTES = 256 * 1024 * 1024
#: Largest nested archive (a zip inside a zip) we spool; a top-level archive is read from disk.
MAX_NESTED_ZIP_BYTES = 1024 * 1024 * 1024
#: Deepest archive nesting we follow (Garmin exports nest one level).
MAX_ZIP_DEPTH = 4
#: Most members an archive may list (a decade of a Garmin export holds some 10^4 files; the
#: zip directory costs ~0.5 kB of memory per member while the archive is open).
MAX_ARCHIVE_MEMBERS = 250_000
#: A nested archive is kept in memory up to this size, on disk (a temporary file) beyond it.
SPOOL_BYTES = 16 * 1024 * 1024
#: Read size of the bounded readers.
READ_CHUNK = 1024 * 1024
#: Largest CSV export we read (a decade of daily logging in Strong or Hevy is a few MB; the parser
#: holds the rows in memory, some 100 bytes per field).
MAX_CSV_BYTES = 64 * 1024 * 1024

FIT_SUFFIXES = (".fit", ".fit.gz")
ARCHIVE_SUFFIXES = (".zip",)
CSV_SUFFIXES = (".csv",)


@dataclass(frozen=True)
class SourceItem:
    """One candidate file (FIT or CSV): its display path and bytes, or why it could not be read (``error``,
    the file is ``failed``) or was not read (``skip``, the file is ``skipped``)."""

    path: str
    data: bytes | None = None
    error: str | None = None
    skip: str | None = None


def _lower(name: str) -> str:
    return name.lower()


def is_fit_name(name: str) -> bool:
    return _lower(name).endswith(FIT_SUFFIXES)


def is_archive_name(name: str) -> bool:
    return _lower(name).endswith(ARCHIVE_SUFFIXES)


def is_csv_name(name: str) -> bool:
    return _lower(name).endswith(CSV_SUFFIXES)


def _wanted(name: str) -> bool:
    return is_fit_name(name) or is_archive_name(name) or is_csv_name(name)


def printable(text: str) -> str:
    """``text`` with control characters (C0, DEL, C1), lone surrogates and bidirectional controls
    escaped (``\\x1b``, ``\\u202e`` ...), so that no terminal sequence in a name reaches a terminal
    or a log. Printable text, non-ASCII letters included, is unchanged."""
    out: list[str] = []
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o < 0xE000 or o in _BIDI_CONTROLS:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


# bidirectional overrides and isolates reorder what a terminal shows (CVE-2021-42574)
_BIDI_CONTROLS = frozenset({0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069})


def _mib(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB"


class TooLarge(ValueError):
    pass


class NotRegular(Exception):
    """The path is not a regular file; ``kind`` names what it is."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(kind)


def file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def skip_reason(kind: str) -> str:
    return f"not a regular file ({kind}): not read"


def _read_bounded(read: Callable[[int], bytes], limit: int, what: str) -> bytes:
    """Read until EOF, refusing more than ``limit`` bytes (only ``limit + 1`` are ever read).

    Collected in a BytesIO, whose getvalue() hands over its buffer: the bytes are in memory once,
    not twice (a list joined at the end peaks at twice the file)."""
    out = io.BytesIO()
    total = 0
    while True:
        chunk = read(min(READ_CHUNK, limit + 1 - total))
        if not chunk:
            return out.getvalue()
        out.write(chunk)
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"{what} is larger than the {_mib(limit)} limit")


def _gunzip_bounded(read: Callable[[int], bytes], limit: int | None = None) -> bytes:
    """Decompress a gzip stream read chunk by chunk, refusing output past ``limit`` bytes without
    producing it (a gzip bomb costs at most ``limit`` bytes of memory)."""
    limit = MAX_FIT_BYTES if limit is None else limit
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = io.BytesIO()  # see _read_bounded: the result is held once
    total = 0
    try:
        while not d.eof:
            tail = d.unconsumed_tail
            chunk = tail if tail else read(READ_CHUNK)
            if not chunk:
                raise ValueError("corrupt gzip data: truncated gzip data")
            piece = d.decompress(chunk, min(READ_CHUNK, limit + 1 - total))
            out.write(piece)
            total += len(piece)
            if total > limit:
                raise TooLarge(f"decompressed size exceeds the {_mib(limit)} limit (gzip bomb?)")
    except zlib.error as exc:
        raise ValueError(f"corrupt gzip data: {exc}") from exc
    return out.getvalue()


def _bounded_gunzip(data: bytes, limit: int | None = None) -> bytes:
    """Decompress in-memory gzip data (see :func:`_gunzip_bounded`)."""
    view = memoryview(data)
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        out = bytes(view[pos : pos + n])
        pos += len(out)
        return out

    return _gunzip_bounded(read, limit)


def unsafe_member_name(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")


def _fit_from(name: str, read: Callable[[int], bytes], head: bytes = b"", what: str = "file") -> bytes:
    """The bytes of a stream named ``name`` (gunzipped when it is gzip), bounded (a CSV by
    :data:`MAX_CSV_BYTES`, anything else by :data:`MAX_FIT_BYTES`)."""
    first = [head] if head else []

    def read_with_head(n: int) -> bytes:
        if first:
            return first.pop()
        return read(n)

    if head[:2] == b"\x1f\x8b" or _lower(name).endswith(".gz"):
        return _gunzip_bounded(read_with_head)
    return _read_bounded(read_with_head, MAX_CSV_BYTES if is_csv_name(name) else MAX_FIT_BYTES, what)


# ------------------------------------------------------------------------------------------
# zip archives


def zip_member_count(fh: IO[bytes]) -> int | None:
    """Members an archive's end-of-central-directory record declares (None: no such record).

    Read from the last 64 kB (+ the ZIP64 locator), so that an archive with millions of members
    can be refused before :class:`zipfile.ZipFile` reads its directory into memory."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_len = min(size, 65536 + 22)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    count: int = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    loc = at - 20
    if loc >= 0 and tail[loc : loc + 4] == b"PK\x06\x07":
        (eocd64,) = struct.unpack("<Q", tail[loc + 8 : loc + 16])
        if eocd64 + 56 <= size:
            fh.seek(eocd64)
            rec = fh.read(56)
            if rec[:4] == b"PK\x06\x06":
                count = max(count, struct.unpack("<Q", rec[32:40])[0])
    return count


def _open_zip(fh: IO[bytes], display: str) -> zipfile.ZipFile | SourceItem:
    try:
        n = zip_member_count(fh)
        if n is not None and n > MAX_ARCHIVE_MEMBERS:
            return SourceItem(display, error=f"archive lists {n} members, over the limit of {MAX_ARCHIVE_MEMBERS}")
        fh.seek(0)
        return zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        return SourceItem(display, error=f"not a readable zip archive: {exc}")


def _iter_zipfile(fh: IO[bytes], display: str, depth: int) -> Iterator[SourceItem]:
    if depth > MAX_ZIP_DEPTH:
        yield SourceItem(display, error=f"archives nested deeper than {MAX_ZIP_DEPTH} levels")
        return
    zf = _open_zip(fh, display)
    if isinstance(zf, SourceItem):
        yield zf
        return
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            if not _wanted(info.filename):
                continue
            member = f"{display}!{printable(info.filename)}"
            if unsafe_member_name(info.filename):
                yield SourceItem(member, error="unsafe member path in archive (absolute or '..'): refused")
                continue
            try:
                if is_archive_name(info.filename):
                    yield from _iter_nested(zf, info, member, depth)
                else:
                    limit = MAX_CSV_BYTES if is_csv_name(info.filename) else MAX_FIT_BYTES
                    if info.file_size > limit and not _lower(info.filename).endswith(".gz"):
                        raise TooLarge(f"member declares {info.file_size} bytes, over the {_mib(limit)} limit")
                    with zf.open(info) as m:  # the declared size can lie: the read is bounded
                        item = SourceItem(member, data=_fit_from(info.filename, m.read, what="member"))
                    # no local keeps the bytes while this generator waits: the consumer's reference
                    # is the only one, so the next member is read after this one is released
                    yield item
                    del item
            except ValueError as exc:  # TooLarge included
                yield SourceItem(member, error=str(exc))
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                yield SourceItem(member, error=f"cannot read archive member: {exc}")


def _iter_nested(zf: zipfile.ZipFile, info: zipfile.ZipInfo, member: str, depth: int) -> Iterator[SourceItem]:
    if depth + 1 > MAX_ZIP_DEPTH:
        yield SourceItem(member, error=f"archives nested deeper than {MAX_ZIP_DEPTH} levels")
        return
    if info.file_size > MAX_NESTED_ZIP_BYTES:
        raise TooLarge(f"member declares {info.file_size} bytes, over the {_mib(MAX_NESTED_ZIP_BYTES)} limit")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, prefix="runstrong-nested-") as spool:
        total = 0
        with zf.open(info) as m:
            while chunk := m.read(READ_CHUNK):
                total += len(chunk)
                if total > MAX_NESTED_ZIP_BYTES:
                    raise TooLarge(f"member inflates past the {_mib(MAX_NESTED_ZIP_BYTES)} limit (zip bomb?)")
                spool.write(chunk)
        spool.seek(0)
        yield from _iter_zipfile(spool, member, depth + 1)


def iter_zip(data: bytes, display: str, depth: int = 0) -> Iterator[SourceItem]:
    """FIT files inside an in-memory zip archive (and zips nested in it)."""
    yield from _iter_zipfile(io.BytesIO(data), display, depth)


# ------------------------------------------------------------------------------------------
# files and folders


def _open_regular(path: Path) -> int:
    """A descriptor of ``path`` if it is a regular file (after symlinks), else :class:`NotRegular`.

    The mode is checked before opening (a FIFO or a device is never opened), and again on the
    descriptor, which is opened non-blocking: a path swapped for a FIFO in between is caught
    there instead of blocking the read (docs/operations.md)."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegular(file_kind(st.st_mode))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(file_kind(st.st_mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: reads never wait for a writer
    except BaseException:
        os.close(fd)
        raise
    return fd


def iter_file(path: Path) -> Iterator[SourceItem]:
    display = printable(str(path))
    try:
        fd = _open_regular(path)
    except NotRegular as exc:
        yield SourceItem(display, skip=skip_reason(exc.kind))
        return
    except OSError as exc:
        yield SourceItem(display, error=f"cannot read file: {exc.strerror or exc}")
        return
    with os.fdopen(fd, "rb") as fh:
        try:
            head = fh.read(4)
            if is_archive_name(path.name) or (head == b"PK\x03\x04" and not is_fit_name(path.name)):
                fh.seek(0)  # read from disk as it is iterated: no size limit on a top-level archive
                yield from _iter_zipfile(fh, display, 0)
                return
            data = _fit_from(path.name, fh.read, head)
        except ValueError as exc:  # TooLarge included
            yield SourceItem(display, error=str(exc))
            return
        except OSError as exc:
            yield SourceItem(display, error=f"cannot read file: {exc.strerror or exc}")
            return
    yield SourceItem(display, data=data)


def iter_sources(paths: Iterable[str | Path]) -> Iterator[SourceItem]:
    """Every FIT file and CSV reachable from ``paths`` (files, folders recursively, archives), lazily."""
    for p in paths:
        path = Path(p)
        try:
            is_dir = path.is_dir()
            exists = is_dir or path.exists() or path.is_symlink()
        except OSError as exc:
            yield SourceItem(printable(str(p)), error=f"cannot access path: {exc.strerror or exc}")
            continue
        if not exists:
            yield SourceItem(printable(str(p)), error="no such file or directory")
            continue
        if is_dir:
            for root, dirs, files in os.walk(path, onerror=None):
                dirs.sort()
                for name in sorted(files):
                    if _wanted(name):
                        yield from iter_file(Path(root) / name)
            continue
        yield from iter_file(path)
