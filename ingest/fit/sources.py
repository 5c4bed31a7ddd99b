"""Expanding import arguments into FIT byte strings: files, folders, .fit.gz and zip archives.

Archives are streamed member by member and never extracted to disk, so a member name such as
``../../etc/passwd`` cannot write anywhere; such names are still refused (an archive that carries
them is not a watch export). Decompressed sizes are bounded (gzip and zip bombs are refused).
Every problem becomes a :class:`SourceItem` with an ``error``: nothing here raises for bad input.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: Largest decompressed FIT file we accept (the largest real FIT files are a few tens of MB).
MAX_FIT_BYTES = 256 * 1024 * 1024
#: Largest nested archive we open in memory.
MAX_NESTED_ZIP_BYTES = 1024 * 1024 * 1024
#: Deepest archive nesting we follow (Garmin exports nest one level).
MAX_ZIP_DEPTH = 4

FIT_SUFFIXES = (".fit", ".fit.gz")
ARCHIVE_SUFFIXES = (".zip",)


@dataclass(frozen=True)
class SourceItem:
    """One candidate FIT file: its display path and bytes, or the reason it could not be read."""

    path: str
    data: bytes | None = None
    error: str | None = None


def _lower(name: str) -> str:
    return name.lower()


def is_fit_name(name: str) -> bool:
    return _lower(name).endswith(FIT_SUFFIXES)


def is_archive_name(name: str) -> bool:
    return _lower(name).endswith(ARCHIVE_SUFFIXES)


class TooLarge(ValueError):
    pass


def _bounded_gunzip(data: bytes, limit: int = MAX_FIT_BYTES) -> bytes:
    """Decompress gzip data, refusing output larger than ``limit`` bytes without producing it."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = d.decompress(data, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise TooLarge(f"decompressed size exceeds the {limit // (1024 * 1024)} MiB limit (gzip bomb?)")
    if not d.eof:
        raise ValueError("truncated gzip data")
    return out


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise TooLarge(f"member declares {info.file_size} bytes, over the {limit // (1024 * 1024)} MiB limit")
    with zf.open(info) as fh:
        data = fh.read(limit + 1)  # the declared size can lie: bound what we actually inflate
    if len(data) > limit:
        raise TooLarge(f"member inflates past the {limit // (1024 * 1024)} MiB limit (zip bomb?)")
    return data


def unsafe_member_name(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")


def _fit_bytes(name: str, raw: bytes) -> bytes:
    if _lower(name).endswith(".gz"):
        try:
            return _bounded_gunzip(raw)
        except (zlib.error, EOFError, gzip.BadGzipFile) as exc:
            raise ValueError(f"corrupt gzip data: {exc}") from exc
    return raw


def iter_zip(data: bytes, display: str, depth: int = 0) -> Iterator[SourceItem]:
    """FIT files inside a zip archive (and zips nested in it), streamed from memory."""
    if depth > MAX_ZIP_DEPTH:
        yield SourceItem(display, error=f"archives nested deeper than {MAX_ZIP_DEPTH} levels")
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        yield SourceItem(display, error=f"not a readable zip archive: {exc}")
        return
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            member = f"{display}!{info.filename}"
            if not (is_fit_name(info.filename) or is_archive_name(info.filename)):
                continue
            if unsafe_member_name(info.filename):
                yield SourceItem(member, error="unsafe member path in archive (absolute or '..'): refused")
                continue
            try:
                if is_archive_name(info.filename):
                    inner = _read_member(zf, info, MAX_NESTED_ZIP_BYTES)
                    yield from iter_zip(inner, member, depth + 1)
                else:
                    raw = _read_member(zf, info, MAX_FIT_BYTES)
                    yield SourceItem(member, data=_fit_bytes(info.filename, raw))
            except (TooLarge, ValueError) as exc:
                yield SourceItem(member, error=str(exc))
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                yield SourceItem(member, error=f"cannot read archive member: {exc}")


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    limit = MAX_NESTED_ZIP_BYTES if is_archive_name(path.name) else MAX_FIT_BYTES
    if size > limit:
        raise TooLarge(f"file is {size} bytes, over the {limit // (1024 * 1024)} MiB limit")
    return path.read_bytes()


def iter_file(path: Path) -> Iterator[SourceItem]:
    display = str(path)
    try:
        raw = _read_file(path)
    except TooLarge as exc:
        yield SourceItem(display, error=str(exc))
        return
    except OSError as exc:
        yield SourceItem(display, error=f"cannot read file: {exc.strerror or exc}")
        return
    if is_archive_name(path.name) or (raw[:4] == b"PK\x03\x04" and not is_fit_name(path.name)):
        yield from iter_zip(raw, display)
        return
    try:
        data = _fit_bytes(path.name, raw) if raw[:2] == b"\x1f\x8b" or path.name.lower().endswith(".gz") else raw
    except (TooLarge, ValueError) as exc:
        yield SourceItem(display, error=str(exc))
        return
    yield SourceItem(display, data=data)


def iter_sources(paths: list[str | Path]) -> Iterator[SourceItem]:
    """Every FIT file reachable from ``paths`` (files, folders recursively, archives)."""
    for p in paths:
        path = Path(p)
        try:
            is_dir = path.is_dir()
            exists = is_dir or path.exists() or path.is_symlink()
        except OSError as exc:
            yield SourceItem(str(p), error=f"cannot access path: {exc.strerror or exc}")
            continue
        if not exists:
            yield SourceItem(str(p), error="no such file or directory")
            continue
        if is_dir:
            for root, dirs, files in os.walk(path, onerror=None):
                dirs.sort()
                for name in sorted(files):
                    if is_fit_name(name) or is_archive_name(name):
                        yield from iter_file(Path(root) / name)
            continue
        yield from iter_file(path)
